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

from . import license_text, licenses
from .text import sentence_around
from .textfold import Folded, fold

LICENSE_RELS = frozenset({"license", "http://www.iana.org/assignments/relation/license"})
BADGE_HOSTS = ("i.creativecommons.org", "licensebuttons.net", "mirrors.creativecommons.org",
               "creativecommons.org/images", "ccsearch", "badge")
# where a reservation of rights may be written, in an ASCII body; other bodies are also read for these
RIGHTS_KEYWORDS = ("©", "&copy", "&#169", "(c)", "copyright", "reserv")
RIGHTS_KEYWORDS_OTHER = ("vorbehalten", "riservat", "voorbehouden", "zastrze", fold("права"), "حقوق", "版权",
                         "版權", "無断", "무단", "hakla")
CLOSING_KEYWORDS = ("provided by", "distributed by", "supplied by", "prohibit", "contributed to this report",
                    "republi", "permission")
CONTAINER_WORDS = (("caption", "caption"), ("credit", "caption"), ("byline", "byline"), ("author", "byline"))
WINDOW = 300  # characters read on each side of a keyword for its block
CONTAINER_REACH = 3000  # characters searched back for an open figure, caption or credit element
CLOSING_TEXT = 400  # visible characters after a block that still leave it in the body's closing part
CLOSING_REACH = 2000  # the part of the body where the closing keywords are looked for
CAPTION_TEXT = 300  # a block after a lone image is its caption when its text is at most this long
MAX_IMAGES = 200
MAX_BLOCKS = 200
BLOCK_TAGS = ("<p", "</p", "<br", "<div", "</div", "<li", "</li", "<h", "</h", "<td", "</td", "<blockquote",
              "</blockquote", "<footer", "</footer", "<section", "</section", "<figure", "</figure",
              "<figcaption", "</figcaption", "<caption", "</caption", "<article", "</article", "<aside",
              "</aside", "<header", "</header", "<table", "</table", "<tr", "</tr", "<dd", "</dd", "<dt",
              "</dt", "<ul", "</ul", "<ol", "</ol", "<pre", "</pre")
_ANY_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|blockquote|footer|header|section|article"
                        r"|aside|figure|figcaption|caption|hr|pre|table|dd|dt)\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_LINK = re.compile(r"<(?:a|link|area)\b[^>]*>", re.IGNORECASE)
_TAG_NAME = re.compile(r"<([a-z][a-z0-9-]*)")
_SPACE = re.compile(r"\s+")
IMAGE_SOURCES = ("src", "data-src", "data-lazy-src", "data-original")


@dataclass(frozen=True)
class Statement:
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
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


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
    images, badges = find_images(view)
    found: list[Statement] = []
    covered: list[tuple[int, int]] = []
    for image in images[:MAX_IMAGES]:
        region = credit_region(low, image)
        covered.append(region)
        found += media_credits(view, region, [image])
    blocks, seen = 0, set()
    for hit in keyword_hits(low):
        if any(start <= hit < end for start, end in covered) or blocks >= MAX_BLOCKS:
            continue
        span = block_span(low, hit)
        if span in seen:
            continue
        seen.add(span)
        blocks += 1
        found += block_statements(view, span, images, badges, covered)
    found += dateline_statements(view)
    return unique(found)


def keyword_hits(low: str) -> list[int]:
    """Where a license or a reservation of rights may be written, sorted."""
    ascii_body = low.isascii()
    keywords = license_text.LICENSE_KEYWORDS + RIGHTS_KEYWORDS
    if not ascii_body:
        keywords += license_text.SCRIPT_KEYWORDS + RIGHTS_KEYWORDS_OTHER
    hits = license_text.keyword_hits(low, keywords)
    closing = max(0, len(low) - CLOSING_REACH)
    for keyword in CLOSING_KEYWORDS:
        at = low.find(keyword, closing)
        while at != -1:
            hits.append(at)
            at = low.find(keyword, at + len(keyword))
    hits.sort()
    return hits


def unique(found: list[Statement]) -> list[Statement]:
    """Statements without repeats, in the order found."""
    result, keys = [], set()
    for statement in found:
        key = (statement.kind, statement.scope, statement.license, statement.party, statement.term,
               statement.text, statement.image)
        if key not in keys:
            keys.add(key)
            result.append(statement)
    return result


# ---------------------------------------------------------------- images and their credits


def body_images(body: str) -> list[Image]:
    """The pictures an HTML body shows (license badges left out)."""
    return find_images(Folded(body))[0] if body else []


def find_images(view: Folded) -> tuple[list[Image], list[tuple[int, int]]]:
    """(images that show something, license badges) of the body."""
    low = view.text
    images, badges = [], []
    at = low.find("<img")
    while at != -1 and len(images) + len(badges) < MAX_IMAGES:
        end = low.find(">", at)
        if end == -1:
            break
        attributes = tag_attributes(view.slice(at, end + 1))
        src = next((attributes[key] for key in IMAGE_SOURCES if attributes.get(key)), "")
        src = html.unescape(src).strip()
        if is_badge(src, attributes.get("alt") or ""):
            badges.append((at, end + 1))
        elif src:
            images.append(Image(src, at, end + 1, view.span(at, end + 1)))
        at = low.find("<img", end)
    return images, badges


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
        next_start, next_end = block_span(low, min(len(low) - 1, end + 1)) if end < len(low) else (end, end)
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


def block_statements(view: Folded, span: tuple[int, int], images: list[Image], badges: list[tuple[int, int]],
                     covered: list[tuple[int, int]]) -> list[Statement]:
    """The statements of one block of the body, scoped by where the block stands and what it says."""
    low = view.text
    start, end = span
    text = text_of(view, span)
    container = container_kind(low, start)
    if container == "caption":
        nearest = nearest_image(images, start)
        return credit_statements(text, nearest)
    closing = is_closing(low, end)
    byline = container == "byline"
    original = view.span(start, end)
    found = []
    for link in license_links(view, span, badges):
        found.append(link_statement(link, text, closing, byline, original))
    for mention in license_text.scan(text):
        found.append(text_statement(mention, text, closing, byline, original, images, start))
    found += rights_statements(text, closing, original, images, start)
    return [statement for statement in found if statement is not None]


def license_links(view: Folded, span: tuple[int, int], badges: list[tuple[int, int]]) -> list[dict]:
    """Links in a block whose target is a Creative Commons license: {license, href, rel, anchor}."""
    low = view.text
    start, end = span
    links = []
    for match in _LINK.finditer(low, start, end):
        attributes = tag_attributes(view.slice(match.start(), match.end()))
        href = html.unescape(attributes.get("href") or "").strip()
        if not href or not (licenses.resolve_url(href) or licenses.names_cc_license(href)):
            continue
        close = low.find("</a", match.end(), end)
        anchor = visible(view.slice(match.end(), close if close != -1 else end)).strip()
        rels = set((attributes.get("rel") or "").lower().split())
        badge = any(match.end() <= first and last <= (close if close != -1 else end) for first, last in badges)
        links.append({"license": licenses.resolve_url(href), "href": href, "rel": bool(rels & LICENSE_RELS),
                      "anchor": anchor, "badge": badge})
    return links


def link_statement(link: dict, text: str, closing: bool, byline: bool, block: tuple) -> Statement:
    """A license link, scoped: rel=license speaks of the item; a bare link speaks of what its sentence names."""
    kind = "license" if link["license"] else "unrecognized"
    if link["rel"]:
        return Statement(kind, "item", "rel=license", "html rel=license", link["href"], license=link["license"],
                         block=block)
    at = text.find(link["anchor"]) if link["anchor"] else -1
    prefix = sentence_prefix(text, at if at != -1 else len(text))
    scope, location = scope_of(license_text.subject_of(prefix, closing), closing, byline)
    return Statement(kind, scope, location, "html link to a license", link["href"], license=link["license"],
                     block=block if scope == "item" else None)


def text_statement(mention, text: str, closing: bool, byline: bool, block: tuple, images: list[Image],
                   start: int) -> Statement:
    """A license named in a block's text, scoped by the sentence that names it."""
    sentence = sentence_around(text, mention.start, mention.end)
    subject = license_text.subject_of(sentence_prefix(text, mention.start), closing)
    kind = "license" if mention.license else "unrecognized"
    if subject == "media":
        nearest = nearest_image(images, start)
        return Statement(kind, "media", "caption", "html statement", sentence, license=mention.license,
                         exact=mention.exact, image=(nearest.src, *nearest.original) if nearest else None)
    scope, location = scope_of(subject, closing, byline)
    return Statement(kind, scope, location, "html statement", sentence, license=mention.license,
                     exact=mention.exact, block=block if scope == "item" else None)


def rights_statements(text: str, closing: bool, block: tuple, images: list[Image], start: int) -> list[Statement]:
    """Reservations of rights, restrictive terms and agencies' credits in a block's text."""
    found = []
    for term in license_text.terms(text):
        sentence = sentence_around(text, term.start, term.end)
        subject = license_text.subject_of(sentence_prefix(text, term.start), closing)
        if subject == "other":
            continue
        kind = "reserved" if term.kind == "reserved" else "restricted"
        restriction = None if term.kind == "reserved" else term.kind
        if subject == "media":
            nearest = nearest_image(images, start)
            found.append(Statement(kind, "media", "caption", "html credit", sentence, term=restriction,
                                   image=(nearest.src, *nearest.original) if nearest else None))
        else:
            found.append(Statement(kind, "item", "closing sentence" if closing else "body", "html statement",
                                   sentence, term=restriction, block=block))
    party = license_text.credited_party(text, need_marker=True)
    if party:
        subject = license_text.subject_of(text, closing)
        scope = "media" if subject == "media" else "item"
        nearest = nearest_image(images, start) if scope == "media" else None
        found.append(Statement("third_party", scope, "caption" if scope == "media" else "body",
                               "html credit" if scope == "media" else "html statement", text, party=party,
                               image=(nearest.src, *nearest.original) if nearest else None,
                               block=block if scope == "item" else None))
    return found


def dateline_statements(view: Folded) -> list[Statement]:
    """An agency's dateline at the start of the story ("WASHINGTON (Reuters) -")."""
    low = view.text
    first = next((at for at in range(min(len(low), 2000)) if not low[at].isspace()), None)
    if first is None:
        return []
    span = block_span(low, first if low[first] != "<" else low.find(">", first) + 1)
    text = text_of(view, span)[:200]
    party = license_text.dateline_party(text) if text else None
    if not party:
        return []
    return [Statement("third_party", "item", "body", "html dateline", text, party=party, block=view.span(*span))]


def scope_of(subject: str, closing: bool, byline: bool) -> tuple[str, str]:
    """(scope, location) of a statement from what its sentence speaks of and where it stands."""
    if subject == "other":
        return "mention", "body"
    if subject == "item" or closing or byline:
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
    start = low.rfind("<", floor, hit)
    while start != -1 and not low.startswith(BLOCK_TAGS, start):
        start = low.rfind("<", floor, start)
    if start != -1:
        close = low.find(">", start, hit)
        start = close + 1 if close != -1 else start
    newline = low.rfind("\n", floor, hit)
    start = max(start, newline + 1 if newline != -1 else -1)
    if start == -1:  # no block edge near: cut at the window, but not inside a tag
        start = floor
        opening = low.rfind("<", max(0, floor - WINDOW), floor)
        if opening != -1 and low.rfind(">", opening, floor) == -1:
            start = opening
    end = low.find("<", hit, ceiling)
    while end != -1 and not low.startswith(BLOCK_TAGS, end):
        end = low.find("<", end + 1, ceiling)
    newline = low.find("\n", hit, ceiling)
    ends = [at for at in (end, newline) if at != -1]
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
    if open_element(low, at, "<figcaption", "</figcaption") is not None \
            or open_element(low, at, "<figure", "</figure") is not None \
            or open_element(low, at, "<caption", "</caption") is not None:
        return "caption"
    floor = max(0, at - CONTAINER_REACH)
    for word, kind in CONTAINER_WORDS:
        found = low.rfind(word, floor, at)
        if found == -1:
            continue
        tag_start = low.rfind("<", floor, found)
        if tag_start == -1 or low.rfind(">", tag_start, found) != -1 or low.startswith("</", tag_start):
            continue  # the word is in text, not in a start tag
        attributes = low[tag_start:found]
        if "class" not in attributes and "id=" not in attributes:
            continue
        name = _TAG_NAME.match(low, tag_start)
        tag_end = low.find(">", found)
        if name and tag_end != -1 and tag_end < at:
            tag = name.group(1)
            opened = low.count(f"<{tag}", tag_end, at)
            closed = low.count(f"</{tag}", tag_end, at)
            if closed <= opened:
                return kind
    return None


def is_closing(low: str, end: int) -> bool:
    """Whether a block stands in the closing part of the body (little visible text follows it)."""
    tail = low[end:]
    if len(tail) > 8 * CLOSING_TEXT + CLOSING_REACH:
        return False
    return len(visible(tail).strip()) <= CLOSING_TEXT


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
