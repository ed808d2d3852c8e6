"""Render stage: RSS 2.0, Atom 1.0 and JSON Feed 1.1 from plain item dicts (no Flask here).

Every function takes a ``channel`` dict and a list of ``item`` dicts and returns the document's bytes.

channel: ``title``, ``home_url`` (absolute), ``description`` (plain text), ``language`` (or None),
``updated`` (ISO 8601), ``author`` (the mirror's name).

item: ``id`` (a stable absolute URL), ``url`` (the mirror page, absolute), ``title``, ``content_html``
(sanitized content with the attribution block appended), ``summary`` (plain text), ``published`` and
``updated`` (ISO 8601 or None), ``authors`` (names), ``categories`` (names), ``enclosures`` (dicts with
``url``, ``type``, ``length``), ``language``, ``original_url``, ``license_id``, ``license_name``,
``license_url`` (the deed), ``rights`` (plain-text rights statement), ``attribution_text`` and ``source``
(``name``, ``feed_url``, ``site_url``).

Values are untrusted text: XML is built as ElementTree elements, after characters that XML 1.0 cannot
carry are dropped, and written by ``serialize``. In RSS and Atom, plain text ("&" and "<" in a title, a
name or a category) is written with hexadecimal character references, as the RSS Best Practices Profile
asks: readers that take such text for HTML decode ``&#x3C;b>`` to the characters, never to markup. Only
the elements that carry HTML are escaped the usual way, as readers that render them expect.
"""

import html
import json
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

from . import license_text
from .text import language_tag

ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
CC_RSS_NS = "http://backend.userland.com/creativeCommonsRssModule"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "republisher"
# XML 1.0 allows tab, newline, carriage return and these ranges only
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACE = re.compile(r"\s+")
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "pre", "table", "tr", "td", "th", "figure", "figcaption",
                         "section", "article", "header", "footer", "hr", "dd", "dt"})
_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template"})
EXCERPT_LIMIT = 280  # characters of a card's excerpt
CARD_READING_LIMIT = 20 * EXCERPT_LIMIT  # characters of a body read at most for it
# a sentence ends at a line's end or after its closing mark
_SENTENCE_END = re.compile(r"\n+|(?<=[.!?\u061f])\s+|(?<=[\u3002\uff01\uff1f])")
_WORD = re.compile(r"\w+")
LICENSE_LINE_WORDS = 2  # words a license line may hold besides the license's name ("Photo", "License")


# ---------------------------------------------------------------- text helpers


class _TextCollector(HTMLParser):
    """Collects the visible text of an HTML fragment, and beside it the text a card may show."""

    def __init__(self):
        """Start with no text and outside hidden elements and links."""
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # the card's text: blocks end in a newline, so that a line without a full stop ends a sentence
        self.card: list[str] = []
        self.hidden = 0
        self.link: tuple[str, int] | None = None  # the open link's href and where its text starts in card

    def handle_starttag(self, tag, attrs):
        """Hidden elements start; block elements separate words; a link's address is noted."""
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")
            self.card.append("\n")
        elif tag == "a":
            self.link = (dict(attrs).get("href") or "", len(self.card))

    def handle_endtag(self, tag):
        """Hidden elements end; block elements separate words; a link that spells out its address leaves the card."""
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")
            self.card.append("\n")
        elif tag == "a" and self.link:
            href, start = self.link
            # the sanitizer puts such a link where it removed a frame or a video: an address, not words
            if href and "".join(self.card[start:]).strip() == href:
                del self.card[start:]
            self.link = None

    def handle_data(self, data):
        """Keep text outside hidden elements."""
        if not self.hidden:
            self.parts.append(data)
            self.card.append(data)


def collect_text(fragment: str | None) -> _TextCollector:
    """The collector after reading a whole fragment."""
    collector = _TextCollector()
    if fragment:
        collector.feed(fragment)
        collector.close()
    return collector


def plain_text(fragment: str | None) -> str:
    """The visible text of an HTML fragment, whitespace folded."""
    return folded(collect_text(fragment).parts)


def folded(parts: list[str]) -> str:
    """Text pieces joined, whitespace folded."""
    return _SPACE.sub(" ", "".join(parts)).strip()


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """The start of a text, cut at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-\u060c\u061b") + "\u2026"


def text_and_excerpt(fragment: str | None) -> tuple[str, str]:
    """Plain text for the search index and an excerpt for cards, from one parse."""
    # the index keeps every word; a card shows no credit (the article page does), so it leaves out
    # license sentences, and the addresses of removed frames
    collector = collect_text(fragment)
    return folded(collector.parts), excerpt(card_text("".join(collector.card)))


def card_text(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """The text's first sentences, license sentences left out, until there is enough for an excerpt."""
    kept, length, read = [], 0, 0
    for sentence in sentences(text):
        # a body that opens with nothing but license lines has no opening to show; reading on would cost
        # a license reading per sentence
        if length > limit or read > CARD_READING_LIMIT:
            break
        read += len(sentence)
        sentence = _SPACE.sub(" ", sentence).strip()
        if sentence and not is_license_sentence(sentence):
            kept.append(sentence)
            length += len(sentence) + 1
    return " ".join(kept)


def sentences(text: str):
    """The sentences and lines of a text, in order, read lazily."""
    start = 0
    for end in _SENTENCE_END.finditer(text):
        yield text[start:end.start()]
        start = end.end()
    yield text[start:]


def is_license_sentence(sentence: str) -> bool:
    """Whether a sentence names a license and grants it ("Published under CC BY-SA") or says little else."""
    if len(sentence) > license_text.SHORT_TEXT:
        return False  # longer than any notice: running text
    mentions = license_text.scan(sentence)
    if not mentions:
        return False
    if license_text.grants(sentence):
        return True
    rest, at = [], 0
    for mention in mentions:
        rest.append(sentence[at:mention.start])
        at = mention.end
    rest.append(sentence[at:])
    return len(_WORD.findall(" ".join(rest))) <= LICENSE_LINE_WORDS


def xml_safe(value) -> str:
    """A string XML 1.0 can carry (feeds are untrusted; a stray control character breaks parsers)."""
    return _NOT_XML_CHAR.sub("", "" if value is None else str(value))


def to_datetime(value) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string or datetime, or None."""
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def rfc3339(value) -> str | None:
    """An RFC 3339 timestamp (Atom, JSON Feed), or None."""
    moment = to_datetime(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def rfc822(value) -> str | None:
    """An RFC 822 date (RSS), or None."""
    moment = to_datetime(value)
    return format_datetime(moment, usegmt=True) if moment else None


def item_dates(item: dict, channel: dict) -> tuple[str, str]:
    """(published, updated) of an item, never empty; published never after updated nor, lacking it, now."""
    now = rfc3339(datetime.now(timezone.utc))
    updated = rfc3339(item.get("updated"))
    published = rfc3339(item.get("published")) or updated or rfc3339(channel.get("updated")) or now
    # a publisher's clock or embargo can date an item ahead of when the mirror published it
    published = min(published, updated or now)
    return published, updated or published


# ---------------------------------------------------------------- XML building


def sub(parent: ET.Element, tag: str, text=None, **attributes) -> ET.Element:
    """Append a child element with text and attributes; None attributes are left out, ``xml__lang`` is xml:lang."""
    element = ET.SubElement(parent, tag, {name.replace("__", ":"): xml_safe(value)
                                          for name, value in attributes.items() if value is not None})
    if text is not None:
        element.text = xml_safe(text)
    return element


# "]]>" may not stand in XML text; the rest of ">" is written as is, as the profile allows
_PLAIN_TEXT = str.maketrans({"&": "&#x26;", "<": "&#x3C;", "\r": "&#xD;"})
_MARKUP_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                            "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"})
# (parent, element) pairs whose text is HTML; every other text in these formats is plain text
RSS_MARKUP = frozenset({("item", "description")})
ATOM_MARKUP = frozenset({("entry", "content")})


def serialize(root: ET.Element, markup: frozenset | None = None) -> bytes:
    """The document as UTF-8 bytes with an XML declaration; with ``markup``, all other text is plain text."""
    parts = ["<?xml version='1.0' encoding='utf-8'?>\n"]
    write_element(root, "", markup, parts)
    return "".join(parts).encode("utf-8")


def write_element(element: ET.Element, parent: str, markup: frozenset | None, parts: list[str]) -> None:
    """Append one element with its attributes, text and children (the writers set no tails)."""
    attributes = "".join(f' {name}="{value.translate(_ATTRIBUTE)}"' for name, value in element.attrib.items())
    if not element.text and not len(element):
        parts.append(f"<{element.tag}{attributes} />")
        return
    parts.append(f"<{element.tag}{attributes}>")
    if element.text:
        parts.append(escape_text(element.text, markup is None or (parent, element.tag) in markup))
    for child in element:
        write_element(child, element.tag, markup, parts)
    parts.append(f"</{element.tag}>")


def escape_text(text: str, is_markup: bool) -> str:
    """Text as XML character data: markup escaped the usual way, plain text in hexadecimal references."""
    if is_markup:
        return text.translate(_MARKUP_TEXT)
    return text.translate(_PLAIN_TEXT).replace("]]>", "]]&#x3E;")


# ---------------------------------------------------------------- RSS 2.0


def rss(channel: dict, items: list[dict], self_url: str) -> bytes:
    """An RSS 2.0 document: full content in description, license per item, source and creators."""
    # namespace prefixes are written literally so that no global ElementTree registration is needed
    root = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM_NS, "xmlns:dc": DC_NS,
                              "xmlns:creativeCommons": CC_RSS_NS})
    head = sub(root, "channel")
    sub(head, "title", channel["title"])
    sub(head, "link", channel["home_url"])
    # RSS readers render <description> as HTML, and the channel's text may hold a publisher's name
    sub(head, "description", html.escape(channel.get("description") or channel["title"], quote=False))
    if language_tag(channel.get("language")):
        sub(head, "language", language_tag(channel["language"]))
    sub(head, "generator", GENERATOR)
    if rfc822(channel.get("updated")):
        sub(head, "lastBuildDate", rfc822(channel.get("updated")))
    sub(head, "atom:link", rel="self", type="application/rss+xml", href=self_url)
    for item in items:
        rss_item(sub(head, "item"), item, channel)
    return serialize(root, RSS_MARKUP)


def rss_item(element: ET.Element, item: dict, channel: dict) -> None:
    """Fill one RSS <item>."""
    published, _ = item_dates(item, channel)
    sub(element, "title", item["title"])
    sub(element, "link", item["url"])
    sub(element, "guid", item["id"], isPermaLink="true")
    sub(element, "pubDate", rfc822(published))
    for name in item.get("authors") or []:
        sub(element, "dc:creator", name)
    for name in item.get("categories") or []:
        sub(element, "category", name)
    sub(element, "description", item["content_html"])
    enclosures = item.get("enclosures") or []
    if enclosures:
        # RSS 2.0 readers expect at most one enclosure; Atom and JSON Feed carry all of them
        first = enclosures[0]
        sub(element, "enclosure", url=first["url"], length=str(first.get("length") or 0),
            type=first.get("type") or "application/octet-stream")
    source = item.get("source") or {}
    if source.get("feed_url"):
        sub(element, "source", source.get("name") or source["feed_url"], url=source["feed_url"])
    if item.get("license_url"):
        sub(element, "creativeCommons:license", item["license_url"])


# ---------------------------------------------------------------- Atom 1.0


def atom(channel: dict, items: list[dict], self_url: str) -> bytes:
    """An Atom 1.0 document: rel=license link and rights per entry, the original as via and source."""
    attributes = {"xmlns": ATOM_NS}
    if language_tag(channel.get("language")):
        attributes["xml:lang"] = language_tag(channel["language"])
    root = ET.Element("feed", attributes)
    sub(root, "id", self_url)
    sub(root, "title", channel["title"], type="text")
    if channel.get("description"):
        sub(root, "subtitle", channel["description"], type="text")
    sub(root, "updated", rfc3339(channel.get("updated")) or rfc3339(datetime.now(timezone.utc)))
    sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(root, "link", rel="alternate", type="text/html", href=channel["home_url"])
    sub(sub(root, "author"), "name", channel.get("author") or channel["title"])
    sub(root, "generator", GENERATOR)
    for item in items:
        atom_entry(sub(root, "entry", xml__lang=language_tag(item.get("language"))), item, channel)
    return serialize(root, ATOM_MARKUP)


def atom_entry(entry: ET.Element, item: dict, channel: dict) -> None:
    """Fill one Atom <entry>."""
    published, updated = item_dates(item, channel)
    sub(entry, "id", item["id"])
    sub(entry, "title", item["title"], type="text")
    sub(entry, "link", rel="alternate", type="text/html", href=item["url"])
    if item.get("original_url"):
        sub(entry, "link", rel="via", type="text/html", href=item["original_url"])
    if item.get("license_url"):
        sub(entry, "link", rel="license", href=item["license_url"])
    for enclosure in item.get("enclosures") or []:
        sub(entry, "link", rel="enclosure", href=enclosure["url"], type=enclosure.get("type"),
            length=str(enclosure["length"]) if enclosure.get("length") else None)
    sub(entry, "published", published)
    sub(entry, "updated", updated)
    for name in item.get("authors") or []:
        sub(sub(entry, "author"), "name", name)
    for name in item.get("categories") or []:
        sub(entry, "category", term=name)
    if item.get("rights"):
        sub(entry, "rights", item["rights"], type="text")
    if item.get("summary"):
        sub(entry, "summary", item["summary"], type="text")
    sub(entry, "content", item["content_html"], type="html")
    atom_source(entry, item.get("source") or {}, updated)


def atom_source(entry: ET.Element, source: dict, updated: str) -> None:
    """The entry's origin as Atom <source>: the publisher's feed and site."""
    if not source.get("feed_url"):
        return
    element = sub(entry, "source")
    sub(element, "id", source["feed_url"])
    sub(element, "title", source.get("name") or source["feed_url"], type="text")
    sub(element, "updated", updated)
    sub(element, "link", rel="self", href=source["feed_url"])
    if source.get("site_url"):
        sub(element, "link", rel="alternate", type="text/html", href=source["site_url"])


# ---------------------------------------------------------------- JSON Feed 1.1


def json_feed(channel: dict, items: list[dict], self_url: str) -> bytes:
    """A JSON Feed 1.1 document with the ``_republisher`` extension on every item.

    Extension ``_republisher`` (an object on each item; readers that do not know it ignore it):

    - ``license``: SPDX identifier of the license the item is republished under, e.g. ``"CC-BY-4.0"``;
    - ``license_url``: the license deed, e.g. ``"https://creativecommons.org/licenses/by/4.0/"``;
    - ``original_url``: the item on the original publisher's site (also given as ``external_url``);
    - ``attribution_text``: the attribution block as plain text (title, creators, publisher, copyright
      notice, license and changes notice), for readers that cannot show ``content_html``.
    """
    document = {
        "version": JSON_FEED_VERSION,
        "title": channel["title"],
        "home_page_url": channel["home_url"],
        "feed_url": self_url,
        "description": channel.get("description") or channel["title"],
        "authors": [{"name": channel.get("author") or channel["title"]}],
        "items": [json_item(item, channel) for item in items],
    }
    if language_tag(channel.get("language")):
        document["language"] = language_tag(channel["language"])
    # a lone surrogate cannot be encoded; it becomes "?" rather than failing the whole feed
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8", "replace")


def json_item(item: dict, channel: dict) -> dict:
    """One JSON Feed item, with empty fields left out."""
    published, updated = item_dates(item, channel)
    entry = {
        "id": item["id"], "url": item["url"], "external_url": item.get("original_url"),
        "title": item["title"], "content_html": item["content_html"], "summary": item.get("summary") or None,
        "date_published": published, "date_modified": updated,
        "authors": [{"name": name} for name in item.get("authors") or []] or None,
        "tags": list(item.get("categories") or []) or None,
        "language": language_tag(item.get("language")),
        "attachments": [json_attachment(enclosure) for enclosure in item.get("enclosures") or []] or None,
        "_republisher": {
            "license": item.get("license_id"), "license_url": item.get("license_url"),
            "original_url": item.get("original_url"), "attribution_text": item.get("attribution_text"),
        },
    }
    return {key: value for key, value in entry.items() if value is not None}


def json_attachment(enclosure: dict) -> dict:
    """A JSON Feed attachment from an enclosure (mime_type is required there)."""
    attachment = {"url": enclosure["url"], "mime_type": enclosure.get("type") or "application/octet-stream"}
    if enclosure.get("length"):
        attachment["size_in_bytes"] = int(enclosure["length"])
    return attachment


# ---------------------------------------------------------------- sitemaps


SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def sitemap_index(urls: list[str]) -> bytes:
    """A sitemap index naming each sitemap file."""
    root = ET.Element("sitemapindex", {"xmlns": SITEMAP_NS})
    for url in urls:
        sub(sub(root, "sitemap"), "loc", url)
    return serialize(root)


def sitemap(entries: list[dict]) -> bytes:
    """A sitemap of pages: dicts with ``loc`` and, when known, ``lastmod`` (ISO 8601)."""
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for entry in entries:
        element = sub(root, "url")
        sub(element, "loc", entry["loc"])
        if rfc3339(entry.get("lastmod")):
            sub(element, "lastmod", rfc3339(entry["lastmod"]))
    return serialize(root)
