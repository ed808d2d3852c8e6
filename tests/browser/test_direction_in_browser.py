"""In Chromium, a Persian feed that declares itself English: its article and card right to left, its credit
left to right, an English article of the same feed left to right, and a Persian query kept whole in an
English sentence."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

FEED = (Path(__file__).resolve().parents[1] / "fixtures" / "direction" / "rss_fa_declared_en.xml").read_bytes()
PERSIAN_TITLE = "بازگشایی کتابخانه مرکزی تبریز پس از دو سال مرمت"
ENGLISH_TITLE = "Carpet weavers open their workshops to visitors"
OPENING_NAME = "UNESCO Memory of the World"  # the English words the Persian article opens with
DESKTOP = {"width": 1280, "height": 900}
DIRECTION = "element => getComputedStyle(element).direction"
# how far the element's first visible characters sit from its left and right edges
OPENING_GAPS = """(element, length) => {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    while (node && !node.data.trim()) node = walker.nextNode();
    const start = node.data.search(/\\S/);
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, start + length);
    const text = range.getBoundingClientRect(), box = element.getBoundingClientRect();
    return {left: text.left - box.left, right: box.right - text.right};
}"""
# where each part of the search page's sentence is drawn: the words before the quote, the quoted query's
# digits and word, and the full stop after it
QUOTED_QUERY = """(sentence) => {
    const quote = sentence.querySelector("q"), query = quote.querySelector("bdi") || quote;
    const span = (node, start, end) => {
        const range = document.createRange();
        range.setStart(node, start);
        range.setEnd(node, end);
        const rect = range.getBoundingClientRect();
        return {left: rect.left, right: rect.right};
    };
    const before = quote.previousSibling, after = quote.nextSibling, typed = query.firstChild;
    const digits = typed.data.indexOf("2026"), word = typed.data.indexOf("کتابخانه");
    return {
        before: span(before, before.data.trimEnd().length - 7, before.data.trimEnd().length),
        digits: span(typed, digits, digits + 4), word: span(typed, word, word + 8),
        after: span(after, 0, 1), quote: getComputedStyle(quote).direction,
        query: getComputedStyle(query).direction,
    };
}"""


@pytest.fixture(scope="module")
def mislabelled_site(make_site):
    """A site whose one source is a Persian publisher that declares its feed en-us; every item published."""
    site = make_site("direction")
    source_id = site.add_feed("/tabriz.xml", FEED)
    site.items = {item["title"]: item for item in site.publish(source_id)}
    assert {item["status"] for item in site.items.values()} == {"published"}
    site.index()
    site.wait_until_up()
    return site


@pytest.fixture
def page(new_context, mislabelled_site):
    """A desktop-sized page that only reaches the mislabelled site."""
    return new_context(mislabelled_site.url, viewport=DESKTOP).new_page()


def open_article(page, site, title: str) -> None:
    """Follow a card's title link from the home page to its article."""
    page.goto(site.url + "/")
    page.get_by_role("link", name=title, exact=True).click()
    expect(page.locator("h1.article-title")).to_have_text(title)


def card_of(page, title: str):
    """The home page card whose title links to the article."""
    return page.locator("article.card", has=page.get_by_role("link", name=title, exact=True))


def test_a_persian_article_declared_english_reads_right_to_left(page, mislabelled_site):
    open_article(page, mislabelled_site, PERSIAN_TITLE)
    body = page.locator(".article-body")
    assert body.evaluate(DIRECTION) == "rtl"
    assert page.locator("html").evaluate(DIRECTION) == "rtl"
    # the first paragraph opens with an English name, yet starts at the right edge, as Persian does
    opening = body.locator("p").first
    expect(opening).to_contain_text(OPENING_NAME)
    assert opening.evaluate(DIRECTION) == "rtl"
    assert opening.evaluate(OPENING_GAPS, len(OPENING_NAME))["right"] < 1
    title = page.locator("h1.article-title")
    assert title.evaluate(DIRECTION) == "rtl"
    # set in the site's Arabic-script typeface, as an article whose feed declares Persian is
    assert title.evaluate("element => getComputedStyle(element).fontFamily").startswith('"Noto Naskh Arabic"')
    assert page.locator("header.masthead").evaluate(DIRECTION) == "ltr"


def test_the_credit_of_a_persian_article_reads_left_to_right(page, mislabelled_site):
    open_article(page, mislabelled_site, PERSIAN_TITLE)
    credit = page.locator("footer.attribution")
    expect(credit).to_contain_text("Licensed under CC BY 4.0")
    assert credit.evaluate(DIRECTION) == "ltr"
    assert {paragraph.evaluate(DIRECTION) for paragraph in credit.locator("p").all()} == {"ltr"}
    # title, author and publisher, each Persian, follow one another left to right, line after line
    work = credit.locator(".attribution-work")
    expect(work).to_contain_text("سارا رحیمی")
    boxes = work.locator("bdi").evaluate_all(
        "parts => parts.map(part => [Math.round(part.getBoundingClientRect().top), part.getBoundingClientRect().left])")
    assert len(boxes) == 3 and boxes == sorted(boxes)
    assert work.locator("a").first.evaluate(
        "(link) => link.getBoundingClientRect().left - link.parentElement.getBoundingClientRect().left") < 1
    assert credit.locator(".attribution-license").evaluate(OPENING_GAPS, 8)["left"] < 1


def test_the_card_of_a_persian_article_reads_right_to_left(page, mislabelled_site):
    page.goto(mislabelled_site.url + "/")
    card = card_of(page, PERSIAN_TITLE)
    assert card.evaluate(DIRECTION) == "rtl"
    excerpt = card.locator(".card-excerpt")
    expect(excerpt).to_contain_text(OPENING_NAME)
    assert excerpt.evaluate(DIRECTION) == "rtl"
    assert excerpt.evaluate(OPENING_GAPS, len(OPENING_NAME))["right"] < 1
    assert card.locator(".card-title").evaluate(DIRECTION) == "rtl"


def test_an_english_article_of_the_same_feed_stays_left_to_right(page, mislabelled_site):
    page.goto(mislabelled_site.url + "/")
    card = card_of(page, ENGLISH_TITLE)
    assert card.evaluate(DIRECTION) == "ltr"
    assert card.locator(".card-excerpt").evaluate(OPENING_GAPS, 6)["left"] < 1
    open_article(page, mislabelled_site, ENGLISH_TITLE)
    assert page.locator("html").evaluate(DIRECTION) == "ltr"
    body = page.locator(".article-body")
    assert body.evaluate(DIRECTION) == "ltr"
    # a Persian word inside it does not turn it around
    second = body.locator("p").nth(1)
    expect(second).to_contain_text("گره (gereh)")
    assert second.evaluate(DIRECTION) == "ltr" and second.evaluate(OPENING_GAPS, 3)["left"] < 1


def test_a_persian_query_stays_whole_inside_the_english_sentence(page, mislabelled_site):
    page.goto(mislabelled_site.url + "/")
    search = page.get_by_role("searchbox", name="Search articles")
    search.fill("2026 کتابخانه")
    search.press("Enter")
    sentence = page.locator("main p[role=status]")
    expect(sentence).to_contain_text("2026 کتابخانه")
    drawn = sentence.evaluate(QUOTED_QUERY)
    assert drawn["quote"] == "ltr" and drawn["query"] == "rtl"
    # read right to left on its own, the query puts its opening digits at its right end
    assert drawn["digits"]["left"] >= drawn["word"]["right"] - 1
    # and the English sentence flows around it: its words before, its full stop after
    assert drawn["before"]["right"] <= min(drawn["word"]["left"], drawn["digits"]["left"])
    assert drawn["after"]["left"] >= max(drawn["word"]["right"], drawn["digits"]["right"])
