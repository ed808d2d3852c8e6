"""The one-pass keyword scan finds exactly what the search word by word finds.

An ASCII body is scanned once for every keyword (Hyperscan, where its wheels exist); any other body,
and any platform without it, is searched word by word. Both must give the license reader the same
positions, or a license or a reservation of rights would be read on one machine and missed on another.
"""

import platform
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from republisher import parser, statements
from republisher.errors import ParseError
from republisher.textfold import fold
from republisher.wordscan import WordScanner, hyperscan

from helpers import run_in_threads

PROPERTIES = settings(max_examples=400, derandomize=True, database=None, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])
CORPUS = Path(__file__).parent / "corpora" / "feeds" / "feedparser-tests"
# the keywords, pieces of them, what stands around them in markup, and plain words
PIECES = sorted({word for _, word, _ in statements.SCANNED_KINDS}
                | {word[:cut] for _, word, _ in statements.SCANNED_KINDS for cut in (1, 2, 3)}
                | {"reserved", "republish", "republication", "licence", "copyright", "commons", "creative commons",
                   "cc by", "cc-by", "cc0", "copy;", ";", "cc zero", "(c)", "c)", "ccc", "&nbsp;", "&#160;", "&#169;", "&#xa9;",
                   "&amp;", "&", "(", ")", " ", "  ", "-", "_", ".", ":", "|", "\n", "<p>", "</p>", "<a href=", ">",
                   "x", "ab", "2026", "the story", "may not", "all rights reserved", "for non-commercial use"})
PHRASE_TEXT = st.lists(st.sampled_from(PIECES), max_size=160).map("".join)


def both_ways(low: str) -> tuple[list[int], list[int] | None]:
    """(positions searched word by word, positions from one scan or None where the scan does not run)."""
    occurrences = statements.SCANNED.occurrences(low)
    listed = sorted(statements.listed_hits(low, occurrences)) if occurrences is not None else None
    return sorted(statements.searched_hits(low, low.isascii())), listed


def test_the_scan_runs_where_its_wheels_exist():
    scanner = WordScanner(("licen", "c)"))
    if platform.machine() in ("x86_64", "AMD64"):
        assert hyperscan is not None
        assert sorted(scanner.occurrences("a licence (c) licensed")) == [(0, 2), (0, 14), (1, 11)]
    assert scanner.occurrences("a licence \u00e9crite") is None  # not ASCII: searched word by word


@pytest.mark.skipif(hyperscan is None, reason="no Hyperscan wheel here: bodies are searched word by word")
def test_openings_are_reported_once_and_only_at_a_word_start():
    scanner = WordScanner(("licen",), word_starts=lambda: ("no", "for"))
    assert scanner.occurrences("a knot, a licence") == [(0, 10)]  # "no" inside a word is not reported
    assert [index for index, _ in scanner.occurrences("note it: not for sale, no")] == [1]  # the first only


@PROPERTIES
@given(PHRASE_TEXT)
@example("cc by " * 120 + "all rights reserved")
@example("x" * 600 + "commercial" + "x" * 600)  # an edge keyword outside both edges
@example("x" * 495 + "commercial" + "x" * 600)  # one that the opening edge cuts
@example("x" * 490 + "commercial" + "x" * 600)  # one that ends where the opening edge ends
@example("x" * 600 + "commercial" + "x" * 495)  # one that starts just inside the closing edge
@example("ccc0 cc cc by (c) c) copy; copyright creative  commons")
@example("copy;copy;(c)c)cc0")  # a match that starts where the last one ends
def test_one_scan_finds_what_the_words_find(text):
    searched, listed = both_ways(fold(text))
    if listed is not None:
        assert listed == searched


def test_one_scan_finds_what_the_words_find_in_real_feeds():
    compared = 0
    for path in sorted(path for path in CORPUS.rglob("*") if path.suffix in (".xml", ".rdf", ".atom")):
        try:
            parsed = parser.parse_feed(path.read_bytes(), {}, "https://example.org/feed")
        except ParseError:
            continue
        for entry in parsed["entries"]:
            for body in (entry.get("content"), entry.get("summary")):
                if body:
                    searched, listed = both_ways(fold(body))
                    if listed is not None:
                        compared += 1
                        assert listed == searched, path
    assert compared > 500, compared


def test_threads_scanning_at_once_get_their_own_positions():
    texts = [fold(f"<p>Story {n}.</p>" * n + "<p>© Reuters. All rights reserved. Licensed CC BY.</p>")
             for n in range(1, 60)]
    texts = [text.replace("©", "(c)") for text in texts]  # ASCII, so that the scan is what runs
    expected = [statements.keyword_hits(text, None) for text in texts]
    wrong = []

    def read_all():
        for _ in range(20):
            for text, positions in zip(texts, expected):
                if statements.keyword_hits(text, statements.SCANNED.occurrences(text)) != positions:
                    wrong.append(text)

    run_in_threads(read_all)
    assert not wrong


BODY_PIECES = PIECES + ["<img src='a.jpg'>", "<figure>", "<div>", "licensed cc by-nc 2.0", "</figure>", "<figcaption>", "</figcaption>",
                        "<caption>", "<div class='credit'>", "<span class=\"byline\">", "</div>", "</span>",
                        "photo: ", "cc by-nc 2.0", "all content by x is licensed under cc by 4.0.",
                        "<a rel='license' href='https://creativecommons.org/licenses/by/4.0/'>", "</a>",
                        "washington (reuters) - ", "getty images",
                        # a restrictive phrase and its openings, at a word's start and inside words, which a
                        # short body's scan looks for
                        "Not for commercial use.", "no derivatives", "not", "for", "line", "_no", "nicht",
                        "ne pas", "reproduction prohibited", "do not republish", "personal use only",
                        # upper case, and paragraphs that make a body long
                        "ALL RIGHTS RESERVED", "Licensed CC BY-NC 2.0", "<DIV CLASS='Credit'>", "&NBSP;",
                        "WASHINGTON (Reuters) - ", "<P>", "</P>", "<IMG SRC='b.jpg'>", "Not For Commercial Use",
                        "<p>" + "The Harbour Authority said on TUESDAY that the ferries would run again. " * 10 + "</p>",
                        "<P>" + "Commuters (and their groups) WELCOMED the change. " * 12 + "</P>"]


@PROPERTIES
@given(st.lists(st.sampled_from(BODY_PIECES), max_size=120).map("".join))
@example("<p>x</p><figure><img src='a.jpg'><figcaption>Photo: CC BY-NC 2.0</figcaption></figure>"
         "<p>All content by X is licensed under CC BY 4.0.</p>")
@example("<p>story</p><div class='credit'>Reuters</div><p>Licensed CC BY 4.0.</p>")
@example("<p>story</p><figure><div>Licensed CC BY-NC 2.0</div></figure><p>All content by X is licensed under CC BY 4.0.</p>")
@example("Story 3 from the coast. Not for commercial use.")  # a summary whose phrase starts a word
@example("The line was closed for the winter.")  # openings inside words, and one that starts a word
@example("<img src='a.jpg'> The ferry_not_ running.")  # a marker, and an opening after an underscore
@example("<P>" + "Commuters (and their groups) WELCOMED the change. " * 60 + "</P><P>&NBSP;All Content by X is "
         "Licensed under CC BY-NC 4.0.</P>")  # a long body in mixed case
def test_a_scanned_body_says_what_a_searched_one_says(body):
    assert statements.find_statements(body) == statements.find_statements(body, scan=False)


# news prose in any case, with brackets, entities and block tags but none of the scan's words
PROSE_PIECES = ["<P>The Harbour Authority said on TUESDAY that the ferries would run again.</P>",
                "<p>Commuters (and their groups) WELCOMED the change, the mayor said.</p>",
                "Rail services RESUMED at 5:40 a.m. &NBSP;on the coastal line. ", "<BR>", "<EM>Update:</EM> ",
                "<DIV>The storm (a rare one) closed the QUAY for three days.</DIV>", "&amp; ", "(", ")",
                "<H2>Weather</H2>", "It rained. " * 8]


@PROPERTIES
@given(st.lists(st.sampled_from(PROSE_PIECES), min_size=30, max_size=80).map("".join),
       st.lists(st.sampled_from(BODY_PIECES), max_size=40).map("".join))
@example("<P>It rained.</P>" * 200, "<p>ALL RIGHTS RESERVED &NBSP;(Reuters)</p>")
# an upper-case block edge within a block's reach before a notice that stands mid-body
@example("<p>" + "It rained. " * 400 + "</p><P>" + "Waves " * 40,
         "This article is licensed under CC BY-NC 4.0.</P><P>" + "It rained. " * 100 + "</P>")
def test_a_long_scanned_article_says_what_a_searched_one_says(prose, rest):
    """A long article in mixed case, its notices mid-body or at its end, with block edges, brackets and
    entities in any case before them: scanned, it says what it says searched word by word."""
    body = prose + rest
    assert statements.find_statements(body) == statements.find_statements(body, scan=False)
