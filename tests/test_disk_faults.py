"""Disk and database faults while fetching: a full disk, a read-only database, a foreign writer's lock.

In each, the fetch fails with one logged line that names the cause, the site keeps serving what it has,
and the next cycle after the fault is removed stores every item of the feed once. The disk is a real
tmpfs of a few megabytes (mounting needs root); the lock is held by another process.
"""

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import pipeline_config
from invariants import assert_invariants
from republisher import create_app, ingest, schedule, storage

LICENSE = "https://creativecommons.org/licenses/by/4.0/"
BUSY_TIMEOUT = 0.5
ITEMS_BEFORE, ITEMS_AFTER = 10, 60
FEW_ITEMS_OF_SPACE = 160 * 1024


def rss(count: int, paragraph_bytes: int = 200) -> bytes:
    """An openly licensed RSS feed of `count` items, newest first, each body about `paragraph_bytes` long."""
    text = ("The harbour board met again to discuss the winter timetable of the island ferry. "
            * (paragraph_bytes // 80 + 1))[:paragraph_bytes]
    items = "".join(
        f"<item><title>Harbour report {number}</title><link>https://harbour.example/reports/{number}</link>"
        f"<guid isPermaLink=\"false\">harbour-report-{number}</guid><dc:creator>Lena Ortiz</dc:creator>"
        f"<pubDate>Mon, 23 Nov 2026 08:{number % 60:02d}:00 GMT</pubDate>"
        f"<description><![CDATA[<p>Report {number}. {text}</p>]]></description></item>"
        for number in reversed(range(count)))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            f'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>Harbour Reports</title><link>https://harbour.example/</link>"
            f"<description>Reports from the harbour board</description>"
            f"<creativeCommons:license>{LICENSE}</creativeCommons:license>{items}</channel></rss>").encode()


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MiB tmpfs, unmounted afterwards; the fault tests need root to mount it."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


class Scenario:
    """One source on a database file, fetched once before the fault, and the site over the same file."""

    def __init__(self, database: Path, httpserver):
        self.app = create_app({"TESTING": True, "DATABASE": str(database), "ALLOW_PRIVATE_ADDRESSES": True,
                               "SITE_URL": "http://mirror.test", "SECRET_KEY": "test-secret",
                               "FETCH_DEADLINE": 5, "DATABASE_BUSY_TIMEOUT": BUSY_TIMEOUT})
        self.config = pipeline_config(self.app)
        self.path = database
        self.httpserver = httpserver
        self.db = storage.connect(str(database))
        storage.migrate(self.db)
        self.serve_feed(rss(ITEMS_BEFORE))
        self.source_id = storage.add_source(self.db, httpserver.url_for("/feed"), auto_approve=True)["id"]
        [first] = ingest.refresh_many([storage.get_source(self.db, self.source_id)], self.config)
        assert first.outcome == "ok" and first.new == ITEMS_BEFORE, first
        self.site = self.app.test_client()
        self.withdrawn = assert_invariants(database)
        assert self.site_shows(ITEMS_BEFORE - 1)

    def serve_feed(self, body: bytes) -> None:
        """Serve this body at /feed from now on."""
        self.httpserver.clear()
        self.httpserver.expect_request("/feed").respond_with_data(body, content_type="application/rss+xml")

    def cycle(self, seconds_from_now: float) -> list:
        """One fetch round as the worker runs it, at a time `seconds_from_now` ahead (the clock moved on)."""
        due = storage.due_sources(self.db, now=storage.later(seconds_from_now))
        return ingest.refresh_many(due, self.config)

    def site_shows(self, number: int) -> bool:
        """Whether the home page, the feeds and the report's own article answer with report `number`."""
        title = f"Harbour report {number}"
        for path in ("/", "/feed.xml", "/feed.json", "/atom.xml", "/sources/"):
            response = self.site.get(path)
            assert response.status_code == 200, (path, response.status_code)
            if path != "/sources/" and title not in response.get_data(as_text=True):
                return False
        [item_id] = [item["id"] for item in storage.list_items(self.db, source_id=self.source_id)
                     if item["title"] == title]
        article = self.site.get(f"/articles/{item_id}/x", follow_redirects=True)
        return article.status_code == 200 and f"Report {number}." in article.get_data(as_text=True)

    def fault_cycle(self, caplog, cause: str):
        """Fetch during the fault: the report and one log line name the cause; no traceback, no 'internal error'."""
        self.serve_feed(rss(ITEMS_AFTER, paragraph_bytes=2_000))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="republisher"):
            [report] = self.cycle(self.config.interval + 60)
        assert report.outcome == "error" and cause in report.error, report
        assert "internal error" not in report.error and "\n" not in report.error
        logged = [record for record in caplog.records if record.levelno >= logging.WARNING]
        assert any(cause in record.getMessage() for record in logged), [r.getMessage() for r in logged]
        assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
        assert not [record for record in caplog.records if "internal error" in record.getMessage()]
        return report

    def recover(self) -> None:
        """The next cycle after the fault stores every item once, and the source is healthy and scheduled."""
        source = storage.get_source(self.db, self.source_id)
        retry_by = self.config.interval + 60 + schedule.backoff(source["error_count"] or 1, rng=_Highest())
        [report] = self.cycle(retry_by)
        assert report.error is None, report
        items = storage.list_items(self.db, source_id=self.source_id)
        assert sorted(item["guid"] for item in items) == sorted(
            f"harbour-report-{number}" for number in range(ITEMS_AFTER))
        assert {item["status"] for item in items} == {"published"}
        source = storage.get_source(self.db, self.source_id)
        assert source["last_error"] is None and source["error_count"] == 0
        assert source["next_fetch_at"] > storage.utcnow()
        assert self.site_shows(ITEMS_AFTER - 1)
        assert_invariants(self.path, self.withdrawn)

    def close(self) -> None:
        """Close the test's own connection."""
        self.db.conn.close()


class _Highest:
    """A random source that always picks the top of the range: the latest a backed-off retry can be."""

    def uniform(self, low, high):
        """The upper bound."""
        return high


@pytest.fixture
def scenario(small_disk, httpserver):
    """A scenario whose database lives on the small disk."""
    made = Scenario(small_disk / "republisher.sqlite", httpserver)
    yield made
    made.close()


def fill(directory: Path, leave: int = 0) -> Path:
    """Write a file until the filesystem has no space left, then give back `leave` bytes; returns it."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    os.truncate(filler, max(filler.stat().st_size - leave, 0))
    return filler


def test_a_full_disk_fails_the_fetch_with_a_clear_error_and_the_next_cycle_stores_everything_once(
        scenario, small_disk, caplog):
    # room for a few items: the disk fills up in the middle of the feed
    filler = fill(small_disk, leave=FEW_ITEMS_OF_SPACE)
    try:
        report = scenario.fault_cycle(caplog, "disk is full")
        stored = len(storage.list_items(scenario.db, source_id=scenario.source_id))
        assert ITEMS_BEFORE < stored < ITEMS_AFTER, stored
        assert scenario.site_shows(ITEMS_BEFORE - 1)
        assert_invariants(scenario.path, scenario.withdrawn)
    finally:
        filler.unlink()
    scenario.recover()


@pytest.fixture
def read_only_view(small_disk, tmp_path):
    """The small disk's directory seen through a second mount that can be made read-only on its own.

    A mount with files open for writing cannot turn read-only, so the fetcher and a newly started site
    open the database through this view, as a service whose data volume is mounted read-only would.
    """
    view = tmp_path / "view"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(small_disk), str(view)], check=True)
    try:
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_a_read_only_database_fails_the_fetch_with_a_clear_error_and_the_next_cycle_stores_everything_once(
        scenario, read_only_view, caplog):
    database = read_only_view / scenario.path.name
    scenario.config = dataclasses.replace(scenario.config, database=str(database))
    subprocess.run(["mount", "-o", "remount,ro,bind", str(read_only_view)], check=True)
    try:
        scenario.fault_cycle(caplog, "read-only")
        assert scenario.site_shows(ITEMS_BEFORE - 1)
        # a site started while the database is read-only serves what it has too
        scenario.site = create_app(dict(scenario.app.config, DATABASE=str(database))).test_client()
        assert scenario.site_shows(ITEMS_BEFORE - 1)
    finally:
        subprocess.run(["mount", "-o", "remount,rw,bind", str(read_only_view)], check=True)
    scenario.recover()


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("UPDATE sources SET updated_at = updated_at")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def test_a_database_locked_by_a_foreign_writer_fails_the_fetch_with_a_clear_error_and_the_next_cycle_recovers(
        scenario, caplog):
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(scenario.path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        scenario.fault_cycle(caplog, "locked by another writer")
        assert scenario.site_shows(ITEMS_BEFORE - 1)
    finally:
        locker.stdin.close()  # the locker rolls back and exits
        locker.wait(timeout=10)
    scenario.recover()
