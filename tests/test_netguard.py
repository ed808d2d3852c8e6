"""SSRF guard: URL checks, address classification and resolution; no network needed."""

import ipaddress

import pytest

from republisher.errors import BlockedAddressError, ConfigError, FetchError
from republisher.netguard import (
    AddressGuard,
    is_public_ip,
    parse_ip_literal,
    refusal_reason,
    resolve_and_check,
    split_url,
)

BLOCKED_LITERALS = [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "169.254.1.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3",
    "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1",
    "::", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "::7f00:1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::127.0.0.1",
    "64:ff9b:1::808:808", "2002:7f00:1::", "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "fe80::1", "fc00::1", "fd00:ec2::254", "fec0::1", "ff02::1", "2001:db8::1", "100::1",
    # legacy IPv4 spellings that resolvers (and browsers) turn into 127.0.0.1
    "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "127.0.1", "017700000001", "127.0.0.1.",
]

PUBLIC_LITERALS = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700::1", "2a00:1450:4001:81c::200e",
                   "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


def no_resolver(host, port):
    """Fails the test: IP literals must never be looked up."""
    raise AssertionError(f"resolver called for {host}")


@pytest.mark.parametrize("ip", BLOCKED_LITERALS)
def test_non_public_literals_are_not_public(ip):
    assert is_public_ip(ip) is False


@pytest.mark.parametrize("ip", BLOCKED_LITERALS)
def test_non_public_literals_are_refused_without_lookup(ip):
    with pytest.raises(BlockedAddressError, match="^refused: "):
        resolve_and_check(ip, 80, AddressGuard(resolver=no_resolver))


@pytest.mark.parametrize("ip", PUBLIC_LITERALS)
def test_public_literals(ip):
    assert is_public_ip(ip) is True
    assert resolve_and_check(ip, 443, AddressGuard(resolver=no_resolver)) == [str(ipaddress.ip_address(ip))]


@pytest.mark.parametrize("text", ["", "localhost", "news.example", "1.2.3.4.5", "999.1.1.1", "08.0.0.1", "[::1"])
def test_is_public_ip_is_false_for_non_addresses(text):
    assert is_public_ip(text) is False


@pytest.mark.parametrize("ip, reason", [
    ("127.0.0.1", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("100.64.0.1", "a carrier-grade NAT address (100.64.0.0/10)"),
    ("169.254.169.254", "the cloud metadata address"),
    ("fc00::1", "a unique local address (fc00::/7)"),
    ("::ffff:127.0.0.1", "an IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("64:ff9b::a9fe:a9fe", "a NAT64 form of 169.254.169.254, the cloud metadata address"),
    ("2002:c0a8:101::", "a 6to4 form of 192.168.1.1, a private address"),
    ("8.8.8.8", None),
])
def test_refusal_reasons(ip, reason):
    assert refusal_reason(ipaddress.ip_address(ip)) == reason


@pytest.mark.parametrize("host, expected", [
    ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("10.1", "10.0.0.1"), ("0x7F.0x00.0x00.0x01", "127.0.0.1"),
    ("8.8.8.8", "8.8.8.8"), ("8.8.8.8.", "8.8.8.8"), ("::1", "::1"), ("news.example", None),
])
def test_parse_ip_literal(host, expected):
    ip = parse_ip_literal(host)
    assert (str(ip) if ip else None) == expected


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.0.0.1", "1.16777216", "09.0.0.1", "news.123"])
def test_invalid_numeric_hosts_are_errors(host):
    with pytest.raises(FetchError):
        parse_ip_literal(host)


def test_messages_name_the_address_and_the_reason():
    with pytest.raises(BlockedAddressError, match=r"^refused: 127\.0\.0\.1 is a loopback address$"):
        resolve_and_check("127.0.0.1", 80)
    with pytest.raises(BlockedAddressError, match=r"^refused: 2130706433 is 127\.0\.0\.1, a loopback address$"):
        resolve_and_check("2130706433", 80)
    guard = AddressGuard(resolver=lambda host, port: ["169.254.169.254"])
    with pytest.raises(BlockedAddressError,
                       match=r"^refused: meta\.example resolves to 169\.254\.169\.254, the cloud metadata address$"):
        resolve_and_check("meta.example", 80, guard)


def test_hostnames_are_resolved_with_the_given_resolver():
    calls = []

    def resolver(host, port):
        calls.append((host, port))
        return ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14"]

    assert resolve_and_check("News.Example", 8080, AddressGuard(resolver=resolver)) == [
        "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert calls == [("news.example", 8080)]


@pytest.mark.parametrize("addresses", [
    ["127.0.0.1"], ["93.184.215.14", "10.0.0.1"], ["2606:4700::1", "::1"], ["::ffff:192.168.1.1"],
    ["fe80::1%1"],
])
def test_any_non_public_resolved_address_refuses_the_host(addresses):
    with pytest.raises(BlockedAddressError):
        resolve_and_check("news.example", 80, AddressGuard(resolver=lambda host, port: addresses))


def test_localhost_is_refused_with_the_system_resolver():
    with pytest.raises(BlockedAddressError, match="localhost resolves to"):
        resolve_and_check("localhost", 80)


def test_resolution_failures_are_fetch_errors():
    def failing(host, port):
        raise OSError(-2, "Name or service not known")

    with pytest.raises(FetchError, match="could not resolve nowhere.example: Name or service not known") as info:
        resolve_and_check("nowhere.example", 80, AddressGuard(resolver=failing))
    assert not isinstance(info.value, BlockedAddressError)
    with pytest.raises(FetchError, match="no addresses"):
        resolve_and_check("empty.example", 80, AddressGuard(resolver=lambda host, port: []))
    with pytest.raises(FetchError, match="resolver returned"):
        resolve_and_check("odd.example", 80, AddressGuard(resolver=lambda host, port: ["not-an-ip"]))


def test_allowed_networks_admit_only_those_networks():
    guard = AddressGuard(allowed_networks=("10.1.2.0/24", "fd12:3456::/32"), resolver=no_resolver)
    assert resolve_and_check("10.1.2.3", 80, guard) == ["10.1.2.3"]
    assert resolve_and_check("::ffff:10.1.2.3", 80, guard) == ["::ffff:a01:203"]
    assert resolve_and_check("fd12:3456::1", 80, guard) == ["fd12:3456::1"]
    for other in ("10.1.3.1", "127.0.0.1", "fd12:3457::1"):
        with pytest.raises(BlockedAddressError):
            resolve_and_check(other, 80, guard)


def test_bad_allowed_network_is_a_config_error():
    with pytest.raises(ConfigError, match="allowed networks"):
        resolve_and_check("10.0.0.1", 80, AddressGuard(allowed_networks=("10.0.0.0/33",)))


def test_allow_private_admits_everything():
    guard = AddressGuard(allow_private=True, resolver=lambda host, port: ["127.0.0.1"])
    assert resolve_and_check("127.0.0.1", 80, guard) == ["127.0.0.1"]
    assert resolve_and_check("0x7f.1", 80, guard) == ["127.0.0.1"]
    assert resolve_and_check("intranet.example", 80, guard) == ["127.0.0.1"]


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://127.0.0.1/feed", "gopher://127.0.0.1:70/_x", "data:text/xml,<rss/>",
    "javascript:alert(1)", "dict://127.0.0.1:11211/", "//news.example/feed", "news.example/feed",
])
def test_only_http_and_https_schemes(url):
    with pytest.raises(BlockedAddressError, match="^refused: scheme"):
        split_url(url)
    with pytest.raises(FetchError):  # without a scheme the text is taken for a (malformed) host name
        resolve_and_check(url, None, AddressGuard(resolver=no_resolver))


@pytest.mark.parametrize("url", ["http://user:secret@news.example/feed", "https://news.example@127.0.0.1/"])
def test_urls_with_credentials_are_refused(url):
    with pytest.raises(BlockedAddressError, match="credentials"):
        split_url(url)


def test_resolve_and_check_accepts_urls():
    seen = []
    guard = AddressGuard(resolver=lambda host, port: seen.append((host, port)) or ["93.184.215.14"])
    assert resolve_and_check("https://news.example/feed", None, guard) == ["93.184.215.14"]
    assert resolve_and_check("http://news.example:8080/feed", None, guard) == ["93.184.215.14"]
    assert seen == [("news.example", 443), ("news.example", 8080)]
    with pytest.raises(BlockedAddressError):
        resolve_and_check("http://[::ffff:127.0.0.1]:8080/", None, guard)


def test_split_url_parts():
    target = split_url("http://Bücher.Example:8080/ä b/feed?q=1 2#frag")
    assert (target.scheme, target.host, target.port) == ("http", "xn--bcher-kva.example", 8080)
    assert target.path == "/%C3%A4%20b/feed?q=1%202"
    assert target.authority == "xn--bcher-kva.example:8080"
    assert split_url("https://news.example").path == "/"
    assert split_url("https://news.example:443/x").authority == "news.example"
    assert split_url("http://[2606:4700::1]:8080/").authority == "[2606:4700::1]:8080"


@pytest.mark.parametrize("url", ["http://news.example:99999/", "http:///feed", "http://bad host/", "http://a%2fb/"])
def test_malformed_urls_are_fetch_errors(url):
    with pytest.raises(FetchError):
        split_url(url)
