"""Sources in bulk: import a subscription list with the checks `sources add` makes, export the sources."""

from datetime import datetime, timezone

from . import decisions, ingest, opml, storage
from .errors import FetchError, WorkflowError


def import_subscriptions(db, subscriptions: list[opml.Subscription], config: ingest.IngestConfig, actor: str,
                         dry_run: bool = False) -> list[dict]:
    """Add each feed that passes the checks of `sources add` and is not a source yet: {url, outcome, id, reason}."""
    known = {source["url"] for source in storage.list_sources(db)}
    outcomes = []
    for subscription in subscriptions:
        url = subscription.feed_url
        reason = refusal(url, config)
        if reason:
            outcomes.append({"url": url, "outcome": "refused", "reason": reason})
        elif url in known:
            outcomes.append({"url": url, "outcome": "duplicate", "reason": "a source with this feed URL exists"})
        elif dry_run:
            outcomes.append({"url": url, "outcome": "would add", "name": subscription.name})
        else:
            source = decisions.add_source(db, config, url, actor, name=subscription.name)
            if subscription.site_url:
                storage.update_source(db, source["id"], site_url=subscription.site_url)
            known.add(url)
            outcomes.append({"url": url, "outcome": "added", "id": source["id"], "name": source["name"]})
    return outcomes


def refusal(url: str, config: ingest.IngestConfig) -> str | None:
    """Why `sources add` would refuse a feed URL (not http(s), or an address the SSRF guard refuses), or None."""
    try:
        decisions.guard_address(decisions.check_feed_url(url), config)
    except (WorkflowError, FetchError) as exc:
        return str(exc)
    return None


def export_subscriptions(db, title: str) -> bytes:
    """Every source as an OPML 2.0 subscription list: name, site URL and feed URL."""
    subscriptions = [opml.Subscription(feed_url=source["url"], name=source["name"], site_url=source["site_url"])
                     for source in storage.list_sources(db)]
    return opml.write(subscriptions, title, datetime.now(timezone.utc))
