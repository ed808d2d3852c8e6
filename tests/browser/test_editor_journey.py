"""An editor's journey through the desk in Debian's Chromium, on a real server with feeds over HTTP."""

import pytest
from playwright.sync_api import expect

from republisher import accounts, storage

from helpers import refresh, sample_feed

PASSWORD = "a long enough passphrase"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def bay_feed(paragraph: str) -> bytes:
    """A CC BY 4.0 feed with two stories; the first one's text is given."""
    stories = [("Harbour dredging begins", paragraph), ("Ferry timetable changes", "Winter sailings start soon.")]
    items = "".join(
        f"<item><title>{title}</title><link>https://bay.example/{n}</link><guid>https://bay.example/{n}</guid>"
        f"<pubDate>Mon, {n + 1:02d} Nov 2026 08:00:00 GMT</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"
        for n, (title, text) in enumerate(stories))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            "<title>Bay Courier</title><link>https://bay.example/</link><description>d</description>"
            f"<creativeCommons:license>{CC_BY}</creativeCommons:license>{items}</channel></rss>").encode()


@pytest.fixture(scope="module")
def desk_site(make_site):
    """A live site with one pending source, an editor and an admin."""
    site = make_site("desk")
    site.source_id = site.add_feed("/bay.xml", bay_feed("Work starts on the east quay."))
    site.other_id = site.add_feed("/cafe.xml", sample_feed("cafe-chronicle.xml"))
    accounts.add_user(site.db, "ines", "editor", PASSWORD)
    accounts.add_user(site.db, "chief", "admin", PASSWORD)
    site.wait_until_up()
    return site


def log_in(page, site, name: str) -> None:
    """Log in through the form, landing on the queue."""
    page.goto(site.url + "/desk/")
    expect(page.locator("h1")).to_have_text("Log in to the desk")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Review queue")


def test_an_editor_reviews_publishes_withdraws_and_restores_and_the_admin_sees_it_all(new_context, desk_site):
    site = desk_site
    page = new_context(site.url).new_page()
    log_in(page, site, "ines")

    # filter the queue to the source, keyboard only
    page.get_by_label("Source").select_option(label="Bay Courier")
    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Filter").press("Enter")
    rows = page.locator("tr.desk-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Ferry timetable changes")
    expect(rows.nth(1)).to_contain_text("CC-BY-4.0")

    page.get_by_role("link", name="Harbour dredging begins").click()
    expect(page.locator("h1")).to_have_text("Harbour dredging begins")
    expect(page.locator(".desk-findings")).to_contain_text(CC_BY)
    expect(page.locator(".desk-findings")).to_contain_text("feed")
    expect(page.locator("footer.attribution a[rel=license]")).to_have_attribute("href", CC_BY)
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.locator(".desk-message-done")).to_contain_text("Approved")
    item_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    reader = new_context(site.url).new_page()
    reader.goto(site.url + "/")
    expect(reader.get_by_role("link", name="Harbour dredging begins")).to_be_visible()
    assert b"Harbour dredging begins" in site.get("/feed.xml")

    page.get_by_role("link", name="Withdraw…").click()
    expect(page.locator("h1")).to_have_text("Withdraw this article?")
    page.get_by_label("Reason (shown on the page)").fill("Takedown request from the publisher")
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator(".desk-message-done")).to_contain_text("Withdrawn")
    response = reader.goto(f"{site.url}/articles/{item_id}")
    assert response.status == 410
    assert b"Harbour dredging begins" not in site.get("/feed.xml")

    page.get_by_label("Reason for restoring").fill("The publisher withdrew the request")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator(".desk-message-done")).to_contain_text("Restored")
    assert reader.goto(f"{site.url}/articles/{item_id}").status == 200

    # editors do not see the audit log; the admin does, with the editor's name
    assert page.goto(site.url + "/desk/audit").status == 403
    admin = new_context(site.url).new_page()
    log_in(admin, site, "chief")
    admin.get_by_role("link", name="Audit log").click()
    entries = admin.locator("tr.desk-audit-row")
    actions = [(entries.nth(n).locator(".desk-audit-actor").inner_text(),
                entries.nth(n).locator(".desk-audit-action").inner_text()) for n in range(entries.count())]
    assert actions[:3] == [("ines", "restore"), ("ines", "withdraw"), ("ines", "approve")], actions
    expect(entries.first).to_contain_text("The publisher withdrew the request")


def test_an_item_changed_upstream_shows_the_diff_and_accepting_it_is_logged(new_context, desk_site):
    site = desk_site
    [ferry] = [item for item in storage.list_items(site.db, source_id=site.source_id)
               if item["title"] == "Ferry timetable changes"]
    page = new_context(site.url).new_page()
    log_in(page, site, "ines")
    page.goto(f"{site.url}/desk/items/{ferry['id']}")
    page.get_by_role("button", name="Approve and publish").click()
    expect(page.locator(".desk-message-done")).to_contain_text("Approved")

    site.feeds.server.clear()
    site.feeds.serve("/bay.xml", bay_feed("Work starts on the east quay.").replace(
        b"Winter sailings start soon.", b"Winter sailings start on 1 December."), "application/rss+xml")
    assert refresh(site.app, site.db, site.source_id).outcome == "ok"

    page.goto(site.url + "/desk/")
    page.get_by_label("Changed upstream").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr.desk-row")).to_have_count(1)
    page.get_by_role("link", name="Ferry timetable changes").click()
    diff = page.locator(".desk-diff")
    expect(diff.locator(".desk-diff-del")).to_contain_text("start soon")
    expect(diff.locator(".desk-diff-add")).to_contain_text("1 December")
    page.get_by_role("button", name="Accept upstream change").click()
    expect(page.locator(".desk-message-done")).to_contain_text("Change accepted")
    assert b"1 December" in site.get(f"/articles/{ferry['id']}")

    admin = new_context(site.url).new_page()
    log_in(admin, site, "chief")
    admin.goto(site.url + "/desk/audit")
    first = admin.locator("tr.desk-audit-row").first
    expect(first.locator(".desk-audit-action")).to_have_text("accept-change")
    expect(first.locator(".desk-audit-actor")).to_have_text("ines")
