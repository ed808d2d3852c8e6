"""License and rights statements in an item's HTML, each with what it speaks of.

A statement decides the item's license only when it speaks of the item: a ``rel="license"`` link outside
figures and captions, a sentence about this article, story, post, work, content or text, or a bare
license line standing on its own, in the closing part of the body or in the byline ("All Content by X is
licensed under …"). A license, a reservation of rights or an agency's credit inside a figure, a
figcaption or a caption, beside an image, or after "photo", "image", "map", "via Flickr" and the like is
a **media credit**: it is kept with its images and never decides the item's license. A license named
for something else ("the dataset is CC BY-NC") is a mention and decides nothing. An element whose class
says caption or credit holds media credits too, unless what it says speaks of the item itself ("This
story was provided by …").

The body is read where a keyword occurs and around each image, never parsed whole, so that the cost
stays linear in its length; every offset comes back in the original text, so that evidence is quoted
verbatim and an image or a notice can be cut out of it exactly. A body with more blocks or pictures
than are read is held for an editor rather than read in part.
"""

import html
import re
from dataclasses import dataclass
from typing import NamedTuple

from . import license_text, licenses
from .text import sentence_around
from .textfold import Folded, fold, text_cache
from .wordscan import WordScanner

LICENSE_RELS = frozenset({"license", "http://www.iana.org/assignments/relation/license"})
BADGE_HOSTS = ("i.creativecommons.org", "licensebuttons.net", "mirrors.creativecommons.org")
# read wherever they stand in a body, each the cheapest way: words by str.find, and kept only in the
# forms a notice uses (not "Federal Reserve" or "Republican"); "Creative Commons", "copyright", "&copy;",
# a CC code and "(c)" by one regex, as they share a letter and a regex finds a literal prefix fast; a
# numeric copyright sign from each "&", which a search for one character finds fastest; "©" only in a
# body that is not ASCII
BODY_WORDS = {"licen": None, "reserv": ("reserved", "reserves", "reservad"), "republi": ("republicat", "republish"),
              "prohibit": None, "provided by": None}
COPYRIGHT_OR_CC = re.compile(r"c(?:reative(?:[\s_-]|&nbsp;|&#160;|&#xa0;)*commons|opy(?:right|;)|\)"
                             r"|c(?:[\s_(:.|-]|&nbsp;|&#160;|&#xa0;)*(?:by|0|zero))")
NUMERIC_COPYRIGHT = ("&#169", "&#xa9")
BODY_KEYWORDS = ("©",)
# the words without which COPYRIGHT_OR_CC does not match: a short text that has none of them, of BODY_WORDS
# and of EDGE_KEYWORDS is not searched further
PATTERN_WORDS = ("creative", "copy", "cc", "c)") + NUMERIC_COPYRIGHT
QUICK_LOOK = 400  # characters up to which the words are looked for first
BODY_KEYWORDS_OTHER = license_text.SCRIPT_KEYWORDS + (
    "vorbehalten", "riservat", "voorbehouden", "zastrze", fold("права"), fold("перепечатка"), "حقوق", "版权",
    "版權", "转载", "転載", "無断", "무단", "hakla", fold("рейтер"), "رويترز", "路透", "新华社", "法新社")
# read at the start and at the end of a body, where credit lines and terms of use stand
EDGE_KEYWORDS = ("contributed", "permission", "commercial", "personal use", "deriv", "distributed by",
                 "vorbehalten", "riservat", "voorbehouden", "zastrze", "interdit", "verboten", "source:",
                 "with afp", "avec", "courtesy")
QUICK_WORDS = PATTERN_WORDS + tuple(BODY_WORDS) + EDGE_KEYWORDS
CONTAINER_WORDS = ("caption", "credit", "byline")
# what says a body has pictures, or elements a credit may stand in: where none of them is, neither is read
MARKERS = ("<img", "<figure", "<caption") + CONTAINER_WORDS
CONTAINER_MARKERS = frozenset(MARKERS[1:])  # all that container_kind looks for
# what one scan of an ASCII body looks for (wordscan): the words, the literal openings of
# COPYRIGHT_OR_CC (tried there), the numeric copyright signs and the edge keywords
SCANNED_KINDS = (tuple(("word", word, forms) for word, forms in BODY_WORDS.items())
                 + tuple(("opening", word, None) for word in ("creative", "copy", "c)", "cc"))
                 + tuple(("numeric", word, None) for word in NUMERIC_COPYRIGHT)
                 + tuple(("edge", word, None) for word in EDGE_KEYWORDS)
                 + tuple(("marker", word, None) for word in MARKERS))
SCANNED = WordScanner(tuple(word for _, word, _ in SCANNED_KINDS))
# a short body (a summary, a caption) is scanned for the restrictive phrases' openings too: where none
# starts a word and no keyword stands, the body holds no statement but a dateline; in any case, so that
# such a body need not be folded to be scanned
SHORT_SCANNED = WordScanner(SCANNED.words, word_starts=license_text.term_openings, caseless=True)
PHRASE_OPENING = len(SCANNED_KINDS)  # SHORT_SCANNED's index for "a restrictive phrase may start here"
MARKER_OF = tuple(word if kind == "marker" else None for kind, word, _ in SCANNED_KINDS)  # by scanned index
VOID_TAGS = frozenset(("img", "br", "hr", "input", "source", "meta", "link", "wbr", "area", "embed", "col",
                       "param", "track"))
WINDOW = 300  # characters read on each side of a keyword for its block
CONTAINER_REACH = 800  # characters searched back for an open figure, caption or credit element
CLOSING_TEXT = 400  # visible characters after a block that still leave it in the body's closing part
EDGE_REACH = 500  # the parts of the body, at its start and its end, where the edge keywords are looked for
DATELINE_REACH = 1500  # raw characters of the body in which its first lines, and a dateline, stand
CAPTION_TEXT = 200  # a block after a lone image is its caption when it is this short and reads like one
QUOTE_WHOLE = 300  # a rights paragraph this short is quoted whole ("© 2026 Reuters. All rights reserved.")
SHORT_BLOCK = 160  # a bare license line this short stands on its own: the item's notice wherever it is
MAX_TAG = 2000  # characters of a start tag whose attributes are read
CACHED_BLOCK = 4096  # characters of a block up to which what it says is kept for the next item
MAX_IMAGES = 200
MAX_BLOCKS = 200
MAX_FIGURE_DEPTH = 8
_SENTENCE_ENDS = re.compile(r"\s[.!?]")  # read backwards
# the tags that start or end a paragraph-like block
BLOCK_TAG_NAMES = (r"p|br|div|li|h[1-6]|td|th|blockquote|footer|section|figure|figcaption|caption|article|aside"
                   r"|header|table|tr|dd|dt|ul|ol|pre|hr")
# where a block read for a keyword ends (in folded, lower-case text; a page's main and nav parts too)
_BLOCK_EDGE = re.compile(rf"</?(?:{BLOCK_TAG_NAMES}|main|nav)\b[^<>]*>")
# a tag as browsers read one: "<" and a letter, "/", "!" or "?", to its ">" (or to the end of the text);
# a "<" before anything else is text ("prices < 5")
_ANY_TAG = re.compile(r"<[a-zA-Z/!?][^<>]*(?:>|$)")
# where a fragment's text breaks into lines
_BLOCK_TAG = re.compile(rf"</?(?:{BLOCK_TAG_NAMES})\b[^<>]*>", re.IGNORECASE)
_SPACING_TAG = re.compile(r"<(?:img|input|iframe|video|audio|embed|object|picture|source)\b[^<>]*>", re.IGNORECASE)
_INVISIBLE_TAG = re.compile(r"<wbr\s*/?>", re.IGNORECASE)
# names may not start in the middle of a run of name characters: a long run is read once, not again
# from each of its characters
_ATTRIBUTE = re.compile(r"""(?<![^\s"'/])([^\s=/>"']++)\s*+=\s*+(?:"([^"]*+)"|'([^']*+)'|([^\s>"']++))""")
_LINK = re.compile(r"<(?:a|link|area)\b[^<>]*>", re.IGNORECASE)
_TAG_NAME = re.compile(r"<([a-z][a-z0-9-]*)")
_CLASS_OR_ID = re.compile(r"""\s(?:class|id)\s*=\s*["']?([^"'<>]*)""")
_SPACE = re.compile(r"\s+")
_SIZE_SUFFIX = re.compile(r"-(?:\d{2,5}x\d{2,5}|scaled)$")
IMAGE_SOURCES = ("src", "data-src", "data-lazy-src", "data-original")
CAPTION_MARKERS = ("photo", "image", "foto", "picture", "credit", "©", "(c)", "/", "via ", "courtesy",
                   "getty", "reuters", "afp", "shutterstock", "licen", "cc by", "creative commons")


class Statement(NamedTuple):
    """One thing an item's HTML says about a license or rights, and what it speaks of."""

    kind: str  # license | unrecognized | reserved | restricted | third_party
    scope: str  # item | media | mention
    location: str  # rel=license | closing sentence | byline | body | caption
    found_in: str  # html rel=license | html link to a license | html statement | html credit | html dateline
    text: str  # the sentence, caption or link target, verbatim
    license: str | None = None
    exact: bool = True  # False when a license was named without its version
    party: str | None = None  # the agency or library credited
    term: str | None = None  # the restriction's kind: non_commercial | no_derivatives | no_reuse
    images: tuple = ()  # ((src, start, end), ...) of the images a media credit belongs to
    block: tuple | None = None  # (start, end) of the notice in the body, to withhold it

    def as_dict(self) -> dict:
        """The statement as plain values."""
        return self._asdict()


@dataclass(frozen=True)
class Image:
    """An image in the body: its source as written and its tag's span (folded and original offsets)."""

    src: str
    start: int
    end: int
    original: tuple[int, int]

    @property
    def where(self) -> tuple:
        """(src, start, end) in the original text."""
        return (self.src, *self.original)


def find_statements(body: str, scan: bool = True) -> list[Statement]:
    """Every license or rights statement in an HTML body, each scoped to the item, a medium, or neither.

    scan: find the keywords by one pass where the body allows it (False: search for each on its own,
    which finds the same statements).
    """
    if not body:
        return []
    scanned = None
    if scan and len(body) <= QUICK_LOOK and body.isascii():  # a summary or a caption, scanned as written
        scanned = SHORT_SCANNED.occurrences(body)
        if scanned == [] and body.find("(", 0, DATELINE_REACH) == -1:
            return []  # no keyword, marker or restrictive phrase's opening, nor a dateline's bracket
    view = Folded(body)
    low = view.text
    short = len(low) <= QUICK_LOOK
    if scan and scanned is None:
        scanned = (SHORT_SCANNED if short else SCANNED).occurrences(low)  # None: not ASCII
    phrases_may_stand = True
    if short and scanned is not None:
        phrases_may_stand = any(index == PHRASE_OPENING for index, _ in scanned)
        if phrases_may_stand:
            scanned = [found for found in scanned if found[0] != PHRASE_OPENING]
        elif not scanned:  # no keyword, no marker, no restrictive phrase's opening: a dateline at most
            return dateline_statements(view)
    markers = None if scanned is None else {MARKER_OF[index] for index, _ in scanned}
    has_keyword = markers is None or None in markers  # None: not known
    if markers:
        markers.discard(None)  # a keyword, not a marker
    has_images = "<" in body and (markers is None or "<img" in markers)
    images, more_images = find_images(view) if has_images else ([], False)
    found: list[Statement] = []
    covered: list[tuple[int, int]] = []
    for image in images:
        region = credit_region(low, image)
        if region:
            covered.append(region)
            found += credit_statements(text_of(view, region), [image], strict=False, start=region[0])
    blocks, read_until, more_blocks = 0, -1, False
    # a short body with markers alone, and no phrase's opening, has no block to read
    hits = keyword_hits(low, scanned) if phrases_may_stand or has_keyword else []
    for hit in hits:
        if hit < read_until or covered and any(start <= hit < end for start, end in covered):
            continue  # in the block read for an earlier hit, or in an image's credit
        if blocks >= MAX_BLOCKS:
            more_blocks = True
            break
        span, cut = block_span(low, hit)
        read_until = hit + 1 if cut else span[1]  # a block cut by the window is read again from the next hit
        blocks += 1
        found += block_statements(view, span, images, markers)
    found += dateline_statements(view)
    if more_images or more_blocks:
        found.append(Statement("unrecognized", "item", "body", "html statement",
                               f"the body has more {'pictures' if more_images else 'statements'} than are read"))
    return unique(found) if len(found) > 1 else found


def keyword_hits(low: str, occurrences: list[tuple[int, int]] | None) -> list[int]:
    """Where a license or a reservation of rights may be written, sorted.

    occurrences: a scan's occurrences in low (SCANNED's, or SHORT_SCANNED's without its phrase
    openings), or None to search word by word.
    """
    ascii = low.isascii()  # the keywords not written in ASCII cannot stand in an ASCII body
    if ascii and len(low) <= QUICK_LOOK and not (
            any(MARKER_OF[index] is None for index, _ in occurrences) if occurrences is not None
            else has_any(low, QUICK_WORDS)):
        return list(phrase_hits(low))  # a summary or a caption: only a restrictive phrase is left to find
    hits = listed_hits(low, occurrences) if occurrences is not None else searched_hits(low, ascii)
    hits.sort()
    return hits


def searched_hits(low: str, ascii: bool) -> list[int]:
    """keyword_hits' positions, unsorted, each kind of keyword searched for on its own."""
    hits = [] if ascii else license_text.keyword_hits(low, BODY_KEYWORDS + BODY_KEYWORDS_OTHER)
    for word, forms in BODY_WORDS.items():
        at = low.find(word)
        while at != -1:
            if starts_word(low, at) and (forms is None or low.startswith(forms, at)):
                hits.append(at)
            at = low.find(word, at + len(word))
    for match in COPYRIGHT_OR_CC.finditer(low):
        add_copyright_or_cc(low, match.start(), hits)
    at = low.find("&")
    while at != -1:
        if low.startswith(NUMERIC_COPYRIGHT, at) and starts_word(low, at):
            hits.append(at)
        at = low.find("&", at + 1)
    tail = max(0, len(low) - EDGE_REACH)
    hits += [tail + at for at in closing_hits(low[tail:])] if tail else closing_hits(low)
    if tail:  # the start, up to where the end's part begins
        hits += edge_hits(low[:min(tail, EDGE_REACH)])
    return hits


def listed_hits(low: str, occurrences: list[tuple[int, int]]) -> list[int]:
    """keyword_hits' positions, unsorted, from one scan's occurrences of SCANNED_WORDS in an ASCII body.

    The same positions as searched_hits: no word overlaps itself, so every occurrence is one that a
    search from the end of the last would find; the pattern is tried at its literal openings only,
    leftmost first and never inside its last match, as finditer tries it.
    """
    hits: list[int] = []
    openings: list[int] = []
    tail = max(0, len(low) - EDGE_REACH)
    opening_edge = min(tail, EDGE_REACH)
    for index, at in occurrences:
        kind, word, forms = SCANNED_KINDS[index]
        if kind == "word":
            if starts_word(low, at) and (forms is None or low.startswith(forms, at)):
                hits.append(at)
        elif kind == "opening":
            openings.append(at)
        elif kind == "numeric":
            if starts_word(low, at):
                hits.append(at)
        elif kind == "edge" and (at >= tail or at + len(word) <= opening_edge):  # within either edge
            hits.append(at)
    searched_to = 0
    for at in sorted(set(openings)):
        if at >= searched_to:
            match = COPYRIGHT_OR_CC.match(low, at)
            if match:
                add_copyright_or_cc(low, at, hits)
                searched_to = match.end()
    hits += [tail + at for at in phrase_hits(low[tail:])] if tail else phrase_hits(low)
    return hits


def add_copyright_or_cc(low: str, at: int, hits: list[int]) -> None:
    """Keep a match of COPYRIGHT_OR_CC at a word's start; "(c)" is kept from its "("."""
    if low[at + 1] == ")":
        if not at or low[at - 1] != "(":
            return
        at -= 1
    if starts_word(low, at):
        hits.append(at)


def starts_word(low: str, at: int) -> bool:
    """Whether a keyword at this position starts a word (no letter or digit before it)."""
    return at == 0 or not low[at - 1].isalnum()


def has_any(text: str, words: tuple[str, ...]) -> bool:
    """Whether any of the words is in the text (a loop: cheaper than any() over a generator)."""
    for word in words:
        if word in text:
            return True
    return False


@text_cache(max_chars=EDGE_REACH)
def closing_hits(edge: str) -> tuple[int, ...]:
    """Where the edge keywords and every restrictive phrase stand in the closing part of a body.

    The closing part is where a publisher's own terms stand ("May not be modified.", "For non-profit use
    only."), in more wordings than keywords can find; agencies end every item alike, so this is cached.
    """
    return edge_hits(edge) + phrase_hits(edge)


def phrase_hits(text: str) -> tuple[int, ...]:
    """Where a restrictive or reserving phrase starts in a text."""
    found = license_text.term_phrases_in(text)
    if not found:
        return ()
    return tuple(start for kind in license_text.TERM_KINDS for start, _ in found.get(kind, ()))


@text_cache(max_chars=EDGE_REACH)
def edge_hits(edge: str) -> tuple[int, ...]:
    """Where the edge keywords stand in the start or the end of a body (agencies end every item alike)."""
    hits = []
    for keyword in EDGE_KEYWORDS:
        if keyword in edge:  # cheaper than a find loop for the many keywords a body lacks
            at = edge.find(keyword)
            while at != -1:
                hits.append(at)
                at = edge.find(keyword, at + len(keyword))
    return tuple(hits)


def unique(found: list[Statement]) -> list[Statement]:
    """Statements without repeats (wherever their notice stands), in the order found."""
    result, keys = [], set()
    for statement in found:
        key = statement[:-1]
        if key not in keys:
            keys.add(key)
            result.append(statement)
    return result


# ---------------------------------------------------------------- images and their credits


def body_images(body: str) -> list[Image]:
    """The pictures an HTML body shows (license badges and tracking pixels left out)."""
    return find_images(Folded(body))[0] if body else []


def find_images(view: Folded) -> tuple[list[Image], bool]:
    """(the images of the body that show something, whether there are more than are read)."""
    low = view.text
    images, seen = [], 0
    at = low.find("<img")
    while at != -1:
        if seen >= MAX_IMAGES:
            return images, True
        seen += 1
        end = low.find(">", at, at + MAX_TAG)
        if end == -1:
            break
        attributes = tag_attributes(view.slice(at, end + 1))
        src = next((attributes[key] for key in IMAGE_SOURCES if attributes.get(key)), "")
        src = html.unescape(src).strip()
        if src and not is_badge(src, attributes, low, at) and not is_pixel(attributes):
            images.append(Image(src, at, end + 1, view.span(at, end + 1)))
        at = low.find("<img", end)
    return images, False


def is_badge(src: str, attributes: dict, low: str, at: int) -> bool:
    """Whether an image is a license button (the 88x31 badge inside a license link), not a picture."""
    if any(host in src.lower() for host in BADGE_HOSTS):
        return True
    if "creative commons" not in (attributes.get("alt") or "").lower():
        return False
    link = low.rfind("<a", max(0, at - WINDOW), at)  # a self-hosted button: inside a link to a license
    return link != -1 and low.rfind("</a", link, at) == -1 and "creativecommons" in low[link:at]


def is_pixel(attributes: dict) -> bool:
    """Whether an image is a 1x1 tracking pixel (the sanitizer drops those)."""
    width, height = (attributes.get(key, "").strip().rstrip("px") for key in ("width", "height"))
    return width in ("0", "1") and height in ("0", "1")


def credit_region(low: str, image: Image) -> tuple[int, int] | None:
    """The part of the body that credits an image: its figure, else its block and a caption after it."""
    figure = outer_figure(low, image.start)
    if figure is not None:
        close = low.find("</figure", image.end, image.end + 4 * CONTAINER_REACH)
        return figure, (close + len("</figure>")) if close != -1 else min(len(low), image.end + WINDOW)
    (start, end), _ = block_span(low, image.start)
    if visible(low[start:image.start]).strip() or visible(low[image.end:end]).strip():
        return start, end
    # a picture alone in its paragraph: the next short block is its caption when it reads like one
    following = next_text(low, end)
    if following is None:
        return start, end
    (next_start, next_end), _ = block_span(low, following)
    caption = visible(low[next_start:next_end]).strip()
    if caption and len(caption) <= CAPTION_TEXT and any(marker in caption for marker in CAPTION_MARKERS) \
            and not speaks_of_item(caption, is_closing(low, next_end)):
        return start, next_end
    return start, end


def speaks_of_item(text: str, closing: bool) -> bool:
    """Whether a short block speaks of the item: of this article, or the site's formula in the closing part.

    "All content by X is licensed under …" closes an agency's items even right after their last picture.
    """
    subject = license_text.subject_of(text, closing=False)
    return subject == "item" or (subject == "site" and closing)


def next_text(low: str, at: int) -> int | None:
    """Where the next text after a position begins, past tags and white space (within the window)."""
    limit = min(len(low), at + WINDOW)
    while at < limit:
        if low[at] == "<":
            close = low.find(">", at, limit)
            if close == -1:
                return None
            at = close + 1
        elif low[at].isspace():
            at += 1
        else:
            return at
    return None


def credit_statements(text: str, images: list[Image], *, strict: bool, start: int = 0) -> list[Statement]:
    """What a caption or credit says, each statement kept with its images.

    In an element whose class says caption or credit (strict False), what speaks of the item itself
    ("This story was provided by The Associated Press") stays the item's statement.
    """
    if not text:
        return []
    if not strict and license_text.subject_of(text, closing=True) == "item" and not license_text.has_media_word(text):
        return [statement for statement in read_block(text_fragment(text), True, False) if statement.scope == "item"]
    where = tuple(image.where for image in images)
    found = [Statement("license" if m.license else "unrecognized", "media", "caption", "html credit", text,
                       license=m.license, exact=m.exact, images=where) for m in license_text.scan(text)]
    found += [Statement(term.finding_kind, "media", "caption", "html credit", text, term=term.restriction,
                        images=where) for term in license_text.terms(text)]
    party = license_text.credited_party(text)
    if party:
        found.append(Statement("third_party", "media", "caption", "html credit", text, party=party, images=where))
    return found


def text_fragment(text: str) -> str:
    """Plain text as a fragment read_block can take (its markup characters escaped)."""
    return html.escape(text, quote=False)


# ---------------------------------------------------------------- statements in the text


def block_statements(view: Folded, span: tuple[int, int], images: list[Image],
                     markers: set[str] | None = None) -> list[Statement]:
    """The statements of one block of the body, scoped by where the block stands and what it says.

    markers: which of MARKERS the body holds, when a scan said so (None: not known).
    """
    low = view.text
    start, end = span
    if markers is not None and markers.isdisjoint(CONTAINER_MARKERS):
        container, container_start = None, -1  # no figure, caption or credit element anywhere
    else:
        container, container_start = container_kind(low, start)
    fragment = view.slice(start, end)
    if container == "figure":
        return credit_statements(fragment_text(fragment), figure_images(images, container_start, start),
                                 strict=True)
    if container == "credit":
        return credit_statements(fragment_text(fragment), nearby_images(images, start), strict=False)
    # the position-free reading of a block is cached: agencies end every item with the same lines
    found = read_block(fragment, is_closing(low, end) or is_opening(low, start), container == "byline")
    if not found:
        return []
    original = view.span(start, end)
    where = tuple(image.where for image in nearby_images(images, start)) if images else ()
    # built whole rather than with _replace, which costs more than the rest of a cached block's reading
    return [Statement._make(statement[:-1] + (original,)) if statement.scope == "item" else
            Statement._make(statement[:-2] + (where, None)) if statement.scope == "media" else statement
            for statement in found]


@text_cache(max_chars=CACHED_BLOCK)
def read_block(fragment: str, edge: bool, byline: bool) -> tuple[Statement, ...]:
    """What one block of HTML states, scoped, without the offsets that depend on where it stands.

    edge: the block stands in the opening or the closing part of the body, where a bare license line is
    the item's own notice.
    """
    text = fragment_text(fragment)
    short = len(text) <= SHORT_BLOCK
    found = [link_statement(link, text, edge, byline, short) for link in license_links(fragment)]
    mentions = license_text.scan(text)
    found += [text_statement(mention, text, edge, byline, short) for mention in mentions]
    found += grant_statements(text, mentions, edge, byline, short)
    found += rights_statements(text, edge)
    return tuple(found)


def license_links(fragment: str) -> list[dict]:
    """Links in a block to a license: {license, href, rel, anchor}; rel=license links to any terms count."""
    links = []
    lowered = fragment.lower()
    for match in _LINK.finditer(fragment):
        attributes = tag_attributes(match.group(0))
        href = html.unescape(attributes.get("href") or "").strip()
        rels = set((attributes.get("rel") or "").lower().split())
        is_rel = bool(rels & LICENSE_RELS)
        known = licenses.resolve_url(href) if href else None
        if not href or not (known or is_rel or licenses.names_cc_license(href)):
            continue
        close = lowered.find("</a", match.end())
        anchor = visible(fragment[match.end():close if close != -1 else len(fragment)]).strip()
        links.append({"license": known, "href": href, "rel": is_rel, "anchor": anchor})
    return links


def link_statement(link: dict, text: str, edge: bool, byline: bool, short: bool) -> Statement:
    """A license link, scoped: rel=license speaks of the item; a bare link speaks of what its sentence names."""
    kind = "license" if link["license"] else "unrecognized"
    if link["rel"]:
        return Statement(kind, "item", "rel=license", "html rel=license", link["href"], license=link["license"])
    at = text.find(link["anchor"]) if link["anchor"] else -1
    subject = license_text.subject_of(sentence_prefix(text, at if at != -1 else len(text)), edge,
                                      sentence_suffix(text, at + len(link["anchor"]) if at != -1 else len(text)))
    if subject == "media":
        return Statement(kind, "media", "caption", "html link to a license", link["href"], license=link["license"])
    scope, location = scope_of(subject, edge, byline, short)
    return Statement(kind, scope, location, "html link to a license", link["href"], license=link["license"])


def text_statement(mention, text: str, edge: bool, byline: bool, short: bool) -> Statement:
    """A license named in a block's text, scoped by the sentence that names it."""
    sentence = sentence_around(text, mention.start, mention.end)
    subject = license_text.subject_of(sentence_prefix(text, mention.start), edge,
                                      sentence_suffix(text, mention.end))
    kind = "license" if mention.license else "unrecognized"
    if subject == "media":
        return Statement(kind, "media", "caption", "html statement", sentence, license=mention.license,
                         exact=mention.exact)
    scope, location = scope_of(subject, edge, byline, short)
    return Statement(kind, scope, location, "html statement", sentence, license=mention.license,
                     exact=mention.exact)


def grant_statements(text: str, mentions, edge: bool, byline: bool, short: bool) -> list[Statement]:
    """A sentence that grants a license the registry does not know ("licensed under the X License")."""
    found = []
    for start, end in license_text.grants(text):
        if any(start - 40 <= mention.start <= end + 80 for mention in mentions):
            continue  # the grant names a license that was read
        sentence = sentence_around(text, start, end)
        subject = license_text.subject_of(sentence_prefix(text, start), edge)
        if subject == "media":
            continue
        scope, location = scope_of(subject, edge, byline, short)
        found.append(Statement("unrecognized", scope, location, "html statement", sentence))
    return found


def rights_statements(text: str, edge: bool) -> list[Statement]:
    """Reservations of rights, restrictive terms and agencies' credits in a block's text."""
    found = []
    for term in license_text.terms(text):
        sentence = text if len(text) <= QUOTE_WHOLE else sentence_around(text, term.start, term.end)
        subject = license_text.subject_of(sentence_prefix(text, term.start), edge)
        if subject == "other":
            continue
        if subject == "media":
            found.append(Statement(term.finding_kind, "media", "caption", "html credit", sentence,
                                   term=term.restriction))
        else:
            found.append(Statement(term.finding_kind, "item", "closing sentence" if edge else "body",
                                   "html statement", sentence, term=term.restriction))
    party = license_text.credited_party(text, need_marker=True)
    if party:
        media = license_text.has_media_word(text) and license_text.subject_of(text, edge) == "media"
        found.append(Statement("third_party", "media" if media else "item", "caption" if media else "body",
                               "html credit" if media else "html statement", text, party=party))
    return found


def dateline_statements(view: Folded) -> list[Statement]:
    """An agency's dateline at the start of the story's first lines ("WASHINGTON (Reuters) -")."""
    if view.text.find("(", 0, DATELINE_REACH) == -1:  # folding keeps "(" and never moves a character later
        return []
    head = view.slice(0, min(len(view.text), DATELINE_REACH))
    if "(" not in head:  # the folded one was a full-width bracket
        return []
    lines = [line for line in fragment_text(head).split("\n") if line.strip()][:3]
    for line in lines:
        party = license_text.dateline_party(line)
        if party:
            return [Statement("third_party", "item", "body", "html dateline", line[:200], party=party)]
    return []


def scope_of(subject: str, edge: bool, byline: bool, short: bool) -> tuple[str, str]:
    """(scope, location) of a statement from what its sentence speaks of and where it stands."""
    if subject == "other":
        return "mention", "body"
    # "site" (All content by …) and a bare line count where a notice stands: at an edge, in the byline,
    # or as a short line of its own
    if subject == "item" or edge or byline or (short and subject == "none"):
        return "item", "byline" if byline else "closing sentence" if edge else "body"
    return "mention", "body"


def sentence_prefix(text: str, at: int) -> str:
    """The words of the sentence before an offset."""
    start = max(0, at - WINDOW)
    for mark in license_text.CLAUSE_ENDS.finditer(text, start, at):
        start = mark.end()
    return text[start:at]


def sentence_suffix(text: str, at: int) -> str:
    """The words of the clause after an offset."""
    end = license_text.CLAUSE_ENDS.search(text, at, at + WINDOW)
    return text[at:end.start() if end else at + WINDOW]


def nearby_images(images: list[Image], at: int) -> list[Image]:
    """The last image before a position, when it is near enough to be the one a credit speaks of."""
    before = [image for image in images if image.end <= at and at - image.end <= 2 * WINDOW]
    return before[-1:]


def figure_images(images: list[Image], figure_start: int, at: int) -> list[Image]:
    """Every image of the figure a caption belongs to (a gallery's caption covers all its pictures)."""
    found = [image for image in images if figure_start <= image.start < at]
    return found or nearby_images(images, at)


# ---------------------------------------------------------------- where a block stands


def block_span(low: str, hit: int) -> tuple[tuple[int, int], bool]:
    """((start, end), cut): the paragraph (or similar block) around a position, at most WINDOW characters
    each side, no tag cut; cut is True when the window, not a block edge, ended it."""
    floor, ceiling = max(0, hit - WINDOW), min(len(low), hit + WINDOW)
    lines = low.find("\n", floor, ceiling) != -1  # plain text separates paragraphs by blank lines
    start = -1
    for edge in _BLOCK_EDGE.finditer(low, floor, hit):  # the nearest block edge that ends before the hit
        start = edge.end()
    if lines:
        paragraph = low.rfind("\n\n", max(floor, start), hit)
        start = paragraph + 2 if paragraph != -1 else start
    if start == -1:  # no block edge near: cut at the window, but not inside a tag
        start = floor
        opening = low.rfind("<", max(0, floor - WINDOW), floor)
        if opening != -1 and low.rfind(">", opening, floor) == -1:
            start = opening
    following = _BLOCK_EDGE.search(low, hit, ceiling)
    end = following.start() if following else -1
    if lines:
        paragraph = low.find("\n\n", hit, ceiling if end == -1 else end)
        end = paragraph if paragraph != -1 else end
    if end != -1:
        return (start, end), False
    if ceiling == len(low):
        return (start, ceiling), False
    sentence_end = last_sentence_end(low, hit, ceiling)
    if sentence_end:  # a license name the window would cut is read whole from its own hit
        return (start, sentence_end), True
    closing = low.find(">", ceiling, ceiling + WINDOW)
    if closing != -1 and low.find("<", ceiling, closing) == -1:
        ceiling = closing + 1
    return (start, ceiling), True


def last_sentence_end(low: str, start: int, end: int) -> int | None:
    """The end of the last sentence that closes between two positions outside a tag, or None."""
    for match in _SENTENCE_ENDS.finditer(low[start:end][::-1]):
        at = end - match.start() - 1
        if low.rfind("<", start, at) <= low.rfind(">", start, at):
            return at
    return None


def outer_figure(low: str, at: int) -> int | None:
    """Where the outermost figure still open at a position starts (a gallery holds figures), or None."""
    floor = max(0, at - 4 * CONTAINER_REACH)
    found, position = None, at
    for _ in range(MAX_FIGURE_DEPTH):
        opening = low.rfind("<figure", floor, position)
        if opening == -1:
            break
        closed = low.count("</figure", opening, at)
        opened = low.count("<figure", opening, at)
        if opened > closed:
            found = opening
        position = opening
    return found


def container_kind(low: str, at: int) -> tuple[str | None, int]:
    """(kind, where it starts) of the element a block stands in: "figure" inside a figure, figcaption or
    caption; "credit" inside an element whose class or id says caption or credit; "byline"; else None."""
    figure = outer_figure(low, at)
    if figure is not None:
        return "figure", figure
    caption = low.rfind("<caption", max(0, at - CONTAINER_REACH), at)
    if caption != -1 and low.rfind("</caption", caption, at) == -1:
        return "figure", caption
    floor = max(0, at - CONTAINER_REACH // 2)  # a caption's or credit's own tag stands close to its text
    for word in CONTAINER_WORDS:
        found = low.rfind(word, floor, at)
        while found != -1:
            kind = named_container(low, found, floor, at, word)
            if kind:
                return kind
            found = low.rfind(word, floor, found)
    return None, -1


def named_container(low: str, found: int, floor: int, at: int, word: str) -> tuple[str, int] | None:
    """The container a word names when it stands in the class or id of an element still open at `at`."""
    tag_start = low.rfind("<", floor, found)
    if tag_start == -1 or low.rfind(">", tag_start, found) != -1 or low.startswith("</", tag_start):
        return None  # the word is in text, or in an end tag
    name = _TAG_NAME.match(low, tag_start)
    tag_end = low.find(">", found, at)
    if not name or tag_end == -1 or name.group(1) in VOID_TAGS:
        return None
    named = _CLASS_OR_ID.search(low, tag_start, tag_end)
    if not named or word not in named.group(1):
        return None
    tag = name.group(1)
    if low.count(f"</{tag}", tag_end, at) > low.count(f"<{tag}", tag_end, at):
        return None  # closed again before the position
    return ("byline" if word == "byline" else "credit"), tag_start


def is_closing(low: str, end: int) -> bool:
    """Whether a block stands in the closing part of the body (little visible text follows it)."""
    if len(low) - end > 8 * CLOSING_TEXT + EDGE_REACH:
        return False
    tail = _ANY_TAG.sub("", low[end:])
    return len(tail) <= CLOSING_TEXT or len(visible(tail).strip()) <= CLOSING_TEXT


def is_opening(low: str, start: int) -> bool:
    """Whether a block is the first text of the body (where some publishers put their notice)."""
    return start <= EDGE_REACH and not visible(low[:start]).strip()


# ---------------------------------------------------------------- text helpers


def visible(fragment: str) -> str:
    """The text of an HTML fragment, tags removed, whitespace folded."""
    return _SPACE.sub(" ", html.unescape(_ANY_TAG.sub(" ", fragment)))


@text_cache(max_chars=CACHED_BLOCK)
def fragment_text(fragment: str) -> str:
    """The readable text of an HTML fragment, blocks on their own lines (repeated closing lines are cached)."""
    text = _INVISIBLE_TAG.sub("", fragment)
    text = html.unescape(_ANY_TAG.sub("", _SPACING_TAG.sub(" ", _BLOCK_TAG.sub("\n", text))))
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


def text_of(view: Folded, span: tuple[int, int]) -> str:
    """The original text of a folded span of the body."""
    return fragment_text(view.slice(*span))


def tag_attributes(tag: str) -> dict[str, str]:
    """A start tag's attributes by lower-cased name (first one wins, as in browsers)."""
    attributes = {}
    for name, double, single, bare in _ATTRIBUTE.findall(tag[:MAX_TAG]):
        attributes.setdefault(name.lower(), double or single or bare)
    return attributes


def image_key(src: str) -> str:
    """What identifies a picture across its sizes and addresses: its file name without size or query."""
    path = src.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    name = path.rsplit("/", 1)[-1].lower()
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return _SIZE_SUFFIX.sub("", stem)
