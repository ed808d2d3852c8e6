"""The publisher's own pages as license evidence, and watching them: real HTTP servers, a real database."""

import hashlib
import json
import re
import socket
import time
from datetime import datetime, timezone

import pytest
from werkzeug import Response

from helpers import pipeline_config, refresh
from republisher import create_app, fetcher, pagecheck, storage, watch, workflow

BY = ("All Content by Northwind News Agency is licensed under a Creative Commons Attribution 4.0 "
      "International License.")
BY_NC = ("All Content by Northwind News Agency is licensed under a Creative Commons "
         "Attribution-NonCommercial 4.0 International License.")
NO_STATEMENT = "Northwind News Agency, 12 Harbour Road, Port Arden."
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Northwind News Agency</title>
<link rel="stylesheet" href="/site.css">{head}</head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
<main><article><h1>{title}</h1><p>{text}</p>{extra}</article></main>
<footer><p>{footer}</p><p><a href="/about">About us</a> | <a href="/contact">Contact</a></p></footer>
</body></html>"""
ITEM = """<item><title>Story {slug}</title><link>{base}/news/{slug}</link><guid>{base}/news/{slug}</guid>
<pubDate>{date}</pubDate><description>&lt;p&gt;{text}&lt;/p&gt;</description></item>"""
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Northwind News Agency</title><link>{base}/</link>
<description>News from the northern coast</description>{rights}{items}</channel></rss>"""
DATES = {"one": "Mon, 03 Nov 2025 09:00:00 +0000", "two": "Tue, 04 Nov 2025 09:00:00 +0000",
         "three": "Wed, 05 Nov 2025 09:00:00 +0000"}


class Site:
    """A publisher's site and feed on the test server; the test changes its footer, items and texts."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.base = httpserver.url_for("/").rstrip("/")
        self.footer = BY
        self.head = ""
        self.extra = ""
        self.items = ["one", "two"]
        self.texts = {slug: f"Text of story {slug}." for slug in DATES}
        self.robots = None  # None: robots.txt answers 404
        self.copyright = None  # the feed's own rights element
        self.served: dict[str, bytes] = {}
        httpserver.expect_request("/feed").respond_with_handler(self.feed)
        httpserver.expect_request("/robots.txt").respond_with_handler(self.robots_txt)
        httpserver.expect_request("/").respond_with_handler(lambda request: self.page("/", "Front page"))
        httpserver.expect_request(re.compile(r"^/news/\w+$")).respond_with_handler(
            lambda request: self.page(request.path, f"Story {request.path.rsplit('/', 1)[-1]}"))

    @property
    def feed_url(self) -> str:
        """The feed's URL."""
        return f"{self.base}/feed"

    def feed(self, request) -> Response:
        """The RSS feed: no license anywhere in it."""
        items = "".join(ITEM.format(slug=slug, base=self.base, date=DATES[slug], text=self.texts[slug])
                        for slug in self.items)
        rights = f"<copyright>{self.copyright}</copyright>" if self.copyright else ""
        return Response(FEED.format(base=self.base, rights=rights, items=items), content_type="application/rss+xml")

    def robots_txt(self, request) -> Response:
        """robots.txt as the test set it, else 404."""
        if self.robots is None:
            return Response("not found", status=404)
        return Response(self.robots, content_type="text/plain")

    def page(self, path: str, title: str) -> Response:
        """An HTML page with the current footer; the bytes sent are kept by path."""
        slug = path.rsplit("/", 1)[-1]
        body = PAGE.format(title=title, head=self.head, text=self.texts.get(slug, "Latest news."), extra=self.extra,
                           footer=self.footer).encode()
        self.served[path] = body
        return Response(body, content_type="text/html; charset=utf-8")

    def requested(self) -> list[str]:
        """The paths requested so far, in order."""
        return [request.path for request, _ in self.server.log]


@pytest.fixture
def site(httpserver):
    """Northwind News Agency: a feed that says nothing about its license, pages whose footer does."""
    return Site(httpserver)


def add_and_fetch(app, db, site) -> int:
    """Add the site's feed as a source and fetch it once; returns the source id."""
    source_id = storage.add_source(db, site.feed_url)["id"]
    report = refresh(app, db, source_id)
    assert report.new + report.blocked == len(site.items), report
    return source_id


def invoke(runner, *args):
    """Run a command; returns the result after checking that it did not crash."""
    result = runner.invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def items_by_slug(db, source_id) -> dict:
    """The source's items keyed by the last part of their URL."""
    return {item["url"].rsplit("/", 1)[-1]: item for item in storage.list_items(db, source_id=source_id)}


def due_now(db, source_id) -> None:
    """Make the source's pages due for their daily check."""
    storage.update_source(db, source_id, pages_due_at="2000-01-01T00:00:00+00:00")


def article_status(client, item_id) -> int:
    """The status of a published item's page on the mirror (following the slug redirect)."""
    response = client.get(f"/articles/{item_id}")
    if response.status_code == 301:
        response = client.get(response.headers["Location"])
    return response.status_code


# ---------------------------------------------------------------- verify-license proposes, never applies


def test_verify_license_records_the_footer_with_the_page_hash_and_proposes_without_applying(app, db, runner, site):
    source_id = add_and_fetch(app, db, site)
    assert {item["status"] for item in storage.list_items(db, source_id=source_id)} == {"blocked"}

    result = invoke(runner, "sources", "verify-license", str(source_id))
    assert result.exit_code == 0, result.output
    home_hash = hashlib.sha256(site.served["/"]).hexdigest()
    article_hash = hashlib.sha256(site.served["/news/two"]).hexdigest()
    assert f"proposed license: CC-BY-4.0, from {site.base}/ (SHA-256 {home_hash}" in result.output
    assert f'"{BY}"' in result.output
    assert f"accept it with: republisher sources accept-license {source_id}" in result.output

    source = storage.get_source(db, source_id)
    assert source["license"] is None  # proposed, never applied
    assert (source["proposed_license"], source["proposal_url"], source["proposal_text"]) == ("CC-BY-4.0", f"{site.base}/", BY)
    assert source["proposal_sha256"] == home_hash
    assert source["proposal_at"] and source["pages_checked_at"] and source["pages_due_at"] > storage.utcnow()
    checks = {check["kind"]: check for check in storage.page_checks(db, source_id)}
    assert checks["home"]["sha256"] == home_hash and checks["article"]["sha256"] == article_hash
    assert checks["article"]["page_url"] == f"{site.base}/news/two"  # the newest item
    assert (checks["home"]["license"], checks["home"]["location"], checks["home"]["text"]) == ("CC-BY-4.0", "closing sentence", BY)
    assert {item["status"] for item in storage.list_items(db, source_id=source_id)} == {"blocked"}


def test_verify_license_as_json_lists_every_page_and_finding(app, db, runner, site):
    source_id = add_and_fetch(app, db, site)
    report = json.loads(invoke(runner, "sources", "verify-license", str(source_id), "--json").output)
    assert report["proposed_license"] == "CC-BY-4.0"
    assert report["accept_command"] == f"republisher sources accept-license {source_id}"
    assert [page["kind"] for page in report["pages"]] == ["home", "article"]
    for page in report["pages"]:
        assert page["outcome"] == "ok" and page["status"] == 200
        path = "/" if page["kind"] == "home" else "/news/two"
        assert page["sha256"] == hashlib.sha256(site.served[path]).hexdigest()
        assert page["final_url"] == site.base + path
        assert page["findings"] == [{"license": "CC-BY-4.0", "kind": "license", "found_in": "html statement",
                                     "location": "closing sentence", "text": BY, "exact": True}]
    assert report["hold"] is None


def test_a_source_without_site_url_is_found_through_its_feed(app, db, runner, site):
    source_id = storage.add_source(db, site.feed_url)["id"]  # never fetched: no site URL, no items
    result = invoke(runner, "sources", "verify-license", str(source_id), "--json")
    report = json.loads(result.output)
    assert [(page["kind"], page["url"]) for page in report["pages"]] == [
        ("home", f"{site.base}/"), ("article", f"{site.base}/news/two")]
    assert report["proposed_license"] == "CC-BY-4.0"
    assert storage.get_source(db, source_id)["site_url"] == f"{site.base}/"
    assert not storage.list_items(db, source_id=source_id)  # the feed was read, not ingested


# ---------------------------------------------------------------- accepting, publishing, and the watch


@pytest.mark.parametrize("new_footer, after", [(BY_NC, "CC-BY-NC-4.0"), (NO_STATEMENT, "no statement found")])
def test_a_changed_footer_holds_new_items_while_published_ones_stay(app, db, runner, site, new_footer, after):
    source_id = add_and_fetch(app, db, site)
    assert invoke(runner, "sources", "verify-license", str(source_id)).exit_code == 0

    accepted = invoke(runner, "sources", "accept-license", str(source_id))
    assert accepted.exit_code == 0, accepted.output
    assert "license CC-BY-4.0 accepted from" in accepted.output and "pending: 2" in accepted.output
    source = storage.get_source(db, source_id)
    home_hash = hashlib.sha256(site.served["/"]).hexdigest()
    assert source["license"] == "CC-BY-4.0"
    assert f"{site.base}/" in source["license_evidence"] and BY in source["license_evidence"]
    assert home_hash in source["license_evidence"]
    items = items_by_slug(db, source_id)
    for item in items.values():
        evidence = item["license_evidence"]
        assert (item["status"], item["license"]) == ("pending", "CC-BY-4.0")
        assert (evidence["level"], evidence["url"]) == ("editor_source", f"{site.base}/")
        assert BY in evidence["matched"] and home_hash in evidence["matched"]

    workflow.approve(db, items["one"]["id"])  # "two" stays pending
    client = app.test_client()
    assert article_status(client, items["one"]["id"]) == 200

    site.footer = new_footer
    due_now(db, source_id)
    worker = invoke(runner, "worker", "--once")
    assert worker.exit_code == 0 and "held for an editor" in worker.output
    hold = storage.license_state(storage.get_source(db, source_id))["hold"]
    assert hold and hold["since"]
    for words in ("before: CC-BY-4.0", BY, f"{site.base}/", f"after: {after}"):
        assert words in hold["reason"], words

    site.items.append("three")
    site.texts["one"] = "Text of story one, corrected."
    report = refresh(app, db, source_id)
    assert (report.blocked, report.updated) == (2, 0), report
    items = items_by_slug(db, source_id)
    assert (items["three"]["status"], items["three"]["status_reason"]) == ("blocked", hold["reason"])
    assert items["one"]["status"] == "published" and hold["reason"] in items["one"]["review_flag"]
    assert items["two"]["status"] == "pending" and items["two"]["license"] == "CC-BY-4.0"
    assert article_status(client, items["one"]["id"]) == 200

    # deciding again while the hold stands keeps holding what came after it, and only that
    assert invoke(runner, "reprocess", "--source", str(source_id)).exit_code == 0
    items = items_by_slug(db, source_id)
    assert [items[slug]["status"] for slug in ("one", "two", "three")] == ["published", "pending", "blocked"]
    assert items["three"]["status_reason"] == hold["reason"]

    if after == "CC-BY-NC-4.0":
        released = invoke(runner, "sources", "accept-license", str(source_id))
        assert released.exit_code == 0, released.output
        held_status = ("blocked", "CC-BY-NC-4.0 is not allowed by policy: non-commercial")
    else:
        refused = invoke(runner, "sources", "accept-license", str(source_id))
        assert refused.exit_code == 1 and "no license proposal to accept (no license statement found)" in refused.output
        released = invoke(runner, "sources", "set-license", str(source_id), "CC-BY-4.0", "--evidence",
                          "letter from Northwind's editor, 2025-11-06: all content stays CC BY 4.0")
        assert released.exit_code == 0, released.output
        held_status = ("pending", None)
    assert "license hold released" in released.output
    source = storage.get_source(db, source_id)
    assert source["license_hold"] is None and source["license_hold_since"] is None
    items = items_by_slug(db, source_id)
    assert (items["three"]["status"], items["three"]["status_reason"]) == held_status
    assert (items["two"]["status"], items["two"]["license"]) == ("pending", "CC-BY-4.0")
    assert items["one"]["status"] == "published" and article_status(client, items["one"]["id"]) == 200
    assert hold["reason"] not in (items["one"]["review_flag"] or "")
    # the next check compares with what the editor decided on: no new hold
    due_now(db, source_id)
    assert "held for an editor" not in invoke(runner, "worker", "--once").output
    assert storage.get_source(db, source_id)["license_hold"] is None


def test_the_same_footer_the_next_day_changes_nothing(app, db, runner, site):
    source_id = add_and_fetch(app, db, site)
    invoke(runner, "sources", "verify-license", str(source_id))
    invoke(runner, "sources", "accept-license", str(source_id))
    site.items.append("three")  # the daily check reads the article the last check read, not a newer one
    refresh(app, db, source_id)
    due_now(db, source_id)
    result = invoke(runner, "worker", "--once")
    assert "Northwind News Agency: license pages state CC-BY-4.0" in result.output
    assert storage.get_source(db, source_id)["license_hold"] is None
    assert storage.page_checks(db, source_id)[0]["page_url"] == f"{site.base}/news/two"
    assert items_by_slug(db, source_id)["three"]["status"] == "pending"
    assert storage.get_source(db, source_id)["pages_due_at"] > storage.utcnow()


def test_a_feed_license_that_disappears_holds_new_items(app, db, site):
    site.copyright = "CC BY 4.0"
    source_id = add_and_fetch(app, db, site)
    assert {item["status"] for item in storage.list_items(db, source_id=source_id)} == {"pending"}
    site.copyright = None
    site.items.append("three")
    refresh(app, db, source_id)
    items = items_by_slug(db, source_id)
    assert [items[slug]["status"] for slug in ("one", "two")] == ["pending", "pending"]
    assert items["three"]["status"] == "blocked"  # with no license left, it would be blocked anyway
    reason = storage.license_state(storage.get_source(db, source_id))["hold"]["reason"]
    assert reason.startswith("held for an editor: the feed changed its license statement")
    assert 'before: CC-BY-4.0, "CC BY 4.0"' in reason and "after: no statement found" in reason
    assert site.feed_url in reason


# ---------------------------------------------------------------- adding a source


def test_sources_add_verifies_and_prints_the_id_alone_on_stdout(runner, site):
    result = invoke(runner, "sources", "add", site.feed_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1"
    assert result.stderr.strip() == (f"license check: the publisher's pages state CC-BY-4.0 ({site.base}/); "
                                     "accept it with `republisher sources accept-license 1`")
    assert "/" in site.requested() and "/robots.txt" in site.requested()


def test_sources_add_without_verification_reads_no_page(runner, site):
    result = invoke(runner, "sources", "add", site.feed_url, "--no-verify-license")
    assert result.exit_code == 0 and result.output.strip() == "1"
    assert site.requested() == []


def test_sources_add_with_an_unreachable_url_is_added_and_says_so_in_one_line(app, db, runner):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    started = time.monotonic()
    result = invoke(runner, "sources", "add", f"http://127.0.0.1:{port}/feed")
    assert time.monotonic() - started < app.config["FETCH_DEADLINE"]
    assert result.exit_code == 0 and result.stdout.strip() == "1"
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("license check failed: no page could be read") and "refused" in result.stderr
    assert storage.get_source(db, 1)["url"] == f"http://127.0.0.1:{port}/feed"


def test_sources_list_shows_the_proposal_and_the_hold(app, db, runner, site):
    source_id = add_and_fetch(app, db, site)
    invoke(runner, "sources", "verify-license", str(source_id))
    listed = invoke(runner, "sources", "list").output
    assert f"license proposal: CC-BY-4.0 from {site.base}/" in listed and "HOLD" not in listed
    invoke(runner, "sources", "accept-license", str(source_id))
    site.footer = NO_STATEMENT
    invoke(runner, "sources", "verify-license", str(source_id))
    listed = invoke(runner, "sources", "list").output
    assert "license proposal: none (no license statement found)" in listed and "HOLD since" in listed
    [summary] = json.loads(invoke(runner, "sources", "list", "--json").output)
    assert summary["license_proposal"]["state"] == "none"
    assert summary["license_hold"]["reason"].startswith("held for an editor: the publisher's site changed its license statement")
    assert summary["pages_checked_at"] and summary["pages_due_at"]


# ---------------------------------------------------------------- what a page says


def verify(app, db, site) -> dict:
    """Check the site's pages for a fetched source; returns the report."""
    source_id = add_and_fetch(app, db, site)
    return watch.verify_source(db, storage.get_source(db, source_id), pipeline_config(app))


def test_json_ld_license_is_head_metadata(app, db, site):
    site.footer = NO_STATEMENT
    site.head = ('<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
                 '{"@type": "NewsArticle", "license": {"@id": "https://creativecommons.org/licenses/by/4.0/"}},'
                 '{"@type": "ImageObject", "license": "https://creativecommons.org/licenses/by-nc-nd/4.0/"}]}</script>')
    report = verify(app, db, site)
    assert report["proposed_license"] == "CC-BY-4.0"
    assert report["pages"][0]["findings"] == [{"license": "CC-BY-4.0", "kind": "license", "found_in": "json-ld license",
                                               "location": "head metadata",
                                               "text": "https://creativecommons.org/licenses/by/4.0/", "exact": True}]


def test_rel_license_in_the_head(app, db, site):
    site.footer = NO_STATEMENT
    site.head = '<link rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/">'
    report = verify(app, db, site)
    assert report["proposed_license"] == "CC-BY-SA-4.0"
    [found] = report["pages"][0]["findings"]
    assert (found["found_in"], found["location"]) == ("html link rel=license", "head metadata")


def test_a_photo_caption_alone_proposes_nothing(app, db, site):
    site.footer = NO_STATEMENT
    site.extra = ('<figure><img src="/harbour.jpg" alt="The harbour"><figcaption>Photo: Ana Ruiz, licensed under '
                  'a Creative Commons Attribution 4.0 International License.</figcaption></figure>')
    report = verify(app, db, site)
    assert report["proposed_license"] is None
    assert report["observation"]["state"] == "none"
    assert all(page["findings"] == [] for page in report["pages"])


def test_two_disagreeing_statements_propose_nothing(app, db, site):
    site.head = '<meta name="dcterms.license" content="https://creativecommons.org/licenses/by-nc/4.0/">'
    report = verify(app, db, site)
    assert report["proposed_license"] is None and report["pages"][0]["disagree"] is True
    note = report["observation"]["note"]
    assert note.startswith("the statements disagree: CC-BY-NC-4.0") and "but CC-BY-4.0" in note
    assert storage.get_source(db, report["source_id"])["proposed_license"] is None


def test_a_license_the_registry_does_not_know_proposes_nothing(app, db, site):
    site.head = '<link rel="license" href="/terms-of-reuse">'
    report = verify(app, db, site)
    assert report["proposed_license"] is None and report["observation"]["state"] == "unclear"
    assert "names a license the registry does not know" in report["observation"]["note"]


def test_malformed_json_ld_does_not_crash(app, db, site):
    site.head = ('<script type="application/ld+json">{"license": "https://creativecommons.org/licenses/by/4.0/"'
                 '</script><script type="application/ld+json">' + "[" * 50000 + '</script>'
                 '<script type="application/ld+json">{"license": 42, "@graph": "x", "@type": [null]}</script>'
                 '<script type="application/ld+json">[{"license": {"url": ["nested"], "name": 7}}]</script>')
    report = verify(app, db, site)
    assert report["proposed_license"] == "CC-BY-4.0"  # the footer still speaks
    assert [found["found_in"] for found in report["pages"][0]["findings"]] == ["html statement"]


# ---------------------------------------------------------------- being a polite and safe client


def test_robots_txt_that_disallows_us_is_obeyed(app, db, site):
    site.robots = "User-agent: *\nAllow: /\n\nUser-agent: republisher\nDisallow: /\n"
    report = verify(app, db, site)
    assert [page["outcome"] for page in report["pages"]] == ["disallowed", "disallowed"]
    assert "robots.txt" in report["pages"][0]["error"] and "republisher" in report["pages"][0]["error"]
    assert [path for path in site.requested() if path != "/feed"] == ["/robots.txt"]
    assert report["observation"]["state"] == "failed"


def test_robots_txt_for_other_agents_allows_us(app, db, site):
    site.robots = "User-agent: otherbot\nDisallow: /\n"
    assert verify(app, db, site)["proposed_license"] == "CC-BY-4.0"


def test_a_crawl_delay_spaces_the_requests_to_one_host(site):
    site.robots = "User-agent: *\nCrawl-delay: 3\n"
    waits = []
    reader = pagecheck.PageFetcher(limits=fetcher.FetchLimits(deadline=5), guard=fetcher.AddressGuard(allow_private=True),
                                   user_agent="republisher/0.1", sleep=waits.append)
    assert reader.read("home", f"{site.base}/")["license"] == "CC-BY-4.0"
    assert reader.read("article", f"{site.base}/news/one")["license"] == "CC-BY-4.0"
    assert site.requested() == ["/robots.txt", "/", "/news/one"]  # robots.txt is read once per run
    assert len(waits) == 2 and all(2 < wait <= 3 for wait in waits)


def test_429_with_retry_after_postpones_the_next_check(app, db, site):
    site.server.clear()
    site.server.expect_request("/feed").respond_with_handler(site.feed)
    site.server.expect_request("/robots.txt").respond_with_handler(site.robots_txt)
    site.server.expect_request("/").respond_with_data("slow down", status=429, headers={"Retry-After": "7200"})
    report = verify(app, db, site)
    assert [page["outcome"] for page in report["pages"]] == ["postponed", "postponed"]
    assert report["pages"][0]["retry_after"] == 7200
    assert "/news/two" not in site.requested()  # the host asked us to wait: its other page is not asked
    due = datetime.fromisoformat(storage.get_source(db, report["source_id"])["pages_due_at"])
    assert 7100 < (due - datetime.now(timezone.utc)).total_seconds() <= 7200
    assert watch.check_due(db, pipeline_config(app)) == []


def test_the_address_guard_refuses_a_private_page(tmp_path, site):
    app = create_app({"DATABASE": str(tmp_path / "guarded.sqlite"), "ALLOW_PRIVATE_ADDRESSES": False,
                      "FETCH_DEADLINE": 5})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    source = storage.add_source(db, "https://northwind.example/feed")
    source = storage.update_source(db, source["id"], site_url=f"{site.base}/")
    report = watch.verify_source(db, source, pipeline_config(app))
    [home] = report["pages"][:1]
    assert home["outcome"] == "error" and home["error"].startswith("refused: ") and "loopback" in home["error"]
    assert site.requested() == []
    db.conn.close()


def test_every_new_command_has_help(runner):
    for args in (["sources", "verify-license"], ["sources", "accept-license"], ["sources", "add"]):
        result = invoke(runner, *args, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "--no-verify-license" in invoke(runner, "sources", "add", "--help").output
    assert "--json" in invoke(runner, "sources", "verify-license", "--help").output


def test_accept_license_without_a_proposal_is_one_clear_line(app, db, runner, site):
    source_id = storage.add_source(db, site.feed_url)["id"]
    result = invoke(runner, "sources", "accept-license", str(source_id))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == (f"Error: source {source_id} has no license proposal to accept; "
                                     f"`republisher sources verify-license {source_id}` reads its pages")


# ---------------------------------------------------------------- the reader, on its own


def test_a_long_page_is_read_up_to_its_cap_and_its_footer_still_counts():
    filler = '<div class="cc-banner"><p>Cookie settings and other words.</p></div>\n' * 60000
    body = PAGE.format(title="T", head="", text="x", extra=filler, footer=BY).encode()
    assert len(body) > pagecheck.MAX_PAGE_BYTES
    started = time.monotonic()
    page = pagecheck.read_page(body, "https://northwind.example/")
    assert time.monotonic() - started < 5
    assert page["truncated"] and page["license"] == "CC-BY-4.0"
    assert page["sha256"] == hashlib.sha256(body).hexdigest()


def test_scripts_comments_and_templates_are_not_read_as_statements():
    noise = ("<script>var notice = 'This work is licensed under CC BY-NC 4.0';</script>"
             "<!-- This work is licensed under CC BY-ND 4.0 --><template><p>This work is CC BY-SA 4.0.</p></template>"
             "<noscript><p>This work is licensed under CC BY-NC-SA 4.0.</p></noscript>"
             "<svg><metadata>Licensed under CC BY-NC 4.0</metadata></svg>")
    body = PAGE.format(title="T", head="", text="x", extra=noise, footer=BY).encode()
    page = pagecheck.read_page(body, "https://northwind.example/")
    assert page["license"] == "CC-BY-4.0" and [found["text"] for found in page["findings"]] == [BY]


def test_meta_rights_that_reserve_all_rights_disagree_with_the_footer():
    head = '<meta name="DC.rights" content="© 2025 Northwind News Agency. All rights reserved.">'
    page = pagecheck.read_page(PAGE.format(title="T", head=head, text="x", extra="", footer=BY).encode(), "u")
    assert page["license"] is None and page["disagree"]
    assert {found["kind"] for found in page["findings"]} == {"reserved", "license"}


def test_an_unknown_charset_falls_back_to_utf8():
    head = '<meta charset="rot13">'
    body = PAGE.format(title="Ünïcode", head=head, text="x", extra="", footer=BY).encode()
    assert pagecheck.read_page(body, "u", "text/html; charset=no-such-charset")["license"] == "CC-BY-4.0"


def test_license_change_rules():
    before = {"state": "license", "license": "CC-BY-4.0", "text": BY, "url": "u", "at": "t"}
    same = dict(before, at="t2")
    assert not pagecheck.license_change(before, same, "CC-BY-4.0")
    assert pagecheck.license_change(before, dict(before, license="CC-BY-NC-4.0"), "CC-BY-4.0")
    assert pagecheck.license_change(before, {"state": "none", "license": None}, "CC-BY-4.0")
    assert not pagecheck.license_change(before, {"state": "none", "license": None}, "CC-BY-4.0", evidence_read=False)
    assert not pagecheck.license_change(before, {"state": "failed", "license": None}, "CC-BY-4.0")
    nothing = {"state": "none", "license": None, "url": "u", "at": "t"}
    assert not pagecheck.license_change(nothing, before, None)
    assert not pagecheck.license_change(nothing, before, "CC-BY-4.0")
    assert pagecheck.license_change(nothing, dict(before, license="CC-BY-NC-4.0"), "CC-BY-4.0")
