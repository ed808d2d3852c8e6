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

from . import licenses
from .textfold import Folded, fold, fold_pattern

SHORT_TEXT = 600  # characters; rights lines and sentences are shorter, article bodies longer
# keywords where a license mention may start, in any text (folded spelling)
LICENSE_KEYWORDS = ("creative", "cc", "attribution", "domain mark")
# CC's name written in other scripts
SCRIPT_KEYWORDS = ("クリエイティブ", "知识共享", "創用", "创用", "크리에이티브", fold("Криэйтив"), fold("Креатив"))
LICENSE_WORDS = ("licen", "lizenz", "under", "attribution", "by")
_SEP = r"(?:\s*[-,/+&]\s*|\s+)"
_VERSION = r"(?:\s*[-,(]?\s*(?:v(?:ersion)?\.?\s*)?(?P<version>[1-9](?:\.\d)?)(?![\d.]\d)(?!\d))"
_URL = re.compile(r"creativecommons\.org/(?:licenses|publicdomain)/[^\s\"'<>()\[\]{}]*")
_CC0 = re.compile(r"(?:creative\s*commons\s+)?(?:cc[\s-]?0|cc[\s-]?zero|creative\s*commons\s+zero)\b"
                  r"(?:\s*(?:v\s*)?1\.0)?(?:\s+universal)?")
_PDM = re.compile(r"public\s+domain\s+mark\b(?:\s+1\.0)?")
_SHORT = re.compile(
    r"(?:creative\s*commons|cc)(?:\s*(?:license|licence|lizenz|licencia)\s*)?\s*[-_:(]?\s*\(?\s*by"
    rf"(?P<elements>(?:{_SEP}(?:nc|nd|sa)\b)*)\s*\)?{_VERSION}?(?![\w])")
_CC_PREFIX = re.compile(r"(?:(?:creative\s*commons|cc)\s*[-:(\"]?\s*|(?:" + "|".join(map(re.escape, SCRIPT_KEYWORDS))
                        + r")[^\s\d]{0,12}\s*)")
_CODES = re.compile(r"nc|nd|sa")
_EDITION_WORDS = ("international", "unported", "generic", "license", "licence", "lizenz", "licencia", "public")
_WORD = re.compile(r"\w+")


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
    by_words = {phrase.split()[0] for phrase in phrases["by"]
                if len(phrase.split()[0]) >= 4 or not phrase.isascii()}
    return {
        "element": re.compile("|".join(f"(?P<{name}>{phrase_pattern(phrases[name])})" for name in ("nc", "nd", "sa"))),
        "long": re.compile(rf"(?P<by>{phrase_pattern(phrases['by'])})(?P<elements>(?:{_SEP}(?:{elements}))*){_VERSION}?"),
        "rights_keywords": tuple(sorted(set(LICENSE_KEYWORDS) | by_words | set(SCRIPT_KEYWORDS))),
        "ports": port_words(),
    }


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


@functools.lru_cache(maxsize=8192)
def scan_short(text: str) -> tuple[Mention, ...]:
    """scan for short, often repeated texts: every keyword, translated element names included."""
    return read_mentions(Folded(text), grammar()["rights_keywords"])


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
        return license_from(_CODES.findall(short.group("elements")), short.group("version"), lowered, short.end())
    prefix = _CC_PREFIX.match(lowered, hit)
    start = prefix.end() if prefix and prefix.end() > hit else hit
    long_form = grammar()["long"].match(lowered, start)
    if long_form and (prefix or long_form.group("elements") or long_form.group("version")):
        return license_from(element_units(long_form.group("elements")), long_form.group("version"), lowered,
                            long_form.end())
    if prefix and not lowered.startswith("cc", hit) and names_a_license_nearby(lowered, hit):
        return None, False, prefix.end()
    return None


def is_prose_cc_by(match: re.Match, folded: Folded | None) -> bool:
    """A bare lower-case "cc by" with nothing after it is prose ("please cc by email"), not a license."""
    if match.group("elements") or match.group("version") or folded is None:
        return False
    original = folded.slice(match.start(), match.end())
    return original[:2] == "cc" and len(original) > 2 and original[2].isspace()


def names_a_license_nearby(lowered: str, hit: int) -> bool:
    """Whether "Creative Commons" stands in a license context ("a Creative Commons license", "under CC")."""
    window = lowered[max(0, hit - 40):hit + 60]
    return any(word in window for word in ("licen", "lizenz", "under ", "unter ", "bajo ", "sous "))


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
    r"版权所有", r"版權所有", r"無断転載", r"무단\s*전재",
)
RESERVED_STEMS = ("right", "reserv", "vorbehalten", "riservat", "voorbehouden", "zastrze", "hakla", "sakl",
                  fold("права"), "حقوق", "版权", "版權", "無断", "무단")
RESTRICTION_PHRASES = {
    "non_commercial": (
        r"\bnot\s+for\s+commercial\b", r"\bno\s+commercial\s+(?:use|reuse|purposes)\b",
        r"\bcommercial\s+(?:use|reuse|purposes|exploitation)\s+(?:is\s+)?(?:strictly\s+)?"
        r"(?:not\s+(?:permitted|allowed)|prohibited|forbidden)\b",
        r"\bfor\s+(?:private|personal)\s+(?:and\s+non[\s-]*commercial\s+)?use\s+only\b",
        r"\bpersonal\s+use\s+only\b", r"\bnur\s+fur\s+den\s+privaten\b", r"\bsin\s+fines\s+comerciales\b",
        r"\busage\s+non\s+commercial\b", r"\bpas\s+d'utilisation\s+commerciale\b",
    ),
    "no_derivatives": (
        r"\bno\s+derivative\s+works\b", r"\bmay\s+not\s+be\s+(?:modified|altered|edited|adapted|changed)\b",
        r"\bno\s+(?:modifications|alterations)\b", r"\bwithout\s+(?:any\s+)?(?:modification|alteration)s?\b",
    ),
    "no_reuse": (
        r"\bmay\s+not\s+be\s+(?:re)?(?:produced|published|distributed|printed|posted|broadcast|copied|written|used)\b",
        r"\b(?:re)?(?:publication|production|distribution|printing|posting|broadcast)\s+(?:is\s+)?(?:strictly\s+)?"
        r"(?:prohibited|forbidden|not\s+(?:permitted|allowed))\b",
        r"\b(?:republication|reproduction|redistribution)\b[^.;]{0,80}\b(?:prohibited|forbidden|not\s+permitted)\b",
        r"\bnot\s+(?:for|to\s+be)\s+(?:re)?(?:publication|distribution|published|distributed)\b",
        r"\bwithout\s+(?:the\s+)?(?:express\s+|prior\s+)*(?:written\s+)?(?:permission|consent|authori[sz]ation)\b",
        r"\b(?:used|republished|reprinted|reproduced|published)\s+(?:here\s+)?(?:with|by)\s+(?:kind\s+)?permission\b",
        r"\bby\s+(?:kind\s+)?permission\s+of\b", r"\breproduction\s+interdite\b",
        r"\bnachdruck\s+(?:nur\s+mit|verboten)\b", r"\bprohibida\s+su\s+reproduccion\b",
        r"\briproduzione\s+riservata\b",
    ),
}
CREDIT_MARKERS = ("©", "(c)", "copyright", "photo", "image", "picture", "credit", "courtesy", "via ", "/",
                  "provided by", "distributed by", "supplied by", "contributed", "reporting by", "(", "source:",
                  "foto", "bild", "wire")


@dataclass(frozen=True)
class Term:
    """A restrictive or reserving phrase in a text: its kind and where it is (original offsets)."""

    kind: str  # non_commercial | no_derivatives | no_reuse | reserved
    start: int
    end: int


_RESERVED = re.compile("|".join(fold_pattern(pattern) for pattern in RESERVED_PHRASES))


@functools.lru_cache(maxsize=1)
def restriction_readers() -> dict[str, tuple[re.Pattern, tuple[str, ...]]]:
    """Per kind of restriction: its regex (CC's own NC and ND names included) and cheap stems to test first."""
    phrases = element_phrases()
    readers = {}
    for kind, patterns in RESTRICTION_PHRASES.items():
        extra = {"non_commercial": phrases["nc"], "no_derivatives": phrases["nd"]}.get(kind, ())
        pattern = "|".join([fold_pattern(p) for p in patterns] + ([rf"(?<!\w)(?:{phrase_pattern(extra)})(?!\w)"] if extra else []))
        stems = {stem_of(phrase) for phrase in extra} | {stem_of(p) for p in patterns}
        readers[kind] = (re.compile(pattern), tuple(sorted(stem for stem in stems if stem)))
    return readers


def stem_of(phrase: str) -> str:
    """The first five letters of a phrase's longest word: a cheap test before the regex runs."""
    words = re.findall(r"[^\W\d_]{3,}", re.sub(r"\\[a-z]", " ", phrase))
    return max(words, key=len)[:5] if words else ""


@functools.lru_cache(maxsize=8192)
def terms(text: str) -> tuple[Term, ...]:
    """Restrictive terms and reservations of rights in a short text, outside the license names it gives."""
    folded = Folded(text)
    lowered = folded.text
    spans = [(m.start, m.end) for m in scan(text)]
    found = []
    if any(stem in lowered for stem in RESERVED_STEMS):
        for match in _RESERVED.finditer(lowered):
            found.append(Term("reserved", *folded.span(match.start(), match.end())))
    for kind, (reader, stems) in restriction_readers().items():
        if any(stem in lowered for stem in stems):
            for match in reader.finditer(lowered):
                start, end = folded.span(match.start(), match.end())
                if not any(first <= start and end <= last for first, last in spans):
                    found.append(Term(kind, start, end))
    return tuple(sorted(found, key=lambda term: term.start))


@functools.lru_cache(maxsize=1)
def third_parties() -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], str], int]:
    """(names folded, acronyms as written, longest name in words) of news agencies and photo libraries."""
    data = json.loads(resources.files("republisher").joinpath("data", "third_parties.json").read_text("utf-8"))
    names, acronyms, longest = {}, {}, 1
    for party in data["parties"]:
        for alias in party["aliases"]:
            words = tuple(_WORD.findall(alias))
            longest = max(longest, len(words))
            if alias.isupper() or alias in party.get("exact", ()):
                acronyms[words] = party["name"]
            else:
                names[tuple(_WORD.findall(fold(alias)))] = party["name"]
    return names, acronyms, longest


@functools.lru_cache(maxsize=8192)
def credited_party(text: str, need_marker: bool = False) -> str | None:
    """The news agency or photo library a short text credits ("REUTERS/Jane Doe", "© AFP"), or None.

    With need_marker, the name counts only beside a credit's wording (©, Photo, via, /, "provided by"),
    so that an article that quotes an agency ("Reuters reported") is not taken for the agency's copy.
    """
    lowered = fold(text)
    if need_marker and not any(marker in lowered for marker in CREDIT_MARKERS):
        return None
    names, acronyms, longest = third_parties()
    original_words, folded_words = _WORD.findall(text), _WORD.findall(lowered)
    for size in range(longest, 0, -1):
        for at in range(len(folded_words) - size + 1):
            found = names.get(tuple(folded_words[at:at + size]))
            if found is None and len(original_words) == len(folded_words):
                found = acronyms.get(tuple(original_words[at:at + size]))
            if found:
                return found
    return None


DATELINE = re.compile(r"^[^\w(]{0,4}[A-Z][^\n()]{1,60}?\((?P<who>[^()]{2,40})\)\s*(?:-|–|—|--|:|\.-)")


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
    "imagen", "imagenes", "ilustracion", "immagine", "immagini", "afbeelding", "fotografia", "credit",
    "credits", fold("фото"), "عکس", "تصویر", "صورة", "写真", "图片", "사진",
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
OTHER_SUBJECTS = frozenset((
    "dataset", "datasets", "data", "database", "databases", "code", "software", "library", "model", "models",
    "app", "application", "tool", "tools", "font", "fonts", "song", "songs", "music", "album", "recording",
    "book", "books", "paper", "papers", "study", "studies", "survey", "archive", "archives", "collection",
    "collections", "corpus", "repository", "guidelines", "textbook", "course", "curriculum", "game", "games",
    "documentation", "manual", "wiki", "wikipedia", "encyclopedia", "project", "platform", "standard",
    "research", "findings", "journal", "preprint", "daten", "datos", "donnees",
))
CLAUSE_ENDS = re.compile(r"[.;!?|]\s|\n")


def subject_of(prefix: str, closing: bool) -> str:
    """What the words before a license mention make it speak of: media, item, site, other or none.

    A picture's word anywhere in the clause makes it a media credit ("Photos in this story are CC BY-NC");
    otherwise the nearest telling word wins. An item word counts after "this", "our" and their translations ("item"), or
    after "all" ("site": the site-wide formula, which counts only in the closing part or the byline),
    or alone in the closing part of the body.
    """
    clause = CLAUSE_ENDS.split(fold(prefix))[-1]
    words = _WORD.findall(clause)
    if MEDIA_WORDS.intersection(words):
        return "media"  # "Photos in this story are CC BY-NC": a picture's terms never license the text
    for index in range(len(words) - 1, -1, -1):
        word = words[index]
        if word in ITEM_WORDS:
            before = words[max(0, index - 3):index]
            if THIS_WORDS.intersection(before):
                return "item"
            if ALL_WORDS.intersection(before):
                return "site"
            if closing:
                return "item"
        if word in OTHER_SUBJECTS:
            return "other"
    return "none"
