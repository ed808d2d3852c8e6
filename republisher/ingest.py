"""Orchestrator: fetch -> parse -> process -> store for one source or many, in parallel."""

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from collections import Counter
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from . import fetcher, gate, licenses, licensing, pagecheck, parser, processor, schedule, storage, workflow
from .errors import FetchError, ParseError, RepublisherError

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
    storage.record_fetch(db, source["id"], dict(log_row, started_at=started_at, url=source["url"]), fields)
    log.info("fetched source=%s status=%s bytes=%s ms=%s new=%s updated=%s blocked=%s error=%s warning=%s",
             source["id"], report.status, report.bytes, report.duration_ms, report.new, report.updated,
             report.blocked, report.error, report.warning)
    return report


def describe_failure(exc: Exception, source: dict) -> str:
    """The one-line error a failed refresh leaves on its source."""
    if isinstance(exc, (FetchError, ParseError)):
        return str(exc) or type(exc).__name__
    if isinstance(exc, RepublisherError):
        return f"{type(exc).__name__}: {exc}"
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
    batch = Batch(source, feed, json.dumps(feed, ensure_ascii=False, default=str), storage.utcnow(),
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
            counts[store_entry(db, batch, entry, stored)] += 1
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


def store_entry(db, batch: "Batch", parsed, stored: dict | None) -> str:
    """Process one new or changed entry and store it; returns 'new', 'updated' or 'blocked'."""
    entry, identity, digest = parsed.values, parsed.identity, parsed.fingerprint
    source, policy = batch.source, batch.policy
    override = json.loads(stored["license_override"]) if stored and stored.get("license_override") else None
    processed = processor.process_entry(entry, batch.feed, source, policy, batch.seen_at, override, batch.hold)
    decision = processed["decision"]
    item = processor.item_fields(entry, identity, digest, decision)
    revision = {
        "entry_hash": digest, "raw": json.dumps(entry, ensure_ascii=False, default=str),
        "channel_hash": channel_key(db, batch),
        "title": entry.get("title"), "content_html": processed["content_html"],
        "changes": json.dumps(processed["changes"]), "license": decision.get("license"),
        "license_evidence": json.dumps(decision.get("evidence")), "decision": json.dumps(decision),
        "attribution": json.dumps(processed["attribution"], ensure_ascii=False),
    }
    auto = bool(source.get("auto_approve"))
    with storage.transaction(db):
        if stored is None:
            problems = gate.problems(decision, processed["attribution"], processed["content_html"], policy) \
                if auto else []
            status, reason = workflow.initial_status(decision, auto, problems)
            item.update(status=status, status_reason=reason)
            item_id, _ = storage.store_item(db, source["id"], item, revision)
            if status == "published":
                workflow.publish_current(db, item_id, batch.site_policy)
            return "blocked" if status == "blocked" else "new"
        item_id, _ = storage.store_item(db, source["id"], item, revision)
        workflow.apply_decision(db, item_id, decision, auto, batch.site_policy)
    return "blocked" if not decision.get("allowed") else "updated"


def channel_key(db, batch: "Batch") -> str:
    """The key of the fetch's channel, stored once with the first revision that names it.

    Not before: a channel that changes at every fetch (a build date) but brings no new entry stores nothing.
    """
    if "key" not in batch.stored_channel:
        batch.stored_channel["key"] = storage.store_channel(db, batch.feed_json)
    return batch.stored_channel["key"]


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
    interval = schedule.next_interval(source.get("interval_seconds") or config.interval, result.headers, ttl)
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


def refresh_many(sources: list[dict], config: IngestConfig, progress=None) -> list[FetchReport]:
    """Refresh sources in parallel with a per-host limit; each worker thread has its own connection."""
    host_limits: dict[str, threading.BoundedSemaphore] = {}
    lock = threading.Lock()
    local = threading.local()

    def host_slot(url: str) -> threading.BoundedSemaphore:
        """The semaphore that bounds parallel fetches to one host."""
        host = (urlsplit(url).hostname or "").lower()
        with lock:
            return host_limits.setdefault(host, threading.BoundedSemaphore(config.per_host))

    def run(source: dict) -> FetchReport:
        """Refresh one source on this thread's connection."""
        if getattr(local, "db", None) is None:
            local.db = storage.connect(config.database)
        with host_slot(source["url"]):
            return refresh_source(local.db, source, config)

    reports = []
    if not sources:
        return reports
    with ThreadPoolExecutor(max_workers=min(config.workers, len(sources))) as pool:
        futures = {pool.submit(run, source): source for source in sources}
        for future in as_completed(futures):
            try:
                report = future.result()
            except Exception as exc:  # storage trouble on one source still leaves the others
                source = futures[future]
                log.exception("refresh of source %s failed", source["id"])
                report = FetchReport(source["id"], source["name"], source["url"], "error",
                                     error=f"internal error: {exc}")
            reports.append(report)
            if progress:
                progress(report)
    reports.sort(key=lambda report: report.source_id)
    return reports
