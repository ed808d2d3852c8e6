"""Orchestrator: fetch -> parse -> process -> store for one source or many, in parallel."""

import hashlib
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from . import decisions, fetcher, lease, licenses, licensing, pagecheck, parser, processor, sandbox, schedule, storage
from .errors import BudgetExceededError, FetchError, ParseError, RepublisherError

log = logging.getLogger("republisher.ingest")


@dataclass(frozen=True)
class IngestConfig:
    """Everything the pipeline needs to know, taken from the app's settings once."""

    database: str
    policy: frozenset
    limits: fetcher.FetchLimits = field(default_factory=fetcher.FetchLimits)
    guard: fetcher.AddressGuard = field(default_factory=fetcher.AddressGuard)
    user_agent: str = "republisher"
    workers: int = 8
    per_host: int = 2
    interval: int = 1800
    max_backoff: int = 86400
    busy_timeout: float = storage.BUSY_TIMEOUT_SECONDS
    min_interval: int = schedule.MIN_INTERVAL
    cpu_seconds: int = 60  # per source, fetch, parse and store together, in a child process
    source_deadline: float = 120.0
    memory_mb: int = 1024
    lease_seconds: float = 30.0


def config_from_settings(settings: dict, policy: frozenset) -> IngestConfig:
    """Build the pipeline configuration from validated settings."""
    return IngestConfig(
        database=settings["DATABASE"],
        policy=policy,
        limits=fetcher.FetchLimits(
            connect_timeout=settings["FETCH_CONNECT_TIMEOUT"], read_timeout=settings["FETCH_READ_TIMEOUT"],
            deadline=settings["FETCH_DEADLINE"], max_bytes=settings["FETCH_MAX_BYTES"]),
        guard=fetcher.AddressGuard(allow_private=settings["ALLOW_PRIVATE_ADDRESSES"],
                                   allowed_networks=tuple(settings["FETCH_ALLOWED_NETWORKS"])),
        user_agent=settings["USER_AGENT"],
        workers=settings["FETCH_WORKERS"],
        per_host=settings["FETCH_PER_HOST"],
        interval=settings["FETCH_INTERVAL"],
        max_backoff=settings["FETCH_MAX_BACKOFF"],
        busy_timeout=settings.get("DATABASE_BUSY_TIMEOUT", storage.BUSY_TIMEOUT_SECONDS),
        min_interval=settings["FETCH_MIN_INTERVAL"],
        cpu_seconds=settings["FETCH_CPU_SECONDS"],
        source_deadline=settings["FETCH_SOURCE_DEADLINE"],
        memory_mb=settings["FETCH_MEMORY_MB"],
        lease_seconds=settings["FETCH_LEASE_SECONDS"],
    )


@dataclass(frozen=True)
class FetchReport:
    """What one refresh of one source did, as the fetch log and the operator see it."""

    source_id: int
    name: str
    url: str
    outcome: str  # "ok", "not modified", "unchanged" or "error"
    status: int | None = None
    bytes: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    blocked: int = 0
    error: str | None = None
    warning: str | None = None  # a fault the parser forgave; the fetch still succeeded
    duration_ms: int = 0

    def as_dict(self) -> dict:
        """The report as plain values (for JSON output)."""
        return asdict(self)


@dataclass(frozen=True)
class Stored:
    """What storing one fetched body did."""

    outcome: str  # "ok"; "unchanged" when the body was the one stored last time; "error" when some was lost
    counts: Counter
    fields: dict  # source fields learned from the body
    feed: dict | None = None
    warning: str | None = None
    error: str | None = None  # what could be read was stored, but the source is reported broken


@dataclass(frozen=True)
class Batch:
    """What every entry of one fetched body is processed with."""

    source: dict  # with what this fetch learned, and the license hold as it stands now
    feed: dict
    feed_json: str
    seen_at: str
    policy: frozenset  # the source's own policy within the site's
    hold: str | None  # the license hold new revisions are decided under
    site_policy: frozenset
    stored_channel: dict = field(default_factory=dict)  # the channel's key, once a revision stored it


def refresh_source(db, source: dict, config: IngestConfig) -> FetchReport:
    """Fetch one source and store what is new or changed; never raises for feed problems."""
    started, started_at = time.monotonic(), storage.utcnow()
    fields = {"last_fetch_at": started_at}
    status = size = None
    stored = Stored("not modified", Counter(), {})
    error = None
    try:
        result = fetcher.fetch(source["url"], etag=source.get("etag"), last_modified=source.get("last_modified"),
                               limits=config.limits, guard=config.guard, user_agent=config.user_agent)
        status, size = result.status, result.bytes_received
        if result.permanent_url:
            fields["url"] = result.permanent_url
        if result.status != 304:
            stored = ingest_body(db, source, result, config)
            fields.update(stored.fields)
        error = stored.error
        if error is None:
            # validators are kept only once the body was fully stored, so a failed run fetches it whole again
            fields.update(validator_fields(result))
            fields.update(success_fields(source, result, config, stored))
        else:
            fields.update(error_fields(source, error, config, None))
    except Exception as exc:  # one broken source must never stop the batch
        error = describe_failure(exc, source)
        fields.update(error_fields(source, error, config, getattr(exc, "retry_after", None)))
        stored = Stored("error", stored.counts, {})
    counts = stored.counts
    report = FetchReport(
        source_id=source["id"], name=source["name"], url=source["url"], outcome=stored.outcome,
        status=status, bytes=size or 0, new=counts["new"], updated=counts["updated"],
        unchanged=counts["unchanged"], blocked=counts["blocked"], error=error, warning=stored.warning,
        duration_ms=int((time.monotonic() - started) * 1000))
    log_row = {key: value for key, value in report.as_dict().items() if key not in ("source_id", "name")}
    try:
        storage.record_fetch(db, source["id"], dict(log_row, started_at=started_at, url=source["url"]), fields)
        decisions.sync_public_index(db)
    except sqlite3.OperationalError as exc:
        # the source keeps its schedule, so it is due again at once: nothing is lost but this log row
        log.error("source %s: fetch not recorded, %s", source["id"], database_failure(exc))
    log.log(logging.WARNING if report.error else logging.INFO,
            "fetched source=%s status=%s bytes=%s ms=%s new=%s updated=%s blocked=%s error=%s warning=%s",
            source["id"], report.status, report.bytes, report.duration_ms, report.new, report.updated,
            report.blocked, report.error, report.warning)
    return report


DATABASE_CAUSES = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_BUSY": "the database is locked by another writer",
    "SQLITE_CANTOPEN": "the database file cannot be opened",
    "SQLITE_IOERR": "the disk could not be read or written",
}


def database_failure(exc: sqlite3.Error) -> str:
    """One line naming what is wrong with the database, in words and with SQLite's own message."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    cause = next((text for name, text in DATABASE_CAUSES.items() if code.startswith(name)), "database error")
    return f"{cause} ({code or type(exc).__name__}: {exc})"


def describe_failure(exc: Exception, source: dict) -> str:
    """The one-line error a failed refresh leaves on its source."""
    if isinstance(exc, (FetchError, ParseError)):
        return str(exc) or type(exc).__name__
    if isinstance(exc, RepublisherError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, sqlite3.OperationalError):
        return database_failure(exc)
    log.exception("unexpected error while refreshing source %s", source["id"])
    return f"internal error: {type(exc).__name__}: {exc}"


def ingest_body(db, source: dict, result, config: IngestConfig) -> Stored:
    """Parse a fetched body once and store its new and changed entries."""
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == source.get("body_hash"):
        return Stored("unchanged", Counter(), {})
    document = parser.parse_document(result.body, result.headers, result.url)
    feed = document.feed
    watch_feed_license(db, source, feed, result.url)
    fields = feed_fields(source, feed)
    source = dict(source, **fields, **current_hold(db, source["id"]))
    batch = Batch(source, feed, storage.feed_column(feed), storage.utcnow(),
                  licenses.source_policy(source.get("allowed_licenses"), config.policy),
                  processor.license_hold(source), config.policy)
    known = known_entries(db, source["id"], document.entries)
    counts, touched, failures = Counter(), [], []
    for entry in document.entries:
        stored = known.get(entry.identity)
        if stored and same_entry(db, stored, entry):
            counts["unchanged"] += 1
            touched.append(stored["id"])
            continue
        try:
            counts[decisions.record_revision(db, batch, entry, stored)] += 1
        except sqlite3.OperationalError:
            raise  # the database's trouble, not the entry's: the rest of the body waits for the next fetch
        except Exception as exc:  # one broken entry must not keep the others of its feed out
            if not isinstance(exc, RepublisherError):
                log.exception("entry %s of source %s could not be processed", entry.identity, source["id"])
            failures.append(f"{entry.identity}: {type(exc).__name__}: {exc}")
    storage.touch_items(db, touched)
    if failures:
        error = (f"{len(failures)} of {len(document.entries)} entries could not be processed; "
                 f"first: {failures[0]}")
        return Stored("error", counts, fields, feed, warning(document), error)
    if document.broken:
        # what could be read is kept, but the source is reported broken and fetched whole next time
        error = f"malformed feed, {len(document.entries)} items kept: {document.problem}"
        return Stored("error", counts, fields, feed, warning(document), error)
    fields["body_hash"] = body_hash
    return Stored("ok", counts, fields, feed, warning(document))


def known_entries(db, source_id: int, entries: list) -> dict[str, dict]:
    """identity -> stored item for the document's entries, taking over items stored under another identity.

    An entry without a GUID is known by its link alone while no other entry shares it, and by its link,
    title and date while one does; an item stored under the other name (or under the link alone, as
    earlier versions stored entries with enclosures) is this entry's only when its stored values say so.
    """
    identities = {entry.identity for entry in entries}
    others = {entry.identity: [name for name in parser.other_identities(entry) if name not in identities]
              for entry in entries}
    wanted = sorted(identities | {name for names in others.values() for name in names})
    stored = storage.known_entries(db, source_id, wanted)
    known = {identity: stored.pop(identity) for identity in identities if identity in stored}
    for entry in entries:
        if entry.identity in known:
            continue
        for name in others[entry.identity]:
            if name in stored and parser.same_item(storage.current_entry(db, stored[name]["id"]), entry):
                storage.rename_item_identity(db, stored[name]["id"], entry.identity)
                known[entry.identity] = stored.pop(name)
                break
    return known


def same_entry(db, stored: dict, entry) -> bool:
    """Whether a stored item already holds what the entry says (by fingerprint)."""
    if stored["entry_hash"] == entry.fingerprint:
        return True
    if (stored["entry_hash"] or "").startswith(parser.FINGERPRINT_PREFIX):
        return False
    # stored under the former fingerprint: compare what the latest revision says, once, and keep the new one
    if parser.fingerprint(storage.current_entry(db, stored["id"])) != entry.fingerprint:
        return False
    storage.update_item_fields(db, stored["id"], {"entry_hash": entry.fingerprint})
    return True


def warning(document) -> str | None:
    """The one-line warning for a document the parser had to forgive, with what it left out."""
    parts = [document.problem] if document.problem else []
    if document.skipped:
        parts.append(f"{document.skipped} {'entry' if document.skipped == 1 else 'entries'} left out "
                     "(a repeated identity, or cut off)")
    return "; ".join(parts) or None


def watch_feed_license(db, source: dict, feed: dict, url: str) -> None:
    """Record the license the feed states; one that disappears or changes holds new items for an editor."""
    change = storage.record_feed_license(db, source["id"], licensing.feed_license(feed), url)
    if change and pagecheck.license_change(change["before"], change["after"], source.get("license")):
        storage.hold_license(db, source["id"], pagecheck.hold_reason("the feed", change["before"], change["after"]))


def current_hold(db, source_id: int) -> dict:
    """The source's license hold as it stands now (a check or this fetch may have set it meanwhile)."""
    source = storage.get_source(db, source_id)
    return {"license_hold": source.get("license_hold"), "license_hold_revision": source.get("license_hold_revision")}


def validator_fields(result) -> dict:
    """Validators to send next time (a 304 keeps the ones we have)."""
    if result.status == 304:
        return {}
    return {"etag": result.etag, "last_modified": result.last_modified}


def feed_fields(source: dict, feed: dict) -> dict:
    """Source fields learned from the feed itself."""
    fields = {"feed_title": feed.get("title"), "language": feed.get("language") or source.get("language"),
              "site_url": feed.get("link") or source.get("site_url")}
    if source.get("name") == source.get("url") and feed.get("title"):
        fields["name"] = feed["title"]
        fields["slug_from_name"] = True
    return fields


def success_fields(source: dict, result, config: IngestConfig, stored: Stored) -> dict:
    """Schedule and health after a successful fetch: the interval, or longer if the server or feed asks.

    A body read again (304 or the same bytes) keeps the warning it had; a new body says its own.
    """
    now = storage.utcnow()
    ttl = ((stored.feed or {}).get("raw") or {}).get("ttl")
    interval = schedule.next_interval(source.get("interval_seconds") or config.interval, result.headers, ttl,
                                      floor=config.min_interval)
    fields = {"error_count": 0, "last_success_at": now, "last_error": None,
              "next_fetch_at": storage.later(interval), "updated_at": now}
    if stored.outcome == "ok":
        fields["last_warning"] = stored.warning
    return fields


def error_fields(source: dict, error: str, config: IngestConfig, retry_after: float | None) -> dict:
    """Backoff and health after a failed fetch; the source stays enabled."""
    count = (source.get("error_count") or 0) + 1
    delay = schedule.backoff(count, retry_after, config.max_backoff)
    now = storage.utcnow()
    return {"error_count": count, "last_error": error or "unknown error", "last_error_at": now,
            "next_fetch_at": storage.later(delay), "updated_at": now}


class HostSlots:
    """Semaphores that bound parallel fetches to one host."""

    def __init__(self, per_host: int):
        self.per_host = per_host
        self.slots: dict[str, threading.BoundedSemaphore] = {}
        self.lock = threading.Lock()

    def slot(self, url: str) -> threading.BoundedSemaphore:
        """The semaphore of the URL's host."""
        host = (urlsplit(url).hostname or "").lower()
        with self.lock:
            return self.slots.setdefault(host, threading.BoundedSemaphore(self.per_host))


def release_dead_claims(db) -> None:
    """End the claims of holders that are gone, so that no source stays claimed after a crash."""
    for holder in storage.claim_holders(db):
        if not lease.is_alive(holder):
            released = storage.release_claims_of(db, holder)
            log.warning("released %s source claims of %s, which is gone", released, holder)


def claim_until(config: IngestConfig) -> float:
    """When a claim taken now expires: after the wall-clock budget of one source, with a margin."""
    return time.time() + config.source_deadline + 30


def budget(config: IngestConfig) -> sandbox.Budget:
    """The limits one source's refresh runs under."""
    return sandbox.Budget(config.cpu_seconds, config.source_deadline, config.memory_mb * 2**20)


def refresh_in_child(source: dict, config: IngestConfig) -> FetchReport:
    """Refresh one source on a connection of its own: the work of one child process."""
    db = storage.connect(config.database, config.busy_timeout)
    try:
        return refresh_source(db, source, config)
    finally:
        db.conn.close()


def refresh_claimed(db, source_id: int, config: IngestConfig, cancel: threading.Event | None = None,
                    isolated: bool = True) -> FetchReport:
    """Refresh a source this process has claimed, in a child process under the budgets (or, trusted, here).

    The source is read again first: the claim may have come long after the list it was chosen from.
    A child that is stopped leaves the error on the source, which backs off like any failed fetch.
    """
    source = storage.get_source(db, source_id)
    if not isolated:
        return refresh_source(db, source, config)
    started, started_at = time.monotonic(), storage.utcnow()
    try:
        return sandbox.run(refresh_in_child, (source, config), budget(config), cancel)
    except (BudgetExceededError, RuntimeError) as exc:
        error = str(exc) if isinstance(exc, BudgetExceededError) else f"internal error: {exc}"
        return record_stopped(db, source, config, error, started, started_at)


def record_stopped(db, source: dict, config: IngestConfig, error: str, started: float, started_at: str) -> FetchReport:
    """Log a refresh that was stopped before it could report, and back the source off."""
    report = FetchReport(source_id=source["id"], name=source["name"], url=source["url"], outcome="error",
                         error=error, duration_ms=int((time.monotonic() - started) * 1000))
    log_row = {key: value for key, value in report.as_dict().items() if key not in ("source_id", "name")}
    fields = dict(error_fields(source, error, config, None), last_fetch_at=started_at)
    storage.record_fetch(db, source["id"], dict(log_row, started_at=started_at), fields)
    return report


def busy_report(source: dict, claim: dict) -> FetchReport:
    """The report for a source another live process is fetching now."""
    return FetchReport(source["id"], source["name"], source["url"], "busy",
                       warning=f"being fetched by {claim['claimed_by']}")


def refresh_many(sources: list[dict], config: IngestConfig, progress=None, due_only: bool = False,
                 isolated: bool = False) -> list[FetchReport]:
    """Refresh sources in parallel, each claimed for this process; with `isolated`, each in a child process.

    The fetcher's commands (`fetch`, `worker`, `serve`) isolate every source, so that its budgets apply
    and a kill leaves no writer behind; a trusted caller (the demo's bundled feeds) may save the fork.
    A per-host limit applies; each worker thread has its own connection. A source another live process
    claims is left to it, and with due_only a source that stopped being due meanwhile is skipped, so that
    a cron `fetch` beside a running worker never fetches a source twice.
    """
    reports: list[FetchReport] = []
    if not sources:
        return reports
    holder, hosts, local = lease.holder_id(), HostSlots(config.per_host), threading.local()
    setup = storage.connect(config.database)
    try:
        release_dead_claims(setup)
    finally:
        setup.conn.close()

    def run(source: dict) -> FetchReport | None:
        """Claim one source, refresh it on this thread's connection, release it."""
        if getattr(local, "db", None) is None:
            local.db = storage.connect(config.database, config.busy_timeout)
        if not storage.claim_source(local.db, source["id"], holder, claim_until(config), due_only):
            claim = storage.source_claim(local.db, source["id"])
            return busy_report(source, claim) if claim["claimed_by"] else None
        try:
            with hosts.slot(source["url"]):
                return refresh_claimed(local.db, source["id"], config, isolated=isolated)
        finally:
            storage.release_claim(local.db, source["id"], holder)

    with ThreadPoolExecutor(max_workers=min(config.workers, len(sources))) as pool:
        futures = {pool.submit(run, source): source for source in sources}
        for future in as_completed(futures):
            try:
                report = future.result()
            except Exception as exc:  # storage trouble on one source still leaves the others
                source = futures[future]
                if isinstance(exc, sqlite3.OperationalError):
                    error = database_failure(exc)
                    log.error("refresh of source %s failed: %s", source["id"], error)
                else:
                    log.exception("refresh of source %s failed", source["id"])
                    error = f"internal error: {exc}"
                report = FetchReport(source["id"], source["name"], source["url"], "error", error=error)
            if report is None:
                continue
            reports.append(report)
            if progress:
                progress(report)
    reports.sort(key=lambda report: report.source_id)
    return reports
