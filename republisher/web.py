"""Web plumbing shared by every view: security headers, cached conditional responses, error pages.

``register(app)`` is called once by the app factory; it registers the public site's blueprint too.
"""

import gzip
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlencode, urlsplit

from flask import Response, abort, current_app, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import (HTTPException, InternalServerError, RequestEntityTooLarge, RequestURITooLarge,
                                 SecurityError)
from werkzeug.http import http_date, is_resource_modified, quote_etag
from werkzeug.routing import BaseConverter, ValidationError

from . import feeds, storage

log = logging.getLogger("republisher.web")

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "style-src 'self'",
    # images inside articles stay on the publisher's servers; they cannot run code
    "img-src 'self' https: http:",
    "script-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
PUBLIC_MAX_AGE = 300
MAX_REQUEST_BYTES = 1024 * 1024
# the public site reads no forms; editors' forms hold a few short fields
MAX_FORM_BYTES = 256 * 1024
# room for a pasted query of 10,000 characters in any script, percent-encoded (up to 9 bytes each), and
# below waitress's 256 KiB limit on a request's head, so that the site's own 414 page answers
MAX_URL_CHARS = 128 * 1024
# no page reads more than a handful; parsing thousands cost more than rendering the home page
MAX_QUERY_PARAMETERS = 100
# ids and keyset positions beyond SQLite's integer range raise OverflowError in the query
MAX_SQLITE_INTEGER = 2**63 - 1
BROKEN_PERCENT_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
BAD_ADDRESS = "This address is not valid. Check it, or start again from the first page."
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
CACHE_ENTRIES = 2048
CACHE_BYTES = 64 * 1024 * 1024
# below about a packet, compressing saves the client nothing it would notice
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6
GZIP_ETAG_SUFFIX = "-gz"
EXTENSION = "republisher.web"


# ---------------------------------------------------------------- registration


def register(app) -> None:
    """Configure hosts and limits, install headers and error pages, and register the public site."""
    from . import site

    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    if not app.config.get("MAX_CONTENT_LENGTH"):
        app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = min(app.config.get("MAX_FORM_MEMORY_SIZE") or MAX_FORM_BYTES,
                                             MAX_FORM_BYTES)
    app.url_map.converters["id"] = IdConverter
    app.extensions[EXTENSION] = SiteCache(salt=deployment_salt(app))
    app.session_interface = CookielessSessionInterface()
    app.before_request(refuse_unreadable_request)
    app.after_request(add_security_headers)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(InternalServerError, server_error)
    app.context_processor(layout_context)
    app.register_blueprint(site.bp)


def trusted_hosts(config) -> list[str]:
    """The configured host names, else SITE_URL's host (plus loopback names in tests and the demo)."""
    configured = [host for host in (config.get("TRUSTED_HOSTS") or ()) if host]
    if configured:
        return configured
    host = (urlsplit(config["SITE_URL"]).hostname or "").lower()
    hosts = [host] if host else []
    if config.get("TESTING") or config.get("DEMO") or host in LOOPBACK_HOSTS:
        hosts += [name for name in LOOPBACK_HOSTS if name not in hosts]
    return hosts


def deployment_salt(app) -> tuple[str, datetime]:
    """A fingerprint of the settings and code that shape pages, and when that code last changed."""
    package = Path(__file__).resolve().parent
    files = [*package.glob("*.py"), *package.glob("static/*"), *Path(app.template_folder).glob("*.html")]
    newest = max((path.stat().st_mtime for path in files if path.is_file()), default=0)
    settings = (app.config["SITE_NAME"], app.config["SITE_URL"], app.config["CANONICAL_TO_ORIGINAL"],
                sorted(app.config.get("LICENSE_POLICY") or ()), newest)
    digest = hashlib.blake2b(repr(settings).encode(), digest_size=8).hexdigest()
    return digest, datetime.fromtimestamp(int(newest), timezone.utc)


class CookielessSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signer for requests that carry no cookie."""

    def open_session(self, app, request):
        """An empty session when there is no session cookie (every public request)."""
        if request.cookies.get(self.get_cookie_name(app)) is None:
            return self.session_class()
        return super().open_session(app, request)


def add_security_headers(response: Response) -> Response:
    """Security headers on every response, pages, feeds, static files and errors alike."""
    if getattr(response, "has_security_headers", False):
        return response
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# ---------------------------------------------------------------- reading requests


def refuse_unreadable_request() -> None:
    """Answer 414, 413 or 400 before any view runs when the address or the body is one the site won't read."""
    environ = request.environ
    path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
    # the address as sent, where the server passes it on: PATH_INFO arrives decoded, and from some
    # servers (Werkzeug's own) with U+FFFD already put in place of bytes that are not UTF-8
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI") or ""
    if max(len(path) + len(query), len(target)) > MAX_URL_CHARS:
        raise RequestURITooLarge("This address is too long.")
    if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise RequestEntityTooLarge("What was sent is too large.")
    if query.count("&") >= MAX_QUERY_PARAMETERS:
        abort(400, description="This address has too many parameters.")
    if not (utf8_path(path) and percent_decodes(target.partition("?")[0]) and readable_query(query)):
        abort(400, description=BAD_ADDRESS)


def utf8_path(path: str) -> bool:
    """Whether a WSGI path (its bytes as Latin-1) is UTF-8 text; Werkzeug would silently read U+FFFD."""
    try:
        path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


def percent_decodes(text: str) -> bool:
    """Whether a raw path or query, its percent escapes decoded, is UTF-8 text."""
    try:
        unquote_to_bytes(text.encode("latin-1")).decode("utf-8")
    except UnicodeError:
        return False
    return True


def readable_query(query: str) -> bool:
    """Whether a raw query string holds only well-formed percent escapes of UTF-8 text."""
    try:
        broken = BROKEN_PERCENT_ESCAPE.search(query.encode("latin-1"))
    except UnicodeError:
        return False
    return broken is None and percent_decodes(query)


def repeated_parameter() -> str | None:
    """The first query parameter given more than once, or None."""
    seen = set()
    for name, _ in request.args.items(multi=True):
        if name in seen:
            return name
        seen.add(name)
    return None


def bounded_int(text: str | None) -> int | None:
    """A non-negative decimal integer that SQLite can hold, or None for anything else."""
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_SQLITE_INTEGER else None


class IdConverter(BaseConverter):
    """A URL part holding an id or page number: digits that SQLite can hold; anything else is a 404."""

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        """The integer, or no match when it is out of range."""
        number = bounded_int(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        """The integer as digits."""
        return str(int(value))


def layout_context() -> dict:
    """Values the base layout needs on every page."""
    return {"site_name": current_app.config["SITE_NAME"]}


# ---------------------------------------------------------------- site version and cache


@dataclass
class SiteCache:
    """Rendered responses of the current site version; emptied whenever the version moves on."""

    salt: tuple[str, datetime]
    stamp: tuple | None = None
    entries: OrderedDict = field(default_factory=OrderedDict)
    size: int = 0
    memos: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: threading.local = field(default_factory=threading.local)

    def current(self, stamp: tuple) -> bool:
        """Start over for a newer stamp; False when the stamp is older than what is cached."""
        if stamp == self.stamp:
            return True
        if self.stamp is None or stamp[0] != self.stamp[0] or stamp[1] > self.stamp[1]:
            self.stamp, self.entries, self.size, self.memos = stamp, OrderedDict(), 0, {}
            return True
        return False

    def get(self, stamp: tuple, key: str):
        """A cached entry of this version, or None."""
        with self.lock:
            if not self.current(stamp):
                return None
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, stamp: tuple, key: str, entry: "Rendered") -> None:
        """Keep an entry, dropping the least recently used beyond the bounds."""
        with self.lock:
            if not self.current(stamp) or key in self.entries:
                return
            self.entries[key] = entry
            self.size += entry.size
            while len(self.entries) > CACHE_ENTRIES or self.size > CACHE_BYTES:
                _, dropped = self.entries.popitem(last=False)
                self.size -= dropped.size

    def memo(self, stamp: tuple, name: str, loader):
        """A value computed once per site version (e.g. the sources by id)."""
        with self.lock:
            if self.current(stamp) and name in self.memos:
                return self.memos[name]
        value = loader()
        with self.lock:
            if self.current(stamp):
                self.memos[name] = value
        return value


@dataclass(frozen=True)
class Rendered:
    """A response body with its status and extra headers, as kept in the cache."""

    body: bytes
    status: int = 200
    headers: tuple = ()
    gzipped: bytes | None = None
    etag: str | None = None
    last_modified: datetime | None = None

    @property
    def size(self) -> int:
        """Bytes this entry holds in memory, both encodings."""
        return len(self.body) + len(self.gzipped or b"")


def site_cache() -> SiteCache:
    """This app's cache."""
    return current_app.extensions[EXTENSION]


def site_db():
    """This thread's long-lived read-only connection for the public site (opening one costs more than a page).

    The public site never writes: whatever writes (fetches, editors, reprocess) indexes what it
    published, after its own commit, so no reader waits for the write lock.
    """
    local = site_cache().connections
    if getattr(local, "db", None) is None:
        local.db = storage.connect_readonly(current_app.config["DATABASE"])
    return local.db


def site_state() -> dict:
    """The site version for this request (one row read)."""
    if "site_state" not in g:
        state = storage.site_state(site_db())
        g.site_state = dict(state, stamp=(state["token"], state["version"]))
    return g.site_state


def memo(name: str, loader):
    """A value computed once per site version in this process."""
    return site_cache().memo(site_state()["stamp"], name, loader)


def request_key() -> str:
    """The request's path and sorted query, the cache and ETag key; a repeated parameter is a 400.

    Views read the first of a repeated parameter, and sorting would give ?q=a&q=b and ?q=b&q=a one key:
    with repeats refused, addresses that share a key always mean the same page.
    """
    repeated = repeated_parameter()
    if repeated is not None:
        abort(400, description=f"This address gives the parameter \u201c{repeated}\u201d more than once.")
    args = sorted(request.args.items(multi=True))
    return request.path + ("?" + urlencode(args) if args else "")


def validators(key: str) -> tuple[str, datetime]:
    """ETag and Last-Modified of a route at the current site version."""
    state = site_state()
    salt, code_changed = site_cache().salt
    raw = f"{state['token']}:{state['version']}:{salt}:{key}".encode("utf-8", "surrogatepass")
    etag = hashlib.blake2b(raw, digest_size=16).hexdigest()
    changed = feeds.to_datetime(state["changed_at"]) or code_changed
    return etag, max(changed, code_changed)


def cached(render, mimetype: str = "text/html", max_age: int = PUBLIC_MAX_AGE) -> Response:
    """Answer 304 when the client's copy is current, else serve this version's bytes, rendering once.

    ``render()`` returns a ``Rendered``, or a str/bytes body for a 200. Clients that accept gzip get the
    copy compressed when the entry was cached, under its own ETag.
    """
    key = request_key()
    stamp = site_state()["stamp"]
    cache = site_cache()
    entry = cache.get(stamp, key)
    # a cached entry carries its validators, so a hit computes nothing
    etag, last_modified = (entry.etag, entry.last_modified) if entry is not None else validators(key)
    wants_gzip = accepts_gzip(request.headers.get("Accept-Encoding"))
    if not modified(etag, last_modified):
        tag = etag + GZIP_ETAG_SUFFIX if wants_gzip else etag
        return public_response(Rendered(b"", 304), mimetype, tag, last_modified, max_age)
    if entry is None:
        entry = replace(with_gzip(as_rendered(render())), etag=etag, last_modified=last_modified)
        if entry.status == 200:  # misses and redirects for made-up URLs would only push real pages out
            cache.put(stamp, key, entry)
    if wants_gzip and entry.gzipped is not None:
        response = public_response(Rendered(entry.gzipped, entry.status, entry.headers), mimetype,
                                   etag + GZIP_ETAG_SUFFIX, last_modified, max_age)
        response.headers["Content-Encoding"] = "gzip"
        return response
    return public_response(entry, mimetype, etag, last_modified, max_age)


def modified(etag: str, last_modified: datetime) -> bool:
    """False when the client's copy is current, in either encoding (a cache may hold either)."""
    environ = request.environ
    if "HTTP_IF_NONE_MATCH" not in environ and "HTTP_IF_MODIFIED_SINCE" not in environ:
        return True
    return (is_resource_modified(environ, etag=etag, last_modified=last_modified)
            and is_resource_modified(environ, etag=etag + GZIP_ETAG_SUFFIX, last_modified=last_modified))


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip: its own entry's q wins over "*"; q=0 means no."""
    found = {}
    for part in (header or "").split(","):
        name, _, params = part.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        # a repeated name keeps its first q; x-gzip is gzip's old alias (RFC 9110, 8.4.1.3)
        found.setdefault("gzip" if name == "x-gzip" else name, quality)
    quality = found.get("gzip", found.get("*", 0.0))
    return quality > 0


def with_gzip(entry: Rendered) -> Rendered:
    """The entry with a gzip copy of its body, made once as it enters the cache."""
    if len(entry.body) < GZIP_MIN_BYTES:
        return entry
    # mtime=0: the same body always compresses to the same bytes
    return Rendered(entry.body, entry.status, entry.headers, gzip.compress(entry.body, GZIP_LEVEL, mtime=0))


def as_rendered(value) -> Rendered:
    """A Rendered from what a render function returned."""
    if isinstance(value, Rendered):
        return value
    return Rendered(value.encode("utf-8") if isinstance(value, str) else bytes(value))


def public_response(entry: Rendered, mimetype: str, etag: str, last_modified: datetime,
                    max_age: int) -> Response:
    """A response for anyone: validators on 200 and 304; errors are not kept by caches."""
    # every cached route may answer in gzip, so shared caches must key on the request's encodings
    headers = [*entry.headers, ("Vary", "Accept-Encoding"), *SECURITY_HEADERS.items()]
    if entry.status in (200, 304):
        headers += [("ETag", quote_etag(etag)), ("Last-Modified", http_date(last_modified))]
    public = entry.status in (200, 301, 304, 410)
    headers.append(("Cache-Control", f"public, max-age={max_age}" if public else "no-cache"))
    # headers are written once here, in one list, rather than through the response's setters (a hot path)
    response = Response(entry.body, status=entry.status, mimetype=mimetype, headers=headers)
    response.has_security_headers = True
    return response


def private_response(response: Response) -> Response:
    """Mark a response that must never be stored (editor screens, health checks)."""
    response.cache_control.no_store = True
    return response


# ---------------------------------------------------------------- error pages


def error_page(code: int, title: str, message: str) -> str:
    """An error page in the site's layout."""
    return render_template("error.html", code=code, title=title, message=message)


def http_error(error: HTTPException):
    """Every HTTP error as a page in the site's layout."""
    if error.code is None or error.code < 400:
        return error
    if isinstance(error, SecurityError):
        # an unknown Host header: no URLs can be built for it, and no page is owed to it
        return Response("400 Bad Request: unknown host\n", 400, mimetype="text/plain")
    try:
        body = error_page(error.code, error.name, error.description or "")
    except Exception:  # an error page must never fail; fall back to plain text
        log.exception("error page could not be rendered")
        return Response(f"{error.code} {error.name}\n", error.code, mimetype="text/plain")
    response = Response(body, error.code, mimetype="text/html")
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    response.cache_control.no_cache = True
    return response


def server_error(error: InternalServerError):
    """A 500 page in the layout that touches neither the database nor the request's data."""
    try:
        body = error_page(500, "Something went wrong",
                          "The page could not be shown. Please try again in a moment.")
    except Exception:
        log.exception("error page could not be rendered")
        body = "500 Internal Server Error\n"
        return Response(body, 500, mimetype="text/plain")
    response = Response(body, 500, mimetype="text/html")
    response.cache_control.no_store = True
    return response
