"""License decisions through the whole pipeline: feeds over HTTP, the CLI, re-evaluation and overrides."""

import json

import pytest
from werkzeug import Response

from helpers import FIXTURES, refresh
from republisher import create_app, storage, workflow
from republisher.errors import WorkflowError
from test_licensing import CASES

LICENSING = FIXTURES / "licensing"


def serve(httpserver, name: str, path: str = "/feed") -> str:
    """Serve a licensing fixture feed over HTTP; returns its URL."""
    httpserver.expect_request(path).respond_with_data((LICENSING / name).read_bytes(), content_type="application/rss+xml")
    return httpserver.url_for(path)


def items_json(runner, source_id: int) -> list[dict]:
    """`republisher items list --json` for one source, in feed order."""
    result = runner.invoke(args=["items", "list", "--source", str(source_id), "--json"])
    assert result.exit_code == 0, result.output
    return sorted(json.loads(result.output), key=lambda item: item["id"])


@pytest.mark.parametrize("name, index, status, license_id, level, found_in", CASES)
def test_each_fixture_is_decided_over_http_as_expected(app, db, runner, httpserver, name, index, status, license_id, level, found_in):
    source_id = storage.add_source(db, serve(httpserver, name))["id"]
    refresh(app, db, source_id)
    item = items_json(runner, source_id)[index]
    assert (item["status"], item["license"]) == (status, license_id)
    assert (item["license_evidence"]["level"], item["license_evidence"]["found_in"]) == (level, found_in)


def test_license_only_in_a_closing_sentence_is_found(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "rss_html_statement.xml"))["id"]
    refresh(app, db, source_id)
    first = items_json(runner, source_id)[0]
    assert first["status"] == "pending" and first["license"] == "CC-BY-4.0"
    assert "Creative Commons Attribution 4.0 International License" in first["license_evidence"]["matched"]


def test_no_license_is_blocked_until_the_editor_sets_one_with_evidence(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "rss_no_license.xml"))["id"]
    refresh(app, db, source_id)
    assert {(item["status"], item["license"]) for item in items_json(runner, source_id)} == {("blocked", None)}
    assert storage.list_items(db, source_id=source_id)[0]["status_reason"].startswith("no license found")

    result = runner.invoke(args=["sources", "set-license", str(source_id), "CC-BY-4.0", "--evidence",
                                 "https://lakeside-tribune.example/about: all articles are CC BY 4.0"])
    assert result.exit_code == 0, result.output
    assert "pending: 2" in result.output
    for item in items_json(runner, source_id):
        assert item["status"] == "pending" and item["license"] == "CC-BY-4.0"
        assert item["license_evidence"]["level"] == "editor_source"
        assert item["license_evidence"]["url"] == "https://lakeside-tribune.example/about"
    history = storage.get_source(db, source_id)["license_history"]
    assert history[-1]["license"] == "CC-BY-4.0" and "lakeside-tribune.example/about" in history[-1]["evidence"]


def test_channel_cc_by_with_one_nd_item_blocks_only_that_item(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "rss_channel_by_item_nd.xml"))["id"]
    refresh(app, db, source_id)
    assert [item["status"] for item in items_json(runner, source_id)] == ["pending", "blocked", "pending"]
    assert storage.list_items(db, status="blocked")[0]["status_reason"] == "CC-BY-ND-4.0 is not allowed by policy: no derivatives"


def test_all_rights_reserved_is_blocked(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "rss_all_rights_reserved.xml"))["id"]
    refresh(app, db, source_id)
    items = storage.list_items(db, source_id=source_id)
    assert items and all(item["status"] == "blocked" for item in items)
    assert all("reserve" in item["status_reason"] for item in items)


def test_cc0_feed_is_pending_and_nc_feed_allowed_by_policy(tmp_path, httpserver):
    app = create_app({"DATABASE": str(tmp_path / "nc.sqlite"), "ALLOW_PRIVATE_ADDRESSES": True,
                      "ALLOWED_LICENSES": "CC-BY-4.0 CC-BY-NC-4.0 CC0-1.0 PDM-1.0"})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    nc = storage.add_source(db, serve(httpserver, "rss_nc_feed.xml", "/nc"))["id"]
    cc0 = storage.add_source(db, serve(httpserver, "rss_cc0.xml", "/cc0"))["id"]
    refresh(app, db, nc)
    refresh(app, db, cc0)
    assert {item["status"] for item in storage.list_items(db, source_id=nc)} == {"pending"}
    cc0_items = storage.list_items(db, source_id=cc0)
    assert "CC0-1.0" in {item["license"] for item in cc0_items}
    assert {item["status"] for item in cc0_items} == {"pending"}
    db.conn.close()


def test_a_license_change_between_fetches_holds_new_items_until_an_editor_decides(app, db, runner, httpserver):
    before = (LICENSING / "atom_feed_license.xml").read_text()
    after = (before.replace("licenses/by/4.0/", "licenses/by-sa/4.0/").replace("CC BY 4.0", "CC BY-SA 4.0")
             .replace("</feed>", "<entry><title>Later story</title><id>tag:later</id>"
                      "<updated>2024-03-13T10:00:00Z</updated><link href='https://later.example/x'/>"
                      "<content type='html'>x</content></entry></feed>"))
    bodies = iter([before, after])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    refresh(app, db, source_id)
    by_title = {item["title"]: item for item in storage.list_items(db, source_id=source_id)}
    later = by_title.pop("Later story")
    assert later["status"] == "blocked"
    assert later["status_reason"].startswith("held for an editor: the feed changed its license statement")
    before, after = later["status_reason"].split("; after: ")
    assert "before: CC-BY-4.0" in before and after.startswith("CC-BY-SA-4.0")
    assert {(item["license"], item["status"]) for item in by_title.values()} == {("CC-BY-4.0", "pending")}
    source = storage.get_source(db, source_id)
    assert source["feed_license"] == "CC-BY-SA-4.0"
    change = source["license_history"][-1]
    assert (change["previous"], change["license"], change["by"]) == ("CC-BY-4.0", "CC-BY-SA-4.0", "feed")

    released = runner.invoke(args=["sources", "set-license", str(source_id), "CC-BY-SA-4.0", "--evidence",
                                   "the feed's own rights element now names CC BY-SA 4.0"])
    assert released.exit_code == 0, released.output
    assert "license hold released" in released.output
    later = storage.get_item(db, later["id"])
    assert (later["status"], later["license"]) == ("pending", "CC-BY-SA-4.0")


def test_an_item_override_with_evidence_is_recorded_as_such(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "rss_no_license.xml"))["id"]
    refresh(app, db, source_id)
    item_id = storage.list_items(db, source_id=source_id)[0]["id"]
    refused = runner.invoke(args=["items", "set-license", str(item_id), "CC-BY-4.0", "--evidence", "  "])
    assert refused.exit_code != 0 and "evidence" in refused.output
    result = runner.invoke(args=["items", "set-license", str(item_id), "CC-BY-4.0", "--evidence", "email from the editor, 2024-03-14"])
    assert result.exit_code == 0 and "pending" in result.output
    evidence = storage.get_item(db, item_id)["license_evidence"]
    assert evidence["level"] == "editor_override" and evidence["found_in"] == "override by an editor"


# Every path that can move an item must refuse to make a disallowed license pending or published.

def disallowed_source(app, db, httpserver, **options) -> int:
    """A source whose items are CC BY-NC-SA (not allowed by default), fetched once."""
    source_id = storage.add_source(db, serve(httpserver, "rss_dc_rights_nc_sa.xml"), **options)["id"]
    refresh(app, db, source_id)
    return source_id


def assert_nothing_public_or_pending(db, source_id):
    """No item of the source is pending or published."""
    assert {item["status"] for item in storage.list_items(db, source_id=source_id)} <= {"blocked", "rejected"}


def test_fetch_with_auto_approve_cannot_publish_a_disallowed_license(app, db, httpserver):
    source_id = disallowed_source(app, db, httpserver, auto_approve=True)
    assert_nothing_public_or_pending(db, source_id)


def test_cli_approve_refuses_a_disallowed_license(app, db, runner, httpserver):
    source_id = disallowed_source(app, db, httpserver)
    item_id = storage.list_items(db, source_id=source_id)[0]["id"]
    result = runner.invoke(args=["items", "approve", str(item_id)])
    assert result.exit_code == 1 and "CC-BY-NC-SA-4.0 is not allowed by policy" in result.output
    with pytest.raises(WorkflowError):
        workflow.approve(db, item_id)
    assert_nothing_public_or_pending(db, source_id)


def test_reevaluation_and_source_license_cannot_allow_a_disallowed_license(app, db, runner, httpserver):
    source_id = disallowed_source(app, db, httpserver, auto_approve=True)
    result = runner.invoke(args=["sources", "set-license", str(source_id), "CC-BY-NC-4.0", "--evidence",
                                 "https://lakeside-tribune.example/about"])
    assert result.exit_code == 0
    assert runner.invoke(args=["reprocess"]).exit_code == 0
    assert_nothing_public_or_pending(db, source_id)


def test_item_override_to_a_disallowed_license_stays_blocked(app, db, runner, httpserver):
    source_id = disallowed_source(app, db, httpserver)
    item_id = storage.list_items(db, source_id=source_id)[0]["id"]
    result = runner.invoke(args=["items", "set-license", str(item_id), "CC-BY-ND-4.0", "--evidence",
                                 "letter from the publisher, 2024-03-14", "--confirm-contradiction", "--reason",
                                 "the publisher's letter replaces the feed's notice"])
    assert result.exit_code == 0 and "not allowed by policy" in result.output
    assert_nothing_public_or_pending(db, source_id)


def test_a_source_policy_can_allow_what_the_site_blocks(app, db, runner, httpserver):
    source_id = disallowed_source(app, db, httpserver)
    result = runner.invoke(args=["sources", "edit", str(source_id), "--allow-licenses", "CC-BY-NC-SA-4.0"])
    assert result.exit_code == 0, result.output
    assert {item["status"] for item in storage.list_items(db, source_id=source_id)} == {"pending"}


def test_audit_passes_on_published_items_and_names_each_violation(tmp_path, app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "rss_cc_userland_items.xml"), auto_approve=True)["id"]
    refresh(app, db, source_id)
    published = storage.list_items(db, status="published")
    assert published
    clean = runner.invoke(args=["audit"])
    assert clean.exit_code == 0, clean.output
    assert f"{len(published)} published items checked, 0 violations" in clean.output

    first = published[0]
    revision = storage.get_revision(db, first["approved_revision_id"])
    credit = revision["attribution"]
    credit["license"]["url"] = None
    storage.update_revision(db, revision["id"], {"attribution": json.dumps(credit)})
    broken = runner.invoke(args=["audit", "--json"])
    assert broken.exit_code == 1
    assert json.loads(broken.output) == [{"item_id": first["id"], "title": first["title"],
                                           "problem": "the credit lacks license link"}]

    stricter = create_app({"DATABASE": app.config["DATABASE"], "ALLOWED_LICENSES": "CC0-1.0"})
    result = stricter.test_cli_runner().invoke(args=["audit"])
    assert result.exit_code == 1
    assert result.output.count("CC-BY-4.0 is not allowed by policy") == len(published)


def test_reevaluation_keeps_a_license_stated_only_by_the_feed(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "atom_feed_license.xml"))["id"]
    refresh(app, db, source_id)
    assert {item["status"] for item in storage.list_items(db, source_id=source_id)} == {"pending"}
    result = runner.invoke(args=["sources", "edit", str(source_id), "--auto-approve"])
    assert result.exit_code == 0, result.output
    items = storage.list_items(db, source_id=source_id)
    assert {(item["status"], item["license"]) for item in items} == {("published", "CC-BY-4.0")}
