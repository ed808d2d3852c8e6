"""Real feeds' small faults are forgiven with a warning; entries are never merged, nor stored twice."""

import json

import pytest
from werkzeug import Response

from helpers import refresh
from republisher import storage

RSS = """<?xml version="1.0" encoding="{charset}"?>
<rss version="2.0"><channel><title>Harbour Notes</title><link>https://harbour.example/</link>
<description>Notes from the harbour</description><lastBuildDate>{built}</lastBuildDate>
<item><title>Ferry{title_tail}</title><link>https://harbour.example/ferry</link>
<guid>harbour-1</guid><description>{body}</description></item>
<item><title>Tides</title><link>https://harbour.example/tides</link><guid>harbour-2</guid>
<description>Low tide at noon.</description></item>
</channel></rss>"""


def rss(charset="utf-8", built="Mon, 30 Nov 2026 10:00:00 GMT", title_tail="", body="The ferry runs again."):
    """A two-item RSS document with the fields a test breaks."""
    return RSS.format(charset=charset, built=built, title_tail=title_tail, body=body)


FAULTS = {
    "whitespace before the declaration": (b"\n\n  " + rss().encode(), "whitespace before the XML declaration"),
    "a byte order mark and whitespace": (b"\xef\xbb\xbf\r\n" + rss().encode(), "whitespace before the XML declaration"),
    "an HTML entity in XML": (rss(title_tail="&nbsp;resumes").encode(), "line 4, column"),
    "a bad character reference": (rss(title_tail=" &#0; resumes").encode(), "line 4, column"),
    "a wrong declared charset": (rss(charset="utf-8", title_tail=" à Brest").encode("latin-1"),
                                 "wrong declared character encoding"),
}


@pytest.mark.parametrize("name", FAULTS)
def test_a_small_fault_leaves_the_source_healthy_with_a_warning_and_the_same_body_is_not_parsed_again(
        app, db, httpserver, name):
    body, expected = FAULTS[name]
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]

    first = refresh(app, db, source_id)
    assert first.outcome == "ok" and first.error is None and first.new + first.blocked == 2, first
    assert expected in first.warning and "\n" not in first.warning
    source = storage.get_source(db, source_id)
    assert source["last_error"] is None and source["error_count"] == 0
    assert expected in source["last_warning"]
    # the normal schedule: due again after the source's interval, not backed off for a day
    interval = app.config["FETCH_INTERVAL"]
    assert storage.utcnow() < source["next_fetch_at"] <= storage.later(interval + 5)

    second = refresh(app, db, source_id)
    assert second.outcome == "unchanged" and second.new == second.updated == 0
    assert [row["outcome"] for row in storage.fetch_log(db, source_id)] == ["unchanged", "ok"]
    assert expected in storage.get_source(db, source_id)["last_warning"]  # still shown until a new body


def test_a_warning_shows_in_the_sources_list_and_goes_when_the_feed_is_fixed(app, db, httpserver, runner):
    bodies = iter([rss(title_tail="&nbsp;resumes").encode(), rss(title_tail=" resumes").encode()])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    listed = runner.invoke(args=["sources", "list"])
    assert "ok, with a warning: line 4, column" in listed.output and "undefined entity" in listed.output
    refresh(app, db, source_id)
    assert "warning" not in runner.invoke(args=["sources", "list"]).output
    assert storage.get_source(db, source_id)["last_warning"] is None


def test_a_feed_with_nothing_readable_is_still_an_error(app, db, httpserver):
    httpserver.expect_request("/feed").respond_with_data(b"<?xml version='1.0'?><rss version='2.0'><chan",
                                                        content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "error" and "line 1, column" in report.error and "<unknown>" not in report.error
    assert storage.get_source(db, source_id)["error_count"] == 1


EPISODES = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Harbour Podcast</title><link>https://harbour.example/podcast</link>
<description>Weekly</description><lastBuildDate>{built}</lastBuildDate>
<item><title>Episode 2</title><link>https://harbour.example/podcast</link><pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>
<description>Second episode.</description>{enclosure2}</item>
<item><title>Episode 1</title><link>https://harbour.example/podcast</link><pubDate>Mon, 16 Nov 2026 08:00:00 GMT</pubDate>
<description>First episode.</description>{enclosure1}</item>
<item><title>Live blog</title><link>https://harbour.example/live</link><pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate>
<description>Morning</description></item>
<item><title>Live blog</title><link>https://harbour.example/live</link><pubDate>Mon, 23 Nov 2026 13:00:00 GMT</pubDate>
<description>Afternoon</description></item>
</channel></rss>"""


def episodes(built: str, enclosures: bool) -> bytes:
    """Four entries without GUIDs: two episodes on one page, two posts of one live page."""
    def enclosure(number):
        """An MP3 enclosure, when the test wants them."""
        return f'<enclosure url="https://cdn.harbour.example/ep{number}.mp3" length="1000" type="audio/mpeg"/>' \
            if enclosures else ""
    return EPISODES.format(built=built, enclosure1=enclosure(1), enclosure2=enclosure(2)).encode()


@pytest.mark.parametrize("enclosures", [True, False], ids=["by enclosure", "by link, title and date"])
def test_entries_sharing_a_link_stay_distinct_items_and_unchanged_fetches_add_no_revision(
        app, db, httpserver, enclosures):
    # the channel's build date changes every fetch, so the body differs and every entry is read again
    bodies = iter([episodes(f"Mon, 23 Nov 2026 1{hour}:00:00 GMT", enclosures) for hour in range(3)])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]

    first = refresh(app, db, source_id)
    assert first.new + first.blocked == 4, first
    items = storage.list_items(db, source_id=source_id)
    assert sorted(item["title"] for item in items) == ["Episode 1", "Episode 2", "Live blog", "Live blog"]
    for _ in range(2):
        again = refresh(app, db, source_id)
        assert (again.outcome, again.new, again.updated, again.unchanged) == ("ok", 0, 0, 4), again
    assert [len(storage.item_revisions(db, item["id"])) for item in items] == [1, 1, 1, 1]


def test_an_identity_repeated_in_one_document_is_stored_once_and_does_not_flap(app, db, httpserver):
    repeated = rss().replace("<guid>harbour-2</guid>", "<guid>harbour-1</guid>")
    bodies = iter([repeated.replace("10:00", f"1{hour}:00").encode() for hour in range(3)])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    first = refresh(app, db, source_id)
    assert first.new + first.blocked == 1 and "1 entry left out" in first.warning
    for _ in range(2):
        assert refresh(app, db, source_id).updated == 0
    [item] = storage.list_items(db, source_id=source_id)
    assert item["title"] == "Ferry" and len(storage.item_revisions(db, item["id"])) == 1


def test_items_stored_under_the_former_identity_and_fingerprint_are_taken_over_without_a_revision(
        app, db, httpserver):
    bodies = iter([episodes(f"Mon, 23 Nov 2026 1{hour}:00:00 GMT", True) for hour in range(2)])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    episode = next(item for item in storage.list_items(db, source_id=source_id) if item["title"] == "Episode 2")
    # as an earlier version stored it: by its link alone, with a digest of feedparser's own structures
    storage.rename_item_identity(db, episode["id"], "link:https://harbour.example/podcast")
    storage.update_item_fields(db, episode["id"], {"entry_hash": "0" * 64})

    again = refresh(app, db, source_id)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 4), again
    item = storage.get_item(db, episode["id"])
    assert item["identity"] == "enclosure:https://cdn.harbour.example/ep2.mp3"
    assert len(storage.item_revisions(db, episode["id"])) == 1
    assert json.loads(storage.item_revisions(db, episode["id"])[0]["raw"])["title"] == "Episode 2"


def test_reprocess_after_the_upgrade_mends_articles_stored_with_garbled_apostrophes(app, db, httpserver, runner):
    body = rss(body="Iran&amp;#x27;s ferry &amp;#8217;s timetable").encode()
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"), license="CC-BY-4.0",
                                   evidence="https://harbour.example/about: all content is CC BY 4.0")["id"]
    refresh(app, db, source_id)
    item = next(item for item in storage.list_items(db, source_id=source_id) if item["title"] == "Ferry")
    assert runner.invoke(args=["items", "approve", str(item["id"])]).exit_code == 0
    item = storage.get_item(db, item["id"])
    # as an earlier version stored it: every numeric reference turned into U+FFFD
    storage.update_revision(db, item["approved_revision_id"], {"content_html": "<p>Iran\ufffds ferry \ufffds timetable</p>"})
    page = app.test_client().get(f"/articles/{item['id']}/ferry", follow_redirects=True)
    assert "Iran\ufffds" in page.get_data(as_text=True)

    assert runner.invoke(args=["reprocess"]).exit_code == 0
    page = app.test_client().get(f"/articles/{item['id']}/ferry", follow_redirects=True).get_data(as_text=True)
    assert "\ufffd" not in page and "Iran&#x27;s ferry &#8217;s timetable" in page
