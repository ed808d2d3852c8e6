"""Sources in bulk: import a subscription list with the checks `sources add` makes, export the sources."""

from datetime import datetime, timezone

from . import netguard, opml, storage
from .errors import FetchError


def import_subscriptions(db, subscriptions: list[opml.Subscription], guard: netguard.AddressGuard,
                         dry_run: bool = False) -> list[dict]:
    """Add each feed that passes the URL and address checks and is not a source yet: {url, outcome, id, reason}."""
    known = {source["url"] for source in storage.list_sources(db)}
    outcomes = []
    for subscription in subscriptions:
        url = subscription.feed_url
        reason = refusal(url, guard)
        if reason:
            outcomes.append({"url": url, "outcome": "refused", "reason": reason})
        elif url in known:
            outcomes.append({"url": url, "outcome": "duplicate", "reason": "a source with this feed URL exists"})
        elif dry_run:
            outcomes.append({"url": url, "outcome": "would add", "name": subscription.name})
        else:
            source = storage.add_source(db, url, name=subscription.name)
            if subscription.site_url:
                storage.update_source(db, source["id"], site_url=subscription.site_url)
            known.add(url)
            outcomes.append({"url": url, "outcome": "added", "id": source["id"], "name": source["name"]})
    return outcomes


def refusal(url: str, guard: netguard.AddressGuard) -> str | None:
    """Why a feed URL may not become a source (not http(s), or an address the SSRF guard refuses), or None."""
    parts = url.split("/")
    if not url.lower().startswith(("http://", "https://")) or len(parts) < 3 or not parts[2]:
        return "not an http(s) feed URL"
    try:
        netguard.resolve_and_check(url, guard=guard)
    except (FetchError, ValueError) as exc:
        return str(exc)
    return None


def export_subscriptions(db, title: str) -> bytes:
    """Every source as an OPML 2.0 subscription list: name, site URL and feed URL."""
    subscriptions = [opml.Subscription(feed_url=source["url"], name=source["name"], site_url=source["site_url"])
                     for source in storage.list_sources(db)]
    return opml.write(subscriptions, title, datetime.now(timezone.utc))
