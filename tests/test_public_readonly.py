"""The public site only reads: it serves every route from a read-only database and never writes to it."""

import hashlib
import os
import stat

import pytest
from flask import url_for

from republisher import storage, workflow

from helpers import refresh, sample_feed


@pytest.fixture
def published(app, db, httpserver):
    """Harbor Wire fetched and all but one item approved by an editor; returns (item ids, source slug)."""
    httpserver.expect_request("/harbor").respond_with_data(sample_feed("harbor-wire.xml"),
                                                           content_type="application/rss+xml")
    source_id = storage.add_source(db, httpserver.url_for("/harbor"), name="Harbor Wire")["id"]
    refresh(app, db, source_id)
    items = storage.list_items(db, source_id=source_id)
    for item in items[1:]:
        workflow.approve(db, item["id"], actor="alice")
    return [item["id"] for item in items], storage.get_source(db, source_id)["slug"]


def every_get_url(app, item_id: int, source_slug: str) -> list[str]:
    """One URL for every GET route of the URL map, with a real article and source where it asks for one."""
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            values = {}
            for name in rule.arguments:
                converter = type(rule._converters[name]).__name__
                if name == "item_id":
                    values[name] = item_id
                elif name == "slug":
                    values[name] = "ferry-service-resumes-after-winter-storms" if "item_id" in rule.arguments \
                        else source_slug
                elif name == "filename":
                    values[name] = "site.css"
                else:
                    values[name] = 0 if converter in ("IntegerConverter", "NumberConverter", "IdConverter") else "x"
            urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls)) + ["/search?q=ferry", "/search?q=%22unclosed"]


def database_bytes(path: str) -> str:
    """A digest of the database file and its write-ahead log."""
    digest = hashlib.sha256()
    for name in (path, path + "-wal"):
        if os.path.exists(name):
            with open(name, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


def test_every_route_is_served_from_a_database_file_made_read_only(app, db, published):
    item_ids, slug = published
    path = app.config["DATABASE"]
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # 0444; the writer (db) keeps the WAL open
    try:
        client = app.test_client()
        for url in every_get_url(app, item_ids[1], slug):
            response = client.get(url)
            assert response.status_code in (200, 301, 302, 308), (url, response.status_code)
        shown = storage.get_item(db, item_ids[1])["title"]
        assert shown.encode() in client.get("/search", query_string={"q": shown.split()[0]}).data
    finally:
        os.chmod(path, 0o644)


def test_the_site_connection_refuses_to_write(app, published):
    with app.test_request_context():
        from republisher import web

        with pytest.raises(Exception, match="readonly|read-only"):
            web.site_db().execute("UPDATE site_state SET version = version + 1")


def test_no_get_route_writes_even_with_published_items_waiting_for_the_index(app, db, published):
    item_ids, slug = published
    waiting = storage.get_item(db, item_ids[0])
    # published by a writer that has not indexed it yet (an older version, or one that stopped)
    storage.set_item_status(db, waiting["id"], "published",
                            fields={"approved_revision_id": waiting["current_revision_id"]})
    assert storage.public_index_backlog(db)
    path = app.config["DATABASE"]
    version_before, bytes_before = db.execute("PRAGMA data_version").fetchone()[0], database_bytes(path)
    client = app.test_client()
    for url in every_get_url(app, item_ids[1], slug):
        assert client.get(url).status_code < 500, url
        assert client.head(url).status_code < 500, url
    assert db.execute("PRAGMA data_version").fetchone()[0] == version_before
    assert database_bytes(path) == bytes_before
    assert storage.public_index_backlog(db)  # still waiting: indexing is the writer's job


def test_what_an_editor_publishes_is_searchable_at_once(app, db, published):
    item_ids, _ = published
    waiting = storage.get_item(db, item_ids[0])
    query = {"q": waiting["title"].split()[0]}
    client = app.test_client()
    assert waiting["title"].encode() not in client.get("/search", query_string=query).data
    workflow.approve(db, waiting["id"], actor="alice")
    assert not storage.public_index_backlog(db)
    assert waiting["title"].encode() in client.get("/search", query_string=query).data


def test_what_a_fetch_auto_approves_is_indexed_by_the_fetch(app, db, httpserver):
    httpserver.expect_request("/auto").respond_with_data(sample_feed("valley-atlas.atom"),
                                                         content_type="application/atom+xml")
    source_id = storage.add_source(db, httpserver.url_for("/auto"), auto_approve=True)["id"]
    refresh(app, db, source_id)
    assert storage.public_status_counts(db).get("published") == 2 and not storage.public_index_backlog(db)
    page = app.test_client().get("/search", query_string={"q": "footpath"}).get_data(as_text=True)
    assert "A new footpath links the three river villages" in page
