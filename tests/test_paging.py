"""Listing pages whose ends the items decide: the pure cut, the live pager, and what an export rewrites."""

import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import feedparser
from hypothesis import given, settings, strategies as st

from republisher import export, site, storage, workflow

from helpers import cc_by_rss, numbered_items, refresh
from test_export import build_files, card_titles, get, next_link

FEEDS = ("feed.xml", "atom.xml", "feed.json")
BREAK_IDS = [n for n in range(1, 20_000) if site.is_page_break(n)]
PLAIN_IDS = [n for n in range(1, 20_000) if not site.is_page_break(n)]


# ---------------------------------------------------------------- the pure cut


def pages_of(ids: list[int]) -> list[tuple[int, ...]]:
    """A listing cut into pages of ids, as the live pager and the export cut it."""
    pages, start = [], 0
    for size in site.page_sizes(ids):
        pages.append(tuple(ids[start:start + size]))
        start += size
    return pages


def ids_for(pattern: list[bool]) -> list[int]:
    """Distinct item ids, each a page break where the pattern says so."""
    breaks, plain = iter(BREAK_IDS), iter(PLAIN_IDS)
    return [next(breaks) if is_break else next(plain) for is_break in pattern]


def first_anchor(ids: list[int]) -> int | None:
    """The first page break at which every cut of a listing holding these ids ends a page, or None.

    A break whose previous break lies PAGE_MIN to PAGE_MAX - PAGE_MIN + 1 cards before it: a page that
    holds the previous break either ends there (and the next ends at this one) or runs on to this one.
    """
    previous = None
    for item_id in ids:
        if site.is_page_break(item_id):
            if previous is not None and site.PAGE_MIN <= item_id_gap(ids, previous, item_id) <= \
                    site.PAGE_MAX - site.PAGE_MIN + 1:
                return item_id
            previous = item_id
    return None


def item_id_gap(ids: list[int], earlier: int, later: int) -> int:
    """How many places after `earlier` the id `later` stands."""
    return ids.index(later) - ids.index(earlier)


def assert_bounds(ids: list[int]) -> None:
    """Every page but the last holds PAGE_MIN to PAGE_MAX cards, the last 1 to PAGE_MAX, all in order."""
    pages = pages_of(ids)
    assert [item for page in pages for item in page] == ids
    assert all(site.PAGE_MIN <= len(page) <= site.PAGE_MAX for page in pages[:-1])
    assert all(1 <= len(page) <= site.PAGE_MAX for page in pages[-1:])


def assert_resynchronised(old: list[int], new: list[int], position: int, unchanged_after: list[int]) -> None:
    """Pages that end before the change are kept, and so is every page after the first anchor past it."""
    old_pages, new_pages = pages_of(old), pages_of(new)
    # the last page ends with the list, so an item added after it may join it
    before = [page for page in old_pages[:-1] if old.index(page[-1]) < position]
    assert new_pages[:len(before)] == before
    anchor = first_anchor(unchanged_after)
    if anchor is not None:
        ends_old, ends_new = [page[-1] for page in old_pages], [page[-1] for page in new_pages]
        assert anchor in ends_old and anchor in ends_new
        assert old_pages[ends_old.index(anchor) + 1:] == new_pages[ends_new.index(anchor) + 1:]


patterns = st.lists(st.integers(0, 9).map(lambda n: n == 0), min_size=1, max_size=400)


@settings(max_examples=300, deadline=None)
@given(patterns, st.data())
def test_removing_one_item_keeps_every_page_but_a_few_around_it(pattern, data):
    ids = ids_for(pattern)
    position = data.draw(st.integers(0, len(ids) - 1))
    after = ids[:position] + ids[position + 1:]
    assert_bounds(ids)
    if after:
        assert_bounds(after)
        assert_resynchronised(ids, after, position, ids[position + 1:])


@settings(max_examples=300, deadline=None)
@given(patterns, st.data(), st.booleans())
def test_inserting_one_item_keeps_every_page_but_a_few_around_it(pattern, data, is_break):
    ids = ids_for(pattern)
    position = data.draw(st.integers(0, len(ids)))
    newcomer = (BREAK_IDS if is_break else PLAIN_IDS)[-1]
    after = ids[:position] + [newcomer] + ids[position:]
    assert_bounds(after)
    assert_resynchronised(ids, after, position, ids[position:])


def test_a_change_rewrites_one_page_usually_and_a_few_at_most():
    ids = list(range(3_000, 2_400, -1))
    pages = set(pages_of(ids))
    changed = [sum(page not in pages for page in pages_of(ids[:n] + ids[n + 1:])) for n in range(len(ids))]
    assert 15 <= sum(site.page_sizes(ids)) / len(site.page_sizes(ids)) <= 25  # about PAGE_SIZE cards a page
    assert sum(changed) / len(changed) < 1.3 and max(changed) <= 5
    assert changed.count(1) / len(changed) > 0.8


# ---------------------------------------------------------------- the live pager


def timed_feed(count: int) -> bytes:
    """An RSS feed under CC BY 4.0 of numbered reports a minute apart (report N is the Nth oldest)."""
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    items = numbered_items(count, "Report", "https://reports.example/", "report",
                           lambda n: format_datetime(start + timedelta(minutes=n)))
    return cc_by_rss("Reports", "https://reports.example/", items)


def add_reports(app, db, httpserver, count: int, path: str = "/reports") -> dict:
    """A source of `count` reports, each published on arrival; returns the source."""
    httpserver.expect_request(path).respond_with_data(timed_feed(count), content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for(path), name=f"Reports {path}", auto_approve=True)
    assert refresh(app, db, source["id"]).outcome == "ok"
    assert len(storage.list_items(db, source_id=source["id"], status="published")) == count
    return storage.get_source(db, source["id"])


def walk(client, first: str) -> tuple[list[list[str]], list[str]]:
    """Card titles of a listing's pages and their addresses, along the pager's 'Earlier' links."""
    pages, addresses, address = [], [], first
    while address:
        assert address not in addresses, f"the pager goes round in circles at {address}"
        body = client.get(address).data
        addresses.append(address)
        pages.append(card_titles(body))
        address = next_link(body)
    return pages, addresses


def published_ids(db, source_id: int | None = None) -> list[int]:
    """Published ids in the listings' order, newest first."""
    return [row["id"] for row in storage.public_items(db, source_id=source_id, limit=10_000)]


def titles_of(db, ids) -> list[str]:
    """Titles of items by id."""
    return [storage.get_item(db, item_id)["title"] for item_id in ids]


def changed_pages(old: list[list[str]], new: list[list[str]]) -> list[int]:
    """Positions of the new walk's pages that the old walk did not have."""
    return [number for number, page in enumerate(new) if page not in old]


def test_every_published_item_is_on_one_page_and_pages_keep_their_bounds(app, db, httpserver):
    reports = add_reports(app, db, httpserver, 150)
    client = app.test_client()
    for first, source_id in (("/", None), (f"/sources/{reports['slug']}", reports["id"])):
        pages, _ = walk(client, first)
        assert [title for page in pages for title in page] == [f"Report {n}" for n in range(150, 0, -1)]
        assert all(site.PAGE_MIN <= len(page) <= site.PAGE_MAX for page in pages[:-1])
        assert 1 <= len(pages[-1]) <= site.PAGE_MAX
        assert pages == [titles_of(db, page) for page in pages_of(published_ids(db, source_id))]


def test_a_withdrawal_changes_its_own_page_and_only_the_pages_the_cut_predicts(app, db, httpserver):
    add_reports(app, db, httpserver, 150)
    client = app.test_client()
    ids = published_ids(db)
    pages = pages_of(ids)

    def withdraw_and_compare(item_id: int) -> list[int]:
        """Withdraw one item; the pages that changed on the site, checked against the cut's prediction."""
        before_ids = published_ids(db)
        before, _ = walk(client, "/")
        workflow.withdraw(db, item_id, reason="taken down")
        after, _ = walk(client, "/")
        predicted = [titles_of(db, page) for page in pages_of(published_ids(db))]
        assert after == predicted
        old = [titles_of(db, page) for page in pages_of(before_ids)]
        assert old == before
        changed = changed_pages(before, after)
        own = next(number for number, page in enumerate(pages_of(before_ids)) if item_id in page)
        assert changed and changed[0] == own
        return changed

    # a page that ends at a break past its PAGE_MIN-th card still does without one of its cards: it alone changes
    roomy = next(number for number, page in enumerate(pages[1:-1], start=1)
                 if len(page) > site.PAGE_MIN and site.is_page_break(page[-1]))
    assert withdraw_and_compare(pages[roomy][0]) == [roomy]
    # without the break that ends it, a page runs on into the next, which changes too
    pages = pages_of(published_ids(db))
    ending = next(number for number, page in enumerate(pages[roomy + 1:-1], start=roomy + 1)
                  if site.is_page_break(page[-1]))
    changed = withdraw_and_compare(pages[ending][-1])
    assert changed[:2] == [ending, ending + 1] and len(changed) <= 4


def test_an_old_page_link_still_answers_the_cards_after_it(app, db, httpserver):
    add_reports(app, db, httpserver, 120)
    client = app.test_client()
    pages, addresses = walk(client, "/")
    ending = pages_of(published_ids(db))[1][-1]
    workflow.withdraw(db, ending, reason="taken down")  # the third page's link named this card
    response = client.get(addresses[2])
    assert response.status_code == 200
    shown = card_titles(response.data)
    remaining = titles_of(db, published_ids(db))
    start = remaining.index(pages[2][0])
    assert site.PAGE_MIN <= len(shown) <= site.PAGE_MAX
    following, _ = walk(client, next_link(response.data))
    assert shown + [title for page in following for title in page] == remaining[start:]


def test_search_keeps_its_fixed_page_of_twenty(app, db, httpserver):
    add_reports(app, db, httpserver, 45)
    response = app.test_client().get("/search?q=report")
    assert response.status_code == 200
    assert len(card_titles(response.data)) == site.PAGE_SIZE == 20


# ---------------------------------------------------------------- the export


def listing_files(files) -> set[str]:
    """The files of listing pages among a build's files."""
    return {file for file in files if file == "index.html" or file.startswith("page/")
            or (file.startswith("sources/") and file.count("/") >= 2 and file.endswith("index.html"))}


def test_withdrawing_the_newest_of_300_rewrites_a_handful_of_files(app, db, httpserver, static_server):  # noqa: F811
    root, port = static_server
    reports = add_reports(app, db, httpserver, 300)
    export.export_site(app, root)
    before = build_files(root)
    newest = published_ids(db)[0]
    home_pages, source_pages = pages_of(published_ids(db)), pages_of(published_ids(db, reports["id"]))
    workflow.withdraw(db, newest, reason="the publisher asked us to take it down")
    report = export.export_site(app, root)
    after = build_files(root)

    rewritten = {file for file in after if before.get(file) != after[file]}
    assert set(report.written) == rewritten
    changed_listings = listing_files(rewritten)
    predicted = (sum(page not in home_pages for page in pages_of(published_ids(db)))
                 + sum(page not in source_pages for page in pages_of(published_ids(db, reports["id"]))))
    assert len(changed_listings) == predicted < 12  # the page-of-20 pager rewrote 30: every page of both
    assert len(rewritten) < 25
    title = storage.get_item(db, newest)["title"]
    address = export.article_address(newest, title)
    assert app.config["SITE_URL"] + address in report.changed_urls
    assert export.article_file(newest, title) in rewritten
    live = app.test_client()
    for first in ("/", f"/sources/{reports['slug']}"):
        exported, _ = walk_static(port, first if first == "/" else first + "/")
        assert exported == walk(live, first)[0]
        assert title not in {card for page in exported for card in page}


def walk_static(port: int, first: str) -> tuple[list[list[str]], list[str]]:
    """Card titles of a listing's pages in the export, along its 'Earlier' links."""
    pages, addresses, address = [], [], first
    while address:
        assert address not in addresses, f"the pager goes round in circles at {address}"
        status, body, _ = get(port, address)
        assert status == 200, address
        addresses.append(address)
        pages.append(card_titles(body))
        address = next_link(body)
    return pages, addresses


# ---------------------------------------------------------------- empty feeds and the purge list


def atom_updated(client, address: str) -> str:
    """The <updated> date an Atom feed states for itself."""
    return feedparser.parse(client.get(address).data).feed.updated


def test_an_empty_feed_keeps_its_date_and_its_files_while_other_feeds_change(app, db, httpserver,
                                                                             static_server):  # noqa: F811
    root, _ = static_server
    reports = add_reports(app, db, httpserver, 30)
    quiet = storage.add_source(db, "https://quiet.example/feed.xml", name="Quiet")  # nothing published yet
    client = app.test_client()
    quiet_feeds = [f"/sources/{quiet['slug']}/{name}" for name in FEEDS]
    first = {address: client.get(address).data for address in quiet_feeds}
    assert datetime.fromisoformat(atom_updated(client, quiet_feeds[1])) == datetime.fromisoformat(quiet["created_at"])
    first_build = export.export_site(app, root).build
    time.sleep(1.1)  # the site's own change time moves by a second, and an empty feed must not follow it
    workflow.withdraw(db, published_ids(db)[0], reason="taken down")
    report = export.export_site(app, root)
    assert report.switched
    assert {address: client.get(address).data for address in quiet_feeds} == first
    assert not [file for file in report.written if file.startswith(f"sources/{quiet['slug']}/")]
    # nor is it rendered again: its stamp in the build's manifest, what decides that, stays the same
    stamps = [json.loads(export.manifest_path(root, number).read_text())["files"]
              for number in (first_build, report.build)]
    for name in FEEDS:
        assert stamps[0][f"sources/{quiet['slug']}/{name}"] == stamps[1][f"sources/{quiet['slug']}/{name}"]
    # a source whose last item goes dates its empty feed by that withdrawal
    for item_id in published_ids(db, reports["id"]):
        workflow.withdraw(db, item_id, reason="taken down")
    emptied = storage.get_item(db, item_id)["status_changed_at"]
    address = f"/sources/{reports['slug']}/atom.xml"
    assert datetime.fromisoformat(atom_updated(client, address)) == datetime.fromisoformat(emptied)
    assert datetime.fromisoformat(atom_updated(client, "/atom.xml")) == datetime.fromisoformat(emptied)
    export.export_site(app, root)
    assert (root / "current" / "sources" / reports["slug"] / "atom.xml").read_bytes() == client.get(address).data


def test_the_purge_list_is_in_the_build_before_it_is_switched_in(app, db, httpserver, static_server):  # noqa: F811
    root, port = static_server
    add_reports(app, db, httpserver, 30)
    export.export_site(app, root)
    newest = published_ids(db)[0]
    address = export.article_address(newest, storage.get_item(db, newest)["title"])
    workflow.withdraw(db, newest, reason="taken down")
    (root / export.CHANGED_LIST).unlink()
    (root / export.CHANGED_LIST).mkdir()  # the list beside the builds cannot be written: the export fails there
    try:
        export.export_site(app, root)
    except OSError:
        pass
    else:
        raise AssertionError("an export whose purge list cannot be written must fail")
    status, body, _ = get(port, address + "/")
    assert status == 200 and b"withdrawn" in body  # the new build is the one served
    listed = (root / "current" / export.CHANGED_LIST).read_text().split()
    assert app.config["SITE_URL"] + address in listed and app.config["SITE_URL"] + "/" in listed
