"""`republisher backup`: a copy taken while a fetch writes opens, checks out and holds what was committed."""

import sqlite3
import threading

from helpers import refresh, sample_feed
from invariants import assert_invariants
from republisher import storage


def big_feed(count: int) -> bytes:
    """An RSS feed of `count` licensed items, each with a little HTML."""
    items = "".join(
        f"<item><title>Story {n}</title><link>https://big.example/{n}</link><guid>big-{n}</guid>"
        f"<description>&lt;p&gt;Paragraph {n} of a long batch.&lt;/p&gt;</description></item>"
        for n in range(count))
    return ('<?xml version="1.0"?><rss version="2.0" xmlns:creativeCommons='
            '"http://backend.userland.com/creativeCommonsRssModule"><channel><title>Big</title>'
            "<link>https://big.example/</link><description>d</description>"
            "<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()


def stored_guids(path) -> set[str]:
    """The GUIDs of the items in a database file."""
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT guid FROM items")}
    finally:
        conn.close()


def test_a_backup_taken_during_a_fetch_opens_checks_out_and_holds_every_committed_item(app, db, runner, httpserver, tmp_path):
    httpserver.expect_request("/harbor").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    httpserver.expect_request("/big").respond_with_data(big_feed(400), content_type="application/rss+xml")
    harbor = storage.add_source(db, httpserver.url_for("/harbor"))
    refresh(app, db, harbor["id"])
    committed = stored_guids(app.config["DATABASE"])
    big = storage.add_source(db, httpserver.url_for("/big"))
    fetching = threading.Thread(target=refresh, args=(app, storage.connect(app.config["DATABASE"]), big["id"]))
    fetching.start()
    copies = []
    while fetching.is_alive() or not copies:
        target = tmp_path / f"copy-{len(copies)}.sqlite"
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code == 0, result.output
        assert "integrity check ok" in result.output
        copies.append(target)
    fetching.join()
    for copy in copies:
        assert committed <= stored_guids(copy)
        assert_invariants(copy)
    assert len(stored_guids(copies[-1])) <= len(committed) + 400


def test_a_backup_refuses_to_overwrite_the_database_and_leaves_no_partial_file(app, runner, tmp_path):
    result = runner.invoke(args=["backup", app.config["DATABASE"]])
    assert result.exit_code == 1 and "overwrite the database itself" in result.output
    missing = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "copy.sqlite")])
    assert missing.exit_code == 1 and "no such folder" in missing.output
    assert not [path for path in tmp_path.iterdir() if "partial" in path.name]


def test_a_second_backup_replaces_the_first_whole(app, db, runner, httpserver, tmp_path):
    httpserver.expect_request("/harbor").respond_with_data(sample_feed("harbor-wire.xml"), content_type="application/rss+xml")
    target = tmp_path / "copy.sqlite"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    assert stored_guids(target) == set()
    refresh(app, db, storage.add_source(db, httpserver.url_for("/harbor"))["id"])
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    assert stored_guids(target) == stored_guids(app.config["DATABASE"]) != set()
