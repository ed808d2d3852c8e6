"""SSRF guard: which URLs may be fetched and which resolved addresses may be connected to."""

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote, urlsplit

from .errors import BlockedAddressError, ConfigError, FetchError

DEFAULT_PORTS = {"http": 80, "https": 443}

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Checked in order, so the most specific description wins.
_IPV4_RULES = (
    (_V4("169.254.169.254/32"), "the cloud metadata address"),
    (_V4("0.0.0.0/8"), "a 'this network' address (0.0.0.0/8)"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT address (100.64.0.0/10)"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("192.0.0.0/24"), "an IETF protocol assignment address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("255.255.255.255/32"), "the broadcast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
)

_IPV6_RULES = (
    (_V6("::/128"), "the unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    # IPv4-compatible addresses are deprecated and never routed on the public internet.
    (_V6("::/96"), "an IPv4-compatible address (deprecated)"),
    (_V6("::ffff:0:0:0/96"), "an IPv4-translated address"),
    # Local-use NAT64 prefixes may place the IPv4 part anywhere; the whole block is site-local.
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    # The Teredo client address is obfuscated, so it cannot be checked; refuse the whole block.
    (_V6("2001::/32"), "a Teredo address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address (deprecated)"),
    (_V6("fc00::/7"), "a unique local address (fc00::/7)"),
    (_V6("ff00::/8"), "a multicast address"),
)

_NAT64_WELL_KNOWN = _V6("64:ff9b::/96")
_IPV4_PART = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")


@dataclass(frozen=True)
class AddressGuard:
    """Which addresses a fetch may connect to; the default admits only public ones."""

    allow_private: bool = False  # REPUBLISHER_ALLOW_PRIVATE_ADDRESSES: tests and demo only
    allowed_networks: tuple = ()  # operator allowlist of CIDR strings, e.g. ("10.1.2.0/24",)
    resolver: Callable | None = None  # (host, port) -> list of IP strings; default: socket.getaddrinfo


@dataclass(frozen=True)
class Target:
    """The parts of a checked http(s) URL that a request needs."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, lower case, without brackets
    port: int
    path: str  # request target: path and query, percent-encoded

    @property
    def authority(self) -> str:
        """Host header value: host, bracketed if IPv6, with the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def split_url(url: str) -> Target:
    """Check a URL's scheme, credentials, host and port before any network action."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BlockedAddressError(f"refused: scheme {scheme + ':' if scheme else '(none)'} is not allowed, "
                                  "only http and https")
    # Credentials would end up in stored URLs, logs and redirect targets, and "trusted@evil" hides the host.
    if parts.username is not None or parts.password is not None:
        raise BlockedAddressError("refused: URLs with credentials (user@host) are not fetched")
    host = _ascii_host(parts.hostname or "")
    if port == 0:
        raise FetchError(f"invalid URL {url!r}: port 0")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    path = quote(path, safe="!$&'()*+,;=:@/?%[]~")
    return Target(url.strip(), scheme, host, port or DEFAULT_PORTS[scheme], path)


def _ascii_host(host: str) -> str:
    """Return the host in ASCII form, or raise if it cannot be a host name or IP literal."""
    if not host:
        raise FetchError("invalid URL: it has no host")
    if ":" in host:
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchError(f"invalid host name {host!r}") from None
    if not _HOST_NAME.match(ascii_host):
        raise FetchError(f"invalid host name {host!r}")
    return ascii_host


def parse_ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse a host that is an IP literal, including legacy IPv4 spellings (2130706433, 0x7f.1); None for names."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.replace("%25", "%"))
        except ValueError:
            raise FetchError(f"invalid IPv6 address {host!r}") from None
    labels = host.rstrip(".").split(".")
    # As in browsers (WHATWG URL): a host whose last label is numeric is an IPv4 address, or invalid.
    if not _IPV4_PART.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_IPV4_PART.match(label) for label in labels):
        raise FetchError(f"invalid IPv4 address {host!r}")
    try:
        numbers = [_ipv4_number(label) for label in labels]
    except ValueError:
        raise FetchError(f"invalid IPv4 address {host!r}") from None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise FetchError(f"invalid IPv4 address {host!r}")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int:
    """Value of one IPv4 label written in decimal, octal (leading 0) or hex (0x)."""
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label[1:], 8)
    return int(label)


def refusal_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not public (e.g. "a loopback address"), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, form = _embedded_ipv4(ip)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return f"{form} of {embedded}, {inner}" if inner else None
        rules = _IPV6_RULES
    else:
        rules = _IPV4_RULES
    for network, reason in rules:
        if ip in network:
            return reason
    return None if ip.is_global and not ip.is_multicast else "a non-public address"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address carried inside a mapped, NAT64 or 6to4 IPv6 address, with the form's name."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "an IPv4-mapped form"
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "a NAT64 form"
    if ip.sixtofour is not None:
        return ip.sixtofour, "a 6to4 form"
    return None, ""


def is_public_ip(ip_string: str) -> bool:
    """True if the string is an IP address (any spelling) that may be fetched from without an allowlist."""
    try:
        ip = parse_ip_literal(ip_string.strip("[]"))
    except FetchError:
        return False
    return ip is not None and refusal_reason(ip) is None


def resolve_and_check(url_or_host: str, port: int | None = None, guard: AddressGuard = AddressGuard()) -> list[str]:
    """Resolve a URL's or host's addresses and return them, refusing if any one is not allowed."""
    if _looks_like_url(url_or_host):
        target = split_url(url_or_host)
        host, port = target.host, port or target.port
    else:
        host, port = _ascii_host(url_or_host.strip("[]")), port or 80
    literal = parse_ip_literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port, guard.resolver)
    if guard.allow_private:
        return [str(ip) for ip in addresses]
    allowed = _networks(guard.allowed_networks)
    for ip in addresses:
        reason = None if _is_allowed(ip, allowed) else refusal_reason(ip)
        if reason is None:
            continue
        if literal is None:
            raise BlockedAddressError(f"refused: {host} resolves to {ip}, {reason}")
        if ":" in host or str(ip) == host:
            raise BlockedAddressError(f"refused: {ip} is {reason}")
        raise BlockedAddressError(f"refused: {host} is {ip}, {reason}")
    return [str(ip) for ip in addresses]


def _looks_like_url(text: str) -> bool:
    """True if the text starts with a scheme (and is not a bare IPv6 address such as fe80::1)."""
    if not _SCHEME.match(text):
        return False
    try:
        ipaddress.IPv6Address(text.strip("[]").split("%")[0])
    except ValueError:
        return True
    return False


def _resolve(host: str, port: int, resolver: Callable | None) -> list:
    """Every address the host resolves to, without duplicates, in resolver order."""
    try:
        found = resolver(host, port) if resolver else _system_resolver(host, port)
    except OSError as exc:
        raise FetchError(f"could not resolve {host}: {exc.strerror or exc}") from None
    addresses = []
    for text in found:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise FetchError(f"could not resolve {host}: resolver returned {text!r}") from None
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchError(f"could not resolve {host}: no addresses")
    return addresses


def _system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the operating system's resolver."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _networks(cidrs: tuple) -> list:
    """Parse the operator's allowlist; a bad entry is a configuration error."""
    try:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]
    except ValueError as exc:
        raise ConfigError(f"allowed networks: {exc}") from None


def _is_allowed(ip, networks: list) -> bool:
    """True if the address, or the IPv4 address inside it, is in an allowlisted network."""
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, _ = _embedded_ipv4(ip)
        if embedded is not None:
            candidates.append(embedded)
    return any(c.version == n.version and c in n for c in candidates for n in networks)
