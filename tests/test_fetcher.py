"""Fetch stage against real servers on loopback: limits, redirects, conditional GET, SSRF guard, TLS."""

import gzip
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from republisher.errors import (
    BlockedAddressError,
    BodyTooLargeError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    TooManyRedirectsError,
)
from republisher.fetcher import AddressGuard, FetchLimits, fetch, parse_retry_after

LOCAL = AddressGuard(allow_private=True)
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
MIB = 1024 * 1024


class RawServer:
    """A TCP server on a loopback address that counts connections and hands each one to a handler."""

    def __init__(self, handler, host="127.0.0.1"):
        self.handler = handler
        self.host = host
        self.hits = 0
        self.requests = []
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path="/"):
        """URL of a path on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def _serve(self):
        """Accept connections until stopped."""
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.hits += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        """Read the request head, then let the handler answer."""
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                self.requests.append(head.decode("latin-1"))
                self.handler(conn)
            except OSError:
                pass

    def close(self):
        """Stop accepting and release the port."""
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def raw_server():
    """Factory for RawServers, all closed after the test."""
    servers = []

    def make(handler, host="127.0.0.1"):
        server = RawServer(handler, host)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def ok(conn):
    """Answer 200 with a small feed."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n%s" % (len(FEED), FEED))


# --- plain fetching and conditional GET ---------------------------------------------------------

def test_200_returns_body_headers_and_validators(httpserver):
    httpserver.expect_request("/feed").respond_with_data(
        FEED, content_type="application/rss+xml",
        headers={"ETag": '"v1"', "Last-Modified": "Mon, 02 Mar 2026 10:00:00 GMT", "X-Custom": "Yes"})
    url = httpserver.url_for("/feed")
    result = fetch(url, guard=LOCAL)
    assert (result.url, result.status, result.body) == (url, 200, FEED)
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["x-custom"] == "Yes"
    assert all(name == name.lower() for name in result.headers)
    assert (result.etag, result.last_modified) == ('"v1"', "Mon, 02 Mar 2026 10:00:00 GMT")
    assert result.permanent_url is None
    assert result.bytes_received == len(FEED)
    assert 0 < result.elapsed < 5
    request = httpserver.log[0][0]
    assert request.headers["User-Agent"].startswith("republisher/")
    assert "application/rss+xml" in request.headers["Accept"]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in request.headers


def test_custom_user_agent_is_sent(httpserver):
    httpserver.expect_request("/feed").respond_with_data(FEED)
    fetch(httpserver.url_for("/feed"), guard=LOCAL, user_agent="mirror-bot/2.0 (+https://mirror.test/about)")
    assert httpserver.log[0][0].headers["User-Agent"] == "mirror-bot/2.0 (+https://mirror.test/about)"


def test_etag_gives_304(httpserver):
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v1"'})
    result = fetch(httpserver.url_for("/feed"), etag='"v1"', guard=LOCAL)
    assert (result.status, result.body, result.etag) == (304, b"", '"v1"')


def test_last_modified_gives_304(httpserver):
    stamp = "Mon, 02 Mar 2026 10:00:00 GMT"
    httpserver.expect_request("/feed", headers={"If-Modified-Since": stamp}).respond_with_data("", status=304)
    result = fetch(httpserver.url_for("/feed"), last_modified=stamp, guard=LOCAL)
    assert (result.status, result.body) == (304, b"")


def test_validators_with_line_breaks_are_not_sent(httpserver):
    httpserver.expect_request("/feed").respond_with_data(FEED)
    result = fetch(httpserver.url_for("/feed"), etag='"v1"\r\nX-Evil: 1', guard=LOCAL)
    assert result.status == 200
    assert "X-Evil" not in httpserver.log[0][0].headers


# --- content encoding and size caps -------------------------------------------------------------

@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw deflate, as some servers send
    ("gzip", lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:])),  # two gzip members
])
def test_compressed_bodies_are_decoded(httpserver, encoding, encode):
    body = FEED * 50
    wire = encode(body)
    httpserver.expect_request("/feed").respond_with_data(wire, headers={"Content-Encoding": encoding})
    result = fetch(httpserver.url_for("/feed"), guard=LOCAL)
    assert result.body == body
    assert result.bytes_received == len(wire) < len(body)
    assert "content-encoding" not in result.headers and "content-length" not in result.headers


def test_truncated_or_corrupt_gzip_is_an_error(httpserver):
    httpserver.expect_request("/short").respond_with_data(gzip.compress(FEED * 50)[:-20],
                                                          headers={"Content-Encoding": "gzip"})
    httpserver.expect_request("/junk").respond_with_data(b"not gzip at all", headers={"Content-Encoding": "gzip"})
    httpserver.expect_request("/br").respond_with_data(b"\x0b", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="gzip body is truncated"):
        fetch(httpserver.url_for("/short"), guard=LOCAL)
    with pytest.raises(FetchError, match="could not decompress gzip body"):
        fetch(httpserver.url_for("/junk"), guard=LOCAL)
    with pytest.raises(FetchError, match="unsupported Content-Encoding: br"):
        fetch(httpserver.url_for("/br"), guard=LOCAL)


def gzip_bomb(total_mib):
    """A valid gzip stream of total_mib MiB of zeros, as chunks of about 1 KiB (identical chunks shared)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(MIB)
    chunks, crc, steady = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"], 0, None
    for _ in range(total_mib):
        if steady is None:
            chunk = compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)
            # Once a block of zeros compresses like the previous one, the compressor is in a steady state.
            steady = chunk if chunk == chunks[-1] else None
        chunks.append(steady or chunk)
        crc = zlib.crc32(block, crc)
    chunks.append(compressor.flush() + struct.pack("<II", crc, (total_mib * MIB) & 0xFFFFFFFF))
    return chunks


def test_gzip_bomb_helper_builds_a_valid_stream():
    assert gzip.decompress(b"".join(gzip_bomb(16))) == bytes(16 * MIB)


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(raw_server):
    chunks = gzip_bomb(1024)  # 1 GiB of zeros in about 1 MiB on the wire

    def serve_bomb(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
        for chunk in chunks:
            conn.sendall(chunk)

    server = raw_server(serve_bomb)
    tracemalloc.start()
    try:
        started = time.monotonic()
        with pytest.raises(BodyTooLargeError, match="^body exceeds 1 MiB after decompression$"):
            fetch(server.url("/bomb"), limits=FetchLimits(max_bytes=MIB), guard=LOCAL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB  # the whole body would be 1 GiB
    assert time.monotonic() - started < 5


def test_plain_body_over_the_cap_is_refused_by_content_length(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * (2 * MIB))
    with pytest.raises(BodyTooLargeError, match=r"^body exceeds 1 MiB \(Content-Length: 2097152\)$"):
        fetch(httpserver.url_for("/big"), limits=FetchLimits(max_bytes=MIB), guard=LOCAL)


def test_streamed_body_over_the_cap_is_refused(httpserver):
    httpserver.expect_request("/stream").respond_with_handler(
        lambda request: Response(iter([b"x" * 100_000] * 30)))
    with pytest.raises(BodyTooLargeError, match="^body exceeds 1 MiB$"):
        fetch(httpserver.url_for("/stream"), limits=FetchLimits(max_bytes=MIB), guard=LOCAL)


def test_body_exactly_at_the_cap_is_accepted(httpserver):
    httpserver.expect_request("/exact").respond_with_data(gzip.compress(b"y" * 4096),
                                                          headers={"Content-Encoding": "gzip"})
    result = fetch(httpserver.url_for("/exact"), limits=FetchLimits(max_bytes=4096), guard=LOCAL)
    assert result.body == b"y" * 4096


# --- timeouts -----------------------------------------------------------------------------------

def drip_body(conn):
    """Send headers, then one body byte every 0.3 s (for 9 s)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n")
    for _ in range(30):
        conn.sendall(b"<")
        time.sleep(0.3)


def drip_headers(conn):
    """Send the response head one byte every 0.3 s (for 9 s, then give up)."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaa":
        conn.sendall(bytes([byte]))
        time.sleep(0.3)


@pytest.mark.parametrize("handler", [drip_body, drip_headers])
def test_dripping_server_is_cut_off_at_the_deadline(raw_server, handler):
    server = raw_server(handler)
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match=r"^timed out after 2 s \(total deadline\)$"):
        fetch(server.url("/feed"), limits=FetchLimits(deadline=2, read_timeout=5), guard=LOCAL)
    assert time.monotonic() - started < 3


def test_silent_server_hits_the_read_timeout(raw_server):
    server = raw_server(lambda conn: time.sleep(3))
    started = time.monotonic()
    with pytest.raises(FetchTimeoutError, match=r"read timeout"):
        fetch(server.url("/feed"), limits=FetchLimits(read_timeout=0.5, deadline=10), guard=LOCAL)
    assert time.monotonic() - started < 2


def test_refused_connection_is_a_fetch_error(raw_server):
    server = raw_server(ok)
    port = server.port
    server.close()
    with pytest.raises(FetchError, match=f"^error connecting to 127.0.0.1:{port}: Connection refused$"):
        fetch(f"http://127.0.0.1:{port}/", guard=LOCAL)


def test_fetches_run_in_parallel_threads(raw_server):
    def slow_ok(conn):
        time.sleep(0.3)
        ok(conn)

    server = raw_server(slow_ok)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: fetch(server.url(f"/feed/{i}"), guard=LOCAL), range(8)))
    assert [result.body for result in results] == [FEED] * 8
    assert time.monotonic() - started < 2


# --- redirects ----------------------------------------------------------------------------------

def redirect(status, location):
    """A response that redirects."""
    return Response("", status=status, headers={"Location": location})


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_sets_permanent_url(httpserver, status):
    httpserver.expect_request("/old").respond_with_response(redirect(status, "/new"))
    httpserver.expect_request("/new").respond_with_data(FEED)
    result = fetch(httpserver.url_for("/old"), guard=LOCAL)
    assert result.url == result.permanent_url == httpserver.url_for("/new")
    assert result.body == FEED


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_leaves_the_url_alone(httpserver, status):
    httpserver.expect_request("/old").respond_with_response(redirect(status, "new"))  # relative Location
    httpserver.expect_request("/new").respond_with_data(FEED)
    result = fetch(httpserver.url_for("/old"), guard=LOCAL)
    assert result.url == httpserver.url_for("/new")
    assert result.permanent_url is None


def test_only_leading_permanent_hops_count(httpserver):
    httpserver.expect_request("/a").respond_with_response(redirect(301, "/b"))
    httpserver.expect_request("/b").respond_with_response(redirect(308, "/c"))
    httpserver.expect_request("/c").respond_with_response(redirect(302, "/d"))
    httpserver.expect_request("/d").respond_with_response(redirect(301, "/e"))
    httpserver.expect_request("/e").respond_with_data(FEED)
    result = fetch(httpserver.url_for("/a"), guard=LOCAL)
    assert result.permanent_url == httpserver.url_for("/c")
    assert result.url == httpserver.url_for("/e")


def test_permanent_after_temporary_is_not_stored(httpserver):
    httpserver.expect_request("/a").respond_with_response(redirect(302, "/b"))
    httpserver.expect_request("/b").respond_with_response(redirect(301, "/c"))
    httpserver.expect_request("/c").respond_with_data(FEED)
    assert fetch(httpserver.url_for("/a"), guard=LOCAL).permanent_url is None


def test_redirect_loop_is_detected(httpserver):
    httpserver.expect_request("/a").respond_with_response(redirect(302, "/b"))
    httpserver.expect_request("/b").respond_with_response(redirect(302, "/a#again"))
    with pytest.raises(TooManyRedirectsError, match="redirect loop"):
        fetch(httpserver.url_for("/a"), guard=LOCAL)
    assert len(httpserver.log) == 2


def chain(httpserver, hops):
    """/r0 -> /r1 -> ... -> /r{hops}, which answers 200."""
    for i in range(hops):
        httpserver.expect_request(f"/r{i}").respond_with_response(redirect(302, f"/r{i + 1}"))
    httpserver.expect_request(f"/r{hops}").respond_with_data(FEED)


def test_five_redirects_are_followed(httpserver):
    chain(httpserver, 5)
    assert fetch(httpserver.url_for("/r0"), guard=LOCAL).url == httpserver.url_for("/r5")


def test_more_than_five_redirects_are_refused(httpserver):
    chain(httpserver, 6)
    with pytest.raises(TooManyRedirectsError, match="^more than 5 redirects$"):
        fetch(httpserver.url_for("/r0"), guard=LOCAL)
    assert len(httpserver.log) == 6


def test_redirect_limit_is_configurable(httpserver):
    chain(httpserver, 1)
    with pytest.raises(TooManyRedirectsError):
        fetch(httpserver.url_for("/r0"), limits=FetchLimits(max_redirects=0), guard=LOCAL)


def test_redirect_without_location_is_an_error(httpserver):
    httpserver.expect_request("/a").respond_with_data("", status=302)
    with pytest.raises(FetchError, match="redirect without a Location"):
        fetch(httpserver.url_for("/a"), guard=LOCAL)


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://127.0.0.1/"])
def test_redirect_to_other_schemes_is_refused(httpserver, location):
    httpserver.expect_request("/a").respond_with_response(redirect(302, location))
    with pytest.raises(BlockedAddressError, match="scheme"):
        fetch(httpserver.url_for("/a"), guard=LOCAL)


# --- error statuses -----------------------------------------------------------------------------

def test_500_is_an_http_status_error(httpserver):
    httpserver.expect_request("/feed").respond_with_data("boom", status=500)
    with pytest.raises(HTTPStatusError, match="^HTTP 500 Internal Server Error$") as info:
        fetch(httpserver.url_for("/feed"), guard=LOCAL)
    assert (info.value.status, info.value.retry_after) == (500, None)


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_seconds_are_reported(httpserver, status):
    httpserver.expect_request("/feed").respond_with_data("later", status=status, headers={"Retry-After": "120"})
    with pytest.raises(HTTPStatusError) as info:
        fetch(httpserver.url_for("/feed"), guard=LOCAL)
    assert (info.value.status, info.value.retry_after) == (status, 120)


def test_retry_after_http_date_is_reported(httpserver):
    when = datetime.now(timezone.utc) + timedelta(seconds=600)
    httpserver.expect_request("/feed").respond_with_data(
        "", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(HTTPStatusError, match="^HTTP 429 Too Many Requests$") as info:
        fetch(httpserver.url_for("/feed"), guard=LOCAL)
    assert 590 <= info.value.retry_after <= 601


def test_unknown_status_uses_the_servers_reason(raw_server):
    server = raw_server(lambda conn: conn.sendall(b"HTTP/1.1 599 Network Glitch\r\nContent-Length: 0\r\n\r\n"))
    with pytest.raises(HTTPStatusError, match="^HTTP 599 Network Glitch$"):
        fetch(server.url(), guard=LOCAL)


@pytest.mark.parametrize("value, expected", [
    ("120", 120), (" 0 ", 0), ("Wed, 21 Oct 2015 07:28:00 GMT", 60), ("Wed, 21 Oct 2015 07:26:00 GMT", 0),
    ("soon", None), ("-5", None), ("1.5", None), ("", None), (None, None),
])
def test_parse_retry_after(value, expected):
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=timezone.utc)
    assert parse_retry_after(value, now=now) == expected


# --- SSRF guard ---------------------------------------------------------------------------------

BLOCKED_HOSTS = ["127.0.0.1", "localhost", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                 "100.64.0.1", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[64:ff9b::7f00:1]",
                 "[fe80::1]", "[fc00::1]", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1"]


@pytest.fixture(scope="module")
def counting_server():
    """A loopback server that would answer any request; every refused fetch must leave it untouched."""
    server = RawServer(ok)
    yield server
    server.close()


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_guard_refuses_non_public_hosts_before_connecting(counting_server, host):
    started = time.monotonic()
    with pytest.raises(BlockedAddressError, match="^refused: "):
        fetch(f"http://{host}:{counting_server.port}/feed")
    assert time.monotonic() - started < 1
    assert counting_server.hits == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://127.0.0.1:70/_x",
                                 "data:text/xml,<rss/>", "javascript:alert(1)"])
def test_guard_refuses_other_schemes(url):
    with pytest.raises(BlockedAddressError, match="^refused: scheme"):
        fetch(url)
    with pytest.raises(BlockedAddressError):
        fetch(url, guard=LOCAL)  # even when private addresses are allowed


def test_guard_refuses_credentials(counting_server):
    with pytest.raises(BlockedAddressError, match="credentials"):
        fetch(f"http://user:pw@127.0.0.1:{counting_server.port}/", guard=LOCAL)
    assert counting_server.hits == 0


def test_connects_to_the_checked_address_and_sends_the_original_host(raw_server):
    server = raw_server(ok)
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return {"news.example": ["127.0.0.1"]}[host]

    guard = AddressGuard(allowed_networks=("127.0.0.1/32",), resolver=resolver)
    result = fetch(f"http://news.example:{server.port}/feed?x=1", guard=guard)
    assert result.body == FEED
    assert lookups == ["news.example"]  # news.example is not in DNS: no second lookup happened
    request_line, *headers = server.requests[0].split("\r\n")
    assert request_line == "GET /feed?x=1 HTTP/1.1"
    assert f"Host: news.example:{server.port}" in headers


def test_public_looking_url_redirecting_to_loopback_is_refused(raw_server):
    secret = raw_server(ok, host="127.0.0.1")
    front = raw_server(lambda conn: conn.sendall(
        b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % secret.url("/secret").encode()),
        host="127.0.0.2")
    guard = AddressGuard(allowed_networks=("127.0.0.2/32",),
                         resolver=lambda host, port: {"news.example": ["127.0.0.2"]}[host])
    with pytest.raises(BlockedAddressError, match=r"^refused: 127\.0\.0\.1 is a loopback address$"):
        fetch(f"http://news.example:{front.port}/feed", guard=guard)
    assert front.hits == 1
    assert secret.hits == 0


def test_redirect_to_a_name_resolving_to_metadata_is_refused(raw_server):
    front = raw_server(lambda conn: conn.sendall(
        b"HTTP/1.1 301 Moved\r\nLocation: http://meta.example/latest/\r\nContent-Length: 0\r\n\r\n"),
        host="127.0.0.2")
    addresses = {"news.example": ["127.0.0.2"], "meta.example": ["169.254.169.254"]}
    guard = AddressGuard(allowed_networks=("127.0.0.2/32",), resolver=lambda host, port: addresses[host])
    with pytest.raises(BlockedAddressError, match="meta.example resolves to 169.254.169.254"):
        fetch(f"http://news.example:{front.port}/feed", guard=guard)


# --- TLS ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for news.example (needs the openssl command)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl command not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=news.example",
                    "-addext", "subjectAltName=DNS:news.example"], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(tls_cert):
    """An HTTPS server on 127.0.0.1 presenting the news.example certificate, recording SNI names."""
    cert, key = tls_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/feed").respond_with_data(FEED)
    server.start()
    server.sni_names = names
    yield server
    server.clear()
    server.stop()


def tls_guard(name):
    """A guard that sends name to 127.0.0.1."""
    return AddressGuard(allow_private=True, resolver=lambda host, port: {name: ["127.0.0.1"]}[host])


def test_https_verifies_the_url_host_name_while_connecting_to_the_checked_address(tls_server, tls_cert,
                                                                                  monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cert[0]))
    result = fetch(f"https://news.example:{tls_server.port}/feed", guard=tls_guard("news.example"))
    assert result.body == FEED
    assert tls_server.sni_names == ["news.example"]
    assert tls_server.log[0][0].headers["Host"] == f"news.example:{tls_server.port}"


def test_https_refuses_a_certificate_for_another_name(tls_server, tls_cert, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_cert[0]))
    with pytest.raises(FetchError, match="other.example") as info:
        fetch(f"https://other.example:{tls_server.port}/feed", guard=tls_guard("other.example"))
    assert not isinstance(info.value, FetchTimeoutError)
    assert len(tls_server.log) == 0


def test_https_refuses_an_untrusted_certificate(tls_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(FetchError, match="certificate verif"):
        fetch(f"https://news.example:{tls_server.port}/feed", guard=tls_guard("news.example"))
    assert len(tls_server.log) == 0
