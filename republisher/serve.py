"""`republisher serve`: the site under waitress, a production WSGI server."""

from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from . import decisions, ingest, logs, storage, worker
from .db import get_db


def prepare_database() -> None:
    """Migrate the database and index what is published, so the first readers wait for nothing."""
    db = get_db()
    storage.migrate(db)
    decisions.sync_public_index(db)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads answering requests.")
@click.option("--no-worker", is_flag=True, help="Do not fetch in this process (run `republisher worker` elsewhere).")
@click.option("--access-log", is_flag=True, help="Log one line per request on stderr (method, path, status, bytes, time).")
@with_appcontext
def serve_command(host, port, threads, no_worker, access_log):
    """Serve the public site with waitress, with the background fetcher beside it."""
    from waitress import serve

    app = current_app._get_current_object()
    prepare_database()
    logs.configure(app.config["LOG_FORMAT"])
    for warning in start_warnings(app.config, port):
        click.echo(f"Warning: {warning}", err=True)
    if not no_worker:
        worker.start_in_background(ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"]))
    click.echo(f"Serving {app.config['SITE_NAME']} on http://{host}:{port}/ "
               f"(public URL {app.config['SITE_URL']}); Ctrl+C stops it")
    serve(logs.AccessLog(app) if access_log else app, host=host, port=port, threads=threads, ident="republisher")


def start_warnings(config, port: int) -> list[str]:
    """Settings that disagree with how the site is started: feed links to the wrong port, logins that do not last."""
    warnings = []
    site = urlsplit(config["SITE_URL"])
    site_port = site.port or (443 if site.scheme == "https" else 80)
    # a public name may sit behind a proxy on another port; a loopback address cannot
    if site.hostname in ("127.0.0.1", "localhost", "::1") and site_port != port:
        warnings.append(f"REPUBLISHER_SITE_URL is {config['SITE_URL']} but the site listens on port {port}: "
                        "links in feeds, sitemaps and pages will point at the wrong port")
    if config.get("SECRET_KEY_GENERATED"):
        warnings.append("REPUBLISHER_SECRET_KEY is not set: a random key is used, so editors' logins end when this "
                        "process stops and are not shared with other processes")
    return warnings
