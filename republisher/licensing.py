"""License stage: find what each item says about its license, and decide whether it may be republished.

Every finding names its level (``level`` and ``level_no``), most specific first:

====================  ========  ==============================================================
level                 level_no  where
====================  ========  ==============================================================
``editor_override``   0         an editor's override for this item or its source (always wins)
``item``              1         the entry's own metadata: creativeCommons:license, cc:license,
                                Atom link rel=license, dcterms:license, media:license, and
                                dc:rights / Atom rights text that names a license
``source``            2         the entry's Atom <source> metadata
``feed``              3         the channel / feed metadata, including copyright text
``content``           4         a statement in the item's own HTML (before sanitizing)
``editor_source``     5         the license an editor recorded for the source, with evidence
====================  ========  ==============================================================

Metadata precedence is item over source over feed: an entry's own license replaces the feed's in
either direction. The HTML statement counts when the metadata says nothing, and must agree with the
metadata when it does; the editor's source license counts only when nothing else was found. An
override is kept apart (level 0) so that it is always recorded as an editor's act, never as a finding.

A finding's ``kind`` is ``license``, ``reserved`` (rights text reserving all rights), ``third_party``
(an item's rights credit a third party such as Reuters) or ``unrecognized`` (a license element naming a
license outside the registry). Contradictions block the item with a reason that names both findings.
"""

import functools
import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from . import licenses
from .text import field_text as plain_text
from .text import sentence_around

LEVEL_NUMBERS = {"editor_override": 0, "item": 1, "source": 2, "feed": 3, "content": 4, "editor_source": 5}
METADATA_LEVELS = ("item", "source", "feed")
NO_LICENSE = "no license found"
LICENSE_RELS = frozenset({"license", "http://www.iana.org/assignments/relation/license"})
CC_RSS_MODULE = "creativecommonsrssmodule"  # both the userland and the harvard namespace URIs
CC_RDF_MODULES = ("web.resource.org/cc/", "creativecommons.org/ns")
WINDOW = 300  # characters of HTML read on each side of a keyword; a license sentence is shorter
# tags that start or end a paragraph-like block ("<p" also catches "<pre", "<h" catches "<hr": fine)
BLOCK_TAGS = ("<p", "</p", "<br", "<div", "</div", "<li", "</li", "<h", "</h", "<td", "</td", "<blockquote",
              "</blockquote", "<footer", "</footer", "<section", "</section", "<P", "</P", "<BR", "<DIV", "</DIV")

RESERVED_PHRASES = (
    r"\ball\s+rights\s+reserved\b",
    r"\btous\s+droits\s+r[ée]serv[ée]s\b",
    r"\balle\s+rechte\s+vorbehalten\b",
    r"\btodos\s+los\s+derechos\s+reservados\b",
    r"جميع\s+الحقوق\s+محفوظة",
    r"(?:تمامی|کلیه|همه|همهٔ|همه‌ی)\s+(?:\S+\s+){0,5}?حقوق\s+(?:\S+\s+){0,10}?محفوظ",
    r"حقوق\s+مادی\s+و\s+معنوی",  # "material and moral rights [belong to ...]"
)
# (name, pattern) of agencies whose credit inside an item means the item is not the source's to license
THIRD_PARTIES = (
    ("Reuters", r"(?i:\breuters\b)"),
    ("Associated Press", r"(?i:\bassociated\s+press\b)|\bAP\s+Photo\b|©\s*AP\b|\(AP\)"),
    ("AFP", r"\bAFP\b|(?i:\bagence\s+france[\s-]presse\b)"),
    ("Getty Images", r"(?i:\bgetty\s+images\b)"),
    ("EPA", r"\bEPA-EFE\b|©\s*EPA\b"),
    ("Shutterstock", r"(?i:\bshutterstock\b)"),
    ("Alamy", r"(?i:\balamy\b)"),
    ("Bloomberg", r"(?i:\bbloomberg\b)"),
)

_RESERVED = re.compile("|".join(RESERVED_PHRASES), re.IGNORECASE)
_THIRD_PARTIES = tuple((name, re.compile(pattern)) for name, pattern in THIRD_PARTIES)
_LINK_TAG = re.compile(r"<(?:a|link|area)\b", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|blockquote|footer|header|section|article"
                        r"|aside|figure|figcaption|hr|pre|table)\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True)
class Finding:
    """One thing a feed said about an item's license."""

    license: str | None
    level: str
    found_in: str
    matched: str
    url: str | None
    seen_at: str
    kind: str = "license"
    exact: bool = True  # False when the text named the license without a version

    def as_dict(self) -> dict:
        """The finding as stored and shown to editors."""
        return {"license": self.license, "level": self.level, "level_no": LEVEL_NUMBERS[self.level],
                "found_in": self.found_in, "matched": self.matched, "url": self.url, "seen_at": self.seen_at,
                "kind": self.kind}


@dataclass(frozen=True)
class Context:
    """What the findings of every entry of one feed share (hashable, so per-feed work can be cached)."""

    feed_url: str | None
    seen_at: str
    atom: bool
    cc_link_label: str
    rss_rights_label: str
    publisher: str


def decide_license(entry: dict, feed: dict, *, source_license: dict | None = None, policy: frozenset[str],
                   override: dict | None = None, seen_at: str | None = None) -> dict:
    """Decide whether an entry may be republished, with the evidence for editors."""
    context = make_context(feed, seen_at)
    item_url = entry.get("link") or context.feed_url
    by_level = {
        "item": metadata_findings(entry.get("raw") or {}, "item", item_url, context),
        "source": metadata_findings(entry.get("source") or {}, "source", item_url, context),
        "feed": metadata_findings(feed.get("raw") or {}, "feed", context.feed_url, context),
        "content": content_findings(entry, item_url, context),
        "editor_source": editor_source_findings(source_license, context),
    }
    findings = [finding for level in by_level.values() for finding in level]
    if override:
        chosen = override_finding(override, item_url, context)
        findings.insert(0, chosen)
        reason = None if chosen.license else f"{NO_LICENSE}: an editor's override names no license"
    else:
        chosen, reason = choose(by_level)
    return decision(chosen, reason, findings, policy, entry, feed)


def make_context(feed: dict, seen_at: str | None) -> Context:
    """The facts all findings of one feed share."""
    return feed_context(feed.get("url"), feed.get("title"), feed.get("format"),
                        tuple((feed.get("namespaces") or {}).values()),
                        seen_at or datetime.now(timezone.utc).isoformat(timespec="seconds"))


@functools.lru_cache(maxsize=256)
def feed_context(url: str | None, title: str | None, version: str | None, namespace_uris: tuple[str, ...],
                 seen_at: str) -> Context:
    """make_context for hashable parts, computed once per feed and timestamp."""
    namespaces = " ".join(namespace_uris).lower()
    rss_module = CC_RSS_MODULE in namespaces
    rdf_module = any(uri in namespaces for uri in CC_RDF_MODULES)
    if rdf_module and not rss_module:
        cc_link_label = "cc:license"
    elif rdf_module:
        cc_link_label = "creativeCommons:license or cc:license"
    else:
        cc_link_label = "creativeCommons:license"
    has_dc = "purl.org/dc/elements/1.1" in namespaces
    return Context(
        feed_url=url, seen_at=seen_at, atom=(version or "").startswith("atom"), cc_link_label=cc_link_label,
        rss_rights_label="copyright or dc:rights" if has_dc else "copyright", publisher=(title or "").lower())


def metadata_findings(meta: dict, level: str, url: str | None, context: Context) -> list[Finding]:
    """Findings in one metadata dict (entry, Atom source or feed) as feedparser gave it."""
    if not meta:
        return []
    claims = metadata_claims(meta, level, context)
    if not claims:
        return []
    if level == "item":
        return list(claims_findings(claims, level, url, context))
    # the feed's and a source's metadata repeat for every entry; read them once
    return list(cached_claims_findings(claims, level, url, context))


def metadata_claims(meta: dict, level: str, context: Context) -> tuple[tuple[str, str, str], ...]:
    """Every license element and rights text in a metadata dict, as (kind, found_in, value)."""
    claims = []
    for link in meta.get("links") or ():
        if isinstance(link, dict) and (link.get("rel") or "").lower() in LICENSE_RELS and link.get("href"):
            label = "atom link rel=license" if "type" in link else context.cc_link_label
            claims.append(("element", label, link["href"]))
    dcterms = meta.get("dcterms_license")
    if isinstance(dcterms, dict):
        dcterms = dcterms.get("rdf:resource") or dcterms.get("resource")
    if isinstance(dcterms, str) and dcterms.strip():
        claims.append(("element", "dcterms:license", dcterms))
    media = meta.get("media_license")
    if isinstance(media, dict) and isinstance(media.get("href") or media.get("content"), str):
        claims.append(("element", "media:license", media.get("href") or media["content"]))
    rights = plain_text(meta.get("rights"), meta.get("rights_detail"))
    if rights:
        claims.append(("rights", rights_label(level, context), rights))
    return tuple(claims)


def claims_findings(claims: tuple, level: str, url: str | None, context: Context) -> tuple[Finding, ...]:
    """The findings for a level's claims."""
    found = []
    for kind, found_in, value in claims:
        if kind == "rights":
            found += rights_findings(value, level, found_in, url, context)
        else:
            found += claim_findings(value, level, found_in, url, context)
    return tuple(found)


cached_claims_findings = functools.lru_cache(maxsize=256)(claims_findings)


def rights_label(level: str, context: Context) -> str:
    """Which element rights text came from, as far as feedparser lets us tell."""
    if context.atom or level == "source":
        return "atom rights"
    return "dc:rights" if level == "item" else context.rss_rights_label


def claim_findings(value: str, level: str, found_in: str, url: str | None, context: Context) -> list[Finding]:
    """Findings from a license element's value: a license URL, a license name, or something else."""
    value = value.strip()
    spdx_id = licenses.resolve_url(value)
    if spdx_id:
        return [Finding(spdx_id, level, found_in, value, url, context.seen_at)]
    if not value.lower().startswith(("http:", "https:", "//")):
        named = license_mentions(value, level, found_in, url, context)
        if named:
            return named
        if reserves_all_rights(value):
            return [Finding(None, level, found_in, value, url, context.seen_at, kind="reserved")]
    return [Finding(None, level, found_in, value, url, context.seen_at, kind="unrecognized")]


def rights_findings(text: str, level: str, found_in: str, url: str | None, context: Context) -> list[Finding]:
    """Findings in rights text: licenses it names, a reservation of all rights, a third party's credit."""
    found = license_mentions(text, level, found_in, url, context)
    if reserves_all_rights(text):
        found.append(Finding(None, level, found_in, text, url, context.seen_at, kind="reserved"))
    if level == "item" and third_party(text, context.publisher):
        found.append(Finding(None, level, found_in, text, url, context.seen_at, kind="third_party"))
    return found


def license_mentions(text: str, level: str, found_in: str, url: str | None, context: Context) -> list[Finding]:
    """One finding per distinct license a short text names; the whole text is the matched evidence."""
    found, seen = [], set()
    for spdx_id, exact, _start, _end in licenses.scan_text(text):
        if (spdx_id, exact) not in seen:
            seen.add((spdx_id, exact))
            found.append(Finding(spdx_id, level, found_in, text, url, context.seen_at, exact=exact))
    return found


@functools.lru_cache(maxsize=1024)
def reserves_all_rights(text: str) -> bool:
    """Whether rights text reserves all rights ("All rights reserved" and its translations)."""
    return bool(_RESERVED.search(text))


@functools.lru_cache(maxsize=1024)
def third_party(text: str, publisher: str) -> str | None:
    """The name of a known third party the text credits, unless it is the feed's own publisher."""
    for name, pattern in _THIRD_PARTIES:
        if pattern.search(text) and name.lower() not in publisher:
            return name
    return None


def content_findings(entry: dict, item_url: str | None, context: Context) -> list[Finding]:
    """License statements in the item's own HTML: rel=license, links to a license, sentences."""
    bodies = [entry.get("content") or ""]
    summary = entry.get("summary") or ""
    if summary and summary not in bodies[0]:
        bodies.append(summary)
    found, seen = [], set()
    for body in bodies:
        for finding in body_findings(body, item_url, context):
            key = (finding.license, finding.found_in, finding.matched)
            if key not in seen:
                seen.add(key)
                found.append(finding)
    return found


def body_findings(body: str, item_url: str | None, context: Context) -> list[Finding]:
    """Findings in one HTML body; only the few places where a keyword occurs are parsed."""
    lowered = licenses.same_length_lower(body)
    hits = licenses.keyword_hits(lowered)
    if not hits:
        return []
    # every link to a known license points at creativecommons.org (SPDX pages are not linked from articles)
    link_hits = [hit for hit in hits if lowered.startswith("creativecommons", hit)]
    return (html_link_findings(body, link_hits, item_url, context)
            + html_statement_findings(body, hits, item_url, context))


def html_link_findings(body: str, hits: list[int], item_url: str | None, context: Context) -> list[Finding]:
    """Links whose target is a known license, found from keyword positions inside their start tags."""
    found, seen = [], set()
    for hit in hits:
        start = body.rfind("<", 0, hit)
        if start == -1 or start in seen or body.rfind(">", start, hit) != -1:
            continue  # the keyword is in text, not inside a tag
        seen.add(start)
        end = body.find(">", hit)
        link = link_license(body[start:end + 1]) if end != -1 else None
        if link:
            found.append(Finding(link[0], "content", link[1], link[2], item_url, context.seen_at))
    return found


@functools.lru_cache(maxsize=1024)
def link_license(tag: str) -> tuple[str, str, str] | None:
    """(license, found_in, href) when a start tag is a link to a known license."""
    if not _LINK_TAG.match(tag):
        return None
    attributes = tag_attributes(tag)
    href = html.unescape(attributes.get("href") or "").strip()
    spdx_id = licenses.resolve_url(href) if href else None
    if not spdx_id:
        return None
    rels = set((attributes.get("rel") or "").lower().split())
    return spdx_id, "html rel=license" if rels & LICENSE_RELS else "html link to a license", href


def tag_attributes(tag: str) -> dict[str, str]:
    """A start tag's attributes by lower-cased name (first one wins, as in browsers)."""
    attributes = {}
    for name, double, single, bare in _ATTRIBUTE.findall(tag):
        attributes.setdefault(name.lower(), double or single or bare)
    return attributes


def html_statement_findings(body: str, hits: list[int], item_url: str | None,
                            context: Context) -> list[Finding]:
    """Sentences in the HTML's text that name a license, read from the blocks around keyword hits."""
    found, covered = [], -1
    for hit in hits:
        if hit < covered:
            continue  # in the block read for an earlier hit
        start, covered = block_span(body, hit)
        for spdx_id, exact, sentence in block_statements(body[start:covered]):
            found.append(Finding(spdx_id, "content", "html statement", sentence, item_url, context.seen_at,
                                 exact=exact))
    return found


def block_span(body: str, hit: int) -> tuple[int, int]:
    """The paragraph (or similar block) around a hit, at most WINDOW characters each side, no tag cut."""
    low, high = max(0, hit - WINDOW), min(len(body), hit + WINDOW)
    start = body.rfind("<", low, hit)
    while start != -1 and not body.startswith(BLOCK_TAGS, start):
        start = body.rfind("<", low, start)
    newline = body.rfind("\n", low, hit)
    start = max(start, newline + 1 if newline != -1 else -1)
    if start == -1:  # no block edge near: cut at the window, but not inside a tag
        start = low
        opening = body.rfind("<", 0, low)
        if opening != -1 and body.rfind(">", opening, low) == -1:
            start = opening
    end = body.find("<", hit, high)
    while end != -1 and not body.startswith(BLOCK_TAGS, end):
        end = body.find("<", end + 1, high)
    newline = body.find("\n", hit, high)
    ends = [at for at in (end, newline) if at != -1]
    if ends:
        return start, min(ends)
    closing = body.find(">", high)
    if closing != -1 and body.find("<", high, closing) == -1:
        high = closing + 1
    return start, high


@functools.lru_cache(maxsize=1024)
def block_statements(fragment: str) -> tuple[tuple[str, bool, str], ...]:
    """(license, names_a_version, sentence) for every license an HTML fragment names in its text."""
    # agencies end every item with the same sentence, so the same fragment comes back item after item
    text = html.unescape(_ANY_TAG.sub("", _BLOCK_TAG.sub("\n", fragment)))
    return tuple((spdx_id, exact, sentence_around(text, first, last))
                 for spdx_id, exact, first, last in licenses.scan_any_text(text))


def editor_source_findings(source_license: dict | None, context: Context) -> list[Finding]:
    """The editor's license for the whole source (level 5), when one is set."""
    if not source_license or not source_license.get("license"):
        return []
    evidence = str(source_license.get("evidence") or "")
    return [Finding(canonical_id(source_license["license"]), "editor_source", "source license set by an editor",
                    evidence, evidence_url(evidence) or context.feed_url,
                    source_license.get("set_at") or context.seen_at)]


def override_finding(override: dict, item_url: str | None, context: Context) -> Finding:
    """An editor's override, recorded as such."""
    evidence = str(override.get("evidence") or "")
    spdx_id = canonical_id(override["license"]) if override.get("license") else None
    return Finding(spdx_id, "editor_override", "override by an editor", evidence,
                   evidence_url(evidence) or item_url, override.get("set_at") or context.seen_at)


def canonical_id(spdx_id: str) -> str:
    """The registry's spelling of an id; unknown ids are kept as given (policy will block them)."""
    known = licenses.get_license(spdx_id)
    return known["id"] if known else spdx_id.strip()


def evidence_url(evidence: str) -> str | None:
    """The first http(s) URL in an editor's evidence."""
    match = _URL.search(evidence)
    return match.group(0).rstrip(".,;:)") if match else None


def choose(by_level: dict[str, list[Finding]]) -> tuple[Finding | None, str | None]:
    """The finding that decides, or None with the reason nothing can decide."""
    for index, level in enumerate(METADATA_LEVELS):
        if by_level[level]:
            fallback = [f for lower in METADATA_LEVELS[index + 1:] for f in by_level[lower]]
            fallback += by_level["content"] + by_level["editor_source"]
            return choose_metadata(by_level[level], by_level["content"], fallback)
    if by_level["content"]:
        return settle_level(by_level["content"])
    if by_level["editor_source"]:
        return by_level["editor_source"][0], None
    return None, NO_LICENSE


def choose_metadata(level_findings: list[Finding], content: list[Finding],
                    fallback: list[Finding]) -> tuple[Finding | None, str | None]:
    """Decide from the most specific metadata level that said anything; the HTML must agree."""
    winner, reason = settle_level(level_findings)
    if reason:
        return None, reason
    if winner is None:
        first = next((f for f in level_findings if f.kind == "unrecognized"), level_findings[0])
        if first.kind == "unrecognized":
            return None, f"unrecognized license: {describe(first)}"
        licensed = next((f for f in fallback if f.kind == "license"), None)
        if licensed:
            return None, f"conflict: {describe(licensed)} but {describe(first)}"
        return None, f"{NO_LICENSE}: {describe(first)}"
    if not winner.exact:  # "CC BY" in an item of a feed that says which version: take that version
        winner = next((f for f in fallback if f.kind == "license" and f.exact and compatible(winner, f)), winner)
    for statement in content:
        if not compatible(winner, statement):
            return None, f"conflict: {describe(winner)} but {describe(statement)}"
    return winner, None


def settle_level(level_findings: list[Finding]) -> tuple[Finding | None, str | None]:
    """The one license a level states, or a conflict between two of its findings."""
    named = [f for f in level_findings if f.kind == "license"]
    for index, first in enumerate(named):
        for second in named[index + 1:]:
            if not compatible(first, second):
                return None, f"conflict: {describe(first)} but {describe(second)}"
    other = next((f for f in level_findings if f.kind != "license"), None)
    if named and other:
        return None, f"conflict: {describe(named[0])} but {describe(other)}"
    if not named:
        return None, None
    return next((f for f in named if f.exact), named[0]), None


def compatible(first: Finding, second: Finding) -> bool:
    """Whether two findings name the same license ("CC BY" agrees with any version of CC BY)."""
    if first.license == second.license:
        return True
    same_family = licenses.family(first.license or "") == licenses.family(second.license or "")
    return same_family and not (first.exact and second.exact)


def describe(finding: Finding) -> str:
    """A finding in words, for a reason an editor reads."""
    where = {"item": "item metadata", "source": "the entry's source metadata", "feed": "feed metadata"}
    whose = {"item": "the item's", "source": "the entry source's", "feed": "the feed's"}
    if finding.kind == "reserved":
        return f"{whose.get(finding.level, 'the')} rights text reserves all rights ({quote(finding.matched)})"
    if finding.kind == "third_party":
        return f"the item's rights text credits a third party ({quote(finding.matched)})"
    if finding.kind == "unrecognized":
        return f"{where.get(finding.level, finding.level)} names {quote(finding.matched)} ({finding.found_in})"
    if finding.level == "content":
        return f"the item's HTML says {finding.license}"
    if finding.level == "editor_source":
        return f"the source license set by an editor is {finding.license}"
    if finding.level == "editor_override":
        return f"an editor's override says {finding.license}"
    return f"{where[finding.level]} says {finding.license} ({finding.found_in})"


def quote(text: str, limit: int = 120) -> str:
    """Text in quotes, shortened for a one-line reason."""
    text = _SPACE.sub(" ", text).strip()
    return f'"{text if len(text) <= limit else text[: limit - 1] + "…"}"'


def decision(chosen: Finding | None, reason: str | None, findings: list[Finding], policy: frozenset[str],
             entry: dict, feed: dict) -> dict:
    """The decision as the pipeline stores it."""
    allowed = chosen is not None and chosen.license in policy
    if chosen is not None and chosen.license and not allowed:
        reason = f"{chosen.license} is not allowed by policy"
    return {
        "license": chosen.license if chosen else None,
        "allowed": allowed,
        "status": "pending" if allowed else "blocked",
        "reason": None if allowed else reason or NO_LICENSE,
        "evidence": chosen.as_dict() if chosen else None,
        "findings": [finding.as_dict() for finding in findings],
        "rights": retained_rights(entry, feed),
        "attribution_party": attribution_party(entry, feed),
    }


def retained_rights(entry: dict, feed: dict) -> str | None:
    """The rights text to keep verbatim in the attribution: the item's, else its source's, else the feed's."""
    source = entry.get("source") or {}
    return (entry.get("rights") or plain_text(source.get("rights"), source.get("rights_detail"))
            or feed.get("rights"))


def attribution_party(entry: dict, feed: dict) -> str | None:
    """Who the item is credited to: its Atom source's title, else the feed's."""
    source = entry.get("source") or {}
    return plain_text(source.get("title"), source.get("title_detail")) or feed.get("title") or None


def feed_license(feed: dict, seen_at: str | None = None) -> dict | None:
    """The license a feed's own metadata states (id and the matched text), or None."""
    context = make_context(feed, seen_at)
    findings = metadata_findings(feed.get("raw") or {}, "feed", context.feed_url, context)
    chosen, _ = settle_level([finding for finding in findings if finding.license])
    if chosen is None:
        return None
    return {"license": chosen.license, "matched": chosen.matched, "found_in": chosen.found_in}
