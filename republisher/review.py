"""What editors review: the queue, and one item as it will be published, with its evidence and changes.

Plain values only (no row encodings); the desk's screens and the CLI's `items show` read the same.
"""

import difflib

from . import attribution, feeds, storage

DIFF_CONTEXT = 2


def review_queue(db, *, source_id: int | None = None, status: str | None = None, license: str | None = None,
                 changed_upstream: bool | None = None, before: str | None = None, limit: int = 50) -> list[dict]:
    """Pending and flagged items first, then newest first; each with source, date, license, evidence and warning."""
    if source_id is not None:
        storage.get_source(db, source_id)  # a source that does not exist is an error, not an empty queue
    return storage.review_queue(db, source_id=source_id, status=status, license=license,
                                changed_upstream=changed_upstream, before=before, limit=limit)


def item_view(db, item_id: int) -> dict:
    """One item for review: item, source, current and approved revision, decision, changes, credit and diff."""
    detail = storage.item_detail(db, item_id)
    item, current, approved = detail["item"], detail["current"], detail["approved"]
    shown = approved if item["status"] == "published" and approved else current
    decision = (current or {}).get("decision") or {}
    changed = item["status"] == "published" and approved is not None and current is not None \
        and approved["id"] != current["id"]
    return {
        "id": item["id"], "status": item["status"], "status_reason": item["status_reason"],
        "review_flag": item["review_flag"], "title": (shown or {}).get("title") or item["title"],
        "edited_title": item.get("edited_title"), "original_url": item["url"], "guid": item["guid"],
        "published_at": item["published_at"], "first_seen_at": item["first_seen_at"],
        "license": item["license"], "license_override": item["license_override"], "source": detail["source"],
        "current": revision_view(current), "approved": revision_view(approved),
        "decision": decision_view(decision),
        "sanitizer_changes": (current or {}).get("changes") or {},
        "attribution": (shown or {}).get("attribution") or {},
        "attribution_text": attribution.plain_credit((shown or {}).get("attribution") or {}),
        "changed_upstream": changed,
        "diff": text_diff(approved, current) if changed else None,
    }


def revision_view(revision: dict | None) -> dict | None:
    """A revision as editors see it: its number, when it came, title, sanitized HTML and credit."""
    if revision is None:
        return None
    return {"id": revision["id"], "number": revision["number"], "fetched_at": revision["fetched_at"],
            "title": revision["title"], "content_html": revision["content_html"],
            "attribution": revision["attribution"], "license": revision["license"]}


def decision_view(decision: dict) -> dict:
    """The license decision with each finding's level, location, and matched text or URL."""
    findings = [{"license": found.get("license"), "kind": found.get("kind"), "level": found.get("level"),
                 "location": found.get("location"), "found_in": found.get("found_in"),
                 "matched": found.get("matched"), "url": found.get("url")}
                for found in decision.get("findings") or ()]
    evidence = decision.get("evidence") or {}
    return {"license": decision.get("license"), "allowed": bool(decision.get("allowed")),
            "reason": decision.get("reason"), "findings": findings,
            "evidence": {key: evidence.get(key) for key in ("level", "location", "found_in", "matched", "url",
                                                            "seen_at")} if evidence else None,
            "media": decision.get("media") or []}


def revision_text(revision: dict) -> list[str]:
    """A revision's title and text as lines, for comparing two of them."""
    text, _ = feeds.text_and_excerpt(revision.get("content_html") or "")
    sentences = [part.strip() for part in text.replace(". ", ".\n").splitlines() if part.strip()]
    return [f"Title: {revision.get('title') or ''}", *sentences]


def text_diff(before: dict, after: dict) -> str:
    """A readable unified diff of the approved revision's text against the current one's."""
    lines = difflib.unified_diff(revision_text(before), revision_text(after),
                                 fromfile=f"approved (revision {before['number']})",
                                 tofile=f"current (revision {after['number']})", n=DIFF_CONTEXT, lineterm="")
    return "\n".join(lines)
