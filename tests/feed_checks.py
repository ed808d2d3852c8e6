"""The checks of the W3C Feed Validation Service that apply to the mirror's own RSS 2.0 and Atom 1.0
feeds, each reported under the validator's own message name (validator.w3.org/feed/docs/).

No package registry carries the validator, so these checks are written anew from its documentation and
its rules: the elements RSS 2.0 and Atom 1.0 require, dates, URIs and identifiers, self links, duplicate
entries, languages, namespaces, enclosures, and the text rules, above all the RSS Best Practices
Profile's: plain text that looks like markup must be written with hexadecimal character references.
Messages the validator gives for things our feeds never hold (iTunes, KML, OPML, RSS 1.0) are left out.
"""

import html.entities
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit
from xml.parsers import expat

import html5lib
from html5lib.html5parser import ParseError

ATOM = "http://www.w3.org/2005/Atom"
XML = "http://www.w3.org/XML/1998/namespace"
KNOWN_NAMESPACES = frozenset({
    ATOM, XML, "http://purl.org/dc/elements/1.1/", "http://backend.userland.com/creativeCommonsRssModule",
    "http://purl.org/rss/1.0/modules/content/", "http://search.yahoo.com/mrss/",
})
CC_LICENSE = ("http://backend.userland.com/creativeCommonsRssModule", "license")

# the element names of HTML, for the validator's "this text holds an HTML end tag" rule
HTML_ELEMENTS = frozenset("""
a abbr acronym address applet area article aside audio b base basefont bdi bdo big blink blockquote body br
button canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em
embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html
i iframe img input ins kbd label legend li link main map mark marquee menu meta meter nav noframes noscript
object ol optgroup option output p param picture plaintext pre progress q rp rt ruby s samp script search
section select slot small source span strike strong style sub summary sup table tbody td template textarea
tfoot th thead time title tr track tt u ul var video wbr xmp
""".split())
# elements and attributes the validator calls a security risk in a feed's HTML
RISKY_ELEMENTS = frozenset("applet base embed frame frameset iframe link meta noframes object param plaintext "
                           "script style xmp".split())
RISKY_URL = re.compile(r"^\s*(?:javascript|vbscript|data):", re.IGNORECASE)

RSS_CHANNEL = frozenset("title link description language copyright managingEditor webMaster pubDate "
                        "lastBuildDate category generator docs cloud ttl image rating textInput skipHours "
                        "skipDays item".split())
RSS_ITEM = frozenset("title link description author category comments enclosure guid pubDate source".split())
RSS_ONCE = frozenset("title link description language copyright managingEditor webMaster pubDate lastBuildDate "
                     "generator docs cloud ttl image rating textInput skipHours skipDays comments guid "
                     "source".split())
ATOM_ONCE = frozenset("id title subtitle rights updated published summary content generator icon logo "
                      "source".split())
ATOM_RELATIONS = frozenset("alternate related self enclosure via license replies edit edit-media first last "
                           "next previous prev-archive next-archive current hub search payment service "
                           "describedby up".split())

_END_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&(#?\w+)")
_MARKUP_START = re.compile(r"&#[x0-9]|<[/a-zA-Z]")
_FULL_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?://)?[0-9A-Za-z;/?:@&=+$.\-_!~*'()%,#]+")
_BEYOND_ASCII = re.compile("[\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0010fffd]")
_HTTP_URL = re.compile(r"https?://[^/\s?#]+(?:[/?#][^\s]*)?", re.IGNORECASE)
_MIME = re.compile(r"[^\s()<>,;:\\\"/\[\]?=]+/[^\s()<>,;:\\\"/\[\]?=]+(?:\s*;\s*[^\s=]+=\S+)*")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_RFC2822 = re.compile(r"(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
                      r"|Dec) \d{4} \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|UT|GMT|[ECMP][SD]T|Z)")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_EMAIL_IN_ANGLES = re.compile(r"<[\w.+'-]+@[\w-]+(?:\.[\w-]+)+>")
_BAD_CHARACTERS = re.compile("[\x80-\x9f\ufffd]")
_UNRESERVED_ESCAPE = re.compile(r"%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee])")
_DEFAULT_PORTS = {"http": 80, "https": 443}
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class Finding:
    """One validator message about one element."""

    name: str  # the validator's message name, e.g. "InvalidRFC2822Date"
    level: str  # "error" or "warning"
    where: str  # the element's path, e.g. "rss/channel/item[2]/title"
    detail: str = ""


@dataclass
class Node:
    """An element as written: its namespace, local name, attributes, decoded text and raw text."""

    namespace: str | None
    local: str
    prefix_name: str
    attrs: dict
    path: str
    text: str = ""
    raw: str = ""  # the text as the document writes it, references undecoded (elements without children)
    children: list = field(default_factory=list)

    def all(self, local: str, namespace: str | None = None) -> list["Node"]:
        """Children of a local name, in the given namespace (by default the element's own)."""
        namespace = self.namespace if namespace is None else namespace
        return [child for child in self.children if child.local == local and child.namespace == namespace]

    def first(self, local: str, namespace: str | None = None) -> "Node | None":
        """The first child of a local name, or None."""
        found = self.all(local, namespace)
        return found[0] if found else None


# ---------------------------------------------------------------- reading the document


def read(body: bytes) -> Node:
    """The document as nodes with namespaces resolved and each element's raw text kept."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    stack: list[tuple[Node, int]] = []  # open elements and where each one's text starts
    root: list[Node] = []
    scopes = [{"xml": XML}]

    def start(name, attrs):
        """Open an element: resolve its prefix, note where its text starts."""
        scope = dict(scopes[-1])
        for key, value in attrs.items():
            if key == "xmlns":
                scope[""] = value
            elif key.startswith("xmlns:"):
                scope[key[6:]] = value
        scopes.append(scope)
        prefix, _, local = name.rpartition(":")
        parent = stack[-1][0] if stack else None
        siblings = sum(1 for child in parent.children if child.prefix_name == name) if parent else 0
        path = (parent.path + "/" if parent else "") + name + (f"[{siblings + 1}]" if siblings else "")
        node = Node(scope.get(prefix) if prefix else scope.get(""), local, name, dict(attrs), path)
        if parent:
            parent.children.append(node)
        else:
            root.append(node)
        stack.append((node, start_tag_end(body, parser.CurrentByteIndex)))

    def end(name):
        """Close an element and keep its raw text."""
        node, text_start = stack.pop()
        scopes.pop()
        if not node.children:
            node.raw = body[text_start:parser.CurrentByteIndex].decode("utf-8", "replace")

    def characters(data):
        """Decoded text of the open element."""
        stack[-1][0].text += data

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = characters
    parser.Parse(body, True)
    return root[0]


def start_tag_end(body: bytes, at: int) -> int:
    """Where the start tag that begins at `at` ends, quotes in attribute values respected."""
    quote = None
    for index in range(at, len(body)):
        char = body[index:index + 1]
        if quote:
            quote = None if char == quote else quote
        elif char in (b'"', b"'"):
            quote = char
        elif char == b">":
            return index + 1
    return len(body)


def walk(node: Node):
    """The node and every element below it."""
    yield node
    for child in node.children:
        yield from walk(child)


# ---------------------------------------------------------------- the rules both formats share


def check(body: bytes, location: str) -> list[Finding]:
    """Every validator message for a feed document fetched from `location`."""
    try:
        root = read(body)
    except expat.ExpatError as error:
        return [Finding("SAXError", "error", "", str(error))]
    findings = document_rules(root)
    if root.local == "rss" and root.namespace is None:
        findings += rss_rules(root, location)
    elif root.local == "feed" and root.namespace == ATOM:
        findings += atom_rules(root, location)
    else:
        findings.append(Finding("UndefinedElement", "error", root.path, "not an RSS 2.0 or Atom 1.0 root"))
    return findings


def document_rules(root: Node) -> list[Finding]:
    """Namespaces, characters and languages, wherever they stand."""
    findings = []
    for node in walk(root):
        for key, value in node.attrs.items():
            if (key == "xmlns" or key.startswith("xmlns:")) and value not in KNOWN_NAMESPACES:
                findings.append(Finding("UnknownNamespace", "warning", node.path, value))
            if _BAD_CHARACTERS.search(value):
                findings.append(Finding("BadCharacters", "warning", node.path, key))
            if key == "xml:lang" and value and not _LANGUAGE.fullmatch(value):
                findings.append(Finding("InvalidLanguage", "error", node.path, value))
        if _BAD_CHARACTERS.search(node.text):
            findings.append(Finding("BadCharacters", "warning", node.path))
    return findings


def plain_text_rules(node: Node, message: str, rss: bool) -> list[Finding]:
    """Text that should hold no HTML: no HTML end tag, and entities or markup-like text only in hex references."""
    end_tags = [tag for tag in _END_TAG.findall(node.text) if tag.lower() in HTML_ELEMENTS]
    if end_tags:
        return [Finding(message, "warning", node.path, f"</{end_tags[0]}>")]
    in_hex = "&#x" in node.raw
    entities = [name for name in _ENTITY.findall(node.text)
                if name in html.entities.name2codepoint or name == "apos" or not name.isalpha()]
    if entities and not in_hex:
        return [Finding(message, "warning", node.path, "&" + entities[0])]
    if rss and _MARKUP_START.search(node.text) and not in_hex:
        return [Finding("CharacterData", "warning", node.path)]
    return []


def not_blank(node: Node) -> list[Finding]:
    """NotBlank when an element that needs text has none."""
    return [] if node.text.strip() else [Finding("NotBlank", "warning", node.path)]


def html_rules(node: Node) -> list[Finding]:
    """HTML content: it parses as HTML, holds nothing risky and no relative link or image."""
    findings = []
    try:
        fragment = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parseFragment(node.text)
    except ParseError as error:
        return [Finding("NotHtml", "warning", node.path, str(error))]
    for element in fragment.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.lower() in RISKY_ELEMENTS:
            findings.append(Finding("SecurityRisk", "warning", node.path, element.tag))
        for name, value in element.attrib.items():
            if name.lower().startswith("on") or RISKY_URL.match(value or ""):
                findings.append(Finding("SecurityRiskAttr", "warning", node.path, name))
        reference = element.get("href") if element.tag == "a" else element.get("src") if element.tag == "img" else None
        if reference is not None and not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", reference.strip()):
            findings.append(Finding("ContainsRelRef", "warning", node.path, reference))
    return findings


def full_uri(value: str, where: str, message: str = "InvalidFullLink") -> list[Finding]:
    """An absolute URI (an http or https one with a host); Atom's IRIs may hold characters beyond ASCII."""
    value = value.strip()
    checked = _BEYOND_ASCII.sub("x", value) if message == "InvalidIRI" else value
    valid = bool(_FULL_URI.fullmatch(checked))
    if valid and value.split(":", 1)[0].lower() in ("http", "https"):
        valid = bool(re.match(r"https?://[^/]", value, re.IGNORECASE))
    return [] if valid else [Finding(message, "error", where, value)]


def canonical(uri: str) -> str | None:
    """A URI in RFC 3986's normal form, or None when it cannot be read."""
    # lower-case scheme and host, no default port, no dot segments, an empty path as "/", percent
    # escapes in upper case and none for unreserved characters
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        return None  # our feeds name no credentials; the validator keeps them as written
    segments = []
    for segment in (parts.path or "/").split("/")[1:]:
        if segment == "..":
            segments = segments[:-1]
        elif segment != ".":
            segments.append(segment)
    path = "/" + "/".join(segments)

    def escapes(text: str) -> str:
        """Percent escapes in upper case, unreserved characters unescaped."""
        text = _UNRESERVED_ESCAPE.sub(lambda match: unquote(match.group(0)), text)
        return re.sub(r"%[0-9a-fA-F]{2}", lambda match: match.group(0).upper(), text)

    result = f"{scheme}://{netloc}{escapes(path)}"
    if parts.query or uri.endswith("?"):
        result += "?" + escapes(parts.query)
    if parts.fragment or uri.endswith("#"):
        result += "#" + escapes(parts.fragment)
    return result


def self_link_rules(links: list[Node], location: str, missing: str, where: str) -> list[Finding]:
    """A rel="self" link that names the location the feed was fetched from."""
    selves = [link for link in links if link.attrs.get("rel") == "self"]
    if not selves:
        return [Finding(missing, "warning", where)]
    href = selves[0].attrs.get("href", "")
    if canonical(href) != canonical(location):
        return [Finding("SelfDoesntMatchLocation", "warning", selves[0].path, href)]
    return []


def date_rules(node: Node, rfc: str) -> list[Finding]:
    """A date in the format the element needs (RFC 2822 in RSS, RFC 3339 in Atom), plausible in time."""
    value = node.text.strip()
    try:
        if rfc == "2822":
            match = _RFC2822.fullmatch(value)
            if not match:
                return [Finding("InvalidRFC2822Date", "error", node.path, value)]
            moment = parsedate_to_datetime(value)
            if match.group(1) and moment.strftime("%a") != match.group(1):
                return [Finding("IncorrectDOW", "error", node.path, value)]
        else:
            if not _RFC3339.fullmatch(value):
                return [Finding("InvalidRFC3339Date", "error", node.path, value)]
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return [Finding(f"InvalidRFC{rfc}Date", "error", node.path, value)]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment < EARLIEST_PLAUSIBLE or moment > datetime.now(timezone.utc) + FUTURE_SLACK:
        return [Finding("ImplausibleDate", "warning", node.path, value)]
    return []


def duplicates(nodes: list[Node], message: str, level: str) -> list[Finding]:
    """A finding for each node whose text an earlier one already had."""
    seen, findings = set(), []
    for node in nodes:
        value = node.text.strip()
        if value in seen:
            findings.append(Finding(message, level, node.path, value))
        seen.add(value)
    return findings


def once_rules(parent: Node, names: frozenset, message: str = "DuplicateElement") -> list[Finding]:
    """DuplicateElement for an element that may appear once and appears again."""
    findings, seen = [], set()
    for child in parent.children:
        key = (child.namespace, child.local)
        if child.namespace == parent.namespace and child.local in names and key in seen:
            findings.append(Finding(message, "error", child.path))
        seen.add(key)
    return findings


# ---------------------------------------------------------------- RSS 2.0


def rss_rules(root: Node, location: str) -> list[Finding]:
    """The RSS 2.0 document: its version, its channel and every item."""
    findings = []
    if root.attrs.get("version") != "2.0":
        findings.append(Finding("InvalidRSSVersion", "error", root.path, root.attrs.get("version", "")))
    channels = root.all("channel")
    if len(channels) != 1:
        return findings + [Finding("MissingElement" if not channels else "DuplicateElement", "error", root.path)]
    channel = channels[0]
    findings += channel_rules(channel, location)
    items = channel.all("item")
    for item in items:
        findings += item_rules(item)
    guids = [guid for item in items for guid in item.all("guid")]
    return findings + duplicates(guids, "DuplicateValue", "error")


def channel_rules(channel: Node, location: str) -> list[Finding]:
    """The channel's required elements, self link, language, dates, links and plain text."""
    findings = once_rules(channel, RSS_ONCE)
    for name, message in (("title", "MissingTitle"), ("link", "MissingLink"), ("description", "MissingDescription")):
        if channel.first(name) is None:
            findings.append(Finding(message, "error", channel.path, name))
    findings += self_link_rules(channel.all("link", ATOM), location, "MissingAtomSelfLink", channel.path)
    for child in channel.children:
        if child.namespace is None and child.local not in RSS_CHANNEL:
            findings.append(Finding("UndefinedElement", "error", child.path))
        elif child.namespace is None and child.local in ("title", "description", "copyright"):
            findings += plain_text_rules(child, "ContainsHTML", rss=True)
        elif child.namespace is None and child.local == "language" and not _LANGUAGE.fullmatch(child.text.strip()):
            findings.append(Finding("InvalidLanguage", "error", child.path, child.text))
        elif child.namespace is None and child.local in ("pubDate", "lastBuildDate"):
            findings += date_rules(child, "2822")
        elif (child.namespace, child.local) in ((None, "link"), (None, "docs"), CC_LICENSE):
            findings += full_uri(child.text, child.path)
        elif child.namespace is None and child.local == "category":
            findings += plain_text_rules(child, "ContainsHTML", rss=True)
    if channel.first("title") is not None:
        findings += not_blank(channel.first("title"))
    return findings


def item_rules(item: Node) -> list[Finding]:
    """One item: what it must hold, its guid, dates, links, enclosure, source and text."""
    findings = once_rules(item, RSS_ONCE)
    findings += duplicates(item.all("enclosure"), "DuplicateEnclosure", "warning")
    if item.first("title") is None and item.first("description") is None:
        findings.append(Finding("ItemMustContainTitleOrDescription", "error", item.path))
    if item.first("guid") is None:
        findings.append(Finding("MissingGuid", "warning", item.path))
    for core, namespace, extension in (("author", "http://purl.org/dc/elements/1.1/", "creator"),
                                       ("category", "http://purl.org/dc/elements/1.1/", "subject"),
                                       ("pubDate", "http://purl.org/dc/elements/1.1/", "date"),
                                       ("guid", ATOM, "id")):
        if item.first(core) is not None and item.first(extension, namespace) is not None:
            findings.append(Finding("DuplicateItemSemantics", "warning", item.path, f"{core} and {extension}"))
    for child in item.children:
        if child.namespace is None and child.local not in RSS_ITEM:
            findings.append(Finding("UndefinedElement", "error", child.path))
        elif child.namespace is None and child.local in ("title", "category"):
            findings += plain_text_rules(child, "ContainsHTML", rss=True)
            findings += not_blank(child)
        elif child.namespace is None and child.local == "description":
            findings += html_rules(child)
        elif child.namespace is None and child.local == "guid":
            findings += guid_rules(child)
        elif child.namespace is None and child.local == "pubDate":
            findings += date_rules(child, "2822")
        elif (child.namespace, child.local) in ((None, "link"), (None, "comments"), CC_LICENSE):
            findings += full_uri(child.text, child.path)
        elif child.namespace is None and child.local == "enclosure":
            findings += enclosure_rules(child)
        elif child.namespace is None and child.local == "source":
            findings += plain_text_rules(child, "ContainsHTML", rss=True)
            if "url" not in child.attrs:
                findings.append(Finding("MissingAttribute", "error", child.path, "url"))
            else:
                findings += full_uri(child.attrs["url"], child.path)
    return findings


def guid_rules(guid: Node) -> list[Finding]:
    """A guid: isPermaLink true or false; a permalink is a full http(s) URL, not a tag: or urn:uuid: name."""
    permalink = guid.attrs.get("isPermaLink", "true")
    if permalink not in ("true", "false"):
        return [Finding("InvalidBooleanAttribute", "error", guid.path, "isPermaLink")]
    value = guid.text.strip()
    if permalink == "false":
        return [] if value else [Finding("NotBlank", "warning", guid.path)]
    if value.lower().startswith(("tag:", "urn:uuid:")):
        return [Finding("InvalidPermalink", "error", guid.path, value)]
    return full_uri(value, guid.path, "InvalidHttpGUID")


def enclosure_rules(enclosure: Node) -> list[Finding]:
    """An enclosure: an http(s) URL, a non-negative length and a media type."""
    findings = []
    url = enclosure.attrs.get("url")
    if url is None:
        findings.append(Finding("MissingAttribute", "error", enclosure.path, "url"))
    elif not _HTTP_URL.fullmatch(url) or full_uri(url, ""):
        findings.append(Finding("InvalidURLAttribute", "error", enclosure.path, url))
    length = enclosure.attrs.get("length")
    if length is None:
        findings.append(Finding("MissingAttribute", "error", enclosure.path, "length"))
    elif not re.fullmatch(r"-?\d+", length):
        findings.append(Finding("InvalidIntegerAttribute", "error", enclosure.path, length))
    elif int(length) < 0:
        findings.append(Finding("InvalidNonNegativeInteger", "error", enclosure.path, length))
    kind = enclosure.attrs.get("type")
    if kind is None:
        findings.append(Finding("MissingAttribute", "error", enclosure.path, "type"))
    elif not _MIME.fullmatch(kind):
        findings.append(Finding("InvalidMIMEAttribute", "error", enclosure.path, kind))
    return findings


# ---------------------------------------------------------------- Atom 1.0


def atom_rules(root: Node, location: str) -> list[Finding]:
    """The Atom feed: its metadata, every entry, and entries that repeat an id or an update time."""
    findings = metadata_rules(root, "MissingElement")
    findings += self_link_rules(root.all("link"), location, "MissingSelf", root.path)
    entries = root.all("entry")
    for entry in entries:
        findings += entry_rules(entry, feed_has_author=root.first("author") is not None)
    ids = [entry.first("id") for entry in entries if entry.first("id") is not None]
    repeated = duplicates(ids, "DuplicateEntries", "warning")
    if len(entries) > 9 and len(repeated) == len(entries) - 1:
        repeated = [Finding("DuplicateIds", "error", root.path)]
    updates = [entry.first("updated") for entry in entries if entry.first("updated") is not None]
    return findings + repeated + duplicates(updates, "DuplicateUpdated", "warning")


def metadata_rules(node: Node, missing: str) -> list[Finding]:
    """What a feed (or an entry's source) says of itself: id, title, updated, links, authors, text."""
    findings = once_rules(node, ATOM_ONCE)
    for name in ("id", "title", "updated"):
        if node.first(name) is None:
            findings.append(Finding(missing, "warning" if missing == "MissingSourceElement" else "error",
                                    node.path, name))
    findings += link_rules(node.all("link"), node.path)
    for child in node.children:
        findings += atom_child_rules(child)
    return findings


def entry_rules(entry: Node, feed_has_author: bool) -> list[Finding]:
    """One entry: what it must hold, its links, its content and its source."""
    findings = once_rules(entry, ATOM_ONCE)
    for name in ("id", "title", "updated"):
        if entry.first(name) is None:
            findings.append(Finding("MissingElement", "error", entry.path, name))
    if entry.first("author") is None and not feed_has_author:
        source = entry.first("source")
        if source is None or source.first("author") is None:
            findings.append(Finding("MissingElement", "error", entry.path, "author"))
    links = entry.all("link")
    if entry.first("content") is None and not any(link.attrs.get("rel", "alternate") == "alternate" for link in links):
        findings.append(Finding("MissingContentOrAlternate", "error", entry.path))
    findings += link_rules(links, entry.path)
    for child in entry.children:
        if child.namespace == ATOM and child.local == "source":
            findings += metadata_rules(child, "MissingSourceElement")
        else:
            findings += atom_child_rules(child)
    return findings


def atom_child_rules(child: Node) -> list[Finding]:
    """The rules of one metadata element of a feed, entry or source."""
    if child.namespace != ATOM:
        return []
    if child.local == "id":
        findings = full_uri(child.text, child.path)
        if not findings and canonical(child.text.strip()) != child.text.strip():
            findings.append(Finding("NonCanonicalURI", "warning", child.path, child.text))
        return findings
    if child.local in ("updated", "published"):
        return date_rules(child, "3339")
    if child.local in ("title", "subtitle", "rights", "summary", "content"):
        return text_construct_rules(child)
    if child.local in ("author", "contributor"):
        return person_rules(child)
    if child.local == "category":
        if "term" not in child.attrs:
            return [Finding("MissingAttribute", "error", child.path, "term")]
        return [] if child.attrs["term"].strip() else [Finding("NotBlank", "warning", child.path, "term")]
    if child.local == "generator" and "uri" in child.attrs:
        return full_uri(child.attrs["uri"], child.path, "InvalidURIAttribute")
    return []


def text_construct_rules(node: Node) -> list[Finding]:
    """A text construct: a known type; text that holds no HTML, or HTML that parses and is safe."""
    kind = node.attrs.get("type", "text")
    if kind == "html":
        return html_rules(node)
    if kind == "text":
        return plain_text_rules(node, "ContainsUndeclaredHTML", rss=False)
    if kind == "xhtml" or (node.local == "content" and _MIME.fullmatch(kind)):
        return []
    return [Finding("InvalidTextType" if "/" in kind else "InvalidMIMEType", "error", node.path, kind)]


def person_rules(person: Node) -> list[Finding]:
    """An author or contributor: a name in plain text, with no e-mail address in it."""
    names = person.all("name")
    if not names:
        return [Finding("MissingElement", "error", person.path, "name")]
    name = names[0]
    findings = plain_text_rules(name, "ContainsHTML", rss=False) + not_blank(name)
    if _EMAIL_IN_ANGLES.search(name.text):
        findings.append(Finding("ContainsEmail", "warning", name.path))
    uri = person.first("uri")
    if uri is not None:
        findings += full_uri(uri.text, uri.path, "InvalidIRI")
    return findings


def link_rules(links: list[Node], where: str) -> list[Finding]:
    """Links: an href, a registered relation, a media type, one alternate per type and language."""
    findings, alternates = [], set()
    for link in links:
        rel = link.attrs.get("rel", "alternate")
        if "href" not in link.attrs:
            findings.append(Finding("MissingHref", "error", link.path))
        else:
            findings += full_uri(link.attrs["href"], link.path, "InvalidIRI")
        if rel not in ATOM_RELATIONS and not _FULL_URI.fullmatch(rel):
            findings.append(Finding("UnregisteredAtomLinkRel", "warning", link.path, rel))
        if "type" in link.attrs and not _MIME.fullmatch(link.attrs["type"]):
            findings.append(Finding("InvalidMIMEType", "error", link.path, link.attrs["type"]))
        if "length" in link.attrs and not re.fullmatch(r"\d+", link.attrs["length"]):
            findings.append(Finding("InvalidNonNegativeInteger", "error", link.path, link.attrs["length"]))
        if "hreflang" in link.attrs and not _LANGUAGE.fullmatch(link.attrs["hreflang"]):
            findings.append(Finding("InvalidLanguage", "error", link.path, link.attrs["hreflang"]))
        if link.text.strip():
            findings.append(Finding("AtomLinkNotEmpty", "warning", link.path))
        if rel == "alternate":
            key = (link.attrs.get("type"), link.attrs.get("hreflang"))
            if key in alternates:
                findings.append(Finding("DuplicateAtomLink", "error", link.path))
            alternates.add(key)
    return findings
