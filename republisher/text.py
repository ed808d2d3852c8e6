"""Plain-text helpers the stages share: a feed field as text, the sentence around a match, the text's direction."""

import html
import re

SENTENCE_ENDS = (". ", "\n", "! ", "? ")
SENTENCE_REACH = 300  # characters read on each side of a match; the sentences we look for are shorter
_TAG = re.compile(r"<[^<>]*>")  # no "<" inside: linear on a run of "<"
_SPACE = re.compile(r"\s+")
# A numeric character reference longer than any character needs. Python refuses to read numbers of over
# 4,300 digits, and html.unescape, html5lib and the sanitizer all read them as numbers.
_LONG_REFERENCE = re.compile(r"&#(?:([xX])([0-9a-fA-F]{17,})|([0-9]{17,}))(;?)")
_LONG_REFERENCE_BYTES = re.compile(rb"&#(?:([xX])([0-9a-fA-F]{17,})|([0-9]{17,}))(;?)")
MAX_CODE_POINT = 0x10FFFF
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")

MARKUP_PER_CHARACTER = 16  # markup read per character of a capped field's text: tags and entities take room
DIRECTION_SAMPLE = 1000  # characters a direction is read from: a few sentences, cheap enough to read at every render
MARKUP_SAMPLE = 4 * DIRECTION_SAMPLE  # markup read for that much text: tags, links and images take room too
# The blocks of the scripts written right to left: Hebrew, Arabic and its extensions, Syriac, Thaana, N'Ko,
# Samaritan, Mandaic, their presentation forms, and the historic scripts of the supplementary planes.
# No strong left-to-right character lies in them, and their digits and vowel marks occur in no other script.
_RTL_BLOCKS = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff"
# A run of text in one direction: its words and the single spaces between them. Runs are measured rather
# than letters counted one by one: a sentence is a few matches, not a hundred.
_RTL_RUN = re.compile(f"[{_RTL_BLOCKS}]+(?: [{_RTL_BLOCKS}]+)*")
_LTR_RUN = re.compile(rf"[^\W\d_{_RTL_BLOCKS}]+(?: [^\W\d_{_RTL_BLOCKS}]+)*")  # letters of every other script


def bounded_references(value: str) -> str:
    """Text whose overlong numeric character references are written short: "&#00…0065;" as "&#65;",
    one naming no character as U+FFFD, as browsers show it.
    """
    if "&#" not in value:
        return value
    return _LONG_REFERENCE.sub(_short_reference, value)


def bounded_reference_bytes(body: bytes) -> bytes:
    """A document whose overlong numeric character references are written short (see bounded_references)."""
    if b"&#" not in body:
        return body
    return _LONG_REFERENCE_BYTES.sub(lambda match: _short_reference(match).encode(), body)


def _short_reference(match) -> str:
    """The short form of one overlong reference."""
    hexadecimal, hex_digits, decimal_digits, end = (
        part.decode() if isinstance(part, bytes) else part for part in match.groups(default=""))
    digits = (hex_digits or decimal_digits).lstrip("0") or "0"
    if len(digits) > 8:
        return "\ufffd" if isinstance(match.string, str) else "&#xFFFD;"
    number = int(digits, 16 if hexadecimal else 10)
    if number == 0 or number > MAX_CODE_POINT:
        return "\ufffd" if isinstance(match.string, str) else "&#xFFFD;"
    return f"&#{number};" if end else f"&#{number}"


def language_tag(value) -> str | None:
    """A language tag readers can use, whose first part is an ISO 639 code ("fa", "en-GB"), or None ("english")."""
    if not value or not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-")
    return tag if _LANGUAGE_TAG.fullmatch(tag) else None


def field_text(value, detail=None, limit: int | None = None) -> str | None:
    """A feed field as plain text, whitespace folded, at most `limit` characters; markup is stripped when
    the feed typed it as HTML.
    """
    if value is None or value == "":
        return None
    value = str(value)
    if limit is not None:
        value = value[:MARKUP_PER_CHARACTER * limit]  # what could not show within the limit is not read
    if not isinstance(detail, dict) or "html" in (detail.get("type") or "text/html"):
        if "<" in value or "&" in value:
            value = html.unescape(_TAG.sub(" ", bounded_references(value)))
    value = _SPACE.sub(" ", value).strip()
    return (value[:limit].rstrip() if limit is not None else value) or None


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


def writing_direction(text: str | None) -> str | None:
    """'rtl' when right-to-left text outruns the other letters at the text's start, else 'ltr'; None without either.

    A majority, not the first strong character: a Persian text often opens with a Latin name, a URL or an
    English dateline. Characters, not words: Chinese and Japanese put no space between words.
    """
    sample = (text or "")[:DIRECTION_SAMPLE]
    rtl = 0 if sample.isascii() else run_length(_RTL_RUN, sample)
    if not rtl:
        return "ltr" if _LTR_RUN.search(sample) else None
    if 2 * rtl > len(sample):  # the rest cannot outrun it: no need to measure
        return "rtl"
    return "rtl" if rtl > run_length(_LTR_RUN, sample) else "ltr"


def run_length(runs: re.Pattern, text: str) -> int:
    """How many characters of the text the pattern's runs cover."""
    return sum(map(len, runs.findall(text)))


def opening_text(markup: str | None) -> str:
    """The visible text at the start of an HTML fragment: tags dropped, a tag cut by the limit too, entities read."""
    head = (markup or "")[:MARKUP_SAMPLE]
    if head.rfind("<") > head.rfind(">"):
        head = head[:head.rfind("<")]
    return html.unescape(_TAG.sub(" ", head))
