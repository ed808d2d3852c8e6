"""Orchestrator: fetch -> parse -> process -> store for one source or many, in parallel."""

import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import fetcher, gate, licenses, licensing, pagecheck, parser, processor, schedule, storage, workflow
from .errors import EntryError, FetchError, ParseError, RepublisherError

log = logging.getLogger("republisher.ingest")
BENIGN_PARSER_COMPLAINTS = ("CharacterEncodingOverride", "NonXMLContentType")


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


def refresh_source(db, source: dict, config: IngestConfig) -> dict:
    """Fetch one source and store what is new or changed; never raises for feed problems."""
    started, started_at = time.monotonic(), storage.utcnow()
    report = {"source_id": source["id"], "name": source["name"], "url": source["url"], "status": None,
              "bytes": 0, "new": 0, "updated": 0, "unchanged": 0, "blocked": 0, "error": None,
              "outcome": "ok"}
    fields = {"last_fetch_at": started_at}
    try:
        result = fetcher.fetch(source["url"], etag=source.get("etag"), last_modified=source.get("last_modified"),
                               limits=config.limits, guard=config.guard, user_agent=config.user_agent)
        report.update(status=result.status, bytes=result.bytes_received)
        if result.permanent_url:
            fields["url"] = result.permanent_url
        feed = None
        if result.status == 304:
            report["outcome"] = "not modified"
        else:
            feed = ingest_body(db, source, result, config, report, fields)
        # validators are kept only once the body was fully stored, so a failed run fetches it whole again
        fields.update(validator_fields(result))
        fields.update(success_fields(source, result, config, feed))
    except (FetchError, ParseError) as exc:
        report.update(error=str(exc), outcome="error")
        fields.update(error_fields(source, exc, config))
    except RepublisherError as exc:
        report.update(error=f"{type(exc).__name__}: {exc}", outcome="error")
        fields.update(error_fields(source, exc, config))
    except Exception as exc:  # one broken source must never stop the batch
        log.exception("unexpected error while refreshing source %s", source["id"])
        report.update(error=f"internal error: {type(exc).__name__}: {exc}", outcome="error")
        fields.update(error_fields(source, exc, config))
    report["duration_ms"] = int((time.monotonic() - started) * 1000)
    storage.record_fetch(db, source["id"], {
        "started_at": started_at, "url": source["url"], "status": report["status"], "bytes": report["bytes"],
        "duration_ms": report["duration_ms"], "new": report["new"], "updated": report["updated"],
        "unchanged": report["unchanged"], "blocked": report["blocked"], "error": report["error"],
        "outcome": report["outcome"]}, fields)
    log.info("fetched source=%s status=%s bytes=%s ms=%s new=%s updated=%s blocked=%s error=%s",
             source["id"], report["status"], report["bytes"], report["duration_ms"], report["new"],
             report["updated"], report["blocked"], report["error"])
    return report


def ingest_body(db, source: dict, result, config: IngestConfig, report: dict, fields: dict) -> dict | None:
    """Parse a fetched body and store its new and changed entries; returns the feed, None if unchanged."""
    body_hash = hashlib.sha256(result.body).hexdigest()
    if body_hash == source.get("body_hash"):
        report["outcome"] = "unchanged"
        return None
    parsed = parser.parse_document(result.body, result.headers, result.url)
    feed = parsed["feed"]
    watch_feed_license(db, source, feed, result.url)
    fields.update(feed_fields(source, feed))
    source = dict(source, **fields, **current_hold(db, source["id"]))
    feed_json = json.dumps(feed, ensure_ascii=False, default=str)
    seen_at = storage.utcnow()
    keyed = [(raw, processor.entry_identity(parser.identity_fields(raw, feed))) for raw in parsed["raw_entries"]]
    problem = malformation(parsed)
    if problem:
        # in a broken document an entry without GUID or link is most likely cut off: it would be stored
        # under a content hash that the complete entry never matches again
        keyed = [(raw, identity) for raw, identity in keyed if not identity.startswith("hash:")]
    known = storage.known_entries(db, source["id"], [identity for _, identity in keyed])
    touched, failures = [], []
    for raw, identity in keyed:
        digest = processor.entry_hash(parser.raw_fingerprint(raw))
        stored = known.get(identity)
        if stored and stored["entry_hash"] == digest:
            report["unchanged"] += 1
            touched.append(stored["id"])
            continue
        try:
            entry = parser.normalize_entry(raw, feed)
            outcome = store_entry(db, source, feed, entry, identity, digest, stored, config, seen_at, feed_json)
        except Exception as exc:  # one broken entry must not keep the others of its feed out
            if not isinstance(exc, RepublisherError):
                log.exception("entry %s of source %s could not be processed", identity, source["id"])
            failures.append(f"{identity}: {type(exc).__name__}: {exc}")
            continue
        report[outcome] += 1
        known[identity] = {"id": None, "entry_hash": digest}
    storage.touch_items(db, touched)
    if failures:
        raise EntryError(f"{len(failures)} of {len(keyed)} entries could not be processed; first: {failures[0]}")
    if problem:
        # what could be read is kept, but the source is reported broken and parsed again next time
        raise ParseError(f"malformed feed, {len(keyed)} items kept: {problem}")
    fields["body_hash"] = body_hash
    return feed


def watch_feed_license(db, source: dict, feed: dict, url: str) -> None:
    """Record the license the feed states; one that disappears or changes holds new items for an editor."""
    change = storage.record_feed_license(db, source["id"], licensing.feed_license(feed), url)
    if change and pagecheck.license_change(change["before"], change["after"], source.get("license")):
        storage.hold_license(db, source["id"], pagecheck.hold_reason("the feed", change["before"], change["after"]))


def current_hold(db, source_id: int) -> dict:
    """The source's license hold as it stands now (a check or this fetch may have set it meanwhile)."""
    source = storage.get_source(db, source_id)
    return {"license_hold": source.get("license_hold"), "license_hold_revision": source.get("license_hold_revision")}


def malformation(parsed: dict) -> str | None:
    """The parser's complaint, unless it only concerns the declared encoding or content type."""
    problem = parsed.get("bozo")
    if not problem or problem.startswith(BENIGN_PARSER_COMPLAINTS):
        return None
    return problem


def store_entry(db, source, feed, entry, identity, digest, stored, config, seen_at, feed_json) -> str:
    """Process one new or changed entry and store it; returns 'new', 'updated' or 'blocked'."""
    override = json.loads(stored["license_override"]) if stored and stored.get("license_override") else None
    policy = licenses.source_policy(source.get("allowed_licenses"), config.policy)
    processed = processor.process_entry(entry, feed, source, policy, seen_at, override,
                                        processor.license_hold(source))
    decision = processed["decision"]
    item = processor.item_fields(entry, identity, digest, decision)
    revision = {
        "entry_hash": digest, "raw": json.dumps(entry, ensure_ascii=False, default=str), "feed": feed_json,
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
                workflow.publish_current(db, item_id, config.policy)
            return "blocked" if status == "blocked" else "new"
        item_id, _ = storage.store_item(db, source["id"], item, revision)
        workflow.apply_decision(db, item_id, decision, auto, config.policy)
    return "blocked" if not decision.get("allowed") else "updated"


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


def success_fields(source: dict, result, config: IngestConfig, feed: dict | None) -> dict:
    """Schedule and health after a successful fetch: the interval, or longer if the server or feed asks."""
    now = storage.utcnow()
    ttl = ((feed or {}).get("raw") or {}).get("ttl")
    interval = schedule.next_interval(source.get("interval_seconds") or config.interval, result.headers, ttl)
    return {"error_count": 0, "last_success_at": now, "last_error": None,
            "next_fetch_at": storage.later(interval), "updated_at": now}


def error_fields(source: dict, exc: Exception, config: IngestConfig) -> dict:
    """Backoff and health after a failed fetch; the source stays enabled."""
    count = (source.get("error_count") or 0) + 1
    delay = schedule.backoff(count, getattr(exc, "retry_after", None), config.max_backoff)
    now = storage.utcnow()
    return {"error_count": count, "last_error": str(exc) or type(exc).__name__, "last_error_at": now,
            "next_fetch_at": storage.later(delay), "updated_at": now}


def refresh_many(sources: list[dict], config: IngestConfig, progress=None) -> list[dict]:
    """Refresh sources in parallel with a per-host limit; each worker thread has its own connection."""
    host_limits: dict[str, threading.BoundedSemaphore] = {}
    lock = threading.Lock()
    local = threading.local()

    def host_slot(url: str) -> threading.BoundedSemaphore:
        """The semaphore that bounds parallel fetches to one host."""
        host = (urlsplit(url).hostname or "").lower()
        with lock:
            return host_limits.setdefault(host, threading.BoundedSemaphore(config.per_host))

    def run(source: dict) -> dict:
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
                report = {"source_id": source["id"], "name": source["name"], "url": source["url"],
                          "outcome": "error", "error": f"internal error: {exc}", "new": 0, "updated": 0,
                          "unchanged": 0, "blocked": 0, "status": None, "bytes": 0, "duration_ms": 0}
            reports.append(report)
            if progress:
                progress(report)
    reports.sort(key=lambda report: report["source_id"])
    return reports
