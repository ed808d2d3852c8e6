"""Real feeds' small faults are forgiven with a warning; entries are never merged, nor stored twice."""


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
    "an undeclared prefix": (rss(body="The ferry runs again.</description><media:credit>Jo</media:credit>"
                                      "<description>The ferry runs again.").encode(), "unbound prefix"),
    "junk after the feed": (rss().encode() + b"\n<p>served from cache</p>", "junk after document element"),
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
    assert storage.item_revisions(db, episode["id"])[0]["raw"]["title"] == "Episode 2"


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


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Notes</title><id>tag:harbour.example,2026:feed</id>
<updated>2026-11-30T10:00:00Z</updated><link rel="license" href="https://creativecommons.org/licenses/by/4.0/"/>
<entry><id>tag:harbour.example,2026:1</id><title>Ferry</title><updated>2026-11-30T10:00:00Z</updated>
<link href="https://harbour.example/ferry"/><author><name>Jo</name></author>
<content type="html">&lt;p&gt;The ferry runs again from Monday, every hour from seven.&lt;/p&gt;</content></entry>
</feed>"""


def test_an_entry_cut_off_inside_its_content_never_replaces_what_was_published(app, db, httpserver):
    body = ATOM.encode()
    cut = body.index(b"every hour")
    bodies = iter([body, body[:cut]])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"), auto_approve=True)["id"]
    assert refresh(app, db, source_id).new == 1
    [item] = storage.list_items(db, source_id=source_id)
    assert item["status"] == "published"

    cut_off = refresh(app, db, source_id)
    assert cut_off.outcome == "error" and "0 items kept" in cut_off.error and cut_off.updated == 0
    assert len(storage.item_revisions(db, item["id"])) == 1
    page = app.test_client().get(f"/articles/{item['id']}/ferry", follow_redirects=True).get_data(as_text=True)
    assert "every hour from seven" in page


def live(*posts: str) -> bytes:
    """A live page's posts, newest first, all with the same link and no GUID."""
    times = {"Morning": "09:00", "Afternoon": "13:00", "Evening": "18:00"}
    items = "".join(f"<item><title>{post}</title><link>https://harbour.example/live</link>"
                    f"<pubDate>Mon, 23 Nov 2026 {times[post]}:00 GMT</pubDate><description>{post} post.</description></item>"
                    for post in posts)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Live</title>'
            f"<link>https://harbour.example/</link><description>Live</description>{items}</channel></rss>").encode()


def test_posts_sharing_a_link_keep_their_own_items_however_the_feed_changes(app, db, httpserver, runner):
    bodies = iter([live("Morning"), live("Afternoon", "Morning"), live("Morning"), live("Evening", "Morning")])
    httpserver.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"), license="CC-BY-4.0",
                                   evidence="https://harbour.example/about: all content is CC BY 4.0")["id"]
    refresh(app, db, source_id)
    [morning] = storage.list_items(db, source_id=source_id)
    assert runner.invoke(args=["items", "approve", str(morning["id"])]).exit_code == 0
    assert runner.invoke(args=["items", "withdraw", str(morning["id"]), "--reason", "takedown request"]).exit_code == 0

    reports = [refresh(app, db, source_id) for _ in range(3)]
    assert [(report.new, report.updated) for report in reports] == [(1, 0), (0, 0), (1, 0)]
    items = {item["title"]: item for item in storage.list_items(db, source_id=source_id)}
    assert sorted(items) == ["Afternoon", "Evening", "Morning"]
    assert items["Morning"]["id"] == morning["id"] and items["Morning"]["status"] == "withdrawn"
    for item in items.values():
        [revision] = storage.item_revisions(db, item["id"])
        assert revision["raw"]["title"] == item["title"]


def test_a_guid_written_as_a_name_stays_one_item_when_the_feed_moves(app, db, httpserver):
    body = rss().replace("<guid>harbour-1</guid>", "<guid>1234</guid>").encode()
    httpserver.expect_request("/news/feed.xml").respond_with_data(body, content_type="application/rss+xml")
    httpserver.expect_request("/v2/feed.xml").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/news/feed.xml"))["id"]
    refresh(app, db, source_id)
    storage.update_source(db, source_id, url=httpserver.url_for("/v2/feed.xml"))
    assert refresh(app, db, source_id).new == 0
    items = storage.list_items(db, source_id=source_id)
    assert sorted(item["identity"] for item in items) == ["guid:1234", "guid:harbour-2"]


def test_references_too_long_to_be_a_character_are_one_replacement_character(app, db, httpserver):
    digits = "1" * 5000
    body = rss(title_tail=f" &amp;#{digits}; resumes", body=f"Runs &amp;amp;#{digits}; again &#{digits};").encode()
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.error is None and report.new + report.blocked == 2, report
    titles = sorted(item["title"] for item in storage.list_items(db, source_id=source_id))
    assert titles == ["Ferry \ufffd resumes", "Tides"]


def test_a_fault_that_can_swallow_an_entry_is_an_error_that_keeps_what_was_read(app, db, httpserver):
    body = rss().replace("</description></item>", "</descriptio></item>", 1).encode()
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "error" and "mismatched tag" in report.error and "line 5, column" in report.error
    assert storage.get_source(db, source_id)["body_hash"] is None  # read again next time, in case it is fixed


def test_entries_known_by_their_content_alone_are_kept_when_the_fault_is_small(app, db, httpserver):
    body = rss(title_tail="&nbsp;resumes").replace("<link>https://harbour.example/ferry</link>", "").replace(
        "<guid>harbour-1</guid>", "").encode()
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "ok" and report.new + report.blocked == 2 and "left out" not in report.warning
