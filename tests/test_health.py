"""/healthz tells the truth: the database, the fetcher's last cycle, the sources in error; it never writes."""

import sqlite3
import time

import pytest

from fetching import LICENSE
from republisher import create_app, lease, storage


@pytest.fixture
def health_app(tmp_path):
    """An app on a fresh database, with the fetcher called stuck after 60 s."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "health.sqlite"), "SITE_URL": "http://mirror.test",
                      "FETCH_STUCK_AFTER": 60})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    yield app, db
    db.conn.close()


def health(app):
    """Status code, body and headers of /healthz."""
    response = app.test_client().get("/healthz", headers={"Host": "mirror.test"})
    return response.status_code, response.get_json(), response.headers


def overdue_source(db, url="https://a.example/rss", seconds=600, **fields) -> dict:
    """A source that has been due for `seconds`."""
    source = storage.add_source(db, url, **LICENSE)
    return storage.update_source(db, source["id"], next_fetch_at=storage.later(-seconds), **fields)


def test_a_fresh_fetcher_and_healthy_sources_say_ok(health_app):
    app, db = health_app
    overdue_source(db, seconds=5)  # due, but not for long
    storage.record_cycle(db, lease.holder_id())
    code, body, headers = health(app)
    assert code == 200 and body["status"] == "ok" and body["database"] == "ok"
    assert body["fetcher"]["last_cycle_age_seconds"] < 5 and body["fetcher"]["stuck"] is False
    assert body["fetcher"]["stuck_after_seconds"] == 60
    assert body["sources_in_error"] == 0 and body["failing_sources"] == []
    assert "no-store" in headers["Cache-Control"] and "public" not in headers["Cache-Control"]


def test_failing_sources_degrade_without_a_503_and_are_named(health_app):
    app, db = health_app
    storage.record_cycle(db, lease.holder_id())
    failing = storage.add_source(db, "https://b.example/rss", name="Broken Feed", **LICENSE)
    storage.update_source(db, failing["id"], error_count=3, last_error="HTTP 500: oops", last_error_at=storage.utcnow(),
                          next_fetch_at=storage.later(600))
    code, body, _ = health(app)
    assert code == 200 and body["status"] == "degraded" and body["sources_in_error"] == 1
    [entry] = body["failing_sources"]
    assert entry["name"] == "Broken Feed" and entry["error"] == "HTTP 500: oops" and entry["errors_in_a_row"] == 3


def test_a_stuck_fetcher_answers_503(health_app):
    app, db = health_app
    overdue_source(db, seconds=600)
    code, body, _ = health(app)  # no cycle ever, a source due for ten minutes
    assert code == 503 and body["status"] == "error" and body["fetcher"]["stuck"] is True
    assert body["fetcher"]["overdue_sources"] == 1
    storage.record_cycle(db, lease.holder_id())
    db.execute("UPDATE fetch_lease SET cycle_at = ?", [time.time() - 120])  # the last cycle, two minutes ago
    db.conn.commit()
    assert health(app)[0] == 503
    storage.record_cycle(db, lease.holder_id())
    assert health(app)[0] == 200


def test_an_unreadable_database_answers_503(tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database file" * 100)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SITE_URL": "http://mirror.test"})
    code, body, _ = health(app)
    assert code == 503 and body == {"status": "error", "database": "unreachable"}


def test_the_health_check_writes_nothing(health_app):
    app, db = health_app
    overdue_source(db, seconds=600)
    watcher = sqlite3.connect(app.config["DATABASE"])
    before = watcher.execute("PRAGMA data_version").fetchone()[0]
    for _ in range(3):
        health(app)
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == before  # changes when another connection commits
    db.execute("UPDATE sources SET name = 'x'")
    db.conn.commit()
    assert watcher.execute("PRAGMA data_version").fetchone()[0] != before  # and it does notice a write
    watcher.close()
