"""JSON Feed 1.0 and 1.1 sources: read into the same entries as RSS and Atom, hostile documents refused clearly."""

import json
import time

import html5lib
import pytest
from werkzeug import Response

from republisher import ingest, jsonfeed, parser, storage, workflow
from republisher.errors import NotAFeedError, ParseError

from helpers import pipeline_config, refresh, sample_feed

FEED_URL = "https://tide.example/feed.json"
JSON_FEED = {"content-type": "application/feed+json"}
EVIDENCE = ("Site footer: \"Everything on Tide Notes is licensed under a Creative Commons Attribution 4.0 "
            "International License.\"")


def tide_notes_1_1() -> dict:
    """A JSON Feed 1.1 document with the fields a blog and a podcast use."""
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Tide Notes",
        "home_page_url": "https://tide.example/",
        "feed_url": FEED_URL,
        "description": "Notes from the harbour & the coast",
        "language": "en-GB",
        "authors": [{"name": "Harbour Desk", "url": "https://tide.example/desk"}],
        "items": [
            {
                "id": "https://tide.example/2026/spring-tides",
                "url": "https://tide.example/2026/spring-tides",
                "external_url": "https://almanac.example/tables",
                "title": "Spring tides & <em>king</em> tides explained",
                "content_html": '<p>The moon pulls hardest <a href="/moon">at new moon</a>.</p>',
                "content_text": "The moon pulls hardest at new moon.",
                "summary": "Why some tides run higher.",
                "date_published": "2026-11-20T09:30:00-05:00",
                "date_modified": "2026-11-21T08:00:00Z",
                "authors": [{"name": "Ana Ruiz", "url": "https://tide.example/ana"}, {"name": "Jo Park"}],
                "tags": ["tides", "moon", "tides"],
                "attachments": [{"url": "https://tide.example/audio/spring.mp3", "mime_type": "audio/mpeg",
                                 "size_in_bytes": 4521900, "duration_in_seconds": 812, "title": "Audio"}],
            },
            {
                "id": "https://tide.example/2026/gezeiten",
                "url": "https://tide.example/2026/gezeiten",
                "title": "Gezeiten an der Nordsee",
                "content_text": "Zweimal am Tag steigt das Wasser.\n\nZweimal fällt es.",
                "language": "de",
                "date_published": "2026-11-19T12:00:00+01:00",
            },
        ],
    }


def tide_notes_1_0() -> dict:
    """A JSON Feed 1.0 document: one author object, plain-text content."""
    return {
        "version": "https://jsonfeed.org/version/1",
        "title": "Tide Notes (classic)",
        "home_page_url": "https://tide.example/",
        "author": {"name": "Harbour Desk"},
        "items": [
            {"id": "1", "url": "https://tide.example/1", "title": "Low water at noon",
             "content_text": "Low water today is at 12:04.", "date_published": "2026-11-18T12:04:00Z"},
            {"id": "2", "url": "https://tide.example/2", "author": {"name": "Ana Ruiz"},
             "summary": "A short note on fog.", "date_modified": "2026-11-18T07:00:00+00:00"},
        ],
    }


def encoded(document) -> bytes:
    """A document as a publisher would serve it."""
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def read(body: bytes, headers: dict | None = None) -> dict:
    """The parse stage's result for a body served as JSON Feed (or with the headers given)."""
    return parser.parse_feed(body, JSON_FEED if headers is None else headers, FEED_URL)


def with_item(**fields) -> bytes:
    """A 1.1 document with one item: a valid id and text, then the fields given."""
    document = tide_notes_1_1()
    document["items"] = [dict({"id": "only", "content_text": "Body."}, **fields)]
    return encoded(document)


# ---------------------------------------------------------------- JSON Feed 1.1 and 1.0


def test_a_1_1_feed_reads_like_an_atom_feed():
    parsed = read(encoded(tide_notes_1_1()))
    assert parsed["version"] == "json11" and parsed["bozo"] is None
    feed = parsed["feed"]
    assert (feed["title"], feed["link"], feed["language"]) == ("Tide Notes", "https://tide.example/", "en-GB")
    assert feed["subtitle"] == "Notes from the harbour & the coast"
    first, second = parsed["entries"]
    assert first["guid"] == first["link"] == "https://tide.example/2026/spring-tides"
    assert first["title"] == "Spring tides & <em>king</em> tides explained"  # plain text: the markup is words
    assert first["content"] == '<p>The moon pulls hardest <a href="/moon">at new moon</a>.</p>'
    assert first["content_type"] == "text/html"
    assert first["summary"] == "Why some tides run higher."
    assert first["authors"] == ["Ana Ruiz", "Jo Park"]
    assert first["published"] == "2026-11-20T14:30:00+00:00" and first["updated"] == "2026-11-21T08:00:00+00:00"
    assert first["categories"] == ["tides", "moon"]
    assert first["enclosures"] == [{"url": "https://tide.example/audio/spring.mp3", "type": "audio/mpeg",
                                    "length": 4521900}]
    assert first["language"] == "en-GB" and first["base"] == "https://tide.example/2026/spring-tides"
    assert first["raw"]["external_url"] == "https://almanac.example/tables"
    assert second["language"] == "de"
    assert second["content"] == "Zweimal am Tag steigt das Wasser.\n\nZweimal fällt es."
    assert second["content_type"] == "text/plain"
    assert second["authors"] == ["Harbour Desk"]  # the feed's authors, as the item names none


def test_a_1_0_feed_reads_its_author_object_and_plain_text():
    parsed = read(encoded(tide_notes_1_0()), {"content-type": "application/json; charset=utf-8"})
    assert parsed["version"] == "json1"
    first, second = parsed["entries"]
    assert (first["authors"], first["content"], first["content_type"]) == (
        ["Harbour Desk"], "Low water today is at 12:04.", "text/plain")
    assert first["published"] == "2026-11-18T12:04:00+00:00"
    assert second["authors"] == ["Ana Ruiz"]
    assert (second["content"], second["content_type"]) == ("A short note on fog.", "text/plain")
    assert second["published"] is None and second["updated"] == "2026-11-18T07:00:00+00:00"
    assert second["language"] is None


def test_the_structure_is_the_one_feedparser_gives():
    parsed = jsonfeed.parse(encoded(tide_notes_1_1()))
    assert (parsed["version"], parsed["bozo"], parsed["namespaces"]) == ("json11", 0, {})
    entry = parsed["entries"][0]
    assert entry["title_detail"] == {"type": "text/plain", "value": entry["title"]}
    assert [detail["type"] for detail in entry["content"]] == ["text/html", "text/plain"]
    assert entry["published_parsed"][:6] == (2026, 11, 20, 14, 30, 0)
    assert {"rel": "enclosure", "href": "https://tide.example/audio/spring.mp3", "type": "audio/mpeg",
            "length": 4521900, "title": "Audio", "duration_in_seconds": 812} in entry["links"]
    assert entry["tags"][0] == {"term": "tides", "scheme": None, "label": None}


def test_authors_are_preferred_to_author_and_the_feeds_stand_in():
    both = read(with_item(authors=[{"name": "New Style"}], author={"name": "Old Style"}))["entries"][0]
    assert both["authors"] == ["New Style"]
    unnamed = read(with_item(authors=[{"url": "https://tide.example/who"}], author={"name": "Old Style"}))
    assert unnamed["entries"][0]["authors"] == ["Old Style"]
    assert read(with_item())["entries"][0]["authors"] == ["Harbour Desk"]


def test_html_content_is_preferred_and_an_empty_one_gives_way():
    assert read(with_item(content_html="<p>Rich</p>", content_text="Plain"))["entries"][0]["content"] == "<p>Rich</p>"
    fallback = read(with_item(content_html="", content_text="Plain"))["entries"][0]
    assert (fallback["content"], fallback["content_type"]) == ("Plain", "text/plain")


@pytest.mark.parametrize("written, expected", [
    ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00+00:00"),
    ("2026-11-20t10:00:00.123456789z", "2026-11-20T10:00:00+00:00"),
    ("2026-11-20T23:30:00-02:00", "2026-11-21T01:30:00+00:00"),
    ("2026-11-20T10:00:00", "2026-11-20T10:00:00+00:00"),
    ("last Tuesday", None),
    ("2026-13-45T99:00:00Z", None),
    ("0001-01-01T00:00:00+01:00", None),
    (" 2026-11-20T10:00:00Z\n", "2026-11-20T10:00:00+00:00"),
])
def test_dates_are_read_as_rfc_3339_in_utc(written, expected):
    assert read(with_item(date_published=written))["entries"][0]["published"] == expected


# ---------------------------------------------------------------- how a body is recognized


@pytest.mark.parametrize("body, headers", [
    (b"\xef\xbb\xbf \r\n\t" + encoded(tide_notes_1_0()), {"content-type": "text/plain"}),
    (encoded(tide_notes_1_0()), {}),
    (b"\n" + encoded(tide_notes_1_0()), {"Content-Type": "application/feed+json"}),
    (encoded(tide_notes_1_0()).decode().encode("utf-16"), {"content-type": "application/json"}),
])
def test_a_json_body_is_recognized_by_its_type_or_its_first_character(body, headers):
    assert read(body, headers)["entries"][0]["title"] == "Low water at noon"


def test_an_xml_feed_mislabelled_as_json_is_still_read_as_xml():
    parsed = read(sample_feed("harbor-wire.xml"), {"content-type": "application/json"})
    assert parsed["version"].startswith("rss") and len(parsed["entries"]) == 3


# ---------------------------------------------------------------- untrusted values


@pytest.mark.parametrize("fields, field, expected", [
    ({"id": 42}, "guid", "42"),
    ({"id": 4.5}, "guid", "4.5"),
    ({"title": ["a", "list"]}, "title", None),
    ({"title": None}, "title", None),
    ({"title": {"text": "object"}}, "title", None),
    ({"url": 17}, "link", None),
    ({"url": "javascript:alert(1)"}, "link", None),
    ({"content_html": ["<p>no</p>"], "content_text": "Text."}, "content", "Text."),
    ({"authors": "Ana Ruiz", "author": "Ana Ruiz"}, "authors", ["Harbour Desk"]),
    ({"authors": [None, 3, {"name": ["x"]}, {"name": "Jo Park"}]}, "authors", ["Jo Park"]),
    ({"tags": "tides"}, "categories", []),
    ({"tags": [1, None, {"x": 1}, "moon"]}, "categories", ["moon"]),
    ({"attachments": {"url": "https://tide.example/a.mp3"}}, "enclosures", []),
    ({"attachments": [7, {"url": 7}, {"url": "https://tide.example/a.mp3", "mime_type": 3,
                                      "size_in_bytes": True}]},
     "enclosures", [{"url": "https://tide.example/a.mp3", "type": None, "length": None}]),
    ({"date_published": 1763629200}, "published", None),
    ({"language": ["de"]}, "language", "en-GB"),
    ({"language": "not a language!"}, "language", "en-GB"),
])
def test_a_field_of_the_wrong_type_counts_as_absent(fields, field, expected):
    [entry] = read(with_item(**fields))["entries"]
    assert entry[field] == expected


def test_characters_xml_cannot_carry_do_not_reach_the_later_stages():
    document = tide_notes_1_1()
    document["items"] = [{"id": "\ud800", "title": "Null\x00 bytes\x07 and a lone \udc00 surrogate",
                          "content_html": "<p>\ud83d\ude00 stays</p>"}]
    [entry] = read(json.dumps(document).encode("ascii"))["entries"]
    assert (entry["guid"], entry["title"]) == ("\ufffd", "Null bytes and a lone \ufffd surrogate")
    assert entry["content"] == "<p>\U0001f600 stays</p>"
    json.dumps(entry, ensure_ascii=False).encode("utf-8")  # what storage does with every entry


def test_feed_level_fields_of_the_wrong_type_are_ignored():
    document = dict(tide_notes_1_1(), title=["x"], home_page_url={"u": 1}, description=5, language=True,
                    authors={"name": "nobody"})
    parsed = read(encoded(document))
    assert (parsed["feed"]["title"], parsed["feed"]["link"], parsed["feed"]["subtitle"]) == (None, None, None)
    assert parsed["feed"]["language"] is None
    assert parsed["entries"][1]["authors"] == []


def test_a_bad_item_is_skipped_and_the_others_kept():
    document = tide_notes_1_0()
    document["items"] = [None, 3, "text", ["list"], {"title": "no id"}, {"id": ""}, {"id": " "}, {"id": True},
                         {"id": [1]}, *document["items"]]
    assert [entry["guid"] for entry in read(encoded(document))["entries"]] == ["1", "2"]


def test_items_left_out_are_a_warning_on_a_healthy_source(app, db, httpserver):
    document = tide_notes_1_0()
    document["items"] = [{"title": "no id"}, 3, *document["items"]]
    httpserver.expect_request("/feed.json").respond_with_data(encoded(document), content_type="application/feed+json")
    source_id = storage.add_source(db, httpserver.url_for("/feed.json"))["id"]
    report = refresh(app, db, source_id)
    assert report.outcome == "ok" and report.new + report.blocked == 2
    assert report.warning == '2 items of the JSON Feed left out; first: item 1 has no "id"'
    assert storage.get_source(db, source_id)["error_count"] == 0


def test_an_item_list_of_the_wrong_type_is_refused_and_an_empty_one_is_a_quiet_feed():
    for items in ("items", {"id": "1"}, None):
        with pytest.raises(ParseError) as refused:
            read(encoded(dict(tide_notes_1_0(), items=items)))
        assert str(refused.value).startswith('JSON Feed without a list of "items"')
    assert read(encoded(dict(tide_notes_1_0(), items=[])))["entries"] == []


@pytest.mark.parametrize("body, error, message", [
    (b'{\n  "version": "https://jsonfeed.org/version/1.1",\n  "title": "x"\n  "items": []\n}', ParseError,
     "not valid JSON: line 4, column 3: Expecting ',' delimiter"),
    (b'{"title": "no version", "items": []}', NotAFeedError,
     'JSON, but not a JSON Feed (no "version" of https://jsonfeed.org/version/1)'),
    (b'{"version": "https://example.org/version/1", "items": []}', NotAFeedError,
     'JSON, but not a JSON Feed (no "version" of https://jsonfeed.org/version/1)'),
    (b'{"version": 1.1, "items": []}', NotAFeedError,
     'JSON, but not a JSON Feed (no "version" of https://jsonfeed.org/version/1)'),
    (b'["https://jsonfeed.org/version/1"]', NotAFeedError,
     "JSON, but not a JSON Feed (the document is an array, not an object)"),
    (b'{"version": "https://jsonfeed.org/version/1", "title": "caf\xe9", "items": []}', ParseError,
     "not valid UTF-8: byte 0xe9 at offset 59 (invalid continuation byte)"),
    (b'{"version": "https://jsonfeed.org/version/1", "items": [], "_deep": ' + b"[" * 100000 + b"]" * 100000 + b"}",
     ParseError, "JSON nested too deeply to be read"),
    (b'{"version": "https://jsonfeed.org/version/1", "items": [{"id": ' + b"9" * 5000 + b"}]}", ParseError,
     "JSON could not be read: Exceeds the limit (4300 digits) for integer string conversion"),
    (b'{"version": "https://jsonfeed.org/version/1", "items": [1, {"title": "t"}]}', ParseError,
     "no item of the JSON Feed could be read (2 skipped; first: item 1 is a number, not an object)"),
    (b"  \n", NotAFeedError, "empty body: not a feed"),
])
def test_a_document_with_nothing_readable_is_refused_in_one_clear_line(body, error, message):
    with pytest.raises(error) as refused:
        read(body)
    assert str(refused.value) == message


def test_huge_lists_in_an_item_stay_linear_and_bounded():
    names = [f"name {number}" for number in range(100000)]
    body = with_item(tags=names, authors=[{"name": name} for name in names],
                     attachments=[{"url": f"https://tide.example/{number}.mp3"} for number in range(100000)])
    started = time.monotonic()
    [entry] = read(body)["entries"]
    assert time.monotonic() - started < 10
    assert len(entry["categories"]) == len(entry["authors"]) == len(entry["enclosures"]) == jsonfeed.MAX_PER_ITEM


def test_many_items_are_read_in_bounded_time():
    # a bound far above linear work (about 2 s here) and far below quadratic work (minutes), so that a
    # busy machine cannot fail it; bench/ measures the speed
    document = dict(tide_notes_1_0(), items=[{"id": str(number), "title": f"Note {number}",
                                               "content_text": "Short.", "tags": ["tide"]}
                                              for number in range(50000)])
    body = encoded(document)
    started = time.monotonic()
    assert len(read(body)["entries"]) == 50000
    assert time.monotonic() - started < 20


# ---------------------------------------------------------------- end to end


def article_page(client, item_id: int):
    """The public page of a published article, parsed as a browser would."""
    redirect = client.get(f"/articles/{item_id}")
    assert redirect.status_code == 301
    response = client.get(redirect.headers["Location"])
    assert response.status_code == 200
    return html5lib.parse(response.data, namespaceHTMLElements=False)


def text_of(element) -> str:
    """All text inside an element, whitespace folded."""
    return " ".join("".join(element.itertext()).split())


def only(tree, tag: str, class_name: str):
    """The one element of a tag with a class."""
    [found] = [element for element in tree.iter(tag) if class_name in (element.get("class") or "").split()]
    return found


def test_a_json_feed_source_is_fetched_approved_and_published_with_its_credit(app, db, httpserver):
    document = tide_notes_1_1()
    bodies = iter([encoded(document), encoded(document), json.dumps(document, indent=2).encode()])
    httpserver.expect_request("/feed.json").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/feed+json"))
    source = storage.add_source(db, httpserver.url_for("/feed.json"), name="Tide Notes", license="CC-BY-4.0",
                                evidence=EVIDENCE)

    first = refresh(app, db, source["id"])
    assert (first.outcome, first.new, first.blocked) == ("ok", 2, 0)
    items = {item["title"]: item for item in storage.list_items(db, source_id=source["id"])}
    spring = items["Spring tides & <em>king</em> tides explained"]
    assert (spring["status"], spring["license"]) == ("pending", "CC-BY-4.0")
    workflow.approve(db, spring["id"], site_policy=app.config["LICENSE_POLICY"])

    tree = article_page(app.test_client(), spring["id"])
    assert text_of(only(tree, "h1", "article-title")) == "Spring tides & <em>king</em> tides explained"
    assert text_of(only(tree, "div", "article-body")) == "The moon pulls hardest at new moon."
    [moon_link] = only(tree, "div", "article-body").iter("a")
    assert moon_link.get("href") == "https://tide.example/moon"
    assert text_of(only(tree, "span", "authors")) == "Ana Ruiz, Jo Park"
    credit = only(tree, "footer", "attribution")
    assert "by Ana Ruiz and Jo Park" in text_of(credit)
    assert [a.get("href") for a in credit.iter("a") if a.get("rel") == "license"] == [
        "https://creativecommons.org/licenses/by/4.0/"]
    assert only(credit, "a", "attribution-original").get("href") == "https://tide.example/2026/spring-tides"
    assert "audio/mpeg" in text_of(only(tree, "section", "enclosures"))

    unchanged = refresh(app, db, source["id"])
    reformatted = refresh(app, db, source["id"])  # the same items, written with other whitespace
    assert unchanged.outcome == "unchanged" and unchanged.new == unchanged.updated == 0
    assert (reformatted.outcome, reformatted.new, reformatted.updated, reformatted.unchanged) == (
        "ok", 0, 0, 2)
    for item in storage.list_items(db, source_id=source["id"]):
        assert len(storage.item_revisions(db, item["id"])) == 1
    assert storage.get_item(db, spring["id"])["status"] == "published"


BROKEN_JSON_FEEDS = {
    "/cut-off.json": (b'{"version": "https://jsonfeed.org/version/1",',
                      "not valid JSON: line 1, column 46: Expecting property name enclosed in double quotes"),
    "/deep.json": (b'{"version": "https://jsonfeed.org/version/1", "items": ' + b"[" * 50000 + b"]" * 50000 + b"}",
                   "JSON nested too deeply to be read"),
    "/latin-1.json": ('{"version": "https://jsonfeed.org/version/1", "title": "Café", "items": []}'.encode("latin-1"),
                      "not valid UTF-8: byte 0xe9 at offset 59 (invalid continuation byte)"),
    "/settings.json": (b'{"theme": "dark"}', 'JSON, but not a JSON Feed (no "version" of https://jsonfeed.org/version/1)'),
}


def test_broken_json_feeds_fail_alone_in_their_batch_with_their_reason(app, db, httpserver):
    for path, (body, _) in BROKEN_JSON_FEEDS.items():
        httpserver.expect_request(path).respond_with_data(body, content_type="application/feed+json")
    httpserver.expect_request("/good.json").respond_with_data(encoded(tide_notes_1_0()), content_type="application/json")
    ids = {path: storage.add_source(db, httpserver.url_for(path))["id"] for path in [*BROKEN_JSON_FEEDS, "/good.json"]}
    reports = {report.source_id: report for report in
               ingest.refresh_many(storage.list_sources(db), pipeline_config(app))}
    assert reports[ids["/good.json"]].outcome == "ok"
    assert len(storage.list_items(db, source_id=ids["/good.json"])) == 2
    for path, (_, message) in BROKEN_JSON_FEEDS.items():
        assert (reports[ids[path]].outcome, reports[ids[path]].error) == ("error", message)
        assert storage.get_source(db, ids[path])["last_error"] == message
