"""Browser fixtures: the site on a real SQLite file under waitress, feeds over HTTP, Debian's Chromium.

A missing browser or tool fails the run when the CI environment variable is set and skips it elsewhere.
"""

import logging
import os
import shutil
import struct
import threading
import time
import zlib
from pathlib import Path
from urllib.request import urlopen

import pytest

from republisher import create_app, feeds, storage, workflow

from helpers import refresh

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tests" / "tools" / "node_modules"
VNU_JAR = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = TOOLS / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_THREADS = 4


def missing(reason: str):
    """Fail under CI, where every tool must be installed; skip with the reason elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required when CI is set)", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium binary (Playwright's own browser downloads are not used)."""
    path = shutil.which("chromium")
    if not path:
        missing("Debian's chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install '.[test]')")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def placeholder_png(width: int = 16, height: int = 9) -> bytes:
    """A plain grey 16:9 PNG that stands in for publishers' photos."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        """One PNG chunk with its length and CRC."""
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xc8\xc4\xbc" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PLACEHOLDER = placeholder_png()


def keep_local(context, site_url: str) -> None:
    """Answer every request that leaves the site locally, so tests never touch a network."""
    def handle(route):
        """Local requests go through; images get a placeholder, anything else an empty answer."""
        if route.request.url.startswith(site_url + "/"):
            route.continue_()
        elif route.request.resource_type == "image":
            route.fulfill(status=200, body=PLACEHOLDER, content_type="image/png")
        else:
            route.fulfill(status=204, body=b"")
    context.route("**/*", handle)


@pytest.fixture(scope="session")
def open_context(browser):
    """A function making a fresh context (no cookies, no cache) that reaches one site only; callers close it."""
    def make(site_url: str, **options):
        """A context whose requests outside site_url are answered locally."""
        ctx = browser.new_context(**options)
        keep_local(ctx, site_url)
        return ctx
    return make


@pytest.fixture
def new_context(open_context):
    """Like open_context, closing every context it made after the test."""
    made = []

    def make(site_url: str, **options):
        """A context that reaches site_url only."""
        made.append(open_context(site_url, **options))
        return made[-1]

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def context(new_context, reader_site):
    """A fresh browser context that only reaches the reader site."""
    return new_context(reader_site.url)


@pytest.fixture
def page(context):
    """A page in a fresh context."""
    return context.new_page()


@pytest.fixture(scope="session")
def vnu_command() -> list[str]:
    """The Nu HTML Checker's command line (Java and the jar from tests/tools)."""
    java = shutil.which("java")
    if not java:
        missing("java is not installed (apt-get install default-jre-headless)")
    if not VNU_JAR.is_file():
        missing("vnu.jar is missing: run `npm ci --prefix tests/tools --ignore-scripts`")
    return [java, "-jar", str(VNU_JAR)]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser bundle from tests/tools."""
    if not AXE_JS.is_file():
        missing("axe-core is missing: run `npm ci --prefix tests/tools --ignore-scripts`")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The directory screenshots are saved to, at the repository root (ignored by git)."""
    directory = ARTIFACTS / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# ---------------------------------------------------------------- servers


class FeedServer:
    """A real HTTP server on 127.0.0.1 that serves feed bytes at fixed paths."""

    def __init__(self):
        from pytest_httpserver import HTTPServer

        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.start()

    def serve(self, path: str, body: bytes, content_type: str) -> str:
        """Serve a body at a path; returns its absolute URL."""
        self.server.expect_request(path).respond_with_data(body, content_type=content_type)
        return self.server.url_for(path)

    def close(self) -> None:
        """Stop the server."""
        if self.server.is_running():
            self.server.stop()


class LateBoundApp:
    """A WSGI callable whose app is set after the server knows its port (SITE_URL needs the port)."""

    app = None

    def __call__(self, environ, start_response):
        """Hand the request to the app."""
        return self.app(environ, start_response)


class WaitressThread:
    """waitress, the production server, answering on 127.0.0.1 from a background thread."""

    def __init__(self, wsgi_app, threads: int = SERVER_THREADS):
        from waitress.server import create_server

        # waitress logs every closed keep-alive connection at shutdown; only problems matter here
        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.server = create_server(wsgi_app, host="127.0.0.1", port=0, threads=threads,
                                    ident="republisher-test")
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Close the listening socket and open connections, then stop the workers."""
        for channel in list(self.server._map.values()):
            channel.handle_close()
        self.server.task_dispatcher.shutdown(timeout=5)
        self.thread.join(timeout=5)


class LiveSite:
    """The republisher app on a fresh SQLite file, served by waitress; sources are fetched over HTTP."""

    def __init__(self, directory: Path, **settings):
        self.feeds = FeedServer()
        entry = LateBoundApp()
        self.server = WaitressThread(entry)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.app = create_app({
            "DATABASE": str(directory / "republisher.sqlite"),
            "SITE_URL": self.url,
            "SITE_NAME": "Republisher",
            "SECRET_KEY": "browser-tests",
            "TRUSTED_HOSTS": "127.0.0.1",
            "ALLOW_PRIVATE_ADDRESSES": True,
            "FETCH_DEADLINE": 20,
            **settings,
        })
        entry.app = self.app
        self.db = storage.connect(self.app.config["DATABASE"])
        storage.migrate(self.db)

    def add_feed(self, path: str, body: bytes, content_type: str = "application/rss+xml",
                 **source_fields) -> int:
        """Serve a feed, add it as a source, fetch it through the pipeline; returns the source id."""
        source = storage.add_source(self.db, self.feeds.serve(path, body, content_type), **source_fields)
        report = refresh(self.app, self.db, source["id"])
        assert report.outcome == "ok", report
        return source["id"]

    def publish(self, source_id: int) -> list[dict]:
        """Approve every pending item of a source, as an editor would; returns the source's items."""
        for item in storage.list_items(self.db, source_id=source_id, status="pending"):
            workflow.approve(self.db, item["id"])
        return storage.list_items(self.db, source_id=source_id)

    def index(self) -> None:
        """Index published items for search now, as `republisher serve` does before it answers."""
        while storage.public_index_sync(self.db, feeds.text_and_excerpt, limit=1000):
            pass

    def published(self) -> list[dict]:
        """Every published item."""
        return storage.list_items(self.db, status="published")

    def get(self, path: str) -> bytes:
        """The body of a page fetched over HTTP (not through the browser)."""
        with urlopen(self.url + path, timeout=30) as response:
            return response.read()

    def wait_until_up(self, deadline: float = 10) -> None:
        """Block until the server answers its health check."""
        stop = time.monotonic() + deadline
        while True:
            try:
                self.get("/healthz")
                return
            except OSError:
                if time.monotonic() > stop:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        """Stop both servers and close the database."""
        self.server.close()
        self.feeds.close()
        self.db.conn.close()


@pytest.fixture(scope="module")
def make_site(tmp_path_factory):
    """A factory of live sites; every site made is stopped at the end of the module."""
    made = []

    def make(name: str, **settings) -> LiveSite:
        """A new, empty live site."""
        site = LiveSite(tmp_path_factory.mktemp(name), **settings)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


# ---------------------------------------------------------------- the reader site


PARS_EVIDENCE = ("Site footer: \"All Content by Pars Ruz News Agency is licensed under a Creative Commons "
                 "Attribution 4.0 International License.\"")
GENERATED_ITEMS = 27


def generated_feed(count: int = GENERATED_ITEMS) -> bytes:
    """An RSS feed under CC BY 4.0 with enough dated items to need a second home page."""
    items = "".join(
        f"<item><title>Tide table for pier {n}</title><link>https://tides.example/pier/{n}</link>"
        f"<guid>https://tides.example/pier/{n}</guid><dc:creator>Harbour office</dc:creator>"
        f"<pubDate>Mon, {n:02d} Nov 2026 08:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;High water at pier {n} comes at {6 + n % 12}:{n % 60:02d}. "
        f"Boats moor on the lee side while the spring tides last.&lt;/p&gt;</description></item>"
        for n in range(1, count + 1))
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            "<title>Tide Tables Weekly</title><link>https://tides.example/</link>"
            "<description>Tide tables of the bay</description><language>en</language>"
            "<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()


def sample_feed_bytes(name: str) -> bytes:
    """A bundled sample feed."""
    return (REPO / "republisher" / "sample_feeds" / name).read_bytes()


@pytest.fixture(scope="session")
def reader_site(tmp_path_factory):
    """The sample feeds plus a generated one, fetched over HTTP, every allowed item published."""
    site = LiveSite(tmp_path_factory.mktemp("reader"))
    try:
        # the generated feed goes first, so the sample publishers head the home page
        sources = {
            "tides": site.add_feed("/tides.xml", generated_feed()),
            "harbor": site.add_feed("/harbor.xml", sample_feed_bytes("harbor-wire.xml")),
            "pars": site.add_feed("/pars.xml", sample_feed_bytes("pars-daily.xml"),
                                  name="Pars Ruz News Agency", license="CC-BY-4.0", evidence=PARS_EVIDENCE),
            "valley": site.add_feed("/valley.atom", sample_feed_bytes("valley-atlas.atom"),
                                    content_type="application/atom+xml"),
            "science": site.add_feed("/science.rdf", sample_feed_bytes("open-science-notes.rdf"),
                                     content_type="application/rdf+xml"),
            "cafe": site.add_feed("/cafe.xml", sample_feed_bytes("cafe-chronicle.xml")),
        }
        site.items = {name: site.publish(source_id) for name, source_id in sources.items()}
        site.sources = {name: storage.get_source(site.db, source_id) for name, source_id in sources.items()}
        site.index()
        site.wait_until_up()
    except BaseException:
        site.close()
        raise
    yield site
    site.close()
