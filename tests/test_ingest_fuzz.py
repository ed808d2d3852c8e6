"""Generated feeds, valid and broken, through the orchestrator: ingest holds its promises on every one.

Documents in RSS 2.0, Atom, RSS 1.0 and JSON Feed are built from random items (hostile HTML, license
statements, repeated GUIDs, missing fields), then maybe broken (cut off, a wrong encoding declaration,
random bytes, deep nesting), served over HTTP on 127.0.0.1 and fetched by `ingest.refresh_many` into a
real SQLite file. After every fetch round `assert_invariants` must hold, and items withdrawn between
rounds must stay withdrawn. The run is derandomized; REPUBLISHER_FUZZ_EXAMPLES sets its length.
"""

import itertools
import json
import os
import re
import tempfile
from html import escape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Response

from invariants import assert_invariants
from republisher import fetcher, ingest, licenses, storage, workflow

EXAMPLES = int(os.environ.get("REPUBLISHER_FUZZ_EXAMPLES", "25"))
SOURCE_LICENSE_EVIDENCE = "Site footer: All content on this site is licensed under CC BY 4.0 International."

HOSTILE_HTML = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)><circle/></svg>", '<iframe src="https://frames.test/embed"></iframe>',
    '<a href="jav&#x09;ascript:alert(1)">tab</a>', "<style>body{display:none}</style>",
    '<p style="background:url(javascript:alert(1))">styled</p>', '<form action="https://x.test"><input></form>',
    '<img src="https://img.test/a.jpg" alt="a picture">', '<a href="/relative/path">relative</a>',
    '<a href="https://ok.test/page">a link</a>', "<b>bold <i>and italic</b> crossed</i>", "<table><td>cell",
    "&amp; &nbsp; &#x41; &#99999999999999999999; &bogus; &lt;script&gt;", "<!-- a comment -->", "<p>", "</div>",
    '<object data="https://x.test/o.swf"></object>', "<math><mi>x</mi></math>", "<noscript><p>fallback</p></noscript>",
    '<img src="https://pixel.test/track.gif" width="1" height="1">', "<template><p>hidden</p></template>",
    "<p " + " ".join(f"a{n}" for n in range(80)) + ">many attributes</p>", "<div>" * 150 + "deep",
]
LICENSE_STATEMENTS = [
    '<p>This article is licensed under <a rel="license" href="https://creativecommons.org/licenses/by/4.0/">'
    "CC BY 4.0</a>.</p>",
    "<p>Licensed under a Creative Commons Attribution-ShareAlike 4.0 International License.</p>",
    '<figure><img src="https://img.test/p.jpg"><figcaption>Photo: Jane Doe / CC BY-NC 2.0</figcaption></figure>',
    "<p>All rights reserved.</p>", "<p>(Reuters) - Republication prohibited.</p>",
    "<p>Photo: Getty Images</p>", "<p>This story is in the public domain (CC0).</p>", "",
]
RIGHTS = [None, "CC BY 4.0", "Copyright 2026 Example News. All rights reserved.",
          "https://creativecommons.org/licenses/by-nc/4.0/", "Creative Commons Attribution 3.0", "CC BY-SA 4.0 <b>x</b>"]
WORDS = st.sampled_from(["harbor", "ferry", "tide", "Fähre", "港口", "مرفأ", "&", "<", '"', " ", "\u202e", "\x00"])

text = st.lists(WORDS, max_size=6).map(" ".join)
html_content = st.lists(st.one_of(st.sampled_from(HOSTILE_HTML), text), max_size=6).map("".join)


@st.composite
def items(draw):
    """One item: GUIDs from a small pool (so some repeat), fields that may be missing, hostile content."""
    number = draw(st.integers(0, 5))
    return {
        "guid": draw(st.sampled_from([None, f"item-{number}", f"https://p.test/item-{number}", "1234", ""])),
        "title": draw(st.one_of(st.none(), text, st.sampled_from(HOSTILE_HTML))),
        "link": draw(st.sampled_from([None, f"https://p.test/post/{number}", "javascript:alert(1)", "/relative",
                                      "https://p.test/shared"])),
        "content": draw(html_content) + draw(st.sampled_from(LICENSE_STATEMENTS)),
        "rights": draw(st.sampled_from(RIGHTS)),
        "date": draw(st.sampled_from([None, "2026-11-30T08:00:00Z", "not a date", "1900-01-01T00:00:00Z"])),
        "author": draw(st.one_of(st.none(), text)),
        "tags": draw(st.lists(text, max_size=3)),
    }


def element(name: str, value, **attributes) -> str:
    """An XML element with escaped text, or nothing for a missing value."""
    if value is None:
        return ""
    attrs = "".join(f' {key}="{escape(str(val))}"' for key, val in attributes.items())
    return f"<{name}{attrs}>{escape(str(value))}</{name}>"


def rss2(feed: dict) -> str:
    """An RSS 2.0 document."""
    entries = "".join(
        "<item>" + element("title", item["title"]) + element("link", item["link"]) + element("guid", item["guid"])
        + element("description", item["content"]) + element("dc:rights", item["rights"])
        + element("pubDate", item["date"]) + element("dc:creator", item["author"])
        + "".join(element("category", tag) for tag in item["tags"]) + "</item>" for item in feed["items"])
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel>{element("title", feed["title"])}<link>https://p.test/</link>'
            f'{element("copyright", feed["rights"])}{entries}</channel></rss>')


def atom(feed: dict) -> str:
    """An Atom 1.0 document."""
    entries = "".join(
        "<entry>" + element("title", item["title"], type="html") + element("id", item["guid"])
        + (f'<link href="{escape(item["link"])}"/>' if item["link"] else "")
        + element("content", item["content"], type="html") + element("rights", item["rights"])
        + element("updated", item["date"]) + (f"<author>{element('name', item['author'])}</author>" if item["author"] else "")
        + "".join(f'<category term="{escape(tag)}"/>' for tag in item["tags"]) + "</entry>" for item in feed["items"])
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'{element("title", feed["title"])}<id>urn:feed</id><link href="https://p.test/"/>'
            f'{element("rights", feed["rights"])}{entries}</feed>')


def rss1(feed: dict) -> str:
    """An RSS 1.0 (RDF) document."""
    entries = "".join(
        f'<item rdf:about="{escape(item["link"] or "https://p.test/none")}">' + element("title", item["title"])
        + element("link", item["link"]) + element("description", item["content"])
        + element("dc:rights", item["rights"]) + element("dc:date", item["date"])
        + element("dc:creator", item["author"]) + "</item>" for item in feed["items"])
    return ('<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="https://p.test/">{element("title", feed["title"])}<link>https://p.test/</link>'
            f'{element("dc:rights", feed["rights"])}</channel>{entries}</rdf:RDF>')


def json_feed(feed: dict) -> str:
    """A JSON Feed 1.1 document (missing fields left out, as JSON Feed writers do)."""
    def item(entry: dict) -> dict:
        fields = {"id": entry["guid"], "url": entry["link"], "title": entry["title"], "content_html": entry["content"],
                  "date_published": entry["date"], "tags": entry["tags"] or None,
                  "authors": [{"name": entry["author"]}] if entry["author"] else None}
        return {key: value for key, value in fields.items() if value is not None}
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": feed["title"],
                       "home_page_url": "https://p.test/", "items": [item(entry) for entry in feed["items"]]})


FORMATS = {"rss2": rss2, "atom": atom, "rss1": rss1, "json": json_feed}


@st.composite
def documents(draw):
    """(body bytes, content type) of a generated document, valid or broken."""
    feed = {"title": draw(st.one_of(st.none(), text)), "rights": draw(st.sampled_from(RIGHTS)),
            "items": draw(st.lists(items(), max_size=6))}
    kind = draw(st.sampled_from(sorted(FORMATS)))
    body = FORMATS[kind](feed).encode("utf-8")
    breakage = draw(st.sampled_from(["none", "none", "truncate", "encoding", "random bytes", "splice", "nesting"]))
    if breakage == "truncate" and body:
        body = body[:draw(st.integers(0, len(body)))]
    elif breakage == "encoding":
        declared = draw(st.sampled_from([b"utf-16", b"utf-32", b"cp037", b"bogus-8", b"iso-8859-1", b"shift_jis"]))
        body = body.replace(b'encoding="utf-8"', b'encoding="' + declared + b'"')
    elif breakage == "random bytes":
        body = draw(st.binary(max_size=300)) + body[draw(st.integers(0, len(body))):]
    elif breakage == "splice":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=40)) + body[at:]
    elif breakage == "nesting" and kind != "json":
        depth = draw(st.integers(1, 3000))
        body = body.replace(b"</channel>", b"<x>" * depth + b"</channel>", 1).replace(b"</feed>", b"<x>" * depth + b"</feed>", 1)
    content_type = draw(st.sampled_from(["application/rss+xml", "application/atom+xml", "application/feed+json",
                                         "text/xml", "text/html; charset=utf-8", "application/xml; charset=utf-16"]))
    return body, content_type


@pytest.fixture(scope="module")
def feed_server():
    """One threaded HTTP server on 127.0.0.1 for the whole run; each example serves its own paths."""
    served: dict[str, tuple[bytes, str]] = {}

    def answer(request):
        """The document served at this path, or 404."""
        if request.path not in served:
            return Response(b"gone", status=404)
        body, content_type = served[request.path]
        return Response(body, content_type=content_type)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(".*")).respond_with_handler(answer)
    server.start()
    yield server, served
    server.clear()
    server.stop()


example_numbers = itertools.count()


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(rounds=st.lists(st.lists(documents(), min_size=3, max_size=3), min_size=2, max_size=3),
       auto_approve=st.lists(st.booleans(), min_size=3, max_size=3),
       licensed=st.lists(st.booleans(), min_size=3, max_size=3),
       withdraw_every=st.integers(1, 3))
def test_ingest_keeps_its_promises_on_generated_feeds(feed_server, rounds, auto_approve, licensed, withdraw_every):
    server, served = feed_server
    example = next(example_numbers)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.sqlite"
        db = storage.connect(str(path))
        storage.migrate(db)
        config = ingest.IngestConfig(database=str(path), policy=licenses.allowed_by_default(),
                                     limits=fetcher.FetchLimits(connect_timeout=2, read_timeout=2, deadline=5),
                                     guard=fetcher.AddressGuard(allow_private=True), workers=3)
        for number in range(3):
            storage.add_source(db, server.url_for(f"/{example}/{number}"), name=f"source {number}",
                               auto_approve=auto_approve[number],
                               license="CC-BY-4.0" if licensed[number] else None,
                               evidence=SOURCE_LICENSE_EVIDENCE if licensed[number] else None)
        withdrawn: set[int] = set()
        try:
            for documents_of_round in rounds:
                for number, (body, content_type) in enumerate(documents_of_round):
                    served[f"/{example}/{number}"] = (body, content_type)
                reports = ingest.refresh_many(storage.list_sources(db), config)
                assert len(reports) == 3
                for report in reports:
                    assert report.outcome in ("ok", "unchanged", "not modified", "error"), report
                    for message in (report.error, report.warning):
                        assert message is None or ("\n" not in message and "\r" not in message), report
                    assert not (report.error or "").startswith("internal error"), report.error
                withdrawn = assert_invariants(path, withdrawn)
                published = [item["id"] for item in storage.list_items(db, status="published")]
                for item_id in published[::withdraw_every]:
                    workflow.withdraw(db, item_id, "withdrawn by the fuzzer")
                withdrawn = assert_invariants(path, withdrawn)
        finally:
            db.conn.close()
            for number in range(3):
                served.pop(f"/{example}/{number}", None)
