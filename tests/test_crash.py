"""Crash safety: the fetcher killed with SIGKILL at random points of an ingest, then started again.

After each kill the file is sound, every item is stored once and every revision is whole; after the
restart no source is left claimed, no lease is held by the dead process, and every item of the feed is
there. CRASH_RUNS sets the number of runs (20 by default; the long form is CRASH_RUNS=60).
"""

import os
import random
import signal
import threading
import time

from werkzeug import Response

from fetching import LICENSE, cli_env, rss, start_cli
from helpers import pipeline_config
from invariants import assert_invariants, fetcher_problems
from republisher import create_app, lease, storage, worker

RUNS = int(os.environ.get("CRASH_RUNS", "20"))
ITEMS = 40
SEED = 20240611


def edition(run: int) -> bytes:
    """The feed as served in one run: the same items, a fifth of them changed since the run before."""
    body = f"<p>Report text, edition {run}.</p>" + "<p>More of the report, with <a href='/x'>a link</a>.</p>" * 4
    changed = rss(ITEMS, "story", body)
    unchanged = rss(ITEMS, "story", "<p>Report text.</p>" + "<p>More of the report, with <a href='/x'>a link</a>.</p>" * 4)
    # items whose number is run modulo 5 carry this run's edition; the others keep the plain text
    parts_changed, parts_plain = changed.split(b"<item>"), unchanged.split(b"<item>")
    return b"<item>".join([parts_plain[0]] + [parts_changed[number + 1] if number % 5 == run % 5 else parts_plain[number + 1]
                                               for number in range(ITEMS)])


def restart(app, db, source_id: int) -> None:
    """Run the fetcher again in this process until it has the lease and, if still due, the source is fetched."""
    before = len(storage.fetch_log(db, source_id, limit=10**6))
    due = storage.get_source(db, source_id)["next_fetch_at"] <= storage.utcnow()  # else the kill came after the end
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(pipeline_config(app), stop))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while (storage.fetch_lease(db) or {}).get("holder") != lease.holder_id() or \
                (due and len(storage.fetch_log(db, source_id, limit=10**6)) == before):
            assert time.monotonic() < deadline, "the restarted fetcher did not take over and fetch the source"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)


def test_killing_the_fetcher_anywhere_in_an_ingest_loses_nothing_and_stores_nothing_twice(tmp_path, server):
    path = tmp_path / "crash.sqlite"
    app = create_app({"TESTING": True, "DATABASE": str(path), "ALLOW_PRIVATE_ADDRESSES": True,
                      "FETCH_MIN_INTERVAL": 1, "FETCH_LEASE_SECONDS": 60})
    db = storage.connect(str(path))
    storage.migrate(db)
    current = {"run": 0}
    server.expect_request("/feed").respond_with_handler(
        lambda request: Response(edition(current["run"]), content_type="application/rss+xml"))
    source = storage.add_source(db, server.url_for("/feed"), auto_approve=True, **LICENSE)
    env = cli_env(path, FETCH_MIN_INTERVAL=1, FETCH_LEASE_SECONDS=60)  # a takeover must come from the death
    rng = random.Random(SEED)
    withdrawn, interrupted = set(), 0
    for run in range(RUNS):
        current["run"] = run
        storage.update_source(db, source["id"], next_fetch_at=storage.utcnow(), body_hash=None)
        hits = len(server.log)
        fetcher = start_cli(env, "worker")
        while len(server.log) == hits:  # the ingest starts once the body is served
            assert fetcher.poll() is None, "the fetcher ended before it fetched"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        fetcher.send_signal(signal.SIGKILL)
        fetcher.wait()
        interrupted += storage.source_claim(db, source["id"])["claimed_by"] is not None
        time.sleep(0.2)  # the dead fetcher's child notices and ends itself
        withdrawn = assert_invariants(path, withdrawn)

        restart(app, db, source["id"])
        withdrawn = assert_invariants(path, withdrawn)
        assert not fetcher_problems(db, settled=True)
        stored = {item["guid"] for item in storage.list_items(db, source_id=source["id"])}
        assert stored == {f"story-{number}" for number in range(ITEMS)}, f"run {run}"
        for item in storage.list_items(db, source_id=source["id"])[:ITEMS:7]:
            number = int(item["guid"].split("-")[1])
            latest = storage.item_revisions(db, item["id"])[-1]
            assert (f"edition {run}" in latest["content_html"]) == (number % 5 == run % 5), item["guid"]
    assert interrupted >= RUNS // 2, f"only {interrupted} of {RUNS} kills came during an ingest"
    db.conn.close()
