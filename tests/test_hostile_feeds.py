"""Hostile feed servers end as logged errors on their source; the other sources of the run are stored."""

import functools
import time
import tracemalloc
import zlib

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from helpers import pipeline_config, refresh, sample_feed
from republisher import create_app, ingest, storage

CAP = 1024 * 1024
BOMB_SIZE = 128 * 1024 * 1024


@pytest.fixture
def hostile_app(tmp_path):
    """An app with a short deadline and a 1 MiB cap, so hostile servers are cut off quickly."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "hostile.sqlite"), "ALLOW_PRIVATE_ADDRESSES": True,
                      "FETCH_DEADLINE": 2, "FETCH_READ_TIMEOUT": 1, "FETCH_MAX_BYTES": CAP})
    connection = storage.connect(app.config["DATABASE"])
    storage.migrate(connection)
    yield app, connection
    connection.conn.close()


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1, so a slow response does not hold the others."""
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    if httpserver.is_running():
        httpserver.stop()


@functools.lru_cache(maxsize=None)
def gzip_bomb(decompressed_size: int) -> bytes:
    """A gzip stream of zeros that inflates to decompressed_size bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    parts = [packer.compress(block) for _ in range(decompressed_size // len(block))]
    return b"".join(parts) + packer.flush()


def drip():
    """One byte every 0.3 seconds, for far longer than the deadline."""
    yield b"<?xml version='1.0'?><rss version='2.0'><channel>"
    for _ in range(200):
        time.sleep(0.3)
        yield b" "


ENTITY_BLOWUP = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY big "' + b"A" * 20000 + b'">]>\n'
                 b'<rss version="2.0"><channel><title>x</title><item><title>' + b"&big;" * 10000 +
                 b"</title></item></channel></rss>")

HOSTILE = {
    "/drip": lambda request: Response(drip(), content_type="application/rss+xml"),
    "/bomb": lambda request: Response(gzip_bomb(BOMB_SIZE), content_type="application/rss+xml",
                                      headers={"Content-Encoding": "gzip"}),
    "/huge": lambda request: Response(b"<rss version='2.0'><channel>" + b"<!-- padding -->" * 200000, content_type="application/rss+xml"),
    "/loop": lambda request: Response(status=302, headers={"Location": "/loop"}),
    "/html": lambda request: Response(b"<!doctype html><html><body><h1>Welcome</h1></body></html>", content_type="text/html"),
    "/truncated": lambda request: Response(sample_feed("harbor-wire.xml")[:1500], content_type="application/rss+xml"),
    "/entities": lambda request: Response(ENTITY_BLOWUP, content_type="application/rss+xml"),
    "/empty": lambda request: Response(b"", content_type="application/rss+xml"),
    "/not-found": lambda request: Response(b"gone", status=404),
}

EXPECTED_ERROR = {
    "/drip": "deadline", "/bomb": "decompress", "/huge": "exceeds", "/loop": "redirect",
    "/html": "HTML page", "/truncated": "malformed", "/entities": "entit", "/empty": "empty",
    "/not-found": "404",
}


def test_hostile_servers_fail_alone_and_memory_stays_bounded(hostile_app, server):
    app, db = hostile_app
    for path, handler in HOSTILE.items():
        server.expect_request(path).respond_with_handler(handler)
    server.expect_request("/good").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    server.expect_request("/good2").respond_with_data(sample_feed("valley-atlas.atom"), content_type="application/atom+xml")
    ids = {path: storage.add_source(db, server.url_for(path), name=path)["id"] for path in [*HOSTILE, "/good", "/good2"]}

    gzip_bomb(BOMB_SIZE)  # built before the run, so the server answers at once
    tracemalloc.start()
    started = time.monotonic()
    reports = ingest.refresh_many(storage.list_sources(db), pipeline_config(app))
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    by_id = {report.source_id: report for report in reports}
    assert by_id[ids["/good"]].new == 3 and by_id[ids["/good2"]].new == 2
    assert len(storage.list_items(db, source_id=ids["/good"])) == 3
    for path, needle in EXPECTED_ERROR.items():
        report = by_id[ids[path]]
        assert report.outcome == "error", (path, report)
        assert needle.lower() in report.error.lower(), (path, report.error)
        source = storage.get_source(db, ids[path])
        assert source["last_error"] == report.error and source["error_count"] == 1
        [logged] = storage.fetch_log(db, ids[path])
        assert logged["error"] == report.error
    assert peak < 64 * 1024 * 1024, f"peak traced memory {peak / 1e6:.0f} MB"
    assert elapsed < 20


def test_truncated_feed_keeps_the_items_it_could_read(hostile_app, server):
    app, db = hostile_app
    body = sample_feed("harbor-wire.xml")
    cut = body.index(b"</item>", body.index(b"</item>") + 1) + len(b"</item>")
    server.expect_request("/feed").respond_with_data(body[:cut], content_type="application/rss+xml")
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "error" and "malformed" in report.error
    assert report.new == 2
    assert len(storage.list_items(db, source_id=source_id)) == 2


def test_server_error_backs_off_then_recovers(hostile_app, server):
    app, db = hostile_app
    answers = iter([Response(b"oops", status=500), Response(b"busy", status=503, headers={"Retry-After": "7200"}),
                    Response(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")])
    server.expect_request("/feed").respond_with_handler(lambda request: next(answers))
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]

    first = refresh(app, db, source_id)
    after_first = storage.get_source(db, source_id)
    second = refresh(app, db, source_id)
    after_second = storage.get_source(db, source_id)
    third = refresh(app, db, source_id)
    after_third = storage.get_source(db, source_id)

    assert first.outcome == "error" and "500" in first.error
    assert after_first["error_count"] == 1
    assert seconds_between(after_first["last_fetch_at"], after_first["next_fetch_at"]) >= 240
    assert "503" in second.error and after_second["error_count"] == 2
    assert seconds_between(after_second["last_fetch_at"], after_second["next_fetch_at"]) >= 7200 - 5
    assert third.outcome == "ok" and third.new == 3
    assert after_third["error_count"] == 0 and after_third["last_error"] is None
    assert [row["outcome"] for row in storage.fetch_log(db, source_id)] == ["ok", "error", "error"]


def seconds_between(start: str, end: str) -> float:
    """Seconds from one ISO timestamp to another."""
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_an_entry_cut_off_before_its_guid_is_not_kept(hostile_app, server):
    app, db = hostile_app
    body = sample_feed("harbor-wire.xml")
    third = body.index(b"<item>", body.index(b"</item>", body.index(b"</item>") + 1))
    server.expect_request("/feed").respond_with_data(body[:third + 60], content_type="application/rss+xml")
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "error" and "2 items kept" in report.error
    assert sorted(item["guid"] for item in storage.list_items(db, source_id=source_id)) == [
        "harborwire-2026-1101", "harborwire-2026-1102"]
