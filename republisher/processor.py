"""Per-entry stages after parsing: identity, license decision, sanitizing, attribution (plain values)."""

import hashlib
import json
import html

from . import attribution, licenses, licensing, sanitizer
from .slugs import slugify


def entry_identity(entry: dict) -> str:
    """An entry's stable identity: GUID, else link, else a hash of title and content."""
    if entry.get("guid"):
        return "guid:" + entry["guid"]
    if entry.get("link"):
        return "link:" + entry["link"]
    digest = hashlib.sha256(((entry.get("title") or "") + "\x00" + (entry.get("content") or "")).encode()).hexdigest()
    return "hash:" + digest


def entry_hash(fingerprint: str) -> str:
    """A hash of an entry's canonical serialization, to skip unchanged entries."""
    return hashlib.sha256(fingerprint.encode("utf-8", "surrogatepass")).hexdigest()


def process_entry(entry: dict, feed: dict, source: dict, policy: frozenset, seen_at: str,
                  override: dict | None = None) -> dict:
    """Run license decision, sanitizer and attribution for one new or changed entry."""
    decision = decide(entry, feed, source, policy, seen_at, override)
    return dict(render(entry, feed, source, decision), decision=decision)


def decide(entry: dict, feed: dict, source: dict, policy: frozenset, seen_at: str,
           override: dict | None = None) -> dict:
    """The license decision for an entry, with the editor's source license and item override."""
    return licensing.decide_license(entry, feed, source_license=source_license(source), policy=policy,
                                    override=override, seen_at=seen_at)


def render(entry: dict, feed: dict, source: dict, decision: dict) -> dict:
    """Sanitized content and the structured credit for an entry under a given decision."""
    content_type = entry.get("content_type") or "text/html"
    raw_content = entry.get("content") or ""
    if "html" not in content_type:
        raw_content = plain_text_as_html(raw_content)
    cleaned = sanitizer.sanitize_html(raw_content, entry.get("base") or feed.get("url"))
    credit = credit_for(entry, feed, source, decision, cleaned.html, cleaned.changes)
    return {"content_html": cleaned.html, "changes": cleaned.changes, "attribution": credit}


def credit_for(entry: dict, feed: dict, source: dict, decision: dict, content_html: str, changes: dict) -> dict:
    """The structured credit for already sanitized content under a given decision."""
    earlier = attribution.earlier_modification_notice(entry.get("rights"), content_html)
    return build_credit(entry, feed, source, decision, changes, earlier)


def source_license(source: dict) -> dict | None:
    """The editor's license for a source, as the license stage expects it."""
    if not source.get("license"):
        return None
    return {"license": source["license"], "evidence": source.get("license_evidence") or "",
            "set_at": source.get("license_set_at")}


def plain_text_as_html(text: str) -> str:
    """Wrap a text/plain body in escaped paragraphs."""
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
    return "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs)


def build_credit(entry: dict, feed: dict, source: dict, decision: dict, changes: dict,
                 earlier_changes: str | None = None) -> dict:
    """The structured attribution for an entry."""
    license_info = licenses.get_license(decision.get("license")) if decision.get("license") else None
    publisher = source.get("credit_name") or decision.get("attribution_party") or feed.get("title") or source.get("name")
    return attribution.build_attribution(
        title=entry.get("title") or "Untitled",
        original_url=entry.get("link"),
        creators=list(entry.get("authors") or []),
        publisher=publisher,
        source_name=source.get("name"),
        source_url=feed.get("link") or source.get("url"),
        copyright_notice=decision.get("rights"),
        license_notice=None,
        disclaimer=None,
        license_id=decision.get("license"),
        license_name=license_info["name"] if license_info else None,
        license_url=license_info["url"] if license_info else None,
        changes=changes,
        earlier_changes_notice=earlier_changes,
        remove_credit=bool(source.get("remove_credit")),
        attribution_required=bool(license_info.get("attribution", True)) if license_info else True,
    )


def item_fields(entry: dict, identity: str, digest: str, decision: dict) -> dict:
    """The item row's fields taken from the latest revision."""
    return {
        "identity": identity, "guid": entry.get("guid"), "url": entry.get("link"),
        "slug": slugify(entry.get("title") or "", "item"),
        "title": entry.get("title"), "authors": json.dumps(entry.get("authors") or [], ensure_ascii=False),
        "categories": json.dumps(entry.get("categories") or [], ensure_ascii=False),
        "enclosures": json.dumps(entry.get("enclosures") or []), "language": entry.get("language"),
        "published_at": entry.get("published") or entry.get("updated"), "updated_at": entry.get("updated"),
        "entry_hash": digest, "license": decision.get("license"),
        "license_evidence": json.dumps(decision.get("evidence")),
    }
