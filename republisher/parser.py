"""Parse stage: feed bytes in, plain normalized dicts out (feedparser is used here alone)."""

import calendar
import io
import re
from datetime import datetime, timezone
from urllib.parse import quote, urljoin, urlsplit

import feedparser

from . import jsonfeed
from .errors import NotAFeedError, ParseError, UnsafeFeedError
from .text import field_text as text

FEED_VERSIONS_WITHOUT_ITEMS_OK = ("rss", "atom", "cdf")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
URL_SAFE_CHARACTERS = "%:/?#[]@!$&'()*+,;=~-._"
JSON_CONTENT_TYPES = ("application/feed+json", "application/json")
_JSON_OPENING = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{")
_XML_OPENING = re.compile(rb"(?:\xef\xbb\xbf)?\s*<")


def parse_feed(body: bytes, headers: dict, url: str) -> dict:
    """Parse a feed body into {"feed": {...}, "entries": [...], "bozo": str|None}, every entry normalized."""
    document = parse_document(body, headers, url)
    entries = [normalize_entry(entry, document["feed"]) for entry in document["raw_entries"]]
    return {"version": document["version"], "feed": document["feed"], "entries": entries,
            "bozo": document["bozo"]}


def parse_document(body: bytes, headers: dict, url: str) -> dict:
    """Parse a feed body, normalizing the channel only; entries stay as feedparser returned them.

    The orchestrator recognizes unchanged entries from these raw dicts and normalizes only the rest.
    """
    if is_json(body, headers):
        parsed = jsonfeed.parse(body)
        feed = normalize_feed(parsed["feed"], url, parsed["version"], parsed["namespaces"])
        return {"version": parsed["version"], "feed": feed, "raw_entries": parsed["entries"], "bozo": None}
    refuse_entity_declarations(body)
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    lowered["content-location"] = url
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=lowered,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser raises on some inputs instead of setting bozo
        raise ParseError(f"feed could not be parsed: {type(exc).__name__}: {exc}") from exc
    if not parsed.get("version"):
        raise NotAFeedError(describe_non_feed(body, parsed))
    feed = normalize_feed(parsed.get("feed", {}), url, parsed["version"], parsed.get("namespaces"))
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    return {"version": parsed["version"], "feed": feed, "raw_entries": list(parsed.get("entries", [])),
            "bozo": f"{type(problem).__name__}: {problem}" if problem else None}


def is_json(body: bytes, headers: dict | None) -> bool:
    """Whether a body is JSON: it opens with "{", or its content type says JSON and it does not open with "<"."""
    content_type = {name.lower(): value for name, value in (headers or {}).items()}.get("content-type") or ""
    declared = content_type.split(";")[0].strip().lower() in JSON_CONTENT_TYPES
    return bool(_JSON_OPENING.match(body)) or (declared and not _XML_OPENING.match(body))


def identity_fields(entry, feed: dict) -> dict:
    """The fields an entry's identity is made of, read lazily from a raw entry (GUID first)."""
    guid = (entry.get("id") or "").strip() or None
    if guid:
        return {"guid": guid}
    link = safe_link(entry.get("link"), entry_base(entry, feed["url"]))
    if link:
        return {"guid": None, "link": link}
    return {"guid": None, "link": None, "title": text(entry.get("title"), entry.get("title_detail")),
            "content": entry_content(entry)[0]}


def raw_fingerprint(entry) -> str:
    """Everything the feed said about an entry, as text: equal for an entry the feed repeats unchanged."""
    # repr is deterministic for the same document and twice as fast as a sorted JSON dump
    return repr(entry)


def refuse_entity_declarations(body: bytes) -> None:
    """Refuse internal entity declarations in the prolog (quadratic blow-up)."""
    head = body[:4].lstrip(b"\xef\xbb\xbf")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[1:2] == b"\x00" or head[:1] == b"\x00":
        try:
            body = body.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotAFeedError("body is not valid UTF-16") from exc
    first = _FIRST_ELEMENT.search(body)
    prolog = body[: first.start()] if first else body
    if _ENTITY_DECL.search(prolog):
        raise UnsafeFeedError("feed declares XML entities; refused (entity expansion attack)")


def describe_non_feed(body: bytes, parsed) -> str:
    """Say in one line why a body is not a feed."""
    if not body.strip():
        return "empty body: not a feed"
    start = body.lstrip()[:200].lower()
    if b"<html" in start or b"<!doctype html" in start:
        return "got an HTML page, not a feed"
    problem = parsed.get("bozo_exception")
    return f"not an RSS or Atom feed ({problem})" if problem else "not an RSS or Atom feed"


def normalize_feed(feed, url: str, version: str = "", namespaces=None) -> dict:
    """Turn feedparser's channel into a plain dict."""
    return {
        # format and namespaces let the license stage say which element a finding came from
        "format": version or "",
        "namespaces": {str(prefix): str(uri) for prefix, uri in (namespaces or {}).items()},
        "title": text(feed.get("title"), feed.get("title_detail")),
        "link": safe_link(feed.get("link"), url),
        "subtitle": text(feed.get("subtitle")),
        "language": language_tag(feed.get("language")),
        "rights": text(feed.get("rights"), feed.get("rights_detail")),
        "url": url,
        "raw": plain(feed),
    }


def normalize_entry(entry, feed: dict) -> dict:
    """Turn one feedparser entry into a plain dict of untrusted values."""
    base = entry_base(entry, feed["url"])
    content, content_type = entry_content(entry)
    return {
        "guid": (entry.get("id") or "").strip() or None,
        "link": safe_link(entry.get("link"), base),
        "title": text(entry.get("title"), entry.get("title_detail")),
        "authors": author_names(entry),
        "published": timestamp(entry.get("published_parsed")),
        # feedparser falls back to published_parsed here itself, with a DeprecationWarning; do it explicitly
        "updated": timestamp(dict.get(entry, "updated_parsed") or dict.get(entry, "published_parsed")),
        "content": content,
        "content_type": content_type,
        "summary": entry.get("summary") or "",
        "categories": categories(entry),
        "enclosures": enclosures(entry, base),
        "language": language_tag(entry_language(entry)) or feed["language"],
        "base": base,
        "rights": text(entry.get("rights"), entry.get("rights_detail")),
        "source": plain(entry.get("source")) if entry.get("source") else None,
        "raw": plain(entry),
    }


def entry_base(entry, feed_url: str) -> str:
    """The URL relative links in this entry resolve against."""
    for key in ("content", "summary_detail"):
        detail = entry.get(key)
        detail = detail[0] if isinstance(detail, list) and detail else detail
        if isinstance(detail, dict) and detail.get("base"):
            return safe_link(detail["base"], feed_url) or feed_url
    return safe_link(entry.get("link"), feed_url) or feed_url


def entry_content(entry) -> tuple[str, str]:
    """Full content preferred over summary, as (html_or_text, mime type)."""
    for detail in entry.get("content") or []:
        if detail.get("value"):
            return detail["value"], detail.get("type") or "text/html"
    detail = entry.get("summary_detail") or {}
    return entry.get("summary") or "", detail.get("type") or "text/html"


def entry_language(entry):
    """The entry's declared language, from its content or title."""
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        detail = detail[0] if isinstance(detail, list) and detail else detail
        if isinstance(detail, dict) and detail.get("language"):
            return detail["language"]
    return None


def author_names(entry) -> list[str]:
    """Author names as plain text, without duplicates."""
    names = []
    for author in entry.get("authors") or []:
        name = text(author.get("name") if isinstance(author, dict) else author)
        if name and name not in names:
            names.append(name)
    fallback = text(entry.get("author"))
    if not names and fallback:
        names.append(fallback)
    return names


def categories(entry) -> list[str]:
    """Category names as plain text."""
    names = []
    for tag in entry.get("tags") or []:
        name = text(tag.get("label") or tag.get("term"))
        if name and name not in names:
            names.append(name)
    return names


def enclosures(entry, base: str) -> list[dict]:
    """Enclosures with http(s) URLs only."""
    found = []
    for link in entry.get("links") or []:
        if link.get("rel") != "enclosure":
            continue
        href = safe_link(link.get("href"), base)
        if href:
            found.append({"url": href, "type": text(link.get("type")) or None,
                          "length": to_int(link.get("length"))})
    return found


def safe_link(value, base: str | None) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, garbage)."""
    if not value or not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value.strip() if ch >= " " and ch != "\x7f")
    try:
        absolute = urljoin(base or "", cleaned)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # characters a URL may not carry (spaces, quotes, angle brackets) are percent-encoded, not passed on
    return quote(absolute, safe=URL_SAFE_CHARACTERS)


def language_tag(value) -> str | None:
    """A short BCP 47 language tag, or None."""
    if not value or not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-")
    return tag if re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", tag) else None


def timestamp(parsed_time) -> str | None:
    """An ISO 8601 UTC timestamp from feedparser's time tuple."""
    if not parsed_time:
        return None
    try:
        seconds = calendar.timegm(parsed_time)
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError, TypeError):
        return None


def to_int(value) -> int | None:
    """An int, or None when the value is not a plain non-negative number."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def plain(value):
    """A JSON-serializable copy of feedparser's structures (time tuples dropped)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()
                if not str(key).endswith("_parsed")}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
