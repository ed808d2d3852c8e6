"""Text direction read from the text: right-to-left scripts are found whatever language a feed declares."""

from pathlib import Path

import html5lib
import pytest

from helpers import refresh
from republisher import feeds, storage, workflow
from republisher.text import DIRECTION_SAMPLE, MARKUP_SAMPLE, opening_text, writing_direction

MISLABELLED_FEED = (Path(__file__).parent / "fixtures" / "direction" / "rss_fa_declared_en.xml").read_bytes()
PERSIAN_TITLE = "بازگشایی کتابخانه مرکزی تبریز پس از دو سال مرمت"
ENGLISH_TITLE = "Carpet weavers open their workshops to visitors"


# ---------------------------------------------------------------- the detector


@pytest.mark.parametrize("text", [
    "کتابخانه مرکزی تبریز پس از دو سال مرمت دوباره به روی مردم باز شد.",  # Persian
    "افتتح معرض القاهرة الدولي للكتاب أبوابه صباح اليوم بمشاركة مئات الناشرين.",  # Arabic
    "הספרייה העירונית החדשה נפתחה היום במרכז העיר.",  # Hebrew
    "لاہور میں نئی عوامی لائبریری کا افتتاح ہو گیا۔",  # Urdu
    "ئەمڕۆ کتێبخانەیەکی نوێ لە هەولێر کرایەوە.",  # Sorani Kurdish
])
def test_text_in_a_right_to_left_script_reads_right_to_left(text):
    assert writing_direction(text) == "rtl"


@pytest.mark.parametrize("text", [
    "The ferry service resumed on Tuesday after the winter storms.",
    "Die Fähre fährt nach den Winterstürmen wieder über den Fjord.",
    "Паром снова ходит после зимних штормов.",
    "冬の嵐の後、フェリーの運航が再開されました。",
])
def test_text_in_a_left_to_right_script_reads_left_to_right(text):
    assert writing_direction(text) == "ltr"


@pytest.mark.parametrize("text", [
    "UNESCO Memory of the World: کتابخانه مرکزی تبریز پس از دو سال مرمت دوباره باز شد.",
    "https://library.tabriz.example/fa/news/2026/12/12 — کتابخانه مرکزی تبریز روز شنبه ۲۲ آذر ۱۴۰۵ باز شد.",
    "2026-12-12 12:30 BBC: הספרייה העירונית החדשה נפתחה היום במרכז העיר, 120,000 ספרים.",
])
def test_right_to_left_text_opening_with_latin_words_urls_or_digits_reads_right_to_left(text):
    assert writing_direction(text) == "rtl"


@pytest.mark.parametrize("text", [
    "The Persian word for the knot they tie, گره (gereh), is painted above every door.",
    "Maryam Ahmadi (مریم احمدی) reported from Shiraz on 24 November 2026: https://parsruz.example/fa/1001",
    "الصبر مفتاح الفرج, says the proverb the minister quoted at the opening of the new harbour.",
])
def test_left_to_right_text_quoting_a_right_to_left_phrase_reads_left_to_right(text):
    assert writing_direction(text) == "ltr"


def test_characters_count_rather_than_words_so_scripts_without_spaces_hold_their_weight():
    # one unspaced Japanese sentence quoting a proverb of three Arabic words
    text = "国連事務総長は本日ニューヨークの本部で演説し、各国に自制を求め、アラビア語のことわざを引用しました。「الصبر مفتاح الفرج」"
    assert writing_direction(text) == "ltr"


@pytest.mark.parametrize("text", ["", None, "2026-12-12 12:30 — 42% (+3.5)", "… !? 🙂"])
def test_text_without_letters_has_no_direction_of_its_own(text):
    assert writing_direction(text) is None


def test_only_the_opening_characters_are_read():
    english = "The opening paragraph is a long English abstract. " * (DIRECTION_SAMPLE // 40)
    persian = "کتابخانه مرکزی تبریز پس از دو سال مرمت دوباره به روی مردم باز شد. " * 100
    assert writing_direction(english + persian) == "ltr"
    assert writing_direction(persian + english) == "rtl"


def test_opening_text_reads_what_a_reader_sees_of_the_markup():
    markup = ('<figure><img src="https://images.example/harbour-at-dawn.jpg" alt="Harbour at dawn">'
              '<figcaption>عکس: سارا رحیمی</figcaption></figure>'
              '<p>کتابخانه <a href="https://library.example/fa/news">تبریز</a> &amp; &#1575;</p>')
    text = opening_text(markup)
    assert "".join(text.split()) == "عکس:سارارحیمیکتابخانهتبریز&ا"


def test_opening_text_drops_a_tag_cut_by_the_limit():
    persian = "<p>" + "کتاب " * (MARKUP_SAMPLE // 5) + "</p>"
    markup = persian[:MARKUP_SAMPLE - 20] + '<img src="https://images.example/a-very-long-file-name.jpg" alt="">'
    assert "images" not in opening_text(markup) and "img" not in opening_text(markup)


# ---------------------------------------------------------------- pages


def parse_html(body: bytes):
    """An ElementTree of an HTML page, as a browser would build it."""
    return html5lib.parse(body, namespaceHTMLElements=False)


def card_directions(body: bytes) -> dict[str, str]:
    """The dir attribute of each item card on a page, by the card's title."""
    found = {}
    for card in parse_html(body).iter("article"):
        if "card" in (card.get("class") or "").split():
            title = next(h2 for h2 in card.iter("h2"))
            found[" ".join("".join(title.itertext()).split())] = card.get("dir")
    return found


def article_directions(client, item_id: int) -> tuple[str, str]:
    """The dir of an article page and of its body."""
    response = client.get(f"/articles/{item_id}", follow_redirects=True)
    assert response.status_code == 200
    tree = parse_html(response.data)
    [body] = [div for div in tree.iter("div") if "article-body" in (div.get("class") or "").split()]
    return tree.get("dir"), body.get("dir")


@pytest.mark.parametrize("declared", ["<language>en-us</language>", ""], ids=["declared-en-us", "undeclared"])
def test_a_persian_article_reads_right_to_left_whatever_its_feed_declares(app, db, httpserver, declared):
    body = MISLABELLED_FEED.replace(b"<language>en-us</language>", declared.encode())
    httpserver.expect_request("/tabriz").respond_with_data(body, content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/tabriz"))
    assert refresh(app, db, source["id"]).outcome == "ok"
    items = {item["title"]: item for item in storage.list_items(db, source_id=source["id"])}
    for item in items.values():
        workflow.approve(db, item["id"])
    while storage.public_index_sync(db, feeds.text_and_excerpt, limit=100):
        pass
    client = app.test_client()
    assert article_directions(client, items[PERSIAN_TITLE]["id"]) == ("rtl", "rtl")
    assert article_directions(client, items[ENGLISH_TITLE]["id"]) == ("ltr", "ltr")
    assert card_directions(client.get("/").data) == {PERSIAN_TITLE: "rtl", ENGLISH_TITLE: "ltr"}


def test_a_language_the_text_contradicts_is_not_declared_to_screen_readers(app, db, httpserver):
    httpserver.expect_request("/tabriz").respond_with_data(MISLABELLED_FEED, content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/tabriz"))
    refresh(app, db, source["id"])
    items = {item["title"]: item for item in storage.list_items(db, source_id=source["id"])}
    for item in items.values():
        workflow.approve(db, item["id"])
    while storage.public_index_sync(db, feeds.text_and_excerpt, limit=100):
        pass
    client = app.test_client()
    persian = parse_html(client.get(f"/articles/{items[PERSIAN_TITLE]['id']}", follow_redirects=True).data)
    english = parse_html(client.get(f"/articles/{items[ENGLISH_TITLE]['id']}", follow_redirects=True).data)
    assert (persian.get("lang"), english.get("lang")) == ("und", "en-us")
    home = parse_html(client.get("/").data)
    card_languages = {"".join(title.itertext()).strip(): title.get("lang")
                      for title in home.iter("h2") if "card-title" in (title.get("class") or "")}
    assert card_languages == {PERSIAN_TITLE: None, ENGLISH_TITLE: "en-us"}
