"""One publish gate: every path that publishes, and `republisher audit`, ask the same question."""

import json
from pathlib import Path

import html5lib
import pytest

from helpers import FIXTURES, SAMPLE_FEEDS, pipeline_config, refresh
from republisher import gate, reprocess, storage, workflow
from republisher.errors import WorkflowError

EVIDENCE = ("https://gap.example/about: All Content by Gap News is licensed under a Creative Commons "
            "Attribution 4.0 International License.")
BY = "https://creativecommons.org/licenses/by/4.0/"


def rss(items: str, channel: str = "") -> bytes:
    """An RSS document with the given items and channel elements."""
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule">'
            f"<channel><title>Gap News</title><link>https://gap.example/</link><description>d</description>"
            f"{channel}{items}</channel></rss>").encode("utf-8")


NO_LINK = rss('<item><title>No link here</title><guid isPermaLink="false">gap-1</guid>'
              "<description>A story without a link to its original.</description></item>",
              channel=f"<creativeCommons:license>{BY}</creativeCommons:license>")
NO_LICENSE = rss("<item><title>No license</title><link>https://gap.example/2</link>"
                 "<description>A story that states no license.</description></item>")


def serve(httpserver, path: str, body: bytes) -> str:
    """Serve a feed on 127.0.0.1; returns its URL."""
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    return httpserver.url_for(path)


def statuses(db, source_id: int) -> set[str]:
    """The statuses of a source's items."""
    return {item["status"] for item in storage.list_items(db, source_id=source_id)}


def test_auto_approve_leaves_an_item_without_a_link_to_the_original_waiting_with_that_reason(app, db, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "/nolink", NO_LINK), auto_approve=True)["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    assert item["status"] == "pending"
    assert item["status_reason"] == "waits for an editor: the credit lacks link to the original"


def test_every_publishing_path_refuses_an_item_without_a_link_to_the_original(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "/nolink", NO_LINK))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    config = pipeline_config(app)
    # an editor's approval, from the shell and from code
    refused = runner.invoke(args=["items", "approve", str(item["id"])])
    assert refused.exit_code == 1 and "lacks link to the original" in refused.output
    with pytest.raises(WorkflowError, match="link to the original"):
        workflow.approve(db, item["id"])
    # switching auto-approve on re-decides the source's items
    assert runner.invoke(args=["sources", "edit", str(source_id), "--auto-approve"]).exit_code == 0
    # an item override, a source license and a full reprocess all decide again
    reprocess.override_item_license(db, config, item["id"], "CC-BY-4.0", EVIDENCE)
    reprocess.set_source_license(db, config, source_id, "CC-BY-4.0", EVIDENCE)
    assert runner.invoke(args=["reprocess"]).exit_code == 0
    # and a fetch of the same item changed upstream
    httpserver.clear()
    serve(httpserver, "/nolink", NO_LINK.replace(b"A story without", b"A changed story without"))
    refresh(app, db, source_id)
    assert statuses(db, source_id) == {"pending"}
    assert storage.public_status_counts(db).get("published", 0) == 0


def test_every_publishing_path_refuses_an_item_without_a_license(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "/nolicense", NO_LICENSE), auto_approve=True)["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    assert item["status"] == "blocked"
    assert runner.invoke(args=["items", "approve", str(item["id"])]).exit_code == 1
    with pytest.raises(WorkflowError):
        workflow.publish_current(db, item["id"])
    assert runner.invoke(args=["reprocess"]).exit_code == 0
    assert statuses(db, source_id) == {"blocked"}


def test_evidence_must_be_a_url_or_a_quotation_of_twenty_characters(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "/nolicense", NO_LICENSE))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    for command in (["sources", "set-license", str(source_id), "CC-BY-4.0", "--evidence", "x"],
                    ["items", "set-license", str(item["id"]), "CC-BY-4.0", "--evidence", "site footer"],
                    ["sources", "add", "https://gap.example/other.xml", "--license", "CC-BY-4.0", "--evidence", "ok"]):
        result = runner.invoke(args=command)
        assert result.exit_code != 0 and "evidence must be a URL or the quoted statement" in result.output, command
    assert statuses(db, source_id) == {"blocked"}
    accepted = runner.invoke(args=["items", "set-license", str(item["id"]), "CC-BY-4.0", "--evidence",
                                   "https://gap.example/licensing"])
    assert accepted.exit_code == 0 and "pending" in accepted.output


def test_an_approval_or_audit_with_evidence_planted_too_short_is_refused(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "/nolicense", NO_LICENSE), license="CC-BY-4.0",
                                   evidence=EVIDENCE)["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    revision = storage.get_revision(db, item["current_revision_id"])
    decision = revision["decision"]
    decision["evidence"]["matched"] = "x"
    storage.update_revision(db, revision["id"], {"decision": json.dumps(decision)})
    with pytest.raises(WorkflowError, match="evidence must be a URL"):
        workflow.approve(db, item["id"])
    decision["evidence"] = None
    storage.update_revision(db, revision["id"], {"decision": json.dumps(decision)})
    with pytest.raises(WorkflowError, match="no license evidence"):
        workflow.approve(db, item["id"])


def all_fixture_feeds() -> list[Path]:
    """Every feed the tests and the demo use: license fixtures and sample feeds."""
    return sorted((FIXTURES / "licensing").glob("*.xml")) + sorted(p for p in SAMPLE_FEEDS.iterdir()
                                                                  if p.suffix in (".xml", ".rdf", ".atom"))


def test_audit_passes_after_an_auto_approved_ingest_of_every_fixture(app, db, runner, httpserver):
    published = 0
    for number, path in enumerate(all_fixture_feeds()):
        url = serve(httpserver, f"/fixture-{number}", path.read_bytes())
        source_id = storage.add_source(db, url, auto_approve=True, license="CC-BY-4.0", evidence=EVIDENCE)["id"]
        refresh(app, db, source_id)
        published += len(storage.list_items(db, source_id=source_id, status="published"))
    assert published > 20
    result = runner.invoke(args=["audit"])
    assert result.exit_code == 0, result.output
    assert f"{published} published items checked, 0 violations" in result.output


# ---------------------------------------------------------------- overrides that contradict the item

NC_ITEM = rss("<item><title>Valley road reopens</title><link>https://gap.example/road</link>"
              "<dc:rights>© 2026 Gap News. Licensed under CC BY-NC 4.0</dc:rights>"
              "<description>The valley road reopened after the landslide was cleared.</description></item>")
CONFIRMATION = "The publisher's licensing desk wrote on 2026-11-30 that the story is CC BY 4.0."


def test_an_override_that_contradicts_the_items_own_notice_needs_a_confirmed_reason(app, db, runner, httpserver):
    source_id = storage.add_source(db, serve(httpserver, "/nc", NC_ITEM))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    assert (item["status"], item["license"]) == ("blocked", "CC-BY-NC-4.0")
    base = ["items", "set-license", str(item["id"]), "CC-BY-4.0", "--evidence", "https://gap.example/licensing-email"]

    refused = runner.invoke(args=base)
    assert refused.exit_code == 1
    assert "states CC-BY-NC-4.0" in refused.output and "needs the contradiction confirmed" in refused.output
    assert storage.get_item(db, item["id"])["status"] == "blocked"
    no_reason = runner.invoke(args=base + ["--confirm-contradiction"])
    assert no_reason.exit_code == 1 and "needs a reason" in no_reason.output

    confirmed = runner.invoke(args=base + ["--confirm-contradiction", "--reason", CONFIRMATION])
    assert confirmed.exit_code == 0 and "pending" in confirmed.output, confirmed.output
    override = storage.get_item(db, item["id"])["license_override"]
    assert (override["confirmed"], override["reason"], override["contradicts"]) == (True, CONFIRMATION, ["CC-BY-NC-4.0"])
    assert runner.invoke(args=["items", "approve", str(item["id"])]).exit_code == 0

    page = app.test_client().get(f"/articles/{item['id']}", follow_redirects=True)
    assert page.status_code == 200
    text = " ".join(" ".join(html5lib.parse(page.data, namespaceHTMLElements=False).itertext()).split())
    assert "BY-NC" not in text and "NonCommercial" not in text
    tree = html5lib.parse(page.data, namespaceHTMLElements=False)
    assert {a.get("href") for a in tree.iter("a") if "license" in (a.get("rel") or "").split()} == {BY}
    assert "the publisher's license notice removed, as the editors confirmed CC BY 4.0 instead" in text
    assert runner.invoke(args=["audit"]).exit_code == 0

    # a mismatch planted in the shown credit is what audit is for
    revision = storage.get_revision(db, storage.get_item(db, item["id"])["approved_revision_id"])
    credit = revision["attribution"]
    credit["copyright_notice"] = "© 2026 Gap News. Licensed under CC BY-NC 4.0"
    storage.update_revision(db, revision["id"], {"attribution": json.dumps(credit)})
    flagged = runner.invoke(args=["audit", "--json"])
    assert flagged.exit_code == 1
    [violation] = json.loads(flagged.output)
    assert violation["item_id"] == item["id"]
    assert violation["problem"].startswith("a notice shown with it names CC-BY-NC-4.0, not CC-BY-4.0")


def test_a_notice_in_the_published_text_that_names_another_license_is_flagged():
    decision = {"license": "CC-BY-4.0", "allowed": True, "evidence": {"level": "feed", "matched": BY, "url": BY}}
    credit = {"title": "T", "original_url": "https://gap.example/1", "publisher": "Gap",
              "license": {"name": "CC BY 4.0", "url": BY}, "changes_notice": "Changes: none."}
    assert gate.problems(decision, credit, "<p>Text.</p>", frozenset({"CC-BY-4.0"})) == []
    closing = "<p>Text.</p><p>This article is licensed under CC BY-ND 4.0.</p>"
    [problem] = gate.problems(decision, credit, closing, frozenset({"CC-BY-4.0"}))
    assert problem.startswith("a notice shown with it names CC-BY-ND-4.0")
    caption = ('<figure><img src="https://cdn.example/a.jpg"><figcaption>Photo CC BY-SA 2.0</figcaption></figure>'
               "<p>Text.</p>")
    assert gate.problems(decision, credit, caption, frozenset({"CC-BY-4.0"})) == []


# ---------------------------------------------------------------- ports and old versions, end to end


def test_a_ported_license_is_shown_as_the_publisher_gave_it_and_a_1_0_nc_item_is_blocked(app, db, httpserver):
    body = rss("<item><title>Vineyards of the south</title><link>https://gap.example/vines</link>"
               "<creativeCommons:license>https://creativecommons.org/licenses/by/2.0/fr/</creativeCommons:license>"
               "<description>The harvest started early.</description></item>"
               "<item><title>Old archive story</title><link>https://gap.example/archive</link>"
               "<creativeCommons:license>http://creativecommons.org/licenses/by-nc/1.0/</creativeCommons:license>"
               "<description>From the archive.</description></item>")
    source_id = storage.add_source(db, serve(httpserver, "/ports", body), auto_approve=True)["id"]
    refresh(app, db, source_id)
    items = {item["title"]: item for item in storage.list_items(db, source_id=source_id)}
    archive = items["Old archive story"]
    assert (archive["status"], archive["license"]) == ("blocked", "CC-BY-NC-1.0")
    assert archive["status_reason"] == "CC-BY-NC-1.0 is not allowed by policy: non-commercial"
    vines = items["Vineyards of the south"]
    assert (vines["status"], vines["license"]) == ("published", "LicenseRef-CC-BY-2.0-FR")
    page = app.test_client().get(f"/articles/{vines['id']}", follow_redirects=True)
    tree = html5lib.parse(page.data, namespaceHTMLElements=False)
    [link] = [a for a in tree.iter("a") if "license" in (a.get("rel") or "").split()]
    assert link.get("href") == "https://creativecommons.org/licenses/by/2.0/fr/"
    assert "".join(link.itertext()) == "CC BY 2.0 France"
    assert "2.0 Generic" not in page.data.decode()
