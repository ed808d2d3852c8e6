"""Parse stage for JSON Feed 1.0 and 1.1: a body in, the structure feedparser gives for RSS and Atom out.

Every value is untrusted: a field of the wrong type counts as absent, an item that is not an object or
has no id is skipped, and only a document with nothing readable is refused.
"""

import json
import math
import re
from datetime import datetime, timezone

from .errors import NotAFeedError, ParseError, SkippedEntriesWarning

VERSION = re.compile(r"https?://(?:www\.)?jsonfeed\.org/version/(\d+(?:\.\d+)*)/?")
NOT_A_JSON_FEED = 'JSON, but not a JSON Feed (no "version" of https://jsonfeed.org/version/1)'
UTF8_BOM = b"\xef\xbb\xbf"
# no real item has more authors, tags or attachments; a hostile one must not make every later stage carry
# and store a hundred thousand of them
MAX_PER_ITEM = 100
# characters XML cannot carry, so the stages after parsing never met them: C0 controls and lone surrogates
_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
JSON_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
                   bool: "a boolean", type(None): "null"}


def parse(body: bytes) -> dict:
    """A JSON Feed body as feedparser's result: {"version", "feed", "entries", "bozo", "namespaces"}."""
    document = load(body)
    version = feed_version(document)
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(f'JSON Feed without a list of "items" ("items" is {type_name(items)})')
    feed = channel(document)
    entries, first_problem = [], None
    for number, item in enumerate(items, 1):
        problem = unreadable(item)
        if not problem:
            entries.append(entry_of(item, feed))
        elif first_problem is None:
            first_problem = f"item {number} {problem}"
    if items and not entries:
        raise ParseError(f"no item of the JSON Feed could be read ({len(items)} skipped; first: {first_problem})")
    result = {"version": version, "feed": feed, "entries": entries, "bozo": 0, "namespaces": {}}
    if first_problem:
        skipped = len(items) - len(entries)
        result.update(bozo=1, bozo_exception=SkippedEntriesWarning(
            f"{skipped} {'item' if skipped == 1 else 'items'} of the JSON Feed left out; first: {first_problem}"))
    return result


def load(body: bytes):
    """The JSON value of a body; a ParseError says in one line why it cannot be read."""
    data = body[len(UTF8_BOM):] if body.startswith(UTF8_BOM) else body
    try:
        text = data.decode(json.detect_encoding(data))
    except UnicodeDecodeError as exc:
        offset = exc.start + len(body) - len(data)
        raise ParseError(f"not valid {exc.encoding.upper()}: byte 0x{body[offset]:02x} at offset {offset} "
                         f"({exc.reason})") from exc
    if not text.strip():
        raise NotAFeedError("empty body: not a feed")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply to be read") from exc
    except ValueError as exc:  # a number with more digits than Python converts
        raise ParseError(f"JSON could not be read: {str(exc).split(':')[0]}") from exc


def feed_version(document) -> str:
    """feedparser's kind of name for the JSON Feed version ("json1", "json11"); NotAFeedError otherwise."""
    if not isinstance(document, dict):
        raise NotAFeedError(f"JSON, but not a JSON Feed (the document is {type_name(document)}, not an object)")
    declared = document.get("version")
    match = VERSION.fullmatch(declared.strip()) if isinstance(declared, str) else None
    if not match:
        raise NotAFeedError(NOT_A_JSON_FEED)
    return "json" + match.group(1).replace(".", "")


def channel(document: dict) -> dict:
    """The feed-level fields, under feedparser's names."""
    language = string(document.get("language"))
    title, description = string(document.get("title")), string(document.get("description"))
    home, feed_url = string(document.get("home_page_url")), string(document.get("feed_url"))
    return without_empty({
        "title": title, "title_detail": plain_detail(title, language),
        "link": home,
        "links": [link for link in (link_of("alternate", home, "text/html"),
                                    link_of("self", feed_url, "application/feed+json")) if link],
        "subtitle": description, "subtitle_detail": plain_detail(description, language),
        "language": language,
        "authors": people(document),
        "feed_url": feed_url,
        "icon": string(document.get("icon")),
        "favicon": string(document.get("favicon")),
        "next_url": string(document.get("next_url")),
        "expired": document.get("expired") is True or None,
    })


def unreadable(item) -> str | None:
    """Why an item is skipped, or None: it must be an object with an id (JSON Feed discards the rest)."""
    if not isinstance(item, dict):
        return f"is {type_name(item)}, not an object"
    if item_id(item) is not None:
        return None
    value = item.get("id")
    if value is None:
        return 'has no "id"'
    return 'has an empty "id"' if isinstance(value, str) else f'has an "id" that is {type_name(value)}'


def entry_of(item: dict, feed: dict) -> dict:
    """One item as a feedparser entry; the feed's authors stand in when the item names none."""
    language = string(item.get("language"))
    title, summary = string(item.get("title")), string(item.get("summary"))
    url, external = string(item.get("url")), string(item.get("external_url"))
    published, modified = string(item.get("date_published")), string(item.get("date_modified"))
    return without_empty({
        "id": item_id(item),
        "link": url,
        "links": [link for link in (link_of("alternate", url, "text/html"), link_of("related", external, "text/html"))
                  if link] + attachments(item.get("attachments")),
        "title": title, "title_detail": plain_detail(title, language),
        "content": [detail for detail in (detail_of(string(item.get("content_html")), "text/html", language),
                                          detail_of(string(item.get("content_text")), "text/plain", language))
                    if detail],
        "summary": summary, "summary_detail": plain_detail(summary, language),
        "authors": people(item) or feed.get("authors"),
        "published": published, "published_parsed": rfc3339(published),
        "updated": modified, "updated_parsed": rfc3339(modified),
        "tags": [{"term": tag, "scheme": None, "label": None} for tag in unique_strings(item.get("tags"))],
        "language": language,
        "external_url": external,
        "image": string(item.get("image")),
        "banner_image": string(item.get("banner_image")),
    })


def item_id(item: dict) -> str | None:
    """The item's id as text: JSON Feed readers turn a numeric id into a string; anything else is none."""
    value = item.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    text = string(value)
    return (text.strip() or None) if text else None


def people(owner: dict) -> list[dict]:
    """Named authors from 1.1 "authors", else from 1.0 "author"; unnamed ones are left out."""
    for candidates in (owner.get("authors"), [owner.get("author")]):
        found = {}
        for person in candidates if isinstance(candidates, list) else ():
            name = string(person.get("name")) if isinstance(person, dict) else None
            if name and name.strip() and name not in found:
                found[name] = without_empty({"name": name, "href": string(person.get("url")),
                                             "avatar": string(person.get("avatar"))})
                if len(found) == MAX_PER_ITEM:
                    break
        if found:
            return list(found.values())
    return []


def attachments(value) -> list[dict]:
    """Attachments as feedparser's enclosure links: url to href, mime_type to type, size_in_bytes to length."""
    links = []
    for attachment in value if isinstance(value, list) else ():
        href = string(attachment.get("url")) if isinstance(attachment, dict) else None
        if not href:
            continue
        size, duration = attachment.get("size_in_bytes"), attachment.get("duration_in_seconds")
        links.append(without_empty({
            "rel": "enclosure", "href": href, "type": string(attachment.get("mime_type")),
            "length": size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
            "title": string(attachment.get("title")),
            "duration_in_seconds": duration if is_number(duration) else None,
        }))
        if len(links) == MAX_PER_ITEM:
            break
    return links


def unique_strings(value) -> list[str]:
    """The distinct strings of a list, in order, at most MAX_PER_ITEM of them."""
    found = {}
    for element in value if isinstance(value, list) else ():
        text = string(element)
        if text and text.strip():
            found.setdefault(text, None)
            if len(found) == MAX_PER_ITEM:
                break
    return list(found)


def rfc3339(value: str | None):
    """A UTC time.struct_time from an RFC 3339 date (one without an offset counts as UTC), or None."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().upper())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.utctimetuple()
    except (ValueError, OverflowError):
        return None


def link_of(rel: str, href: str | None, media_type: str) -> dict | None:
    """A feedparser link, or None without a URL."""
    return {"rel": rel, "type": media_type, "href": href} if href else None


def detail_of(value: str | None, media_type: str, language: str | None) -> dict | None:
    """A feedparser detail dict (value, type, language), or None without a value."""
    return without_empty({"type": media_type, "value": value, "language": language}) if value else None


def plain_detail(value: str | None, language: str | None) -> dict | None:
    """The detail of a plain-text field: JSON Feed allows HTML in content_html alone."""
    return detail_of(value, "text/plain", language)


def string(value) -> str | None:
    """A non-empty string with what XML could not carry removed, or None for any other type."""
    if not isinstance(value, str) or not value:
        return None
    return _UNSAFE_CHARACTERS.sub(replace_unsafe, value) or None


def replace_unsafe(match: re.Match) -> str:
    """Nothing for a control character, U+FFFD for a lone surrogate (it could not be stored as UTF-8)."""
    return "\ufffd" if match.group() >= "\ud800" else ""


def is_number(value) -> bool:
    """Whether a JSON value is a finite number (booleans are not)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def type_name(value) -> str:
    """What kind of JSON value this is, for messages."""
    return JSON_TYPE_NAMES.get(type(value), "a value")


def without_empty(fields: dict) -> dict:
    """The fields that have a value, as feedparser leaves out the elements a feed lacks."""
    return {key: value for key, value in fields.items() if value not in (None, "", [], {})}
