"""Reading licenses and rights in running text: license names as people write them, restrictive terms,
reservations of rights and third parties' credits.

License names are read in every spelling the registry's own data gives (Creative Commons' titles in the
languages it publishes its deeds in: "Namensnennung - Nicht kommerziell", "Atribución-NoComercial",
"Pas d'Utilisation Commerciale"), in CC's short codes ("CC BY-NC 4.0", "Creative Commons (BY-NC)") and
as license URLs, after ``textfold`` has given every dash, invisible character, lookalike letter and
accent one spelling. A mention that says Creative Commons but names no license the registry knows is
reported as unrecognized, never dropped: the license stage holds such an item for an editor.

Long texts (article bodies) are read only where a keyword occurs, so that the cost stays linear in the
length of the text; short texts (rights lines, captions, sentences) are read whole and cached, because
feeds repeat them item after item.
"""

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

from ahocorasick_rs import AhoCorasick, Implementation

from . import licenses
from .textfold import Folded, fold, fold_pattern, text_cache, without_invisible

SHORT_TEXT = 600  # characters; rights lines and sentences are shorter, article bodies longer
CACHED_TEXT = 4096  # characters of a text up to which what it says is kept (rights lines, blocks)
# characters below which a text's restrictive phrases are read again rather than kept: the short bodies
# read for them are mostly summaries, which differ item by item (a body's closing part, which repeats,
# is longer)
UNKEPT_PHRASE_TEXT = 400
# keywords where a license mention may start, in any text (folded spelling)
LICENSE_KEYWORDS = ("creative", "cc", "attribution", "domain mark")
# CC's name written in other scripts
SCRIPT_KEYWORDS = ("クリエイティブ", "知识共享", "創用", "创用", "크리에이티브", fold("Криэйтив"), fold("Креатив"))
_SEP = r"(?:\s*[-,/+&_.|·]\s*|\s+)"
_VERSION = r"(?:\s*[-,(]?\s*(?:v(?:ersion)?\.?\s*)?(?P<version>[1-9](?:\.\d)?)(?![\d.]\d)(?!\d))"
_URL = re.compile(r"creativecommons\.org/(?:licenses|publicdomain)/[^\s\"'<>()\[\]{}]*")
_CC0 = re.compile(r"(?:creative\s*commons\s+)?(?:cc[\s-]?0|cc[\s-]?zero|creative\s*commons\s+zero)\b"
                  r"(?:\s*(?:v\s*)?1\.0)?(?:\s+universal)?")
_PDM = re.compile(r"public\s+domain\s+mark\b(?:\s+1\.0)?")
_SHORT = re.compile(
    r"(?:creative\s*commons|cc)(?:\s*(?:license|licence|lizenz|licencia)\s*)?\s*[-_:(]?\s*\(?\s*by"
    rf"(?P<elements>(?:{_SEP}(?:nc|nd|sa)(?![a-z]))*)\s*\)?{_VERSION}?(?![a-z])")
_CC_PREFIX = re.compile(r"(?:(?:creative\s*commons|cc)\s*[-:(\"]?\s*|(?:" + "|".join(map(re.escape, SCRIPT_KEYWORDS))
                        + r")[^\s\d]{0,12}\s*)")
_CODES = re.compile(r"nc|nd|sa")
TRAILING_REACH = 40  # characters after a license name still read for restrictive words it lacks
# restrictive element words, however spaced, that a plain BY-family name does not account for
TRAILING_RESTRICTIONS = (
    ("non_commercial", re.compile(r"(?<![a-z])n\W{0,2}c(?![a-z])|non\W{0,2}commercial|not\W+commercial")),
    ("no_derivatives", re.compile(r"(?<![a-z])n\W{0,2}d(?![a-z])|no\W{0,2}deriv")),
)
_EDITION_WORDS = ("international", "unported", "generic", "license", "licence", "lizenz", "licencia", "public")
_WORD = re.compile(r"\w+")
_ASCII_WORD = re.compile(r"\w+", re.ASCII)  # the same words in ASCII text, found faster


@dataclass(frozen=True)
class Mention:
    """One license named in a text: its id (None when the registry does not know it) and where it is."""

    license: str | None
    exact: bool  # False when no version was named ("CC BY" means 4.0)
    start: int
    end: int


# ---------------------------------------------------------------- phrases from the registry's data

_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")
_AFTER_VERSION = re.compile(r"\s*\d+\.\d+.*$", re.DOTALL)
_BRACKETED = re.compile(r"\([^)]*\)|（[^）]*）|[„“”»«\"!]")
_VERSION_WORDS = re.compile(r"\s+(?:" + "|".join(map(fold, ("версии", "version", "versión", "versão", "versione")))
                            + r")$")
ENGLISH_PHRASES = {  # spellings people use besides CC's own titles
    "by": ("attribution",),
    "nc": ("non commercial", "noncommercial", "non-commercial"),
    "nd": ("no derivatives", "no derivs", "no derivative works", "noderivatives", "noderivs"),
    "sa": ("share alike", "sharealike", "share-alike"),
}


def title_parts(title: str, elements: list[str]) -> list[str] | None:
    """A license title cut into one phrase per element ("Namensnennung - Nicht kommerziell" -> 2), or None.

    The title is cut at its strongest separator only (a spaced dash, else a dash, else a comma); a title
    that does not cut into as many parts as the license has elements is left out.
    """
    text = fold(_AFTER_VERSION.sub("", _BRACKETED.sub(" ", _CAMEL.sub(" ", title))))
    text = _VERSION_WORDS.sub("", re.sub(r"^creative\s*commons\s+", "", " ".join(text.split())))
    if len(elements) == 1:
        return [text.strip(" -.,")] if text.strip(" -.,") else None
    for separator in (" - ", ",", "-", " "):
        parts = [part.strip(" -.,") for part in text.split(separator)]
        # a hyphen that ties a short prefix to its word ("non-commercial") does not separate elements
        if len(parts) == len(elements) and all(parts) and not (
                separator == "-" and any(len(part.split()[-1]) <= 3 and part.isascii() for part in parts[:-1])):
            return parts
    return None


@functools.lru_cache(maxsize=1)
def element_phrases() -> dict[str, tuple[str, ...]]:
    """Every folded spelling of each element (by, nc, nd, sa): CC's titles in all languages, and English.

    A spelling counts when the titles of at least two licenses give it, so that a title cut in the
    wrong place ("Attribution Non-commercial No Derivatives" cut at its hyphens) adds nothing.
    """
    seen: dict[tuple[str, str], set[str]] = {}
    for entry in licenses.REGISTRY.values():
        elements = entry["unit"].split("-")
        if entry["unit"] in licenses.OTHER_UNITS or not set(elements) <= set(ENGLISH_PHRASES):
            continue
        for title in entry["titles"].values():
            for element, part in zip(elements, title_parts(title, elements) or ()):
                for alternative in part.split("/"):
                    phrase = " ".join(alternative.split())
                    if len(phrase) >= 2:
                        seen.setdefault((element, phrase), set()).add(entry["id"])
    phrases = {element: set(words) for element, words in ENGLISH_PHRASES.items()}
    for (element, phrase), sources in seen.items():
        if len(sources) >= 2:
            phrases[element].add(phrase)
    shared = {phrase for element in phrases for phrase in phrases[element]
              if sum(phrase in others for others in phrases.values()) > 1}
    return {element: tuple(sorted(found - shared, key=len, reverse=True)) for element, found in phrases.items()}


def phrase_pattern(phrases) -> str:
    """An alternation of phrases whose words may be joined by spaces, hyphens or nothing."""
    return "|".join(r"[\s-]*".join(map(re.escape, phrase.split())) for phrase in phrases)


@functools.lru_cache(maxsize=1)
def grammar() -> dict:
    """The compiled readers built from the registry's phrases."""
    phrases = element_phrases()
    elements = phrase_pattern(phrases["nc"] + phrases["nd"] + phrases["sa"])
    by_words = {phrase.split()[0]: phrase.isascii() for phrase in phrases["by"]
                if len(phrase.split()[0]) >= 4 or not phrase.isascii()}
    return {
        "element": re.compile("|".join(f"(?P<{name}>{phrase_pattern(phrases[name])})" for name in ("nc", "nd", "sa"))),
        "long": re.compile(rf"(?P<by>{phrase_pattern(phrases['by'])})(?P<elements>(?:{_SEP}(?:{elements}))*){_VERSION}?"),
        "rights_keywords": {
            True: fewest_keywords(set(LICENSE_KEYWORDS) | {word for word, ascii in by_words.items() if ascii}),
            False: fewest_keywords(set(LICENSE_KEYWORDS) | set(by_words) | set(SCRIPT_KEYWORDS))},
        "ports": port_words(),
    }


def fewest_keywords(keywords: set[str]) -> tuple[str, ...]:
    """The keywords that find every hit: one that starts with another finds nothing more ("cc" after "c")."""
    return tuple(sorted(keyword for keyword in keywords if not any(
        other != keyword and keyword.startswith(other) and (keyword.isascii() or not other.isascii())
        for other in keywords)))


def port_words() -> dict[str, str]:
    """Folded names and codes of CC's jurisdictions ("france", "fr", "deutschland") -> port code."""
    words = {"igo": "igo", "oig": "igo", "england and wales": "uk", "scotland": "scotland"}
    for entry in licenses.REGISTRY.values():
        if entry["jurisdiction"]:
            words.setdefault(entry["jurisdiction"], entry["jurisdiction"])
            words.setdefault(" ".join(_WORD.findall(fold(entry["jurisdiction_name"]))), entry["jurisdiction"])
    for port, record in licenses.JURISDICTIONS.items():
        words.setdefault(port, port)
        for titles in (record.get("titles") or {}).values():
            for title in titles if isinstance(titles, list) else [titles]:
                words.setdefault(" ".join(_WORD.findall(fold(title))), port)
    return words


# ---------------------------------------------------------------- license mentions


def scan(text: str) -> tuple[Mention, ...]:
    """Every license mention in a text, with offsets in the original text."""
    if not text:
        return ()
    return scan_short(text) if len(text) <= SHORT_TEXT else scan_long(text)


@text_cache(max_chars=SHORT_TEXT)
def scan_short(text: str) -> tuple[Mention, ...]:
    """scan for short, often repeated texts: every keyword, translated element names included (in ASCII
    text, only those of names written in ASCII: "С указанием авторства" folds to a "c" it cannot match)."""
    folded = Folded(text)
    return read_mentions(folded, grammar()["rights_keywords"][folded.text.isascii()])


def scan_long(text: str) -> tuple[Mention, ...]:
    """scan for long texts: read only where CC, Creative Commons or an English license name occurs."""
    folded = Folded(text)
    keywords = LICENSE_KEYWORDS if folded.text.isascii() else LICENSE_KEYWORDS + SCRIPT_KEYWORDS
    return read_mentions(folded, keywords)


def keyword_hits(lowered: str, keywords) -> list[int]:
    """Sorted start positions of keywords at a word start."""
    hits = []
    for keyword in keywords:
        at = lowered.find(keyword)
        while at != -1:
            if at == 0 or not lowered[at - 1].isalnum() or not keyword.isascii():
                hits.append(at)
            at = lowered.find(keyword, at + len(keyword))
    hits.sort()
    return hits


def read_mentions(folded: Folded, keywords) -> tuple[Mention, ...]:
    """The mentions that start at keyword hits, each read once, in original offsets."""
    lowered, mentions, covered = folded.text, [], 0
    for hit in keyword_hits(lowered, keywords):
        if hit < covered:
            continue
        found = mention_at(lowered, hit, folded)
        if found:
            spdx_id, exact, end = found
            start, stop = folded.span(hit if not lowered.startswith("domain", hit) else max(0, hit - 7), end)
            mentions.append(Mention(spdx_id, exact, start, stop))
            covered = end
    return tuple(mentions)


def mention_at(lowered: str, hit: int, folded: Folded | None = None) -> tuple[str | None, bool, int] | None:
    """(id or None, names a version, end) of the mention starting at hit, or None when none starts there."""
    if lowered.startswith("creativecommons.org", hit):
        url = _URL.match(lowered, hit)
        if url:
            target = url.group(0).rstrip(".,;:!?")
            spdx_id = licenses.resolve_url(target)
            if spdx_id or licenses.names_cc_license(target):
                return spdx_id, True, hit + len(target)
        return None
    if lowered.startswith("domain mark", hit):
        match = _PDM.match(lowered, max(0, hit - 7))
        return ("PDM-1.0", True, match.end()) if match and match.start() == hit - 7 else None
    cc0 = _CC0.match(lowered, hit)
    if cc0:
        return "CC0-1.0", True, cc0.end()
    short = _SHORT.match(lowered, hit)
    if short:
        if is_prose_cc_by(short, folded):
            return None
        found = license_from(_CODES.findall(short.group("elements")), short.group("version"), lowered, short.end())
        return unless_restricted(found, lowered, hit)
    prefix = _CC_PREFIX.match(lowered, hit)
    start = prefix.end() if prefix and prefix.end() > hit else hit
    long_form = grammar()["long"].match(lowered, start)
    if long_form and (prefix or long_form.group("elements") or long_form.group("version")):
        found = license_from(element_units(long_form.group("elements")), long_form.group("version"), lowered,
                             long_form.end())
        return unless_restricted(found, lowered, hit)
    if prefix and not lowered.startswith("cc", hit):
        return None, False, prefix.end()  # "Creative Commons" and words no license of the registry has
    return None


def unless_restricted(found: tuple[str | None, bool, int], lowered: str, start: int) -> tuple[str | None, bool, int]:
    """The mention, or an unrecognized one when non-commercial or no-derivatives words stand in it or
    right after it that its license lacks ("CC BY 4.0 NC", "CC BY (NC)", "CC BY-N C")."""
    spdx_id, exact, end = found
    entry = licenses.REGISTRY.get(spdx_id or "") or {}
    if not spdx_id or (entry.get("non_commercial") and entry.get("no_derivatives")):
        return found
    clause = CLAUSE_ENDS.search(lowered, end, end + TRAILING_REACH)
    reach = lowered[start:clause.start() if clause else end + TRAILING_REACH]
    for kind, pattern in TRAILING_RESTRICTIONS:
        if not entry.get(kind) and pattern.search(reach):
            return None, exact, end
    return found


def is_prose_cc_by(match: re.Match, folded: Folded | None) -> bool:
    """A bare lower-case "cc by" with nothing after it is prose ("please cc by email"), not a license."""
    if match.group("elements") or match.group("version") or folded is None:
        return False
    original = folded.slice(match.start(), match.end())
    return original[:2] == "cc" and len(original) > 2 and original[2].isspace()


def element_units(elements: str | None) -> list[str]:
    """The units ("nc", "nd", "sa") that element names spell, in any language."""
    found = []
    for match in grammar()["element"].finditer(elements or ""):
        found += [name for name in ("nc", "nd", "sa") if match.group(name)]
    return found


def license_from(elements: list[str], version: str | None, lowered: str, end: int) -> tuple[str | None, bool, int]:
    """The id for a BY-family mention's elements, version and port; None when no such license exists."""
    units = {"by", *elements}
    if {"nd", "sa"} <= units:
        return None, bool(version), end
    unit = "-".join(name for name in ("by", "nc", "nd", "sa") if name in units)
    if not version:
        return licenses.by_units(unit, "4.0"), False, end
    if "." not in version:
        version += ".0"
    port, port_end = port_after(lowered, end)
    spellings = (unit, unit.replace("nc-nd", "nd-nc"))  # 1.0 wrote "nd-nc"
    for spelling in spellings if port else ():
        if licenses.by_units(spelling, version, port):
            return licenses.by_units(spelling, version, port), True, port_end
    return next((licenses.by_units(s, version) for s in spellings if licenses.by_units(s, version)), None), True, end


def port_after(lowered: str, end: int) -> tuple[str | None, int]:
    """A jurisdiction named right after a version ("2.0 France", "3.0 (US)"), as (port code, end).

    A two- or three-letter code counts only at the end of the mention ("CC BY 3.0 DE", "3.0 (US)"),
    so that "CC BY 3.0 at the museum" is not read as the Austrian port.
    """
    tail = lowered[end:end + 48]
    words = list(_WORD.finditer(tail))
    if not words or tail[:words[0].start()].strip(" (-,") != "":
        return None, end
    ports = grammar()["ports"]
    for count in (3, 2, 1):
        if len(words) < count:
            continue
        name = " ".join(word.group(0) for word in words[:count])
        after = tail[words[count - 1].end():]
        if name not in ports:
            continue
        if len(name) <= 3 and after[:1].isspace() and after.split()[0].strip(".,;)").isalpha() \
                and after.split()[0].strip(".,;)") not in _EDITION_WORDS:
            continue
        return ports[name], end + words[count - 1].end() + (1 if after[:1] == ")" else 0)
    return None, end


def resolve_text(text: str | None) -> list[str]:
    """Every distinct known license named in a text, in order of appearance."""
    found = []
    for mention in scan(text or ""):
        if mention.license and mention.license not in found:
            found.append(mention.license)
    return found


# ---------------------------------------------------------------- terms, reservations, third parties

RESERVED_PHRASES = (
    r"\ball\s+rights\s+reserved\b", r"\ball\s+right\s+reserved\b",
    r"\btous\s+droits\s+reserves\b", r"\balle\s+rechte\s+vorbehalten\b",
    r"\btodos\s+los\s+derechos\s+reservados\b", r"\btutti\s+i\s+diritti\s+riservati\b",
    r"\btodos\s+os\s+direitos\s+reservados\b", r"\balle\s+rechten\s+voorbehouden\b",
    r"\bwszelkie\s+prawa\s+zastrzezone\b", r"\btum\s+haklar[ıi]\s+sakl[ıi]d[ıi]r\b",
    r"\bвсе\s+права\s+защищены\b", r"\bвсі\s+права\s+захищені\b",
    r"جميع\s+الحقوق\s+محفوظة",
    r"(?:تمامی|کلیه|همه|همهٔ|همه‌ی)\s+(?:[^\s]+\s+){0,5}?حقوق\s+(?:[^\s]+\s+){0,10}?محفوظ",
    r"حقوق\s+مادی\s+و\s+معنوی",  # "material and moral rights [belong to ...]"
    r"كل\s+الحقوق\s+محفوظة", r"حقوق\s+(?:النشر|الطبع)\s+محفوظة",
    r"حقوق\s+(?:[^\s]+\s+){0,6}?متعلق\s+به",  # "the rights of this site belong to ..."
    r"\bперепечатка\s+(?:запрещена|без\s+разрешения)", r"\bкопирование\s+запрещено",
    r"版权所有", r"版權所有", r"禁止转载", r"禁止轉載", r"未经授权", r"無断転載", r"転載禁止", r"무단\s*전재",
    r"\breproduction\s+interdite\b", r"\bnachdruck\s+verboten\b",
)
RESTRICTION_PHRASES = {
    "non_commercial": (
        r"\bnot\s+for\s+commercial\b", r"\bno\s+commercial\s+(?:use|reuse|purposes)\b",
        r"\bcommercial\s+(?:use|reuse|purposes|exploitation)\s+(?:is\s+)?(?:strictly\s+)?"
        r"(?:not\s+(?:permitted|allowed)|prohibited|forbidden)\b",
        r"\bfor\s+(?:private|personal)\s+(?:and\s+non[\s-]*commercial\s+)?use\s+only\b",
        r"\bpersonal\s+use\s+only\b", r"\bnur\s+fur\s+den\s+privaten\b", r"\bsin\s+fines\s+comerciales\b",
        r"\busage\s+non\s+commercial\b", r"\bpas\s+d'utilisation\s+commerciale\b",
        r"\bdoes\s+not\s+(?:allow|permit)\s+commercial\b", r"\bcommercial\s+(?:use|reuse)\s+requires\b",
        r"\bfor\s+(?:non[\s-]*profit|educational|personal|private)(?:\s+and\s+[a-z-]+)?\s+use\s+only\b",
        r"\bnicht\s*kommerzielle\s+zwecke\b",
    ),
    "no_derivatives": (
        r"\bno\s+derivative\s+works\b", r"\bmay\s+not\s+be\s+(?:modified|altered|edited|adapted|changed)\b",
        r"\bno\s+(?:modifications|alterations)\b", r"\bwithout\s+(?:any\s+)?(?:modification|alteration)s?\b",
        r"\bderivatives?\s+(?:works?\s+)?(?:are|is)\s+not\s+(?:allowed|permitted)\b",
        r"\b(?:please\s+)?do\s+not\s+(?:edit|alter|modify|change)\s+(?:it|this|the)\b",
    ),
    "no_reuse": (
        r"\bmay\s+not\s+be\s+(?:re)?(?:produced|published|distributed|printed|posted|broadcast|copied|written|used)\b",
        r"\b(?:re)?(?:publication|production|distribution|printing|posting|broadcast)\s+(?:is\s+)?(?:strictly\s+)?"
        r"(?:prohibited|forbidden|not\s+(?:permitted|allowed))\b",
        r"\b(?:republication|reproduction|redistribution)\b[^.;]{0,80}\b(?:prohibited|forbidden|not\s+permitted)\b",
        r"\bnot\s+(?:for|to\s+be)\s+(?:re)?(?:publication|distribution|published|distributed)\b",
        # "without permission" alone is news prose ("entered the house without permission")
        r"\bwithout\s+(?:the\s+)?(?:(?:express|prior|written|explicit)\s+)+(?:permission|consent|authori[sz]ation)\b",
        r"\bwithout\s+(?:the\s+)?permission\s+(?:from|of)\s+(?:the\s+)?(?:publisher|author|copyright|rights|owner"
        r"|holder|editors?|agency)\b",
        r"\b(?:used|republished|reprinted|reproduced|published)\s+(?:here\s+)?(?:with|by)\s+(?:kind\s+)?permission\b",
        r"\bused\s+under\s+licen[cs]e\b", r"\b(?:you\s+)?may\s+not\s+(?:sell|resell|republish|redistribute|reproduce)\b",
        r"\bnachdruck\s+nur\s+mit\b", r"\bprohibida\s+su\s+reproduccion\b", r"\briproduzione\s+riservata\b",
    ),
}


@dataclass(frozen=True)
class Term:
    """A restrictive or reserving phrase in a text: its kind and where it is (original offsets)."""

    kind: str  # non_commercial | no_derivatives | no_reuse | reserved
    start: int
    end: int

    @property
    def finding_kind(self) -> str:
        """The kind of finding or statement it makes: "reserved", or "restricted" for any restriction."""
        return "reserved" if self.kind == "reserved" else "restricted"

    @property
    def restriction(self) -> str | None:
        """The restriction it states (non_commercial, no_derivatives, no_reuse), or None for a reservation."""
        return None if self.kind == "reserved" else self.kind


class PhraseReader(NamedTuple):
    """The restrictive phrases compiled for speed: one multi-pattern pass finds where a phrase may start,
    and there only the regexes of the kinds whose phrases open that way are tried."""

    finder: AhoCorasick  # the literal openings of every word-starting phrase, found in one pass
    # for each opening of the finder, in its order: (kind, regex of that kind's phrases that open so)
    opening_kinds: tuple
    kinds: dict  # kind -> that kind's word-starting phrases (regex bodies), in the order they are tried
    unbounded: dict  # kind -> regex of the phrases that need not start a word (other scripts), or absent
    openings: tuple  # the finder's openings, in its order


def leading_alternatives(body: str) -> list[str]:
    """A phrase with its leading groups spelled out: "(?:re)?(?:print|post)ing" gives four phrases."""
    if not body.startswith("(?:"):
        return [body]
    close = body.index(")")
    group = body[3:close]
    if "(" in group:
        raise ValueError(f"a leading group cannot nest: {body}")
    rest = body[close + 1:]
    choices = group.split("|")
    if rest.startswith("?"):
        choices, rest = choices + [""], rest[1:]
    return [phrase for choice in choices for phrase in leading_alternatives(choice + rest)]


def by_first_letter(bodies: list[str]) -> str:
    """One alternation of phrases whose every branch opens with a plain letter, checked to start a word.

    Inside a branch the engine tries only the phrases that open with that letter, so that reading a
    paragraph of news prose costs about one pass over it whatever the number of phrases.
    """
    groups: dict[str, list[str]] = {}
    for body in bodies:
        groups.setdefault(body[0], []).append(body[1:])
    return "|".join(rf"{letter}(?<!\w.)(?:{'|'.join(rests)})" for letter, rests in groups.items())


def word_phrases(patterns) -> tuple[list[str], list[str]]:
    """Folded phrases split into those that start a word (without their leading \\b) and the others."""
    starting, others = [], []
    for pattern in patterns:
        folded = fold_pattern(pattern)
        if not folded.startswith(r"\b"):
            if folded.isascii():
                raise ValueError(f"a phrase in Latin script must start a word: {pattern}")
            others.append(folded)
            continue
        for body in leading_alternatives(folded[2:]):
            if not body[:1].isalnum() or body[1:2] in ("?", "*", "+", "{"):
                raise ValueError(f"a phrase must open with a plain letter or digit: {pattern}")
            starting.append(body)
    return starting, others


@functools.lru_cache(maxsize=1)
def phrase_reader() -> PhraseReader:
    """The phrases of every kind read in one pass: restrictions (CC's own NC and ND names among them),
    reservations of rights, grants of a license, and the names of third parties."""
    return build_phrase_reader(None)


@functools.lru_cache(maxsize=1)
def term_phrase_reader() -> PhraseReader:
    """The phrases of the restrictive and reserving kinds alone (TERM_KINDS)."""
    return build_phrase_reader(TERM_KINDS)


def term_openings() -> tuple[str, ...]:
    """The literal openings of the restrictive and reserving phrases that start a word: a text in which
    none stands at a word's start holds none of those phrases (in ASCII, where no phrase is unbounded)."""
    return term_phrase_reader().openings


def build_phrase_reader(only: tuple[str, ...] | None) -> PhraseReader:
    """phrase_reader, or for the kinds named only."""
    names = element_phrases()
    written = dict(RESTRICTION_PHRASES, reserved=RESERVED_PHRASES, grant=GRANT_PHRASES, party=party_phrases())
    written = {kind: patterns for kind, patterns in written.items() if only is None or kind in only}
    openings: dict[str, set[str]] = {}
    phrases, unbounded = {}, {}
    for kind, patterns in written.items():
        named = {"non_commercial": names["nc"], "no_derivatives": names["nd"]}.get(kind, ())
        starting, others = word_phrases(
            list(patterns) + [rf"\b{phrase_pattern([phrase])}(?!\w)" for phrase in named])
        phrases[kind] = [(body, literal_openings(body)) for body in starting]
        for _, body_openings in phrases[kind]:
            for opening in body_openings:
                openings.setdefault(opening, set()).add(kind)
        if others:
            unbounded[kind] = re.compile("|".join(others))
    openings = without_longer_openings(openings)
    ordered = sorted(openings)
    order = list(phrases)
    # where an opening stands, only the phrases that open with it can match there: trying those alone
    # finds what the kind's whole alternation would (its branches keep their order)
    # a DFA: about a third fewer instructions per character than the default NFA, for a table built once
    return PhraseReader(AhoCorasick(ordered, implementation=Implementation.DFA), tuple(
        tuple((kind, opening_regex(phrases[kind], opening)) for kind in sorted(openings[opening], key=order.index))
        for opening in ordered), {kind: [body for body, _ in phrases[kind]] for kind in order}, unbounded,
        tuple(ordered))


def opening_regex(phrases: list[tuple[str, list[str]]], opening: str) -> re.Pattern:
    """The alternation of the phrases (body, its openings) that may open with a given opening."""
    return re.compile(by_first_letter([body for body, openings in phrases
                                       if any(candidate.startswith(opening) for candidate in openings)]))


def without_longer_openings(openings: dict[str, set[str]]) -> dict[str, set[str]]:
    """The openings, each without the kinds a shorter opening it starts with already leads to.

    Wherever "not" stands, "no" does too: a kind both lead to is tried once, from "no".
    """
    kept = {}
    for opening, kinds in openings.items():
        shorter = set().union(*(openings.get(opening[:size], ()) for size in range(1, len(opening))))
        if kinds - shorter:
            kept[opening] = kinds - shorter
    return kept


LITERAL_OPENING = 3  # letters of a phrase's opening after which its groups are no longer spelled out


def literal_openings(body: str) -> list[str]:
    """The literal letters every match of a phrase opens with, one string per way it may open.

    "re(?:publication|production)\\s+..." opens with "republication" or "reproduction"; a group after
    the first few letters, a class or a quantified letter ends the opening.
    """
    openings = openings_of(body)
    if "" in openings:
        raise ValueError(f"a phrase must open with a plain letter or digit: {body}")
    return openings


def openings_of(body: str) -> list[str]:
    """literal_openings without the check: "" when a way to match opens with no literal letter."""
    at = 0
    while at < len(body) and (body[at].isalnum() or body[at] == "'"):
        if body[at + 1:at + 2] in ("?", "*", "{"):
            break  # an optional letter is not part of every match
        at += 1
    head, rest = body[:at], body[at:]
    close = rest.find(")")
    if at >= LITERAL_OPENING or not rest.startswith("(?:") or close == -1 or "(" in rest[3:close] \
            or rest[close + 1:close + 2] in ("*", "{", "+"):
        return [head]
    choices, after = rest[3:close].split("|"), rest[close + 1:]
    if after.startswith("?"):
        choices, after = choices + [""], after[1:]
    return [head + opening for choice in choices for opening in openings_of(choice + after)]


def party_phrases() -> list[str]:
    """The third parties' names as phrases, their words apart by anything that is not a word, as the
    credit reader reads them (acronyms folded: their case is checked there)."""
    parties = third_parties()
    return [r"\b" + r"\W+".join(re.escape(fold(word)) for word in words) + r"(?!\w)"
            for words in list(parties.names) + list(parties.acronyms) if words]


@text_cache(max_chars=CACHED_TEXT)
def phrases_in(text: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """Where each kind of phrase stands in a text, in original offsets: per kind leftmost and not
    overlapping, as a search for that kind alone would find them."""
    return read_phrases(text, phrase_reader())


@text_cache(max_chars=CACHED_TEXT, min_chars=UNKEPT_PHRASE_TEXT)
def term_phrases_in(text: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """phrases_in for the restrictive and reserving kinds alone (TERM_KINDS): what the keyword search
    asks of every body's closing part, without trying the agencies' names and the grants there too."""
    return read_phrases(text, term_phrase_reader())


def read_phrases(text: str, reader: PhraseReader) -> dict[str, tuple[tuple[int, int], ...]]:
    """phrases_in with a given reader."""
    folded = Folded(text)
    lowered = folded.text
    # the openings found that start a word (as \w sees it), by where they start: most of a text's openings
    # stand inside words ("ne" in "line"), and prose without any restriction is the usual case
    starts = [(at, index) for index, at, _ in reader.finder.find_matches_as_indexes(lowered, overlapping=True)
              if not at or not (lowered[at - 1].isalnum() or lowered[at - 1] == "_")]
    found: dict[str, list] = {}
    if starts:
        starts.sort()
        ends = dict.fromkeys(reader.kinds, 0)
        kinds_of = reader.opening_kinds
        for at, index in starts:  # each kind is read leftmost first and without overlaps
            for kind, regex in kinds_of[index]:
                if at >= ends[kind]:
                    match = regex.match(lowered, at)
                    if match:
                        found.setdefault(kind, []).append(match.span())
                        ends[kind] = match.end()
    if not lowered.isascii():
        for kind, regex in reader.unbounded.items():
            found.setdefault(kind, []).extend(match.span() for match in regex.finditer(lowered))
    if not found:
        return {}
    return {kind: tuple(sorted(folded.span(start, end) for start, end in spans)) for kind, spans in found.items()}


TERM_KINDS = ("non_commercial", "no_derivatives", "no_reuse", "reserved")


@text_cache(max_chars=CACHED_TEXT)
def terms(text: str) -> tuple[Term, ...]:
    """Restrictive terms and reservations of rights in a short text, outside the license names it gives."""
    found = phrases_in(text)
    matches = [(kind, span) for kind in TERM_KINDS for span in found.get(kind, ())]
    spans = [(m.start, m.end) for m in scan(text)] if matches else []
    found_terms = []
    for kind, (start, end) in matches:
        # a license's own name ("CC BY-NC") is the license, not a restriction on top of it
        if kind == "reserved" or not any(first <= start and end <= last for first, last in spans):
            found_terms.append(Term(kind, start, end))
    return tuple(sorted(found_terms, key=lambda term: term.start))


class ThirdParties(NamedTuple):
    """News agencies and photo libraries by their names as word tuples, for the credit reader."""

    names: dict  # folded words -> party
    acronyms: dict  # words as written (AP, AFP, dpa) -> party
    name_sizes: dict  # first folded word -> the lengths, in words, of the names it starts, longest first
    acronym_sizes: dict  # the same for acronyms, by their first word as written


@functools.lru_cache(maxsize=1)
def party_list() -> tuple[dict, ...]:
    """The bundled list of news agencies and photo libraries, read once."""
    data = json.loads(resources.files("republisher").joinpath("data", "third_parties.json").read_text("utf-8"))
    return tuple(data["parties"])


@functools.lru_cache(maxsize=1)
def third_parties() -> ThirdParties:
    """The agencies and photo libraries of the bundled list, by name and acronym."""
    names, acronyms = {}, {}
    for party in party_list():
        for alias in party["aliases"]:
            if alias.isupper() or alias in party.get("exact", ()):
                acronyms[tuple(_WORD.findall(alias))] = party["name"]
            else:
                words = tuple(_WORD.findall(fold(alias)))
                # "The Canadian Press" is found as "Canadian Press": "the" would start a look-up at every "the"
                names[words[1:] if words[:1] == ("the",) and len(words) > 2 else words] = party["name"]
    return ThirdParties(names, acronyms, sizes_by_first_word(names), sizes_by_first_word(acronyms))


def sizes_by_first_word(names: dict) -> dict[str, tuple[int, ...]]:
    """For each word that starts a name, the lengths of the names it starts, longest first."""
    sizes: dict[str, set[int]] = {}
    for words in names:
        if words:
            sizes.setdefault(words[0], set()).add(len(words))
    return {first: tuple(sorted(found, reverse=True)) for first, found in sizes.items()}


@functools.lru_cache(maxsize=1)
def unspaced_aliases() -> tuple[tuple[str, str], ...]:
    """Aliases in scripts written without spaces (路透社, 新华社), folded, with their agency."""
    return tuple((fold(alias), party["name"]) for party in party_list() for alias in party["aliases"]
                 if any("\u3000" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" for char in alias))


# what stands right before an agency's name in a credit ("© 2026 Reuters", "Photo: AFP", "via Getty Images")
CREDIT_BEFORE = re.compile(fold_pattern(
    r"(?:©|\(c\)|copyright|photos?|photographs?|pictures?|images?|foto|fotos|credits?|source|quelle|fuente"
    r"|via|courtesy|provided|distributed|supplied|licen[cs]ed|licen[cs]e|with|avec|con|reporting|story|text)"
    r"(?:\s+(?:by|of|from|de|von))?\s*[:/,-]?\s*(?:\(?\d{4}\)?[\s,.-]*)?(?:(?:the|la|le|el|die|der|l')\s+)?"
    r"\W{0,3}$"))
# what stands right after it ("REUTERS/Jane Doe", "AP Photo", "Reuters contributed to this report")
CREDIT_AFTER = re.compile(fold_pattern(r"^\s*(?:/|photos?\b|images?\b|pictures?\b|contributed\b|wire\b"
                                       r"|news\s+agency\b|\d{4}\b|all\s+rights)"))


@text_cache(max_chars=CACHED_TEXT)
def credited_party(text: str, need_marker: bool = False) -> str | None:
    """The news agency or photo library a short text credits ("REUTERS/Jane Doe", "© AFP"), or None.

    With need_marker, a name counts only right beside a credit's wording (©, Photo, via, /, "provided
    by", a year), so that an article that quotes an agency ("Reuters reported", "told Reuters (in an
    interview)") is not taken for the agency's copy.
    """
    lowered = fold(text)
    if lowered.isascii() and "party" not in phrases_in(text):
        return None  # no name of the list stands in the text
    parties = third_parties()
    if not lowered.isascii():  # scripts written without spaces between words: names as substrings
        found = next((party for alias, party in unspaced_aliases() if alias in lowered), None)
        if found and (not need_marker or any(marker in lowered for marker in ("©", "(c)", "/", "(", "报道", "电"))):
            return found
    if text.isascii():  # folding is lower-casing: the folded words are the words as written, lower-cased
        originals = _ASCII_WORD.findall(text)
        words = " ".join(originals).lower().split(" ") if originals else []
    else:  # each folded word beside the word as written, for acronyms' case ("AFP", not "afp")
        view = Folded(text)
        spans = [match.span() for match in _WORD.finditer(view.text)]
        words = [view.text[start:end] for start, end in spans]
        originals = [without_invisible(view.slice(start, end)) for start, end in spans]
    found = []  # (-size, at, party) of every name in the text
    # a name can start only at a word that starts some name: most texts have none, and are done here
    for table, sizes, text_words in ((parties.names, parties.name_sizes, words),
                                     (parties.acronyms, parties.acronym_sizes, originals)):
        for opener in sizes.keys() & set(text_words):
            for at in positions(text_words, opener):
                found += [(-size, at, table[key]) for size in sizes[opener] if at + size <= len(text_words)
                          and (key := tuple(text_words[at:at + size])) in table]
    if not found:
        return None
    spans = [match.span() for match in _WORD.finditer(lowered)]
    for minus_size, at, party in sorted(found):  # the longest name first, then the earliest
        if not need_marker or beside_a_credit(lowered, spans[at][0], spans[at - minus_size - 1][1]):
            return party
    return None


def positions(words: list[str], word: str) -> list[int]:
    """Every index of a word in a list of words."""
    found, at = [], -1
    for _ in range(words.count(word)):
        at = words.index(word, at + 1)
        found.append(at)
    return found


def beside_a_credit(lowered: str, start: int, end: int) -> bool:
    """Whether the words around a name make it a credit."""
    before, after = lowered[max(0, start - 40):start], lowered[end:end + 30]
    if CREDIT_BEFORE.search(before) or CREDIT_AFTER.match(after):
        return True
    return before.endswith("(") and after.startswith(")") and before[:-1].strip().isupper()


DATELINE = re.compile(r"^[^\w(]{0,4}(?P<place>[A-Z][A-Z .,'’-]{1,40}?)(?:,\s*[^()\n]{1,30}?)?\s*"
                      r"\((?P<who>[^()]{2,40})\)\s*(?:-|–|—|--|:|\.-)?\s*\S")


def dateline_party(text: str) -> str | None:
    """The agency a story's dateline names ("WASHINGTON (Reuters) -", "BEIJING, Dec. 1 (Xinhua) --")."""
    match = DATELINE.match(text.lstrip())
    return credited_party(match.group("who")) if match else None


# ---------------------------------------------------------------- what a sentence speaks of

MEDIA_WORDS = frozenset((
    "photo", "photos", "photograph", "photographs", "photographer", "photography", "image", "images", "picture",
    "pictures", "pic", "pics", "illustration", "illustrations", "infographic", "graphic", "graphics", "map",
    "maps", "figure", "figures", "fig", "chart", "charts", "video", "videos", "footage", "cartoon", "cartoons",
    "drawing", "drawings", "artwork", "screenshot", "screenshots", "thumbnail", "flickr", "wikimedia",
    "unsplash", "pixabay", "pexels", "foto", "fotos", "bild", "bilder", "abbildung", "grafik", "karte",
    "imagen", "imagenes", "ilustracion", "immagine", "immagini", "afbeelding", "fotografia",
    fold("фото"), "عکس", "تصویر", "صورة", "写真", "图片", "사진",
))
ITEM_WORDS = frozenset((
    "article", "articles", "story", "stories", "post", "posts", "work", "content", "contents", "text", "texts",
    "page", "pages", "piece", "report", "column", "blog", "site", "website", "material", "materials",
    "publication", "entry", "feature", "interview", "essay", "editorial", "newsletter", "transcript",
    "translation", "artikel", "beitrag", "inhalt", "inhalte", "werk", "articulo", "contenido", "texto", "obra",
    "contenu", "texte", "oeuvre", "articolo", "contenuto", "testo", "opera", "inhoud", "tekst", "artigo",
    "conteudo", "مطلب", "خبر", "محتوا", "محتوای", "مقاله", "اثر", "المحتوى", "المقال",
))
THIS_WORDS = frozenset((
    "this", "these", "our", "present", "dieser", "diese", "dieses", "unsere", "este", "esta", "nuestro",
    "cet", "ce", "cette", "notre", "questo", "questa", "nostro", "dit", "deze", "onze", "این", "هذا",
))
ALL_WORDS = frozenset(("all", "entire", "whole", "alle", "todo", "todos", "tout", "tous", "tutti", "همه", "كل"))
# things other than the item that a license is often named for in the news ("the dataset is CC BY-NC")
OTHER_SUBJECTS = frozenset((
    "dataset", "datasets", "data", "database", "databases", "code", "software", "model", "models", "app",
    "font", "fonts", "song", "songs", "music", "album", "recording", "book", "books", "paper", "papers",
    "study", "studies", "survey", "corpus", "repository", "preprint", "daten", "datos", "donnees",
))
MEDIA_AFTER = re.compile(r"^\W*(?:via\s+)?(?:flickr|wikimedia|unsplash|pixabay|pexels)\b")
CLAUSE_ENDS = re.compile(r"[.;!?|]\s|\n")


def has_media_word(text: str) -> bool:
    """Whether a text names a picture, a map, a video or the like."""
    return bool(MEDIA_WORDS.intersection(_WORD.findall(fold(text))))


def subject_of(prefix: str, closing: bool, suffix: str = "") -> str:
    """What the words around a license mention make it speak of: media, item, site, other or none.

    Of a picture's word and an item word after "this", "our" and their translations, the first in the
    clause wins ("Photos in this story are CC BY-NC" is a media credit, "This article and its photos are
    CC BY-NC" the item's own). Else the nearest telling word wins: an item word after "all" is "site"
    (the site-wide formula, which counts only where a credit line stands), an item word alone counts in
    the closing part of the body. "via Flickr" after the license makes it a media credit too.
    """
    clause = CLAUSE_ENDS.split(fold(prefix))[-1]
    words = _WORD.findall(clause)
    media = next((index for index, word in enumerate(words) if word in MEDIA_WORDS), None)
    item = next((index for index, word in enumerate(words)
                 if word in ITEM_WORDS and THIS_WORDS.intersection(words[max(0, index - 3):index])), None)
    if item is not None and (media is None or item < media):
        return "item"
    if media is not None or MEDIA_AFTER.match(fold(suffix)):
        return "media"
    for index in range(len(words) - 1, -1, -1):
        word = words[index]
        if word in ITEM_WORDS:
            if ALL_WORDS.intersection(words[max(0, index - 3):index]):
                return "site"
            if closing:
                return "item"
        if word in OTHER_SUBJECTS:
            return "other"
    return "none"


GRANT_PHRASES = (
    r"\b(?:licen[cs]ed|available|released|distributed|published|offered|made\s+available)\s+under\b",
    r"\blicen[cs]e\s*:", r"\blizenz\s*:", r"\blizenziert\s+unter\b", r"\bunter\s+der\s+lizenz\b",
    r"\bbajo\s+(?:la|una)\s+licencia\b", r"\bsous\s+(?:la\s+)?licence\b", r"\bsotto\s+(?:la\s+)?licenza\b",
    r"\bsob\s+(?:a\s+)?licen[cç]a\b", r"\bonder\s+(?:de\s+)?licentie\b",
)


def grants(text: str) -> list[tuple[int, int]]:
    """Where a text grants a license ("licensed under", "Licence:"), in original offsets."""
    return list(phrases_in(text).get("grant", ()))
