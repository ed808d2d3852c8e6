"""Every feedparser conformance document, ingested end to end over HTTP: nothing escapes, nothing is garbled.

Each document is served on 127.0.0.1 with the headers its own test declares, added as a source, fetched
through the orchestrator, and its stored items compared with what the document says. The text of each
stored article is read back by html5lib, as a browser reads it, and compared with the text of the entry.
"""

import dataclasses
from collections import Counter

import html5lib
import pytest
from werkzeug import Response

from helpers import pipeline_config
from republisher import ingest, storage
from test_feed_corpus_licensing import CORPUS, DOCUMENTS, declared_headers

# Elements whose text a browser never shows, and which the sanitizer drops with their content.
HIDDEN = frozenset(("script", "style", "noscript", "template", "title", "textarea", "select", "button",
                    "svg", "math", "noembed", "noframes", "iframe", "frame", "video", "audio", "object",
                    "applet", "head"))
REPLACEMENT = "\ufffd"


def visible_characters(fragment: str) -> Counter:
    """The characters a browser shows for a fragment, spaces aside, counted (order moves out of tables)."""
    root = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    shown = Counter()

    def walk(element):
        """Count the text of an element that shows, and of its children."""
        tag = element.tag.rpartition("}")[2] if isinstance(element.tag, str) else None
        if tag in HIDDEN or not isinstance(element.tag, str):
            return
        shown.update("".join((element.text or "").split()))
        for child in element:
            walk(child)
            shown.update("".join((child.tail or "").split()))

    walk(root)
    return shown


def embed_link_characters(content_html: str) -> Counter:
    """Characters of the addresses the sanitizer wrote as links in place of frames and media."""
    root = html5lib.parseFragment(content_html, treebuilder="etree", namespaceHTMLElements=False)
    added = Counter()
    for link in root.iter("a"):
        text = "".join(link.itertext())
        if text and text == link.get("href"):
            added.update("".join(text.split()))
    return added


@pytest.fixture
def corpus_server(httpserver):
    """Every document at its own path, with the headers it declares."""
    bodies = {"/" + str(path.relative_to(CORPUS)): path.read_bytes() for path in DOCUMENTS}

    def answer(request):
        """The document at the request's path."""
        body = bodies[request.path]
        headers = declared_headers(body)
        headers.setdefault("content-type", "application/xml")
        return Response(body, headers=headers)

    for path in bodies:
        httpserver.expect_request(path).respond_with_handler(answer)
    return httpserver, sorted(bodies)


def test_the_whole_corpus_is_ingested_with_clear_errors_and_the_publishers_text_intact(app, db, corpus_server):
    server, paths = corpus_server
    for path in paths:
        storage.add_source(db, server.url_for(path), name=path)
    config = dataclasses.replace(pipeline_config(app), per_host=8)
    reports = ingest.refresh_many(storage.list_sources(db), config)

    assert len(reports) == len(paths)
    outcomes = Counter(report.outcome for report in reports)
    assert set(outcomes) <= {"ok", "error"}, outcomes
    assert outcomes["ok"] > 0.8 * len(paths), outcomes
    for report in reports:
        for message in (report.error, report.warning):
            assert message is None or (message.strip() and "\n" not in message), report
        assert not (report.error or "").startswith("internal error"), report
        assert "<unknown>" not in (report.error or "") + (report.warning or ""), report

    stored = 0
    for item in storage.list_items(db, limit=100_000):
        for revision in storage.item_revisions(db, item["id"]):
            entry = revision["raw"]
            content, kind = entry.get("content") or "", entry.get("content_type") or "text/html"
            source_text = visible_characters(content) if "html" in kind else Counter("".join(content.split()))
            shown = visible_characters(revision["content_html"]) - embed_link_characters(revision["content_html"])
            context = (item["url"], content[:300], revision["content_html"][:300])
            assert shown == source_text, context
            if REPLACEMENT in (revision["title"] or ""):
                assert REPLACEMENT in (entry.get("raw") or {}).get("title", ""), context
            stored += 1
    assert stored > 1000
