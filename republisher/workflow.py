"""Review workflow: the only place that moves items between statuses (CLI and screens call it).

Whatever publishes an item (an editor's approval, auto-approval, an accepted upstream change, a restore)
goes through ``gate.problems``, the same check ``republisher audit`` makes. Every status change and
title edit writes one audit row in the transaction of the change. An action on an item already in its
target state returns the item unchanged.
"""

from . import decisions, gate, licenses, processor, storage
from .errors import NotFoundError, RepublisherError, WorkflowError

PUBLIC_STATUSES = ("published",)
STATUSES = ("pending", "published", "rejected", "blocked", "withdrawn")
MAX_TITLE = 300


def initial_status(decision: dict, auto_approve: bool, problems: list[str] = ()) -> tuple[str, str | None]:
    """(status, reason) of a newly decided item: blocked unless allowed; published only past the gate."""
    if not decision.get("allowed"):
        return "blocked", decision.get("reason")
    if not auto_approve:
        return "pending", None
    if problems:
        return "pending", waiting(problems)
    return "published", None


def waiting(problems: list[str]) -> str:
    """The reason an auto-approved item waits for an editor instead."""
    return "waits for an editor: " + "; ".join(problems)


def publish_problems(db, item: dict, site_policy: frozenset | None = None) -> list[str]:
    """The publish gate for an item's current revision, under its source's policy."""
    revision = storage.get_revision(db, item["current_revision_id"]) if item.get("current_revision_id") else None
    if revision is None:
        return ["no revision to publish"]
    source = storage.get_source(db, item["source_id"])
    policy = licenses.source_policy(source.get("allowed_licenses"), site_policy or licenses.allowed_by_default())
    return gate.problems(revision["decision"], revision["attribution"], revision["content_html"], policy)


def publication_order(item: dict) -> str:
    """Where an item sorts on the site: the publisher's date, never in the future, else when we first saw it."""
    now = storage.utcnow()
    return min(item.get("published_at") or item.get("first_seen_at") or now, now)


def revision_decision(db, item: dict) -> dict:
    """The license decision recorded with the item's current revision."""
    revision = storage.get_revision(db, item["current_revision_id"]) if item.get("current_revision_id") else None
    return (revision["decision"] or {}) if revision else {}


def changed_upstream(item: dict) -> bool:
    """Whether a published item has a newer revision than the one shown."""
    return item["status"] == "published" and item["current_revision_id"] != item["approved_revision_id"]


def move(db, item: dict, status: str, actor: str, action: str, *, reason: str | None = None,
         fields: dict | None = None) -> dict:
    """Change an item's status and write its audit row, in one transaction."""
    with storage.transaction(db):
        moved = storage.set_item_status(db, item["id"], status, reason=reason, fields=fields)
        storage.record_audit(db, actor, action, item_id=item["id"], source_id=item["source_id"], reason=reason,
                             detail={"from": item["status"], "to": status})
    return moved


def approve(db, item_id: int, actor: str = "cli", site_policy: frozenset | None = None) -> dict:
    """Publish an item; refused unless it passes the publish gate."""
    with storage.transaction(db):  # read and write under one write lock
        item = storage.get_item(db, item_id)
        if changed_upstream(item):
            return accept_change(db, item_id, actor, site_policy)
        if item["status"] == "published":
            return item
        decision = revision_decision(db, item)
        if not decision.get("allowed"):
            raise WorkflowError(f"item {item_id} cannot be approved: {decision.get('reason') or item.get('status_reason') or 'no allowed license decision'}")
        if item["status"] not in ("pending", "rejected"):
            raise WorkflowError(f"item {item_id} is {item['status']} and cannot be approved")
        problems = publish_problems(db, item, site_policy)
        if problems:
            raise WorkflowError(f"item {item_id} cannot be approved: {'; '.join(problems)}")
        return move(db, item, "published", actor, "approve",
                    fields=dict(current_fields(db, item, decision), review_flag=None))


def reject(db, item_id: int, reason: str | None = None, actor: str = "cli") -> dict:
    """Keep an item off the site."""
    with storage.transaction(db):  # read and write under one write lock
        item = storage.get_item(db, item_id)
        if item["status"] == "rejected":
            return item
        if item["status"] not in ("pending", "blocked"):
            raise WorkflowError(f"item {item_id} is {item['status']}; withdraw published items instead")
        return move(db, item, "rejected", actor, "reject", reason=(reason or "").strip() or "rejected by an editor")


def withdraw(db, item_id: int, reason: str, actor: str = "cli") -> dict:
    """Take a published item down; it answers 410 Gone from then on."""
    with storage.transaction(db):  # read and write under one write lock
        item = storage.get_item(db, item_id)
        if item["status"] == "withdrawn":
            return item
        if not reason or not reason.strip():
            raise WorkflowError("a withdrawal needs a reason")
        if item["status"] != "published":
            raise WorkflowError(f"item {item_id} is {item['status']}, not published")
        return move(db, item, "withdrawn", actor, "withdraw", reason=reason.strip())


def restore(db, item_id: int, reason: str, actor: str = "cli", site_policy: frozenset | None = None) -> dict:
    """Bring a withdrawn item back: published when it passes the publish gate, else pending with the reason."""
    with storage.transaction(db):
        item = storage.get_item(db, item_id)
        if item["status"] == "published":
            return item
        if item["status"] != "withdrawn":
            raise WorkflowError(f"item {item_id} is {item['status']}, not withdrawn")
        if not reason or not reason.strip():
            raise WorkflowError("a restore needs a reason")
        problems = publish_problems(db, item, site_policy)
        if problems:
            return move(db, item, "pending", actor, "restore", reason=f"restored ({reason.strip()}); "
                        + waiting(problems))
        decision = revision_decision(db, item)
        return move(db, item, "published", actor, "restore", reason=reason.strip(),
                    fields=dict(current_fields(db, item, decision), review_flag=None))


def accept_change(db, item_id: int, actor: str = "cli", site_policy: frozenset | None = None) -> dict:
    """Publish the current revision of an item changed upstream after approval; until then the approved one stays."""
    with storage.transaction(db):
        item = storage.get_item(db, item_id)
        if item["status"] == "published" and not changed_upstream(item):
            return item
        if item["status"] != "published":
            raise WorkflowError(f"item {item_id} is {item['status']}; only a published item has a change to accept")
        problems = publish_problems(db, item, site_policy)
        if problems:
            raise WorkflowError(f"the change to item {item_id} cannot be published: {'; '.join(problems)}")
        fields = dict(current_fields(db, item, revision_decision(db, item)), review_flag=None)
        accepted = storage.set_item_status(db, item_id, "published", reason=None, fields=fields)
        storage.record_audit(db, actor, "accept-change", item_id=item_id, source_id=item["source_id"],
                             detail={"from_revision": item["approved_revision_id"],
                                     "to_revision": item["current_revision_id"]})
    return accepted


def edit_title(db, item_id: int, title: str, actor: str = "cli") -> dict:
    """Give an item the title editors chose; it is shown, and the credit's changes notice says so."""
    title = " ".join((title or "").split())
    if not title:
        raise WorkflowError("a title cannot be empty")
    if len(title) > MAX_TITLE:
        raise WorkflowError(f"a title has at most {MAX_TITLE} characters")
    with storage.transaction(db):
        item = storage.get_item(db, item_id)
        shown = item.get("edited_title") or storage.get_revision(db, item["current_revision_id"])["title"]
        if title == shown:
            return item
        original = storage.current_entry(db, item_id).get("title")
        edited = None if title == original else title
        storage.update_item_fields(db, item_id, {"edited_title": edited})
        decisions.apply_title(db, item_id)
        storage.record_audit(db, actor, "edit-title", item_id=item_id, source_id=item["source_id"],
                             detail={"from": shown, "to": title})
    return storage.get_item(db, item_id)


ACTIONS = {
    "approve": lambda db, item_id, actor, reason, policy: approve(db, item_id, actor, policy),
    "reject": lambda db, item_id, actor, reason, policy: reject(db, item_id, reason, actor),
    "withdraw": lambda db, item_id, actor, reason, policy: withdraw(db, item_id, reason, actor),
    "restore": lambda db, item_id, actor, reason, policy: restore(db, item_id, reason, actor, policy),
    "accept-change": lambda db, item_id, actor, reason, policy: accept_change(db, item_id, actor, policy),
}


def bulk(db, action: str, item_ids, actor: str, reason: str | None = None,
         site_policy: frozenset | None = None) -> list[dict]:
    """Apply one action to many items; per id {id, outcome: done|unchanged|refused|not found, status, message}."""
    if action not in ACTIONS:
        raise WorkflowError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    outcomes = []
    for item_id in item_ids:
        try:
            before = storage.get_item(db, item_id)
            after = ACTIONS[action](db, item_id, actor, reason, site_policy)
        except NotFoundError as exc:
            outcomes.append({"id": item_id, "outcome": "not found", "status": None, "message": str(exc)})
            continue
        except RepublisherError as exc:  # one refusal never stops the others
            outcomes.append({"id": item_id, "outcome": "refused", "status": before["status"], "message": str(exc)})
            continue
        outcome = "unchanged" if after == before else "done"
        message = f"item {item_id} is {after['status']} already" if outcome == "unchanged" else None
        outcomes.append({"id": item_id, "outcome": outcome, "status": after["status"], "message": message})
    return outcomes


def publish_current(db, item_id: int, site_policy: frozenset | None = None, actor: str = "auto") -> dict:
    """Publish an item's current revision (auto-approve) when it passes the gate, else leave it for an editor."""
    item = storage.get_item(db, item_id)
    decision = revision_decision(db, item)
    if not decision.get("allowed"):
        raise WorkflowError(f"item {item_id} has no allowed license decision")
    problems = publish_problems(db, item, site_policy)
    if problems:
        if item["status"] == "published":  # the approved revision stays public; the change waits
            return storage.update_item_fields(db, item_id, {"review_flag": f"changed upstream: {waiting(problems)}"})
        if item["status"] == "pending" and item["status_reason"] == waiting(problems):
            return item
        return move(db, item, "pending", actor, "auto-approve", reason=waiting(problems))
    action = "accept-change" if item["status"] == "published" else "approve"
    return move(db, item, "published", actor, action,
                fields=dict(current_fields(db, item, decision), review_flag=None))


def current_fields(db, item: dict, decision: dict) -> dict:
    """The item row as its current revision describes it, now that this revision is the one shown."""
    revision = storage.get_revision(db, item["current_revision_id"])
    fields = processor.item_fields(storage.current_entry(db, item["id"]), item["identity"], revision["entry_hash"],
                                   decision)
    merged = dict(item, **fields)
    fields.update(approved_revision_id=item["current_revision_id"],
                  published_order=item.get("published_order") or publication_order(merged))
    return fields


def apply_decision(db, item_id: int, decision: dict, auto_approve: bool, site_policy: frozenset | None = None,
                   actor: str = "fetch") -> dict:
    """After a new revision or a re-evaluation: re-decide unpublished items, flag published ones for review."""
    item = storage.get_item(db, item_id)
    status = item["status"]
    if status in ("rejected", "withdrawn"):
        return item
    if status == "published":
        if decision.get("allowed") and auto_approve:
            return publish_current(db, item_id, site_policy, actor="auto")
        flag = "changed upstream" if decision.get("allowed") else f"changed upstream: {decision.get('reason')}"
        return storage.update_item_fields(db, item_id, {"review_flag": flag})
    new_status, reason = initial_status(decision, auto_approve)
    if new_status == "published":
        return publish_current(db, item_id, site_policy, actor="auto")
    if (new_status, reason) == (status, item["status_reason"]):
        return item
    return move(db, item, new_status, actor, "re-decide", reason=reason)
