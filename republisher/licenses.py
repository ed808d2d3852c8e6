"""License registry, built from Creative Commons' own data, and the resolver from license URLs to ids.

The registry holds every license and public-domain tool Creative Commons publishes, ports and retired
versions included, read from ``data/cc-legal-tools/`` (an extract of the cc-legal-tools-data project,
CC0; see the README there). Choices made here, so that every caller agrees:

* An id is the SPDX identifier where SPDX defines one (``CC-BY-4.0``, ``CC-BY-SA-2.0-UK``), else
  ``LicenseRef-CC-…`` (``LicenseRef-CC-BY-2.0-FR``). The Public Domain Mark is ``PDM-1.0``.
* A port keeps its own id, name and deed: ``/licenses/by/2.0/fr/`` is "CC BY 2.0 France", linked to
  that deed, never "2.0 Generic". For policy a port counts as its unported version, whose permissions
  it shares: a site that allows CC BY 2.0 allows CC BY 2.0 France.
* A license name without a version ("CC BY") means the 4.0 version; ``license_text`` reports it as
  unversioned, so that it agrees with any versioned CC BY found next to it.
"""

import json
import re
from importlib import resources
from urllib.parse import urlsplit

from .errors import UnknownLicenseError
from .textfold import text_cache

CC_HOSTS = frozenset({"creativecommons.org", "www.creativecommons.org"})
SPDX_HOSTS = frozenset({"spdx.org", "www.spdx.org"})
DATA_DIR = ("data", "cc-legal-tools")
# The Creative Commons identifiers the SPDX License List (3.29) defines; every other CC tool is a LicenseRef.
SPDX_CC_IDS = frozenset((
    "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-2.5-AU", "CC-BY-3.0", "CC-BY-3.0-AT", "CC-BY-3.0-AU",
    "CC-BY-3.0-DE", "CC-BY-3.0-IGO", "CC-BY-3.0-NL", "CC-BY-3.0-US", "CC-BY-4.0", "CC-BY-NC-1.0",
    "CC-BY-NC-2.0", "CC-BY-NC-2.5", "CC-BY-NC-3.0", "CC-BY-NC-3.0-DE", "CC-BY-NC-3.0-IGO", "CC-BY-NC-4.0",
    "CC-BY-NC-ND-1.0", "CC-BY-NC-ND-2.0", "CC-BY-NC-ND-2.5", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-3.0-DE",
    "CC-BY-NC-ND-3.0-IGO", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-1.0", "CC-BY-NC-SA-2.0", "CC-BY-NC-SA-2.0-DE",
    "CC-BY-NC-SA-2.0-FR", "CC-BY-NC-SA-2.0-UK", "CC-BY-NC-SA-2.5", "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-3.0-DE",
    "CC-BY-NC-SA-3.0-IGO", "CC-BY-NC-SA-4.0", "CC-BY-ND-1.0", "CC-BY-ND-2.0", "CC-BY-ND-2.5", "CC-BY-ND-3.0",
    "CC-BY-ND-3.0-DE", "CC-BY-ND-4.0", "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.0-UK", "CC-BY-SA-2.1-JP",
    "CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-3.0-AT", "CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-IGO", "CC-BY-SA-4.0",
    "CC-PDDC", "CC-SA-1.0", "CC0-1.0",
))
# SPDX's ids for the public-domain tools, and ours where the specification names it differently
PUBLIC_DOMAIN_IDS = {"zero": "CC0-1.0", "mark": "PDM-1.0", "certification": "CC-PDDC"}
ALIASES = {"CC-PDM-1.0": "PDM-1.0"}
# 1.0 put "nd" before "nc"; SPDX and everyone else write NC first
UNIT_CODES = {"by-nd-nc": "BY-NC-ND", "nd-nc": "NC-ND"}
# English names of the license elements, by CC's unit code
ELEMENT_NAMES = {"by": "Attribution", "nc": "NonCommercial", "nd": "NoDerivs", "sa": "ShareAlike"}
ELEMENT_NAMES_4 = dict(ELEMENT_NAMES, nd="NoDerivatives")
OTHER_UNITS = {"sampling": "Sampling", "sampling+": "Sampling Plus", "nc-sampling+": "NonCommercial Sampling Plus",
               "devnations": "Developing Nations"}
# ports whose English name CC's jurisdiction data does not give (or gives differently from the license titles)
PORT_NAMES = {"igo": "IGO", "scotland": "Scotland", "uk": "England and Wales", "am": "Armenia",
              "az": "Azerbaijan", "ge": "Georgia"}
DEFAULT_POLICY = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-3.0", "CC-BY-2.5", "CC-BY-2.0", "CC-BY-SA-3.0",
                  "CC0-1.0", "PDM-1.0")
FLAG_WORDS = (("non_commercial", "non-commercial"), ("no_derivatives", "no derivatives"),
              ("other_terms", "terms outside the usual licenses"))

_CC_PATH = re.compile(
    r"/(?P<kind>licenses|publicdomain)/(?P<unit>[a-z0-9+-]+)/(?P<version>\d+(?:\.\d+)?)"
    r"(?:/(?P<port>(?!deed|legalcode|rdf|index)[a-z-]{2,10}))?"
    r"(?:/(?:deed(?:\.[a-z0-9_-]+)?|legalcode(?:\.[a-z0-9_-]+)?(?:\.txt)?|rdf|index\.html?))?/?")
_CC_LICENSE_PATH = re.compile(r"/(?:licenses|publicdomain)/[a-z0-9+-]+")
_SPDX_PATH = re.compile(r"/licenses/([a-z0-9.+-]+?)(?:\.html|\.json)?/?")
_VERSION_SUFFIX = re.compile(r"-\d+\.\d+(?:-[A-Z]+)?$")


def read_data(name: str) -> list[dict]:
    """One JSON-lines file of the Creative Commons extract."""
    text = resources.files("republisher").joinpath(*DATA_DIR, name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def cc_path(about: str) -> str:
    """The path of a CC tool's URL without the scheme and host ("licenses/by/2.0/fr/")."""
    return urlsplit(about).path.strip("/").lower() + "/"


def spdx_id(kind: str, unit: str, version: str, port: str | None) -> str:
    """The SPDX id of a CC tool, or its LicenseRef id when SPDX has none."""
    if kind == "publicdomain" and unit in PUBLIC_DOMAIN_IDS:
        return PUBLIC_DOMAIN_IDS[unit]
    code = f"CC-{UNIT_CODES.get(unit, unit.upper())}-{version}" + (f"-{port.upper()}" if port else "")
    code = code.replace("+", "-PLUS")
    return code if code in SPDX_CC_IDS else f"LicenseRef-{code}"


def flags(record: dict, kind: str) -> dict:
    """What a tool asks and forbids, read from CC's requires / permits / prohibits."""
    if kind == "publicdomain":
        return {"attribution": False, "share_alike": False, "non_commercial": False, "no_derivatives": False,
                "public_domain": True, "other_terms": False}
    requires, permits, prohibits = (set(record.get(key) or ()) for key in ("requires", "permits", "prohibits"))
    return {"attribution": "Attribution" in requires, "share_alike": "ShareAlike" in requires,
            "non_commercial": "CommercialUse" in prohibits, "no_derivatives": "DerivativeWorks" not in permits,
            "public_domain": False,
            "other_terms": bool(prohibits - {"CommercialUse"}) or "Sharing" in permits
            or record["identifier"] in OTHER_UNITS}


def english_elements(unit: str, version: str) -> str:
    """The English name of a unit's elements: "Attribution-NonCommercial-NoDerivs"."""
    if unit in OTHER_UNITS:
        return OTHER_UNITS[unit]
    names = ELEMENT_NAMES_4 if version == "4.0" else ELEMENT_NAMES
    return "-".join(names[part] for part in unit.split("-"))


def port_name(port: str, jurisdictions: dict[str, dict]) -> str:
    """A jurisdiction's English name ("France"), from CC's data."""
    if port in PORT_NAMES:
        return PORT_NAMES[port]
    titles = (jurisdictions.get(port) or {}).get("titles") or {}
    return titles.get("en") or titles.get("en-gb") or port.upper()


def make_entry(record: dict, jurisdictions: dict[str, dict]) -> dict:
    """A registry entry from one license record of CC's data."""
    path = cc_path(record["about"])
    kind, unit, version, *rest = path.strip("/").split("/")
    port = rest[0] if rest else None
    entry_id = spdx_id(kind, unit, version, port)
    place = port_name(port, jurisdictions) if port else None
    if kind == "publicdomain":
        name = short_name = record["titles"].get("en") or entry_id
        if unit == "zero":
            name, short_name = "Creative Commons Zero v1.0 Universal", "CC0 1.0"
    else:
        edition = place or ("International" if version == "4.0" else "Unported" if version == "3.0" else "Generic")
        name = f"Creative Commons {english_elements(unit, version)} {version} {edition}"
        code = unit.upper() if unit in OTHER_UNITS else UNIT_CODES.get(unit, unit.upper())
        short_name = f"CC {code} {version}" + (f" {place}" if place else "")
    return {
        "id": entry_id, "name": name, "short_name": short_name, "version": version,
        "url": f"https://creativecommons.org/{path}", "unit": unit, "jurisdiction": port,
        "jurisdiction_name": place, "base_id": spdx_id(kind, unit, version, None) if port else entry_id,
        "titles": dict(record.get("titles") or {}), "deprecated_on": record.get("deprecated_on"),
        **flags(record, kind),
    }


def build_registry() -> tuple[dict[str, dict], dict[str, str], dict[str, dict]]:
    """(entries by id, ids by CC path, jurisdictions by port code), from the bundled data."""
    jurisdictions = {cc_path(record["about"]).strip("/").rsplit("/", 1)[-1]: record
                     for record in read_data("jurisdictions.jsonl")}
    registry, by_path = {}, {}
    for record in read_data("licenses.jsonl"):
        entry = make_entry(record, jurisdictions)
        registry[entry["id"]] = entry
        by_path[cc_path(entry["url"])] = entry["id"]
    return registry, by_path, jurisdictions


REGISTRY, IDS_BY_PATH, JURISDICTIONS = build_registry()
IDS_BY_UPPER = {spdx: spdx for spdx in REGISTRY} | {spdx.upper(): spdx for spdx in REGISTRY} | ALIASES


def canonical(spdx_id: str | None) -> str | None:
    """The registry's spelling of an id (any letter case), or None when it is not in the registry."""
    return IDS_BY_UPPER.get((spdx_id or "").strip().upper())


def get_license(spdx_id: str | None) -> dict | None:
    """The registry entry for an id (any letter case), or None."""
    found = canonical(spdx_id)
    return dict(REGISTRY[found]) if found else None


def all_licenses() -> list[dict]:
    """Every license in the registry."""
    return [dict(entry) for entry in REGISTRY.values()]


def by_units(unit: str, version: str, port: str | None = None) -> str | None:
    """The id of the tool with these elements, version and port ("by-nc", "2.0", "fr"), if CC has one."""
    return IDS_BY_PATH.get(f"licenses/{unit}/{version}/" + (f"{port}/" if port else ""))


def family(spdx_id: str) -> str:
    """The license without its version and port ("CC-BY-SA-4.0" -> "CC-BY-SA")."""
    return _VERSION_SUFFIX.sub("", spdx_id.removeprefix("LicenseRef-"))


def allowed_by_default() -> frozenset[str]:
    """The default policy: attribution and share-alike licenses and the public domain tools."""
    return frozenset(DEFAULT_POLICY)


def permitted(spdx_id: str | None, policy: frozenset[str]) -> bool:
    """Whether a policy allows a license; a port is allowed when its unported version is."""
    if not spdx_id:
        return False
    if spdx_id in policy:
        return True
    entry = REGISTRY.get(spdx_id)
    return bool(entry) and entry["base_id"] in policy


def refusal(spdx_id: str) -> str:
    """Why a policy refuses a license, in words ("CC-BY-NC-1.0 is not allowed by policy: non-commercial")."""
    entry = REGISTRY.get(spdx_id) or {}
    words = [word for flag, word in FLAG_WORDS if entry.get(flag)]
    return f"{spdx_id} is not allowed by policy" + (f": {', '.join(words)}" if words else "")


def source_policy(allowed_licenses: str | None, site_policy: frozenset[str]) -> frozenset[str]:
    """The licenses a source may publish under: its own list when an editor set one, else the site's."""
    return parse_policy(allowed_licenses) if allowed_licenses else site_policy


def parse_policy(value: str) -> frozenset[str]:
    """The allowed set from a comma or space separated list of ids; empty means the default."""
    wanted = [part for part in re.split(r"[\s,;]+", value or "") if part]
    if not wanted:
        return allowed_by_default()
    allowed = set()
    for part in wanted:
        found = canonical(part)
        if found is None:
            raise UnknownLicenseError(f"unknown license id {part!r} (`republisher licenses` lists the known ids)")
        allowed.add(found)
    return frozenset(allowed)


@text_cache(max_chars=2048)
def resolve_url(url: str | None) -> str | None:
    """The id a Creative Commons (or SPDX) license URL stands for, or None."""
    parts = url_parts(url)
    if parts is None:
        return None
    host, path = parts
    if host in CC_HOSTS:
        match = _CC_PATH.fullmatch(path)
        if not match:
            return None
        kind, unit, version, port = match.group("kind", "unit", "version", "port")
        return IDS_BY_PATH.get(f"{kind}/{unit}/{version}/" + (f"{port}/" if port else ""))
    if host in SPDX_HOSTS:
        match = _SPDX_PATH.fullmatch(path)
        return canonical(match.group(1)) if match else None
    return None


def names_cc_license(url: str | None) -> bool:
    """Whether a URL points into Creative Commons' licenses or public-domain tools (known to us or not)."""
    parts = url_parts(url)
    return parts is not None and parts[0] in CC_HOSTS and bool(_CC_LICENSE_PATH.match(parts[1]))


def url_parts(url: str | None) -> tuple[str, str] | None:
    """(lower-cased host, lower-cased path) of an http(s) URL, with or without its scheme."""
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
    return host, parts.path.lower()
