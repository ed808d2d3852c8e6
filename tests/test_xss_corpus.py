"""Every payload of four public XSS corpora comes out of the sanitizer inert and stable."""

import html
import json
import re
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from republisher.parser import parse_feed
from republisher.processor import process_entry
from republisher.sanitizer import ALLOWED_TAGS, plain_text, sanitize_html
from xss_checks import assert_inert, dangerous_url, element_names

CORPUS_DIR = Path(__file__).parent / "corpora" / "xss"
CORPUS_FILES = ("bleach_regressions.jsonl", "dompurify_expect.jsonl", "h5sc_items.jsonl",
                "owasp_xss_filter_evasion.jsonl")
BASE_URL = "https://example.org/news/"


def load_payloads() -> list:
    """pytest params (payload, id=corpus id) from all corpus files."""
    params = []
    for name in CORPUS_FILES:
        with open(CORPUS_DIR / name, encoding="utf-8") as corpus:
            for line in corpus:
                if line.strip():
                    entry = json.loads(line)
                    params.append(pytest.param(entry["payload"], id=entry["id"]))
    return params


PAYLOADS = load_payloads()


def test_all_four_corpora_are_loaded():
    """The copied corpora are complete (counts from their README)."""
    assert len(PAYLOADS) == 20 + 223 + 149 + 110


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitized_payload_is_inert(payload):
    """No active element, handler or URL survives, and only allowlisted elements remain."""
    safe = sanitize_html(payload, BASE_URL).html
    assert_inert(safe)
    assert set(element_names(safe)) <= ALLOWED_TAGS


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitizing_is_a_fixed_point(payload):
    """Sanitizing the sanitizer's output changes nothing more."""
    once = sanitize_html(payload, BASE_URL).html
    assert sanitize_html(once, BASE_URL).html == once


@pytest.mark.parametrize("payload", PAYLOADS)
def test_plain_text_of_payload_is_text(payload):
    """As a title, the payload becomes text that, escaped, parses to no element at all."""
    text = plain_text(payload)
    assert isinstance(text, str)
    assert element_names(html.escape(text)) == []


# ---------------------------------------------------------------- every feed field, through the parse stage

XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def feed_with_payload(payload: str) -> bytes:
    """An RSS item carrying the payload in its title, author, link, enclosure URL, category and content."""
    text = escape(XML_INVALID.sub("\ufffd", payload), {'"': "&quot;"})
    content = XML_INVALID.sub("\ufffd", payload).replace("]]>", "]]]]><![CDATA[>")
    return (f'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>{text}</title>'
            f"<item><title>{text}</title><dc:creator>{text}</dc:creator><link>{text}</link>"
            f'<guid isPermaLink="false">x</guid><category>{text}</category>'
            f'<enclosure url="{text}" type="image/jpeg" length="1"/>'
            f"<description><![CDATA[{content}]]></description></item></channel></rss>").encode("utf-8")


def safe_http_url(value) -> bool:
    """None, or an absolute http(s) URL with nothing a browser would read as markup or script."""
    if value is None:
        return True
    return (value.startswith(("http://", "https://")) and not dangerous_url(value)
            and not any(character in value for character in '<>" \\`'))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_in_every_feed_field_comes_out_as_text_or_a_safe_url(payload):
    parsed = parse_feed(feed_with_payload(payload), {}, BASE_URL + "feed.xml")
    [entry] = parsed["entries"]
    assert safe_http_url(entry["link"]), entry["link"]
    assert all(safe_http_url(enclosure["url"]) for enclosure in entry["enclosures"])
    for value in [entry["title"], parsed["feed"]["title"], *entry["authors"], *entry["categories"]]:
        assert value is None or isinstance(value, str)
        assert element_names(html.escape(value or "")) == []
    processed = process_entry(entry, parsed["feed"], {"name": "Feed", "url": BASE_URL}, frozenset({"CC-BY-4.0"}),
                              "2026-01-01T00:00:00+00:00")
    assert_inert(processed["content_html"])
    assert safe_http_url(processed["attribution"].get("original_url"))
