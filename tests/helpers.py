"""Helpers shared by test modules (importable as `helpers`, since tests/ is on the path)."""

import re
import socket
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from republisher import ingest, storage

REPO = Path(__file__).resolve().parent.parent
SAMPLE_FEEDS = REPO / "republisher" / "sample_feeds"
FIXTURES = REPO / "tests" / "fixtures"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sample_feed(name: str) -> bytes:
    """Bytes of a bundled sample feed."""
    return (SAMPLE_FEEDS / name).read_bytes()


def pipeline_config(app):
    """The app's ingest configuration."""
    return ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"])


def refresh(app, db, source_id):
    """Refresh one source the way `republisher fetch --source` does."""
    return ingest.refresh_many([storage.get_source(db, source_id)], pipeline_config(app))[0]


def csrf_token(client, path="/desk/login") -> str:
    """The CSRF token of a desk form, as the browser would read it."""
    return CSRF_FIELD.search(client.get(path).get_data(as_text=True)).group(1)


def log_in(client, name: str, password: str, next_path=None):
    """Post the desk's login form with its token; returns the response."""
    form = {"name": name, "password": password, "csrf_token": csrf_token(client)}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/desk/login", data=form)


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class QuietHandler(SimpleHTTPRequestHandler):
    """Python's plain static file server, without a log line per request."""

    def log_message(self, *args):
        """Say nothing."""
