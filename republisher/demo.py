"""`republisher demo`: the whole service on an embedded default, with bundled sample feeds served locally."""

import functools
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from . import create_app, ingest, storage, workflow

SAMPLE_FEEDS = Path(__file__).resolve().parent / "sample_feeds"
PARS_EVIDENCE = ("Site footer of every page: \"All Content by Pars Ruz News Agency is licensed under a "
                 "Creative Commons Attribution 4.0 International License.\"")
# (file, display name, editor's license and evidence, auto-approve, approve what is pending)
DEMO_SOURCES = (
    ("harbor-wire.xml", "Harbor Wire", None, None, True, False),
    ("pars-daily.xml", "Pars Ruz News Agency", "CC-BY-4.0", PARS_EVIDENCE, False, True),
    ("valley-atlas.atom", "Valley Atlas", None, None, False, True),
    ("open-science-notes.rdf", "Open Science Notes", None, None, False, False),
    ("cafe-chronicle.xml", "Café Chronicle", None, None, False, False),
)
CONTENT_TYPES = {".xml": "application/rss+xml", ".atom": "application/atom+xml", ".rdf": "application/rdf+xml"}


class FeedHandler(SimpleHTTPRequestHandler):
    """Serves the sample feeds with feed content types, quietly."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def log_message(self, format, *args):
        """Keep the demo's terminal for the demo's own output."""


def serve_sample_feeds() -> tuple[ThreadingHTTPServer, str]:
    """Start a local HTTP server for the sample feeds; returns it and its base URL."""
    handler = functools.partial(FeedHandler, directory=str(SAMPLE_FEEDS))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def build_demo(database: str, feeds_base: str, site_url: str):
    """Create a fresh demo database, fetch the sample feeds and approve some items; returns the app."""
    app = create_app({"DATABASE": database, "ALLOW_PRIVATE_ADDRESSES": True, "SITE_URL": site_url,
                      "SITE_NAME": "Republisher demo"})
    db = storage.connect(database)
    storage.migrate(db)
    to_approve = []
    for filename, name, license_id, evidence, auto, approve in DEMO_SOURCES:
        source = storage.add_source(db, f"{feeds_base}/{filename}", name=name, license=license_id,
                                    evidence=evidence, auto_approve=auto)
        if approve:
            to_approve.append(source["id"])
    config = ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"])
    reports = ingest.refresh_many(storage.list_sources(db), config)
    for source_id in to_approve:
        for item in storage.list_items(db, status="pending", source_id=source_id):
            workflow.approve(db, item["id"], actor="demo", site_policy=app.config["LICENSE_POLICY"])
    db.conn.close()
    return app, reports


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the site listens on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port the site listens on.")
@click.option("--database", type=click.Path(dir_okay=False), help="Database file (default: a new temporary one).")
@click.option("--no-serve", is_flag=True, help="Build the demo database, print it, and exit.")
def demo_command(host, port, database, no_serve):
    """Run everything on a fresh database with the bundled sample feeds."""
    database = database or str(Path(tempfile.mkdtemp(prefix="republisher-demo-")) / "demo.sqlite")
    server, feeds_base = serve_sample_feeds()
    site_url = f"http://{host}:{port}"
    app, reports = build_demo(database, feeds_base, site_url)
    click.echo(f"Demo database: {database}")
    click.echo(f"Sample feeds served at {feeds_base}/")
    for report in reports:
        click.echo(f"  fetched {report.name}: {report.new} new, {report.blocked} blocked"
                   + (f", error: {report.error}" if report.error else ""))
    print_items(database)
    if no_serve:
        server.shutdown()
        return
    serve_app(app, host, port, site_url)


def print_items(database: str) -> None:
    """List the demo's items with their status and license."""
    db = storage.connect(database)
    click.echo("Items:")
    for item in storage.list_items(db):
        reason = f"  ({item['status_reason']})" if item["status_reason"] else ""
        click.echo(f"  {item['id']:>3} {item['status']:<9} {item['license'] or '-':<12} {item['title']}{reason}")
    db.conn.close()


def serve_app(app, host: str, port: int, site_url: str) -> None:
    """Serve the site with the production server and the background fetcher until interrupted."""
    from waitress import serve

    from .serve import prepare_database
    from .worker import start_in_background

    with app.app_context():
        prepare_database()
    start_in_background(ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"]))
    click.echo(f"\nThe mirror is at {site_url}/  (feeds: {site_url}/feed.xml; Ctrl+C stops it)")
    serve(app, host=host, port=port, threads=8, ident="republisher")
