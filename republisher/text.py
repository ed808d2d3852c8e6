"""Plain-text helpers the stages share: a feed field as text, and the sentence around a match."""

import html
import re

SENTENCE_ENDS = (". ", "\n", "! ", "? ")
SENTENCE_REACH = 300  # characters read on each side of a match; the sentences we look for are shorter
_TAG = re.compile(r"<[^<>]*>")  # no "<" inside: linear on a run of "<"
_SPACE = re.compile(r"\s+")


def field_text(value, detail=None) -> str | None:
    """A feed field as plain text, whitespace folded; markup is stripped when the feed typed it as HTML."""
    if value is None or value == "":
        return None
    value = str(value)
    if not isinstance(detail, dict) or "html" in (detail.get("type") or "text/html"):
        if "<" in value or "&" in value:
            value = html.unescape(_TAG.sub(" ", value))
    return _SPACE.sub(" ", value).strip() or None


def sentence_around(text: str, start: int, end: int, reach: int = SENTENCE_REACH) -> str:
    """The sentence holding text[start:end], whitespace folded, looking at most `reach` characters each way."""
    left = max(0, start - reach)
    for mark in SENTENCE_ENDS:  # each search starts after the best boundary so far, so the last found wins
        at = text.rfind(mark, left, start)
        if at != -1:
            left = at + len(mark)
    right = min(len(text), end + reach)
    for mark in SENTENCE_ENDS:
        at = text.find(mark, end, right)
        if at != -1:
            right = at + len(mark)
    return " ".join(text[left:right].split())
