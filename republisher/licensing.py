"""License stage: find what each item says about its license, and decide whether it may be republished.

Every finding names its level (``level`` and ``level_no``), most specific first:

====================  ========  ==============================================================
level                 level_no  where
====================  ========  ==============================================================
``editor_override``   0         an editor's override for this item (always wins)
``item``              1         the entry's own metadata: creativeCommons:license, cc:license,
                                Atom link rel=license, dcterms:license, media:license, and
                                dc:rights / Atom rights text that names a license
``source``            2         the entry's Atom <source> metadata (its rights and its title)
``feed``              3         the channel / feed metadata, including copyright text
``content``           4         a statement in the item's own HTML that speaks of the item
``editor_source``     5         the license an editor recorded for the source, with evidence
====================  ========  ==============================================================

Metadata precedence is item over source over feed: an entry's own license replaces the feed's in
either direction. An HTML statement counts when it speaks of the item (``statements`` decides that) and
the metadata says nothing; it must agree with the metadata when it does. The editor's source license
counts only when nothing else was found.

A finding's ``kind`` is ``license``; ``unrecognized`` (it names a license or terms the registry does not
know: the item is held for an editor, and no lower level decides instead); ``reserved`` (all rights
reserved); ``restricted`` (non-commercial, no derivatives, no republication, however written); or
``third_party`` (the item credits a news agency or photo library). Any of the last three next to a
license is a conflict that blocks the item, with a reason that quotes both. Media credits (a license or
an agency's credit on a picture) never decide the item's license: each is listed with its image under
``media``, and an image whose credit the policy does not allow is removed by the render stage.
"""

import re
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime, timezone

from . import license_text, licenses, statements
from .text import field_text as plain_text
from .textfold import text_cache

LEVEL_NUMBERS = {"editor_override": 0, "item": 1, "source": 2, "feed": 3, "content": 4, "editor_source": 5}
METADATA_LEVELS = ("item", "source", "feed")
LOCATIONS = {"item": "item metadata", "source": "source metadata", "feed": "feed metadata",
             "editor_source": "editor", "editor_override": "editor"}
NO_LICENSE = "no license found"
LICENSE_RELS = statements.LICENSE_RELS
CC_RSS_MODULE = "creativecommonsrssmodule"  # both the userland and the harvard namespace URIs
CC_RDF_MODULES = ("web.resource.org/cc/", "creativecommons.org/ns")
MIN_QUOTE = 20  # characters an editor's quoted evidence must have
SHORT_SUMMARY = 1000  # characters up to which a summary is read before it is looked for in the content
CACHED_FEED_TEXT = 4096  # characters of a feed's rights text (or URL) up to which its reading is kept
LICENSE_FLAGS = ("non_commercial", "no_derivatives")  # restrictions a license itself can carry, as registry flags
TERM_WORDS = {"non_commercial": "non-commercial use only", "no_derivatives": "no derivatives",
              "no_reuse": "no republication"}
RESTRICTIVE_KINDS = ("third_party", "reserved", "restricted")
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"https?://[^\s\"'<>]+")


class Finding(NamedTuple):
    """One thing a feed said about an item's license."""

    license: str | None
    level: str
    found_in: str
    matched: str
    url: str | None
    seen_at: str
    kind: str = "license"
    exact: bool = True  # False when the text named the license without a version
    location: str = ""
    party: str | None = None
    term: str | None = None
    block: tuple | None = None  # where an HTML statement stands in the item's content

    def as_dict(self) -> dict:
        """The finding as stored and shown to editors."""
        license_id, level, found_in, matched, url, seen_at, kind, _, location, party, term, block = self
        found = {"license": license_id, "level": level, "level_no": LEVEL_NUMBERS[level], "found_in": found_in,
                 "location": location or LOCATIONS.get(level, level), "matched": matched, "url": url,
                 "seen_at": seen_at, "kind": kind}
        if party:
            found["party"] = party
        if term:
            found["term"] = term
        if block:
            found["block"] = list(block)
        return found


@dataclass(frozen=True)
class Context:
    """What the findings of every entry of one feed share (hashable, so per-feed work can be cached)."""

    feed_url: str | None
    seen_at: str
    atom: bool
    cc_link_label: str
    rss_rights_label: str


def decide_license(entry: dict, feed: dict, *, source_license: dict | None = None, policy: frozenset[str],
                   override: dict | None = None, seen_at: str | None = None, hold: str | None = None) -> dict:
    """Decide whether an entry may be republished, with the evidence for editors.

    hold: a reason to hold the item for an editor whatever it says (the publisher's license changed).
    """
    context = make_context(feed, seen_at)
    item_url = entry.get("link") or context.feed_url
    content, media, mentions = html_findings(entry, item_url, context)
    source = entry.get("source")
    by_level = {
        "item": metadata_findings(entry.get("raw") or {}, "item", item_url, context)
        + author_findings(entry, item_url, context),
        "source": metadata_findings(source, "source", item_url, context)
        + source_title_findings(source, item_url, context) if source else [],
        "feed": feed_findings(feed, context),
        "content": content,
        "editor_source": editor_source_findings(source_license, context),
    }
    findings = [finding for level in by_level.values() for finding in level]
    contradicted = []
    if override:
        chosen = override_finding(override, item_url, context)
        findings.insert(0, chosen)
        reason = None if chosen.license else f"{NO_LICENSE}: an editor's override names no license"
        contradicted = [f.as_dict() for f in stated_licenses(by_level) if chosen.license and not compatible(chosen, f)]
    else:
        chosen, reason = choose(by_level)
        if chosen is not None and hold:
            chosen, reason = None, hold
    credits = media_decisions(media, entry, policy)
    if chosen is not None and credits["unplaced"]:
        chosen, reason = None, credits["unplaced"]
    result = decision(chosen, reason, findings + mentions, policy, entry, feed)
    result["media"] = credits["media"]
    if contradicted:
        result["contradicted"] = contradicted
    return result


_last_context: tuple = (None, None, None)


def make_context(feed: dict, seen_at: str | None) -> Context:
    """The facts all findings of one feed share (the entries of one fetch ask for the same ones)."""
    global _last_context
    cached_feed, cached_seen_at, context = _last_context
    if cached_feed is not feed or cached_seen_at != seen_at or seen_at is None:
        context = feed_context(feed.get("url"), feed.get("format"), tuple((feed.get("namespaces") or {}).values()),
                               seen_at or datetime.now(timezone.utc).isoformat(timespec="seconds"))
        _last_context = (feed, seen_at, context)
    return context


@text_cache(max_chars=CACHED_FEED_TEXT)
def feed_context(url: str | None, version: str | None, namespace_uris: tuple[str, ...], seen_at: str) -> Context:
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
    return Context(feed_url=url, seen_at=seen_at, atom=(version or "").startswith("atom"),
                   cc_link_label=cc_link_label, rss_rights_label="copyright or dc:rights" if has_dc else "copyright")


# ---------------------------------------------------------------- metadata


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


_last_feed: tuple = (None, None, None)


def feed_findings(feed: dict, context: Context) -> list[Finding]:
    """The feed's own findings, read once for all the entries of one fetched feed."""
    global _last_feed
    raw = feed.get("raw") or {}
    cached_raw, cached_context, findings = _last_feed
    if cached_raw is not raw or (cached_context is not context and cached_context != context):
        findings = metadata_findings(raw, "feed", context.feed_url, context)
        _last_feed = (raw, context, findings)
    return list(findings)


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
    rights = meta.get("rights") and plain_text(meta["rights"], meta.get("rights_detail"))
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


cached_claims_findings = text_cache(max_chars=CACHED_FEED_TEXT)(claims_findings)


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
        named = rights_findings(value, level, found_in, url, context)
        if any(finding.kind == "license" for finding in named):
            return named
        if any(finding.kind == "reserved" for finding in named):
            return [finding for finding in named if finding.kind != "unrecognized"]
    return [Finding(None, level, found_in, value, url, context.seen_at, kind="unrecognized")]


def rights_findings(text: str, level: str, found_in: str, url: str | None, context: Context) -> list[Finding]:
    """Findings in rights text: licenses it names, unknown licenses, restrictive terms, reservations, credits."""
    found, seen = [], set()
    for mention in license_text.scan(text):
        kind = "license" if mention.license else "unrecognized"
        if (mention.license, mention.exact, kind) not in seen:
            seen.add((mention.license, mention.exact, kind))
            found.append(Finding(mention.license, level, found_in, text, url, context.seen_at, kind=kind,
                                 exact=mention.exact))
    party = license_text.credited_party(text)  # at every level: a feed titled after an agency is checked too
    if party:
        found.append(Finding(None, level, found_in, text, url, context.seen_at, kind="third_party", party=party))
    for term in license_text.terms(text):
        found.append(Finding(None, level, found_in, text, url, context.seen_at, kind=term.finding_kind,
                             term=term.restriction))
    return found


def author_findings(entry: dict, url: str | None, context: Context) -> list[Finding]:
    """An agency named as the item's author ("The Associated Press", "Jane Doe, Reuters")."""
    found = []
    for name in entry.get("authors") or ():
        party = license_text.credited_party(name) if isinstance(name, str) else None
        if party:
            found.append(Finding(None, "item", "author", name, url, context.seen_at, kind="third_party", party=party))
    return found


def source_title_findings(source: dict, url: str | None, context: Context) -> list[Finding]:
    """An Atom <source> whose title names a news agency: the entry is that agency's copy."""
    title = plain_text(source.get("title"), source.get("title_detail"))
    party = license_text.credited_party(title) if title else None
    if not party:
        return []
    return [Finding(None, "source", "atom source title", title, url, context.seen_at, kind="third_party",
                    party=party)]


# ---------------------------------------------------------------- the item's HTML


def html_findings(entry: dict, item_url: str | None, context: Context) -> tuple[list[Finding], list[dict], list[Finding]]:
    """(statements about the item, media credits, mentions of other works) in the entry's HTML."""
    content = entry.get("content") or ""
    summary = entry.get("summary") or ""
    found = [("content", statement) for statement in statements.find_statements(content)]
    if summary and summary != content:
        # a summary that is part of the content says nothing of its own; a short one is read before it is
        # looked for there, since most say nothing and looking through a long content costs more
        short = len(summary) <= SHORT_SUMMARY
        if short or summary not in content:
            of_summary = statements.find_statements(summary)
            if of_summary and (not short or summary not in content):
                found += [("summary", statement) for statement in of_summary]
    item, media, mentions = [], feed_media_credits(entry, content), []
    for body_name, statement in found:
        if statement.scope == "item":
            kind, _, location, found_in, text, license_id, exact, party, term, _, block = statement
            item.append(Finding._make((license_id, "content", found_in, text, item_url, context.seen_at, kind,
                                       exact, location, party, term, block if body_name == "content" else None)))
        elif statement.scope == "media":
            media.append(dict(statement.as_dict(), body=body_name))
        else:
            mentions.append(Finding(statement.license, "content", statement.found_in, statement.text, item_url,
                                    context.seen_at, kind="mention", exact=statement.exact, location="body"))
    return item, media, mentions


def feed_media_credits(entry: dict, content: str) -> list[dict]:
    """media:credit and media:copyright, each kept with the pictures of the entry that the body shows.

    A picture is known under many addresses (sizes, CDN proxies, query strings); its file name is what
    identifies it. When the body shows pictures but none is the credited one, the credit is unplaced.
    """
    raw = entry.get("raw") or {}
    if not raw.get("media_credit") and not raw.get("media_copyright"):
        return []
    texts = [credit.get("content") for credit in raw.get("media_credit") or () if isinstance(credit, dict)]
    texts.append(raw.get("media_copyright") if isinstance(raw.get("media_copyright"), str) else None)
    texts = [text.strip() for text in texts if isinstance(text, str) and text.strip()]
    if not texts:
        return []
    keys = {statements.image_key(item["url"]) for key in ("media_content", "media_thumbnail")
            for item in raw.get(key) or () if isinstance(item, dict) and isinstance(item.get("url"), str)}
    images = statements.body_images(content)
    shown = [image for image in images if statements.image_key(image.src) in keys]
    found = []
    for text in texts:
        for statement in statements.credit_statements(text, shown, strict=True):
            found.append(dict(statement.as_dict(), body="content", found_in="media:credit",
                              elsewhere=not images))
    return found


def media_decisions(media: list[dict], entry: dict, policy: frozenset) -> dict:
    """Each media credit with whether the policy allows its images; a reason when a refused one has none."""
    if not media:
        return {"media": [], "unplaced": None}
    decided, unplaced = [], None
    images_in_body = "<img" in (entry.get("content") or "").lower()
    for credit in media:
        allowed, reason = media_allowed(credit, policy)
        images = [{"src": src, "span": [start, end]} for src, start, end in credit.get("images") or ()]
        decided.append({"images": images, "body": credit.get("body"), "credit": credit["text"],
                        "kind": credit["kind"], "license": credit.get("license"), "party": credit.get("party"),
                        "term": credit.get("term"), "location": credit["location"], "found_in": credit["found_in"],
                        "allowed": allowed, "reason": reason})
        if not allowed and not images and images_in_body and not credit.get("elsewhere") and unplaced is None:
            unplaced = f"held for an editor: a media credit that the policy does not allow ({reason}) is not " \
                       f"beside any one image: {quote(credit['text'])}"
    return {"media": decided, "unplaced": unplaced}


def media_allowed(credit: dict, policy: frozenset) -> tuple[bool, str | None]:
    """Whether a picture with this credit may be republished, and why not."""
    kind, license_id = credit["kind"], credit.get("license")
    if kind == "license":
        if licenses.permitted(license_id, policy):
            return True, None
        return False, f"its license ({short_name(license_id)}) does not allow this use"
    if kind == "unrecognized":
        return False, "its license is not one the registry knows"
    if kind == "third_party":
        return False, f"its credit ({credit.get('party')}) reserves the rights"
    if kind == "reserved":
        return False, "its credit reserves all rights"
    return False, f"its credit restricts its use ({TERM_WORDS.get(credit.get('term'), 'restricted')})"


def short_name(license_id: str | None, missing: str = "unknown") -> str:
    """A license as readers know it ("CC BY-NC 2.0"), else the id, else the word for none."""
    entry = licenses.get_license(license_id)
    return entry["short_name"] if entry else (license_id or missing)


# ---------------------------------------------------------------- editors


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
    return licenses.canonical(spdx_id) or spdx_id.strip()


def evidence_url(evidence: str) -> str | None:
    """The first http(s) URL in an editor's evidence."""
    match = _URL.search(evidence)
    return match.group(0).rstrip(".,;:)") if match else None


def evidence_problem(evidence: str | None) -> str | None:
    """Why an editor's evidence does not count, or None: it must be a URL or a quotation of 20 characters."""
    text = _SPACE.sub(" ", evidence or "").strip()
    if evidence_url(text) or len(text) >= MIN_QUOTE:
        return None
    return (f"evidence must be a URL or the quoted statement (at least {MIN_QUOTE} characters), "
            f"not {quote(text) if text else 'nothing'}")


def stated_licenses(by_level: dict[str, list[Finding]]) -> list[Finding]:
    """The licenses the item states itself: its metadata, its source's, and its own notices in the HTML."""
    return [f for level in ("item", "source", "content") for f in by_level[level] if f.kind == "license"]


def item_contradictions(decision: dict, license_id: str) -> list[dict]:
    """The item's own statements (metadata or notice) that name a license other than license_id."""
    wanted = Finding(licenses.canonical(license_id) or license_id, "editor_override", "", "", None, "")
    found = []
    for finding in decision.get("findings") or ():
        if finding["level"] in ("item", "source", "content") and finding["kind"] == "license":
            stated = Finding(finding["license"], finding["level"], finding["found_in"], finding["matched"], None, "")
            if not compatible(wanted, stated):
                found.append(finding)
    return found


# ---------------------------------------------------------------- choosing


def choose(by_level: dict[str, list[Finding]]) -> tuple[Finding | None, str | None]:
    """The finding that decides, or None with the reason nothing can decide."""
    content = by_level["content"]
    if content and not (by_level["item"] or by_level["source"] or by_level["feed"] or by_level["editor_source"]):
        # the agency case: only the item's own notice speaks, each of its findings naming one license;
        # choose_by_precedence gives the same, through every rule that cannot apply here
        license_id = content[0].license
        if all(finding.kind == "license" and finding.license == license_id for finding in content):
            return next((finding for finding in content if finding.exact), content[0]), None
    return choose_by_precedence(by_level)


def choose_by_precedence(by_level: dict[str, list[Finding]]) -> tuple[Finding | None, str | None]:
    """choose, through every rule: levels by precedence, unrecognized notices, conflicts, restrictions."""
    own = by_level["item"] + by_level["source"] + by_level["content"]  # what the item says of itself
    for finding in own:
        if finding.kind == "unrecognized":
            return None, f"unrecognized license: {describe(finding)}"
    chosen, reason = choose_license(by_level)
    if chosen is None:
        return None, reason
    restrictions = [f for f in own if f.kind in RESTRICTIVE_KINDS and not allows(chosen, f)]
    if restrictions:  # an agency's name says most about why: name it first
        restriction = min(restrictions, key=lambda f: RESTRICTIVE_KINDS.index(f.kind))
        return None, f"conflict: {describe(chosen)} but {describe(restriction)}"
    return chosen, None


def choose_license(by_level: dict[str, list[Finding]]) -> tuple[Finding | None, str | None]:
    """The license finding that decides by precedence, or None with the reason."""
    for index, level in enumerate(METADATA_LEVELS):
        if by_level[level]:
            fallback = [f for lower in METADATA_LEVELS[index + 1:] for f in by_level[lower]]
            fallback += by_level["content"] + by_level["editor_source"]
            return choose_metadata(by_level[level], by_level["content"], fallback)
    return choose_without_metadata(by_level)


def choose_without_metadata(by_level: dict[str, list[Finding]]) -> tuple[Finding | None, str | None]:
    """When the metadata says nothing: the item's own notice, else the editor's source license."""
    if by_level["content"]:
        winner, reason = settle_level(by_level["content"])
        if winner is not None or reason:
            return winner, reason
        licensed = next((f for f in by_level["editor_source"] if f.kind == "license"), None)
        first = by_level["content"][0]
        if licensed:
            return None, f"conflict: {describe(licensed)} but {describe(first)}"
        return None, f"{NO_LICENSE}: {describe(first)}"
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
        if statement.kind == "license" and not compatible(winner, statement):
            return None, f"conflict: {describe(winner)} but {describe(statement)}"
    return winner, None


def settle_level(level_findings: list[Finding]) -> tuple[Finding | None, str | None]:
    """The one license a level states, or a conflict between two of its findings."""
    named = [f for f in level_findings if f.kind == "license"]
    for index, first in enumerate(named):
        for second in named[index + 1:]:
            if not compatible(first, second):
                return None, f"conflict: {describe(first)} but {describe(second)}"
    if not named:
        return None, None
    if len(named) < len(level_findings):
        other = next((f for f in level_findings if f.kind != "license" and not allows(named[0], f)), None)
        if other:
            return None, f"conflict: {describe(named[0])} but {describe(other)}"
    if named[0].exact:
        return named[0], None
    return next((f for f in named if f.exact), named[0]), None


def compatible(first: Finding, second: Finding) -> bool:
    """Whether two findings name the same license ("CC BY" agrees with any version of CC BY)."""
    if first.license == second.license:
        return True
    same_family = licenses.family(first.license or "") == licenses.family(second.license or "")
    return same_family and not (first.exact and second.exact)


def allows(license_finding: Finding, term: Finding) -> bool:
    """Whether a license already carries a restrictive term (an NC license that says "non-commercial")."""
    if term.kind != "restricted" or term.term not in LICENSE_FLAGS:
        return False
    entry = licenses.REGISTRY.get(license_finding.license or "") or {}
    return bool(entry.get(term.term))


def describe(finding: Finding) -> str:
    """A finding in words, for a reason an editor reads."""
    where = {"item": "item metadata", "source": "the entry's source metadata", "feed": "feed metadata",
             "content": "the item's HTML"}
    whose = {"item": "the item's rights text", "source": "the entry source's rights text",
             "feed": "the feed's rights text", "content": "the item's text"}
    owner = whose.get(finding.level, "the rights text")
    if finding.kind == "reserved":
        return f"{owner} reserves all rights ({quote(finding.matched)})"
    if finding.kind == "third_party":
        if finding.found_in == "atom source title":
            return f"the entry's source is {finding.party} ({quote(finding.matched)})"
        return f"{owner} credits a third party, {finding.party} ({quote(finding.matched)})"
    if finding.kind == "restricted":
        return f"{owner} restricts its use: {TERM_WORDS.get(finding.term, 'restricted')} ({quote(finding.matched)})"
    if finding.kind == "unrecognized":
        return f"{where.get(finding.level, finding.level)} names {quote(finding.matched)} ({finding.found_in})"
    if finding.level == "content":
        return f"the item's HTML says {finding.license} ({finding.location}: {quote(finding.matched, 80)})"
    if finding.level == "editor_source":
        return f"the source license set by an editor is {finding.license}"
    if finding.level == "editor_override":
        return f"an editor's override says {finding.license}"
    return f"{where[finding.level]} says {finding.license} ({finding.found_in})"


def quote(text: str, limit: int = 120) -> str:
    """Text in quotes, shortened for a one-line reason."""
    size = 4 * limit  # only the start of a long text is shown: fold the spaces of no more than that
    while True:
        shown = _SPACE.sub(" ", text[:size]).strip()
        if len(shown) > limit or size >= len(text):
            break
        size *= 4
    return f'"{shown if len(shown) <= limit else shown[: limit - 1] + "…"}"'


def decision(chosen: Finding | None, reason: str | None, findings: list[Finding], policy: frozenset[str],
             entry: dict, feed: dict) -> dict:
    """The decision as the pipeline stores it."""
    allowed = chosen is not None and licenses.permitted(chosen.license, policy)
    if chosen is not None and chosen.license and not allowed:
        reason = licenses.refusal(chosen.license)
    stored, evidence = [], None
    for finding in findings:
        stored.append(finding.as_dict())
        if finding is chosen and evidence is None:
            evidence = stored[-1]
    return {
        "license": chosen.license if chosen else None,
        "allowed": allowed,
        "status": "pending" if allowed else "blocked",
        "reason": None if allowed else reason or NO_LICENSE,
        "evidence": (dict(evidence) if evidence else chosen.as_dict()) if chosen else None,
        "findings": stored,
        "rights": retained_rights(entry, feed),
        "attribution_party": attribution_party(entry, feed),
    }


def retained_rights(entry: dict, feed: dict) -> str | None:
    """The rights text to keep verbatim in the attribution: the item's, else its source's, else the feed's."""
    source = entry.get("source") or {}
    return (entry.get("rights") or source.get("rights") and plain_text(source["rights"], source.get("rights_detail"))
            or feed.get("rights"))


def attribution_party(entry: dict, feed: dict) -> str | None:
    """Who the item is credited to: its Atom source's title, else the feed's."""
    source = entry.get("source") or {}
    return (source.get("title") and plain_text(source["title"], source.get("title_detail"))
            or feed.get("title") or None)


def feed_license(feed: dict, seen_at: str | None = None) -> dict | None:
    """The license a feed's own metadata states (id and the matched text), or None."""
    context = make_context(feed, seen_at)
    findings = metadata_findings(feed.get("raw") or {}, "feed", context.feed_url, context)
    chosen, _ = settle_level([finding for finding in findings if finding.license])
    if chosen is None:
        return None
    return {"license": chosen.license, "matched": chosen.matched, "found_in": chosen.found_in}
