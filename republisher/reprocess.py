"""Re-run the per-entry stages on stored revisions: after an editor's license decision or a policy change."""

import json

from . import ingest, licenses, licensing, processor, storage, workflow
from .errors import WorkflowError


def reevaluate(db, config: ingest.IngestConfig, *, source_id: int | None = None,
               item_ids: list[int] | None = None, released_hold: int | None = None) -> dict:
    """Decide again for pending and blocked items; returns how many changed status, by new status.

    released_hold: the last revision id received before a license hold that an editor has just ended.
    Then the revisions received during the hold are decided again (also the changes of published items
    that the hold kept back), and pending items received before it keep their decision: the license
    they came with cannot be revoked for them.
    """
    changed: dict[str, int] = {}
    sources: dict[int, dict] = {}
    seen_at = storage.utcnow()
    for row in rows_to_reevaluate(db, source_id, item_ids, released_hold):
        source = sources.setdefault(row["source_id"], storage.get_source(db, row["source_id"]))
        entry, feed = stored_entry(row["revision_raw"], row["revision_feed"], source)
        override = json.loads(row["license_override"]) if row.get("license_override") else None
        policy = licenses.source_policy(source.get("allowed_licenses"), config.policy)
        hold = processor.license_hold(source, row["current_revision_id"])
        decision = processor.decide(entry, feed, source, policy, seen_at, override, hold)
        with storage.transaction(db):
            now = storage.get_item(db, row["id"])
            if (now["status"], now["current_revision_id"]) != (row["status"], row["current_revision_id"]):
                continue  # a fetch or an editor got there first; that decision stands
            store_decision(db, row, entry, feed, source, decision)
            item = workflow.apply_decision(db, row["id"], decision, bool(source.get("auto_approve")), config.policy)
        if item["status"] != row["status"]:
            changed[item["status"]] = changed.get(item["status"], 0) + 1
    return changed


def rows_to_reevaluate(db, source_id: int | None, item_ids: list[int] | None, released_hold: int | None) -> list[dict]:
    """The items to decide again: pending and blocked ones, or after a hold those it concerned."""
    rows = storage.items_for_review(db, source_id=source_id, item_ids=item_ids)
    if released_hold is None:
        return rows
    rows = [row for row in rows if row["status"] == "blocked" or row["current_revision_id"] > released_hold]
    return rows + [row for row in storage.items_for_review(db, source_id=source_id, item_ids=item_ids,
                                                           statuses=("published",))
                   if row["current_revision_id"] != row["approved_revision_id"]
                   and row["current_revision_id"] > released_hold]


def stored_entry(raw_json: str, feed_json: str | None, source: dict) -> tuple[dict, dict]:
    """The normalized entry and its feed as stored with a revision."""
    entry = json.loads(raw_json)
    feed = json.loads(feed_json) if feed_json else {"url": source["url"], "title": source.get("feed_title"), "raw": {}}
    return entry, feed


def store_decision(db, row: dict, entry: dict, feed: dict, source: dict, decision: dict) -> None:
    """Write a new decision, and the credit that follows from it, on the item's current revision."""
    # the HTML does not depend on the decision: only the credit is made again, not the sanitizing
    credit = processor.credit_for(entry, feed, source, decision, row["revision_content_html"] or "",
                                  json.loads(row["revision_changes"] or "{}"))
    storage.update_revision(db, row["current_revision_id"], {
        "decision": json.dumps(decision), "license": decision.get("license"),
        "license_evidence": json.dumps(decision.get("evidence")),
        "attribution": json.dumps(credit, ensure_ascii=False)})
    if row["status"] != "published":  # a published row keeps describing its approved revision
        storage.update_item_fields(db, row["id"], {"license": decision.get("license"),
                                                   "license_evidence": json.dumps(decision.get("evidence"))})


def override_item_license(db, config: ingest.IngestConfig, item_id: int, license_id: str, evidence: str,
                          actor: str = "cli", confirm_contradiction: bool = False, reason: str | None = None) -> dict:
    """Record an editor's license for one item, with evidence, and decide again.

    An override that names a license other than one the item states itself (in its metadata or its own
    notice) is refused unless the editor confirms the contradiction, with a reason.
    """
    require_evidence(evidence)
    item = storage.get_item(db, item_id)
    if item["status"] not in ("pending", "blocked"):
        raise WorkflowError(f"item {item_id} is {item['status']}; only pending or blocked items can be overridden")
    contradicts = licensing.item_contradictions(workflow.revision_decision(db, item), license_id)
    override = {"license": license_id, "evidence": evidence.strip(), "set_at": storage.utcnow(), "by": actor}
    if contradicts:
        stated = "; ".join(f"{finding['license']} ({finding['location']}: {licensing.quote(finding['matched'], 80)})"
                           for finding in contradicts)
        if not confirm_contradiction:
            raise WorkflowError(f"item {item_id} states {stated} itself; an override to {license_id} contradicts "
                                f"it and needs the contradiction confirmed, with a reason")
        require_reason(reason, f" (what makes {license_id} right despite the item's own notice)")
        override.update(contradicts=[finding["license"] for finding in contradicts], confirmed=True,
                        reason=reason.strip())
    storage.update_item_fields(db, item_id, {"license_override": json.dumps(override)})
    reevaluate(db, config, source_id=item["source_id"], item_ids=[item_id])
    return storage.get_item(db, item_id)


def set_source_license(db, config: ingest.IngestConfig, source_id: int, license_id: str, evidence: str,
                       actor: str = "cli", confirm_contradiction: bool = False, reason: str | None = None) -> dict:
    """Record the license a source states on its site, with evidence, and decide its waiting items again.

    A license that contradicts the one the feed states itself is refused unless confirmed with a reason;
    even then the feed's own statement keeps deciding its items (the source license fills gaps only).
    An editor's decision ends a license hold: the items it held are decided again, and the pending
    items received before it keep their decision.
    """
    require_evidence(evidence)
    source = storage.get_source(db, source_id)
    stated = source.get("feed_license")
    if stated and license_id and stated != license_id:
        if not confirm_contradiction:
            raise WorkflowError(f"the feed of source {source_id} states {stated} itself; a source license of "
                                f"{license_id} contradicts it and needs the contradiction confirmed, with a reason")
        require_reason(reason)
    held = storage.license_state(source)["hold"]
    source = storage.set_source_license(db, source_id, license_id, evidence.strip(), actor=actor)
    changed = reevaluate(db, config, source_id=source_id, released_hold=held["after_revision"] if held else None)
    return {"source": source, "changed": changed, "released": held}


def require_reason(reason: str | None, detail: str = "") -> None:
    """Refuse a confirmed contradiction whose reason is shorter than a quotation of evidence."""
    if not reason or len(reason.strip()) < licensing.MIN_QUOTE:
        raise WorkflowError(f"confirming a contradiction needs a reason of at least {licensing.MIN_QUOTE} "
                            f"characters{detail}")


def require_evidence(evidence: str | None) -> None:
    """Refuse evidence that is neither a URL nor a quotation of at least 20 characters."""
    problem = licensing.evidence_problem(evidence)
    if problem:
        raise WorkflowError(f"a license set by an editor needs evidence: {problem}")


def reprocess(db, config: ingest.IngestConfig, *, source_id: int | None = None) -> dict:
    """Sanitize and credit every shown revision again; decide again for pending and blocked items.

    Sanitizing happens once, here; the re-decision that follows only makes the credit again.
    """
    counts = {"revisions": 0}
    sources: dict[int, dict] = {}
    for row in storage.revisions_to_reprocess(db, source_id=source_id):
        source = sources.setdefault(row["source_id"], storage.get_source(db, row["source_id"]))
        entry, feed = stored_entry(row["raw"], row["feed"], source)
        # a decision an item was published under is kept: only its HTML and credit are redone
        decision = json.loads(row["decision"]) if row.get("decision") else {}
        rendered = processor.render(entry, feed, source, decision)
        storage.update_revision(db, row["id"], {
            "content_html": rendered["content_html"], "changes": json.dumps(rendered["changes"]),
            "attribution": json.dumps(rendered["attribution"], ensure_ascii=False)})
        counts["revisions"] += 1
    counts["status changes"] = reevaluate(db, config, source_id=source_id)
    return counts
