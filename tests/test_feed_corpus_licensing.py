"""The license stage on documents nobody here wrote: every feedparser conformance document.

Each document goes through the parse stage with the HTTP headers its own test declares, then every
entry through the license decision (with an editor's CC BY source license, the usual agency setup) and
the render stage. Nothing may raise, every decision must be complete and consistent, and every quote an
editor is shown must be text the entry really contains.
"""

import re
from pathlib import Path

import pytest

from republisher import licenses, parser, processor, statements
from republisher.errors import ParseError
from republisher.licensing import decide_license

CORPUS = Path(__file__).parent / "corpora" / "feeds" / "feedparser-tests"
DOCUMENTS = sorted(path for path in CORPUS.rglob("*") if path.suffix in (".xml", ".rdf", ".atom"))
HEADER = re.compile(rb"^Header:\s*([\w-]+):\s*(.+?)\s*$", re.MULTILINE)
POLICY = licenses.allowed_by_default()
EDITOR = {"license": "CC-BY-4.0", "evidence": "https://agency.example/about: All content is CC BY 4.0.",
          "set_at": "2026-11-01T00:00:00+00:00"}
SEEN_AT = "2026-12-01T00:00:00+00:00"


def declared_headers(body: bytes) -> dict:
    """The HTTP headers a conformance document declares for itself."""
    return {name.decode().lower(): value.decode("latin-1") for name, value in HEADER.findall(body[:2000])}


def folded(text: str) -> str:
    """Whitespace folded, for comparing a quote with the text it came from."""
    return " ".join(text.split())


def test_the_corpus_is_here_with_its_license():
    assert len(DOCUMENTS) > 2000
    assert (CORPUS / "LICENSE").read_text("utf-8").lstrip().startswith("feedparser and its unit tests")
    assert "a22c5521cbb109871f1a2318948581901bd47e26" in (CORPUS / "README.md").read_text("utf-8")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: str(path.relative_to(CORPUS)))
def test_every_entry_of_every_document_gets_a_complete_decision_quoting_its_own_text(path):
    body = path.read_bytes()
    try:
        document = parser.parse_document(body, declared_headers(body), "http://127.0.0.1/" + path.name)
    except ParseError:
        return  # refused with a clear error: an empty, HTML, or entity-declaring document
    feed = document.feed
    for entry in (parsed.values for parsed in document.entries):
        decision = decide_license(entry, feed, source_license=EDITOR, policy=POLICY, seen_at=SEEN_AT)
        assert decision["status"] in ("pending", "blocked")
        assert decision["allowed"] is (decision["status"] == "pending")
        assert decision["allowed"] is licenses.permitted(decision["license"], POLICY)
        assert (decision["reason"] is None) is decision["allowed"]
        if decision["allowed"]:
            assert decision["evidence"]["license"] == decision["license"]
        texts = [folded(statements.fragment_text(entry.get(key) or "")) for key in ("content", "summary")]
        for finding in decision["findings"]:
            if finding["level"] == "content" and finding["found_in"] not in ("html rel=license", "html link to a license"):
                assert any(folded(finding["matched"]) in text for text in texts), finding
        for credit in decision["media"]:
            if credit["found_in"] != "media:credit":  # the others are quoted from the body itself
                assert any(folded(credit["credit"]) in text for text in texts), credit
        rendered = processor.render(entry, feed, {"name": "Corpus"}, decision)
        assert isinstance(rendered["content_html"], str) and rendered["attribution"]["changes_notice"]
