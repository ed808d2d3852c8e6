"""A reader's journey through the mirror in Debian's Chromium: listing, paging, articles, search, sources."""

import re

import pytest
from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FERRY = "Ferry service resumes after winter storms"
CC_BY_4_DEED = "https://creativecommons.org/licenses/by/4.0/"


def item_titled(site, source: str, title: str) -> dict:
    """One published item of a source, by its title."""
    [item] = [item for item in site.items[source] if item["title"] == title]
    assert item["status"] == "published", item
    return item


def card_titles(page) -> list[str]:
    """Titles of the item cards on the current page, in order."""
    return [text.strip() for text in page.locator(".card-title").all_inner_texts()]


def open_article_from_home(page, site, title: str) -> None:
    """Open the home page, then follow a card's title link to its article."""
    page.goto(site.url + "/")
    page.get_by_role("link", name=title, exact=True).first.click()
    expect(page.locator("h1.article-title")).to_have_text(title)


def test_home_pages_back_through_every_published_article(page, reader_site):
    page.goto(reader_site.url + "/")
    expect(page.locator("h1")).to_have_text("Latest articles")
    seen = card_titles(page)
    assert 10 <= len(seen) <= 40  # a page runs to its first page break from the 10th card on
    pages = 1
    older = page.locator("a[rel=next]")
    while older.count():
        target = older.get_attribute("href")
        assert "before=" in target and "offset" not in target
        older.click()
        page.wait_for_url(reader_site.url + target)
        expect(page.locator("h1")).to_have_text("Earlier articles")
        seen += card_titles(page)
        pages += 1
    assert pages >= 2
    published = reader_site.published()
    assert sorted(seen) == sorted(item["title"] for item in published)
    assert len(set(seen)) == len(seen), "an article appears on two pages"
    page.get_by_role("link", name="Newest articles").click()
    expect(page.locator("h1")).to_have_text("Latest articles")


def test_article_credits_its_publisher_and_links_to_the_original(page, reader_site):
    ferry = item_titled(reader_site, "harbor", FERRY)
    open_article_from_home(page, reader_site, FERRY)
    footer = page.locator("footer.attribution")
    expect(footer).to_be_visible()
    license_link = footer.locator("a[rel~=license]")
    expect(license_link).to_have_attribute("href", CC_BY_4_DEED)
    expect(license_link).to_be_visible()
    expect(page.locator("head link[rel=license]")).to_have_attribute("href", CC_BY_4_DEED)
    original = footer.locator(f'a[href="{ferry["url"]}"]').first
    expect(original).to_be_visible()
    requested = []

    def publisher(route):
        """Stand in for the publisher's server and note what the browser asked for."""
        requested.append(route.request.url)
        route.fulfill(status=200, content_type="text/html",
                      body="<!doctype html><title>Harbor Wire</title><p>The original article.</p>")

    page.route(ferry["url"], publisher)
    original.click()
    page.wait_for_url(ferry["url"])
    assert requested == [ferry["url"]]
    expect(page.locator("p")).to_have_text("The original article.")


def test_a_reader_searches_and_opens_a_result(page, reader_site):
    page.goto(reader_site.url + "/")
    page.get_by_role("searchbox", name="Search articles").fill("ferry")
    page.get_by_role("searchbox", name="Search articles").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=ferry$"))
    titles = card_titles(page)
    assert FERRY in titles
    assert all("Tide table" not in title for title in titles)
    page.get_by_role("link", name=FERRY, exact=True).click()
    expect(page.locator("h1.article-title")).to_have_text(FERRY)


def test_a_source_page_lists_that_source_and_its_license(page, reader_site):
    harbor = reader_site.sources["harbor"]
    page.goto(reader_site.url + "/")
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Sources").click()
    page.wait_for_url(reader_site.url + "/sources/")
    expect(page.locator("h1")).to_have_text("Sources")
    page.get_by_role("link", name=harbor["name"], exact=True).click()
    expect(page.locator("h1")).to_have_text(harbor["name"])
    published = [item["title"] for item in reader_site.items["harbor"] if item["status"] == "published"]
    assert sorted(card_titles(page)) == sorted(published)
    expect(page.locator(".facts")).to_contain_text("License")


def test_a_source_licensed_by_an_editor_shows_the_license_and_its_evidence(page, reader_site):
    pars = reader_site.sources["pars"]
    page.goto(f"{reader_site.url}/sources/")
    page.get_by_role("link", name=pars["name"], exact=True).first.click()
    expect(page.locator("h1")).to_have_text(pars["name"])
    expect(page.locator(f'.facts a[href="{CC_BY_4_DEED}"]')).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("All Content by Pars Ruz News Agency")


def test_a_persian_article_reads_right_to_left(page, reader_site):
    pars = reader_site.sources["pars"]
    item = next(item for item in reader_site.items["pars"] if item["status"] == "published")
    page.goto(f"{reader_site.url}/sources/{pars['slug']}")
    page.get_by_role("link", name=item["title"], exact=True).click()
    expect(page.locator("h1.article-title")).to_have_text(item["title"])
    direction = "element => getComputedStyle(element).direction"
    assert page.locator(".article-body").evaluate(direction) == "rtl"
    assert page.locator("h1.article-title").evaluate(direction) == "rtl"
    assert page.locator("html").get_attribute("lang") == "fa"
    # the site's own chrome stays left-to-right English around the Persian article
    assert page.locator("header.masthead").evaluate(direction) == "ltr"


@pytest.mark.parametrize("name, viewport", [("phone", PHONE), ("desktop", DESKTOP)])
def test_home_and_articles_fit_the_screen(new_context, reader_site, screenshots, name, viewport):
    page = new_context(reader_site.url, viewport=viewport, device_scale_factor=1).new_page()
    ferry = item_titled(reader_site, "harbor", FERRY)
    pars = next(item for item in reader_site.items["pars"] if item["status"] == "published")
    shots = {"home": "/", "article": f"/articles/{ferry['id']}", "article-rtl": f"/articles/{pars['id']}"}
    for label, path in shots.items():
        page.goto(reader_site.url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(screenshots / f"{label}-{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label} scrolls sideways by {overflow}px at {viewport['width']}px"
