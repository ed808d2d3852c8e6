"""`republisher demo`: the whole service on an embedded default, with bundled sample feeds served locally."""

import secrets
import shutil
import signal
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import click

from . import accounts, create_app, decisions, demo_sites, ingest, storage, workflow

PARS_EVIDENCE = ("Site footer of every page: \"All Content by Pars Ruz News Agency is licensed under a "
                 "Creative Commons Attribution 4.0 International License.\"")
DEMO_EDITOR = "editor"
# (file, display name, editor's license and evidence, auto-approve, approve what is pending)
DEMO_SOURCES = (
    ("harbor-wire.xml", "Harbor Wire", None, None, True, False),
    ("pars-daily.xml", "Pars Ruz News Agency", "CC-BY-4.0", PARS_EVIDENCE, False, True),
    ("valley-atlas.atom", "Valley Atlas", None, None, False, True),
    ("open-science-notes.rdf", "Open Science Notes", None, None, False, False),
    ("cafe-chronicle.xml", "Café Chronicle", None, None, False, False),
)


def port_problem(host: str, port: int) -> str | None:
    """Why the demo cannot listen on host:port (in use, or not an address of this machine), or None."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # as the servers will: a port left in TIME_WAIT by the last run is free, one that listens is not
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno == 98:  # EADDRINUSE
            return f"port {port} on {host} is in use; choose another with --port (and --feeds-port)"
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    finally:
        probe.close()
    return None


def earlier_feeds_port(database: str) -> int | None:
    """The port an earlier demo run on this database served the sample feeds on, so that their addresses stay."""
    if not Path(database).is_file():
        return None
    db = storage.connect(database)
    try:
        storage.migrate(db)
        for source in storage.list_sources(db):
            parts = urlsplit(source["url"])
            if parts.hostname == "127.0.0.1" and parts.path.startswith("/feeds/") and parts.port:
                return parts.port
    finally:
        db.conn.close()
    return None


def demo_source(db, config: ingest.IngestConfig, feed_url: str, filename: str, name: str, license_id, evidence,
                auto: bool) -> dict:
    """The demo's source for a sample feed: the one a previous run made (its address moved here), or a new one."""
    for source in storage.list_sources(db):
        parts = urlsplit(source["url"])
        if parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.path.rsplit("/", 1)[-1] == filename:
            if source["url"] != feed_url:
                source = storage.update_source(db, source["id"], url=feed_url, next_fetch_at=storage.utcnow())
            return source
    return decisions.add_source(db, config, feed_url, "demo", name=name, license_id=license_id, evidence=evidence,
                                auto_approve=auto)


def build_demo(database: str, feeds_base: str, site_url: str):
    """Fetch the sample feeds into the database (reusing the sources of an earlier run) and approve some items."""
    app = create_app({"DATABASE": database, "ALLOW_PRIVATE_ADDRESSES": True, "SITE_URL": site_url,
                      "SITE_NAME": "Republisher demo"})
    db = storage.connect(database)
    storage.migrate(db)
    config = ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"])
    to_approve = []
    for filename, name, license_id, evidence, auto, approve in DEMO_SOURCES:
        source = demo_source(db, config, f"{feeds_base}/feeds/{filename}", filename, name, license_id, evidence, auto)
        if approve:
            to_approve.append(source["id"])
    reports = ingest.refresh_many(storage.list_sources(db), config)
    for source_id in to_approve:
        for item in storage.list_items(db, status="pending", source_id=source_id):
            workflow.approve(db, item["id"], actor="demo", site_policy=app.config["LICENSE_POLICY"])
    login = demo_login(db)
    db.conn.close()
    return app, reports, login


def demo_login(db) -> tuple[str, str]:
    """The demo editor's name and a fresh password (set anew on a rerun: the old one is only stored hashed)."""
    password = secrets.token_urlsafe(12)
    if storage.find_user(db, DEMO_EDITOR):
        accounts.set_password(db, DEMO_EDITOR, password)
    else:
        accounts.add_user(db, DEMO_EDITOR, "admin", password)
    return DEMO_EDITOR, password


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the site listens on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port the site listens on.")
@click.option("--feeds-port", type=click.IntRange(0, 65535),
              help="Port of the sample publishers' server [default: the one an earlier run on --database used, "
                   "else the site's port + 1]; the same port on every run keeps the addresses of articles and pictures.")
@click.option("--database", type=click.Path(dir_okay=False),
              help="Database file; a second run on it reuses its sources (default: a new temporary one).")
@click.option("--keep", is_flag=True, help="Keep the temporary folder of the default database on exit.")
@click.option("--no-serve", is_flag=True, help="Build the demo database, print it, and exit.")
def demo_command(host, port, feeds_port, database, keep, no_serve):
    """Run everything on a fresh database with the bundled sample feeds."""
    if feeds_port is None:
        feeds_port = (database and earlier_feeds_port(database)) or port + 1
    for wanted in ([] if no_serve else [port]) + ([feeds_port] if feeds_port else []):
        problem = port_problem(host, wanted)
        if problem:
            raise click.ClickException(problem)
    folder = None if database else Path(tempfile.mkdtemp(prefix="republisher-demo-"))
    database = database or str(folder / "demo.sqlite")
    stop_on_sigterm()
    server = None
    try:
        server, feeds_base = demo_sites.serve_sample_sites(host, feeds_port)
        site_url = f"http://{host}:{port}"
        app, reports, login = build_demo(database, feeds_base, site_url)
        print_summary(database, feeds_base, reports)
        if not no_serve:
            print_next_steps(database, site_url, login)
            serve_app(app, host, port, site_url)
    finally:
        if server:
            server.shutdown()
            server.server_close()
        if folder and not keep:
            shutil.rmtree(folder, ignore_errors=True)
        elif folder:
            click.echo(f"Kept {folder}")


def stop_on_sigterm() -> None:
    """SIGTERM ends the demo as Ctrl+C does, so its temporary folder is removed either way."""
    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)


def print_summary(database: str, feeds_base: str, reports: list) -> None:
    """What was fetched, and every item with its status and license."""
    click.echo(f"Demo database: {database}")
    click.echo(f"Sample publishers served at {feeds_base}/ (feeds under /feeds/)")
    for report in reports:
        click.echo(f"  fetched {report.name}: {report.new} new, {report.updated} updated, {report.blocked} blocked"
                   + (f", error: {report.error}" if report.error else ""))
    db = storage.connect(database)
    click.echo("Items:")
    for item in storage.list_items(db):
        reason = f"  ({item['status_reason']})" if item["status_reason"] else ""
        click.echo(f"  {item['id']:>3} {item['status']:<9} {item['license'] or '-':<12} {item['title']}{reason}")
    db.conn.close()


def print_next_steps(database: str, site_url: str, login: tuple[str, str]) -> None:
    """The editors' desk and its login, and the commands an operator tries next, on this database."""
    click.echo(f"""
The editors' desk: {site_url}/desk/  (log in as {login[0]}, password {login[1]})
Next, in another terminal:
  export REPUBLISHER_DATABASE={database}
  republisher items list --status pending     # what waits for an editor
  republisher items approve ID                # publish one; it appears on {site_url}/
  republisher sources list                    # each source's license and health""")


def serve_app(app, host: str, port: int, site_url: str) -> None:
    """Serve the site with the production server and the background fetcher until interrupted."""
    from waitress import create_server

    from .serve import prepare_database
    from .worker import start_in_background

    with app.app_context():
        prepare_database()
    server = create_server(app, host=host, port=port, threads=8, ident="republisher")  # listening from here on
    stop = start_in_background(ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"]))
    click.echo(f"\nThe mirror is at {site_url}/  (feeds: {site_url}/feed.xml; Ctrl+C stops it)")
    try:
        server.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop.set()
        server.close()
        click.echo("Demo stopped.")
