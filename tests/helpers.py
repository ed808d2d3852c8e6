"""Helpers shared by test modules (importable as `helpers`, since tests/ is on the path)."""

import re
import socket
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
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


@contextmanager
def serving_directory(directory: Path, handler=QuietHandler):
    """A threaded static file server on a free port of 127.0.0.1 for a directory; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def run_in_threads(work, count: int = 6) -> None:
    """Run a function in several threads at once and wait for them all."""
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def numbered_items(count: int, name: str, site: str, guid: str, published) -> str:
    """<item> elements 1 to count: item N is "{name} N" at {site}N, its guid "{guid}-N", dated published(N)."""
    return "".join(
        f"<item><title>{name} {n}</title><link>{site}{n}</link><guid>{guid}-{n}</guid>"
        f"<pubDate>{published(n)}</pubDate>"
        f"<description>&lt;p&gt;Body of {name.lower()} {n}.&lt;/p&gt;</description></item>"
        for n in range(1, count + 1))


def cc_by_rss(title: str, link: str, items: str) -> bytes:
    """An RSS 2.0 feed under CC BY 4.0 (creativeCommons:license) around some <item> elements."""
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>{title}</title><link>{link}</link><description>d</description>"
            f"<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()
