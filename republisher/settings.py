"""Every setting declared once, as data: name, default, parser and help text."""

import os
import secrets
from dataclasses import dataclass
from typing import Callable

from .errors import ConfigError

PREFIX = "REPUBLISHER_"


def parse_bool(value) -> bool:
    """Read yes/no spellings used in environment variables."""
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a yes/no value such as 1 or 0, got {value!r}")


def parse_positive_float(value) -> float:
    """A number greater than zero."""
    number = float(value)
    if number <= 0:
        raise ValueError(f"must be greater than zero, got {value!r}")
    return number


def parse_positive_int(value) -> int:
    """A whole number greater than zero."""
    number = int(value)
    if number <= 0:
        raise ValueError(f"must be greater than zero, got {value!r}")
    return number


def parse_site_url(value) -> str:
    """An absolute http(s) base URL without a trailing slash."""
    text = str(value).strip().rstrip("/")
    if not text.startswith(("http://", "https://")) or "//" not in text or len(text.split("/")) < 3:
        raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
    return text


def parse_log_format(value) -> str:
    """'plain' or 'json'."""
    text = str(value).strip().lower()
    if text not in ("plain", "json"):
        raise ValueError(f"expected plain or json, got {value!r}")
    return text


def parse_list(value) -> tuple[str, ...]:
    """A comma or space separated list."""
    if isinstance(value, (list, tuple, frozenset, set)):
        return tuple(value)
    return tuple(part for part in str(value).replace(",", " ").split() if part)


@dataclass(frozen=True)
class Setting:
    """One configuration value: its key in app.config, default and parser."""

    name: str
    default: object
    parse: Callable
    help: str


SETTINGS = (
    Setting("DATABASE", "republisher.sqlite", str, "Path of the SQLite database file."),
    Setting("SECRET_KEY", None, str, "Secret for sessions and CSRF tokens; random per process if unset."),
    Setting("SITE_NAME", "Republisher", str, "Name of the mirror site."),
    Setting("SITE_URL", "http://127.0.0.1:8000", parse_site_url, "Absolute base URL used in feeds and links."),
    Setting("ALLOWED_LICENSES", "", parse_list, "SPDX ids allowed for republishing; empty means the default policy."),
    Setting("ALLOW_PRIVATE_ADDRESSES", False, parse_bool, "Let the fetcher reach loopback/private addresses (tests and demo only)."),
    Setting("FETCH_ALLOWED_NETWORKS", "", parse_list, "CIDR networks the fetcher may reach even though they are private."),
    Setting("FETCH_CONNECT_TIMEOUT", 5.0, parse_positive_float, "Seconds to wait for a connection."),
    Setting("FETCH_READ_TIMEOUT", 10.0, parse_positive_float, "Seconds to wait for the next bytes of a response."),
    Setting("FETCH_DEADLINE", 30.0, parse_positive_float, "Total seconds one fetch may take, redirects included."),
    Setting("FETCH_MAX_BYTES", 10 * 1024 * 1024, parse_positive_int, "Cap on a feed's decompressed size in bytes."),
    Setting("FETCH_WORKERS", 8, parse_positive_int, "Sources fetched in parallel."),
    Setting("FETCH_PER_HOST", 2, parse_positive_int, "Parallel fetches allowed against one host."),
    Setting("FETCH_INTERVAL", 1800, parse_positive_int, "Default seconds between two fetches of a source."),
    Setting("FETCH_MAX_BACKOFF", 86400, parse_positive_int, "Longest wait in seconds after repeated errors."),
    Setting("USER_AGENT", "republisher/0.1 (license-aware feed mirror)", str, "User-Agent sent with every fetch."),
    Setting("CANONICAL_TO_ORIGINAL", True, parse_bool, "Article pages name the original as their canonical URL."),
    Setting("TRUSTED_HOSTS", "", parse_list, "Host names the site answers to; empty means SITE_URL's host (plus localhost in tests and the demo)."),
    Setting("DESK_IDLE_SECONDS", 1800, parse_positive_int, "An editor's session ends after this many seconds without a request."),
    Setting("LOGIN_LOCKOUT_SECONDS", 900, parse_positive_int, "Window of failed logins counted for a lockout, and how long the lockout lasts."),
    Setting("LOGIN_MAX_FAILURES", 20, parse_positive_int, "Failed logins of one account within the window that lock it."),
    Setting("LOGIN_MAX_FAILURES_PER_ADDRESS", 100, parse_positive_int, "Failed logins from one client address within the window that lock it out."),
    Setting("SECURE_COOKIES", None, parse_bool, "Mark the desk's cookie Secure; unset means yes when SITE_URL is https."),
    Setting("DATABASE_BUSY_TIMEOUT", 15.0, parse_positive_float, "Seconds the fetcher waits for another writer's lock before its fetch fails."),
    Setting("FETCH_MIN_INTERVAL", 300, parse_positive_int, "Shortest seconds between two fetches of a source, whatever it asks for."),
    Setting("FETCH_CPU_SECONDS", 60, parse_positive_int, "CPU seconds one source's fetch, parse and store may use before it is stopped."),
    Setting("FETCH_SOURCE_DEADLINE", 120.0, parse_positive_float, "Wall-clock seconds one source's fetch, parse and store may take before it is stopped."),
    Setting("FETCH_MEMORY_MB", 1024, parse_positive_int, "Address space in MiB of the process that fetches one source."),
    Setting("FETCH_LEASE_SECONDS", 30.0, parse_positive_float, "Seconds the fetcher's lease lasts unless renewed; bounds a takeover after a crash."),
    Setting("FETCH_STUCK_AFTER", 300.0, parse_positive_float, "Seconds without a fetch cycle, while sources are due, after which /healthz answers 503."),
    Setting("LOG_FORMAT", "plain", parse_log_format, "Log lines on stderr in serve and worker: plain or json."),
)


def load_settings(config: dict, test_config: dict | None = None, environ=None) -> None:
    """Fill config with defaults, then REPUBLISHER_* environment values, then test values, all validated."""
    environ = os.environ if environ is None else environ
    for setting in SETTINGS:
        config.setdefault(setting.name, setting.default)
        raw = environ.get(PREFIX + setting.name)
        if raw is not None:
            config[setting.name] = convert(setting, raw)
        elif setting.name in config and config[setting.name] is not None:
            config[setting.name] = convert(setting, config[setting.name])
    if test_config:
        for key, value in test_config.items():
            known = next((s for s in SETTINGS if s.name == key), None)
            config[key] = convert(known, value) if known and value is not None else value
    config["SECRET_KEY_GENERATED"] = not config.get("SECRET_KEY")
    if config["SECRET_KEY_GENERATED"]:
        config["SECRET_KEY"] = secrets.token_hex(32)


def convert(setting: Setting, raw):
    """Parse one raw value, naming the setting when it is wrong."""
    try:
        return setting.parse(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{PREFIX}{setting.name}: {exc}") from exc
