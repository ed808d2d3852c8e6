"""Recording and re-deciding: the one owner of revisions' decisions, item overrides and source policy.

Ingest records each new or changed entry here; editors' license overrides, source licenses and source
edits re-decide here; reprocess renders again here. Every change an editor makes writes its audit row
in the transaction of the change.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from . import feeds, fetcher, gate, ingest, licenses, licensing, netguard, parser, processor, storage, workflow
from .errors import BlockedAddressError, FetchError, WorkflowError

# source fields whose change decides items again, or credits them again
DECIDING_FIELDS = frozenset({"license", "license_evidence", "auto_approve", "allowed_licenses"})
CREDIT_FIELDS = frozenset({"credit_name", "remove_credit"})
EDITABLE_FIELDS = frozenset({"name", "interval_seconds"}) | DECIDING_FIELDS | CREDIT_FIELDS
TITLE_EDITED = "title changed by the editors"
log = logging.getLogger("republisher.decisions")


def sync_public_index(db) -> None:
    """Index what was just published, for search and cards, in the process that wrote it, after its commit."""
    if db.conn.in_transaction:
        return  # the owner of the open transaction syncs once it has committed
    try:
        while storage.public_index_sync(db, feeds.text_and_excerpt):
            pass
    except sqlite3.OperationalError as exc:
        # the change itself is committed; the next write (or `serve`'s start) indexes what is left
        log.warning("search index not refreshed: %s", exc)


# ---------------------------------------------------------------- recording revisions


def editor_changes(item: dict | None) -> list[str]:
    """The changes editors made to an item, for its credit's changes notice."""
    return [TITLE_EDITED] if item and item.get("edited_title") else []


def record_revision(db, batch: ingest.Batch, parsed, stored: dict | None) -> str:
    """Decide, render and store one new or changed entry; returns 'new', 'updated' or 'blocked'."""
    entry, identity, digest = parsed.values, parsed.identity, parsed.fingerprint
    source, policy = batch.source, batch.policy
    override = stored.get("license_override") if stored else None
    edits = editor_changes(stored)
    processed = processor.process_entry(entry, batch.feed, source, policy, batch.seen_at, override, batch.hold,
                                        editor_changes=edits)
    decision = processed["decision"]
    item = processor.item_fields(entry, identity, digest, decision)
    revision = {
        "entry_hash": digest, "raw": entry, "channel_hash": channel_key(db, batch),
        "title": (stored or {}).get("edited_title") or entry.get("title"), "content_html": processed["content_html"],
        "changes": processed["changes"], "license": decision.get("license"),
        "license_evidence": decision.get("evidence"), "decision": decision, "attribution": processed["attribution"],
    }
    auto = bool(source.get("auto_approve"))
    with storage.transaction(db):
        if stored is None:
            problems = gate.problems(decision, processed["attribution"], processed["content_html"], policy) \
                if auto else []
            status, reason = workflow.initial_status(decision, auto, problems)
            # stored as pending first, so that its publication is an approval like any other, and audited
            item.update(status="pending" if status == "published" else status, status_reason=reason)
            item_id, _ = storage.store_item(db, source["id"], item, revision)
            if status == "published":
                workflow.publish_current(db, item_id, batch.site_policy, actor="auto")
            return "blocked" if status == "blocked" else "new"
        item_id, _ = storage.store_item(db, source["id"], item, revision)
        if stored["status"] == "published":
            storage.record_audit(db, "fetch", "changed-upstream", item_id=item_id, source_id=source["id"],
                                 detail={"allowed": bool(decision.get("allowed")), "license": decision.get("license")})
        workflow.apply_decision(db, item_id, decision, auto, batch.site_policy, actor="fetch")
    return "blocked" if not decision.get("allowed") else "updated"


def channel_key(db, batch: ingest.Batch) -> str:
    """The key of the fetch's channel, stored once with the first revision that names it.

    Not before: a channel that changes at every fetch (a build date) but brings no new entry stores nothing.
    """
    if "key" not in batch.stored_channel:
        batch.stored_channel["key"] = storage.store_channel(db, batch.feed_json)
    return batch.stored_channel["key"]


# ---------------------------------------------------------------- deciding again


def reevaluate(db, config: ingest.IngestConfig, *, source_id: int | None = None,
               item_ids: list[int] | None = None, released_hold: int | None = None, actor: str = "cli") -> dict:
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
        entry, feed = stored_entry(row, source)
        policy = licenses.source_policy(source.get("allowed_licenses"), config.policy)
        hold = processor.license_hold(source, row["current_revision_id"])
        decision = processor.decide(entry, feed, source, policy, seen_at, row["license_override"], hold)
        with storage.transaction(db):
            now = storage.get_item(db, row["id"])
            if (now["status"], now["current_revision_id"]) != (row["status"], row["current_revision_id"]):
                continue  # a fetch or an editor got there first; that decision stands
            store_decision(db, row, entry, feed, source, decision)
            item = workflow.apply_decision(db, row["id"], decision, bool(source.get("auto_approve")), config.policy,
                                           actor=actor)
        if item["status"] != row["status"]:
            changed[item["status"]] = changed.get(item["status"], 0) + 1
    sync_public_index(db)
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


def stored_entry(row: dict, source: dict) -> tuple[dict, dict]:
    """The normalized entry and its feed as stored with a revision."""
    feed = row["revision_feed"] or {"url": source["url"], "title": source.get("feed_title"), "raw": {}}
    return row["revision_raw"], feed


def store_decision(db, row: dict, entry: dict, feed: dict, source: dict, decision: dict) -> None:
    """Write a new decision, and the credit that follows from it, on the item's current revision."""
    # the HTML does not depend on the decision: only the credit is made again, not the sanitizing
    credit = processor.credit_for(entry, feed, source, decision, row["revision_content_html"] or "",
                                  row["revision_changes"] or {}, editor_changes(row))
    storage.update_revision(db, row["current_revision_id"], {
        "decision": decision, "license": decision.get("license"), "license_evidence": decision.get("evidence"),
        "attribution": credit})
    if row["status"] != "published":  # a published row keeps describing its approved revision
        storage.update_item_fields(db, row["id"], {"license": decision.get("license"),
                                                   "license_evidence": decision.get("evidence")})


def render_again(db, *, source_id: int | None = None, item_id: int | None = None) -> int:
    """Sanitize and credit every shown revision again under the decision it has; returns how many."""
    count = 0
    sources: dict[int, dict] = {}
    for row in storage.revisions_to_reprocess(db, source_id=source_id, item_id=item_id):
        source = sources.setdefault(row["source_id"], storage.get_source(db, row["source_id"]))
        feed = row["feed"] or {"url": source["url"], "title": source.get("feed_title"), "raw": {}}
        # a decision an item was published under is kept: only its HTML and credit are redone
        rendered = processor.render(row["raw"], feed, source, row["decision"] or {},
                                    editor_changes=editor_changes(row))
        storage.update_revision(db, row["id"], {
            "title": row["edited_title"] or row["raw"].get("title"),
            "content_html": rendered["content_html"], "changes": rendered["changes"],
            "attribution": rendered["attribution"]})
        count += 1
    return count


def apply_title(db, item_id: int) -> None:
    """Show an item's edited (or original) title on its shown revisions, with the credit saying so."""
    render_again(db, item_id=item_id)


# ---------------------------------------------------------------- editors' licenses


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
    with storage.transaction(db):
        storage.update_item_fields(db, item_id, {"license_override": override})
        storage.record_audit(db, actor, "override-license", item_id=item_id, source_id=item["source_id"],
                             reason=override.get("reason"),
                             detail={"license": license_id, "evidence": override["evidence"],
                                     "previous": item.get("license")})
    reevaluate(db, config, source_id=item["source_id"], item_ids=[item_id], actor=actor)
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
    with storage.transaction(db):
        source = storage.set_source_license(db, source_id, license_id, evidence.strip(), actor=actor)
        storage.record_audit(db, actor, "set-source-license", source_id=source_id, reason=reason,
                             detail={"license": license_id, "evidence": evidence.strip(),
                                     "previous": source["license_history"][-1].get("previous"),
                                     "released_hold": held["reason"] if held else None})
    changed = reevaluate(db, config, source_id=source_id, released_hold=held["after_revision"] if held else None,
                         actor=actor)
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


# ---------------------------------------------------------------- sources


def update_source(db, config: ingest.IngestConfig, source_id: int, actor: str, **fields) -> dict:
    """Change a source's fields; decides its items again when a field that changes decisions changed.

    A new license needs its evidence (`license_evidence`) and goes through `set_source_license`; a new
    credit wording or removal of credit credits the shown revisions again. Returns {source, changed,
    credited, released}.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise WorkflowError(f"a source has no editable field {', '.join(sorted(unknown))}")
    before = storage.get_source(db, source_id)
    if "allowed_licenses" in fields:
        fields["allowed_licenses"] = policy_column(fields["allowed_licenses"])
    for flag in ("auto_approve", "remove_credit"):
        if flag in fields:
            fields[flag] = int(bool(fields[flag]))
    changed = {key: value for key, value in fields.items() if before.get(key) != value}
    result = {"source": before, "changed": {}, "credited": 0, "released": None}
    license_id, evidence = changed.pop("license", None), changed.pop("license_evidence", None)
    if license_id is not None or evidence is not None:
        result.update(set_source_license(db, config, source_id, license_id or before.get("license"),
                                         evidence if evidence is not None else fields.get("license_evidence", ""),
                                         actor=actor))
    if changed:
        with storage.transaction(db):
            storage.update_source(db, source_id, **changed)
            storage.record_audit(db, actor, "edit-source", source_id=source_id,
                                 detail={key: {"from": before.get(key), "to": value} for key, value in changed.items()})
            if CREDIT_FIELDS & changed.keys():
                result["credited"] = render_again(db, source_id=source_id)
        if DECIDING_FIELDS & changed.keys():
            moved = reevaluate(db, config, source_id=source_id, actor=actor)
            result["changed"] = dict(result["changed"], **moved)
    result["source"] = storage.get_source(db, source_id)
    sync_public_index(db)
    return result


def set_source_policy(db, config: ingest.IngestConfig, source_id: int, allowed_licenses, actor: str) -> dict:
    """The licenses one source may publish under (None or empty: the site's policy); decides again."""
    return update_source(db, config, source_id, actor, allowed_licenses=allowed_licenses)


def policy_column(allowed) -> str | None:
    """A source policy as stored: sorted SPDX ids joined by commas, or None for the site's policy."""
    if allowed is None:
        return None
    text = allowed if isinstance(allowed, str) else ",".join(allowed)
    return ",".join(sorted(licenses.parse_policy(text))) if text.strip() else None


@dataclass(frozen=True)
class TrialFetch:
    """What a feed offers before it is added: its name, how many items, the licenses they would get."""

    url: str
    name: str | None
    items: int
    licenses: dict  # license id (None: none found) -> how many items
    allowed: int
    findings: list  # a few items' decisions: title, license, allowed, reason, evidence
    warning: str | None

    def as_dict(self) -> dict:
        """Plain values."""
        return {"url": self.url, "name": self.name, "items": self.items, "licenses": self.licenses,
                "allowed": self.allowed, "findings": self.findings, "warning": self.warning}


def check_feed_url(url: str) -> str:
    """An absolute http(s) URL, stripped; WorkflowError otherwise."""
    url = (url or "").strip()
    parts = url.split("/")
    if not url.lower().startswith(("http://", "https://")) or len(parts) < 3 or not parts[2]:
        raise WorkflowError(f"not an http(s) feed URL: {url}")
    return url


def guard_address(url: str, config: ingest.IngestConfig) -> None:
    """Refuse a feed whose host is an address the fetcher may not reach; one that does not resolve now may later."""
    try:
        netguard.resolve_and_check(url, guard=config.guard)
    except BlockedAddressError:
        raise
    except FetchError:
        pass


def trial_fetch(config: ingest.IngestConfig, url: str, *, license_id: str | None = None,
               evidence: str | None = None, sample: int = 5) -> TrialFetch:
    """Fetch and read a feed as `add_source` would, through the address guard, storing nothing."""
    url = check_feed_url(url)
    netguard.resolve_and_check(url, guard=config.guard)
    result = fetcher.fetch(url, limits=config.limits, guard=config.guard, user_agent=config.user_agent)
    document = parser.parse_document(result.body, result.headers, result.url)
    source = {"url": url, "name": document.feed.get("title") or url, "license": license_id,
              "license_evidence": evidence, "allowed_licenses": None}
    seen_at = storage.utcnow()
    counts: dict = {}
    findings, allowed = [], 0
    for parsed in document.entries:
        decision = processor.decide(parsed.values, document.feed, source, config.policy, seen_at)
        counts[decision.get("license")] = counts.get(decision.get("license"), 0) + 1
        allowed += bool(decision.get("allowed"))
        if len(findings) < sample:
            findings.append({"title": parsed.values.get("title"), "license": decision.get("license"),
                             "allowed": bool(decision.get("allowed")), "reason": decision.get("reason"),
                             "evidence": decision.get("evidence")})
    return TrialFetch(url, document.feed.get("title"), len(document.entries), counts, allowed, findings,
                     ingest.warning(document))


def add_source(db, config: ingest.IngestConfig, url: str, actor: str, *, name: str | None = None,
               license_id: str | None = None, evidence: str | None = None, auto_approve: bool = False,
               interval_seconds: int | None = None, credit_name: str | None = None,
               dry_run: bool = False) -> dict | TrialFetch:
    """Add a source (the CLI's `sources add` and the desk's form), or with dry_run only test-fetch it.

    The URL must be http(s) and its host must pass the address guard; a license needs evidence.
    """
    url = check_feed_url(url)
    if license_id:
        known = licenses.get_license(license_id)
        if not known:
            raise WorkflowError(f"unknown license {license_id!r}")
        license_id = known["id"]
        require_evidence(evidence)
    if dry_run:
        return trial_fetch(config, url, license_id=license_id, evidence=evidence)
    guard_address(url, config)
    with storage.transaction(db):
        try:
            source = storage.add_source(db, url, name=name, license=license_id, evidence=evidence,
                                        auto_approve=auto_approve, interval_seconds=interval_seconds,
                                        credit_name=credit_name)
        except ValueError as exc:
            raise WorkflowError(str(exc)) from exc
        storage.record_audit(db, actor, "add-source", source_id=source["id"],
                             detail={"url": url, "license": license_id, "auto_approve": bool(auto_approve)})
    return source

