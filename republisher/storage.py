"""Storage: the one module that names tables. SQLite through sqlite-utils, WAL, busy timeout."""

import contextlib
import hashlib
import itertools
import json
import logging
import re
import sqlite3
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from .errors import NotFoundError
from .slugs import slugify

BUSY_TIMEOUT_SECONDS = 15
audit_log = logging.getLogger("republisher.audit")
migrations = Migrations("republisher")


def utcnow() -> str:
    """Current UTC time as an ISO 8601 string (sortable as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def later(seconds: float) -> str:
    """UTC time `seconds` from now, ISO 8601."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def connect(path: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Database:
    """Open the database with WAL and a busy timeout (seconds); one connection per thread."""
    conn = sqlite3.connect(str(path), timeout=busy_timeout, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db = Database(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return db


def connect_readonly(path: str) -> Database:
    """Open the database so that this connection cannot write (the public site's), WAL still read.

    SQLite needs the -shm file beside a WAL database: while a writer has it open the file exists; when
    none has, SQLite creates it, so the directory must stay writable even if the database file is not.
    """
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
    conn.execute("PRAGMA query_only = ON")
    return Database(conn)


def migrate(db: Database) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    pending = [migration.name for migration in migrations.pending(db)]
    migrations.apply(db)
    return pending


@contextlib.contextmanager
def transaction(db: Database):
    """A write transaction that takes the write lock up front (BEGIN IMMEDIATE)."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        pending_audit(db).clear()
        raise
    else:
        db.conn.execute("COMMIT")
        announce_audit(db)


def pending_audit(db: Database) -> list[dict]:
    """Audit rows written in the open transaction, to be logged once it commits."""
    if not hasattr(db, "_pending_audit"):
        db._pending_audit = []
    return db._pending_audit


def announce_audit(db: Database) -> None:
    """One log line per committed audit row: an action is logged only once it has happened."""
    rows, db._pending_audit = pending_audit(db), []
    for row in rows:
        audit_log.info("editor action", extra={"fields": row})


def copy_into(path: str, target) -> None:
    """VACUUM INTO `target`: one read transaction, so the copy is one committed state whatever the writer does."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        source.execute("VACUUM INTO ?", [str(target)])
    finally:
        source.close()


def copy_summary(path) -> dict:
    """What a copy of the database holds, after SQLite's integrity check: {integrity, sources, items, revisions}."""
    copy = sqlite3.connect(str(path))
    try:
        integrity = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        counts = {key: copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                  for key, table in (("sources", "sources"), ("items", "items"), ("revisions", "item_revisions"))}
        return dict(counts, integrity=integrity)
    finally:
        copy.close()


# ---------------------------------------------------------------- migrations


@migrations(name="0001_initial")
def m0001_initial(db: Database) -> None:
    """Sources, items, their revisions, and the fetch log."""
    db["sources"].create({
        "id": int, "url": str, "name": str, "slug": str, "site_url": str, "language": str,
        "feed_title": str, "credit_name": str, "remove_credit": int, "auto_approve": int,
        "license": str, "license_evidence": str, "license_set_at": str, "license_history": str,
        "allowed_licenses": str,
        "etag": str, "last_modified": str, "body_hash": str,
        "interval_seconds": int, "next_fetch_at": str, "error_count": int,
        "last_fetch_at": str, "last_success_at": str, "last_error": str, "last_error_at": str,
        "created_at": str, "updated_at": str,
    }, pk="id", not_null={"url", "name", "slug", "created_at"},
        defaults={"remove_credit": 0, "auto_approve": 0, "error_count": 0, "license_history": "[]"})
    db["sources"].create_index(["url"], unique=True)
    db["sources"].create_index(["slug"], unique=True)
    db["sources"].create_index(["next_fetch_at"])

    db["items"].create({
        "id": int, "source_id": int, "identity": str, "guid": str, "url": str, "slug": str,
        "title": str, "authors": str, "categories": str, "enclosures": str, "language": str,
        "published_at": str, "updated_at": str, "entry_hash": str,
        "status": str, "status_reason": str, "review_flag": str,
        "license": str, "license_evidence": str,
        "current_revision_id": int, "approved_revision_id": int,
        "first_seen_at": str, "last_seen_at": str, "status_changed_at": str,
        "published_order": str,
    }, pk="id", foreign_keys=[("source_id", "sources", "id")],
        not_null={"source_id", "identity", "status", "first_seen_at"})
    db["items"].create_index(["source_id", "identity"], unique=True)
    db["items"].create_index(["status", "published_order", "id"])
    db["items"].create_index(["source_id", "status", "published_order", "id"])

    db["item_revisions"].create({
        "id": int, "item_id": int, "number": int, "entry_hash": str, "fetched_at": str,
        "raw": str,
        "title": str, "content_html": str, "changes": str,
        "license": str, "license_evidence": str, "decision": str, "attribution": str,
    }, pk="id", foreign_keys=[("item_id", "items", "id")], not_null={"item_id", "number", "raw"})
    db["item_revisions"].create_index(["item_id", "number"], unique=True)

    db["fetch_log"].create({
        "id": int, "source_id": int, "started_at": str, "url": str, "status": int,
        "bytes": int, "duration_ms": int, "new": int, "updated": int, "unchanged": int,
        "blocked": int, "error": str, "outcome": str,
    }, pk="id", foreign_keys=[("source_id", "sources", "id")])
    db["fetch_log"].create_index(["source_id", "id"])


# ---------------------------------------------------------------- sources


def unique_source_slug(db: Database, name: str, exclude_id: int | None = None) -> str:
    """A source slug no other source uses."""
    base = slugify(name, "source")
    slug, number = base, 2
    while db.execute("select 1 from sources where slug = ? and id is not ?", [slug, exclude_id]).fetchone():
        slug, number = f"{base}-{number}", number + 1
    return slug


def add_source(db: Database, url: str, *, name: str | None = None, license: str | None = None,
               evidence: str | None = None, auto_approve: bool = False,
               interval_seconds: int | None = None, credit_name: str | None = None) -> dict:
    """Create a source; its first fetch is due at once."""
    now = utcnow()
    with transaction(db):
        if db.execute("select 1 from sources where url = ?", [url]).fetchone():
            raise ValueError(f"a source with URL {url} exists already")
        record = {
            "url": url, "name": name or url, "slug": unique_source_slug(db, name or host_of(url)),
            "credit_name": credit_name, "auto_approve": int(auto_approve),
            "interval_seconds": interval_seconds, "next_fetch_at": now, "error_count": 0,
            "created_at": now, "updated_at": now, "license_history": "[]",
        }
        source_id = db["sources"].insert(record).last_pk
        if license:
            set_source_license(db, source_id, license, evidence or "")
    return get_source(db, source_id)


def host_of(url: str) -> str:
    """The host part of a URL, for default names."""
    match = re.match(r"^[a-z][a-z0-9+.-]*://([^/:?#]+)", url or "", re.IGNORECASE)
    return match.group(1) if match else (url or "source")


def set_source_license(db: Database, source_id: int, license: str | None, evidence: str,
                       *, actor: str = "cli") -> dict:
    """Record the editor's license for a source with its evidence; keep the history.

    An editor's decision also ends any license hold, and what the publisher's pages said at the last
    check becomes what the watch compares later checks with.
    """
    with transaction(db):
        source = get_source(db, source_id)
        history = list(source["license_history"])
        now = utcnow()
        entry = {"license": license, "evidence": evidence, "set_at": now, "by": actor,
                 "previous": source.get("license")}
        if source.get("license_hold"):
            entry["released_hold"] = source["license_hold"]
        history.append(entry)
        fields = {"license": license, "license_evidence": evidence, "license_set_at": now,
                  "license_history": json.dumps(history), "updated_at": now,
                  "license_hold": None, "license_hold_since": None, "license_hold_revision": None}
        proposal = proposal_of(source)
        if proposal is not None:
            fields["license_watch"] = json.dumps(proposal, ensure_ascii=False)
        db["sources"].update(source_id, fields)
    return get_source(db, source_id)


def update_source(db: Database, source_id: int, **fields) -> dict:
    """Change a source's fields."""
    if "license_history" in fields:
        fields["license_history"] = _encoded(fields["license_history"])
    fields["updated_at"] = utcnow()
    with transaction(db):
        get_source(db, source_id)
        db["sources"].update(source_id, fields)
    return get_source(db, source_id)


def get_source(db: Database, source_id: int) -> dict:
    """One source by id, or NotFoundError."""
    row = next(db.query("select * from sources where id = ?", [source_id]), None)
    if row is None:
        raise NotFoundError(f"no source with id {source_id}")
    return decode_source(row)


def decode_source(row: dict) -> dict:
    """A source row with its license history as a list."""
    return dict(row, license_history=_decoded(row.get("license_history"), []))


def list_sources(db: Database) -> list[dict]:
    """All sources, by name."""
    return [decode_source(row) for row in db.query("select * from sources order by name collate nocase, id")]


def due_sources(db: Database, now: str | None = None) -> list[dict]:
    """Sources whose next fetch time has come."""
    return [decode_source(row) for row in db.query(
        "select * from sources where next_fetch_at is null or next_fetch_at <= ? order by next_fetch_at, id",
        [now or utcnow()])]


def record_fetch(db: Database, source_id: int, log: dict, source_fields: dict) -> None:
    """Write one fetch log row and the source's new fetch state together."""
    source_fields = dict(source_fields)
    rename = source_fields.pop("slug_from_name", False)
    with transaction(db):
        if rename and source_fields.get("name"):
            # chosen under the write lock: two sources fetched at once may take the same feed title
            source_fields["slug"] = unique_source_slug(db, source_fields["name"], exclude_id=source_id)
        db["fetch_log"].insert(dict(log, source_id=source_id))
        db["sources"].update(source_id, source_fields)


def fetch_log(db: Database, source_id: int | None = None, limit: int = 50) -> list[dict]:
    """The latest fetch log rows, newest first."""
    if source_id is None:
        return list(db.query("select * from fetch_log order by id desc limit ?", [limit]))
    return list(db.query("select * from fetch_log where source_id = ? order by id desc limit ?",
                         [source_id, limit]))


# ---------------------------------------------------------------- items


def known_entries(db: Database, source_id: int, identities: list[str]) -> dict[str, dict]:
    """identity -> {id, entry_hash, status, license_override, edited_title} for those of the identities already stored."""
    known = {}
    for start in range(0, len(identities), 500):  # stays under SQLite's limit on bound parameters
        batch = identities[start:start + 500]
        marks = ", ".join("?" for _ in batch)
        known.update((row["identity"], decode_item(row)) for row in db.query(
            f"select id, identity, entry_hash, status, license_override, edited_title from items "
            f"where source_id = ? and identity in ({marks})", [source_id, *batch]))
    return known


def store_item(db: Database, source_id: int, item: dict, revision: dict) -> tuple[int, bool]:
    """Insert a new item or add a revision to an existing one; returns (item id, created)."""
    now = utcnow()
    item, revision = encode_columns(item, ITEM_JSON_COLUMNS), encode_columns(revision, REVISION_JSON_COLUMNS)
    with transaction(db):
        existing = db.execute("select id, status from items where source_id = ? and identity = ?",
                              [source_id, item["identity"]]).fetchone()
        if existing:
            item_id = existing[0]
            number = db.execute("select coalesce(max(number), 0) + 1 from item_revisions where item_id = ?",
                                [item_id]).fetchone()[0]
        else:
            record = dict(item, source_id=source_id, first_seen_at=now, last_seen_at=now,
                          status_changed_at=now)
            item_id = db["items"].insert(record).last_pk
            number = 1
        revision_id = db["item_revisions"].insert(
            dict(revision, item_id=item_id, number=number, fetched_at=now)).last_pk
        updates = {"current_revision_id": revision_id, "last_seen_at": now}
        if existing and existing[1] == "published":
            # the public row keeps describing the approved revision until an editor accepts the new one
            updates["entry_hash"] = item["entry_hash"]
        elif existing:
            updates.update(item)
        db["items"].update(item_id, updates)
    return item_id, not existing


def touch_items(db: Database, item_ids: list[int]) -> None:
    """Mark items as seen again in the latest fetch."""
    if not item_ids:
        return
    now = utcnow()
    with transaction(db):
        for start in range(0, len(item_ids), 500):
            batch = item_ids[start:start + 500]
            db.execute(f"update items set last_seen_at = ? where id in ({', '.join('?' for _ in batch)})",
                       [now, *batch])


def get_item(db: Database, item_id: int) -> dict:
    """One item by id, or NotFoundError."""
    row = next(db.query("select * from items where id = ?", [item_id]), None)
    if row is None:
        raise NotFoundError(f"no item with id {item_id}")
    return decode_item(row)


def get_revision(db: Database, revision_id: int) -> dict | None:
    """One revision by id, JSON columns decoded."""
    return decode_revision(next(db.query("select * from item_revisions where id = ?", [revision_id]), None))


def item_revisions(db: Database, item_id: int) -> list[dict]:
    """All revisions of an item, oldest first."""
    return [decode_revision(row)
            for row in db.query("select * from item_revisions where item_id = ? order by number", [item_id])]


def list_items(db: Database, *, status: str | None = None, source_id: int | None = None,
               limit: int | None = None) -> list[dict]:
    """Items filtered by status and source, newest first."""
    clauses, params = [], []
    if status:
        clauses.append("status = ?")
        params.append(status)
    if source_id is not None:
        clauses.append("source_id = ?")
        params.append(source_id)
    where = ("where " + " and ".join(clauses)) if clauses else ""
    sql = f"select * from items {where} order by coalesce(published_at, first_seen_at) desc, id desc"
    if limit:
        sql += f" limit {int(limit)}"
    return [decode_item(row) for row in db.query(sql, params)]


def set_item_status(db: Database, item_id: int, status: str, *, reason: str | None = None,
                    fields: dict | None = None) -> dict:
    """Change an item's status (the workflow module decides whether it may)."""
    with transaction(db):
        updates = dict(encode_columns(fields or {}, ITEM_JSON_COLUMNS), status=status, status_reason=reason,
                       status_changed_at=utcnow())
        db["items"].update(item_id, updates)
    return get_item(db, item_id)


def update_item_fields(db: Database, item_id: int, fields: dict) -> dict:
    """Change an item's fields without touching its status."""
    with transaction(db):
        db["items"].update(item_id, encode_columns(fields, ITEM_JSON_COLUMNS))
    return get_item(db, item_id)


def rename_item_identity(db: Database, item_id: int, identity: str) -> None:
    """Give an item the identity its entry is known by now (its revisions and status stay)."""
    with transaction(db):
        db["items"].update(item_id, {"identity": identity})


def current_entry(db: Database, item_id: int) -> dict:
    """The entry as the item's latest revision received it (plain values)."""
    row = db.execute("select r.raw from items i join item_revisions r on r.id = i.current_revision_id "
                     "where i.id = ?", [item_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def update_revision(db: Database, revision_id: int, fields: dict) -> None:
    """Change a stored revision's processed fields (never its raw entry)."""
    fields = encode_columns({key: value for key, value in fields.items() if key != "raw"}, REVISION_JSON_COLUMNS)
    with transaction(db):
        db["item_revisions"].update(revision_id, fields)


def items_for_review(db: Database, *, source_id: int | None = None, item_ids: list[int] | None = None,
                     statuses: tuple[str, ...] = ("pending", "blocked")) -> list[dict]:
    """Items in the given statuses, with their current revision's raw entry and feed."""
    marks = ", ".join("?" for _ in statuses)
    sql = (f"select i.*, r.raw as revision_raw, {_REVISION_CHANNEL} as revision_feed, "
           f"r.content_html as revision_content_html, r.changes as revision_changes from items i "
           f"join item_revisions r on r.id = i.current_revision_id {_CHANNEL_JOIN} where i.status in ({marks})")
    params = list(statuses)
    if source_id is not None:
        sql += " and i.source_id = ?"
        params.append(source_id)
    if item_ids is not None:
        sql += f" and i.id in ({', '.join('?' for _ in item_ids) or 'null'})"
        params.extend(item_ids)
    columns = {"revision_raw": {}, "revision_feed": None, "revision_changes": {}, "license_override": None}
    return [dict(row, **{key: _decoded(row[key], default) for key, default in columns.items()})
            for row in db.query(sql + " order by i.id", params)]


def revisions_to_reprocess(db: Database, source_id: int | None = None, item_id: int | None = None) -> list[dict]:
    """Every revision an item shows or may show (current and approved), with its item's status."""
    sql = (f"select r.id, r.item_id, r.raw, {_REVISION_CHANNEL} as feed, r.decision, i.status, i.source_id, "
           f"i.edited_title, i.current_revision_id, i.approved_revision_id from item_revisions r "
           f"join items i on i.id = r.item_id {_CHANNEL_JOIN} "
           f"where (r.id = i.current_revision_id or r.id = i.approved_revision_id)")
    params = []
    if source_id is not None:
        sql += " and i.source_id = ?"
        params.append(source_id)
    if item_id is not None:
        sql += " and i.id = ?"
        params.append(item_id)
    return [decode_revision(row) for row in db.query(sql + " order by r.id", params)]


def record_feed_license(db: Database, source_id: int, found: dict | None, url: str | None = None) -> dict | None:
    """Remember the license a feed states, with its text; a change is added to the source's license history.

    Returns a change after the first fetch as {"before", "after"} observations (state, license, text,
    url, at), else None.
    """
    current, text = (found["license"], found.get("matched")) if found else (None, None)
    source = get_source(db, source_id)
    if current == source.get("feed_license"):
        if current and text and not source.get("feed_license_text"):  # stored before its text was kept
            with transaction(db):
                db["sources"].update(source_id, {"feed_license_text": text})
        return None
    with transaction(db):
        source = get_source(db, source_id)
        previous, now = source.get("feed_license"), utcnow()
        history = list(source["license_history"])
        change = None
        if source.get("last_success_at"):  # the first fetch sets the license, later ones change it
            history.append({"license": current, "previous": previous, "by": "feed",
                            "evidence": text or "the feed no longer states a license", "set_at": now})
            where = url or source["url"]
            change = {"before": {"state": "license" if previous else "none", "license": previous,
                                 "text": source.get("feed_license_text"), "url": where,
                                 "at": source.get("feed_license_at")},
                      "after": {"state": "license" if current else "none", "license": current, "text": text,
                                "url": where, "at": now}}
        db["sources"].update(source_id, {"feed_license": current, "feed_license_text": text, "feed_license_at": now,
                                         "license_history": json.dumps(history), "updated_at": now})
    return change


# ---------------------------------------------------------------- the license watch

PROPOSAL_COLUMNS = {"state": "proposal_state", "license": "proposed_license", "note": "proposal_note",
                    "url": "proposal_url", "text": "proposal_text", "sha256": "proposal_sha256",
                    "found_in": "proposal_found_in", "location": "proposal_location", "at": "proposal_at"}


def proposal_of(source: dict) -> dict | None:
    """The latest observation of a source's pages (what they propose, with its evidence), or None."""
    if not source.get("proposal_state"):
        return None
    return {key: source.get(column) for key, column in PROPOSAL_COLUMNS.items()}


def license_state(source: dict) -> dict:
    """A source's proposal, hold and watched evidence as plain values (JSON decoded here, nowhere else)."""
    hold = None
    if source.get("license_hold"):
        hold = {"reason": source["license_hold"], "since": source.get("license_hold_since"),
                "after_revision": source.get("license_hold_revision") or 0}
    watched = json.loads(source["license_watch"]) if source.get("license_watch") else None
    return {"proposal": proposal_of(source), "hold": hold, "watched": watched,
            "checked_at": source.get("pages_checked_at"), "due_at": source.get("pages_due_at")}


def record_license_check(db: Database, source_id: int, pages: list[dict], fields: dict, *,
                         observation: dict | None = None, first_watch: bool = False,
                         hold: str | None = None) -> dict:
    """Write one check of a source's pages: a row per page, the source's proposal, schedule and hold.

    observation replaces the latest proposal (a failed check leaves it); with first_watch it also becomes
    the evidence later checks are compared with; hold sets the license hold, keeping the time and
    revision of one that stands already.
    """
    with transaction(db):
        get_source(db, source_id)
        for page in pages:
            db["page_checks"].insert(page_check_row(source_id, page))
        updates = dict(fields, updated_at=utcnow())
        if observation is not None:
            updates.update({column: observation.get(key) for key, column in PROPOSAL_COLUMNS.items()})
            if first_watch:
                updates["license_watch"] = json.dumps(observation, ensure_ascii=False)
        db["sources"].update(source_id, updates)
        if hold:
            hold_license(db, source_id, hold)
    return get_source(db, source_id)


def page_check_row(source_id: int, page: dict) -> dict:
    """The stored row of one page check (its findings as JSON)."""
    decisive = page.get("decisive") or {}
    return {"source_id": source_id, "checked_at": page.get("checked_at") or utcnow(), "kind": page["kind"],
            "page_url": page.get("url"), "final_url": page.get("final_url"), "outcome": page["outcome"],
            "status": page.get("status"), "sha256": page.get("sha256"), "license": page.get("license"),
            "found_in": decisive.get("found_in"), "location": decisive.get("location"),
            "text": decisive.get("text"), "error": page.get("error"), "note": page.get("reason"),
            "findings": json.dumps(page.get("findings") or [], ensure_ascii=False)}


def hold_license(db: Database, source_id: int, reason: str) -> None:
    """Hold the source's new and changed items for an editor; a hold that stands keeps its start."""
    with transaction(db):
        source = get_source(db, source_id)
        if source.get("license_hold"):
            db["sources"].update(source_id, {"license_hold": reason})
            return
        # revisions are never deleted, so every revision stored from now on has a higher id
        last = db.execute("select coalesce(max(id), 0) from item_revisions").fetchone()[0]
        db["sources"].update(source_id, {"license_hold": reason, "license_hold_since": utcnow(),
                                         "license_hold_revision": last})


def page_checks(db: Database, source_id: int, limit: int = 20) -> list[dict]:
    """A source's latest page checks, newest first, findings decoded."""
    rows = db.query("select * from page_checks where source_id = ? order by id desc limit ?", [source_id, limit])
    return [dict(row, findings=json.loads(row["findings"] or "[]")) for row in rows]


def due_license_checks(db: Database, now: str | None = None) -> list[dict]:
    """Sources whose pages are due to be checked again."""
    return [decode_source(row) for row in db.query(
        "select * from sources where pages_due_at is not null and pages_due_at <= ? order by pages_due_at, id",
        [now or utcnow()])]


def last_page_url(db: Database, source_id: int, kind: str) -> str | None:
    """The page of this kind that the source's last check read (or tried to), or None."""
    row = db.execute("select page_url from page_checks where source_id = ? and kind = ? and page_url is not null "
                     "order by id desc limit 1", [source_id, kind]).fetchone()
    return row[0] if row else None


def newest_item_url(db: Database, source_id: int) -> str | None:
    """The link of the source's newest stored item, or None."""
    row = db.execute("select url from items where source_id = ? and url is not null "
                     "order by coalesce(published_at, first_seen_at) desc, id desc limit 1", [source_id]).fetchone()
    return row[0] if row else None


def published_with_approved_revision(db: Database):
    """Every published item with its approved revision's decision and credit, by id."""
    rows = db.query(
        "select i.id, coalesce(r.title, i.title) as title, i.source_id, r.id as revision_id, r.decision, "
        "r.attribution, r.content_html "
        "from items i "
        "left join item_revisions r on r.id = i.approved_revision_id where i.status = 'published' order by i.id")
    return (dict(row, decision=_decoded(row["decision"]), attribution=_decoded(row["attribution"], {}))
            for row in rows)


# ---------------------------------------------------------------- public site

# Bumps the site version; every cached page and feed is keyed by it.
_BUMP_SITE_VERSION = ("UPDATE site_state SET version = version + 1, "
                      "changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = 1")
_PUBLIC_ITEM_CHANGED = (
    "(old.status = 'published' OR new.status = 'published') AND ("
    "old.status IS NOT new.status OR old.approved_revision_id IS NOT new.approved_revision_id "
    "OR old.published_order IS NOT new.published_order OR old.title IS NOT new.title "
    "OR old.url IS NOT new.url OR old.language IS NOT new.language OR old.source_id IS NOT new.source_id "
    "OR old.published_at IS NOT new.published_at)")
_PUBLIC_SOURCE_COLUMNS = ("name", "slug", "url", "site_url", "language", "feed_title", "credit_name",
                          "remove_credit", "license", "license_evidence")
_PUBLIC_REVISION_CHANGED = ("(old.title IS NOT new.title OR old.content_html IS NOT new.content_html "
                            "OR old.attribution IS NOT new.attribution OR old.license IS NOT new.license)")


@migrations(name="0002_public_site")
def m0002_public_site(db: Database) -> None:
    """Site version, per-status counts, card excerpts and the FTS5 search index, kept by triggers."""
    # token: random per database, so that ETags of a fresh database never match an old one's
    db["site_state"].create({"id": int, "version": int, "changed_at": str, "token": str}, pk="id")
    db.execute("INSERT INTO site_state(id, version, changed_at, token) VALUES "
               "(1, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), lower(hex(randomblob(8))))")
    db["status_counts"].create({"status": str, "n": int}, pk="status")
    db.execute("INSERT INTO status_counts(status, n) SELECT status, count(*) FROM items GROUP BY status")
    db["public_text"].create({"item_id": int, "revision_id": int, "excerpt": str}, pk="item_id")
    db["public_index_queue"].create({"item_id": int}, pk="item_id")
    db.execute("CREATE VIRTUAL TABLE search_index USING fts5("
               "title, body, tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO public_index_queue(item_id) SELECT id FROM items WHERE status = 'published'")
    for statement in public_site_triggers():
        db.execute(statement)


def public_site_triggers() -> list[str]:
    """Triggers that keep counts, the site version and the index queue true on every write path."""
    source_changed = " OR ".join(f"old.{name} IS NOT new.{name}" for name in _PUBLIC_SOURCE_COLUMNS)
    return [
        f"""CREATE TRIGGER items_public_insert AFTER INSERT ON items BEGIN
            INSERT OR IGNORE INTO status_counts(status, n) VALUES (new.status, 0);
            UPDATE status_counts SET n = n + 1 WHERE status = new.status;
            {_BUMP_SITE_VERSION} AND new.status = 'published';
            INSERT OR IGNORE INTO public_index_queue(item_id) SELECT new.id WHERE new.status = 'published';
        END""",
        """CREATE TRIGGER items_status_count AFTER UPDATE OF status ON items
           WHEN old.status IS NOT new.status BEGIN
            UPDATE status_counts SET n = n - 1 WHERE status = old.status;
            INSERT OR IGNORE INTO status_counts(status, n) VALUES (new.status, 0);
            UPDATE status_counts SET n = n + 1 WHERE status = new.status;
        END""",
        f"""CREATE TRIGGER items_public_update AFTER UPDATE ON items WHEN {_PUBLIC_ITEM_CHANGED} BEGIN
            {_BUMP_SITE_VERSION};
            INSERT OR IGNORE INTO public_index_queue(item_id) VALUES (new.id);
            DELETE FROM search_index WHERE rowid = new.id AND new.status IS NOT 'published';
            DELETE FROM public_text WHERE item_id = new.id AND new.status IS NOT 'published';
        END""",
        f"""CREATE TRIGGER items_public_delete AFTER DELETE ON items BEGIN
            UPDATE status_counts SET n = n - 1 WHERE status = old.status;
            {_BUMP_SITE_VERSION} AND old.status = 'published';
            DELETE FROM search_index WHERE rowid = old.id;
            DELETE FROM public_text WHERE item_id = old.id;
            DELETE FROM public_index_queue WHERE item_id = old.id;
        END""",
        f"""CREATE TRIGGER revisions_public_update AFTER UPDATE ON item_revisions
           WHEN {_PUBLIC_REVISION_CHANGED} AND EXISTS (SELECT 1 FROM items WHERE id = new.item_id
                AND approved_revision_id = new.id AND status = 'published') BEGIN
            {_BUMP_SITE_VERSION};
            INSERT OR IGNORE INTO public_index_queue(item_id) VALUES (new.item_id);
        END""",
        f"CREATE TRIGGER sources_public_insert AFTER INSERT ON sources BEGIN {_BUMP_SITE_VERSION}; END",
        f"CREATE TRIGGER sources_public_delete AFTER DELETE ON sources BEGIN {_BUMP_SITE_VERSION}; END",
        f"""CREATE TRIGGER sources_public_update AFTER UPDATE ON sources WHEN {source_changed} BEGIN
            {_BUMP_SITE_VERSION};
        END""",
    ]


def site_state(db: Database) -> dict:
    """The site version, when it last changed, and this database's ETag token (one row)."""
    row = db.execute("SELECT version, changed_at, token FROM site_state WHERE id = 1").fetchone()
    return {"version": row[0], "changed_at": row[1], "token": row[2]}


def public_status_counts(db: Database) -> dict[str, int]:
    """Items per status, kept by triggers so that reading them costs one small scan."""
    return {row[0]: row[1] for row in db.execute("SELECT status, n FROM status_counts WHERE n > 0")}


def public_sources(db: Database) -> list[dict]:
    """Every source with the fields the public site shows, by name."""
    return list(db.query(
        "SELECT id, name, slug, url, site_url, language, feed_title, credit_name, remove_credit, license, "
        "license_evidence FROM sources ORDER BY name COLLATE NOCASE, id"))


def public_feed_emptied_at(db: Database, source_id: int | None = None) -> str | None:
    """A feed's latest withdrawal, else when its source was added (site-wide: the first source); None without one."""
    own = "AND source_id = ?" if source_id is not None else ""
    where = "WHERE id = ?" if source_id is not None else ""
    params = [source_id, source_id] if source_id is not None else []
    row = db.execute(f"SELECT coalesce((SELECT max(status_changed_at) FROM items WHERE status = 'withdrawn' {own}), "
                     f"(SELECT min(created_at) FROM sources {where}))", params).fetchone()
    return row[0]


# A search's work limit. Queries of several common words with few or no matches in common make FTS5
# walk whole posting lists, which grow with the archive; everything else stops after a page of rows.
# The limit is the CPU time of the thread that runs the search. SQLite VM steps measure that work badly:
# one step that reads a page of a posting list may decode a thousand rows, so a search that looks each
# of its words up in every segment of the index takes more steps than one that walks ten times as long.
# The time is the thread's own, so neither a busy machine nor other requests shorten it. At a thousand
# items no query of the benchmark takes 1 ms; at a million, those that go on walking (one in ten of the
# benchmark's, with words that never meet) stop at 3 ms instead of 10 to 20. The step count is a
# second limit, far above any search's, that does not depend on timing.
SEARCH_CPU_SECONDS = 0.003
SEARCH_STEP_BUDGET = 50_000
SEARCH_STEP_CHECK = 100

_CARD_COLUMNS = ("i.id, i.source_id, i.url, i.language, i.published_at, i.published_order, "
                 "coalesce(r.title, i.title) AS title, p.excerpt")
_CARD_JOINS = ("JOIN item_revisions r ON r.id = i.approved_revision_id "
               "LEFT JOIN public_text p ON p.item_id = i.id AND p.revision_id = i.approved_revision_id")
_FULL_COLUMNS = (_CARD_COLUMNS + ", i.authors, i.categories, i.enclosures, i.updated_at, i.status_changed_at, "
                 "r.content_html, r.attribution, r.changes, r.license, r.license_evidence, "
                 "CASE WHEN i.approved_revision_id = i.current_revision_id THEN NULL ELSE r.raw END AS approved_raw")


def public_items(db: Database, *, source_id: int | None = None, before: tuple[str, int] | None = None,
                 limit: int = 20, full: bool = False) -> list[dict]:
    """A keyset page of published items, newest first, with their approved revision joined in."""
    clauses, params = ["i.status = 'published'"], []
    if source_id is not None:
        clauses.append("i.source_id = ?")
        params.append(source_id)
    if before is not None:
        clauses.append("(i.published_order, i.id) < (?, ?)")
        params.extend(before)
    columns = _FULL_COLUMNS if full else _CARD_COLUMNS
    sql = (f"SELECT {columns} FROM items i {_CARD_JOINS} WHERE {' AND '.join(clauses)} "
           "ORDER BY i.published_order DESC, i.id DESC LIMIT ?")
    return list(db.query(sql, params + [int(limit)]))


def public_article(db: Database, item_id: int) -> dict | None:
    """One item in any status with its approved revision (None when the id is unknown)."""
    sql = (f"SELECT {_FULL_COLUMNS}, i.status, i.status_reason, i.approved_revision_id "
           "FROM items i LEFT JOIN item_revisions r ON r.id = i.approved_revision_id "
           "LEFT JOIN public_text p ON p.item_id = i.id AND p.revision_id = i.approved_revision_id "
           "WHERE i.id = ?")
    # read to the end: the site keeps its connections open, and a half-read query holds a snapshot
    rows = list(db.query(sql, [item_id]))
    return rows[0] if rows else None


def public_search(db: Database, match: str, *, before: int | None = None, limit: int = 20) -> list[dict]:
    """Published items matching an FTS5 query, newest stored first (rowid order, never bm25)."""
    sql, params = _public_search_sql(match, before, limit)
    return list(db.query(sql, params))


def public_search_bounded(db: Database, match: str, *, before: int | None = None, limit: int = 20,
                          steps: int | None = None, seconds: float | None = None) -> tuple[list[dict], bool]:
    """Like public_search, but stop after `seconds` of CPU time or `steps` VM steps: (rows so far, finished).

    Rows come newest first, so those found before a stop are the newest matches, in order. The time
    counts FTS5's reads and decoding of its index as well.
    """
    sql, params = _public_search_sql(match, before, limit)
    steps = SEARCH_STEP_BUDGET if steps is None else steps
    deadline = time.thread_time() + (SEARCH_CPU_SECONDS if seconds is None else seconds)
    checks = itertools.count(1)
    stopped = []

    def over_budget() -> int:
        """Nonzero (interrupt) once the budget is spent."""
        if next(checks) * SEARCH_STEP_CHECK > steps or time.thread_time() >= deadline:
            stopped.append(True)
            return 1
        return 0

    rows: list[dict] = []
    db.conn.set_progress_handler(over_budget, SEARCH_STEP_CHECK)
    try:
        # a plain cursor: db.query wraps the first step in a savepoint, and the stop may come inside it
        cursor = db.conn.execute(sql, params)
        keys = [column[0] for column in cursor.description]
        for row in cursor:
            rows.append(dict(zip(keys, row)))
    except sqlite3.OperationalError:
        if not stopped:
            raise
    finally:
        db.conn.set_progress_handler(None, 0)
    return rows, not stopped


# Chinese, Japanese, Thai, Lao, Khmer and Myanmar are written without spaces between words, and Korean
# joins particles to its words, so a tokenizer that splits on spaces makes one token of a whole run and
# finds a word only when it is the whole run. FTS5's trigram tokenizer would find substrings, but
# matches nothing shorter than three characters, and most Chinese and Korean words have two. So runs of
# these scripts are indexed as Lucene's CJK analyzer does, as overlapping bigrams ("東京都" gives "東京
# 京都"), followed by each character on its own: a query of two or more characters is the phrase of its
# bigrams, which matches where the characters stand together, and a query of one character is that
# character. search_index_text writes the index and search_match reads it the same way.
_SPACELESS_LETTERS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x20000, 0x3FFFF))  # ideographs, Hangul
_SPACELESS_MIXED = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1100, 0x11FF), (0x1780, 0x17FF), (0x3000, 0x33FF),
                    (0x4DC0, 0x4DFF), (0xA960, 0xA97F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F), (0xD7A4, 0xD7FF),
                    (0xF900, 0xFAFF), (0xFF66, 0xFFDC), (0x1AFF0, 0x1B16F))  # letters, marks, punctuation, symbols


def _char_class(spans) -> str:
    """A regex character class of (first, last) code point spans."""
    return "[" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in spans) + "]"


def _spans(codes) -> list[tuple[int, int]]:
    """Ascending code points as (first, last) spans of consecutive ones."""
    spans: list[list[int]] = []
    for code in codes:
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return [(low, high) for low, high in spans]


def is_word_character(char: str) -> bool:
    """Letters, digits and marks make the words of a search; anything else separates them."""
    return unicodedata.category(char)[0] in "LNM"


_SPACELESS_SCRIPTS = re.compile(_char_class(sorted(_SPACELESS_LETTERS + _SPACELESS_MIXED)) + "+")
_SPACELESS_GAPS = re.compile(_char_class(_spans(
    code for low, high in _SPACELESS_MIXED for code in range(low, high + 1)
    if not is_word_character(chr(code)))) + "+")
# the prefix indexes of 0005_search_scripts: a word of these lengths is found by its beginning at the
# cost of one term lookup, and shorter or longer ones are matched whole. FTS5 answers other prefix
# queries by merging the whole lists of every matching term first: at a million items that takes
# longer than a search may
SEARCH_PREFIX_LENGTHS = range(3, 17)


def _bigrams(run: str) -> list[str]:
    """Every two characters that stand together in a run, in order."""
    return [run[index:index + 2] for index in range(len(run) - 1)]


def _spaceless_tokens(found: re.Match) -> str:
    """The bigrams of each word of a spaceless script's run, then its characters, set off by spaces."""
    tokens = []
    for run in _SPACELESS_GAPS.split(found.group()):
        tokens += _bigrams(run) + list(run)
    return " " + " ".join(tokens) + " "


def search_index_text(text: str) -> str:
    """Text as the search index holds it (NFKC, runs of spaceless scripts as bigrams and characters)."""
    return _SPACELESS_SCRIPTS.sub(_spaceless_tokens, unicodedata.normalize("NFKC", text))


def _script_kind(char: str) -> str | None:
    """'spaceless' (a script written without spaces), 'word' (other letters, digits, marks) or None."""
    if not is_word_character(char):
        return None
    return "spaceless" if _SPACELESS_SCRIPTS.match(char) else "word"


def search_match(words: list[str]) -> str | None:
    """An FTS5 query for the articles holding every word, each token quoted so that no input is syntax."""
    phrases = []
    for word in words:
        # NFKC as in the index; it may also turn a symbol into letters and punctuation ("㈱" is "(株)")
        normalized = unicodedata.normalize("NFKC", word)
        for kind, chars in itertools.groupby(normalized, _script_kind):
            piece = "".join(chars)
            if kind == "spaceless":
                phrases.append('"' + " ".join(_bigrams(piece) or [piece]) + '"')
            elif kind == "word":
                phrases.append(f'"{piece}"' + ("*" if len(piece) in SEARCH_PREFIX_LENGTHS else ""))
    return " ".join(phrases) or None


def _public_search_sql(match: str, before: int | None, limit: int) -> tuple[str, list]:
    """The search statement and its parameters."""
    params: list = [match]
    keyset = ""
    if before is not None:
        keyset = "AND s.rowid < ?"
        params.append(int(before))
    sql = (f"SELECT {_CARD_COLUMNS} FROM search_index s JOIN items i ON i.id = s.rowid {_CARD_JOINS} "
           f"WHERE search_index MATCH ? {keyset} AND i.status = 'published' "
           "ORDER BY s.rowid DESC LIMIT ?")
    return sql, params + [int(limit)]


def public_max_item_id(db: Database) -> int:
    """The highest item id (bounds the sitemap's id ranges)."""
    return db.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0]


def public_items_in_id_range(db: Database, low: int, high: int) -> list[dict]:
    """Published items with low <= id < high, for one sitemap file."""
    # the unary + keeps the planner on the id range; the status index would walk every published row
    sql = ("SELECT i.id, coalesce(r.title, i.title) AS title, i.status_changed_at FROM items i "
           "JOIN item_revisions r ON r.id = i.approved_revision_id "
           "WHERE i.id >= ? AND i.id < ? AND +i.status = 'published' ORDER BY i.id")
    return list(db.query(sql, [low, high]))


def public_index_backlog(db: Database) -> bool:
    """Whether published items wait to be indexed."""
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM public_index_queue)").fetchone()[0])


def public_index_sync(db: Database, extract, limit: int = 500) -> bool:
    """Index queued items for search and card excerpts; extract(html) -> (text, excerpt). True if more wait."""
    if not public_index_backlog(db):
        return False
    rows = list(db.query(
        "SELECT q.item_id, i.status, i.approved_revision_id, r.title, r.content_html "
        "FROM public_index_queue q LEFT JOIN items i ON i.id = q.item_id "
        "LEFT JOIN item_revisions r ON r.id = i.approved_revision_id ORDER BY q.item_id LIMIT ?", [limit]))
    # parse outside the write lock; a row that changed meanwhile stays queued for the next run
    prepared = [(row, extract(row["content_html"] or "") if row["status"] == "published" else None)
                for row in rows]
    with transaction(db):
        for row, extracted in prepared:
            now = db.execute("SELECT status, approved_revision_id FROM items WHERE id = ?",
                             [row["item_id"]]).fetchone()
            if now is not None and (now[0], now[1]) != (row["status"], row["approved_revision_id"]):
                continue
            write_public_index_row(db, row, extracted)
    return public_index_backlog(db)


def write_public_index_row(db: Database, row: dict, extracted: tuple[str, str] | None) -> None:
    """Replace one item's search row and excerpt, and take it off the queue."""
    item_id = row["item_id"]
    db.execute("DELETE FROM search_index WHERE rowid = ?", [item_id])
    db.execute("DELETE FROM public_text WHERE item_id = ?", [item_id])
    if extracted is not None and row["approved_revision_id"]:
        text, excerpt = extracted
        db.execute("INSERT INTO search_index(rowid, title, body) VALUES (?, ?, ?)",
                   [item_id, search_index_text(row["title"] or ""), search_index_text(text)])
        db.execute("INSERT INTO public_text(item_id, revision_id, excerpt) VALUES (?, ?, ?)",
                   [item_id, row["approved_revision_id"], excerpt])
    db.execute("DELETE FROM public_index_queue WHERE item_id = ?", [item_id])


@migrations(name="0003_license_tracking")
def m0003_license_tracking(db: Database) -> None:
    """The license a feed states, the feed each revision came with, and editors' per-item overrides."""
    db["sources"].add_column("feed_license", str)
    db["item_revisions"].add_column("feed", str)
    db["items"].add_column("license_override", str)


@migrations(name="0004_license_watch")
def m0004_license_watch(db: Database) -> None:
    """Checks of publishers' own pages, the license they propose, and the hold a changed license sets."""
    db["page_checks"].create({
        "id": int, "source_id": int, "checked_at": str, "kind": str, "page_url": str, "final_url": str,
        "outcome": str, "status": int, "sha256": str, "license": str, "found_in": str, "location": str,
        "text": str, "error": str, "note": str, "findings": str,
    }, pk="id", foreign_keys=[("source_id", "sources", "id")], not_null={"source_id", "checked_at", "kind", "outcome"})
    db["page_checks"].create_index(["source_id", "id"])
    for column in ("proposed_license", "proposal_state", "proposal_note", "proposal_url", "proposal_text",
                   "proposal_sha256", "proposal_found_in", "proposal_location", "proposal_at",
                   "pages_checked_at", "pages_due_at", "license_watch", "license_hold", "license_hold_since",
                   "feed_license_text", "feed_license_at"):
        db["sources"].add_column(column, str)
    db["sources"].add_column("license_hold_revision", int)
    db["sources"].create_index(["pages_due_at"])


@migrations(name="0005_search_scripts")
def m0005_search_scripts(db: Database) -> None:
    """A search index for every script and for the beginnings of words, refilled from the published items."""
    db.execute("DROP TABLE search_index")
    # marks (M*) are part of words: without them Devanagari, Bengali or Thai words fall apart at every
    # vowel sign; prefix indexes answer "ferr" (every word of 3 to 16 characters) as fast as "ferry"
    db.execute("CREATE VIRTUAL TABLE search_index USING fts5(title, body, "
               "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\", "
               "prefix = '3 4 5 6 7 8 9 10 11 12 13 14 15 16')")
    db.execute("INSERT OR IGNORE INTO public_index_queue(item_id) SELECT id FROM items WHERE status = 'published'")
    # search pages change: a new site version, so that no reader is told their old copy is still good
    db.execute(_BUMP_SITE_VERSION)


@migrations(name="0006_card_excerpts")
def m0006_card_excerpts(db: Database) -> None:
    """Published items queued again for card excerpts, which now leave out frames' addresses and licenses."""
    db.execute("INSERT OR IGNORE INTO public_index_queue(item_id) SELECT id FROM items WHERE status = 'published'")
    # a new version, so that pages cached by readers under the old one are not answered 304
    db.execute(_BUMP_SITE_VERSION)


@migrations(name="0007_fetch_warnings")
def m0007_fetch_warnings(db: Database) -> None:
    """Faults a parser forgave: the source's latest warning, and each fetch's."""
    db["sources"].add_column("last_warning", str)
    db["fetch_log"].add_column("warning", str)


@migrations(name="0008_audit_log")
def m0008_audit_log(db: Database) -> None:
    """Who did what, when and why to items and sources; and the title an editor gave an item."""
    db["audit_log"].create({
        "id": int, "at": str, "actor": str, "action": str, "item_id": int, "source_id": int,
        "reason": str, "detail": str,
    }, pk="id", not_null={"at", "actor", "action"})
    db["audit_log"].create_index(["item_id", "id"])
    db["audit_log"].create_index(["source_id", "id"])
    db["items"].add_column("edited_title", str)


# ---------------------------------------------------------------- audit log


def record_audit(db: Database, actor: str, action: str, *, item_id: int | None = None,
                 source_id: int | None = None, reason: str | None = None, detail: dict | None = None) -> None:
    """Write one audit row; called inside the transaction of the change it records."""
    row = {"at": utcnow(), "actor": actor or "unknown", "action": action, "item_id": item_id,
           "source_id": source_id, "reason": reason}
    with transaction(db):
        db["audit_log"].insert(dict(row, detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None))
        pending_audit(db).append(row)


def audit_entries(db: Database, *, limit: int = 50, before: int | None = None, item_id: int | None = None,
                  source_id: int | None = None) -> list[dict]:
    """Audit rows newest first, as plain dicts; `before` is the id of the last row of the previous page."""
    clauses, params = [], []
    for column, value in (("item_id", item_id), ("source_id", source_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(int(value))
    if before is not None:
        clauses.append("id < ?")
        params.append(int(before))
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = db.query(f"SELECT id, at, actor, action, item_id, source_id, reason, detail FROM audit_log {where} "
                    "ORDER BY id DESC LIMIT ?", params + [int(limit)])
    return [dict(row, detail=json.loads(row["detail"]) if row["detail"] else None) for row in rows]


# ---------------------------------------------------------------- review


def _encoded(value) -> str | None:
    """A plain value as its JSON column holds it; text already encoded is kept as it is."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def encode_columns(fields: dict, columns) -> dict:
    """Fields with the JSON columns among them encoded."""
    return {key: _encoded(value) if key in columns else value for key, value in fields.items()}


def feed_column(feed: dict) -> str:
    """A feed as every revision fetched with it stores it (encoded once per fetch)."""
    return _encoded(feed)


def _decoded(value, default=None):
    """A JSON column's value as plain data (the default when empty)."""
    if value is None or value == "":
        return default
    return json.loads(value) if isinstance(value, str) else value


_REVIEW_RANK = "(CASE WHEN i.status = 'pending' OR i.review_flag IS NOT NULL THEN 0 ELSE 1 END)"
_REVIEW_DATE = "coalesce(i.published_at, i.first_seen_at)"


def review_queue(db: Database, *, source_id: int | None = None, status: str | None = None,
                 license: str | None = None, changed_upstream: bool | None = None, before: str | None = None,
                 limit: int = 50) -> list[dict]:
    """Items for editors: pending and flagged first, then newest first; `before` is a row's `cursor`."""
    clauses, params = [], []
    if source_id is not None:
        clauses.append("i.source_id = ?")
        params.append(int(source_id))
    if status:
        clauses.append("i.status = ?")
        params.append(status)
    if license:
        clauses.append("i.license = ?")
        params.append(license)
    if changed_upstream is not None:
        clauses.append("i.current_revision_id IS NOT i.approved_revision_id AND i.status = 'published'"
                       if changed_upstream else
                       "NOT (i.current_revision_id IS NOT i.approved_revision_id AND i.status = 'published')")
    if before:
        rank, date, item_id = parse_review_cursor(before)
        clauses.append(f"({_REVIEW_RANK} > ? OR ({_REVIEW_RANK} = ? AND ({_REVIEW_DATE} < ? "
                       f"OR ({_REVIEW_DATE} = ? AND i.id < ?))))")
        params += [rank, rank, date, date, item_id]
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (f"SELECT i.id, i.source_id, s.name AS source_name, i.status, i.status_reason, i.review_flag, "
           f"coalesce(i.edited_title, r.title, i.title) AS title, i.url, {_REVIEW_DATE} AS date, i.license, "
           f"i.license_evidence, i.current_revision_id, i.approved_revision_id, {_REVIEW_RANK} AS rank "
           f"FROM items i JOIN sources s ON s.id = i.source_id "
           f"LEFT JOIN item_revisions r ON r.id = i.current_revision_id {where} "
           f"ORDER BY rank, date DESC, i.id DESC LIMIT ?")
    return [review_row(row) for row in db.query(sql, params + [int(limit)])]


def review_row(row: dict) -> dict:
    """One queue row as plain values, with its evidence's level and location and a cursor after it."""
    evidence = _decoded(row.pop("license_evidence"), {}) or {}
    rank = row.pop("rank")
    changed = row["status"] == "published" and row["current_revision_id"] != row["approved_revision_id"]
    return dict(row, evidence_level=evidence.get("level"), evidence_location=evidence.get("location"),
                evidence_text=evidence.get("matched") or evidence.get("url"), changed_upstream=changed,
                warning=row["review_flag"] or row["status_reason"],
                cursor=f"{rank}|{row['date'] or ''}|{row['id']}")


def parse_review_cursor(cursor: str) -> tuple[int, str, int]:
    """(rank, date, id) from a review cursor; ValueError when it is not one."""
    rank, date, item_id = str(cursor).split("|")
    return int(rank), date, int(item_id)


def item_detail(db: Database, item_id: int) -> dict:
    """One item with its source and its current and approved revisions, JSON columns decoded."""
    item = decode_item(get_item(db, item_id))
    source = get_source(db, item["source_id"])
    current = decode_revision(get_revision(db, item["current_revision_id"])) if item["current_revision_id"] else None
    approved = None
    if item["approved_revision_id"]:
        approved = current if item["approved_revision_id"] == item["current_revision_id"] else \
            decode_revision(get_revision(db, item["approved_revision_id"]))
    return {"item": item, "source": {key: source.get(key) for key in ("id", "name", "slug", "url", "site_url",
                                                                      "license", "auto_approve")},
            "current": current, "approved": approved}


ITEM_JSON_COLUMNS = {"authors": [], "categories": [], "enclosures": [], "license_evidence": None,
                     "license_override": None}
REVISION_JSON_COLUMNS = {"raw": {}, "feed": None, "changes": {}, "license_evidence": None, "decision": {},
                         "attribution": {}}


def decode_item(row: dict | None) -> dict | None:
    """An item row with its JSON columns as plain values."""
    if row is None:
        return None
    return dict(row, **{key: _decoded(row.get(key), default) for key, default in ITEM_JSON_COLUMNS.items()
                        if key in row})


def decode_revision(row: dict | None) -> dict | None:
    """A revision row with its JSON columns as plain values."""
    if row is None:
        return None
    return dict(row, **{key: _decoded(row.get(key), default) for key, default in REVISION_JSON_COLUMNS.items()
                        if key in row})


@migrations(name="0009_desk_accounts")
def m0009_desk_accounts(db: Database) -> None:
    """Editors' accounts, their signed-in sessions, and login attempts for the lockout."""
    db["users"].create({
        "id": int, "name": str, "role": str, "password_hash": str, "disabled": int,
        "created_at": str, "updated_at": str, "password_changed_at": str, "last_login_at": str,
    }, pk="id", not_null={"name", "role", "password_hash", "created_at"}, defaults={"disabled": 0})
    db.execute("CREATE UNIQUE INDEX idx_users_name ON users(name COLLATE NOCASE)")
    db["user_sessions"].create({
        "token_hash": str, "user_id": int, "created_at": str, "last_seen_at": float, "address": str,
    }, pk="token_hash", foreign_keys=[("user_id", "users", "id")], not_null={"user_id", "last_seen_at"})
    db["user_sessions"].create_index(["user_id"])
    # at is Unix time in seconds (float): the lockout compares instants a fraction of a second apart
    db["login_attempts"].create({
        "id": int, "at": float, "account": str, "address": str, "outcome": str,
    }, pk="id", not_null={"at", "account", "address", "outcome"})
    db["login_attempts"].create_index(["account", "id"])
    db["login_attempts"].create_index(["address", "id"])


# ---------------------------------------------------------------- users, sessions, login attempts


USER_COLUMNS = "id, name, role, disabled, created_at, updated_at, password_changed_at, last_login_at"


def add_user(db: Database, name: str, role: str, password_hash: str) -> dict:
    """Create an account; a name taken in any letter case is refused."""
    now = utcnow()
    with transaction(db):
        if db.execute("SELECT 1 FROM users WHERE name = ? COLLATE NOCASE", [name]).fetchone():
            raise ValueError(f"a user named {name} exists already")
        user_id = db["users"].insert({"name": name, "role": role, "password_hash": password_hash,
                                      "disabled": 0, "created_at": now, "updated_at": now,
                                      "password_changed_at": now}).last_pk
    return get_user(db, user_id)


def get_user(db: Database, user_id: int) -> dict:
    """One account by id (without its hash), or NotFoundError."""
    rows = list(db.query(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", [user_id]))
    if not rows:
        raise NotFoundError(f"no user with id {user_id}")
    return rows[0]


def find_user(db: Database, name: str) -> dict | None:
    """One account by name, any letter case, with its password hash; None when unknown."""
    rows = list(db.query(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ? COLLATE NOCASE", [name]))
    return rows[0] if rows else None


def list_users(db: Database) -> list[dict]:
    """Every account by name, without hashes."""
    return list(db.query(f"SELECT {USER_COLUMNS} FROM users ORDER BY name COLLATE NOCASE"))


def update_user(db: Database, user_id: int, fields: dict, *, end_sessions: bool = False) -> dict:
    """Change an account; ending its sessions in the same transaction when asked."""
    with transaction(db):
        db["users"].update(user_id, dict(fields, updated_at=utcnow()))
        if end_sessions:
            db.execute("DELETE FROM user_sessions WHERE user_id = ?", [user_id])
    return get_user(db, user_id)


def record_login(db: Database, user_id: int, token_hash: str, address: str, now: float) -> None:
    """A successful login: a new session row and the login time."""
    with transaction(db):
        db["users"].update(user_id, {"last_login_at": utcnow()})
        db["user_sessions"].insert({"token_hash": token_hash, "user_id": user_id, "created_at": utcnow(),
                                    "last_seen_at": now, "address": address})


def session_user(db: Database, token_hash: str) -> dict | None:
    """The enabled account a session belongs to, with the session's last_seen_at; None when unknown."""
    columns = ", ".join(f"u.{name.strip()}" for name in USER_COLUMNS.split(","))
    rows = list(db.query(f"SELECT {columns}, s.last_seen_at FROM user_sessions s JOIN users u ON u.id = s.user_id "
                         "WHERE s.token_hash = ? AND u.disabled = 0", [token_hash]))
    return rows[0] if rows else None


def touch_session(db: Database, token_hash: str, now: float) -> None:
    """Note the session's latest request, for the idle expiry."""
    with transaction(db):
        db.execute("UPDATE user_sessions SET last_seen_at = ? WHERE token_hash = ?", [now, token_hash])


def end_session(db: Database, token_hash: str) -> None:
    """Forget one session (logout, idle expiry)."""
    with transaction(db):
        db.execute("DELETE FROM user_sessions WHERE token_hash = ?", [token_hash])


def recent_failures(db: Database, column: str, value: str, limit: int, since_success: bool) -> list[float]:
    """Times of the latest failed (or unfinished) attempts for an account or an address, newest first.

    For an account, only those after its last successful login count.
    """
    if column not in ("account", "address"):
        raise ValueError(f"login attempts are not counted by {column}")
    after = (f"AND id > coalesce((SELECT max(id) FROM login_attempts WHERE {column} = ? AND outcome = 'ok'), 0) "
             if since_success else "")
    sql = (f"SELECT at FROM login_attempts WHERE {column} = ? AND outcome IN ('failed', 'checking') {after}"
           "ORDER BY id DESC LIMIT ?")
    params = [value, value, int(limit)] if since_success else [value, int(limit)]
    return [row[0] for row in db.execute(sql, params).fetchall()]


def begin_login_attempt(db: Database, account: str, address: str, now: float, limits: tuple[int, int],
                        refusal) -> int | None:
    """Under the write lock: None when refusal(account_failures, address_failures) gives a reason, else
    the id of a new attempt.

    The attempt is stored as 'checking' before the password is hashed, so that logins racing in other
    processes count it already.
    """
    with transaction(db):
        reason = refusal(recent_failures(db, "account", account, limits[0], since_success=True),
                         recent_failures(db, "address", address, limits[1], since_success=False))
        attempt_id = db["login_attempts"].insert({"at": now, "account": account, "address": address,
                                                  "outcome": "refused" if reason else "checking"}).last_pk
    return None if reason else attempt_id


def finish_login_attempt(db: Database, attempt_id: int, succeeded: bool) -> None:
    """Record whether the password was right."""
    with transaction(db):
        db["login_attempts"].update(attempt_id, {"outcome": "ok" if succeeded else "failed"})


def login_attempts(db: Database, account: str, limit: int = 50) -> list[dict]:
    """An account's latest login attempts, newest first."""
    return list(db.query("SELECT * FROM login_attempts WHERE account = ? ORDER BY id DESC LIMIT ?",
                         [account, int(limit)]))
@migrations(name="0010_fetch_lease")
def m0010_fetch_lease(db: Database) -> None:
    """The fetcher's lease and the record of its cycles, and each source's claim while it is fetched."""
    db["fetch_lease"].create({
        "name": str, "holder": str, "acquired_at": float, "renewed_at": float, "expires_at": float,
        "cycle_at": float, "cycle_by": str,
    }, pk="name")
    db["sources"].add_column("claimed_by", str)
    db["sources"].add_column("claimed_until", float)


# ---------------------------------------------------------------- the fetcher's lease and claims
# Times here are seconds since the epoch (time.time()): a lease of a few seconds needs more than the
# whole seconds of the ISO timestamps used elsewhere.

FETCHER_LEASE = "fetcher"


def fetch_lease(db: Database) -> dict | None:
    """The fetcher's lease row (holder, expires_at, cycle_at, ...), or None before any was taken."""
    rows = list(db.query("SELECT * FROM fetch_lease WHERE name = ?", [FETCHER_LEASE]))
    return rows[0] if rows else None


def take_lease(db: Database, holder: str, previous: str | None, expires_at: float) -> bool:
    """Become the lease holder if the lease is still `previous`'s (compare and swap); True when taken."""
    now = time.time()
    with transaction(db):
        row = db.execute("SELECT holder FROM fetch_lease WHERE name = ?", [FETCHER_LEASE]).fetchone()
        if row is None:
            db.execute("INSERT INTO fetch_lease (name, holder, acquired_at, renewed_at, expires_at) "
                       "VALUES (?, ?, ?, ?, ?)", [FETCHER_LEASE, holder, now, now, expires_at])
            return True
        if row[0] != previous:
            return False
        db.execute("UPDATE fetch_lease SET holder = ?, acquired_at = ?, renewed_at = ?, expires_at = ? "
                   "WHERE name = ?", [holder, now, now, expires_at, FETCHER_LEASE])
    return True


def renew_lease(db: Database, holder: str, expires_at: float, cycle: bool = True) -> bool:
    """Extend the lease while `holder` has it, recording a cycle; False when another took it meanwhile."""
    now = time.time()
    with transaction(db):
        cursor = db.execute(
            "UPDATE fetch_lease SET renewed_at = ?, expires_at = ?, "
            "cycle_at = CASE WHEN ? THEN ? ELSE cycle_at END, cycle_by = CASE WHEN ? THEN ? ELSE cycle_by END "
            "WHERE name = ? AND holder = ?", [now, expires_at, cycle, now, cycle, holder, FETCHER_LEASE, holder])
        return cursor.rowcount == 1


def release_lease(db: Database, holder: str) -> None:
    """Give the lease up at once (a clean stop), so that another process need not wait for it to expire."""
    with transaction(db):
        db.execute("UPDATE fetch_lease SET holder = NULL, expires_at = 0 WHERE name = ? AND holder = ?",
                   [FETCHER_LEASE, holder])


def record_cycle(db: Database, holder: str) -> None:
    """Note that a fetch cycle ran now (a `fetch` or `worker --once` that holds no lease)."""
    with transaction(db):
        db.execute("INSERT INTO fetch_lease (name, cycle_at, cycle_by) VALUES (?, ?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET cycle_at = excluded.cycle_at, cycle_by = excluded.cycle_by",
                   [FETCHER_LEASE, time.time(), holder])


def claim_source(db: Database, source_id: int, holder: str, until: float, due_only: bool = False) -> bool:
    """Claim a source for `holder` until `until` unless a live claim stands; with due_only, only while due."""
    due = " AND (next_fetch_at IS NULL OR next_fetch_at <= ?)" if due_only else ""
    params = [holder, until, source_id, holder, time.time()] + ([utcnow()] if due_only else [])
    with transaction(db):
        cursor = db.execute(
            "UPDATE sources SET claimed_by = ?, claimed_until = ? WHERE id = ? "
            "AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?)" + due, params)
        return cursor.rowcount == 1


def source_claim(db: Database, source_id: int) -> dict:
    """Who claims a source and until when (both None when nobody does)."""
    row = db.execute("SELECT claimed_by, claimed_until FROM sources WHERE id = ?", [source_id]).fetchone()
    return {"claimed_by": row[0], "claimed_until": row[1]} if row else {"claimed_by": None, "claimed_until": None}


def release_claim(db: Database, source_id: int, holder: str) -> None:
    """End `holder`'s claim on a source."""
    with transaction(db):
        db.execute("UPDATE sources SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                   [source_id, holder])


def claim_holders(db: Database) -> list[str]:
    """Every holder that claims at least one source."""
    return [row[0] for row in db.execute("SELECT DISTINCT claimed_by FROM sources WHERE claimed_by IS NOT NULL")]


def release_claims_of(db: Database, holder: str) -> int:
    """End every claim of a holder that is gone; returns how many there were."""
    with transaction(db):
        return db.execute("UPDATE sources SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?",
                          [holder]).rowcount


def next_fetch_at(db: Database, exclude: list[int] = ()) -> str | None:
    """The earliest next fetch time (ISO) of the sources not in `exclude`, or None."""
    marks = ", ".join("?" for _ in exclude) or "NULL"
    row = db.execute(f"SELECT min(next_fetch_at) FROM sources WHERE id NOT IN ({marks})", list(exclude)).fetchone()
    return row[0]


def fetch_history(db: Database, source_id: int | None = None, since: str | None = None,
                  limit: int = 100) -> list[dict]:
    """Fetch log rows with their source's name, newest first, optionally of one source and since a time."""
    clauses, params = [], []
    if source_id is not None:
        clauses.append("l.source_id = ?")
        params.append(source_id)
    if since is not None:
        clauses.append("l.started_at >= ?")
        params.append(since)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return list(db.query(f"SELECT l.*, s.name AS source_name FROM fetch_log l JOIN sources s ON s.id = l.source_id "
                         f"{where} ORDER BY l.id DESC LIMIT ?", params + [int(limit)]))


def fetcher_health(db: Database, overdue_before: str) -> dict:
    """What the health check reports on fetching: the lease, sources overdue since a time, sources in error."""
    overdue = db.execute("SELECT count(*) FROM sources WHERE next_fetch_at <= ?", [overdue_before]).fetchone()[0]
    failing = list(db.query("SELECT id, name, last_error, last_error_at, error_count FROM sources "
                            "WHERE error_count > 0 ORDER BY error_count DESC, id"))
    return {"lease": fetch_lease(db), "overdue": overdue, "failing": failing}


# ---------------------------------------------------------------- channels, stored once

# A revision's channel: the shared row it names, else the copy revisions held before 0011_channels.
_REVISION_CHANNEL = "coalesce(c.body, r.feed)"
_CHANNEL_JOIN = "left join channels c on c.hash = r.channel_hash"


def channel_key(feed_json: str) -> str:
    """The key a channel's JSON is stored under: its SHA-256."""
    return hashlib.sha256(feed_json.encode("utf-8", "surrogatepass")).hexdigest()


def store_channel(db: Database, feed_json: str) -> str:
    """Store a channel's JSON once, however many revisions and fetches name it; returns its key."""
    key = channel_key(feed_json)
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO channels(hash, body) VALUES (?, ?)", [key, feed_json])
    return key


@migrations(name="0011_channels")
def m0011_channels(db: Database) -> None:
    """Channels stored once by content hash and named by revisions, which held a whole copy each."""
    db["channels"].create({"hash": str, "body": str}, pk="hash", not_null={"body"})
    db["item_revisions"].add_column("channel_hash", str)
    last = 0
    while True:
        rows = db.execute("SELECT id, feed FROM item_revisions WHERE feed IS NOT NULL AND id > ? "
                          "ORDER BY id LIMIT 500", [last]).fetchall()
        if not rows:
            break
        for revision_id, feed_json in rows:
            key = channel_key(feed_json)
            db.execute("INSERT OR IGNORE INTO channels(hash, body) VALUES (?, ?)", [key, feed_json])
            db.execute("UPDATE item_revisions SET channel_hash = ?, feed = NULL WHERE id = ?", [key, revision_id])
        last = rows[-1][0]
