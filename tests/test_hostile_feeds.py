"""Hostile feed servers end as logged errors on their source; the other sources of the run are stored."""

import functools
import json
import time
import tracemalloc
import zlib

import pytest
from werkzeug import Response

from helpers import pipeline_config, refresh, sample_feed
from republisher import create_app, ingest, sanitizer, storage

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


# ---------------------------------------------------------------- entity declarations, however hidden

ENTITY_ITEM = ('<rss version="2.0"><channel><title>Entities</title><item><title>&big;</title>'
               '<link>https://e.test/a</link><guid>entity-1</guid></item></channel></rss>')
ENTITY_DTD = '<!DOCTYPE rss [<!ENTITY big "' + "A" * 5000 + '">]>'
LAUGHS = ('<!DOCTYPE rss [<!ENTITY l0 "lol">'
          + "".join(f'<!ENTITY l{n} "{("&l%d;" % (n - 1)) * 10}">' for n in range(1, 10))
          + '<!ENTITY big "&l9;">]>')


def gzipped(data: bytes) -> bytes:
    """data as one gzip member."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return packer.compress(data) + packer.flush()


ENTITY_BYPASSES = {
    "after a comment holding <a": ('<?xml version="1.0"?><!-- see <a href="x"> -->' + ENTITY_DTD + ENTITY_ITEM).encode(),
    "after a processing instruction": ('<?xml version="1.0"?><?note <b?>' + ENTITY_DTD + ENTITY_ITEM).encode(),
    "DOCTYPE literal holding <x": ('<?xml version="1.0"?><!DOCTYPE rss SYSTEM "<x" [<!ENTITY big "'
                                   + "A" * 5000 + '">]>' + ENTITY_ITEM).encode(),
    "lifted out of a comment": ('<?xml version="1.0"?>\n<!DOCTYPE rss>\n<!--\n<!ENTITY big "' + "A" * 5000
                                + '">\n-->\n' + ENTITY_ITEM).encode(),
    "UTF-32": ('<?xml version="1.0" encoding="utf-32"?>' + ENTITY_DTD + ENTITY_ITEM).encode("utf-32"),
    "UTF-16 big-endian": ('<?xml version="1.0" encoding="utf-16"?>' + ENTITY_DTD + ENTITY_ITEM).encode("utf-16-be"),
    "EBCDIC": ('<?xml version="1.0" encoding="cp037"?>' + ENTITY_DTD + ENTITY_ITEM).encode("cp037"),
    "parameter entity": ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p "<!ENTITY big \'AAAA\'>"> %p;]>'
                         + ENTITY_ITEM).encode(),
    "external SYSTEM entity": ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big SYSTEM "file:///etc/passwd">]>'
                               + ENTITY_ITEM).encode(),
    "billion laughs": ('<?xml version="1.0"?>' + LAUGHS + ENTITY_ITEM).encode(),
}


@pytest.mark.parametrize("shape", ENTITY_BYPASSES)
def test_entity_declarations_are_refused_however_they_are_hidden(hostile_app, server, shape):
    app, db = hostile_app
    body = ENTITY_BYPASSES[shape]
    server.expect_request("/feed").respond_with_data(gzipped(body), content_type="application/rss+xml",
                                                     headers={"Content-Encoding": "gzip"})
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    tracemalloc.start()
    report = refresh(app, db, source_id)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.outcome == "error" and report.error == "feed declares XML entities; refused (entity expansion attack)"
    assert storage.get_source(db, source_id)["last_error"] == report.error
    assert storage.list_items(db, source_id=source_id) == []
    assert peak < 16 * 1024 * 1024, f"peak traced memory {peak / 1e6:.0f} MB"


def test_a_gzipped_kilobyte_of_entities_stores_nothing_large(hostile_app, server):
    app, db = hostile_app
    big = "A" * 60000
    body = ('<?xml version="1.0"?><!-- <a --><!DOCTYPE rss [<!ENTITY big "' + big + '">]>'
            + ENTITY_ITEM.replace("&big;", "&big;" * 5000)).encode()
    packed = gzipped(body)
    assert len(packed) < 2048
    server.expect_request("/feed").respond_with_data(packed, content_type="application/rss+xml",
                                                     headers={"Content-Encoding": "gzip"})
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "error" and "entit" in report.error and "\n" not in report.error
    assert storage.list_items(db, source_id=source_id) == []


FORGIVEN_PROLOGS = {
    "a Netscape DOCTYPE": b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                          b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n',
    "a DOCTYPE without declarations": b'<?xml version="1.0"?><!DOCTYPE rss [<!ELEMENT rss ANY>]>',
    "whitespace before the declaration": b'\n  <?xml version="1.0"?>',
    "a comment naming <!ENTITY": b'<?xml version="1.0"?><!-- we never write <!ENTITY here -->',
}


@pytest.mark.parametrize("shape", FORGIVEN_PROLOGS)
def test_prologs_without_entity_declarations_are_read(hostile_app, server, shape):
    app, db = hostile_app
    body = FORGIVEN_PROLOGS[shape] + ENTITY_ITEM.replace("&big;", "Fish&nbsp;market").encode()
    server.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "ok" and report.error is None, report
    [item] = storage.list_items(db, source_id=source_id)
    assert item["title"] == "Fish market"


# ---------------------------------------------------------------- HTML that costs the sanitizer time

def timed_sanitize(html: str):
    """(seconds, result) of sanitizing html once."""
    started = time.perf_counter()
    result = sanitizer.sanitize_html(html, "https://publisher.test/post")
    return time.perf_counter() - started, result


def many_attributes(count: int) -> str:
    """One paragraph whose start tag carries `count` attributes."""
    return "<p " + " ".join(f"a{n}" for n in range(count)) + ">words stay</p>"


def test_a_tag_with_25000_attributes_is_sanitized_in_linear_time():
    small_time, small = timed_sanitize(many_attributes(12_500))
    large_time, large = timed_sanitize(many_attributes(25_000))
    assert large.html == small.html == "<p>words stay</p>"
    assert large_time < 3, f"{large_time:.1f} s for 25,000 attributes"
    assert large_time < 4 * small_time + 0.2, (small_time, large_time)
    assert sanitizer.sanitize_html(large.html, "https://publisher.test/post").html == large.html


def test_attributes_within_the_cap_keep_working_and_the_first_of_a_name_wins():
    filler = " ".join(f"data-x{n}" for n in range(sanitizer.MAX_ATTRIBUTES - 1))
    kept = sanitizer.sanitize_html(f'<a href="/kept" {filler} href="/second">link</a>', "https://p.test/")
    assert kept.html == '<a href="https://p.test/kept" rel="nofollow noopener noreferrer">link</a>'
    late = sanitizer.sanitize_html(f'<a {filler} title="t" href="/late">link</a>', "https://p.test/")
    assert "href" not in late.html and "link" in late.html


@pytest.mark.parametrize("tag", ["div", "b"])
def test_100000_nested_elements_keep_their_text_in_linear_time(tag):
    def nested(depth: int) -> str:
        return "".join(f"<{tag}>" + (f"word{level} " if level % 10_000 == 0 else "") for level in range(depth))

    half_time, _ = timed_sanitize(nested(50_000))
    full_time, full = timed_sanitize(nested(100_000))
    text = sanitizer.plain_text(full.html[:50_000])
    for level in range(0, 100_000, 10_000):
        if level * (len(tag) + 2) < sanitizer.MAX_INPUT_CHARS - 20:
            assert f"word{level}" in full.html, level
    assert "word0" in text
    assert full_time < 5 and full_time < 4 * half_time + 0.2, (half_time, full_time)
    assert sanitizer.sanitize_html(full.html, "https://publisher.test/post").html == full.html


# ---------------------------------------------------------------- what a feed may cost on disk

def channel_feed(description: str, build_date: str = "Mon, 30 Nov 2026 08:00:00 GMT", items: int = 100) -> bytes:
    """An RSS feed with the given channel description and `items` tiny licensed items."""
    entries = "".join(f"<item><title>Note {n}</title><link>https://p.test/{n}</link><guid>note-{n}</guid>"
                      f"<description>Short note {n}.</description></item>" for n in range(items))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Notes</title><link>https://p.test/</link>'
            f"<description>{description}</description><lastBuildDate>{build_date}</lastBuildDate>"
            f"<copyright>CC BY 4.0</copyright>{entries}</channel></rss>").encode()


def database_bytes(path) -> int:
    """The bytes the database holds once its write-ahead log is folded in."""
    connection = storage.connect(str(path))
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return connection.execute("PRAGMA page_count").fetchone()[0] * connection.execute("PRAGMA page_size").fetchone()[0]
    finally:
        connection.conn.close()


def growth_after_ingest(tmp_path, server, name: str, body: bytes) -> int:
    """How many bytes one fetch of `body` adds to a fresh database."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / f"{name}.sqlite"), "ALLOW_PRIVATE_ADDRESSES": True})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    server.expect_request(f"/{name}").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, server.url_for(f"/{name}"))["id"]
    before = database_bytes(app.config["DATABASE"])
    report = refresh(app, db, source_id)
    assert report.error is None and report.new + report.blocked == 100, report
    db.conn.close()
    return database_bytes(app.config["DATABASE"]) - before


def test_a_megabyte_channel_is_stored_once_not_with_every_item(tmp_path, server):
    small = growth_after_ingest(tmp_path, server, "small", channel_feed("Short notes."))
    large = growth_after_ingest(tmp_path, server, "large", channel_feed("x" * 1024 * 1024))
    assert large - small < 256 * 1024, f"a 1 MiB description added {(large - small) / 1024:.0f} KiB"


def test_a_channel_that_changes_without_new_items_stores_nothing_new(hostile_app, server):
    app, db = hostile_app
    bodies = iter([channel_feed("Notes.", "Mon, 30 Nov 2026 08:00:00 GMT"),
                   channel_feed("Notes.", "Mon, 30 Nov 2026 09:00:00 GMT"),
                   channel_feed("Notes, renamed.", "Mon, 30 Nov 2026 10:00:00 GMT", items=101)])
    server.expect_request("/feed").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    reports = [refresh(app, db, source_id) for _ in range(3)]
    assert [report.error for report in reports] == [None, None, None]
    assert [report.unchanged for report in reports] == [0, 100, 100]
    channels = [row[0] for row in db.execute("SELECT body FROM channels")]
    assert len(channels) == 2 and any("Notes, renamed." in body for body in channels)
    [review] = storage.items_for_review(db, item_ids=[storage.list_items(db, source_id=source_id)[0]["id"]])
    assert "Notes, renamed." in json.dumps(review["revision_feed"], ensure_ascii=False)  # decoded by storage


def test_revisions_stored_with_their_own_channel_copy_are_migrated_to_one_row(tmp_path):
    db = storage.connect(str(tmp_path / "old.sqlite"))
    storage.migrations.apply(db, stop_before="0011_channels")
    source_id = storage.add_source(db, "https://p.test/feed")["id"]
    channel = '{"title": "Notes", "url": "https://p.test/feed", "raw": {}}'
    for number in range(3):
        db["items"].insert({"id": number + 1, "source_id": source_id, "identity": f"guid:{number}",
                            "status": "pending", "first_seen_at": "2026-11-30T08:00:00+00:00"})
        db["item_revisions"].insert({"id": number + 1, "item_id": number + 1, "number": 1, "raw": "{}",
                                     "feed": channel, "decision": "{}", "attribution": "{}", "content_html": ""})
        db["items"].update(number + 1, {"current_revision_id": number + 1})
    assert storage.migrate(db) == ["0011_channels"]
    assert [row[0] for row in db.execute("SELECT body FROM channels")] == [channel]
    assert db.execute("SELECT count(*) FROM item_revisions WHERE feed IS NOT NULL").fetchone()[0] == 0
    assert [row["revision_feed"] for row in storage.items_for_review(db)] == [json.loads(channel)] * 3
    db.conn.close()


def test_an_encoding_name_feedparser_chokes_on_is_a_parse_error_of_its_source(hostile_app, server):
    app, db = hostile_app
    server.expect_request("/feed").respond_with_data(
        b'<?xml version="1.0" encoding="\x00utf-8"?><rss version="2.0"><channel><title>x</title></channel></rss>',
        content_type="application/rss+xml")
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "error" and report.error.startswith("feed could not be parsed: ValueError")


def test_an_entry_with_100000_categories_is_refused_at_once(hostile_app, server):
    app, db = hostile_app
    app.config["FETCH_MAX_BYTES"] = 10 * 1024 * 1024
    body = ('<rss version="2.0"><channel><title>x</title><item><guid>g</guid>'
            + "<category>Topic</category>" * 100_000 + "</item></channel></rss>").encode()
    server.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")
    source_id = storage.add_source(db, server.url_for("/feed"))["id"]
    started = time.monotonic()
    report = refresh(app, db, source_id)
    assert report.error == "an entry repeats <category> more than 5000 times; refused"
    assert time.monotonic() - started < 10
