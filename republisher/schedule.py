"""When to fetch a source next: interval, server hints within bounds, backoff with jitter."""

import random
import re

from .fetcher import parse_retry_after

MIN_INTERVAL = 300          # never poll a source more often than every 5 minutes
MAX_INTERVAL = 24 * 3600    # and never wait longer than a day while it is healthy
BACKOFF_BASE = 300


def next_interval(interval: int, headers: dict | None = None, ttl_minutes=None, floor: int = MIN_INTERVAL) -> int:
    """Seconds until the next fetch after a success, honoring Cache-Control and feed TTL within bounds."""
    wanted = interval
    headers = headers or {}
    hints = [hint for hint in (max_age(headers), retry_after(headers), ttl_seconds(ttl_minutes)) if hint]
    if hints:
        wanted = max([wanted, *hints])
    return int(min(max(wanted, floor), MAX_INTERVAL))


def backoff(error_count: int, retry_after: float | None = None, max_backoff: int = 86400,
            rng: random.Random | None = None) -> int:
    """Seconds to wait after the n-th consecutive error: exponential, jittered, capped; Retry-After wins when longer."""
    rng = rng or random
    exponent = min(max(error_count, 1) - 1, 16)
    delay = min(BACKOFF_BASE * (2 ** exponent), max_backoff)
    jittered = delay * rng.uniform(0.8, 1.2)
    if retry_after:
        jittered = max(jittered, min(float(retry_after), max_backoff))
    return int(min(jittered, max_backoff))


def max_age(headers: dict) -> int | None:
    """max-age from a Cache-Control header, in seconds."""
    match = re.search(r"max-age\s*=\s*(\d+)", headers.get("cache-control", ""), re.IGNORECASE)
    return int(match.group(1)) if match else None


def retry_after(headers: dict) -> int | None:
    """Retry-After in seconds (delta or HTTP date), when a successful answer carries one."""
    return parse_retry_after(headers.get("retry-after"))


def ttl_seconds(ttl_minutes) -> int | None:
    """An RSS <ttl> (minutes) in seconds."""
    try:
        minutes = int(str(ttl_minutes).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if minutes > 0 else None
