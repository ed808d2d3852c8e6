"""License and rights statements in an item's HTML, each with what it speaks of.

A statement decides the item's license only when it speaks of the item: a ``rel="license"`` link outside
figures and captions, a sentence about this article, story, post, work, content or text, or a bare
license line in the closing part of the body or the byline ("All Content by X is licensed under …").
A license, a reservation of rights or an agency's credit inside a figure, a caption or an element whose
class or id says caption or credit, beside an image, or after "photo", "image", "map", "via Flickr" and
the like is a **media credit**: it is kept with its image and never decides the item's license. A
license named for something else ("the dataset is CC BY-NC") is a mention and decides nothing.

The body is read where a keyword occurs and around each image, never parsed whole, so that the cost
stays linear in its length; every offset comes back in the original text, so that evidence is quoted
verbatim and an image or a notice can be cut out of it exactly.
"""

import functools
import html
import re
from dataclasses import dataclass
from typing import NamedTuple

from . import license_text, licenses
from .text import sentence_around
from .textfold import Folded, fold

LICENSE_RELS = frozenset({"license", "http://www.iana.org/assignments/relation/license"})
BADGE_HOSTS = ("i.creativecommons.org", "licensebuttons.net", "mirrors.creativecommons.org",
               "creativecommons.org/images", "ccsearch", "badge")
# where a license may be named in a body: "Attribution 4.0" or "Public Domain Mark" without "CC" or
# "Creative Commons" comes with the word license or a link to creativecommons.org
BODY_LICENSE_KEYWORDS = ("creative",)  # and "cc" before BY or 0 (_CC_CODE)
# where a reservation of rights may be written, in an ASCII body; other bodies are also read for these
RIGHTS_KEYWORDS = ("©", "reserv")
RIGHTS_KEYWORDS_OTHER = ("vorbehalten", "riservat", "voorbehouden", "zastrze", fold("права"), "حقوق", "版权",
                         "版權", "無断", "무단", "hakla")
# looked for in the closing part of the body only, where credit lines and terms of use stand
BODY_KEYWORDS = BODY_LICENSE_KEYWORDS + RIGHTS_KEYWORDS
BODY_KEYWORDS_OTHER = BODY_KEYWORDS + license_text.SCRIPT_KEYWORDS + RIGHTS_KEYWORDS_OTHER
CLOSING_KEYWORDS = ("licen", "copy", "&#169", "(c)", "provided by", "contributed", "prohibit", "republi",
                    "permission", "commercial", "personal use", "deriv", "vorbehalten")  # "copy": &copy; copyright
CONTAINER_WORDS = (("caption", "caption"), ("credit", "caption"), ("byline", "byline"))
WINDOW = 300  # characters read on each side of a keyword for its block
CONTAINER_REACH = 800  # characters searched back for an open figure, caption or credit element
CLOSING_TEXT = 400  # visible characters after a block that still leave it in the body's closing part
CLOSING_REACH = 500  # the part of the body where the closing keywords are looked for
DATELINE_REACH = 300  # a dateline's "(Agency)" stands within the first characters of the body
CAPTION_TEXT = 300  # a block after a lone image is its caption when its text is at most this long
QUOTE_WHOLE = 300  # a rights paragraph this short is quoted whole ("© 2026 Reuters. All rights reserved.")
MAX_IMAGES = 200
MAX_BLOCKS = 200
# a tag that starts or ends a paragraph-like block (in folded, lower-case text)
_BLOCK_EDGE = re.compile(r"</?(?:p|br|div|li|h[1-6]|td|th|blockquote|footer|section|figure|figcaption|caption"
                         r"|article|aside|header|table|tr|dd|dt|ul|ol|pre|hr|main|nav)\b[^>]*>")
_ANY_TAG = re.compile(r"<[^>]*>")
_CC_CODE = re.compile(r"cc[\s_(:-]*(?:by|0|zero)")
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|blockquote|footer|header|section|article"
                        r"|aside|figure|figcaption|caption|hr|pre|table|dd|dt)\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_LINK = re.compile(r"<(?:a|link|area)\b[^>]*>", re.IGNORECASE)
_TAG_NAME = re.compile(r"<([a-z][a-z0-9-]*)")
_SPACE = re.compile(r"\s+")
IMAGE_SOURCES = ("src", "data-src", "data-lazy-src", "data-original")


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
    image: tuple | None = None  # (src, start, end) of the image a media credit belongs to
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


def find_statements(body: str) -> list[Statement]:
    """Every license or rights statement in an HTML body, each scoped to the item, a medium, or neither."""
    if not body:
        return []
    view = Folded(body)
    low = view.text
    images = find_images(view)
    found: list[Statement] = []
    covered: list[tuple[int, int]] = []
    for image in images[:MAX_IMAGES]:
        region = credit_region(low, image)
        covered.append(region)
        found += media_credits(view, region, [image])
    blocks, read_until = 0, -1
    for hit in keyword_hits(low):
        if hit < read_until or blocks >= MAX_BLOCKS or any(start <= hit < end for start, end in covered):
            continue  # in the block read for an earlier hit, or in an image's credit
        span = block_span(low, hit)
        read_until = span[1]
        blocks += 1
        found += block_statements(view, span, images)
    found += dateline_statements(view)
    return unique(found)


def keyword_hits(low: str) -> list[int]:
    """Where a license or a reservation of rights may be written, sorted."""
    hits = license_text.keyword_hits(low, BODY_KEYWORDS if low.isascii() else BODY_KEYWORDS_OTHER)
    # "cc" followed by BY or 0: a regular expression finds it faster than str.find finds two letters
    hits += [match.start() for match in _CC_CODE.finditer(low)
             if match.start() == 0 or not low[match.start() - 1].isalnum()]
    closing = max(0, len(low) - CLOSING_REACH)
    tail = low[closing:]
    for keyword in CLOSING_KEYWORDS:
        if keyword in tail:  # cheaper than a find loop for the many keywords a body lacks
            at = tail.find(keyword)
            while at != -1:
                hits.append(closing + at)
                at = tail.find(keyword, at + len(keyword))
    hits.sort()
    return hits


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
    """The pictures an HTML body shows (license badges left out)."""
    return find_images(Folded(body)) if body else []


def find_images(view: Folded) -> list[Image]:
    """The images of the body that show something (license badges left out)."""
    low = view.text
    images, seen = [], 0
    at = low.find("<img")
    while at != -1 and seen < MAX_IMAGES:
        seen += 1
        end = low.find(">", at)
        if end == -1:
            break
        attributes = tag_attributes(view.slice(at, end + 1))
        src = next((attributes[key] for key in IMAGE_SOURCES if attributes.get(key)), "")
        src = html.unescape(src).strip()
        if src and not is_badge(src, attributes.get("alt") or ""):
            images.append(Image(src, at, end + 1, view.span(at, end + 1)))
        at = low.find("<img", end)
    return images


def is_badge(src: str, alt: str) -> bool:
    """Whether an image is a license badge (the 88x31 button beside a license link), not a picture."""
    lowered = src.lower()
    return any(host in lowered for host in BADGE_HOSTS) or "creative commons" in alt.lower()


def credit_region(low: str, image: Image) -> tuple[int, int]:
    """The part of the body that credits an image: its figure, else its block and a caption after it."""
    figure = open_element(low, image.start, "<figure", "</figure")
    if figure is not None:
        close = low.find("</figure", image.end, image.end + 4 * CONTAINER_REACH)
        return figure, (close + len("</figure>")) if close != -1 else min(len(low), image.end + WINDOW)
    start, end = block_span(low, image.start)
    text_before = visible(low[start:image.start]).strip()
    text_after = visible(low[image.end:end]).strip()
    if not text_before and not text_after:
        # a picture alone in its paragraph: the next short block is its caption
        edge = _BLOCK_EDGE.match(low, end)
        after = edge.end() if edge else end + 1
        next_start, next_end = block_span(low, min(len(low) - 1, after)) if after < len(low) else (end, end)
        if next_start >= end - 1 and len(visible(low[next_start:next_end]).strip()) <= CAPTION_TEXT:
            return start, next_end
    return start, end


def media_credits(view: Folded, region: tuple[int, int], images: list[Image]) -> list[Statement]:
    """The licenses, reservations and agencies a caption or credit names, each kept with its images."""
    text = text_of(view, region)
    if not text:
        return []
    found = []
    for image in images:
        found += credit_statements(text, image)
    return found


def credit_statements(text: str, image: Image | None) -> list[Statement]:
    """Media credit statements read from one caption or credit text."""
    if license_text.subject_of(text, closing=False) == "item" and not any(
            word in fold(text) for word in ("photo", "image", "foto")):
        return []  # a statement about the article itself that happens to follow a picture
    where = (image.src, *image.original) if image else None
    found = [Statement("license" if m.license else "unrecognized", "media", "caption", "html credit", text,
                       license=m.license, exact=m.exact, image=where) for m in license_text.scan(text)]
    found += [Statement("reserved" if term.kind == "reserved" else "restricted", "media", "caption",
                        "html credit", text, term=None if term.kind == "reserved" else term.kind, image=where)
              for term in license_text.terms(text)]
    party = license_text.credited_party(text)
    if party:
        found.append(Statement("third_party", "media", "caption", "html credit", text, party=party, image=where))
    return found


# ---------------------------------------------------------------- statements in the text


def block_statements(view: Folded, span: tuple[int, int], images: list[Image]) -> list[Statement]:
    """The statements of one block of the body, scoped by where the block stands and what it says."""
    low = view.text
    start, end = span
    container = container_kind(low, start)
    fragment = view.slice(start, end)
    nearest = nearest_image(images, start)
    where = (nearest.src, *nearest.original) if nearest else None
    if container == "caption":
        return credit_statements(fragment_text(fragment), nearest)
    original = view.span(start, end)
    # the position-free reading of a block is cached: agencies end every item with the same lines
    found = read_block(fragment, is_closing(low, end), container == "byline")
    # the offsets are the last two fields; building the tuple directly is cheaper than _replace
    return [Statement(*statement[:-1], original) if statement.scope == "item" else
            Statement(*statement[:-2], where, None) if statement.scope == "media" else statement
            for statement in found]


@functools.lru_cache(maxsize=4096)
def read_block(fragment: str, closing: bool, byline: bool) -> tuple[Statement, ...]:
    """What one block of HTML states, scoped, without the offsets that depend on where it stands."""
    text = fragment_text(fragment)
    found = [link_statement(link, text, closing, byline) for link in license_links(fragment)]
    found += [text_statement(mention, text, closing, byline) for mention in license_text.scan(text)]
    found += rights_statements(text, closing)
    return tuple(found)


def license_links(fragment: str) -> list[dict]:
    """Links in a block whose target is a Creative Commons license: {license, href, rel, anchor}."""
    links = []
    for match in _LINK.finditer(fragment):
        attributes = tag_attributes(match.group(0))
        href = html.unescape(attributes.get("href") or "").strip()
        if not href or not (licenses.resolve_url(href) or licenses.names_cc_license(href)):
            continue
        close = fragment.lower().find("</a", match.end())
        anchor = visible(fragment[match.end():close if close != -1 else len(fragment)]).strip()
        rels = set((attributes.get("rel") or "").lower().split())
        links.append({"license": licenses.resolve_url(href), "href": href, "rel": bool(rels & LICENSE_RELS),
                      "anchor": anchor})
    return links


def link_statement(link: dict, text: str, closing: bool, byline: bool) -> Statement:
    """A license link, scoped: rel=license speaks of the item; a bare link speaks of what its sentence names."""
    kind = "license" if link["license"] else "unrecognized"
    if link["rel"]:
        return Statement(kind, "item", "rel=license", "html rel=license", link["href"], license=link["license"])
    at = text.find(link["anchor"]) if link["anchor"] else -1
    prefix = sentence_prefix(text, at if at != -1 else len(text))
    subject = license_text.subject_of(prefix, closing)
    if subject == "media":
        return Statement(kind, "media", "caption", "html link to a license", link["href"], license=link["license"])
    scope, location = scope_of(subject, closing, byline)
    return Statement(kind, scope, location, "html link to a license", link["href"], license=link["license"])


def text_statement(mention, text: str, closing: bool, byline: bool) -> Statement:
    """A license named in a block's text, scoped by the sentence that names it."""
    sentence = sentence_around(text, mention.start, mention.end)
    subject = license_text.subject_of(sentence_prefix(text, mention.start), closing)
    kind = "license" if mention.license else "unrecognized"
    if subject == "media":
        return Statement(kind, "media", "caption", "html statement", sentence, license=mention.license,
                         exact=mention.exact)
    scope, location = scope_of(subject, closing, byline)
    return Statement(kind, scope, location, "html statement", sentence, license=mention.license,
                     exact=mention.exact)


def rights_statements(text: str, closing: bool) -> list[Statement]:
    """Reservations of rights, restrictive terms and agencies' credits in a block's text."""
    found = []
    for term in license_text.terms(text):
        sentence = text if len(text) <= QUOTE_WHOLE else sentence_around(text, term.start, term.end)
        subject = license_text.subject_of(sentence_prefix(text, term.start), closing)
        if subject == "other":
            continue
        kind = "reserved" if term.kind == "reserved" else "restricted"
        restriction = None if term.kind == "reserved" else term.kind
        if subject == "media":
            found.append(Statement(kind, "media", "caption", "html credit", sentence, term=restriction))
        else:
            found.append(Statement(kind, "item", "closing sentence" if closing else "body", "html statement",
                                   sentence, term=restriction))
    party = license_text.credited_party(text, need_marker=True)
    if party:
        media = license_text.subject_of(text, closing) == "media"
        found.append(Statement("third_party", "media" if media else "item", "caption" if media else "body",
                               "html credit" if media else "html statement", text, party=party))
    return found


def dateline_statements(view: Folded) -> list[Statement]:
    """An agency's dateline at the start of the story ("WASHINGTON (Reuters) -")."""
    low = view.text
    opening = low.find("(", 0, DATELINE_REACH)
    if opening == -1 or low.find(")", opening, DATELINE_REACH) == -1:
        return []
    first = len(low) - len(low.lstrip())
    span = block_span(low, first if low[first:first + 1] != "<" else low.find(">", first) + 1)
    text = text_of(view, span)[:200]
    party = license_text.dateline_party(text) if text else None
    if not party:
        return []
    return [Statement("third_party", "item", "body", "html dateline", text, party=party, block=view.span(*span))]


def scope_of(subject: str, closing: bool, byline: bool) -> tuple[str, str]:
    """(scope, location) of a statement from what its sentence speaks of and where it stands."""
    if subject == "other":
        return "mention", "body"
    if subject == "item" or closing or byline:  # "site" and "none" count only where a credit line stands
        return "item", "byline" if byline else "closing sentence" if closing else "body"
    return "mention", "body"


def sentence_prefix(text: str, at: int) -> str:
    """The words of the sentence before an offset."""
    start = max(0, at - WINDOW)
    for mark in license_text.CLAUSE_ENDS.finditer(text, start, at):
        start = mark.end()
    return text[start:at]


def nearest_image(images: list[Image], at: int) -> Image | None:
    """The last image before a position, when it is near enough to be the one a credit speaks of."""
    before = [image for image in images if image.end <= at and at - image.end <= 2 * WINDOW]
    return before[-1] if before else None


# ---------------------------------------------------------------- where a block stands


def block_span(low: str, hit: int) -> tuple[int, int]:
    """The paragraph (or similar block) around a position, at most WINDOW characters each side, no tag cut."""
    floor, ceiling = max(0, hit - WINDOW), min(len(low), hit + WINDOW)
    start = -1
    for match in _BLOCK_EDGE.finditer(low, floor, hit):
        start = match.end()
    newline = low.rfind("\n", floor, hit)
    start = max(start, newline + 1 if newline != -1 else -1)
    if start == -1:  # no block edge near: cut at the window, but not inside a tag
        start = floor
        opening = low.rfind("<", max(0, floor - WINDOW), floor)
        if opening != -1 and low.rfind(">", opening, floor) == -1:
            start = opening
    following = _BLOCK_EDGE.search(low, hit, ceiling)
    newline = low.find("\n", hit, ceiling)
    ends = [at for at in (following.start() if following else -1, newline) if at != -1]
    if ends:
        return start, min(ends)
    closing = low.find(">", ceiling, ceiling + WINDOW)
    if closing != -1 and low.find("<", ceiling, closing) == -1:
        ceiling = closing + 1
    return start, ceiling


def open_element(low: str, at: int, opening: str, closing: str) -> int | None:
    """Where the innermost element opened by `opening` that is still open at a position starts, or None."""
    floor = max(0, at - CONTAINER_REACH)
    last_open = low.rfind(opening, floor, at)
    if last_open == -1 or low.rfind(closing, last_open, at) != -1:
        return None
    return last_open


def container_kind(low: str, at: int) -> str | None:
    """"caption" inside a figure, figcaption, caption or credit element; "byline" inside a byline; else None."""
    if open_element(low, at, "<fig", "</fig") is not None:  # <figure> and <figcaption> alike
        return "caption"
    floor = max(0, at - CONTAINER_REACH // 2)  # a caption's or credit's own tag stands close to its text
    for word, kind in CONTAINER_WORDS:
        found = low.rfind(word, floor, at)
        if found == -1:
            continue
        tag_start = low.rfind("<", floor, found)
        if tag_start == -1 or low.rfind(">", tag_start, found) != -1 or low.startswith("</", tag_start):
            continue  # the word is in text, or in an end tag
        name = _TAG_NAME.match(low, tag_start)
        tag_end = low.find(">", found)
        if not name or tag_end == -1 or tag_end >= at:
            continue
        tag = name.group(1)
        named_so = tag == word or "class" in low[tag_start:found] or "id=" in low[tag_start:found]
        if named_so and low.count(f"</{tag}", tag_end, at) <= low.count(f"<{tag}", tag_end, at):
            return kind
    return None


def is_closing(low: str, end: int) -> bool:
    """Whether a block stands in the closing part of the body (little visible text follows it)."""
    if len(low) - end > 8 * CLOSING_TEXT + CLOSING_REACH:
        return False
    tail = _ANY_TAG.sub("", low[end:])
    return len(tail) <= CLOSING_TEXT or len(visible(tail).strip()) <= CLOSING_TEXT


# ---------------------------------------------------------------- text helpers


def visible(fragment: str) -> str:
    """The text of an HTML fragment, tags removed, whitespace folded."""
    return _SPACE.sub(" ", html.unescape(_ANY_TAG.sub(" ", fragment)))


@functools.lru_cache(maxsize=4096)
def fragment_text(fragment: str) -> str:
    """The readable text of an HTML fragment, blocks on their own lines (repeated closing lines are cached)."""
    text = html.unescape(_ANY_TAG.sub("", _BLOCK_TAG.sub("\n", fragment)))
    return "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())


def text_of(view: Folded, span: tuple[int, int]) -> str:
    """The original text of a folded span of the body."""
    return fragment_text(view.slice(*span))


def tag_attributes(tag: str) -> dict[str, str]:
    """A start tag's attributes by lower-cased name (first one wins, as in browsers)."""
    attributes = {}
    for name, double, single, bare in _ATTRIBUTE.findall(tag):
        attributes.setdefault(name.lower(), double or single or bare)
    return attributes
