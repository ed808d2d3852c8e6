"""The shared invariant check reports each promise broken in a database, and nothing in a sound one."""

import pytest

from helpers import refresh, sample_feed
from invariants import assert_invariants, violations
from republisher import storage, workflow



@pytest.fixture
def published(app, db, httpserver):
    """A database with one sample feed ingested, its first item published and its second withdrawn."""
    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/feed"), )
    refresh(app, db, source["id"])
    first, second = [item["id"] for item in storage.list_items(db, source_id=source["id"])][:2]
    for item_id in (first, second):
        workflow.approve(db, item_id, actor="test")
    workflow.withdraw(db, second, reason="asked by the publisher", actor="test")
    return {"path": app.config["DATABASE"], "published": first, "withdrawn": second}


def test_a_sound_database_breaks_no_promise(published):
    assert assert_invariants(published["path"]) == {published["withdrawn"]}


@pytest.mark.parametrize("breakage, expected", [
    ("UPDATE item_revisions SET decision = '{{}}' WHERE item_id = {published}", "is published but no allowed license"),
    ("UPDATE item_revisions SET attribution = '{{}}' WHERE item_id = {published}", "is published but the credit lacks"),
    ("UPDATE items SET status = 'pending' WHERE id = {published}", "in the search index but not published"),
    ("UPDATE item_revisions SET content_html = '<p onclick=\"x()\">a</p>' WHERE item_id = {withdrawn}", "holds active content"),
    ("UPDATE item_revisions SET decision = NULL WHERE item_id = {withdrawn}", "is half-written"),
    ("UPDATE item_revisions SET number = 3 WHERE item_id = {withdrawn}", "numbered 3..3"),
    ("UPDATE items SET guid = 'same' WHERE id IN ({published}, {withdrawn})", "holds 2 items with guid 'same'"),
    ("UPDATE items SET current_revision_id = 999999 WHERE id = {published}", "not one of its revisions"),
])
def test_each_broken_promise_is_reported(published, db, breakage, expected):
    db.execute("DROP TRIGGER IF EXISTS items_public_update")  # so that a status change leaves the index as it was
    db.execute(breakage.format(**published))
    db.conn.commit()
    assert any(expected in problem for problem in violations(published["path"])), violations(published["path"])


def test_a_withdrawn_item_put_back_without_a_restore_is_reported(published, db):
    withdrawn = assert_invariants(published["path"])
    db.execute("UPDATE items SET status = 'published' WHERE id = ?", [published["withdrawn"]])
    db.conn.commit()
    assert f"withdrawn item {published['withdrawn']} is published now" in violations(published["path"], withdrawn)
