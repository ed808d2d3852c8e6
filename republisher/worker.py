"""The background fetcher: the lease holder dispatches each due source as soon as it is due.

One process per database fetches: it holds the lease in `fetch_lease`, renewed every third of
FETCH_LEASE_SECONDS. Every other `serve` or `worker` process waits and looks again at that pace; it
takes the lease over at its next look once the holder's process is gone on this host, and once the
lease has expired otherwise, so a takeover comes within FETCH_LEASE_SECONDS x 4/3 of a crash (10 s
when the holder died on this host, 40 s at most, with the default of 30 s).

The holder claims each due source and hands it to a pool of FETCH_WORKERS threads, each of which runs
the source in a child process under its budgets (see `ingest.refresh_claimed`); a slow or runaway source
takes one slot and delays no other. Writes go through SQLite's one writer, each in a short
`BEGIN IMMEDIATE` transaction.
"""

import logging
import sqlite3
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext

from . import ingest, lease, logs, storage, watch

log = logging.getLogger("republisher.worker")
MAX_SLEEP = 60  # a source added meanwhile is picked up within a minute
BUSY_PAUSE = 0.2  # how soon a freed slot is filled while due sources wait for one


def renew_every(config: ingest.IngestConfig) -> float:
    """Seconds between two renewals of the lease, and between two looks by a process without it."""
    return min(config.lease_seconds / 3, MAX_SLEEP)


class Scheduler:
    """One fetcher process's loop: keep or wait for the lease, dispatch due sources, renew."""

    def __init__(self, config: ingest.IngestConfig, stop: threading.Event, on_report=None, on_check=None):
        self.config, self.stop = config, stop
        self.on_report, self.on_check = on_report, on_check
        self.holder = lease.holder_id()
        self.holding = False
        self.pool = ThreadPoolExecutor(config.workers, thread_name_prefix="republisher-fetch")
        self.checker = ThreadPoolExecutor(1, thread_name_prefix="republisher-license-watch")
        self.in_flight: dict[int, Future] = {}
        self.checks: Future | None = None
        self.hosts = ingest.HostSlots(config.per_host)
        self.local = threading.local()
        self.wake = threading.Event()  # set when a fetch ends or `stop` is set
        threading.Thread(target=self.wake_on_stop, name="republisher-worker-stop", daemon=True).start()

    def wake_on_stop(self) -> None:
        """Wake the loop as soon as it is told to stop."""
        self.stop.wait()
        self.wake.set()

    def run(self) -> None:
        """Loop until `stop` is set; give the lease up on the way out."""
        db = storage.connect(self.config.database, self.config.busy_timeout)
        storage.migrate(db)
        try:
            while not self.stop.is_set():
                try:
                    pause = self.cycle(db)
                except sqlite3.Error as exc:  # a full disk or a foreign lock: one line, and the next cycle retries
                    log.error("fetch cycle failed: %s; trying again in %s s", ingest.database_failure(exc),
                              renew_every(self.config))
                    pause = renew_every(self.config)
                except Exception:  # a bug must not stop fetching for good either
                    log.exception("fetch cycle failed; trying again in %s s", renew_every(self.config))
                    pause = renew_every(self.config)
                self.wake.wait(pause)
                self.wake.clear()
        finally:
            self.stop.set()  # children still running are stopped rather than waited for
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.checker.shutdown(wait=False, cancel_futures=True)
            if self.holding:
                storage.release_lease(db, self.holder)
            db.conn.close()

    def cycle(self, db) -> float:
        """One look: keep the lease, then start the due sources there is room for; returns the pause."""
        self.holding = self.keep_lease(db)
        if not self.holding:
            return renew_every(self.config)
        ingest.release_dead_claims(db)
        self.start_license_checks()
        waiting = self.dispatch(db)
        return BUSY_PAUSE if waiting else self.pause(db)

    def keep_lease(self, db) -> bool:
        """Renew the lease, or take it when it is free, expired or its holder is gone; True while held."""
        expires = time.time() + self.config.lease_seconds
        if self.holding and storage.renew_lease(db, self.holder, expires):
            return True
        if self.holding:
            log.warning("lost the fetcher lease to another process; no new fetches from this one")
        current = storage.fetch_lease(db) or {}
        holder = current.get("holder")
        if holder and holder != self.holder and (current.get("expires_at") or 0) > time.time() \
                and lease.is_alive(holder):
            return False
        if not storage.take_lease(db, self.holder, holder, expires):
            return False
        log.info("took the fetcher lease%s", f" from {holder}" if holder and holder != self.holder else "")
        return storage.renew_lease(db, self.holder, expires)

    def dispatch(self, db) -> bool:
        """Claim and start due sources while slots are free; True when due sources wait for a slot."""
        self.in_flight = {key: future for key, future in self.in_flight.items() if not future.done()}
        for source in storage.due_sources(db):
            if source["id"] in self.in_flight:
                continue
            if len(self.in_flight) >= self.config.workers:
                return True
            if storage.claim_source(db, source["id"], self.holder, ingest.claim_until(self.config), due_only=True):
                self.in_flight[source["id"]] = self.pool.submit(self.fetch_one, source)
        return False

    def fetch_one(self, source: dict) -> None:
        """Refresh one claimed source on this thread's connection, report it, release the claim."""
        if getattr(self.local, "db", None) is None:
            self.local.db = storage.connect(self.config.database, self.config.busy_timeout)
        db = self.local.db
        try:
            with self.hosts.slot(source["url"]):
                report = ingest.refresh_claimed(db, source["id"], self.config, cancel=self.stop)
            if self.on_report:
                self.on_report(report)
        except Exception:
            log.exception("refresh of source %s failed", source["id"])
        finally:
            storage.release_claim(db, source["id"], self.holder)
            self.wake.set()  # its next fetch time is known now

    def start_license_checks(self) -> None:
        """Check the license pages that are due, on a thread of their own, one run at a time."""
        if self.checks is None or self.checks.done():
            self.checks = self.checker.submit(self.check_licenses)

    def check_licenses(self) -> None:
        """One run of the license watch on its own connection."""
        db = storage.connect(self.config.database)
        try:
            checks = watch.check_due(db, self.config)
            if checks and self.on_check:
                self.on_check(checks)
        except Exception:
            log.exception("license page checks failed")
        finally:
            db.conn.close()

    def pause(self, db) -> float:
        """Seconds until the next source not being fetched is due, at most until the next renewal."""
        upcoming = storage.next_fetch_at(db, exclude=list(self.in_flight))
        longest = renew_every(self.config)
        if not upcoming:
            return longest
        wait = (datetime.fromisoformat(upcoming) - datetime.now(timezone.utc)).total_seconds()
        return min(max(wait, 0.05), longest)


def run_worker(config: ingest.IngestConfig, stop: threading.Event, on_report=None, on_check=None) -> None:
    """Fetch due sources, each on its own clock, while this process holds the lease, until `stop` is set."""
    Scheduler(config, stop, on_report, on_check).run()


def run_round(db, config: ingest.IngestConfig, on_round=None, on_check=None) -> None:
    """Check the license pages that are due, then refresh the sources that are due now (`worker --once`).

    The pages come first: a hold they set applies to the items this round's fetches bring.
    """
    checks = watch.check_due(db, config)
    if checks and on_check:
        on_check(checks)
    due = storage.due_sources(db)
    if due:
        reports = ingest.refresh_many(due, config, due_only=True, isolated=True)
        if on_round:
            on_round(reports)
    storage.record_cycle(db, lease.holder_id())


def start_in_background(config: ingest.IngestConfig) -> threading.Event:
    """Run the worker in a daemon thread beside the site; returns the event that stops it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(config, stop, logs.log_fetch), name="republisher-worker",
                              daemon=True)
    thread.start()
    return stop


def report_checks(reports: list[dict]) -> None:
    """Print one line per license check, and the hold when one was set."""
    for report in reports:
        observation = report["observation"]
        if report.get("error") or observation["state"] == "failed":
            outcome = f"license pages not read: {report.get('error') or observation['note']}"
        elif report["proposed_license"]:
            outcome = f"license pages state {report['proposed_license']}"
        else:
            outcome = f"license pages: {observation['note']}"
        if report["hold_set"]:
            outcome += f"; {report['hold']['reason']}"
        click.echo(f"[{datetime.now(timezone.utc):%H:%M:%S}] {report['name']}: {outcome}")


def report_round(reports: list) -> None:
    """Print one line per fetched source."""
    for report in reports:
        if report.outcome == "busy":
            outcome = report.warning
        else:
            outcome = report.error or f"{report.new} new, {report.updated} updated, {report.blocked} blocked"
            if report.warning:
                outcome += f"; warning: {report.warning}"
        click.echo(f"[{datetime.now(timezone.utc):%H:%M:%S}] {report.name}: {outcome}")


@click.command("worker")
@click.option("--once", is_flag=True, help="Check the license pages and fetch the sources that are due, once, and exit (for cron).")
@with_appcontext
def worker_command(once):
    """Run the background fetcher alone (for deployments with separate web and worker processes).

    Any number of `worker` and `serve` processes may share a database: one holds the fetcher's lease
    and fetches, the others take over within FETCH_LEASE_SECONDS x 4/3 when it stops or dies. One line
    per fetch goes to stderr (REPUBLISHER_LOG_FORMAT: plain or json).
    """
    config = ingest.config_from_settings(current_app.config, current_app.config["LICENSE_POLICY"])
    stop = threading.Event()
    if once:
        db = storage.connect(config.database)
        storage.migrate(db)
        run_round(db, config, on_round=report_round, on_check=report_checks)
        db.conn.close()
        return
    logs.configure(current_app.config["LOG_FORMAT"])
    click.echo("Fetching due sources; Ctrl+C stops.", err=True)
    try:
        run_worker(config, stop, on_report=logs.log_fetch, on_check=report_checks)
    except KeyboardInterrupt:
        stop.set()
