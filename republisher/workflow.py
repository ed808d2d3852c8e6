"""Review workflow: the only place that moves items between statuses (CLI and screens call it).

Whatever publishes an item (an editor's approval, auto-approval, an accepted upstream change) goes
through ``gate.problems``, the same check ``republisher audit`` makes.
"""

import json

from . import gate, licenses, processor, storage
from .errors import WorkflowError

PUBLIC_STATUSES = ("published",)
STATUSES = ("pending", "published", "rejected", "blocked", "withdrawn")


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
    return gate.problems(json.loads(revision["decision"] or "{}"), json.loads(revision["attribution"] or "{}"),
                         revision["content_html"], policy)


def publication_order(item: dict) -> str:
    """Where an item sorts on the site: the publisher's date, never in the future, else when we first saw it."""
    now = storage.utcnow()
    return min(item.get("published_at") or item.get("first_seen_at") or now, now)


def revision_decision(db, item: dict) -> dict:
    """The license decision recorded with the item's current revision."""
    revision = storage.get_revision(db, item["current_revision_id"]) if item.get("current_revision_id") else None
    return json.loads(revision["decision"]) if revision and revision.get("decision") else {}


def approve(db, item_id: int, actor: str = "cli", site_policy: frozenset | None = None) -> dict:
    """Publish an item; refused unless it passes the publish gate."""
    with storage.transaction(db):  # read and write under one write lock
        item = storage.get_item(db, item_id)
        decision = revision_decision(db, item)
        if not decision.get("allowed"):
            raise WorkflowError(f"item {item_id} cannot be approved: {decision.get('reason') or item.get('status_reason') or 'no allowed license decision'}")
        if item["status"] == "published" and item["approved_revision_id"] == item["current_revision_id"]:
            return item
        if item["status"] not in ("pending", "published", "rejected"):
            raise WorkflowError(f"item {item_id} is {item['status']} and cannot be approved")
        problems = publish_problems(db, item, site_policy)
        if problems:
            raise WorkflowError(f"item {item_id} cannot be approved: {'; '.join(problems)}")
        return storage.set_item_status(db, item_id, "published", reason=None,
                                       fields=dict(current_fields(db, item, decision), review_flag=None))


def reject(db, item_id: int, reason: str | None = None, actor: str = "cli") -> dict:
    """Keep an item off the site."""
    with storage.transaction(db):  # read and write under one write lock
        item = storage.get_item(db, item_id)
        if item["status"] not in ("pending", "blocked", "rejected"):
            raise WorkflowError(f"item {item_id} is {item['status']}; withdraw published items instead")
        return storage.set_item_status(db, item_id, "rejected", reason=reason or "rejected by an editor")


def withdraw(db, item_id: int, reason: str, actor: str = "cli") -> dict:
    """Take a published item down; it answers 410 Gone from then on."""
    with storage.transaction(db):  # read and write under one write lock
        if not reason or not reason.strip():
            raise WorkflowError("a withdrawal needs a reason")
        item = storage.get_item(db, item_id)
        if item["status"] != "published":
            raise WorkflowError(f"item {item_id} is {item['status']}, not published")
        return storage.set_item_status(db, item_id, "withdrawn", reason=reason.strip())


def publish_current(db, item_id: int, site_policy: frozenset | None = None) -> dict:
    """Publish an item's current revision (auto-approve) when it passes the gate, else leave it for an editor."""
    item = storage.get_item(db, item_id)
    decision = revision_decision(db, item)
    if not decision.get("allowed"):
        raise WorkflowError(f"item {item_id} has no allowed license decision")
    problems = publish_problems(db, item, site_policy)
    if problems:
        if item["status"] == "published":  # the approved revision stays public; the change waits
            return storage.update_item_fields(db, item_id, {"review_flag": f"changed upstream: {waiting(problems)}"})
        return storage.set_item_status(db, item_id, "pending", reason=waiting(problems))
    return storage.set_item_status(db, item_id, "published",
                                   fields=dict(current_fields(db, item, decision), review_flag=None))


def current_fields(db, item: dict, decision: dict) -> dict:
    """The item row as its current revision describes it, now that this revision is the one shown."""
    revision = storage.get_revision(db, item["current_revision_id"])
    fields = processor.item_fields(json.loads(revision["raw"]), item["identity"], revision["entry_hash"], decision)
    merged = dict(item, **fields)
    fields.update(approved_revision_id=item["current_revision_id"],
                  published_order=item.get("published_order") or publication_order(merged))
    return fields


def apply_decision(db, item_id: int, decision: dict, auto_approve: bool, site_policy: frozenset | None = None) -> dict:
    """After a new revision or a re-evaluation: re-decide unpublished items, flag published ones for review."""
    item = storage.get_item(db, item_id)
    status = item["status"]
    if status in ("rejected", "withdrawn"):
        return item
    if status == "published":
        if decision.get("allowed") and auto_approve:
            return publish_current(db, item_id, site_policy)
        flag = "changed upstream" if decision.get("allowed") else f"changed upstream: {decision.get('reason')}"
        return storage.update_item_fields(db, item_id, {"review_flag": flag})
    new_status, reason = initial_status(decision, auto_approve)
    if new_status == "published":
        return publish_current(db, item_id, site_policy)
    return storage.set_item_status(db, item_id, new_status, reason=reason)
