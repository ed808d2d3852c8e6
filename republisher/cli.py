"""Command line: thin commands over the same functions the site uses."""

import functools
import getpass
import json
import re
import sqlite3
import sys
from datetime import datetime, timedelta, timezone

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from . import audit, bulk_sources, decisions, feeds, ingest, lease, licenses, opml, reprocess, review, storage, watch, workflow
from .db import get_db
from .errors import ConfigError, RepublisherError, WorkflowError


class WholeHelpGroup(AppGroup):
    """A command group whose list of commands shows each description whole, wrapped rather than cut off."""

    def format_commands(self, ctx, formatter):
        """List the commands with their whole first sentence."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


sources_cli = WholeHelpGroup("sources", help="Add, list and configure sources.")
items_cli = WholeHelpGroup("items", help="List and show items; approve, reject, withdraw, restore them; edit titles.")


def os_user() -> str:
    """Who runs the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "cli"


def actor_option(command):
    """--actor: who the audit log names for the command's changes (default: the OS user)."""
    return click.option("--actor", default=os_user, show_default="the OS user",
                        help="Who the audit log names for this change.")(command)


def clear_errors(command):
    """Turn expected errors into one line and a non-zero exit, never a traceback."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (RepublisherError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        except sqlite3.Error as exc:
            path = current_app.config.get("DATABASE")
            raise click.ClickException(f"database {path}: {exc} (does `republisher init` need to run?)") from exc
    return wrapper


def emit_json(value) -> None:
    """Print a value as JSON."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def pipeline_config() -> ingest.IngestConfig:
    """The ingest configuration of the current app."""
    return ingest.config_from_settings(current_app.config, current_app.config["LICENSE_POLICY"])


@click.command("init")
@with_appcontext
@clear_errors
def init_command():
    """Create or migrate the database (safe to run again)."""
    applied = storage.migrate(get_db())
    decisions.sync_public_index(get_db())  # what a migration queued is searchable before any reader comes
    path = current_app.config["DATABASE"]
    click.echo(f"Database {path}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))


@sources_cli.command("add")
@click.argument("url")
@click.option("--name", help="Display name; defaults to the feed's title.")
@click.option("--license", "license_id", help="SPDX id of the license the source states (e.g. CC-BY-4.0).")
@click.option("--evidence", help="Where the license is stated: a URL or the quoted sentence.")
@click.option("--auto-approve", is_flag=True, help="Publish allowed items without review.")
@click.option("--interval", type=click.IntRange(min=300), help="Seconds between fetches.")
@click.option("--no-verify-license", is_flag=True,
              help="Do not read the publisher's pages for a license statement (and do not watch them).")
@click.option("--dry-run", is_flag=True, help="Fetch the feed and report its name, items and licenses; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with --dry-run).")
@actor_option
@clear_errors
def sources_add(url, name, license_id, evidence, auto_approve, interval, no_verify_license, dry_run, as_json, actor):
    """Add a source by its feed URL and print its id; then read its pages for a license statement."""
    check_feed_url(url)
    if license_id:
        license_id = require_license(license_id)
        if not evidence:
            raise click.UsageError("--license needs --evidence (a URL or the quoted statement)")
    storage.migrate(get_db())
    source = decisions.add_source(get_db(), pipeline_config(), url, actor, name=name, license_id=license_id,
                                  evidence=evidence, auto_approve=auto_approve, interval_seconds=interval,
                                  dry_run=dry_run)
    if dry_run:
        report_trial(source, as_json)
        return
    click.echo(source["id"])
    if no_verify_license:
        return
    try:
        line = check_line(watch.verify_source(get_db(), source, pipeline_config()))
    except RepublisherError as exc:  # the source is added either way
        line = f"license check failed: {exc}"
    # on stderr: `id=$(republisher sources add URL)` keeps getting the id alone
    click.echo(line, err=True)


def report_trial(trial, as_json: bool) -> None:
    """What a test fetch found, for people or as JSON."""
    if as_json:
        emit_json(trial.as_dict())
        return
    click.echo(f"{trial.name or '(no title)'}: {trial.items} items, {trial.allowed} allowed by the policy")
    for license_id, count in sorted(trial.licenses.items(), key=lambda pair: (pair[0] is None, pair[0] or "")):
        click.echo(f"  {license_id or 'no license found'}: {count}")
    for found in trial.findings:
        evidence = found["evidence"] or {}
        where = f" ({evidence.get('level')}, {evidence.get('location')})" if evidence else ""
        verdict = "allowed" if found["allowed"] else f"blocked: {found['reason']}"
        click.echo(f"  - {found['title'] or '(untitled)'}: {found['license'] or '-'}{where}, {verdict}")
    if trial.warning:
        click.echo(f"warning: {trial.warning}")
    click.echo("nothing stored (dry run)")


def check_line(report: dict) -> str:
    """A license check in one line."""
    observation = report["observation"]
    if observation["state"] == "failed":
        return f"license check failed: {observation['note']}"
    if not report["proposed_license"]:
        return f"license check: no license proposed: {observation['note']}"
    line = f"license check: the publisher's pages state {report['proposed_license']} ({observation['url']})"
    if report["accept_command"]:
        line += f"; accept it with `{report['accept_command']}`"
    return line


def check_feed_url(url: str) -> None:
    """Refuse anything but an absolute http(s) URL, as a usage error."""
    try:
        decisions.check_feed_url(url)
    except WorkflowError as exc:
        raise click.UsageError(str(exc)) from exc


def require_license(license_id: str) -> str:
    """A known SPDX id, or a usage error listing how to see them."""
    known = licenses.get_license(license_id)
    if not known:
        raise click.UsageError(f"unknown license {license_id!r}; `republisher licenses` lists the known ids")
    return known["id"]


CONFIRM_HELP = "Confirm that this license contradicts what the feed or item states itself (needs --reason)."


@sources_cli.command("set-license")
@click.argument("source_id", type=int)
@click.argument("license_id")
@click.option("--evidence", required=True,
              help="Where the license is stated: a URL or the quoted sentence (at least 20 characters).")
@click.option("--confirm-contradiction", is_flag=True, help=CONFIRM_HELP)
@click.option("--reason", help="Why the license is right although the feed says otherwise.")
@actor_option
@clear_errors
def sources_set_license(source_id, license_id, evidence, confirm_contradiction, reason, actor):
    """Set the license a source states on its website, with evidence."""
    license_id = require_license(license_id)
    result = decisions.set_source_license(get_db(), pipeline_config(), source_id, license_id, evidence, actor=actor,
                                          confirm_contradiction=confirm_contradiction, reason=reason)
    source = result["source"]
    click.echo(f"source {source['id']}: license {source['license']} (new items follow it; published items keep theirs)")
    if result["released"]:
        click.echo("license hold released")
    click.echo(describe_changes(result["changed"]))


@sources_cli.command("verify-license")
@click.argument("source_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def sources_verify_license(source_id, as_json):
    """Read the publisher's home page and a recent article for a license statement and propose it.

    The pages' URLs, the statements quoted and the pages' SHA-256 are kept as evidence; the source's
    license changes only when an editor accepts the proposal. Exits 1 when no page could be read.
    """
    report = watch.verify_source(get_db(), storage.get_source(get_db(), source_id), pipeline_config())
    if as_json:
        emit_json(report)
    else:
        for line in describe_check(report):
            click.echo(line)
    if report["observation"]["state"] == "failed":
        sys.exit(1)


def describe_check(report: dict) -> list[str]:
    """A license check for people: each page with what it says, the proposal and how to accept it."""
    lines = [f"source {report['source_id']} ({report['name']})"]
    for page in report["pages"]:
        status = page["status"] or page["outcome"]
        head = f"  {page['kind']:<8} {status!s:<10} {page['final_url'] or page['url'] or '(no page)'}"
        lines.append(head + (f"  SHA-256 {page['sha256']}" if page["sha256"] else ""))
        if page["outcome"] != "ok":
            lines.append(f"           {page['outcome']}: {page['error']}")
        elif not page["findings"]:
            lines.append(f"           {page['reason']}")
        for found in page["findings"]:
            what = found["license"] or found["kind"]
            lines.append(f"           {what} ({found['found_in']}, {found['location']}): \"{found['text']}\"")
    observation = report["observation"]
    if report["proposed_license"]:
        lines.append(f"proposed license: {report['proposed_license']}, from {observation['url']} "
                     f"(SHA-256 {observation['sha256']}, {observation['at']})")
    else:
        lines.append(f"no license proposed: {observation['note']}")
    if report["hold"]:
        lines.append(f"HOLD since {report['hold']['since']}: {report['hold']['reason']}")
    if report["accept_command"]:
        lines.append(f"accept it with: {report['accept_command']}")
    elif report["proposed_license"]:
        lines.append(f"{report['proposed_license']} is the source's license already")
    return lines


@sources_cli.command("accept-license")
@click.argument("source_id", type=int)
@click.option("--confirm-contradiction", is_flag=True, help=CONFIRM_HELP)
@click.option("--reason", help="Why the license is right although the feed says otherwise.")
@actor_option
@clear_errors
def sources_accept_license(source_id, confirm_contradiction, reason, actor):
    """Make the license the publisher's pages state (see verify-license) the source's license.

    The evidence recorded is the page's URL, the statement quoted and the page's SHA-256. Pending and
    blocked items are decided again; a license hold is released, and the pending items received before
    it keep their decision.
    """
    result = watch.accept_license(get_db(), pipeline_config(), source_id, actor=actor,
                                  confirm_contradiction=confirm_contradiction, reason=reason)
    source, proposal = result["source"], result["proposal"]
    click.echo(f"source {source['id']}: license {source['license']} accepted from {proposal['url']} "
               f"(SHA-256 {proposal['sha256']}, {proposal['at']}); new items follow it, published items keep theirs")
    if result["released"]:
        click.echo("license hold released")
    click.echo(describe_changes(result["changed"]))


def describe_changes(changed: dict) -> str:
    """How many items a re-evaluation moved, by their new status."""
    if not changed:
        return "no item changed status"
    return "items now " + ", ".join(f"{status}: {count}" for status, count in sorted(changed.items()))


@sources_cli.command("edit")
@click.argument("source_id", type=int)
@click.option("--name", help="Display name.")
@click.option("--credit-name", help="How the publisher asks to be credited, e.g. 'Mehr News Agency'.")
@click.option("--auto-approve/--no-auto-approve", default=None, help="Publish allowed items without review.")
@click.option("--remove-credit/--keep-credit", default=None,
              help="The publisher asked for its credit to be removed (CC BY 4.0 3(a)(3)); license and changes notices stay.")
@click.option("--allow-licenses", help="SPDX ids this source may publish under (empty: the site's policy).")
@click.option("--interval", type=click.IntRange(min=300), help="Seconds between fetches.")
@actor_option
@clear_errors
def sources_edit(source_id, name, credit_name, auto_approve, remove_credit, allow_licenses, interval, actor):
    """Change a source's name, credit, review and license policy; its items are decided or credited again."""
    fields = {"name": name, "credit_name": credit_name, "interval_seconds": interval,
              "auto_approve": auto_approve, "remove_credit": remove_credit, "allowed_licenses": allow_licenses}
    fields = {key: value for key, value in fields.items() if value is not None}
    if not fields:
        raise click.UsageError("nothing to change; see --help")
    result = decisions.update_source(get_db(), pipeline_config(), source_id, actor, **fields)
    click.echo(f"source {result['source']['id']} updated")
    if result["credited"]:
        click.echo(f"{result['credited']} revisions credited again")
    click.echo(describe_changes(result["changed"]))


@sources_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def sources_list(as_json):
    """List sources with their license, health and next fetch."""
    rows = storage.list_sources(get_db())
    if as_json:
        emit_json([source_summary(row) for row in rows])
        return
    if not rows:
        click.echo("No sources yet. Add one with `republisher sources add URL`.")
    for row in rows:
        health = source_health(row)
        click.echo(f"{row['id']:>4}  {row['name']}  [{row['license'] or 'license from feed'}]  "
                   f"{health}  next fetch {row['next_fetch_at'] or 'now'}\n      {row['url']}")
        for line in license_lines(row):
            click.echo(f"      {line}")


def source_health(row: dict) -> str:
    """A source's health in a few words: ok, ok with the warning of its last fetch, or its error."""
    if row["last_error"]:
        return f"error ({row['error_count']}x): {row['last_error']}"
    return f"ok, with a warning: {row['last_warning']}" if row.get("last_warning") else "ok"


def license_lines(row: dict) -> list[str]:
    """A source's license proposal and hold, when it has them."""
    state = storage.license_state(row)
    lines = []
    proposal = state["proposal"]
    if proposal and proposal["state"] == "license":
        lines.append(f"license proposal: {proposal['license']} from {proposal['url']} (checked {proposal['at']})")
    elif proposal:
        lines.append(f"license proposal: none ({proposal['note']})")
    if state["hold"]:
        lines.append(f"HOLD since {state['hold']['since']}: {state['hold']['reason']}")
    return lines


def source_summary(row: dict) -> dict:
    """The public fields of a source for JSON output."""
    keys = ("id", "name", "slug", "url", "site_url", "language", "license", "license_evidence", "feed_license",
            "auto_approve", "last_success_at", "last_error", "last_error_at", "error_count", "last_warning",
            "next_fetch_at")
    state = storage.license_state(row)
    return dict({key: row.get(key) for key in keys}, license_proposal=state["proposal"], license_hold=state["hold"],
                pages_checked_at=state["checked_at"], pages_due_at=state["due_at"])


@sources_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every feed URL and say what would be added, adding nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@actor_option
@clear_errors
def sources_import(file, dry_run, as_json, actor):
    """Add the feeds an OPML file subscribes to, with the URL and address checks of `sources add`; skip known ones."""
    subscriptions = opml.read(file.read(opml.MAX_OPML_BYTES + 1))
    storage.migrate(get_db())
    outcomes = bulk_sources.import_subscriptions(get_db(), subscriptions, pipeline_config(), actor, dry_run=dry_run)
    if as_json:
        emit_json(outcomes)
        return
    for outcome in outcomes:
        detail = f"id {outcome['id']}" if "id" in outcome else outcome.get("reason") or outcome.get("name") or ""
        click.echo(f"{outcome['outcome']:<9}  {outcome['url']}" + (f"  ({detail})" if detail else ""))
    counts = {kind: sum(o["outcome"] == kind for o in outcomes) for kind in ("added", "would add", "duplicate", "refused")}
    click.echo(", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "the file names no feeds", err=True)
    if counts["added"]:
        click.echo("Their licenses are not known yet: `republisher sources verify-license ID` reads each "
                   "publisher's pages, or set one with `sources set-license`.", err=True)


@sources_cli.command("export")
@click.argument("file", type=click.File("wb"), default="-")
@clear_errors
def sources_export(file):
    """Write every source as an OPML 2.0 subscription list (name, site URL, feed URL) to FILE or stdout."""
    file.write(bulk_sources.export_subscriptions(get_db(), current_app.config["SITE_NAME"]))


FETCH_EPILOG = """\b
Exit codes (for cron):
  0  every source fetched (or none was due)
  1  at least one fetch failed (each failure is printed), a source id does not exist,
     or the database could not be used
  2  usage error: an unknown option or a value of the wrong kind"""


@click.command("fetch", epilog=FETCH_EPILOG)
@with_appcontext
@click.option("--source", "source_ids", type=int, multiple=True, help="Fetch this source (repeatable).")
@click.option("--all", "fetch_all", is_flag=True, help="Fetch every source, due or not.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def fetch_command(source_ids, fetch_all, as_json):
    """Fetch due sources (or the named ones, or all) and store new items.

    A source another process is fetching at this moment is left to it and reported as busy.
    """
    db = get_db()
    storage.migrate(db)
    if source_ids:
        sources = [storage.get_source(db, source_id) for source_id in source_ids]  # an unknown id: exit 1
    elif fetch_all:
        sources = storage.list_sources(db)
    else:
        sources = storage.due_sources(db)
    reports = run_fetch(sources, show_progress=not as_json and sys.stdout.isatty(),
                        due_only=not (source_ids or fetch_all))
    storage.record_cycle(db, lease.holder_id())
    if as_json:
        emit_json([report.as_dict() for report in reports])
    else:
        for report in reports:
            click.echo(describe_report(report))
        if not reports:
            click.echo("No source is due.")
    if any(report.outcome == "error" for report in reports):
        sys.exit(1)


def run_fetch(sources: list[dict], show_progress: bool, due_only: bool = False) -> list:
    """Refresh sources, with a progress bar on a terminal."""
    config = pipeline_config()
    if not show_progress or len(sources) < 2:
        return ingest.refresh_many(sources, config, due_only=due_only, isolated=True)
    with click.progressbar(length=len(sources), label="Fetching", file=sys.stderr) as bar:
        return ingest.refresh_many(sources, config, progress=lambda report: bar.update(1), due_only=due_only,
                                   isolated=True)


def describe_report(report) -> str:
    """One line per source for people."""
    head = f"[{report.source_id}] {report.name}: "
    if report.outcome == "error":
        return head + f"ERROR {report.error}"
    if report.outcome == "busy":
        return head + f"busy, {report.warning}"
    if report.outcome in ("not modified", "unchanged"):
        return head + report.outcome
    line = head + (f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
                   f"{report.blocked} blocked")
    return line + (f"; WARNING {report.warning}" if report.warning else "")


@items_cli.command("list")
@click.option("--status", type=click.Choice(workflow.STATUSES), help="Only items with this status.")
@click.option("--source", "source_id", type=int, help="Only items of this source.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many items.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def items_list(status, source_id, limit, as_json):
    """List items, newest first: id, status, source, date, license and where its evidence was found."""
    db = get_db()
    if source_id is not None:
        storage.get_source(db, source_id)  # an unknown source is an error, not an empty list
    rows = storage.list_items(db, status=status, source_id=source_id, limit=limit)
    if as_json:
        emit_json([item_summary(row) for row in rows])
        return
    if not rows:
        click.echo("No items.")
    names = {source["id"]: source["name"] for source in storage.list_sources(db)}
    for row in rows:
        reason = f" ({row['status_reason']})" if row["status_reason"] else ""
        flag = f" [{row['review_flag']}]" if row["review_flag"] else ""
        level = (row["license_evidence"] or {}).get("level") or "-"
        date = (row["published_at"] or row["first_seen_at"] or "")[:10]
        click.echo(f"{row['id']:>6}  {row['status']:<9} {names.get(row['source_id'], row['source_id'])}  {date}  "
                   f"{row['license'] or '-'} ({level})  {row['edited_title'] or row['title'] or '(untitled)'}"
                   f"{reason}{flag}")


def item_summary(row: dict) -> dict:
    """The fields of an item for JSON output."""
    return {
        "id": row["id"], "status": row["status"], "status_reason": row["status_reason"],
        "review_flag": row["review_flag"], "title": row["edited_title"] or row["title"], "url": row["url"],
        "guid": row["guid"], "source_id": row["source_id"], "license": row["license"],
        "evidence_level": (row["license_evidence"] or {}).get("level"),
        "license_evidence": row["license_evidence"], "authors": row["authors"], "published_at": row["published_at"],
        "first_seen_at": row["first_seen_at"],
    }


@items_cli.command("show")
@click.argument("item_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def items_show(item_id, as_json):
    """Show one item as it will be published: its text, the credit, the license evidence and the original link."""
    view = review.item_view(get_db(), item_id)
    shown = view["approved"] if view["status"] == "published" and view["approved"] else view["current"]
    text, _ = feeds.text_and_excerpt((shown or {}).get("content_html") or "")
    if as_json:
        emit_json(dict(view, text=text))
        return
    for line in describe_item(view, text):
        click.echo(line)


def describe_item(view: dict, text: str) -> list[str]:
    """An item for people: heading, license and evidence, text, credit, and the change waiting if any."""
    lines = [f"item {view['id']}: {view['title'] or '(untitled)'}",
             f"status: {view['status']}" + (f" ({view['status_reason']})" if view["status_reason"] else "")
             + (f" [{view['review_flag']}]" if view["review_flag"] else ""),
             f"source: {view['source']['name']} ({view['source']['id']})",
             f"original: {view['original_url'] or '(no link)'}"]
    decision = view["decision"]
    verdict = "allowed" if decision["allowed"] else f"not allowed: {decision['reason']}"
    lines.append(f"license: {decision['license'] or 'none found'}, {verdict}")
    evidence = decision["evidence"]
    if evidence:
        lines.append(f"evidence: {evidence['level']}, {evidence['location']}: "
                     f"{evidence['matched'] or ''}{' ' if evidence['matched'] and evidence['url'] else ''}"
                     f"{evidence['url'] or ''}")
    for finding in decision["findings"]:
        lines.append(f"  finding: {finding['kind']} {finding['license'] or ''} ({finding['level']}, "
                     f"{finding['location']}): {finding['matched'] or finding['url'] or ''}")
    lines += ["", text or "(no text)", "", "credit: " + view["attribution_text"]]
    if view["diff"]:
        lines += ["", "changed upstream; `items accept-change` publishes it:", view["diff"]]
    return lines


def each_item(action: str, item_ids, **kwargs) -> None:
    """Apply a workflow action to several items; report each; exit 1 if any was refused or unknown."""
    failed = False
    for outcome in workflow.bulk(get_db(), action, item_ids, **kwargs):
        item_id = outcome["id"]
        if outcome["outcome"] == "done":
            click.echo(f"item {item_id}: {outcome['status']}")
        elif outcome["outcome"] == "unchanged":
            click.echo(f"item {item_id}: {outcome['status']} already, nothing to do")
        else:
            failed = True
            why = outcome["message"] if outcome["outcome"] == "not found" else f"refused: {outcome['message']}"
            click.echo(f"item {item_id}: {why}", err=True)
    if failed:
        sys.exit(1)


@items_cli.command("approve")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@actor_option
@clear_errors
def items_approve(item_ids, actor):
    """Publish items whose license allows it (for an item changed upstream: its current revision)."""
    each_item("approve", item_ids, actor=actor, site_policy=current_app.config["LICENSE_POLICY"])


@items_cli.command("reject")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--reason", help="Why the items are kept off the site.")
@actor_option
@clear_errors
def items_reject(item_ids, reason, actor):
    """Keep items off the site."""
    each_item("reject", item_ids, actor=actor, reason=reason)


@items_cli.command("withdraw")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why the items are taken down (shown with 410 Gone).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@actor_option
@clear_errors
def items_withdraw(item_ids, reason, yes, actor):
    """Take published items down; they answer 410 Gone with the reason. Asks first unless --yes."""
    if not yes:
        count = f"{len(item_ids)} items" if len(item_ids) > 1 else f"item {item_ids[0]}"
        click.confirm(f"Take {count} off the site?", abort=True)
    each_item("withdraw", item_ids, actor=actor, reason=reason)


@items_cli.command("restore")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why the items come back.")
@actor_option
@clear_errors
def items_restore(item_ids, reason, actor):
    """Bring withdrawn items back: published when they pass the publish gate, else pending."""
    each_item("restore", item_ids, actor=actor, reason=reason, site_policy=current_app.config["LICENSE_POLICY"])


@items_cli.command("accept-change")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@actor_option
@clear_errors
def items_accept_change(item_ids, actor):
    """Publish the current revision of items changed upstream after approval (until then the approved one shows)."""
    each_item("accept-change", item_ids, actor=actor, site_policy=current_app.config["LICENSE_POLICY"])


@items_cli.command("edit-title")
@click.argument("item_id", type=int)
@click.argument("title")
@actor_option
@clear_errors
def items_edit_title(item_id, title, actor):
    """Give an item another title; it is shown, and the credit's changes notice says the title was changed."""
    before = storage.get_item(get_db(), item_id)
    item = workflow.edit_title(get_db(), item_id, title, actor=actor)
    if item == before:
        click.echo(f"item {item_id}: the title is that already, nothing to do")
    else:
        click.echo(f"item {item_id}: title is now {item['edited_title'] or title}")


@items_cli.command("set-license")
@click.argument("item_id", type=int)
@click.argument("license_id")
@click.option("--evidence", required=True,
              help="Where the license is stated: a URL or the quoted sentence (at least 20 characters).")
@click.option("--confirm-contradiction", is_flag=True, help=CONFIRM_HELP)
@click.option("--reason", help="Why the license is right although the item states another itself.")
@actor_option
@clear_errors
def items_set_license(item_id, license_id, evidence, confirm_contradiction, reason, actor):
    """Override the license found for one pending or blocked item, with evidence."""
    license_id = require_license(license_id)
    item = decisions.override_item_license(get_db(), pipeline_config(), item_id, license_id, evidence, actor=actor,
                                           confirm_contradiction=confirm_contradiction, reason=reason)
    reason = f" ({item['status_reason']})" if item["status_reason"] else ""
    click.echo(f"item {item_id}: {item['status']}{reason}")


@click.command("reprocess")
@click.option("--source", "source_id", type=int, help="Only this source's items.")
@actor_option
@with_appcontext
@clear_errors
def reprocess_command(source_id, actor):
    """Sanitize and credit stored items again (after an upgrade or a policy change); re-decide unpublished ones."""
    if source_id is not None:
        storage.get_source(get_db(), source_id)
    counts = reprocess.reprocess(get_db(), pipeline_config(), source_id=source_id, actor=actor)
    click.echo(f"{counts['revisions']} revisions processed again; {describe_changes(counts['status changes'])}")


@click.command("audit")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@clear_errors
def audit_command(as_json):
    """Check every published item for an allowed license and a complete credit; exit 1 on a violation."""
    violations = audit.audit(get_db(), current_app.config["LICENSE_POLICY"])
    if as_json:
        emit_json(violations)
    else:
        for violation in violations:
            click.echo(f"item {violation['item_id']} ({violation['title']}): {violation['problem']}")
        published = storage.public_status_counts(get_db()).get("published", 0)
        click.echo(f"{published} published items checked, {len(violations)} violations")
    if violations:
        sys.exit(1)


@click.command("audit-log")
@click.option("--item", "item_id", type=int, help="Only what concerns this item.")
@click.option("--source", "source_id", type=int, help="Only what concerns this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@clear_errors
def audit_log_command(item_id, source_id, limit, as_json):
    """Who did what, when and why: status changes, title edits, license overrides, source edits, newest first."""
    db = get_db()
    if item_id is not None:
        storage.get_item(db, item_id)
    if source_id is not None:
        storage.get_source(db, source_id)
    rows = storage.audit_entries(db, limit=limit, item_id=item_id, source_id=source_id)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("Nothing recorded yet.")
    for row in rows:
        about = f"item {row['item_id']}" if row["item_id"] else f"source {row['source_id']}"
        why = f": {row['reason']}" if row["reason"] else ""
        detail = f" {json.dumps(row['detail'], ensure_ascii=False)}" if row["detail"] else ""
        click.echo(f"{row['at']}  {row['actor']:<10} {row['action']:<18} {about}{why}{detail}")


@click.command("licenses")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def licenses_command(as_json):
    """List the known licenses and whether the policy allows each."""
    policy = current_app.config["LICENSE_POLICY"]
    rows = [dict(entry, allowed=entry["id"] in policy) for entry in licenses.all_licenses()]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(f"{'allowed' if row['allowed'] else 'blocked':<8} {row['id']:<18} {row['name']}")


@click.command("log")
@click.option("--source", "source_id", type=int, help="Only the fetches of this source.")
@click.option("--since", help="Only fetches since a time: ISO 8601 (2025-01-31, 2025-01-31T08:00) or an age (90s, 30m, 12h, 7d).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1), help="At most this many fetches.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@clear_errors
def log_command(source_id, since, limit, as_json):
    """Show the fetch history, newest first: outcome, status, bytes, counts, duration and error of each fetch."""
    db = get_db()
    if source_id is not None:
        storage.get_source(db, source_id)
    rows = storage.fetch_history(db, source_id, parse_since(since) if since else None, limit)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(describe_fetch(row))
    if not rows:
        click.echo("No fetch matches.")


def parse_since(text: str) -> str:
    """An ISO 8601 UTC time from an ISO date or time, or from an age such as 30m."""
    age = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if age:
        seconds = int(age.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[age.group(2)]
        return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter("expected an ISO 8601 date or time, or an age such as 90s, 30m, 12h or 7d",
                                 param_hint="--since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def describe_fetch(row: dict) -> str:
    """One fetch log row for people."""
    line = (f"{row['started_at']} [{row['source_id']}] {row['source_name']}: {row['outcome']}"
            f" status={row['status'] if row['status'] is not None else '-'} bytes={row['bytes'] or 0}"
            f" new={row['new'] or 0} updated={row['updated'] or 0} blocked={row['blocked'] or 0}"
            f" {row['duration_ms'] or 0} ms")
    return line + (f" ERROR {row['error']}" if row.get("error") else "")


def init_app(app) -> None:
    """Register the commands on the app (reachable as `flask --app republisher ...`)."""
    from .backup import backup_command
    from .demo import demo_command
    from .serve import serve_command
    from .worker import worker_command

    for command in (init_command, sources_cli, fetch_command, items_cli, licenses_command, audit_command,
                    audit_log_command, reprocess_command, serve_command, worker_command, demo_command,
                    backup_command, log_command):
        app.cli.add_command(command)
    from .users_cli import users_cli  # here: it imports this module
    app.cli.add_command(users_cli)
    from .export import export_command
    app.cli.add_command(export_command)


def make_app(*args, **kwargs):
    """App factory for the console script; bad settings end the program with their name."""
    from . import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"Error: configuration: {exc}", err=True)
        sys.exit(2)


class RepublisherGroup(FlaskGroup):
    """Flask's command group with our own face: no Flask options, descriptions shown whole, a version."""

    FLASK_OPTIONS = ("env_file", "app", "debug")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # the app comes from our factory and the environment; Flask's -e/-A/--debug would only mislead
        self.params = [param for param in self.params if param.name not in self.FLASK_OPTIONS]
        click.version_option(package_name="republisher", prog_name="republisher")(self)

    format_commands = WholeHelpGroup.format_commands


cli = RepublisherGroup(create_app=make_app, add_default_commands=False, add_version_option=False,
                       help="republisher: license-aware content republishing.")


def main() -> None:
    """Console script entry point."""
    cli.main(prog_name="republisher")
