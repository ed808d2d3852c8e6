"""The background fetcher: refreshes due sources until stopped (alone, or beside the site in `serve`)."""

import logging
import threading
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext

from . import ingest, storage, watch

log = logging.getLogger("republisher.worker")
MAX_SLEEP = 60  # a source added meanwhile is picked up within a minute


def run_worker(config: ingest.IngestConfig, stop: threading.Event, on_round=None, on_check=None) -> None:
    """Check due license pages and fetch due sources, sleep until the next is due, repeat until `stop` is set."""
    db = storage.connect(config.database)
    storage.migrate(db)
    try:
        while not stop.is_set():
            try:
                run_round(db, config, on_round, on_check)
                pause = seconds_until_next(db)
            except Exception:  # a database hiccup must not stop fetching for good
                log.exception("fetch round failed; trying again in %s s", MAX_SLEEP)
                pause = MAX_SLEEP
            stop.wait(pause)
    finally:
        db.conn.close()


def run_round(db, config: ingest.IngestConfig, on_round=None, on_check=None) -> None:
    """Check the license pages that are due, then refresh the sources that are due now.

    The pages come first: a hold they set applies to the items this round's fetches bring.
    """
    checks = watch.check_due(db, config)
    if checks and on_check:
        on_check(checks)
    due = storage.due_sources(db)
    if due:
        reports = ingest.refresh_many(due, config)
        if on_round:
            on_round(reports)


def seconds_until_next(db) -> float:
    """Seconds until the earliest next fetch, between one second and MAX_SLEEP."""
    upcoming = [source["next_fetch_at"] for source in storage.list_sources(db) if source["next_fetch_at"]]
    if not upcoming:
        return MAX_SLEEP
    wait = (datetime.fromisoformat(min(upcoming)) - datetime.now(timezone.utc)).total_seconds()
    return min(max(wait, 1.0), MAX_SLEEP)


def start_in_background(config: ingest.IngestConfig) -> threading.Event:
    """Run the worker in a daemon thread beside the site; returns the event that stops it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(config, stop), name="republisher-worker", daemon=True)
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
        outcome = report.error or f"{report.new} new, {report.updated} updated, {report.blocked} blocked"
        if report.warning:
            outcome += f"; warning: {report.warning}"
        click.echo(f"[{datetime.now(timezone.utc):%H:%M:%S}] {report.name}: {outcome}")


@click.command("worker")
@click.option("--once", is_flag=True, help="Check the license pages and fetch the sources that are due, once, and exit (for cron).")
@with_appcontext
def worker_command(once):
    """Run the background fetcher alone (for deployments with separate web and worker processes)."""
    config = ingest.config_from_settings(current_app.config, current_app.config["LICENSE_POLICY"])
    stop = threading.Event()
    if once:
        stop.set()
        db = storage.connect(config.database)
        storage.migrate(db)
        run_round(db, config, on_round=report_round, on_check=report_checks)
        db.conn.close()
        return
    click.echo("Fetching due sources; Ctrl+C stops.")
    try:
        run_worker(config, stop, on_round=report_round, on_check=report_checks)
    except KeyboardInterrupt:
        stop.set()
