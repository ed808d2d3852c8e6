"""License registry (data) and resolvers from URLs and running text to SPDX ids.

Choices made here, so that every caller agrees:

* Jurisdiction ports (``/licenses/by/3.0/us/``, ``/3.0/igo/``, ``/2.5/ir/``) resolve to the unported id
  (``CC-BY-3.0``). A port carries the same license elements as its unported version, so policy and the
  attribution duties are the same; SPDX has ids for only a handful of ports, and one id per element and
  version keeps the policy setting simple. The exact URL a publisher gave is kept verbatim in the
  license evidence, so nothing about the port is lost.
* A license name without a version ("CC BY", "CC-BY", "Creative Commons Attribution-ShareAlike") resolves
  to the 4.0 version: it is the current version and what Creative Commons' chooser has offered since
  2013. ``scan_text`` reports such matches as unversioned, so the license stage treats "CC BY" as agreeing
  with any versioned CC BY it finds next to it instead of calling that a contradiction.
* Only the licenses listed in the registry resolve; any other Creative Commons path (1.0, 2.1, sampling,
  the retired public-domain certification) resolves to None and is left for an editor.
"""

import functools
import re
from urllib.parse import urlsplit

from .errors import UnknownLicenseError

CC_HOSTS = frozenset({"creativecommons.org", "www.creativecommons.org"})
SPDX_HOSTS = frozenset({"spdx.org", "www.spdx.org"})

# (code in the deed URL, name of the elements for 4.0, name for 3.0 and older, flags)
ELEMENTS = (
    ("by", "Attribution", "Attribution", {}),
    ("by-sa", "Attribution-ShareAlike", "Attribution-ShareAlike", {"share_alike": True}),
    ("by-nd", "Attribution-NoDerivatives", "Attribution-NoDerivs", {"no_derivatives": True}),
    ("by-nc", "Attribution-NonCommercial", "Attribution-NonCommercial", {"non_commercial": True}),
    ("by-nc-sa", "Attribution-NonCommercial-ShareAlike", "Attribution-NonCommercial-ShareAlike",
     {"non_commercial": True, "share_alike": True}),
    ("by-nc-nd", "Attribution-NonCommercial-NoDerivatives", "Attribution-NonCommercial-NoDerivs",
     {"non_commercial": True, "no_derivatives": True}),
)
VERSIONS = (("4.0", "International"), ("3.0", "Unported"), ("2.5", "Generic"), ("2.0", "Generic"))
PUBLIC_DOMAIN = (
    {"id": "CC0-1.0", "name": "Creative Commons Zero v1.0 Universal", "short_name": "CC0 1.0",
     "version": "1.0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
    {"id": "PDM-1.0", "name": "Public Domain Mark 1.0", "short_name": "Public Domain Mark 1.0",
     "version": "1.0", "url": "https://creativecommons.org/publicdomain/mark/1.0/"},
)
DEFAULT_POLICY = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-3.0", "CC-BY-2.5", "CC-BY-2.0", "CC-BY-SA-3.0",
                  "CC0-1.0", "PDM-1.0")
NO_FLAGS = {"attribution": False, "share_alike": False, "non_commercial": False,
            "no_derivatives": False, "public_domain": False}


def build_registry() -> dict[str, dict]:
    """The registry keyed by SPDX id, built from the tables above."""
    registry = {}
    for version, edition in VERSIONS:
        for code, name_4, name_old, flags in ELEMENTS:
            spdx_id = f"CC-{code.upper()}-{version}"
            elements = name_4 if version == "4.0" else name_old
            registry[spdx_id] = {
                "id": spdx_id, "name": f"Creative Commons {elements} {version} {edition}",
                "short_name": f"CC {code.upper()} {version}", "version": version,
                "url": f"https://creativecommons.org/licenses/{code}/{version}/",
                **NO_FLAGS, "attribution": True, **flags}
    for entry in PUBLIC_DOMAIN:
        registry[entry["id"]] = {**entry, **NO_FLAGS, "public_domain": True}
    return registry


REGISTRY = build_registry()
IDS_BY_UPPER = {spdx_id.upper(): spdx_id for spdx_id in REGISTRY}

_CC_PATH = re.compile(
    r"/(licenses|publicdomain)/([a-z0-9-]+)/(\d+(?:\.\d+)?)"
    r"(?:/(?!deed|legalcode|rdf)[a-z]{2,8})?"  # jurisdiction port, e.g. /us/, /igo/, /scotland/
    r"(?:/(?:deed(?:\.[a-z0-9_-]+)?|legalcode(?:\.[a-z0-9_-]+)?|rdf|index\.html?))?/?")
_SPDX_PATH = re.compile(r"/licenses/([a-z0-9.-]+?)(?:\.html|\.json)?/?")
_SPDX_PORT = re.compile(r"(CC-BY(?:-NC)?(?:-ND|-SA)?-\d\.\d)-[A-Z]{2,8}")

# A mention is matched where one of its keywords starts: one regex tried at a handful of positions is
# about a hundred times cheaper than a regex scanning a whole article.
_ELEMENT_WORDS = r"Non-?Commercial|No-?Deriv(?:ative)?s|No[\s-]+Derivatives|Share-?Alike|Share[\s-]+Alike"
_MENTION = re.compile(
    r"(?P<url>creativecommons\.org/(?:licenses|publicdomain)/[^\s\"'<>()\[\]]+)"
    r"|(?P<cc0>CC-?0\b(?:[\s-]+1\.0\b)?|CC[\s-]?Zero\b|Creative\s+Commons\s+Zero\b)"
    r"|(?P<pdm>Domain\s+Mark\b(?:\s+1\.0\b)?)"
    r"|(?P<long>(?P<cc_prefix>Creative\s+Commons\s+)?Attribution"
    rf"(?P<long_elements>(?:[\s-]+(?:{_ELEMENT_WORDS})\b)*)(?:\s+(?P<long_version>[1-9]\.\d)\b)?)"
    r"|(?P<short>(?:CC|Creative\s+Commons)[\s-]?BY\b(?P<short_elements>(?:[\s-]+(?:NC|ND|SA)\b)*)"
    r"(?:[\s-]+v?(?P<short_version>[1-9](?:\.\d)?)(?![\d.]\d))?)",
    re.IGNORECASE)
_KEYWORDS = ("creative", "attribution", "domain", "cc")
_PUBLIC_BEFORE = re.compile(r"public\s+$")
_NC = re.compile(r"non-?commercial|\bnc\b", re.IGNORECASE)
_ND = re.compile(r"no-?deriv|no[\s-]+derivatives|\bnd\b", re.IGNORECASE)
_SA = re.compile(r"share[\s-]*alike|\bsa\b", re.IGNORECASE)
_VERSION_SUFFIX = re.compile(r"-\d+\.\d+$")


def get_license(spdx_id: str | None) -> dict | None:
    """The registry entry for an SPDX id (any letter case), or None."""
    canonical = IDS_BY_UPPER.get((spdx_id or "").strip().upper())
    return dict(REGISTRY[canonical]) if canonical else None


def all_licenses() -> list[dict]:
    """Every license in the registry, newest versions first."""
    return [dict(entry) for entry in REGISTRY.values()]


def family(spdx_id: str) -> str:
    """The license without its version ("CC-BY-SA-4.0" -> "CC-BY-SA")."""
    return _VERSION_SUFFIX.sub("", spdx_id)


def allowed_by_default() -> frozenset[str]:
    """The default policy: attribution and share-alike licenses and the public domain tools."""
    return frozenset(DEFAULT_POLICY)


def parse_policy(value: str) -> frozenset[str]:
    """The allowed set from a comma or space separated list of SPDX ids; empty means the default."""
    wanted = [part for part in re.split(r"[\s,;]+", value or "") if part]
    if not wanted:
        return allowed_by_default()
    allowed = set()
    for part in wanted:
        canonical = IDS_BY_UPPER.get(part.upper())
        if canonical is None:
            raise UnknownLicenseError(f"unknown license id {part!r} (known: {', '.join(REGISTRY)})")
        allowed.add(canonical)
    return frozenset(allowed)


@functools.lru_cache(maxsize=2048)
def resolve_url(url: str | None) -> str | None:
    """The SPDX id a Creative Commons (or SPDX) license URL stands for, or None."""
    if not url or not isinstance(url, str):
        return None
    candidate = url.strip()
    if candidate.startswith("//"):
        candidate = "https:" + candidate
    elif "://" not in candidate:
        candidate = "https://" + candidate
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if host in CC_HOSTS:
        return cc_path_id(parts.path.lower())
    if host in SPDX_HOSTS:
        return spdx_path_id(parts.path)
    return None


def cc_path_id(path: str) -> str | None:
    """The SPDX id of a creativecommons.org path (lower case), ports mapped to unported."""
    match = _CC_PATH.fullmatch(path)
    if not match:
        return None
    kind, code, version = match.groups()
    if kind == "publicdomain":
        return {("zero", "1.0"): "CC0-1.0", ("mark", "1.0"): "PDM-1.0"}.get((code, version))
    spdx_id = f"CC-{code.upper()}-{version}"
    return spdx_id if spdx_id in REGISTRY else None


def spdx_path_id(path: str) -> str | None:
    """The SPDX id of an spdx.org/licenses/ page, ported ids mapped to unported."""
    match = _SPDX_PATH.fullmatch(path.lower())
    if not match:
        return None
    wanted = match.group(1).upper()
    if wanted in IDS_BY_UPPER:
        return IDS_BY_UPPER[wanted]
    port = _SPDX_PORT.fullmatch(wanted)
    return IDS_BY_UPPER.get(port.group(1)) if port else None


def resolve_text(text: str | None) -> list[str]:
    """Every distinct license named in running text, in order of appearance."""
    found = []
    for spdx_id, _versioned, _start, _end in scan_text(text or ""):
        if spdx_id not in found:
            found.append(spdx_id)
    return found


def scan_text(text: str) -> tuple[tuple[str, bool, int, int], ...]:
    """Every license mention in text as (spdx_id, names_a_version, start, end)."""
    # rights lines repeat across a feed's items and are worth caching; article bodies are not
    return scan_short_text(text) if len(text) <= 512 else scan_any_text(text)


@functools.lru_cache(maxsize=4096)
def scan_short_text(text: str) -> tuple[tuple[str, bool, int, int], ...]:
    """scan_text for short, often repeated texts."""
    return scan_any_text(text)


def scan_any_text(text: str) -> tuple[tuple[str, bool, int, int], ...]:
    """Every license mention in text, uncached."""
    lowered = same_length_lower(text)
    mentions, covered = [], 0
    for hit in keyword_hits(lowered):
        if hit < covered:
            continue  # inside the previous mention ("Attribution" in "Creative Commons Attribution")
        match = _MENTION.match(text, hit)
        start = hit
        if match and match.group("pdm"):
            before = _PUBLIC_BEFORE.search(lowered, max(0, hit - 16), hit)
            start = before.start() if before else -1
        mention = mention_id(match) if match and start >= 0 else None
        if mention:
            mentions.append((*mention, start, match.end()))
            covered = match.end()
    return tuple(mentions)


def same_length_lower(text: str) -> str:
    """text.lower() with the same length, so that offsets stay valid."""
    lowered = text.lower()
    if len(lowered) != len(text):  # e.g. "İ" lower-cases to two code points
        lowered = "".join(char if len(char.lower()) != 1 else char.lower() for char in text)
    return lowered


def keyword_hits(lowered: str) -> list[int]:
    """Sorted start positions of keywords at a word start, where a mention may begin."""
    hits = []
    for keyword in _KEYWORDS:
        at = lowered.find(keyword)
        while at != -1:
            if at == 0 or not lowered[at - 1].isalnum():
                hits.append(at)
            at = lowered.find(keyword, at + len(keyword))
    return sorted(hits)


def mention_id(match: re.Match) -> tuple[str, bool] | None:
    """The (SPDX id, names_a_version) of one regex match, or None when it names no known license."""
    if match.group("url"):
        spdx_id = resolve_url(match.group("url").rstrip(".,;:!?"))
        return (spdx_id, True) if spdx_id else None
    if match.group("cc0"):
        return "CC0-1.0", True
    if match.group("pdm"):
        return "PDM-1.0", True
    if match.group("long"):
        elements, version = match.group("long_elements"), match.group("long_version")
        if not (match.group("cc_prefix") or elements or version):
            return None  # a bare "attribution" in prose names no license
        return by_license(elements, version)
    elements, version = match.group("short_elements"), match.group("short_version")
    if match.group(0)[:3].rstrip() == "cc" and match.group(0)[2].isspace() and not (elements or version):
        return None  # a bare lower-case "cc by" is more likely prose ("cc by email") than a license
    return by_license(elements, version)


@functools.lru_cache(maxsize=256)
def by_license(elements: str | None, version: str | None) -> tuple[str, bool] | None:
    """A CC BY-family id from its element words and version; a missing version means 4.0."""
    elements = elements or ""
    code = "CC-BY"
    if _NC.search(elements):
        code += "-NC"
    no_derivatives, share_alike = bool(_ND.search(elements)), bool(_SA.search(elements))
    if no_derivatives and share_alike:
        return None  # no such license
    code += "-ND" if no_derivatives else "-SA" if share_alike else ""
    if version and "." not in version:
        version += ".0"
    spdx_id = f"{code}-{version or '4.0'}"
    return (spdx_id, bool(version)) if spdx_id in REGISTRY else None
