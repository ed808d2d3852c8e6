"""License watch: the publisher's own pages as license evidence, read when a source is added and daily after.

``verify_source`` reads a source's home page (the feed's channel link) and one recent article page,
records what every page says, and proposes the license they state; an editor accepts the proposal
(``accept_license``) or sets another license. ``check_due`` (run by the worker's rounds) checks the same
pages again for every source that is due and compares them with the evidence the editor decided on
(or, before any decision, with the first check). A statement that disappears or names another license
sets the source's license hold: items received from then on wait for an editor, while items received
before keep their decision, because a license cannot be revoked for copies already received.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

from . import fetcher, pagecheck, parser, reprocess, storage
from .errors import FetchError, ParseError, WorkflowError

log = logging.getLogger("republisher.watch")
CHECK_INTERVAL = 86400  # the pages are read again daily
RETRY_INTERVAL = 3600  # after a check that could read no page
MAX_POSTPONE = 7 * 86400  # the longest Retry-After we keep; a longer one is shortened to this


def page_fetcher(config) -> pagecheck.PageFetcher:
    """A page reader with the configuration's limits, address guard and User-Agent."""
    return pagecheck.PageFetcher(limits=config.limits, guard=config.guard, user_agent=config.user_agent)


def verify_source(db, source: dict, config, pages: pagecheck.PageFetcher | None = None, *,
                  same_pages: bool = False) -> dict:
    """Read the source's home page and a recent article, record what they say and propose a license.

    same_pages: read the article page the last check read (the daily check) instead of the newest one.
    """
    reader = pages or page_fetcher(config)
    fields: dict = {}
    home, article, problem = page_urls(db, source, config, same_pages, fields)
    results = [reader.read("home", home) if home else pagecheck.page_result("home", None, outcome="error",
                                                                              error=problem)]
    if article and article != home:
        if home and not pagecheck.same_site(home, article):
            results.append(pagecheck.page_result("article", article, outcome="skipped",
                                                 error="not on the site of the home page; not read"))
        else:
            results.append(reader.read("article", article))
    for page in results:
        page["decisive"] = pagecheck.decisive(page)
    observation = pagecheck.combine(results)
    return record(db, source, results, observation, fields)


def page_urls(db, source: dict, config, same_pages: bool, fields: dict) -> tuple[str | None, str | None, str | None]:
    """(home page, article page, why there is no home page); the feed is read when the store lacks one."""
    home = source.get("site_url")
    article = storage.last_page_url(db, source["id"], "article") if same_pages else None
    article = article or storage.newest_item_url(db, source["id"])
    if home and article:
        return home, article, None
    link, newest, problem = feed_pages(source, config)
    if link and not home:
        fields["site_url"] = link
    return home or link, article or newest, problem


def feed_pages(source: dict, config) -> tuple[str | None, str | None, str | None]:
    """(the feed's channel link, its newest entry's link, a problem) from the feed, fetched now."""
    try:
        result = fetcher.fetch(source["url"], limits=config.limits, guard=config.guard, user_agent=config.user_agent)
        document = parser.parse_document(result.body, result.headers, result.url)
    except (FetchError, ParseError) as exc:
        return None, None, f"the feed could not be read to find the site's pages: {exc}"
    feed = document.feed
    return feed.get("link"), newest_link([entry.values for entry in document.entries]), \
        None if feed.get("link") else "the feed names no link to the publisher's site"


def newest_link(entries: list[dict]) -> str | None:
    """The link of the feed's newest entry (by its date, else the first in the feed)."""
    best, best_key = None, None
    for index, entry in enumerate(entries):
        link = entry.get("link")
        when = entry.get("published") or entry.get("updated")
        key = (when or "", -index)
        if link and (best_key is None or key > best_key):
            best, best_key = link, key
    return best


def record(db, source: dict, pages: list[dict], observation: dict, fields: dict) -> dict:
    """Store one check, compare it with the watched evidence and hold the source when it changed."""
    state = storage.license_state(source)
    watched = state["watched"]
    evidence_read = watched is not None and any(
        page["outcome"] == "ok" and watched.get("url") in (page["url"], page["final_url"]) for page in pages)
    hold = None
    relied = source.get("license") or source.get("feed_license")
    if pagecheck.license_change(watched, observation, relied, evidence_read):
        hold = pagecheck.hold_reason("the publisher's site", watched, observation)
    conclusive = observation["state"] != "failed" and not (
        observation["state"] == "none" and watched and watched["state"] != "none" and not evidence_read)
    fields.update(pages_checked_at=storage.utcnow(), pages_due_at=storage.later(next_check(pages, observation)))
    stored = storage.record_license_check(db, source["id"], pages, fields,
                                          observation=observation if conclusive else None,
                                          first_watch=conclusive and watched is None, hold=hold)
    return report(stored, pages, observation, hold)


def next_check(pages: list[dict], observation: dict) -> int:
    """Seconds until the pages are read again: as long as a host asked (429/503), sooner after a failure."""
    waits = [page["retry_after"] for page in pages if page["outcome"] == "postponed" and page["retry_after"]]
    if any(page["outcome"] == "postponed" for page in pages):
        return min(max(waits or [pagecheck.DEFAULT_RETRY_AFTER]), MAX_POSTPONE)
    return RETRY_INTERVAL if observation["state"] == "failed" else CHECK_INTERVAL


def report(source: dict, pages: list[dict], observation: dict, hold: str | None) -> dict:
    """What a check found, for people and for JSON."""
    state = storage.license_state(source)
    proposed = observation["license"] if observation["state"] == "license" else None
    accept = None
    if proposed and (proposed != source.get("license") or state["hold"]):
        accept = f"republisher sources accept-license {source['id']}"
    return {"source_id": source["id"], "name": source["name"], "proposed_license": proposed,
            "observation": observation, "pages": [page_summary(page) for page in pages],
            "license": source.get("license"), "hold": state["hold"], "hold_set": hold is not None,
            "next_check_at": state["due_at"], "accept_command": accept}


def page_summary(page: dict) -> dict:
    """One page's check as reported (without the decisive finding kept for storage)."""
    return {key: page.get(key) for key in ("kind", "url", "final_url", "outcome", "status", "error", "retry_after",
                                           "sha256", "license", "reason", "disagree", "findings", "checked_at")}


def accept_license(db, config, source_id: int, *, confirm_contradiction: bool = False,
                   reason: str | None = None, actor: str = "cli") -> dict:
    """Make the latest proposal the source's license, with the page, the quoted statement and its SHA-256."""
    source = storage.get_source(db, source_id)
    proposal = storage.license_state(source)["proposal"]
    if not proposal or proposal["state"] != "license":
        why = f" ({proposal['note']})" if proposal and proposal.get("note") else ""
        raise WorkflowError(f"source {source_id} has no license proposal to accept{why}; "
                            f"`republisher sources verify-license {source_id}` reads its pages")
    result = reprocess.set_source_license(db, config, source_id, proposal["license"], evidence_text(proposal),
                                          actor=actor, confirm_contradiction=confirm_contradiction, reason=reason)
    return dict(result, proposal=proposal)


def evidence_text(proposal: dict) -> str:
    """The evidence an accepted proposal is recorded with: page URL, the statement quoted, SHA-256 and time."""
    return (f"{proposal['url']} states: \"{proposal['text']}\" ({proposal['found_in']}, {proposal['location']}; "
            f"SHA-256 {proposal['sha256']} of the page fetched {proposal['at']})")


def check_due(db, config, now: str | None = None) -> list[dict]:
    """Check the pages of every source that is due, in parallel but one request at a time per host."""
    due = storage.due_license_checks(db, now)
    if not due:
        return []
    pages = page_fetcher(config)
    local = threading.local()

    def run(source: dict) -> dict:
        """Check one source on this thread's own connection."""
        if getattr(local, "db", None) is None:
            local.db = storage.connect(config.database)
        return verify_source(local.db, source, config, pages, same_pages=True)

    reports = []
    with ThreadPoolExecutor(max_workers=min(config.workers, len(due))) as pool:
        futures = {pool.submit(run, source): source for source in due}
        for future in as_completed(futures):
            try:
                reports.append(future.result())
            except Exception as exc:  # one broken source must never stop the others' checks
                reports.append(check_failed(db, futures[future], exc))
    return sorted(reports, key=lambda item: item["source_id"])


def check_failed(db, source: dict, exc: Exception) -> dict:
    """Report a check that broke, and try it again later instead of at every round."""
    log.exception("license check of source %s failed", source["id"], exc_info=exc)
    message = f"internal error: {type(exc).__name__}: {exc}"
    try:
        storage.update_source(db, source["id"], pages_checked_at=storage.utcnow(),
                              pages_due_at=storage.later(RETRY_INTERVAL))
    except Exception:  # the database itself may be what failed; the next round tries again
        log.exception("could not postpone the license check of source %s", source["id"])
    return {"source_id": source["id"], "name": source["name"], "proposed_license": None,
            "observation": {"state": "failed", "note": message}, "pages": [], "license": source.get("license"),
            "hold": None, "hold_set": False, "next_check_at": None, "accept_command": None, "error": message}
