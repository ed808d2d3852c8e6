"""The promises every reliability scenario ends with, checked by one function on the database file.

Crash, load, disk-fault and fuzzing tests call `assert_invariants` after each run; it opens the file on
its own connection, so it sees only what was committed.
"""

import sqlite3

from republisher import audit, licenses, storage
import xss_checks


def violations(path, withdrawn_before=(), policy: frozenset | None = None) -> list[str]:
    """Every broken promise in the database at `path`, as one sentence each; empty when all hold."""
    db = storage.connect(str(path))
    try:
        return (integrity_problems(db) + gate_problems(db, policy or licenses.allowed_by_default())
                + exposure_problems(db) + duplicate_problems(db) + revision_problems(db)
                + active_content_problems(db) + withdrawal_problems(db, withdrawn_before))
    finally:
        db.conn.close()


def assert_invariants(path, withdrawn_before=(), policy: frozenset | None = None) -> set[int]:
    """Fail with every broken promise; return the withdrawn ids, to pass to the next check."""
    found = violations(path, withdrawn_before, policy)
    assert not found, "\n".join(found[:50])
    return withdrawn_ids(path)


def withdrawn_ids(path) -> set[int]:
    """The ids of the items withdrawn now."""
    conn = sqlite3.connect(str(path))
    try:
        return {row[0] for row in conn.execute("SELECT id FROM items WHERE status = 'withdrawn'")}
    finally:
        conn.close()


def integrity_problems(db) -> list[str]:
    """SQLite's own check of the file."""
    result = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    return [] if result == ["ok"] else [f"integrity_check: {line}" for line in result]


def gate_problems(db, policy: frozenset) -> list[str]:
    """Every published item passes the publish gate (allowed license, evidence, complete credit)."""
    return [f"item {found['item_id']} is published but {found['problem']}" for found in audit.audit(db, policy)]


def exposure_problems(db) -> list[str]:
    """Nothing unpublished is searchable or has a public card."""
    query = ("SELECT {column} FROM {table} WHERE {column} NOT IN "
             "(SELECT id FROM items WHERE status = 'published')")
    found = [f"item {row[0]} is in the search index but not published"
             for row in db.execute(query.format(table="search_index", column="rowid"))]
    found += [f"item {row[0]} has a public card but is not published"
              for row in db.execute(query.format(table="public_text", column="item_id"))]
    return found


def duplicate_problems(db) -> list[str]:
    """No entry is stored twice in one source, by identity or by its publisher's GUID."""
    found = []
    for column in ("identity", "guid"):
        rows = db.execute(f"SELECT source_id, {column}, count(*) FROM items WHERE {column} IS NOT NULL "
                          f"GROUP BY source_id, {column} HAVING count(*) > 1").fetchall()
        found += [f"source {source} holds {count} items with {column} {value!r}" for source, value, count in rows]
    return found


def revision_problems(db) -> list[str]:
    """Revisions are whole: numbered without gaps, decided, and the ones an item points at are its own."""
    found = []
    rows = db.execute("SELECT item_id, count(*), min(number), max(number) FROM item_revisions GROUP BY item_id")
    for item_id, count, low, high in rows:
        if (low, high) != (1, count):
            found.append(f"item {item_id} has revisions numbered {low}..{high} for {count} revisions")
    rows = db.execute("SELECT id, item_id FROM item_revisions WHERE decision IS NULL OR attribution IS NULL "
                      "OR content_html IS NULL")
    found += [f"revision {revision} of item {item} is half-written" for revision, item in rows]
    for column in ("current_revision_id", "approved_revision_id"):
        rows = db.execute(f"SELECT i.id FROM items i LEFT JOIN item_revisions r ON r.id = i.{column} "
                          f"WHERE i.{column} IS NOT NULL AND (r.id IS NULL OR r.item_id IS NOT i.id)")
        found += [f"item {row[0]} points at a {column} that is not one of its revisions" for row in rows]
    rows = db.execute("SELECT id FROM items WHERE current_revision_id IS NULL")
    found += [f"item {row[0]} has no revision" for row in rows]
    rows = db.execute("SELECT id FROM items WHERE status = 'published' AND approved_revision_id IS NULL")
    found += [f"item {row[0]} is published without an approved revision" for row in rows]
    return found


def active_content_problems(db) -> list[str]:
    """No stored revision holds script, frames, handlers or dangerous URLs."""
    found = []
    for revision_id, item_id, html in db.execute("SELECT id, item_id, content_html FROM item_revisions"):
        problems = xss_checks.find_problems(html or "")
        if problems:
            found.append(f"revision {revision_id} of item {item_id} holds active content: {problems[0]}")
    return found


def withdrawal_problems(db, withdrawn_before) -> list[str]:
    """Items withdrawn at the last check are still withdrawn."""
    found = []
    for item_id in sorted(withdrawn_before):
        row = db.execute("SELECT status FROM items WHERE id = ?", [item_id]).fetchone()
        if row is None:
            found.append(f"withdrawn item {item_id} is gone")
        elif row[0] != "withdrawn":
            found.append(f"withdrawn item {item_id} is {row[0]} now")
    return found


def fetcher_problems(db, settled: bool = False) -> list[str]:
    """No source is claimed, and no lease held, by a process that is gone; when settled, none at all."""
    from republisher import lease

    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "fetch_lease" not in tables:
        return []
    found = []
    for source_id, holder in db.execute("SELECT id, claimed_by FROM sources WHERE claimed_by IS NOT NULL"):
        if settled or not lease.is_alive(holder):
            found.append(f"source {source_id} is stuck fetching, claimed by {holder}")
    for (holder,) in db.execute("SELECT holder FROM fetch_lease WHERE holder IS NOT NULL"):
        if settled or not lease.is_alive(holder):
            found.append(f"the fetcher's lease is held by {holder}, which is gone")
    return found
