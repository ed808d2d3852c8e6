"""Parse stage: feed bytes in, plain normalized dicts out (feedparser is used here alone)."""

import calendar
import hashlib
import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urljoin, urlsplit
from xml.parsers import expat
from xml.sax import SAXParseException

import feedparser
from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype

from . import jsonfeed
from .errors import NotAFeedError, ParseError, SkippedEntriesWarning, UnsafeFeedError
from .text import bounded_reference_bytes, bounded_references, language_tag
from .text import field_text as text

FEED_VERSIONS_WITHOUT_ITEMS_OK = ("rss", "atom", "cdf")
_WRITTEN_ID = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:guid|id)(?:\s[^<>]*)?>([^<>]{1,2000})</")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")
URL_SAFE_CHARACTERS = "%:/?#[]@!$&'()*+,;=~-._"
JSON_CONTENT_TYPES = ("application/feed+json", "application/json")
_JSON_OPENING = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{")
_XML_OPENING = re.compile(rb"(?:\xef\xbb\xbf)?\s*<")
FINGERPRINT_PREFIX = "v2:"  # earlier fingerprints were digests of feedparser's repr(), without a prefix
# expat's words for a document that ends before its root element closes
TRUNCATION_MESSAGES = frozenset(("no element found", "unclosed token", "unclosed CDATA section",
                                 "partial character"))
BENIGN_COMPLAINTS = ("CharacterEncodingOverride", "NonXMLContentType", "SkippedEntriesWarning")
# expat's words for faults after which feedparser's lenient reading keeps every entry whole; others
# (a mismatched tag, an invalid token) can swallow an entry into the one before it
FORGIVEN_MESSAGES = frozenset(("undefined entity", "reference to invalid character number",
                               "XML or text declaration not at start of entity", "unbound prefix",
                               "junk after document element"))
# What one document may store. The fetch cap bounds a body's bytes; these bound what it costs after that:
# each entry is licensed, sanitized and stored, and every field is kept with each revision.
MAX_ENTRIES = 2000  # entries read per document; feeds carry their latest few hundred
MAX_CONTENT_CHARS = 1_000_000  # of an entry's content and summary: twice what the sanitizer reads
MAX_TEXT_CHARS = 2000  # of a title, a name or a category, as plain text
MAX_RIGHTS_CHARS = 16_384  # of a rights statement
MAX_URL_CHARS = 8192  # a longer link is not kept: no browser or server takes it
MAX_NAMES = 100  # authors, categories and enclosures per entry
MAX_RAW_CHARS = 16_384  # of each string kept as received; the normalized values hold the content whole
MAX_RAW_LIST = 200  # elements of each list kept as received
# feedparser keeps an entry's categories, links and authors in lists it searches before each append, so one
# entry with 100,000 of them took minutes; a document repeating one of them more often in an entry is refused
MAX_REPEATS = 5000
_REPEATED = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(item|entry|category|enclosure|link|creator|author|contributor)[\s/>]")
# Raw entry keys whose content the normalized values already carry (see normalize_entry).
NORMALIZED_KEYS = frozenset((
    "id", "guidislink", "link", "title", "author", "authors", "published", "updated", "content",
    "summary", "tags", "language", "rights", "source", "enclosures",
))


@dataclass(frozen=True)
class Entry:
    """One entry of a document, read once: who it is, what it says, and its normalized values."""

    identity: str  # stable across fetches: GUID, enclosure, link, link with title and date, or content
    fingerprint: str  # equal exactly when the entry says the same things again
    values: dict  # plain, untrusted values (parser.normalize_entry)


@dataclass(frozen=True)
class Document:
    """A parsed feed: its channel, its entries, and the small faults the parser forgave."""

    version: str
    feed: dict
    entries: list[Entry]
    problem: str | None = None  # one line, e.g. "line 3, column 14: undefined entity"
    skipped: int = 0  # entries left out: repeats of an identity, or cut off in a broken document
    broken: bool = False  # a fault beyond the small ones readers forgive: what was read may be incomplete


def parse_feed(body: bytes, headers: dict, url: str) -> dict:
    """Parse a feed body into {"feed": {...}, "entries": [...], "bozo": str|None}, every entry normalized."""
    document = parse_document(body, headers, url, max_entries=None)
    return {"version": document.version, "feed": document.feed,
            "entries": [entry.values for entry in document.entries], "bozo": document.problem}


def parse_document(body: bytes, headers: dict, url: str, max_entries: int | None = MAX_ENTRIES) -> Document:
    """Parse a feed body: the channel, and each entry once (the first max_entries) with its identity and
    fingerprint.
    """
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    if is_json(body, lowered):
        parsed, fault, lines_cut = jsonfeed.parse(body), None, 0
    else:
        body, fault, lines_cut = forgive_leading_space(bounded_reference_bytes(body))
        refuse_entity_declarations(body, lowered)
        refuse_repeated_elements(body)
        parsed = read_feed(body, lowered, url)
    if not parsed.get("version"):
        raise NotAFeedError(describe_non_feed(body, parsed))
    feed = normalize_feed(parsed.get("feed", {}), url, parsed["version"], parsed.get("namespaces"))
    complaint = parsed.get("bozo_exception") if parsed.get("bozo") else None
    problem = describe_problem(complaint, lines_cut)
    read = parsed.get("entries", [])
    if max_entries is not None and len(read) > max_entries:
        problem = "; ".join(filter(None, (problem, f"only the first {max_entries} of {len(read)} entries read")))
        read = read[:max_entries]
    values = [normalize_entry(raw, feed) for raw in read]
    restore_written_ids(values, body, url)
    if cut_off(complaint) and values and not last_entry_closed(body):
        values.pop()  # the entry open where the body ends lacks its end, and maybe its content
    broken = complaint is not None and not forgivable(complaint)
    entries, skipped = identify(values, broken)
    if problem and not entries and not feed.get("title"):
        raise ParseError(f"nothing readable in the feed: {problem}")
    return Document(parsed["version"], feed, entries, "; ".join(filter(None, (fault, problem))) or None,
                    skipped, broken)


def is_json(body: bytes, headers: dict) -> bool:
    """Whether a body is JSON: it opens with "{", or its content type says JSON and it does not open with "<".

    headers: lower-cased names.
    """
    content_type = headers.get("content-type") or ""
    declared = content_type.split(";")[0].strip().lower() in JSON_CONTENT_TYPES
    return bool(_JSON_OPENING.match(body)) or (declared and not _XML_OPENING.match(body))


def read_feed(body: bytes, headers: dict, url: str):
    """feedparser's reading of a body, with the lower-cased headers and the final URL it looks for."""
    headers = dict(headers, **{"content-location": url})
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                                resolve_relative_uris=False)
    except Exception as exc:  # feedparser raises on some inputs instead of setting bozo
        raise ParseError(f"feed could not be parsed: {type(exc).__name__}: {exc}") from exc


def forgive_leading_space(body: bytes) -> tuple[bytes, str | None, int]:
    """(body, fault, lines cut): the body without whitespace before its XML declaration, which XML refuses."""
    start = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    stripped = body[start:].lstrip(b" \t\r\n")
    cut = len(body) - start - len(stripped)
    if not cut or not stripped.startswith(b"<?xml"):
        return body, None, 0
    return body[:start] + stripped, "whitespace before the XML declaration, ignored", body[:start + cut].count(b"\n")


def cut_off(problem) -> bool:
    """Whether the XML parser's complaint is that the body ended before the document did."""
    return isinstance(problem, SAXParseException) and problem.getMessage() in TRUNCATION_MESSAGES


def restore_written_ids(values: list[dict], body: bytes, url: str) -> None:
    """Give back the GUIDs feedparser resolved against the feed's URL ("1234" read as "https://host/1234").

    A GUID is a name, not an address: resolved, it would change whenever the feed moves, and every item
    would be stored again.
    """
    origin = "{0}://{1}/".format(*urlsplit(url)[:2]) if url else ""
    if not origin or not any((entry["guid"] or "").startswith(origin) for entry in values):
        return
    written = {}
    for match in _WRITTEN_ID.finditer(body):
        name = html.unescape(match.group(1).decode("utf-8", "replace")).strip()
        if name and not _SCHEME.match(name):
            written.setdefault(urljoin(url, name), name)
    for entry in values:
        entry["guid"] = written.get(entry["guid"], entry["guid"])


def last_entry_closed(body: bytes) -> bool:
    """Whether the body's last item or entry has its end tag (read only for a body cut off)."""
    starts = [match.start() for match in _ENTRY_START.finditer(body)]
    ends = [match.start() for match in _ENTRY_END.finditer(body)]
    return bool(ends) and (not starts or ends[-1] > starts[-1])


def forgivable(problem) -> bool:
    """Whether a complaint is a small fault that leaves every entry whole: an HTML entity, a bad
    character reference, a misplaced declaration, an undeclared prefix, a wrong charset or content type.
    """
    if isinstance(problem, SAXParseException):
        return problem.getMessage() in FORGIVEN_MESSAGES
    return type(problem).__name__ in BENIGN_COMPLAINTS


def describe_problem(problem, lines_cut: int = 0) -> str | None:
    """One line an operator understands for the parser's complaint: where in the body as sent, and what."""
    if problem is None:
        return None
    if isinstance(problem, SAXParseException):
        # expat counts columns from 0; editors and people count from 1
        return (f"line {problem.getLineNumber() + lines_cut}, column {problem.getColumnNumber() + 1}: "
                f"{problem.getMessage()}")
    if isinstance(problem, SkippedEntriesWarning):
        return str(problem)
    name = type(problem).__name__
    if name == "CharacterEncodingOverride":
        return f"wrong declared character encoding: {problem}"
    if name == "NonXMLContentType":
        return f"served with a content type that is not a feed's: {problem}"
    return f"{name}: {problem}".splitlines()[0]


def identify(values: list[dict], broken: bool) -> tuple[list[Entry], int]:
    """The entries with their identities, each identity once (the first entry that has it wins).

    Entries without a GUID may share a link (podcast episodes, a live page): the link alone identifies
    an entry only when no other entry of the document has it.
    """
    links = Counter(entry["link"] for entry in values if entry["link"])
    entries, seen, skipped = [], set(), 0
    for entry in values:
        identity = entry_identity(entry, links)
        # in a broken document an entry known by its content only is most likely cut off: it would be
        # stored under a hash that the complete entry never matches again
        if identity in seen or (broken and identity.startswith("hash:")):
            skipped += 1
            continue
        seen.add(identity)
        entries.append(Entry(identity, fingerprint(entry), entry))
    return entries, skipped


def entry_identity(entry: dict, links: Counter) -> str:
    """An entry's identity: GUID, else enclosure URL, else link, else link, title and date, else content."""
    if entry["guid"]:
        return "guid:" + entry["guid"]
    if entry["enclosures"]:
        return "enclosure:" + entry["enclosures"][0]["url"]
    link = entry["link"]
    if link and links[link] == 1:
        return "link:" + link
    if link:
        return link_title_date(entry)
    return "hash:" + digest([entry["title"] or "", entry["content"] or ""])


def link_title_date(entry: dict) -> str:
    """The identity of an entry whose link other entries share: the link with its title and date."""
    return "link+title+date:" + digest([entry.get("link") or "", entry.get("title") or "",
                                        entry.get("published") or entry.get("updated") or ""])


def fingerprint(entry: dict) -> str:
    """A digest of what an entry says, in our own normalized values, not in feedparser's structures.

    Feed extensions (license elements, media credits) are read from the raw entry by later stages, so
    they count too; the raw fields that the normalized ones were made from do not, which keeps the
    fingerprint equal across feedparser upgrades that change how it spells those.
    """
    said = {key: value for key, value in entry.items() if key != "raw"}
    said["extensions"] = {key: value for key, value in (entry.get("raw") or {}).items()
                          if key not in NORMALIZED_KEYS and not key.endswith("_detail")}
    return FINGERPRINT_PREFIX + digest([json.dumps(said, sort_keys=True, ensure_ascii=False, default=str)])


def other_identities(entry: Entry) -> tuple[str, ...]:
    """Identities the same entry had under earlier rules, or has in documents where its link is shared
    or not: its link alone, its link with title and date. `same_item` says whether an item stored under
    one of them is this entry.
    """
    values = entry.values
    if values["guid"]:
        # earlier versions stored a GUID as feedparser resolved it against the feed's URL
        resolved = ((values.get("raw") or {}).get("id") or "").strip()
        return ("guid:" + resolved,) if resolved and resolved != values["guid"] else ()
    if not values["link"]:
        return ()
    return tuple(name for name in ("link:" + values["link"], link_title_date(values)) if name != entry.identity)


def same_item(stored: dict, entry: Entry) -> bool:
    """Whether an item's latest stored values are an earlier reading of this entry, not of another one
    that shares its link: the same GUID, else the same enclosure, else the same link, title and date.
    """
    if entry.values["guid"]:
        return True  # the same GUID, as written and as resolved
    enclosures = entry.values["enclosures"]
    if enclosures:
        return bool(stored.get("enclosures")) and stored["enclosures"][0].get("url") == enclosures[0]["url"]
    return link_title_date(stored) == link_title_date(entry.values)


def digest(parts: list[str]) -> str:
    """SHA-256 of text parts, NUL-separated."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def refuse_repeated_elements(body: bytes) -> None:
    """Refuse a document with an entry (or channel) that repeats a category, link or author MAX_REPEATS times."""
    counts: Counter = Counter()
    for match in _REPEATED.finditer(body):
        name = match.group(1)
        if name in (b"item", b"entry"):
            counts.clear()
            continue
        counts[name] += 1
        if counts[name] > MAX_REPEATS:
            raise UnsafeFeedError(f"an entry repeats <{name.decode()}> more than {MAX_REPEATS} times; refused")


class _PrologRead(Exception):
    """The root element starts: no declaration can follow."""


class _EntityDeclared(Exception):
    """The document's DTD declares an entity."""


def refuse_entity_declarations(body: bytes, headers: dict | None = None) -> None:
    """Refuse a feed whose DTD declares entities (expansion blow-ups, external entities).

    The body is read as feedparser will read it: decoded by its rules (BOM, declared encoding, HTTP
    charset, UTF-16/32, EBCDIC), and also after its rewriting of the DOCTYPE, which can lift a
    declaration out of a comment into a new DTD. A byte search of the prolog was fooled by a "<a" in a
    comment and by encodings it did not decode.
    """
    try:
        decoded = convert_to_utf8(dict(headers or {}), body, {})
        _, rewritten, lenient_entities = replace_doctype(decoded)
    except Exception as exc:  # an encoding name feedparser chokes on ("\x00utf-8"): it would fail as well
        raise ParseError(f"feed could not be parsed: {type(exc).__name__}: {exc}") from exc
    if lenient_entities or dtd_declares_entities(decoded) or dtd_declares_entities(rewritten):
        raise UnsafeFeedError("feed declares XML entities; refused (entity expansion attack)")


def dtd_declares_entities(document: bytes) -> bool:
    """Whether expat meets an entity declaration before the root element starts (UTF-8 input).

    Only the prolog is read, and a document expat finds malformed there is not refused: feedparser's
    lenient reader, which takes over then, expands no entity the prolog declares.
    """
    reader = expat.ParserCreate(encoding="utf-8")
    reader.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    reader.EntityDeclHandler = reader.UnparsedEntityDeclHandler = _refuse_declaration
    reader.StartElementHandler = _stop_at_root
    try:
        reader.Parse(document, True)
    except _EntityDeclared:
        return True
    except (_PrologRead, expat.ExpatError):
        return False
    return False


def _refuse_declaration(*_declaration) -> None:
    """expat's handler for any entity declaration."""
    raise _EntityDeclared


def _stop_at_root(*_element) -> None:
    """expat's handler for the first start tag: the prolog has been read."""
    raise _PrologRead


def describe_non_feed(body: bytes, parsed) -> str:
    """Say in one line why a body is not a feed."""
    if not body.strip():
        return "empty body: not a feed"
    start = body.lstrip()[:200].lower()
    if b"<html" in start or b"<!doctype html" in start:
        return "got an HTML page, not a feed"
    problem = describe_problem(parsed.get("bozo_exception"))
    return f"not an RSS or Atom feed ({problem})" if problem else "not an RSS or Atom feed"


def normalize_feed(feed, url: str, version: str = "", namespaces=None) -> dict:
    """Turn feedparser's channel into a plain dict."""
    return {
        # format and namespaces let the license stage say which element a finding came from
        "format": version or "",
        "namespaces": {str(prefix): str(uri) for prefix, uri in (namespaces or {}).items()},
        "title": text(feed.get("title"), feed.get("title_detail"), MAX_TEXT_CHARS),
        "link": safe_link(feed.get("link"), url),
        "subtitle": text(feed.get("subtitle"), None, MAX_RIGHTS_CHARS),
        "language": language_tag(feed.get("language")),
        "rights": text(feed.get("rights"), feed.get("rights_detail"), MAX_RIGHTS_CHARS),
        "url": url,
        "raw": plain(feed),
    }


def normalize_entry(entry, feed: dict) -> dict:
    """Turn one feedparser entry into a plain dict of untrusted values."""
    base = entry_base(entry, feed["url"])
    content, content_type = entry_content(entry)
    content = bounded_references(content[:MAX_CONTENT_CHARS])
    return {
        "guid": (entry.get("id") or "").strip() or None,
        "link": safe_link(entry.get("link"), base),
        "title": text(entry.get("title"), entry.get("title_detail"), MAX_TEXT_CHARS),
        "authors": author_names(entry),
        "published": timestamp(entry.get("published_parsed")),
        # feedparser falls back to published_parsed here itself, with a DeprecationWarning; do it explicitly
        "updated": timestamp(dict.get(entry, "updated_parsed") or dict.get(entry, "published_parsed")),
        "content": content,
        "content_type": content_type,
        "summary": bounded_references((entry.get("summary") or "")[:MAX_CONTENT_CHARS]),
        "categories": categories(entry),
        "enclosures": enclosures(entry, base),
        "language": language_tag(entry_language(entry)) or feed["language"],
        "base": base,
        "rights": text(entry.get("rights"), entry.get("rights_detail"), MAX_RIGHTS_CHARS),
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
    names = {}  # a dict keeps the order; a list's "in" made 40,000 names quadratic
    for author in entry.get("authors") or []:
        name = text(author.get("name") if isinstance(author, dict) else author, None, MAX_TEXT_CHARS)
        if name:
            names.setdefault(name)
            if len(names) == MAX_NAMES:
                break
    names = list(names)
    fallback = text(entry.get("author"), None, MAX_TEXT_CHARS)
    if not names and fallback:
        names.append(fallback)
    return names


def categories(entry) -> list[str]:
    """Category names as plain text."""
    names = {}  # a dict keeps the order; a list's "in" made 40,000 categories quadratic
    for tag in entry.get("tags") or []:
        name = text(tag.get("label") or tag.get("term"), None, MAX_TEXT_CHARS)
        if name:
            names.setdefault(name)
            if len(names) == MAX_NAMES:
                break
    return list(names)


def enclosures(entry, base: str) -> list[dict]:
    """Enclosures with http(s) URLs only."""
    found = []
    for link in entry.get("links") or []:
        if link.get("rel") != "enclosure":
            continue
        href = safe_link(link.get("href"), base)
        if href:
            found.append({"url": href, "type": text(link.get("type"), None, MAX_TEXT_CHARS) or None,
                          "length": to_int(link.get("length"))})
            if len(found) == MAX_NAMES:
                break
    return found


def safe_link(value, base: str | None) -> str | None:
    """An absolute http(s) URL, or None for anything else (javascript:, data:, garbage)."""
    if not value or not isinstance(value, str) or len(value) > MAX_URL_CHARS:
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
    """A JSON-serializable copy of feedparser's structures (time tuples dropped), within the raw caps."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()
                if not str(key).endswith("_parsed")}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value[:MAX_RAW_LIST]]
    if isinstance(value, str):
        return bounded_references(value[:MAX_RAW_CHARS])
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return str(value)
