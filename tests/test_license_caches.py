"""The license readers' caches: what they keep stays small whatever the feeds send, and hostile bodies
are read in time that grows linearly with their length."""

import gc
import time
import tracemalloc

from republisher import license_text, licenses
from republisher.licensing import decide_license
from republisher.textfold import forget_read_texts

FEED = {"title": "Agency", "url": "https://agency.example/feed", "raw": {}}
SEEN_AT = "2024-03-12T10:00:00+00:00"
POLICY = licenses.allowed_by_default()
TWO_MB = 2_000_000
RETAINED_BOUND = 4 * 1024 * 1024  # bytes the caches may still hold after 100 items of 2 MB rights texts


def long_rights_entry(number: int) -> dict:
    """An item whose own rights text, about 2 MB long, is unlike any other item's."""
    rights = f"Copyright 2024 Agency number {number}. All rights reserved. " + "x" * TWO_MB
    return {"link": f"https://agency.example/{number}", "content": "<p>A story.</p>", "summary": "",
            "raw": {"rights": rights}}


def test_hundred_long_rights_texts_leave_the_caches_small():
    """Deciding 100 items with distinct 2 MB rights texts keeps less than 4 MiB; whole-text caches kept 200 MB."""
    forget_read_texts()
    decide_license(long_rights_entry(-1), FEED, policy=POLICY, seen_at=SEEN_AT)  # tables built outside the count
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(100):
            decision = decide_license(long_rights_entry(number), FEED, policy=POLICY, seen_at=SEEN_AT)
            assert decision["status"] == "blocked" and "reserves all rights" in decision["reason"]
        del decision
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < RETAINED_BOUND, f"the caches kept {retained / 1e6:.1f} MB"


def test_short_summaries_are_read_every_time_and_not_kept():
    """200 items whose summaries differ and each restrict commercial use: each is held, and none of those
    summaries stays in the phrase cache (a summary seldom repeats; keeping it cost what reading it does)."""
    forget_read_texts()
    for number in range(200):
        entry = {"link": f"https://agency.example/{number}", "content": "<p>A story.</p>",
                 "summary": f"Story {number} from the coast. Not for commercial use.",
                 "raw": {"rights": "CC BY 4.0"}}
        decision = decide_license(entry, FEED, policy=POLICY, seen_at=SEEN_AT)
        assert decision["status"] == "blocked" and "non-commercial use only" in decision["reason"], decision
    assert license_text.term_phrases_in.cache_info()["entries"] == 0


def seconds_to_decide(body: str) -> float:
    """The fastest of three decisions of an item with this body, each from empty caches."""
    entry = {"link": "https://hostile.example/1", "content": body, "summary": "", "raw": {}}
    timings = []
    for _ in range(3):
        forget_read_texts()
        started = time.perf_counter()
        decision = decide_license(entry, FEED, policy=POLICY, seen_at=SEEN_AT)
        timings.append(time.perf_counter() - started)
        assert decision["status"] == "blocked"
    return min(timings)


def test_an_open_link_of_creativecommons_words_is_read_in_linear_time():
    """'<a ' and 31,000 'creativecommons ' (once 26-48 s) is held, and 4x the size costs far less than 16x."""
    base = seconds_to_decide("<a " + "creativecommons " * 31_000)
    four_times = seconds_to_decide("<a " + "creativecommons " * 124_000)
    assert four_times / base < 8, f"{base * 1000:.0f} ms, then {four_times * 1000:.0f} ms for 4x the size"
