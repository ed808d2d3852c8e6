"""The CLI as the desk's twin: show, list, withdraw with confirmation, restore, titles, changes, the audit log."""

import getpass
import json

import pytest
from werkzeug import Response

from republisher import create_app, storage

from helpers import sample_feed
from test_ingest import make_atom


def invoke(runner, *args, input=None):
    """Run a command; returns the result."""
    return runner.invoke(args=list(args), input=input)


@pytest.fixture
def harbor(runner, httpserver):
    """Harbor Wire added and fetched through the CLI: (source id, items by title)."""
    httpserver.expect_request("/harbor").respond_with_data(sample_feed("harbor-wire.xml"),
                                                           content_type="application/rss+xml")
    source_id = int(invoke(runner, "sources", "add", httpserver.url_for("/harbor"), "--name", "Harbor Wire",
                           "--no-verify-license").stdout)
    assert invoke(runner, "fetch", "--source", str(source_id)).exit_code == 0
    items = json.loads(invoke(runner, "items", "list", "--json").output)
    return source_id, {item["title"]: item for item in items}


def audit_rows(runner, *args):
    """The audit log as JSON."""
    result = invoke(runner, "audit-log", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_items_show_prints_the_text_the_credit_the_evidence_and_the_original_link(runner, harbor):
    _, items = harbor
    ferry = items["Ferry service resumes after winter storms"]
    shown = invoke(runner, "items", "show", str(ferry["id"]))
    assert shown.exit_code == 0, shown.output
    assert ferry["url"] in shown.output and "license: CC-BY-4.0, allowed" in shown.output
    assert "evidence: " in shown.output and "credit: \u201cFerry service resumes after winter storms\u201d" in shown.output
    assert "Licensed under" in shown.output and "Changes:" in shown.output
    as_json = json.loads(invoke(runner, "items", "show", str(ferry["id"]), "--json").output)
    assert as_json["original_url"] == ferry["url"] and as_json["decision"]["evidence"]["level"]
    assert as_json["text"] and as_json["attribution_text"].startswith("\u201cFerry")


def test_items_list_shows_source_date_license_and_evidence_level(runner, harbor):
    _, items = harbor
    listed = invoke(runner, "items", "list")
    ferry = items["Ferry service resumes after winter storms"]
    [line] = [line for line in listed.output.splitlines() if "Ferry service" in line]
    level = ferry["evidence_level"]
    assert "Harbor Wire" in line and ferry["published_at"][:10] in line and f"CC-BY-4.0 ({level})" in line


def test_unknown_ids_and_sources_exit_1_and_a_repeated_action_exits_0_with_a_note(runner, harbor):
    _, items = harbor
    item_id = str(items["Ferry service resumes after winter storms"]["id"])
    assert invoke(runner, "items", "approve", item_id).exit_code == 0
    again = invoke(runner, "items", "approve", item_id)
    assert again.exit_code == 0 and "already" in again.output
    unknown = invoke(runner, "items", "approve", "9999")
    assert unknown.exit_code == 1 and "no item with id 9999" in unknown.output
    for args in (["items", "list", "--source", "999"], ["items", "show", "9999"], ["fetch", "--source", "999"],
                 ["audit-log", "--source", "999"]):
        result = invoke(runner, *args)
        assert result.exit_code == 1 and "no " in result.output and "999" in result.output, args


def test_withdraw_asks_first_and_restore_brings_the_item_back(app, runner, harbor):
    _, items = harbor
    item_id = str(items["Ferry service resumes after winter storms"]["id"])
    invoke(runner, "items", "approve", item_id)
    declined = invoke(runner, "items", "withdraw", item_id, "--reason", "takedown request", input="n\n")
    assert declined.exit_code == 1 and "Take item" in declined.output
    client = app.test_client()
    assert client.get(f"/articles/{item_id}", follow_redirects=True).status_code == 200
    confirmed = invoke(runner, "items", "withdraw", item_id, "--reason", "takedown request", "--actor", "dana",
                       input="y\n")
    assert confirmed.exit_code == 0 and f"item {item_id}: withdrawn" in confirmed.output
    assert client.get(f"/articles/{item_id}", follow_redirects=True).status_code == 410
    assert invoke(runner, "items", "withdraw", item_id, "--reason", "again", "--yes").exit_code == 0
    restored = invoke(runner, "items", "restore", item_id, "--reason", "the publisher agreed")
    assert restored.exit_code == 0 and f"item {item_id}: published" in restored.output
    assert client.get(f"/articles/{item_id}", follow_redirects=True).status_code == 200
    rows = audit_rows(runner, "--item", item_id)
    assert [(row["actor"], row["action"], row["reason"]) for row in rows] == [
        (getpass.getuser(), "restore", "the publisher agreed"), ("dana", "withdraw", "takedown request"),
        (getpass.getuser(), "approve", None)]


def test_edit_title_shows_on_the_site_and_in_the_changes_notice(app, runner, harbor):
    _, items = harbor
    item_id = str(items["Ferry service resumes after winter storms"]["id"])
    invoke(runner, "items", "approve", item_id)
    edited = invoke(runner, "items", "edit-title", item_id, "Ferries run again", "--actor", "erin")
    assert edited.exit_code == 0 and "Ferries run again" in edited.output
    page = app.test_client().get(f"/articles/{item_id}", follow_redirects=True).get_data(as_text=True)
    assert "Ferries run again" in page and "title changed by the editors" in page
    [row] = audit_rows(runner, "--item", item_id, "--limit", "1")
    assert (row["actor"], row["action"]) == ("erin", "edit-title")
    assert "nothing to do" in invoke(runner, "items", "edit-title", item_id, "Ferries run again").output


def test_accept_change_publishes_what_changed_upstream(app, runner, httpserver):
    bodies = iter([make_atom(), make_atom(title="Corrected title", updated="2026-11-20T12:00:00Z")])
    httpserver.expect_request("/changing").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = invoke(runner, "sources", "add", httpserver.url_for("/changing"), "--no-verify-license").stdout.strip()
    invoke(runner, "fetch", "--source", source_id)
    [item] = json.loads(invoke(runner, "items", "list", "--json").output)
    invoke(runner, "items", "approve", str(item["id"]))
    invoke(runner, "fetch", "--source", source_id)
    shown = invoke(runner, "items", "show", str(item["id"])).output
    assert "changed upstream" in shown and "+Title: Corrected title" in shown
    client = app.test_client()
    assert "Corrected title" not in client.get("/feed.xml").get_data(as_text=True)
    accepted = invoke(runner, "items", "accept-change", str(item["id"]))
    assert accepted.exit_code == 0 and "published" in accepted.output
    assert "Corrected title" in client.get("/feed.xml").get_data(as_text=True)
    assert "already" in invoke(runner, "items", "accept-change", str(item["id"])).output
    actions = [(row["actor"], row["action"]) for row in audit_rows(runner, "--item", str(item["id"]))]
    assert actions[:2] == [(getpass.getuser(), "accept-change"), ("fetch", "changed-upstream")]


def test_a_source_edit_decides_its_items_again_by_itself(runner, harbor):
    source_id, items = harbor
    edited = invoke(runner, "sources", "edit", str(source_id), "--allow-licenses", "CC0-1.0", "--actor", "fay")
    assert edited.exit_code == 0 and "blocked: 3" in edited.output
    statuses = {item["status"] for item in json.loads(invoke(runner, "items", "list", "--json").output)}
    assert statuses == {"blocked"}
    rows = audit_rows(runner, "--source", str(source_id))
    [edit] = [row for row in rows if row["action"] == "edit-source"]
    assert edit["actor"] == "fay" and edit["detail"]["allowed_licenses"]["to"] == "CC0-1.0"
    assert {(row["actor"], row["action"]) for row in rows if row["item_id"]} == {("fay", "re-decide")}


def test_auto_approved_items_are_recorded_as_auto(runner, httpserver):
    httpserver.expect_request("/auto").respond_with_data(sample_feed("harbor-wire.xml"),
                                                         content_type="application/rss+xml")
    invoke(runner, "sources", "add", httpserver.url_for("/auto"), "--auto-approve", "--no-verify-license")
    invoke(runner, "fetch", "--all")
    rows = audit_rows(runner)
    assert {(row["actor"], row["action"]) for row in rows if row["item_id"]} == {("auto", "approve")}
    assert len([row for row in rows if row["item_id"]]) == 3


def test_sources_add_dry_run_reports_the_feed_and_stores_nothing(runner, httpserver):
    httpserver.expect_request("/harbor").respond_with_data(sample_feed("harbor-wire.xml"),
                                                           content_type="application/rss+xml")
    trial = invoke(runner, "sources", "add", httpserver.url_for("/harbor"), "--dry-run", "--json")
    assert trial.exit_code == 0, trial.output
    report = json.loads(trial.output)
    assert report["name"] == "Harbor Wire" and report["items"] == 3 and report["licenses"] == {"CC-BY-4.0": 3}
    assert report["findings"][0]["evidence"]["level"]
    assert json.loads(invoke(runner, "sources", "list", "--json").output) == []


def test_sources_add_refuses_a_private_address_unless_allowed(tmp_path, httpserver):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "guarded.sqlite"), "SITE_URL": "http://mirror.test",
                      "SECRET_KEY": "test-secret"})
    runner = app.test_cli_runner()
    for args in ([], ["--dry-run"]):
        refused = invoke(runner, "sources", "add", httpserver.url_for("/feed"), "--no-verify-license", *args)
        assert refused.exit_code == 1 and "refused" in refused.output, refused.output
    assert json.loads(invoke(runner, "sources", "list", "--json").output) == []
    assert len(httpserver.log) == 0


def test_license_decisions_name_their_editor_in_the_audit_log(runner, harbor):
    source_id, items = harbor
    item_id = str(items["Ferry service resumes after winter storms"]["id"])
    evidence = "https://harbor.example/about: every article is CC BY 4.0"
    assert invoke(runner, "sources", "set-license", str(source_id), "CC-BY-4.0", "--evidence", evidence,
                  "--actor", "ivan").exit_code == 0
    assert invoke(runner, "items", "set-license", item_id, "CC-BY-4.0", "--evidence", evidence,
                  "--actor", "jo").exit_code == 0
    rows = audit_rows(runner)
    assert ("ivan", "set-source-license") in [(row["actor"], row["action"]) for row in rows]
    [override] = [row for row in rows if row["action"] == "override-license"]
    assert (override["actor"], override["item_id"], override["detail"]["evidence"]) == ("jo", int(item_id), evidence)
