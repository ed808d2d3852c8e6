"""Editors' actions as the desk and the CLI call them: audit rows, restore, titles, upstream changes, bulk."""

from werkzeug import Response

from republisher import review, storage, workflow
from republisher.errors import WorkflowError

from helpers import refresh, sample_feed
from test_ingest import make_atom

import pytest


@pytest.fixture
def harbor(app, db, httpserver):
    """The Harbor Wire sample feed fetched once: three pending items, by title."""
    httpserver.expect_request("/harbor").respond_with_data(sample_feed("harbor-wire.xml"),
                                                           content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/harbor"), name="Harbor Wire")["id"]
    refresh(app, db, source_id)
    items = {item["title"]: item for item in storage.list_items(db, source_id=source_id)}
    return source_id, items


@pytest.fixture
def changing(app, db, httpserver):
    """An item approved, then changed upstream: returns (item id, source id)."""
    bodies = iter([make_atom(), make_atom(title="Corrected title", content="&lt;p&gt;Body, corrected.&lt;/p&gt;",
                                          updated="2026-11-20T12:00:00Z")])
    httpserver.expect_request("/changing").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/changing"))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"], actor="alice")
    refresh(app, db, source_id)
    return item["id"], source_id


def actions(db, item_id):
    """(actor, action, reason) of an item's audit rows, oldest first."""
    return [(row["actor"], row["action"], row["reason"]) for row in reversed(storage.audit_entries(db, item_id=item_id))]


def test_every_status_change_is_in_the_audit_log_with_who_and_why(db, harbor):
    _, items = harbor
    item_id = next(iter(items.values()))["id"]
    workflow.approve(db, item_id, actor="alice")
    workflow.withdraw(db, item_id, "Takedown request from the publisher", actor="bob")
    workflow.restore(db, item_id, "The publisher withdrew its request", actor="alice")
    assert actions(db, item_id) == [("alice", "approve", None),
                                    ("bob", "withdraw", "Takedown request from the publisher"),
                                    ("alice", "restore", "The publisher withdrew its request")]
    [latest] = storage.audit_entries(db, item_id=item_id, limit=1)
    assert set(latest) == {"id", "at", "actor", "action", "item_id", "source_id", "reason", "detail"}
    assert latest["detail"] == {"from": "withdrawn", "to": "published"}
    assert storage.get_item(db, item_id)["status"] == "published"


def test_an_action_on_an_item_already_in_its_target_state_changes_nothing(db, harbor):
    _, items = harbor
    item_id = next(iter(items.values()))["id"]
    workflow.approve(db, item_id, actor="alice")
    before = storage.get_item(db, item_id)
    assert workflow.approve(db, item_id, actor="alice") == before
    workflow.withdraw(db, item_id, "takedown", actor="alice")
    assert workflow.withdraw(db, item_id, "again", actor="alice")["status"] == "withdrawn"
    assert [action for _, action, _ in actions(db, item_id)] == ["approve", "withdraw"]


def test_a_refused_action_says_why_in_a_sentence_and_writes_nothing(db, harbor):
    _, items = harbor
    item_id = next(iter(items.values()))["id"]
    with pytest.raises(WorkflowError, match="not withdrawn"):
        workflow.restore(db, item_id, "no reason to", actor="alice")
    with pytest.raises(WorkflowError, match="not published"):
        workflow.withdraw(db, item_id, "takedown", actor="alice")
    assert storage.audit_entries(db, item_id=item_id) == []


def test_a_restored_item_that_no_longer_passes_the_gate_waits_as_pending(app, db, harbor):
    source_id, items = harbor
    item_id = next(iter(items.values()))["id"]
    workflow.approve(db, item_id, actor="alice")
    workflow.withdraw(db, item_id, "license question", actor="alice")
    storage.update_source(db, source_id, allowed_licenses="CC0-1.0")  # its CC BY is no longer allowed here
    restored = workflow.restore(db, item_id, "question settled", actor="alice")
    assert restored["status"] == "pending" and "waits for an editor" in restored["status_reason"]
    assert app.test_client().get(f"/articles/{item_id}", follow_redirects=True).status_code == 404


def test_an_edited_title_is_shown_and_named_in_the_changes_notice(app, db, harbor):
    _, items = harbor
    item = items["Ferry service resumes after winter storms"]
    workflow.approve(db, item["id"], actor="alice")
    workflow.edit_title(db, item["id"], "Ferries run again", actor="carol")
    page = app.test_client().get(f"/articles/{item['id']}", follow_redirects=True).get_data(as_text=True)
    assert "<h1" in page and "Ferries run again" in page
    assert "title changed by the editors" in page
    # the credit still names the original work by its own title
    assert "Ferry service resumes after winter storms" in page
    [entry] = storage.audit_entries(db, item_id=item["id"], limit=1)
    assert (entry["actor"], entry["action"], entry["detail"]["to"]) == ("carol", "edit-title", "Ferries run again")


def test_a_change_upstream_stays_off_the_site_until_accepted_and_both_are_audited(app, db, changing):
    item_id, _ = changing
    client = app.test_client()
    page = client.get(f"/articles/{item_id}", follow_redirects=True).get_data(as_text=True)
    feed = client.get("/feed.xml").get_data(as_text=True)
    assert "First title" in page and "Corrected title" not in page
    assert "First title" in feed and "Corrected title" not in feed
    view = review.item_view(db, item_id)
    assert view["changed_upstream"] and "-Title: First title" in view["diff"] and "+Title: Corrected title" in view["diff"]
    workflow.accept_change(db, item_id, actor="alice")
    page = client.get(f"/articles/{item_id}", follow_redirects=True).get_data(as_text=True)
    feed = client.get("/feed.xml").get_data(as_text=True)
    assert "Corrected title" in page and "Corrected title" in feed
    assert [(actor, action) for actor, action, _ in actions(db, item_id)] == [
        ("alice", "approve"), ("fetch", "changed-upstream"), ("alice", "accept-change")]


def test_bulk_reports_each_item_and_goes_on_after_a_refusal(db, harbor):
    _, items = harbor
    ids = [item["id"] for item in items.values()]
    workflow.approve(db, ids[0], actor="alice")
    outcomes = workflow.bulk(db, "reject", [ids[0], ids[1], 9999, ids[1]], actor="bob", reason="off topic")
    assert [outcome["outcome"] for outcome in outcomes] == ["refused", "done", "not found", "unchanged"]
    assert "withdraw published items instead" in outcomes[0]["message"]
    assert storage.get_item(db, ids[1])["status_reason"] == "off topic"


def test_the_review_queue_puts_pending_and_flagged_items_first_with_their_evidence(db, harbor, changing):
    source_id, items = harbor
    first = items["Ferry service resumes after winter storms"]["id"]
    workflow.approve(db, first, actor="alice")
    queue = review.review_queue(db, limit=100)
    flagged_id, _ = changing
    ranked = [row["id"] for row in queue]
    assert ranked.index(flagged_id) < ranked.index(first)
    assert all(row["status"] == "pending" or row["changed_upstream"] for row in queue[:len(queue) - 1])
    row = next(row for row in queue if row["source_id"] == source_id and row["status"] == "pending")
    assert row["source_name"] == "Harbor Wire" and row["license"] == "CC-BY-4.0"
    assert row["evidence_level"] and row["evidence_location"] and row["date"]
    only_changed = review.review_queue(db, changed_upstream=True)
    assert [row["id"] for row in only_changed] == [flagged_id] and only_changed[0]["warning"] == "changed upstream"


def test_the_review_queue_pages_by_cursor_without_repeats(db, harbor, changing):
    everything = [row["id"] for row in review.review_queue(db, limit=100)]
    pages, cursor = [], None
    while True:
        page = review.review_queue(db, limit=2, before=cursor)
        if not page:
            break
        pages += [row["id"] for row in page]
        cursor = page[-1]["cursor"]
    assert pages == everything and len(everything) == 4


def test_item_view_shows_decision_findings_changes_and_credit(db, harbor):
    _, items = harbor
    view = review.item_view(db, items["Ferry service resumes after winter storms"]["id"])
    assert view["current"]["content_html"] and view["decision"]["allowed"]
    finding = view["decision"]["findings"][0]
    assert finding["level"] and finding["location"] and (finding["matched"] or finding["url"])
    assert "changes_notice" in view["attribution"] and view["attribution_text"]
    assert isinstance(view["sanitizer_changes"], dict) and view["diff"] is None
