"""Every payload of four public XSS corpora comes out of the sanitizer inert and stable."""

import html
import json
from pathlib import Path

import pytest

from republisher.sanitizer import ALLOWED_TAGS, plain_text, sanitize_html
from xss_checks import assert_inert, element_names

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
