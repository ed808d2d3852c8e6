"""The desk's pages over a real SQLite file, with feeds from a real HTTP server on 127.0.0.1."""

import re

import pytest

from helpers import csrf_token, log_in, refresh
from republisher import accounts, storage

PASSWORD = "a long enough passphrase"


def feed(items: list[tuple[str, str]], license_url: str | None = "https://creativecommons.org/licenses/by/4.0/") -> bytes:
    """An RSS feed of (title, paragraph) items, dated one day apart, newest last."""
    cc = f"<creativeCommons:license>{license_url}</creativeCommons:license>" if license_url else ""
    entries = "".join(
        f"<item><title>{title}</title><link>https://news.example/{n}</link><guid>https://news.example/{n}</guid>"
        f"<pubDate>Mon, {n + 1:02d} Nov 2026 08:00:00 GMT</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;</description></item>"
        for n, (title, text) in enumerate(items))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>Bay News</title><link>https://news.example/</link><description>d</description>{cc}"
            f"{entries}</channel></rss>").encode()


def serve(httpserver, path: str, body: bytes) -> str:
    """Serve a feed body (replacing an earlier one at the path)."""
    httpserver.clear()
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    return httpserver.url_for(path)


@pytest.fixture
def desk(app, db):
    """A client logged in as an editor."""
    accounts.add_user(db, "ines", "editor", PASSWORD)
    client = app.test_client()
    log_in(client, "ines", PASSWORD)
    return client


def post(client, path: str, form: dict, page: str = "/desk/"):
    """Post a desk form with the token of a page, following the redirect."""
    token = csrf_token(client, page)
    return client.post(path, data=dict(form, csrf_token=token), follow_redirects=True)


def add_feed(app, db, httpserver, body: bytes) -> int:
    """A source for the served feed, fetched once."""
    source = storage.add_source(db, serve(httpserver, "/feed", body), name="Bay News")
    assert refresh(app, db, source["id"]).outcome == "ok"
    return source["id"]


STORIES = [("Harbour dredging begins", "Work starts on the east quay."),
           ("Ferry timetable changes", "Winter sailings start in December."),
           ("New lighthouse keeper", "The keeper starts on Monday.")]


def test_queue_lists_pending_items_newest_first_with_license_and_where_it_was_found(app, db, desk, httpserver):
    add_feed(app, db, httpserver, feed(STORIES))
    body = desk.get("/desk/").get_data(as_text=True)
    titles = re.findall(r'<a href="/desk/items/\d+" dir="auto">([^<]+)</a>', body)
    assert titles == ["New lighthouse keeper", "Ferry timetable changes", "Harbour dredging begins"]
    assert "CC-BY-4.0" in body and "feed" in body and "Bay News" in body


def test_queue_filters_by_status_and_license(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES))
    assert "New lighthouse keeper" not in desk.get("/desk/?status=published").get_data(as_text=True)
    assert "New lighthouse keeper" not in desk.get("/desk/?license=CC0-1.0").get_data(as_text=True)
    assert "New lighthouse keeper" in desk.get(f"/desk/?license=CC-BY-4.0&source={source_id}").get_data(as_text=True)
    assert desk.get("/desk/?source=999").status_code == 404


def test_bulk_approve_publishes_and_bulk_reject_keeps_off_with_the_reason(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES))
    items = {row["title"]: row["id"] for row in storage.list_items(db, source_id=source_id)}
    approve = [items["Harbour dredging begins"], items["Ferry timetable changes"]]
    page = post(desk, "/desk/bulk", {"action": "approve", "item": [str(i) for i in approve]})
    assert page.status_code == 200
    reject = post(desk, "/desk/bulk", {"action": "reject", "item": str(items["New lighthouse keeper"]),
                                       "reason": "Not about the bay"})
    assert reject.status_code == 200
    statuses = {row["title"]: (row["status"], row["status_reason"]) for row in storage.list_items(db, source_id=source_id)}
    assert statuses["Harbour dredging begins"][0] == statuses["Ferry timetable changes"][0] == "published"
    assert statuses["New lighthouse keeper"] == ("rejected", "Not about the bay")
    home = app.test_client().get("/").get_data(as_text=True)
    assert "Ferry timetable changes" in home and "New lighthouse keeper" not in home
    log = storage.audit_entries(db)
    assert {(row["actor"], row["action"]) for row in log} >= {("ines", "approve"), ("ines", "reject")}


def test_item_page_shows_evidence_sanitizer_changes_and_the_credit(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES))
    item = storage.list_items(db, source_id=source_id)[0]
    body = desk.get(f"/desk/items/{item['id']}").get_data(as_text=True)
    assert "License evidence" in body and "https://creativecommons.org/licenses/by/4.0/" in body
    assert "What the sanitizer changed" in body and "<script>alert(1)" not in body
    assert 'class="attribution"' in body and 'rel="license"' in body
    assert desk.get("/desk/items/99999").status_code == 404


def test_withdraw_asks_for_confirmation_then_the_article_is_gone_and_restore_brings_it_back(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES[:1]))
    [item] = storage.list_items(db, source_id=source_id)
    post(desk, f"/desk/items/{item['id']}/approve", {})
    confirm = desk.get(f"/desk/items/{item['id']}/withdraw")
    assert confirm.status_code == 200 and "Withdraw this article?" in confirm.get_data(as_text=True)
    assert storage.get_item(db, item["id"])["status"] == "published", "the confirmation page changes nothing"
    refused = post(desk, f"/desk/items/{item['id']}/withdraw", {"reason": ""}, page=f"/desk/items/{item['id']}/withdraw")
    assert "needs a reason" in refused.get_data(as_text=True)
    post(desk, f"/desk/items/{item['id']}/withdraw", {"reason": "Takedown request from the publisher"},
         page=f"/desk/items/{item['id']}/withdraw")
    public = app.test_client()
    assert public.get(f"/articles/{item['id']}").status_code == 410
    post(desk, f"/desk/items/{item['id']}/restore", {"reason": "The request was withdrawn"},
         page=f"/desk/items/{item['id']}")
    assert storage.get_item(db, item["id"])["status"] == "published"
    assert public.get(f"/articles/{item['id']}", follow_redirects=True).status_code == 200


def test_blocked_items_show_their_reason_and_an_override_with_evidence_releases_them(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES[:1], license_url=None))
    [item] = storage.list_items(db, source_id=source_id)
    assert item["status"] == "blocked"
    listing = desk.get("/desk/?status=blocked").get_data(as_text=True)
    assert "Harbour dredging begins" in listing and "no license" in listing.lower()
    short = post(desk, f"/desk/items/{item['id']}/license", {"license": "CC-BY-4.0", "evidence": "trust me"},
                 page=f"/desk/items/{item['id']}")
    assert storage.get_item(db, item["id"])["status"] == "blocked"
    assert "20 characters" in short.get_data(as_text=True)
    post(desk, f"/desk/items/{item['id']}/license",
         {"license": "CC-BY-4.0", "evidence": "Footer of news.example: all stories are licensed under CC BY 4.0."},
         page=f"/desk/items/{item['id']}")
    assert storage.get_item(db, item["id"])["status"] == "pending"


def test_an_item_changed_upstream_shows_the_diff_until_the_change_is_accepted(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES[:1]))
    [item] = storage.list_items(db, source_id=source_id)
    post(desk, f"/desk/items/{item['id']}/approve", {})
    serve(httpserver, "/feed", feed([("Harbour dredging begins", "Work starts on the west quay instead.")]))
    refresh(app, db, source_id)
    assert "changed upstream" in desk.get("/desk/?changed=1").get_data(as_text=True)
    body = desk.get(f"/desk/items/{item['id']}").get_data(as_text=True)
    assert "Changed upstream" in body and "west quay" in body and "desk-diff-del" in body
    assert "east quay" in app.test_client().get(f"/articles/{item['id']}", follow_redirects=True).get_data(as_text=True)
    post(desk, f"/desk/items/{item['id']}/accept-change", {}, page=f"/desk/items/{item['id']}")
    assert "west quay" in app.test_client().get(f"/articles/{item['id']}", follow_redirects=True).get_data(as_text=True)
    assert storage.audit_entries(db, item_id=item["id"])[0]["action"] == "accept-change"


def test_adding_a_source_test_fetches_first_and_refuses_private_addresses(app, db, desk, httpserver):
    url = serve(httpserver, "/new.xml", feed(STORIES))
    trial = post(desk, "/desk/sources/new", {"url": url, "step": "test"}, page="/desk/sources/new")
    text = trial.get_data(as_text=True)
    assert "Bay News" in text and "3 (3 allowed)" in text and "CC-BY-4.0: 3" in text
    assert storage.list_sources(db) == []
    post(desk, "/desk/sources/new", {"url": url, "step": "add"}, page="/desk/sources/new")
    assert [source["url"] for source in storage.list_sources(db)] == [url]


def test_a_feed_that_cannot_be_read_is_added_only_when_the_editor_insists(app, db, desk, httpserver):
    httpserver.expect_request("/broken.xml").respond_with_data("nope", status=500)
    url = httpserver.url_for("/broken.xml")
    page = post(desk, "/desk/sources/new", {"url": url, "step": "add"}, page="/desk/sources/new")
    assert "could not be read" in page.get_data(as_text=True) and storage.list_sources(db) == []
    post(desk, "/desk/sources/new", {"url": url, "step": "add", "insist": "1"}, page="/desk/sources/new")
    assert len(storage.list_sources(db)) == 1


def test_the_address_guard_applies_to_the_desk(tmp_path, db):
    from republisher import create_app
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "guard.sqlite"), "SECRET_KEY": "k",
                      "SITE_URL": "http://mirror.test"})
    storage.migrate(storage.connect(app.config["DATABASE"]))
    guard_db = storage.connect(app.config["DATABASE"])
    accounts.add_user(guard_db, "ines", "editor", PASSWORD)
    client = app.test_client()
    log_in(client, "ines", PASSWORD)
    for url in ("http://127.0.0.1:9/feed", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"):
        page = post(client, "/desk/sources/new", {"url": url, "step": "add", "insist": "1"}, page="/desk/sources/new")
        assert page.status_code == 422, url
    assert storage.list_sources(guard_db) == []


def test_source_page_shows_health_and_edits_go_through_the_audit_log(app, db, desk, httpserver):
    source_id = add_feed(app, db, httpserver, feed(STORIES))
    page = desk.get(f"/desk/sources/{source_id}").get_data(as_text=True)
    assert "Last success" in page and "pending: 3" in page and "Recent fetches" in page
    post(desk, f"/desk/sources/{source_id}", {"name": "Bay News Daily", "credit_name": "Bay News Ltd",
                                             "interval": "3600"}, page=f"/desk/sources/{source_id}")
    source = storage.get_source(db, source_id)
    assert (source["name"], source["credit_name"], source["interval_seconds"]) == ("Bay News Daily", "Bay News Ltd", 3600)
    assert storage.audit_entries(db, source_id=source_id)[0]["actor"] == "ines"
    fetched = post(desk, f"/desk/sources/{source_id}/fetch", {}, page=f"/desk/sources/{source_id}")
    assert "Fetched:" in fetched.get_data(as_text=True)
