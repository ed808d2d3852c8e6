"""`republisher serve`: the site under waitress, a production WSGI server."""

import click
from flask import current_app
from flask.cli import with_appcontext

from . import feeds, ingest, logs, storage, worker
from .db import get_db


def prepare_database() -> None:
    """Migrate the database and index what is published, so the first readers wait for nothing."""
    db = get_db()
    storage.migrate(db)
    while storage.public_index_sync(db, feeds.text_and_excerpt, limit=1000):
        pass


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads answering requests.")
@click.option("--no-worker", is_flag=True, help="Do not fetch in this process (run `republisher worker` elsewhere).")
@with_appcontext
def serve_command(host, port, threads, no_worker):
    """Serve the public site with waitress, with the background fetcher beside it."""
    from waitress import serve

    app = current_app._get_current_object()
    prepare_database()
    logs.configure(app.config["LOG_FORMAT"])
    if not no_worker:
        worker.start_in_background(ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"]))
    click.echo(f"Serving {app.config['SITE_NAME']} on http://{host}:{port}/ "
               f"(public URL {app.config['SITE_URL']}); Ctrl+C stops it")
    serve(app, host=host, port=port, threads=threads, ident="republisher")
