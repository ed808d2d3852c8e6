"""Search in scripts written without spaces, and by the beginning of words, over feeds served on 127.0.0.1."""

from html import escape

import html5lib
import pytest

from republisher import create_app, storage, workflow

from helpers import refresh, sample_feed

JAPANESE_PLACES = ("横浜", "神戸", "函館", "長崎", "新潟", "那覇", "仙台", "広島", "金沢", "高知", "松山")
TOKYO_STORY = ("Tokyo と日本の鉄道の百年", "Tokyo 駅で日本の鉄道の歴史を振り返る展示が始まった。")
JAPANESE_WITHOUT_NIHON = [
    ("東京の桜が満開に", "上野公園では週末、さくらの下に多くの人が集まった。"),
    ("大阪の新しいフェリーが就航", "大阪港から九州へ向かうフェリーが今朝、最初の航海に出た。"),
]
CHINESE = [
    ("北京图书馆新馆开放", "北京市民今天可以参观新的图书馆，馆内藏书超过一百万册。"),
    ("上海渡轮恢复运行", "暴风雨过后，上海的渡轮今天早上恢复了正常运行。"),
]
KOREAN = [
    ("서울에서 새 도서관 문을 열어", "서울시는 오늘 시민을 위한 새 도서관을 열었다고 밝혔다."),
    ("부산항 여객선 운항 재개", "태풍이 지나간 뒤 부산항의 여객선이 다시 운항을 시작했다."),
]
ENGLISH = [("A Tokyo visit for the harbour board", "The board travelled to Tokyo to study ferry timetables.")]
THAI = [("ห้องสมุดใหม่เปิดที่เชียงใหม่", "ชาวเชียงใหม่มาเยี่ยมชมห้องสมุดแห่งใหม่ในวันเสาร์")]


def japanese_stories() -> list[tuple[str, str]]:
    """Twenty-two stories that all mention 日本 (Japan), written the Japanese way, without spaces."""
    stories = []
    for number in range(21):
        place = JAPANESE_PLACES[number % len(JAPANESE_PLACES)]
        stories.append((f"{place}港の新しい岸壁 第{number + 1}報",
                        f"{place}市は日本海側と結ぶ航路のため、港に新しい岸壁を造ると発表した。"))
    return stories + [TOKYO_STORY]


def feed(stories: list[tuple[str, str]], language: str, name: str) -> bytes:
    """An RSS feed under CC BY 4.0 with one item per (title, text)."""
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://{name}.example/{number}</link>"
        f"<guid>{name}-{number}</guid><description>{escape(f'<p>{escape(text)}</p>')}</description></item>"
        for number, (title, text) in enumerate(stories, start=1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>{name}</title><link>https://{name}.example/</link><description>news</description>"
            f"<language>{language}</language>"
            f"<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()


def publish_feed(app, db, httpserver, path: str, body: bytes) -> list[dict]:
    """Serve a feed on 127.0.0.1, fetch it as a source and publish every item; the items, oldest first."""
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for(path))
    assert refresh(app, db, source["id"]).outcome == "ok"
    items = sorted(storage.list_items(db, source_id=source["id"]), key=lambda item: item["id"])
    for item in items:
        workflow.approve(db, item["id"])
    return items


def card_titles(body: bytes) -> list[str]:
    """Titles of the result cards on a page, in order."""
    tree = html5lib.parse(body, namespaceHTMLElements=False)
    return ["".join(h2.itertext()).strip() for h2 in tree.iter("h2") if "card-title" in (h2.get("class") or "")]


def next_page(body: bytes) -> str | None:
    """The link to earlier matches, if the page has one."""
    tree = html5lib.parse(body, namespaceHTMLElements=False)
    links = [a.get("href") for a in tree.iter("a") if "next" in (a.get("rel") or "").split()]
    return links[0] if links else None


def search(client, query: str) -> list[str]:
    """The titles of the first page of results."""
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    return card_titles(response.data)


@pytest.fixture
def client(app):
    """Flask's test client for the app."""
    return app.test_client()


@pytest.fixture
def stories(app, db, httpserver):
    """Japanese, Chinese, Korean, Thai and English stories, every one published; titles newest first."""
    published = {}
    for language, path, stories in (("ja", "/ja", japanese_stories() + JAPANESE_WITHOUT_NIHON),
                                    ("zh", "/zh", CHINESE), ("ko", "/ko", KOREAN), ("th", "/th", THAI),
                                    ("en", "/en", ENGLISH)):
        published[language] = publish_feed(app, db, httpserver, path, feed(stories, language, language + "news"))
    return published


def newest_first(items: list[dict]) -> list[str]:
    """Titles in the order search shows them: the newest stored first."""
    return [item["title"] for item in sorted(items, key=lambda item: item["id"], reverse=True)]


def test_a_two_character_japanese_word_finds_every_article_holding_it_newest_first_page_by_page(client, stories):
    with_nihon = [item for item in stories["ja"] if item["title"] not in dict(JAPANESE_WITHOUT_NIHON)]
    assert len(with_nihon) == 22
    first = client.get("/search", query_string={"q": "日本"})
    assert first.status_code == 200
    second = client.get(next_page(first.data))
    assert next_page(second.data) is None
    assert card_titles(first.data) + card_titles(second.data) == newest_first(with_nihon)
    assert len(card_titles(first.data)) == 20


def test_japanese_words_in_kanji_hiragana_and_katakana_of_any_length(client, stories):
    assert search(client, "フェリー") == ["大阪の新しいフェリーが就航"]
    assert search(client, "さくら") == ["東京の桜が満開に"]
    assert search(client, "満開") == ["東京の桜が満開に"]
    assert search(client, "桜") == ["東京の桜が満開に"]
    quays = [item for item in stories["ja"] if "岸壁" in item["title"]]
    assert search(client, "日本海側と結ぶ航路") == newest_first(quays)[:20]
    assert search(client, "那覇港") == newest_first([item for item in quays if item["title"].startswith("那覇")])
    assert len(search(client, "那覇港")) == 2
    # characters that are in the text, but not next to each other, are not a word of it
    assert search(client, "日鉄") == []


def test_chinese_and_korean_words_are_found_inside_the_runs_that_hold_them(client, stories):
    assert search(client, "图书馆") == ["北京图书馆新馆开放"]
    assert search(client, "北京") == ["北京图书馆新馆开放"]
    assert search(client, "渡轮") == ["上海渡轮恢复运行"]
    assert search(client, "馆") == ["北京图书馆新馆开放"]
    # Korean joins particles to its words: 서울에서 is "in Seoul", 부산항 "the port of Busan"
    assert search(client, "서울") == ["서울에서 새 도서관 문을 열어"]
    assert search(client, "부산") == ["부산항 여객선 운항 재개"]
    assert search(client, "도서관") == ["서울에서 새 도서관 문을 열어"]
    assert search(client, "여객선 운항") == ["부산항 여객선 운항 재개"]


def test_a_thai_word_is_found_inside_a_run_without_spaces(client, stories):
    assert search(client, "ห้องสมุด") == ["ห้องสมุดใหม่เปิดที่เชียงใหม่"]
    assert search(client, "เชียงใหม่") == ["ห้องสมุดใหม่เปิดที่เชียงใหม่"]


def test_latin_and_cjk_words_in_one_query_must_all_be_found(client, stories):
    assert sorted(search(client, "Tokyo")) == sorted(["A Tokyo visit for the harbour board", TOKYO_STORY[0]])
    assert search(client, "Tokyo 日本") == [TOKYO_STORY[0]]
    assert search(client, "Tokyo 鉄道") == [TOKYO_STORY[0]]
    assert search(client, "Tokyo 서울") == []


def test_full_width_and_half_width_forms_find_the_usual_ones(client, stories):
    assert search(client, "ＴＯＫＹＯ　日本") == [TOKYO_STORY[0]]
    assert search(client, "ﾌｪﾘｰ") == ["大阪の新しいフェリーが就航"]


@pytest.fixture
def harbor(app, db, httpserver):
    """Harbor Wire's sample feed, every item published."""
    return publish_feed(app, db, httpserver, "/harbor", sample_feed("harbor-wire.xml"))


def test_a_word_is_found_by_its_beginning(client, harbor):
    assert search(client, "ferr") == ["Ferry service resumes after winter storms"]
    assert search(client, "FERR") == ["Ferry service resumes after winter storms"]
    assert search(client, "fer*") == ["Ferry service resumes after winter storms"]
    assert search(client, "cooperat") == ["Fishing cooperative opens a shared cold store"]
    assert search(client, "lightho keep") == ["Lighthouse keepers' cottages to become a museum"]
    # a beginning, not any part: "erry" is inside "ferry" and finds nothing
    assert search(client, "erry") == []
    assert search(client, "ferr cooperat") == []


@pytest.mark.parametrize("query", [
    '"', "*", "NEAR(", "NEAR(日本 ferry, 2)", "title:x", "title:日本", "{title body}: ferry", '日本"', '"日本" OR',
    "-日本", "^ferry", "ferry AND", "ferr* OR 日本*", "(((", "\\", "\x00", "日本" * 5000, "ferry " * 2000,
    "ア" * 10240,
])
def test_hostile_queries_get_a_plain_page_never_an_error(client, stories, harbor, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert b'class="masthead"' in response.data
    assert b'role="status"' in response.data


def test_an_existing_database_is_indexed_again_for_every_script(tmp_path, httpserver):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "before.sqlite"), "ALLOW_PRIVATE_ADDRESSES": True,
                      "SITE_URL": "http://mirror.test", "SECRET_KEY": "test-secret"})
    db = storage.connect(app.config["DATABASE"])
    storage.migrate(db)
    items = publish_feed(app, db, httpserver, "/ja", feed(japanese_stories(), "ja", "janews"))
    client = app.test_client()
    # as a database made before the migration holds it (the later migrations add columns only): the
    # migration drops the index, so only the items it queues again, and `init` indexes, can be found
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0005_search_scripts'")
    assert "applied 0005_search_scripts" in app.test_cli_runner().invoke(args=["init"]).output
    results = client.get("/search", query_string={"q": "日本"})
    assert card_titles(results.data) + card_titles(client.get(next_page(results.data)).data) == newest_first(items)
    db.conn.close()


def test_a_search_that_runs_out_of_time_says_so(db, client, harbor, monkeypatch):
    assert search(client, "ferry") == ["Ferry service resumes after winter storms"]
    monkeypatch.setattr(storage, "SEARCH_STEP_CHECK", 1)  # the test database is too small for 100
    assert storage.public_search_bounded(db, '"ferry"', limit=21, seconds=0) == ([], False)
    monkeypatch.setattr(storage, "SEARCH_CPU_SECONDS", 0)
    response = client.get("/search?q=ferries")
    assert response.status_code == 200
    assert b"search stopped" in response.data and not card_titles(response.data)
