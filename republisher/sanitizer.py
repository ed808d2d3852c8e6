"""Sanitize stage: untrusted feed HTML in, safe HTML plus a count of visible changes out.

bleach is imported here alone: swapping it for another library touches this module only.
The public API is `sanitize_html`, its result `SanitizedHTML`, `plain_text` and `MAX_INPUT_CHARS`.
"""

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from bleach import html5lib_shim
from bleach.sanitizer import BleachSanitizerFilter

from .errors import SanitizeError
from .text import bounded_references

# Longer input is truncated. html5lib has quadratic corners (text inside tables is moved one
# node at a time): 1,000,000 chars of "<table>x" took 37 s, 500,000 take about a quarter of it.
MAX_INPUT_CHARS = 500_000
MAX_TEXT_CHARS = 20_000  # for titles and names
MAX_NESTING = 100  # elements open at once; deeper start tags are left out, their text kept
MAX_MOVED_TEXT = 1000  # texts misplaced in tables that are moved out of them; more are left out
MAX_ATTRIBUTES = 64  # attributes read per tag; later ones are left out (no allowed tag needs more than 9)

ALLOWED_TAGS = frozenset((
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "dd", "del",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    "var", "wbr",
))
ALLOWED_ATTRIBUTES = {
    "*": ["dir", "lang"],
    "a": ["href", "title", "rel"],
    "img": ["src", "alt", "title", "width", "height", "loading", "referrerpolicy"],
    "abbr": ["title"],
    "dfn": ["title"],
    "ol": ["start"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan"],
}
ALLOWED_PROTOCOLS = frozenset(("http", "https", "mailto"))
HTTP = frozenset(("http", "https"))
LINK_REL = "nofollow noopener noreferrer"

# Removed together with everything inside them; the value is the changes key (None: a reader
# cannot notice, e.g. <template> and <title> are never displayed).
DROPPED_WITH_CONTENT = {
    "script": "scripts", "style": "styles", "noscript": "noscript", "svg": "svg", "math": "math",
    "textarea": "forms", "select": "forms", "button": "forms",
    "template": None, "title": None, "noembed": None, "noframes": None,
}
DROPPED_VOID = {"input": "forms", "keygen": "forms", "meta": None, "base": None, "param": None,
                "track": None, "source": None}
# Embedded content becomes a plain link to its http(s) target: (changes key, attribute with URL).
EMBEDDED = {
    "iframe": ("frames", "src"), "frame": ("frames", "src"),
    "video": ("media", "src"), "audio": ("media", "src"),
    "object": ("objects", "data"), "applet": ("objects", None),
}
EMBEDDED_VOID = {"embed": ("objects", "src")}
RENAMED = {"h1": "h2", "xmp": "pre", "listing": "pre", "plaintext": "pre"}
# The tree builder must see these tags (bleach's tokenizer drops unknown tags before it does),
# so that script/style/textarea/... content is read as text, as browsers read it, not as markup.
PARSED_TAGS = (ALLOWED_TAGS | set(DROPPED_WITH_CONTENT) | set(DROPPED_VOID) | set(EMBEDDED)
               | set(EMBEDDED_VOID) | set(RENAMED) | {"form", "link"})

# Inside these an embed is replaced by an inline link, not by a paragraph (no <p> in a <p>).
PHRASING = frozenset((
    "p", "h2", "h3", "h4", "h5", "h6", "pre", "a", "abbr", "b", "bdi", "bdo", "cite", "code",
    "dfn", "em", "i", "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
    "u", "var",
))
HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
# Start tags at which the parser closes an open element (HTML "in body" insertion mode, for
# the allowed tags; stricter where browsers and html5lib differ: html5lib does not count
# headings and figcaption as "special"). A rule (open, boundary) fires when a kept element of
# group `open` is open and no kept element of group `boundary` was opened after it.
_LIST_ITEM_SCOPE = frozenset((
    "blockquote", "caption", "dd", "dl", "dt", "figure", "li", "ol", "pre", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
))
GROUPS = {
    "a": frozenset(("a",)), "heading": HEADINGS, "p": frozenset(("p",)),
    "p_boundary": frozenset(("caption", "table", "td", "th")),
    "li": frozenset(("li",)), "li_boundary": _LIST_ITEM_SCOPE - {"li"},
    "dd": frozenset(("dt", "dd")), "dd_boundary": _LIST_ITEM_SCOPE - {"dt", "dd"},
    "cell": frozenset(("td", "th", "caption")), "phrasing": PHRASING,
}
_P_RULE = ("p", "p_boundary")
CLOSING_RULES = {
    "a": (("a", None),),
    "li": (("li", "li_boundary"), _P_RULE),
    "dt": (("dd", "dd_boundary"), _P_RULE),
    "dd": (("dd", "dd_boundary"), _P_RULE),
    **{name: (("heading", None), _P_RULE) for name in HEADINGS},
    **{name: (_P_RULE,) for name in ("blockquote", "div", "dl", "figcaption", "figure", "hr",
                                     "ol", "p", "pre", "ul")},
}
# For each tag, the groups it belongs to.
MEMBERSHIP = {tag: tuple(group for group, names in GROUPS.items() if tag in names)
              for tag in ALLOWED_TAGS}
# What the parser lets stay inside table parts; anything else it moves before the table.
TABLE_CHILDREN = {"table": frozenset(("caption", "thead", "tbody", "tfoot", "tr")),
                  "thead": frozenset(("tr",)), "tbody": frozenset(("tr",)),
                  "tfoot": frozenset(("tr",)), "tr": frozenset(("td", "th"))}
IMAGE_SOURCES = ("src", "data-src", "data-lazy-src", "data-original")
TRACKING_IMAGE = re.compile(
    r"^https?://(?:"
    r"(?:feeds\.feedburner\.com|feedproxy\.google\.com)/~(?:r|ff)/"
    r"|(?:pixel\.wp\.com|stats\.wordpress\.com)/"
    r"|(?:www\.|ssl\.)?google-analytics\.com/"
    r"|pixel\.quantserve\.com/|[a-z0-9-]+\.scorecardresearch\.com/"
    r"|(?:www\.)?facebook\.com/tr[/?]|bat\.bing\.com/|medium\.com/_/stat"
    r"|feeds\.feedblitz\.com/~/i/"
    r"|[^/?#]+/(?:[^?#]*/)?(?:pixel|track|tracker|tracking|beacon)(?:\.(?:gif|png|php))?(?:[?#]|$)"
    r"|[^/?#]+/(?:[^?#]*/)?(?:track/open|__utm\.gif|piwik\.php|matomo\.php)"
    r")",
    re.IGNORECASE,
)
NUMERIC_REFERENCE = re.compile(r"&(#[xX][0-9a-fA-F]+|#[0-9]+);")
START_TAG = html5lib_shim.constants.tokenTypes["StartTag"]
CHARACTERS = html5lib_shim.constants.tokenTypes["Characters"]
HTML_SPACES = "\t\n\x0c\r "
# Insertion modes in which html5lib moves content out of a table, and the start tags it keeps.
FOSTERING_PHASES = ("inTable", "inTableBody", "inRow", "inTableText")
TABLE_MODE_TAGS = frozenset(("caption", "colgroup", "col", "tbody", "tfoot", "thead", "td", "th",
                             "tr", "table", "style", "script", "input", "form", "html"))
TAG_TYPES = frozenset((START_TAG, html5lib_shim.constants.tokenTypes["EndTag"]))
# Tokenizer states the tree builder switches to after these start tags.
TEXT_STATES = {"script": "scriptDataState", "style": "rawtextState", "xmp": "rawtextState",
               "iframe": "rawtextState", "noembed": "rawtextState", "noframes": "rawtextState",
               "noscript": "rawtextState", "textarea": "rcdataState", "title": "rcdataState",
               "plaintext": "plaintextState"}
VOID_ELEMENTS = html5lib_shim.constants.voidElements
DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:[/?#]|$)")
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
URL_NOISE = re.compile(r"[\t\n\r]")  # browsers delete these anywhere in a URL
URL_EDGE = "".join(chr(c) for c in range(0x21))  # and strip C0 controls and spaces at both ends
DIGITS = re.compile(r"\s*(-?\d{1,6})(?:px)?\s*$")
LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
SURROGATES = re.compile("[\ud800-\udfff]")
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SPACES = re.compile(r"\s+")

HIDDEN_TEXT = frozenset(("script", "style", "noscript", "template", "title", "textarea",
                         "iframe", "noembed", "noframes", "svg", "math"))
TEXT_BREAKS = frozenset(("br", "p", "div", "li", "dt", "dd", "tr", "td", "th", "h1", "h2", "h3",
                         "h4", "h5", "h6", "blockquote", "pre", "hr", "section", "article"))


@dataclass(frozen=True)
class SanitizedHTML:
    """Safe HTML and what the sanitizer changed that a reader could notice (non-zero counts only)."""

    html: str
    changes: dict[str, int] = field(default_factory=dict)


def sanitize_html(html: str, base_url: str | None) -> SanitizedHTML:
    """Sanitize untrusted HTML, resolving relative URLs against base_url."""
    if html is None:
        html = ""
    if not isinstance(html, str):
        raise TypeError(f"sanitize_html takes str, not {type(html).__name__}")
    changes: dict[str, int] = {}
    if len(html) > MAX_INPUT_CHARS:
        html = html[:MAX_INPUT_CHARS]
        changes["truncated"] = 1
    if not html:
        return SanitizedHTML("", changes)
    html = bounded_references(SURROGATES.sub("\ufffd", html))
    try:
        safe = _pipeline().clean(html, http_base(base_url), changes)
    except MemoryError:
        raise
    except Exception as exc:  # a library bug on odd input must block one item, not the whole run
        raise SanitizeError(f"HTML could not be sanitized: {type(exc).__name__}: {exc}") from exc
    return SanitizedHTML(safe, {key: value for key, value in changes.items() if value})


def plain_text(value) -> str:
    """Plain text of a title or name that may hold tags or entities, whitespace folded."""
    if value is None:
        return ""
    text = str(value)[:MAX_TEXT_CHARS]
    if "<" in text or "&" in text:
        text = _pipeline().text(bounded_references(SURROGATES.sub("\ufffd", text)))
    return SPACES.sub(" ", CONTROLS.sub("", text)).strip()


def http_base(base_url: str | None) -> str | None:
    """The base URL if it is an absolute http(s) URL, else None."""
    if not base_url or not isinstance(base_url, str):
        return None
    try:
        parts = urlsplit(base_url.strip())
    except ValueError:
        return None
    return base_url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _pipeline() -> "_Pipeline":
    """This thread's pipeline: html5lib parsers keep state while parsing, so one per thread."""
    pipeline = getattr(_local, "pipeline", None)
    if pipeline is None:
        pipeline = _local.pipeline = _Pipeline()
    return pipeline


class _Tokenizer(html5lib_shim.BleachHTMLTokenizer):
    """bleach's tokenizer, leaving out what html5lib would mishandle or take quadratic time on.

    - Template content: html5lib has no template contents, so a <p> inside a <template> closed
      the paragraph around it and the template's text showed. Browsers never show it.
    - Content misplaced in a table (outside its cells): html5lib moves it before the table one
      node at a time, each move a search among the siblings (360 KB took 26 s). It loses such
      elements anyway, so their tags go (their text stays); text is moved up to MAX_MOVED_TEXT
      times per item, and left out beyond that.
    - Start tags nested deeper than MAX_NESTING: html5lib's scope checks walk the stack of open
      elements, so deep nesting costs quadratic time (20,000 nested <blockquote> took bleach
      about two minutes). Their text stays.
    - Attributes past MAX_ATTRIBUTES in one tag: html5lib compares each attribute's name with every
      earlier one, so 25,000 attributes in one tag took 18 to 41 s. The attribute being read is
      always the last of the tag's list, so it is its predecessor past the cap that goes.
    """

    def attributeNameState(self):
        """html5lib's state for an attribute's name, with the tag's attributes kept under the cap."""
        attributes = self.currentToken["data"]
        if len(attributes) > MAX_ATTRIBUTES + 1:
            del attributes[MAX_ATTRIBUTES:-1]
        return super().attributeNameState()

    def emitCurrentToken(self):
        """Emit the tag without the attribute read past the cap, if any."""
        attributes = self.currentToken.get("data")
        if self.currentToken["type"] in TAG_TYPES and isinstance(attributes, list):
            del attributes[MAX_ATTRIBUTES:]
        super().emitCurrentToken()

    def __iter__(self):
        """Yield bleach's tokens, without the ones described above."""
        parser = self.parser
        tree, phases = parser.tree, parser.phases
        fostering = tuple(phases[name] for name in FOSTERING_PHASES)
        inert = 0  # depth inside <template>
        for token in super().__iter__():
            kind = token["type"]
            if kind in TAG_TYPES and token["name"] == "template":
                inert = inert + 1 if kind == START_TAG else max(inert - 1, 0)
            elif inert:
                if kind == START_TAG and token["name"] in TEXT_STATES:
                    # as the tree builder would: what follows <script> etc. is text
                    self.state = getattr(self, TEXT_STATES[token["name"]])
            elif parser.phase in fostering and misplaced_in_table(token, kind):
                if kind == START_TAG:
                    continue
                parser.moved += 1
                if parser.moved <= MAX_MOVED_TEXT:
                    yield token
                else:
                    parser.misplaced += 1
            elif kind == START_TAG and len(tree.openElements) > MAX_NESTING \
                    and token["name"] not in VOID_ELEMENTS:
                parser.flattened += 1
            else:
                yield token


def misplaced_in_table(token, kind) -> bool:
    """Whether the tree builder, in a table but outside its cells, would move this token out."""
    if kind == CHARACTERS:
        return bool(token["data"].strip(HTML_SPACES))
    return kind == START_TAG and token["name"] not in TABLE_MODE_TAGS


class _Parser(html5lib_shim.BleachHTMLParser):
    """bleach's parser with our tokenizer."""

    flattened = 0  # start tags left out as too deep during the last parse
    moved = 0  # texts misplaced in a table during the last parse
    misplaced = 0  # of those, the ones left out

    def _parse(self, stream, innerHTML=False, container="div", scripting=True, **kwargs):
        """The same steps as bleach's parser, with our tokenizer (html5lib's parsing hook)."""
        self.innerHTMLMode, self.container, self.scripting = innerHTML, container, scripting
        self.flattened = self.moved = self.misplaced = 0
        self.tokenizer = _Tokenizer(stream=stream, consume_entities=self.consume_entities,
                                    parser=self, **kwargs)
        self.reset()
        try:
            self.mainLoop()
        except html5lib_shim.ReparseException:  # only for byte input whose charset changes
            self.reset()
            self.mainLoop()


class _Pipeline:
    """bleach's parser, sanitizer filter and serializer, with our rewriting filter before bleach's."""

    def __init__(self):
        """Build the reusable parts once per thread."""
        self.parser = _Parser(tags=PARSED_TAGS, strip=True, consume_entities=False,
                              namespaceHTMLElements=False)
        # no tag filtering, entities decoded: the text a browser shows
        self.text_parser = _Parser(tags=None, strip=False, consume_entities=True,
                                   namespaceHTMLElements=False)
        self.serializer = html5lib_shim.BleachHTMLSerializer(
            quote_attr_values="always", omit_optional_tags=False, escape_lt_in_attrs=True,
            resolve_entities=False, sanitize=False, alphabetical_attributes=False)

    def clean(self, html: str, base: str | None, changes: dict) -> str:
        """Parse once, rewrite, then let bleach check everything we kept or emitted."""
        tree = self.parser.parseFragment(html)
        changes["nesting"] = self.parser.flattened
        changes["misplaced"] = self.parser.misplaced
        tokens = _Rewriter(walk(tree), base, changes)
        checked = BleachSanitizerFilter(
            source=tokens, allowed_tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
            allowed_protocols=ALLOWED_PROTOCOLS, strip_disallowed_tags=True,
            strip_html_comments=True)
        return self.serializer.render(checked)

    def text(self, html: str) -> str:
        """The text a browser would display for this HTML, with breaks as spaces."""
        parts, hidden = [], 0
        for token in walk(self.text_parser.parseFragment(html)):
            kind = token["type"]
            if kind == "Characters":
                if not hidden:
                    parts.append(token["data"])
            elif kind == "StartTag" and (hidden or token["name"] in HIDDEN_TEXT):
                hidden += 1
            elif kind == "EndTag" and hidden:
                hidden -= 1
            elif kind in ("StartTag", "EmptyTag", "EndTag") and token["name"] in TEXT_BREAKS:
                parts.append(" ")
        return "".join(parts)


def walk(root):
    """The tokens of an html5lib etree fragment, in document order (text as Characters only).

    html5lib's etree walker looks up each element's index among its siblings on the way back
    up, which is quadratic on wide trees (80,000 <p><span> took minutes); this one keeps one
    iterator per open element.
    """
    if root.text:
        yield {"type": "Characters", "data": root.text}
    stack = [(iter(root), None, None)]
    while stack:
        children, end, tail = stack[-1]
        element = next(children, None)
        if element is None:
            stack.pop()
            if end is not None:
                yield end
            if tail:
                yield {"type": "Characters", "data": tail}
            continue
        if not isinstance(element.tag, str):  # a comment
            yield {"type": "Comment", "data": element.text or ""}
        else:
            namespace, name = split_name(element.tag)
            attrs = {split_name(key): value for key, value in element.attrib.items()}
            if namespace is None and name in VOID_ELEMENTS:
                yield {"type": "EmptyTag", "name": name, "namespace": None, "data": attrs}
            else:
                yield {"type": "StartTag", "name": name, "namespace": namespace, "data": attrs}
                if element.text:
                    yield {"type": "Characters", "data": element.text}
                end = {"type": "EndTag", "name": name, "namespace": namespace}
                stack.append((iter(element), end, element.tail))
                continue
        if element.tail:
            yield {"type": "Characters", "data": element.tail}


def split_name(name: str) -> tuple[str | None, str]:
    """(namespace, local name) of an ElementTree name such as "{http://...}href"."""
    if name[0] == "{":
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return None, name


class _Rewriter(html5lib_shim.Filter):
    """Token filter: drops unsafe subtrees, rewrites URLs and links, counts what changed.

    It runs before bleach's own filter, which therefore re-checks everything this one emits.
    Attribute values here still hold their character references (bleach's parser keeps them).
    """

    def __init__(self, source, base: str | None, changes: dict):
        """Wrap a token stream; changes is filled in while the stream is read."""
        super().__init__(source)
        self.base = base
        self.changes = changes
        self.open = []  # (name, kept) per open allowed element; unkept ones lose their tags only
        self.positions = {group: [] for group in GROUPS}  # stack depths of kept open members
        self.in_table = False  # the innermost open element takes table parts only
        self.skipping = 0  # depth inside a subtree being dropped
        self.embed = None  # (URL, relative) while dropping an embed that becomes a link
        self.after_pre = None  # "double" or "strip" until a <pre> has visible content

    def __iter__(self):
        """Yield the rewritten tokens."""
        for token in self.source:
            kind = token["type"]
            if self.skipping:
                yield from self.skipped(token, kind)
            elif kind == "Characters":
                if self.after_pre or self.in_table or "&#" in token["data"]:
                    token = self.text(token)
                    if token is None:
                        continue
                yield token
            elif kind == "EndTag":
                if self.end(token):
                    yield token
            elif kind == "StartTag" or kind == "EmptyTag":
                yield from self.start(token, kind)
            else:
                yield token

    def count(self, key: str | None) -> None:
        """Add one to a changes counter."""
        if key:
            self.changes[key] = self.changes.get(key, 0) + 1

    def text(self, token):
        """A text token fitted to where it stands, or None when it cannot stay there."""
        if self.in_table:
            return None  # html5lib left text inside a table; the next parse would move it
        data = token["data"]
        if self.after_pre:
            if data.startswith("\n"):
                # browsers drop one newline right after <pre>, so one more is written; html5lib
                # does not drop it in table cells, so there none is, and both parsers agree
                data = "\n" + data if self.after_pre == "double" else data.lstrip("\n")
                if not data:
                    return None
            self.after_pre = None
        if "&#" in data:
            data = NUMERIC_REFERENCE.sub(valid_reference, data)
        token["data"] = data
        return token

    def skipped(self, token, kind):
        """Follow a subtree being dropped; at its end, the link that replaces an embed."""
        if kind == "StartTag":
            self.skipping += 1
        elif kind == "EndTag":
            self.skipping -= 1
            if not self.skipping and self.embed is not None:
                target, self.embed = self.embed, None
                return self.embed_link(target)
        elif kind == "EmptyTag" and self.embed is not None and not self.embed[0] \
                and token["name"] in ("source", "embed"):
            self.embed = resolve(token["data"].get((None, "src")), self.base, HTTP)
        return ()

    def start(self, token, kind):
        """The tokens that a start or empty tag becomes."""
        name = token["name"]
        if name not in ALLOWED_TAGS:
            if name not in RENAMED:
                return self.disallowed(token, kind, name)
            name = token["name"] = RENAMED[name]
        if self.in_table and name not in TABLE_CHILDREN[self.open[-1][0]]:
            # html5lib sometimes leaves these inside a table; the next parse would move them out
            self.skipping = 1 if kind == "StartTag" else 0
            return ()
        if name == "img":
            token = self.image(token)
            if token is None:
                return ()
        elif name == "a":
            token["data"] = self.anchor(token["data"])
        elif token["data"]:
            token["data"] = self.attributes(name, token["data"])
        # a link without a target reads as plain text: its tags go, like those of an element
        # that the next parse would close
        kept = not (name in CLOSING_RULES and self.would_close(name)) \
            and (name != "a" or (None, "href") in token["data"])
        if kind == "StartTag":
            if kept:
                for group in MEMBERSHIP[name]:
                    self.positions[group].append(len(self.open))
            self.open.append((name, kept))
            self.in_table = name in TABLE_CHILDREN
        if not kept:
            return ()
        self.after_pre = None
        if name == "pre" and kind == "StartTag":
            self.after_pre = "strip" if self.positions["cell"] else "double"
        return (token,)

    def disallowed(self, token, kind, name):
        """What a tag outside the allowlist becomes: nothing, a link, or its content only."""
        if name in DROPPED_WITH_CONTENT:
            self.count(DROPPED_WITH_CONTENT[name])
            self.skipping = 1 if kind == "StartTag" else 0
            return ()
        if name in EMBEDDED or name in EMBEDDED_VOID:
            key, attribute = EMBEDDED.get(name) or EMBEDDED_VOID[name]
            self.count(key)
            target = resolve(token["data"].get((None, attribute)) if attribute else None,
                             self.base, HTTP)
            if kind == "EmptyTag":
                return self.embed_link(target)
            self.skipping, self.embed = 1, target
            return ()
        if name in DROPPED_VOID:
            self.count(DROPPED_VOID[name])
            return ()
        if name == "link":
            if "stylesheet" in token["data"].get((None, "rel"), "").lower():
                self.count("styles")
            return ()
        if name == "form":
            self.count("forms")
        return (token,)  # bleach removes the tag and keeps the content

    def would_close(self, name: str) -> bool:
        """Whether the next parse would close an open element at this start tag.

        html5lib can build such nestings (a form stripped between two list items, foster
        parenting next to a table); the element then loses its tags and keeps its content.
        """
        positions = self.positions
        for group, boundary in CLOSING_RULES[name]:
            found = positions[group]
            if found and not (boundary and positions[boundary]
                              and positions[boundary][-1] > found[-1]):
                return True
        return False

    def end(self, token) -> bool:
        """Whether to keep an end tag (False for elements that lost their tags)."""
        name = token["name"]
        if name not in ALLOWED_TAGS:
            if name not in RENAMED:
                return True
            name = token["name"] = RENAMED[name]
        if not self.open:
            return True
        opened, kept = self.open.pop()
        self.in_table = bool(self.open) and self.open[-1][0] in TABLE_CHILDREN
        if kept:
            for group in MEMBERSHIP[opened]:
                self.positions[group].pop()
            self.after_pre = None
        return kept

    def embed_link(self, target: tuple):
        """Link tokens for an embed's (URL, relative) target; nothing when it had none."""
        url, relative = target
        if not url or self.in_table:
            return ()
        if relative:
            self.count("links_rewritten")
        self.after_pre = None
        return link_tokens(url, bool(self.positions["phrasing"]), bool(self.positions["a"]))

    def attributes(self, name: str, attrs) -> dict:
        """The element's allowed attributes whose values are well-formed (href and rel aside)."""
        allowed = ATTRIBUTES_KEPT[name]
        kept = {}
        for (namespace, key), value in attrs.items():
            if key in allowed and namespace is None:
                check = VALIDATORS.get(key)
                if check is not None:
                    value = check(value)
                    if value is None:
                        continue
                kept[(None, key)] = value
            elif key == "style":
                self.count("inline_styles")
        return kept

    def anchor(self, attrs) -> dict:
        """A link's attributes: safe absolute href, title, direction, and our rel."""
        if not attrs:
            return {(None, "rel"): LINK_REL}
        kept = self.attributes("a", attrs)
        raw = attrs.get((None, "href"))
        href, relative = resolve(raw, self.base, ALLOWED_PROTOCOLS)
        if href:
            kept = {(None, "href"): encode(href), **kept}
            if relative:
                self.count("links_rewritten")
        elif raw is not None and raw.strip():
            self.count("links_removed")
        kept[(None, "rel")] = LINK_REL
        return kept

    def image(self, token):
        """An image token with a safe absolute src and lazy loading, or None when it goes."""
        attrs = token["data"]
        src = relative = None
        for key in IMAGE_SOURCES:
            src, relative = resolve(attrs.get((None, key)), self.base, HTTP)
            if src:
                break
        if not src:
            self.count("images")
            return None
        width = number(attrs.get((None, "width")))
        height = number(attrs.get((None, "height")))
        if is_tracking_image(src, width, height):
            self.count("tracking_pixels")
            return None
        if relative:
            self.count("links_rewritten")
        if (None, "style") in attrs:
            self.count("inline_styles")
        kept = {(None, "src"): encode(src)}
        for key, value in (("alt", attrs.get((None, "alt"))), ("title", attrs.get((None, "title"))),
                           ("width", width), ("height", height)):
            if value is not None:
                kept[(None, key)] = value
        kept[(None, "loading")] = "lazy"
        kept[(None, "referrerpolicy")] = "no-referrer"
        return {"type": token["type"], "name": "img", "namespace": None, "data": kept}


def resolve(raw: str | None, base: str | None, schemes) -> tuple[str | None, bool]:
    """(absolute URL with an allowed scheme or None, whether it was relative), read as browsers do.

    `schemes` always holds http and https, the base's scheme, so a relative URL is allowed.
    """
    if not raw:
        return None, False
    value = html5lib_shim.convert_entities(raw).strip(URL_EDGE)
    if "\t" in value or "\n" in value or "\r" in value:
        value = URL_NOISE.sub("", value)
    if not value:
        return None, False
    match = SCHEME.match(value)
    if match:
        return (value if match.group(1).lower() in schemes else None), False
    if not base:
        return None, True
    # browsers read a backslash in an http(s) URL as a slash: a leading "\\" starts a host
    return join(base, value.replace("\\", "/") if "\\" in value else value), True


def join(base: str, reference: str) -> str:
    """urljoin(base, reference), with the common forms done by concatenation (urljoin is slow)."""
    network_path = reference.startswith("//")
    if reference[0] in "?#" or DOT_SEGMENT.search(reference) \
            or (network_path and reference[2:3] in "/?#"):
        return urljoin(base, reference)
    scheme, origin, directory = base_prefixes(base)
    if network_path:
        return scheme + reference
    return origin + reference if reference[0] == "/" else directory + reference


@lru_cache(maxsize=256)
def base_prefixes(base: str) -> tuple[str, str, str]:
    """("scheme:", "scheme://host", "scheme://host/dir/") of a base URL."""
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    return parts.scheme + ":", origin, origin + (parts.path[: parts.path.rfind("/") + 1] or "/")


def number(value: str | None) -> str | None:
    """A non-negative integer attribute ("600", "600px"), or None."""
    match = DIGITS.match(value) if value else None
    if not match or match.group(1).startswith("-"):
        return None
    return str(int(match.group(1)))


def integer(value: str) -> str | None:
    """An integer attribute (an ordered list may start below zero), or None."""
    match = DIGITS.match(value)
    return str(int(match.group(1))) if match else None


def direction(value: str) -> str | None:
    """ltr, rtl or auto, or None."""
    value = value.strip().lower()
    return value if value in ("ltr", "rtl", "auto") else None


def language(value: str) -> str | None:
    """A well-formed language tag, or None."""
    value = value.strip()
    return value if LANGUAGE.match(value) else None


VALIDATORS = {"width": number, "height": number, "colspan": number, "rowspan": number,
              "start": integer, "dir": direction, "lang": language}
# Per allowed tag, the attributes `attributes()` keeps; href, rel and img are handled apart.
ATTRIBUTES_KEPT = {tag: frozenset(ALLOWED_ATTRIBUTES.get(tag, ())) - {"href", "rel"}
                   | frozenset(ALLOWED_ATTRIBUTES["*"]) for tag in ALLOWED_TAGS}


def is_tracking_image(src: str, width: str | None, height: str | None) -> bool:
    """True for 1x1 images and images from known tracking endpoints."""
    if width is not None and height is not None and int(width) <= 1 and int(height) <= 1:
        return True
    return bool(TRACKING_IMAGE.match(src))


def valid_reference(match) -> str:
    """A numeric character reference, or U+FFFD for one naming no character (as browsers show it).

    bleach's serializer would escape such a reference after a lone "=" on one pass, not another.
    """
    character = html5lib_shim.convert_entity(match.group(1))
    return match.group(0) if character and not SURROGATES.match(character) else "\ufffd"


def encode(url: str) -> str:
    """A URL as bleach's token stream holds values: ampersands as character references."""
    return url.replace("&", "&amp;")


def link_tokens(url: str, phrasing: bool, in_link: bool) -> list:
    """Tokens for a plain link to an embed's target, fitted to where the embed stood."""
    text = {"type": "Characters", "data": encode(url)}
    if in_link:  # a link inside a link would be split by the parser; give the address as text
        return [text]
    link = [{"type": "StartTag", "name": "a", "namespace": None,
             "data": {(None, "href"): encode(url), (None, "rel"): LINK_REL}},
            text, {"type": "EndTag", "name": "a", "namespace": None}]
    if phrasing:
        return link
    return ([{"type": "StartTag", "name": "p", "namespace": None, "data": {}}] + link
            + [{"type": "EndTag", "name": "p", "namespace": None}])


_local = threading.local()
