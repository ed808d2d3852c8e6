"""A feed URL to stored items over real HTTP: formats, conditional GET, identity, revisions."""


from werkzeug import Response

from republisher import ingest, storage, workflow

from helpers import pipeline_config, refresh, sample_feed

ATOM_ONE = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Change Desk</title><id>tag:change.example,2026:feed</id><updated>2026-11-20T10:00:00Z</updated>
  <link rel="license" href="https://creativecommons.org/licenses/by/4.0/"/>
  <entry><title>{title}</title><id>tag:change.example,2026:one</id><updated>{updated}</updated>
    <link href="https://change.example/one"/><content type="html">{content}</content></entry>
  {extra}
</feed>"""


def make_atom(title="First title", content="&lt;p&gt;Body&lt;/p&gt;", updated="2026-11-20T10:00:00Z", extra=""):
    """A small Atom feed with one entry whose fields the test chooses."""
    return ATOM_ONE.format(title=title, content=content, updated=updated, extra=extra).encode()


def test_each_feed_format_is_stored_with_its_text_intact(app, db, httpserver):
    feeds = {
        "/rss2": ("harbor-wire.xml", "application/rss+xml", 3, "Ferry service resumes after winter storms"),
        "/rss1": ("open-science-notes.rdf", "application/rdf+xml", 2, "Soil carbon maps now cover every county"),
        "/atom": ("valley-atlas.atom", "application/atom+xml", 2, "A new footpath links the three river villages"),
        "/cp1252": ("cafe-chronicle.xml", "application/rss+xml", 2, "Le marché d’hiver ouvre ses portes"),
        "/fa": ("pars-daily.xml", "application/rss+xml", 2, "افتتاح کتابخانه عمومی تازه در شیراز"),
    }
    ids = {}
    for path, (name, mime, _, _) in feeds.items():
        httpserver.expect_request(path).respond_with_data(sample_feed(name), content_type=mime)
        ids[path] = storage.add_source(db, httpserver.url_for(path)).get("id")
    reports = ingest.refresh_many(storage.list_sources(db), pipeline_config(app))
    assert all(report.outcome == "ok" for report in reports), reports
    for path, (_, _, count, title) in feeds.items():
        items = storage.list_items(db, source_id=ids[path])
        assert len(items) == count
        assert title in [item["title"] for item in items]
    cafe = storage.get_source(db, ids["/cp1252"])
    assert cafe["name"] == "Café Chronicle"
    persian = storage.get_source(db, ids["/fa"])
    assert persian["language"] == "fa"
    assert persian["name"] == "خبرگزاری پارس روز"


def test_refetching_the_same_feed_stores_nothing_new(app, db, httpserver):
    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    first = refresh(app, db, source_id)
    second = refresh(app, db, source_id)
    assert first.new == 3
    assert second.outcome == "unchanged" and second.new == 0 and second.updated == 0
    assert len(storage.list_items(db, source_id=source_id)) == 3
    for item in storage.list_items(db, source_id=source_id):
        assert len(storage.item_revisions(db, item["id"])) == 1


def test_items_that_move_within_a_changed_feed_are_recognized(app, db, httpserver):
    extra = ('<entry><title>Second</title><id>tag:change.example,2026:two</id><updated>2026-11-21T10:00:00Z</updated>'
             '<link href="https://change.example/two"/><content type="html">&lt;p&gt;New&lt;/p&gt;</content></entry>')
    bodies = iter([make_atom(), make_atom(extra=extra)])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    assert refresh(app, db, source_id).new == 1
    second = refresh(app, db, source_id)
    assert (second.new, second.updated, second.unchanged) == (1, 0, 1)


def test_a_changed_item_gets_a_second_revision_and_keeps_the_first(app, db, httpserver):
    bodies = iter([make_atom(), make_atom(title="Corrected title", updated="2026-11-20T12:00:00Z")])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    report = refresh(app, db, source_id)
    assert report.updated == 1
    [item] = storage.list_items(db, source_id=source_id)
    revisions = storage.item_revisions(db, item["id"])
    assert [revision["raw"]["title"] for revision in revisions] == ["First title", "Corrected title"]
    assert item["title"] == "Corrected title"


def test_items_missing_from_a_later_fetch_are_not_deleted(app, db, httpserver):
    extra = ('<entry><title>Second</title><id>tag:change.example,2026:two</id><updated>2026-11-21T10:00:00Z</updated>'
             '<link href="https://change.example/two"/><content type="html">x</content></entry>')
    bodies = iter([make_atom(extra=extra), make_atom()])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    refresh(app, db, source_id)
    assert len(storage.list_items(db, source_id=source_id)) == 2


def test_identity_falls_back_from_guid_to_link_to_content_hash(app, db, httpserver):
    body = b"""<rss version="2.0"><channel><title>Ids</title>
      <item><title>With guid</title><guid isPermaLink="false">g-1</guid><link>https://ids.example/a</link></item>
      <item><title>Link only</title><link>https://ids.example/b</link></item>
      <item><title>Nothing but text</title><description>just words</description></item>
    </channel></rss>"""
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    identities = sorted(row["identity"].split(":")[0] for row in db.query("select identity from items"))
    assert identities == ["guid", "hash", "link"]


def test_second_fetch_with_etag_is_answered_304(app, db, httpserver):
    seen = []

    def handler(request):
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(sample_feed("harbor-wire.xml"), content_type="application/rss+xml", headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    report = refresh(app, db, source_id)
    assert seen == [None, '"v1"']
    assert report.status == 304 and report.outcome == "not modified"
    assert len(storage.list_items(db, source_id=source_id)) == 3


def test_second_fetch_with_last_modified_is_answered_304(app, db, httpserver):
    stamp = "Tue, 24 Nov 2026 10:00:00 GMT"

    def handler(request):
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response(sample_feed("harbor-wire.xml"), content_type="application/rss+xml", headers={"Last-Modified": stamp})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    assert refresh(app, db, source_id).status == 304
    assert [row["status"] for row in storage.fetch_log(db, source_id)] == [304, 200]


def test_a_permanent_redirect_updates_the_stored_url(app, db, httpserver):
    httpserver.expect_request("/old").respond_with_response(Response(status=301, headers={"Location": httpserver.url_for("/new")}))
    httpserver.expect_request("/new").respond_with_data(sample_feed("valley-atlas.atom"), content_type="application/atom+xml")
    source_id = storage.add_source(db, httpserver.url_for("/old"))["id"]
    report = refresh(app, db, source_id)
    assert report.new == 2
    assert storage.get_source(db, source_id)["url"] == httpserver.url_for("/new")


def test_a_temporary_redirect_keeps_the_stored_url(app, db, httpserver):
    httpserver.expect_request("/old").respond_with_response(Response(status=302, headers={"Location": httpserver.url_for("/new")}))
    httpserver.expect_request("/new").respond_with_data(sample_feed("valley-atlas.atom"), content_type="application/atom+xml")
    source_id = storage.add_source(db, httpserver.url_for("/old"))["id"]
    refresh(app, db, source_id)
    assert storage.get_source(db, source_id)["url"] == httpserver.url_for("/old")


def test_every_fetch_is_logged_with_counts(app, db, httpserver):
    httpserver.expect_request("/feed").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    [row] = storage.fetch_log(db, source_id)
    assert row["status"] == 200 and row["new"] == 3 and row["bytes"] > 1000 and row["error"] is None
    assert row["duration_ms"] >= 0
    source = storage.get_source(db, source_id)
    assert source["last_success_at"] and source["next_fetch_at"] > source["last_success_at"]


def test_links_are_percent_encoded_and_unnamed_sources_take_the_feeds_title(app, db, httpserver):
    body = b"""<rss version="2.0"><channel><title>Quay Notes</title>
      <item><title>Odd link</title><guid>odd</guid><link>/story one/"quoted"&lt;x&gt;</link></item>
    </channel></rss>"""
    httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    assert item["url"] == httpserver.url_for("/story%20one/%22quoted%22%3Cx%3E")
    source = storage.get_source(db, source_id)
    assert (source["name"], source["slug"]) == ("Quay Notes", "quay-notes")


def test_a_published_item_that_changes_upstream_keeps_its_approved_revision_until_approved_again(app, db, httpserver):
    bodies = iter([make_atom(), make_atom(title="Corrected title", updated="2026-11-20T12:00:00Z")])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"])
    approved_revision = storage.get_item(db, item["id"])["approved_revision_id"]
    refresh(app, db, source_id)
    changed = storage.get_item(db, item["id"])
    assert changed["status"] == "published" and changed["review_flag"] == "changed upstream"
    assert changed["approved_revision_id"] == approved_revision != changed["current_revision_id"]
    client = app.test_client()
    assert "First title" in client.get(f"/articles/{item['id']}", follow_redirects=True).get_data(as_text=True)
    workflow.approve(db, item["id"])
    accepted = storage.get_item(db, item["id"])
    assert accepted["approved_revision_id"] == accepted["current_revision_id"] and accepted["review_flag"] is None


def test_a_withdrawn_item_is_never_imported_again(app, db, httpserver):
    bodies = iter([make_atom(), make_atom(title="Changed after takedown", updated="2026-11-21T12:00:00Z"), make_atom()])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"])
    workflow.withdraw(db, item["id"], reason="takedown request from the publisher")
    refresh(app, db, source_id)
    refresh(app, db, source_id)
    [still] = storage.list_items(db, source_id=source_id)
    assert still["id"] == item["id"] and still["status"] == "withdrawn"
    gone = app.test_client().get(f"/articles/{item['id']}", follow_redirects=True)
    assert gone.status_code == 410 and "takedown request from the publisher" in gone.get_data(as_text=True)


def test_a_failed_run_does_not_keep_the_validators_so_the_next_fetch_gets_the_whole_feed(app, db, httpserver):
    body = sample_feed("harbor-wire.xml")
    seen = []

    def handler(request):
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        cut = body.index(b"</item>") + len(b"</item>")
        return Response(body[:cut] if len(seen) == 1 else body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    assert refresh(app, db, source_id).outcome == "error"
    second = refresh(app, db, source_id)
    assert seen == [None, None]
    assert second.outcome == "ok" and len(storage.list_items(db, source_id=source_id)) == 3
    assert refresh(app, db, source_id).status == 304


def test_the_public_row_of_a_published_item_ignores_an_unapproved_upstream_change(app, db, httpserver):
    moved = make_atom().replace(b"https://change.example/one", b"https://elsewhere.example/phish")
    bodies = iter([make_atom(), moved])
    httpserver.expect_request("/feed").respond_with_handler(lambda request: Response(next(bodies), content_type="application/atom+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/feed"))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"])
    refresh(app, db, source_id)
    flagged = storage.get_item(db, item["id"])
    assert flagged["review_flag"] and flagged["url"] == "https://change.example/one"
    page = app.test_client().get(f"/articles/{item['id']}", follow_redirects=True).get_data(as_text=True)
    assert "elsewhere.example" not in page
    workflow.approve(db, item["id"])
    assert storage.get_item(db, item["id"])["url"] == "https://elsewhere.example/phish"


def test_sources_named_by_the_same_feed_title_get_distinct_slugs_in_one_parallel_run(app, db, httpserver):
    for number in range(6):
        httpserver.expect_request(f"/feed{number}").respond_with_data(sample_feed("harbor-wire.xml"),
                                                                       content_type="application/rss+xml")
        storage.add_source(db, httpserver.url_for(f"/feed{number}"))
    reports = ingest.refresh_many(storage.list_sources(db), pipeline_config(app))
    assert [report.outcome for report in reports] == ["ok"] * 6
    sources = storage.list_sources(db)
    assert sorted(source["slug"] for source in sources) == ["harbor-wire"] + [f"harbor-wire-{n}" for n in range(2, 7)]
    assert all(len(storage.fetch_log(db, source["id"])) == 1 for source in sources)
