"""Fetch stage: download one feed over http(s) within limits and hand back its bytes and validators."""

import email.utils
import heapq
import http.client
import itertools
import math
import re
import socket
import ssl
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import urldefrag, urljoin

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from . import netguard
from .errors import BodyTooLargeError, FetchError, FetchTimeoutError, HTTPStatusError, TooManyRedirectsError
from .netguard import AddressGuard, is_public_ip, resolve_and_check

__all__ = ["AddressGuard", "FetchLimits", "FetchResult", "fetch", "is_public_ip", "parse_retry_after",
           "resolve_and_check"]

DEFAULT_USER_AGENT = "republisher/0.1 (+https://github.com/republisher)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, "
          "text/xml;q=0.8, */*;q=0.1")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
READ_SIZE = 64 * 1024
# These describe the bytes on the wire, not the decompressed body handed back.
WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FetchLimits:
    """Time and size limits for one fetch."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 30.0  # total wall-clock seconds per fetch, all hops included
    max_bytes: int = 10 * 1024 * 1024  # cap on decompressed body bytes (and on raw bytes)
    max_redirects: int = 5


@dataclass
class FetchResult:
    """What a successful fetch hands to the parser and the scheduler."""

    url: str  # final URL after redirects
    status: int  # 304, or the 2xx status (normally 200)
    body: bytes  # decompressed; b"" for 304
    headers: dict  # response headers, names lower-cased, without content-encoding/-length/transfer-encoding
    etag: str | None
    last_modified: str | None
    permanent_url: str | None  # target of the leading 301/308 hops: the URL to store instead
    bytes_received: int  # body bytes on the wire (compressed)
    elapsed: float  # seconds


@dataclass
class _Hop:
    """One request's answer, before redirects are followed."""

    url: str
    status: int
    reason: str
    headers: dict
    body: bytes = b""
    wire: int = 0


class _Deadline:
    """Wall-clock budget shared by every step of one fetch."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the fetch started."""
        return time.monotonic() - self.started

    def remaining(self) -> float:
        """Seconds left; zero or less once the deadline has passed."""
        return self.seconds - self.elapsed()

    def check(self) -> None:
        """Raise if the deadline has passed."""
        if self.remaining() <= 0:
            raise self.error()

    def error(self) -> FetchTimeoutError:
        """The error for a fetch that ran out of time."""
        return FetchTimeoutError(f"timed out after {self.seconds:g} s (total deadline)")


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          limits: FetchLimits = FetchLimits(), guard: AddressGuard = AddressGuard(),
          user_agent: str = DEFAULT_USER_AGENT, accept: str = ACCEPT) -> FetchResult:
    """Fetch a feed URL (or, with another Accept, a page) within the limits, following redirects."""
    deadline = _Deadline(limits.deadline)
    headers = _request_headers(user_agent, etag, last_modified, accept)
    current = urldefrag(url.strip()).url
    seen = {current}
    permanent_url, leading_permanent = None, True
    while True:
        hop = _exchange(current, headers, limits, guard, deadline)
        if hop.status not in REDIRECTS:
            return _result(hop, permanent_url, deadline)
        location = _location(current, hop)
        if leading_permanent and hop.status in PERMANENT_REDIRECTS:
            permanent_url = location
        else:
            leading_permanent = False
        if location in seen:
            raise TooManyRedirectsError(f"redirect loop: {location} was already visited")
        if len(seen) > limits.max_redirects:
            raise TooManyRedirectsError(f"more than {limits.max_redirects} redirects")
        seen.add(location)
        current = location


def _request_headers(user_agent: str, etag: str | None, last_modified: str | None, accept: str = ACCEPT) -> dict:
    """Headers sent on every hop; stored validators that would break the request line are dropped."""
    headers = {"User-Agent": user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate",
               "Connection": "close"}
    if etag and not _CONTROL_CHARS.search(etag):
        headers["If-None-Match"] = etag
    if last_modified and not _CONTROL_CHARS.search(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _exchange(url: str, headers: dict, limits: FetchLimits, guard: AddressGuard, deadline: _Deadline) -> _Hop:
    """Make one request after checking the URL and its addresses; the body is read only for 2xx."""
    target = netguard.split_url(url)
    addresses = resolve_and_check(target.host, target.port, guard)
    deadline.check()
    conn = _connect(target, addresses, limits, deadline)
    try:
        with _Watchdog(conn.sock, deadline.remaining()) as watchdog, \
                _translated(target, limits, deadline, watchdog, "reading from"):
            conn.request("GET", target.path, headers={**headers, "Host": target.authority},
                         preload_content=False, decode_content=False)
            response = conn.getresponse()
            hop = _Hop(target.url, response.status, response.reason or "",
                       {name.lower(): response.headers[name] for name in response.headers})
            if 200 <= hop.status < 300:
                hop.body, hop.wire = _read_body(response, hop.headers, limits, deadline, watchdog)
            if watchdog.fired:
                raise deadline.error()
            return hop
    finally:
        conn.close()


def _connect(target: netguard.Target, addresses: list[str], limits: FetchLimits,
             deadline: _Deadline) -> HTTPConnection:
    """Connect to the first reachable checked address; no second DNS lookup, TLS still checks the name."""
    error = None
    for address in addresses:
        timeout = min(limits.connect_timeout, deadline.remaining())
        if timeout <= 0:
            raise deadline.error()
        if target.scheme == "https":
            conn = HTTPSConnection(address, target.port, timeout=timeout, cert_reqs="CERT_REQUIRED",
                                   server_hostname=target.host, assert_hostname=target.host.rstrip("."))
        else:
            conn = HTTPConnection(address, target.port, timeout=timeout)
        try:
            with _translated(target, limits, deadline, None, "connecting to"):
                conn.connect()
        except FetchError as exc:
            conn.close()
            if deadline.remaining() <= 0:
                raise
            error = exc
            continue
        # Timeouts per socket operation from here on; the watchdog enforces the total deadline.
        conn.timeout = limits.read_timeout
        return conn
    raise error


class _Alarms:
    """One daemon thread that fires armed watchdogs at their deadlines (a thread per fetch costs more)."""

    def __init__(self):
        self._heap: list = []
        self._condition = threading.Condition()
        self._order = itertools.count()
        self._thread = None

    def arm(self, seconds: float, callback) -> list:
        """Call `callback` after `seconds` unless disarmed first; returns the handle."""
        with self._condition:
            handle = [time.monotonic() + max(seconds, 0.0), next(self._order), callback]
            heapq.heappush(self._heap, handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0] is handle:  # only an earlier deadline needs the sleeper woken
                self._condition.notify()
            return handle

    def disarm(self, handle: list) -> None:
        """Forget an armed callback."""
        with self._condition:
            handle[2] = None

    def _run(self) -> None:
        """Sleep until the earliest deadline, fire what is due, repeat."""
        with self._condition:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                callback = heapq.heappop(self._heap)[2]
                callback()


_ALARMS = _Alarms()


class _Watchdog:
    """Shuts the connection's socket down when the total deadline passes, waking any blocked read."""

    def __init__(self, sock: socket.socket, seconds: float):
        self.fired = False
        self._lock = threading.Lock()
        # Our own duplicate descriptor: shutting it down can never hit a descriptor number reused elsewhere.
        self._spare = socket.fromfd(sock.fileno(), sock.family, sock.type)
        self._seconds = seconds
        self._handle = None

    def __enter__(self) -> "_Watchdog":
        """Arm the alarm."""
        self._handle = _ALARMS.arm(self._seconds, self._fire)
        return self

    def __exit__(self, *exc_info) -> None:
        """Disarm the alarm and release the spare descriptor."""
        _ALARMS.disarm(self._handle)
        with self._lock:
            self._spare.close()

    def _fire(self) -> None:
        """Deadline reached: make the socket return end-of-file to whoever is reading it."""
        with self._lock:
            if self._spare.fileno() < 0:
                return
            self.fired = True
            try:
                self._spare.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@contextmanager
def _translated(target: netguard.Target, limits: FetchLimits, deadline: _Deadline,
                watchdog: _Watchdog | None, doing: str):
    """Turn low-level network errors into one-line FetchErrors, timeouts into FetchTimeoutError."""
    try:
        yield
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError) as exc:
        if deadline.remaining() <= 0 or (watchdog is not None and watchdog.fired):
            raise deadline.error() from exc
        if _is_timeout(exc):
            connecting = doing == "connecting to"
            seconds = limits.connect_timeout if connecting else limits.read_timeout
            kind = "connect" if connecting else "read"
            raise FetchTimeoutError(f"timed out {doing} {target.authority} after {seconds:g} s ({kind} timeout)") \
                from exc
        raise FetchError(f"error {doing} {target.authority}: {_describe(exc)}") from exc


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost explicitly chained exception."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _is_timeout(exc: BaseException) -> bool:
    """True for socket, SSL and urllib3 timeouts."""
    root = _root_cause(exc)
    # urllib3's NewConnectionError (e.g. connection refused) subclasses ConnectTimeoutError.
    if isinstance(root, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(root, (TimeoutError, urllib3.exceptions.TimeoutError))


def _describe(exc: BaseException) -> str:
    """One line naming the root cause of a network error."""
    root = _root_cause(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {root.verify_message}"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    lines = str(root).strip().splitlines()
    return lines[0] if lines else type(root).__name__


def _read_body(response, headers: dict, limits: FetchLimits, deadline: _Deadline,
               watchdog: _Watchdog) -> tuple[bytes, int]:
    """Read the raw body in small reads, decompressing as it arrives, within the size and time limits."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise BodyTooLargeError(f"body exceeds {_size(limits.max_bytes)} (Content-Length: {declared})")
    decoder = _Decoder(headers.get("content-encoding", ""), limits.max_bytes)
    wire = 0
    while True:
        if watchdog.fired or deadline.remaining() <= 0:
            raise deadline.error()
        # read1 returns whatever one socket read brings, so a dripping server cannot stall this loop.
        chunk = response.read1(READ_SIZE, decode_content=False)
        if not chunk:
            break
        wire += len(chunk)
        if wire > limits.max_bytes:
            raise BodyTooLargeError(f"body exceeds {_size(limits.max_bytes)}")
        decoder.feed(chunk)
    if watchdog.fired:
        raise deadline.error()
    return decoder.finish(), wire


class _Decoder:
    """Decompresses gzip or deflate incrementally, raising as soon as the output passes the cap."""

    def __init__(self, content_encoding: str, cap: int):
        self.encoding = content_encoding.strip().lower()
        self._cap = cap
        self._body = bytearray()
        self._fed = False
        if self.encoding in ("", "identity"):
            self._zlib = None
        elif self.encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(_GZIP_WBITS)
        elif self.encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError(f"unsupported Content-Encoding: {self.encoding}")

    def feed(self, data: bytes) -> None:
        """Decompress one raw chunk, never producing more than one read size of output at a time."""
        if self._zlib is None:
            self._append(data)
            return
        try:
            try:
                self._inflate(data)
            except zlib.error:
                # "deflate" is often sent as a raw stream without the zlib header the RFC asks for.
                if self.encoding != "deflate" or self._fed or self._body:
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._inflate(data)
        except zlib.error as exc:
            raise FetchError(f"could not decompress {self.encoding} body: {exc}") from None
        self._fed = True

    def _inflate(self, data: bytes) -> None:
        """Feed data through the decompressor in bounded steps, starting a new gzip member when one ends."""
        while data:
            if self._zlib.eof:
                if self.encoding == "deflate":
                    return  # bytes after the end of a deflate stream carry nothing
                self._zlib = zlib.decompressobj(_GZIP_WBITS)
            self._append(self._zlib.decompress(data, READ_SIZE))
            data = self._zlib.unconsumed_tail or (self._zlib.unused_data if self._zlib.eof else b"")

    def finish(self) -> bytes:
        """The whole decompressed body; raises if a compressed stream stopped short."""
        if self._zlib is not None and self._fed and not self._zlib.eof:
            try:
                self._append(self._zlib.flush())
            except zlib.error as exc:
                raise FetchError(f"could not decompress {self.encoding} body: {exc}") from None
            if not self._zlib.eof:
                raise FetchError(f"{self.encoding} body is truncated")
        return bytes(self._body)

    def _append(self, data: bytes) -> None:
        """Add output, refusing to grow past the cap."""
        if len(self._body) + len(data) > self._cap:
            raise BodyTooLargeError(f"body exceeds {_size(self._cap)} after decompression")
        self._body += data


def _size(n: int) -> str:
    """Human size for messages: 10 MiB, 512 KiB or 1000 bytes."""
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _location(current: str, hop: _Hop) -> str:
    """The absolute redirect target, without fragment."""
    location = hop.headers.get("location", "").strip()
    if not location:
        raise FetchError(f"HTTP {hop.status} redirect without a Location header")
    try:
        # http.client decodes header bytes as Latin-1; servers usually send UTF-8.
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    return urldefrag(urljoin(current, location)).url


def _result(hop: _Hop, permanent_url: str | None, deadline: _Deadline) -> FetchResult:
    """The final answer as a FetchResult, or the HTTPStatusError it stands for."""
    if hop.status != 304 and not 200 <= hop.status < 300:
        raise _status_error(hop)
    return FetchResult(
        url=hop.url, status=hop.status, body=hop.body if hop.status != 304 else b"",
        headers={name: value for name, value in hop.headers.items() if name not in WIRE_HEADERS},
        etag=hop.headers.get("etag"), last_modified=hop.headers.get("last-modified"),
        permanent_url=permanent_url, bytes_received=hop.wire, elapsed=deadline.elapsed())


def _status_error(hop: _Hop) -> HTTPStatusError:
    """An HTTPStatusError with the standard reason phrase and any Retry-After."""
    try:
        phrase = HTTPStatus(hop.status).phrase
    except ValueError:
        phrase = hop.reason
    message = f"HTTP {hop.status} {phrase}".rstrip()
    return HTTPStatusError(hop.status, message, retry_after=parse_retry_after(hop.headers.get("retry-after")))


def parse_retry_after(value: str | None, now: datetime | None = None) -> int | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent or malformed."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0, math.ceil((when - now).total_seconds()))
