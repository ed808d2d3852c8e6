"""The demo's stand-in publishers: the sample feeds, their pictures and their pages, served on 127.0.0.1.

The sample feeds name invented `.example` sites. Served here, every address of those sites points at
this server instead, so the demo's articles show their pictures and their "original" links open a page,
with the license statement the publisher's own pages would carry.
"""

import functools
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser

SAMPLE_FEEDS = Path(__file__).resolve().parent / "sample_feeds"
PICTURES = SAMPLE_FEEDS / "sites"
FEED_TYPES = {".xml": "application/rss+xml", ".atom": "application/atom+xml", ".rdf": "application/rdf+xml"}
# the feeds' names for pictures, and the bundled file each one is
PICTURE_FILES = {"ferry.png": "ferry.png", "footpath-map.png": "footpath-map.png", "pixel.gif": "pixel.png"}
# what each invented site's pages state, as its footer would
SITE_FOOTERS = {
    "harborwire.example": ("Harbor Wire", "https://creativecommons.org/licenses/by/4.0/",
                           "Creative Commons Attribution 4.0 International License"),
    "parsruz.example": ("Pars Ruz News Agency", "https://creativecommons.org/licenses/by/4.0/",
                        "Creative Commons Attribution 4.0 International License"),
    "valleyatlas.example": ("Valley Atlas", "https://creativecommons.org/licenses/by-sa/4.0/",
                            "Creative Commons Attribution-ShareAlike 4.0 International License"),
    "opensciencenotes.example": ("Open Science Notes", "https://creativecommons.org/publicdomain/zero/1.0/",
                                 "CC0 1.0 Universal Public Domain Dedication"),
    "cafechronicle.example": ("Café Chronicle", "https://creativecommons.org/licenses/by-nc/4.0/",
                              "Creative Commons Attribution-NonCommercial 4.0 International License"),
    "stats.harborwire.example": ("Harbor Wire statistics", None, None),
    "video.example": ("Example Video", None, None),
}
PAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def local_feed(name: str, base: str) -> bytes:
    """A sample feed with every address of the invented sites moved onto this server."""
    body = (SAMPLE_FEEDS / name).read_bytes()
    for site in sorted(SITE_FOOTERS, key=len, reverse=True):
        body = body.replace(f"https://{site}".encode(), f"{base}/sites/{site}".encode())
    return body


@functools.lru_cache(maxsize=1)
def article_titles() -> dict[str, str]:
    """The title of every sample article, by its path on its site ("/harborwire.example/2026/11/cold-store")."""
    titles = {}
    for path in sorted(SAMPLE_FEEDS.iterdir()):
        if path.suffix in FEED_TYPES:
            parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
            for entry in parsed.entries:
                link = urlsplit(entry.get("link") or "")
                titles[f"/{link.netloc}{link.path}"] = entry.get("title") or ""
    return titles


def feed_files() -> set[str]:
    """The sample feeds' file names."""
    return {path.name for path in SAMPLE_FEEDS.iterdir() if path.suffix in FEED_TYPES}


def page(site: str | None, path: str) -> str:
    """A publisher's page: the article's title when the path is an article, and the site's license footer."""
    name, license_url, license_name = SITE_FOOTERS.get(site, ("A sample publisher", None, None))
    title = article_titles().get(f"/{site}{path.rstrip('/')}") or article_titles().get(f"/{site}{path}") or name
    footer = ""
    if license_url:
        footer = (f'<footer><p>All Content by {html.escape(name)} is licensed under a '
                  f'<a rel="license" href="{license_url}">{license_name}</a>.</p></footer>')
    return (f'<!doctype html><html lang="und"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}'
            'footer{border-top:1px solid #ccc;margin-top:3rem;color:#555}</style></head><body>'
            f'<p>{html.escape(name)}</p><h1>{html.escape(title)}</h1>'
            '<p>This is the republisher demo\'s stand-in for the publisher\'s own page: the mirror links here '
            'as the original of what it republishes.</p>'
            f'{footer}</body></html>')


class SampleSiteHandler(BaseHTTPRequestHandler):
    """Serves /feeds/<file>, and /sites/<site>/<path> as the invented site's picture or page."""

    server_version = "republisher-demo-sites"

    def do_GET(self):
        """Answer a feed, a picture, a site's page, or a page of no site in particular."""
        path = unquote(urlsplit(self.path).path)
        parts = path.split("/", 3)
        picture = PICTURE_FILES.get(path.rsplit("/", 1)[-1])
        if len(parts) == 3 and parts[1] == "feeds" and parts[2] in feed_files():
            self.answer(local_feed(parts[2], self.base()), FEED_TYPES[Path(parts[2]).suffix])
        elif picture:  # wherever a feed's relative address puts it
            self.answer((PICTURES / picture).read_bytes(), "image/png")
        elif len(parts) >= 3 and parts[1] == "sites" and parts[2] in SITE_FOOTERS:
            self.answer(page(parts[2], "/" + (parts[3] if len(parts) > 3 else "")).encode(), "text/html; charset=utf-8")
        elif path == "/favicon.ico":
            self.answer(b"not found\n", "text/plain; charset=utf-8", status=404)
        else:  # a root-relative link in a feed lands here, off its site's folder
            self.answer(page(None, path).encode(), "text/html; charset=utf-8")

    def base(self) -> str:
        """This server's own address, as the feeds must name it."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, body: bytes, content_type: str, status: int = 200) -> None:
        """Send a whole response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", PAGE_POLICY)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        """Keep the demo's terminal for the demo's own output."""


def serve_sample_sites(host: str, port: int) -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in publishers on host:port (0: any free port); returns the server and its base URL."""
    server = ThreadingHTTPServer((host, port), SampleSiteHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="republisher-demo-sites", daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"
