"""The public mirror over Flask's test client: real SQLite file, feeds fetched from 127.0.0.1."""

import json
import re
from email.utils import format_datetime

import html5lib
import pytest
import waitress
from werkzeug import Response

from republisher import storage, workflow
from republisher.serve import serve_command
from republisher.slugs import slugify

from helpers import refresh, sample_feed

PARS_EVIDENCE = ("Site footer: \"All Content by Pars Ruz News Agency is licensed under a Creative Commons "
                 "Attribution 4.0 International License.\"")
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


# ---------------------------------------------------------------- helpers and fixtures


def parse_html(body: bytes):
    """An ElementTree of an HTML page, as a browser would build it."""
    return html5lib.parse(body, namespaceHTMLElements=False)


def elements(tree, tag: str, **attributes):
    """Elements of a tag whose attributes contain the given values (class matches one of its words)."""
    found = []
    for element in tree.iter(tag):
        ok = True
        for name, value in attributes.items():
            actual = element.get("class" if name == "class_" else name) or ""
            if name == "class_":
                ok = ok and value in actual.split()
            elif name == "rel":
                ok = ok and value in actual.split()
            else:
                ok = ok and actual == value
        if ok:
            found.append(element)
    return found


def text_of(element) -> str:
    """All text inside an element."""
    return " ".join("".join(element.itertext()).split())


def add_feed(app, db, httpserver, path: str, body: bytes, **source_fields) -> int:
    """Serve a feed on 127.0.0.1, add it as a source, fetch it; returns the source id."""
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for(path), **source_fields)
    report = refresh(app, db, source["id"])
    assert report.outcome == "ok", report
    return source["id"]


def items_by_title(db, source_id: int) -> dict[str, dict]:
    """A source's items keyed by title."""
    return {item["title"]: item for item in storage.list_items(db, source_id=source_id)}


def rss_feed(count: int, title: str = "Story") -> bytes:
    """An RSS feed under CC BY 4.0 with numbered items."""
    items = "".join(
        f"<item><title>{title} {n}</title><link>https://many.example/{n}</link><guid>many-{n}</guid>"
        f"<description>&lt;p&gt;Body of story {n} about tides.&lt;/p&gt;</description></item>"
        for n in range(1, count + 1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>Many</title><link>https://many.example/</link><description>d</description>"
            f"<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()


def order_items(db, ids: list[int]) -> None:
    """Give items distinct publication times, in list order (the last is the newest)."""
    for position, item_id in enumerate(ids):
        storage.update_item_fields(db, item_id, {"published_order": f"2026-11-25T10:{position:02d}:00+00:00"})


@pytest.fixture
def client(app):
    """Flask's test client for the app."""
    return app.test_client()


@pytest.fixture
def harbor(app, db, httpserver):
    """Harbor Wire (CC BY 4.0 on the channel): two items published, one left pending."""
    source_id = add_feed(app, db, httpserver, "/harbor", sample_feed("harbor-wire.xml"))
    items = items_by_title(db, source_id)
    ferry = items["Ferry service resumes after winter storms"]
    cold = items["Fishing cooperative opens a shared cold store"]
    lighthouse = items["Lighthouse keepers' cottages to become a museum"]
    workflow.approve(db, ferry["id"])
    workflow.approve(db, cold["id"])
    order_items(db, [cold["id"], ferry["id"]])
    return {"source_id": source_id, "ferry": ferry, "cold": cold, "pending": lighthouse,
            "slug": storage.get_source(db, source_id)["slug"]}


@pytest.fixture
def pars(app, db, httpserver):
    """Pars Ruz (Persian, right-to-left) with its license set by an editor; both items published."""
    source_id = add_feed(app, db, httpserver, "/pars", sample_feed("pars-daily.xml"),
                         name="Pars Ruz News Agency", license="CC-BY-4.0", evidence=PARS_EVIDENCE)
    items = storage.list_items(db, source_id=source_id)
    for item in items:
        workflow.approve(db, item["id"])
    return {"source_id": source_id, "items": items}


def article_path(client, item_id: int) -> str:
    """The canonical path of an article, found through the redirect of /articles/<id>."""
    response = client.get(f"/articles/{item_id}")
    assert response.status_code == 301
    return response.headers["Location"]


def card_titles(body: bytes) -> list[str]:
    """Titles of the item cards on a page, in order."""
    return [text_of(h2) for h2 in elements(parse_html(body), "h2", class_="card-title")]


# ---------------------------------------------------------------- listing


def test_home_lists_only_published_items_newest_first(client, harbor):
    response = client.get("/")
    assert response.status_code == 200
    assert card_titles(response.data) == ["Ferry service resumes after winter storms",
                                          "Fishing cooperative opens a shared cold store"]
    assert b"Lighthouse keepers" not in response.data


def test_home_pages_back_with_a_keyset_cursor(app, db, client, httpserver):
    source_id = add_feed(app, db, httpserver, "/many", rss_feed(50))
    ids = [item["id"] for item in storage.list_items(db, source_id=source_id)]
    for item_id in ids:
        workflow.approve(db, item_id)
    order_items(db, sorted(ids))
    pages, address = [], "/"
    while address:
        body = client.get(address).data
        pages.append(card_titles(body))
        [older] = elements(parse_html(body), "a", rel="next") or [None]
        address = older.get("href") if older is not None else None
        assert address is None or ("before=" in address and "offset" not in address)
    assert [title for page in pages for title in page] == [f"Story {n}" for n in range(50, 0, -1)]
    assert len(pages) >= 2 and all(10 <= len(page) <= 40 for page in pages[:-1]) and pages[-1]


def test_a_malformed_cursor_is_a_clear_400_page(client, harbor):
    response = client.get("/?before=not-a-cursor!!")
    assert response.status_code == 400
    assert b"not valid" in response.data and b'class="masthead"' in response.data


@pytest.mark.parametrize("status", ["pending", "blocked", "rejected"])
def test_items_that_are_not_published_are_not_found(app, db, client, harbor, httpserver, status):
    if status == "pending":
        item_id = harbor["pending"]["id"]
    elif status == "rejected":
        item_id = harbor["pending"]["id"]
        workflow.reject(db, item_id, reason="off topic")
    else:
        cafe = add_feed(app, db, httpserver, "/cafe", sample_feed("cafe-chronicle.xml"))
        item_id = storage.list_items(db, source_id=cafe)[0]["id"]
    assert storage.get_item(db, item_id)["status"] == status
    slug = slugify(storage.get_item(db, item_id)["title"])
    for path in (f"/articles/{item_id}", f"/articles/{item_id}/{slug}"):
        response = client.get(path)
        assert response.status_code == 404
        assert b'class="masthead"' in response.data
    assert client.get("/articles/999999/anything").status_code == 404


def test_a_wrong_or_missing_slug_redirects_to_the_canonical_one(client, harbor):
    item_id = harbor["ferry"]["id"]
    canonical = f"/articles/{item_id}/ferry-service-resumes-after-winter-storms"
    for path in (f"/articles/{item_id}", f"/articles/{item_id}/old-title"):
        response = client.get(path)
        assert response.status_code == 301
        assert response.headers["Location"] == canonical
    assert client.get(canonical).status_code == 200


def test_a_withdrawn_article_answers_410_with_its_reason(db, client, harbor):
    path = article_path(client, harbor["ferry"]["id"])
    workflow.withdraw(db, harbor["ferry"]["id"], reason="Takedown request from the publisher")
    response = client.get(path)
    assert response.status_code == 410
    page = text_of(parse_html(response.data).find(".//main"))
    assert "withdrawn" in page and "Takedown request from the publisher" in page
    assert "Ferry service" not in page
    assert b"Ferry service" not in client.get("/").data
    assert b"Ferry service" not in client.get("/feed.xml").data
    assert b"Ferry service" not in client.get("/search?q=ferry").data


# ---------------------------------------------------------------- the article page


def test_the_article_carries_attribution_canonical_license_and_json_ld(client, harbor):
    item = harbor["ferry"]
    response = client.get(article_path(client, item["id"]))
    assert response.status_code == 200
    tree = parse_html(response.data)
    deed = "https://creativecommons.org/licenses/by/4.0/"
    [footer] = elements(tree, "footer", class_="attribution")
    assert [a.get("href") for a in elements(footer, "a", rel="license")] == [deed]
    assert item["url"] in [a.get("href") for a in footer.iter("a")]
    [canonical] = elements(tree, "link", rel="canonical")
    assert canonical.get("href") == item["url"]
    assert [link.get("href") for link in elements(tree, "link", rel="license")] == [deed]
    [ld] = elements(tree, "script", type="application/ld+json")
    data = json.loads(ld.text)
    assert deed in json.dumps(data["license"]) and item["url"] in json.dumps(data["isBasedOn"])
    assert all(script.get("type") == "application/ld+json" for script in tree.iter("script"))
    metas = {meta.get("property"): meta.get("content") for meta in tree.iter("meta") if meta.get("property")}
    assert metas["og:type"] == "article" and metas["og:title"] == item["title"]
    assert metas["og:url"].startswith("http://mirror.test/articles/")
    assert tree.get("lang") == "en" and tree.get("dir") == "ltr"
    body = text_of(elements(tree, "div", class_="article-body")[0])
    assert "full timetable" in body and "trackReader" not in body
    feeds = {link.get("type") for link in elements(tree, "link", rel="alternate")}
    assert {"application/rss+xml", "application/atom+xml", "application/feed+json"} <= feeds


def test_the_canonical_link_names_the_mirror_when_the_setting_is_off(app, client, harbor):
    app.config["CANONICAL_TO_ORIGINAL"] = False
    path = article_path(client, harbor["ferry"]["id"])
    [canonical] = elements(parse_html(client.get(path).data), "link", rel="canonical")
    assert canonical.get("href") == "http://mirror.test" + path


def test_json_ld_cannot_close_its_script_element(app, db, client, httpserver):
    title = "Close &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; tags &amp; more"
    body = rss_feed(1).replace(b"Story 1", title.encode())
    source_id = add_feed(app, db, httpserver, "/ld", body)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"])
    response = client.get(article_path(client, item["id"]))
    raw = response.data.decode()
    start = raw.index('<script type="application/ld+json">')
    script = raw[start:raw.index("</script>", start)]
    assert "<" not in script[len('<script type="application/ld+json">'):] and "\\u003c" in script
    tree = parse_html(response.data)
    assert [s.get("type") for s in tree.iter("script")] == ["application/ld+json"]
    assert json.loads(elements(tree, "script", type="application/ld+json")[0].text)


def test_titles_and_names_are_text_never_markup(app, db, client, httpserver):
    body = (b'<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            b'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            b"<title>X</title><link>https://x.example/</link><description>d</description>"
            b"<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            b"<item><title><![CDATA[Bold &lt;b onmouseover=alert(1)&gt;claim&lt;/b&gt;]]></title>"
            b"<link>https://x.example/1</link><guid>x1</guid>"
            b"<dc:creator>&lt;img src=x onerror=alert(2)&gt;</dc:creator>"
            b"<category>&lt;svg onload=alert(3)&gt;</category>"
            b"<description>&lt;p&gt;Text&lt;/p&gt;&lt;img src=x onerror=alert(4)&gt;</description></item>"
            b"</channel></rss>")
    source_id = add_feed(app, db, httpserver, "/xss", body)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"])
    for path in ("/", article_path(client, item["id"])):
        tree = parse_html(client.get(path).data)
        for element in tree.iter():
            assert not any(name.startswith("on") for name in element.keys()), (path, element.tag)
            assert element.tag not in ("svg", "b"), (path, element.tag)
        assert "Bold <b onmouseover=alert(1)>claim</b>" in text_of(tree)


def test_the_article_shows_its_approved_revision_until_a_change_is_accepted(app, db, client, httpserver):
    bodies = iter([rss_feed(1, title="First title"), rss_feed(1, title="Changed upstream")])
    httpserver.expect_request("/rev").respond_with_handler(
        lambda request: Response(next(bodies), content_type="application/rss+xml"))
    source_id = storage.add_source(db, httpserver.url_for("/rev"))["id"]
    refresh(app, db, source_id)
    [item] = storage.list_items(db, source_id=source_id)
    workflow.approve(db, item["id"])
    path = article_path(client, item["id"])
    refresh(app, db, source_id)
    assert storage.get_item(db, item["id"])["review_flag"]
    page = client.get(path)
    assert page.status_code == 200 and b"First title 1" in page.data and b"Changed upstream" not in page.data
    assert b"Changed upstream" not in client.get("/").data
    assert b"Changed upstream" not in client.get("/feed.xml").data
    assert card_titles(client.get("/search?q=first").data) == ["First title 1"]
    workflow.approve(db, item["id"])
    new_path = article_path(client, item["id"])
    assert new_path != path and b"Changed upstream 1" in client.get(new_path).data
    assert client.get(path).headers["Location"] == new_path
    assert card_titles(client.get("/search?q=first").data) == []
    assert card_titles(client.get("/search?q=upstream").data) == ["Changed upstream 1"]


def test_a_persian_article_is_right_to_left(client, pars):
    item = pars["items"][0]
    response = client.get(article_path(client, item["id"]))
    assert response.status_code == 200
    tree = parse_html(response.data)
    assert tree.get("lang") == "fa" and tree.get("dir") == "rtl"
    [masthead] = elements(tree, "header", class_="masthead")
    assert masthead.get("dir") == "ltr"
    home = parse_html(client.get("/").data)
    titles = elements(home, "h2", class_="card-title")
    assert titles and all(title.get("dir") == "auto" for title in titles)


# ---------------------------------------------------------------- search


def test_search_finds_published_items_and_not_pending_ones(client, harbor):
    found = client.get("/search?q=ferry")
    assert found.status_code == 200
    assert card_titles(found.data) == ["Ferry service resumes after winter storms"]
    assert card_titles(client.get("/search?q=lighthouse").data) == []
    assert card_titles(client.get("/search?q=quay").data) == ["Fishing cooperative opens a shared cold store"]
    assert card_titles(client.get("/search?q=fer*").data) == ["Ferry service resumes after winter storms"]


def test_search_finds_persian_words(client, pars):
    response = client.get("/search", query_string={"q": "کتابخانه"})
    assert card_titles(response.data) == ["افتتاح کتابخانه عمومی تازه در شیراز"]


@pytest.mark.parametrize("query", ['"', "AND", "*", "(", "NEAR(", '"ferry', "ferry AND", "-", "^"])
def test_a_query_with_syntax_characters_gets_a_friendly_page(client, harbor, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert b'class="masthead"' in response.data


def test_search_results_page_back_newest_first(app, db, client, httpserver):
    source_id = add_feed(app, db, httpserver, "/many", rss_feed(23))
    for item in storage.list_items(db, source_id=source_id):
        workflow.approve(db, item["id"])
    first = client.get("/search?q=tides")
    assert len(card_titles(first.data)) == 20
    [older] = elements(parse_html(first.data), "a", rel="next")
    second = client.get(older.get("href"))
    assert len(card_titles(second.data)) == 3
    assert not set(card_titles(first.data)) & set(card_titles(second.data))


# ---------------------------------------------------------------- sources, licenses, machines


def test_sources_and_the_license_page_show_licenses_and_credit(db, client, harbor, pars):
    listing = text_of(parse_html(client.get("/sources/").data).find(".//main"))
    assert "Harbor Wire" in listing and "Pars Ruz News Agency" in listing
    assert "Creative Commons Attribution 4.0 International" in listing
    source = client.get(f"/sources/{storage.get_source(db, pars['source_id'])['slug']}")
    assert source.status_code == 200
    assert "Site footer" in text_of(parse_html(source.data).find(".//main"))
    assert len(card_titles(source.data)) == 2
    harbor_page = client.get(f"/sources/{harbor['slug']}")
    assert card_titles(harbor_page.data) == ["Ferry service resumes after winter storms",
                                             "Fishing cooperative opens a shared cold store"]
    licenses = text_of(parse_html(client.get("/licenses").data).find(".//main"))
    assert "CC-BY-4.0" in licenses and "CC-BY-SA-4.0" in licenses and "CC-BY-NC-4.0" not in licenses
    assert "Pars Ruz News Agency" in licenses
    assert client.get("/sources/no-such-source").status_code == 404


def test_sitemap_lists_published_articles(client, harbor):
    index = client.get("/sitemap.xml")
    assert index.status_code == 200 and index.mimetype == "application/xml"
    files = [loc.split("http://mirror.test", 1)[1] for loc in re.findall(r"<loc>([^<]+)</loc>", index.data.decode())]
    urls = []
    for path in files:
        urls += re.findall(r"<loc>([^<]+)</loc>", client.get(path).data.decode())
    assert "http://mirror.test" + article_path(client, harbor["ferry"]["id"]) in urls
    assert "http://mirror.test" + article_path(client, harbor["cold"]["id"]) in urls
    assert not any(f"/articles/{harbor['pending']['id']}/" in url for url in urls)
    assert "http://mirror.test/" in urls


def test_robots_txt_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert "Sitemap: http://mirror.test/sitemap.xml" in response.get_data(as_text=True)


def test_healthz_reports_the_database_and_counts(client, harbor):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["items"] == {"published": 2, "pending": 1} and body["sources"] == 1
    assert "no-store" in response.headers["Cache-Control"]


# ---------------------------------------------------------------- HTTP behaviour


def test_conditional_requests_answer_304_with_an_empty_body(db, client, harbor):
    for path in ("/", article_path(client, harbor["ferry"]["id"]), "/feed.xml", "/sources/"):
        first = client.get(path)
        assert first.status_code == 200
        assert first.headers["ETag"] and first.headers["Last-Modified"]
        assert "public" in first.headers["Cache-Control"] and "max-age=300" in first.headers["Cache-Control"]
        by_etag = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert by_etag.status_code == 304 and by_etag.data == b""
        by_date = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert by_date.status_code == 304 and by_date.data == b""
    etag = client.get("/").headers["ETag"]
    workflow.approve(db, harbor["pending"]["id"])
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 200 and b"Lighthouse keepers" in again.data


def test_an_old_if_modified_since_gets_the_page(client, harbor):
    from datetime import datetime, timezone

    old = format_datetime(datetime(2000, 1, 1, tzinfo=timezone.utc), usegmt=True)
    assert client.get("/", headers={"If-Modified-Since": old}).status_code == 200


def test_security_headers_are_on_pages_feeds_files_and_errors(app, db, client, harbor):
    workflow.withdraw(db, harbor["cold"]["id"], reason="license problem")

    def boom():
        """A view that fails, to see the 500 page."""
        raise RuntimeError("boom")

    app.add_url_rule("/test-boom", view_func=boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    paths = {"/": 200, "/feed.xml": 200, "/atom.xml": 200, "/feed.json": 200, "/static/site.css": 200,
             "/healthz": 200, "/nope": 404, f"/articles/{harbor['cold']['id']}/x": 410, "/test-boom": 500,
             "/search?q=%22": 200}
    for path, status in paths.items():
        response = client.get(path)
        assert response.status_code == status, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'none'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]
        if status in (404, 410, 500):
            assert b'class="masthead"' in response.data and b"site.css" in response.data
    assert client.post("/").status_code == 405


def test_requests_for_other_host_names_are_refused(client, harbor):
    assert client.get("/", headers={"Host": "mirror.test"}).status_code == 200
    assert client.get("/", headers={"Host": "attacker.example"}).status_code == 400


def test_pages_use_no_script_and_only_the_own_stylesheet(client, harbor, pars):
    for path in ("/", "/sources/", "/licenses", "/search?q=ferry", article_path(client, harbor["ferry"]["id"])):
        tree = parse_html(client.get(path).data)
        assert all(script.get("type") == "application/ld+json" for script in tree.iter("script"))
        sheets = [link.get("href") for link in elements(tree, "link", rel="stylesheet")]
        assert sheets == ["/static/site.css"]


def test_serve_runs_the_app_under_waitress_on_a_migrated_indexed_database(app, db, harbor, monkeypatch):
    calls = []
    monkeypatch.setattr(waitress, "serve", lambda wsgi_app, **options: calls.append((wsgi_app, options)))
    result = app.test_cli_runner().invoke(serve_command, ["--port", "8123", "--threads", "3"])
    assert result.exit_code == 0, result.output
    [(served, options)] = calls
    assert served is app and options["port"] == 8123 and options["threads"] == 3
    assert options["host"] == "127.0.0.1"
    assert not storage.public_index_backlog(db)


# ---------------------------------------------------------------- fixes found in the browser


def test_items_approved_together_are_listed_by_the_publishers_date(app, db, httpserver, client):
    source_id = add_feed(app, db, httpserver, "/harbor", sample_feed("harbor-wire.xml"))
    for item in storage.list_items(db, source_id=source_id):
        workflow.approve(db, item["id"])
    home = parse_html(client.get("/").data)
    titles = [text_of(card) for card in elements(home, "h2", class_="card-title")]
    assert titles == ["Ferry service resumes after winter storms", "Fishing cooperative opens a shared cold store",
                      "Lighthouse keepers' cottages to become a museum"]


def test_a_date_in_the_future_does_not_pin_an_item_to_the_top(app, db, httpserver, client):
    future = sample_feed("harbor-wire.xml").replace(b"Sat, 21 Nov 2026 11:00:00 GMT", b"Sat, 21 Nov 2099 11:00:00 GMT")
    source_id = add_feed(app, db, httpserver, "/harbor", future)
    for item in storage.list_items(db, source_id=source_id):
        workflow.approve(db, item["id"])
    lighthouse = next(item for item in storage.list_items(db) if item["title"].startswith("Lighthouse"))
    assert lighthouse["published_order"] <= storage.utcnow()


def test_the_site_icon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.cache_control.max_age == 86400


# ---------------------------------------------------------------- compression


def test_gzip_requests_get_the_same_bytes_compressed_with_vary_on_both(client, harbor):
    import gzip

    for path in ("/", "/feed.xml", "/atom.xml", article_path(client, harbor["ferry"]["id"])):
        plain = client.get(path)
        packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert plain.status_code == packed.status_code == 200
        assert "Content-Encoding" not in plain.headers
        assert packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.data) == plain.data
        assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
        assert packed.headers["Content-Type"] == plain.headers["Content-Type"]
        for response in (plain, packed):
            assert "Accept-Encoding" in response.headers["Vary"]
        assert packed.headers["ETag"] != plain.headers["ETag"]
        assert packed.headers["ETag"].endswith('-gz"')


@pytest.mark.parametrize("header", ["gzip;q=0", "gzip; q=0.0, deflate", "identity", "*;q=0", "br, *;q=0",
                                    "*, gzip;q=0"])
def test_clients_that_refuse_gzip_get_identity(client, harbor, header):
    response = client.get("/feed.xml", headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"<?xml")
    assert "Accept-Encoding" in response.headers["Vary"]


@pytest.mark.parametrize("header", ["gzip;q=0.5, identity", "*", "GZIP", "x-gzip", "deflate;q=0, gzip;q=1"])
def test_gzip_is_recognised_however_it_is_asked_for(client, harbor, header):
    response = client.get("/feed.xml", headers={"Accept-Encoding": header})
    assert response.headers["Content-Encoding"] == "gzip"


def test_small_bodies_are_sent_as_they_are(client):
    response = client.get("/robots.txt", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert response.data.startswith(b"User-agent")


def test_a_conditional_request_with_either_etag_gets_304(client, harbor):
    gzip_headers = {"Accept-Encoding": "gzip"}
    for path in ("/", "/feed.xml"):
        plain_etag = client.get(path).headers["ETag"]
        gzip_etag = client.get(path, headers=gzip_headers).headers["ETag"]
        for etag in (plain_etag, gzip_etag):
            for headers in ({}, gzip_headers):
                response = client.get(path, headers={"If-None-Match": etag, **headers})
                assert response.status_code == 304 and response.data == b""
                assert "Content-Encoding" not in response.headers
                assert "Accept-Encoding" in response.headers["Vary"]
        assert client.get(path, headers={"If-None-Match": gzip_etag, **gzip_headers}).headers["ETag"] == gzip_etag
        assert client.get(path, headers={"If-None-Match": '"stale-gz"', **gzip_headers}).status_code == 200


# ---------------------------------------------------------------- search work limit


def test_a_bounded_search_finds_what_the_full_search_finds(db, client, harbor):
    client.get("/")  # a site request indexes newly published items
    full = storage.public_search(db, '"ferry"', limit=21)
    rows, finished = storage.public_search_bounded(db, '"ferry"', limit=21)
    assert finished and rows == full and rows


def test_a_search_that_runs_out_of_work_says_so_and_offers_to_go_on(db, client, harbor, monkeypatch):
    client.get("/")
    monkeypatch.setattr(storage, "SEARCH_STEP_CHECK", 1)  # the test database is too small for 100
    rows, finished = storage.public_search_bounded(db, '"ferry"', limit=21, steps=1)
    assert not finished and rows == []
    monkeypatch.setattr(storage, "SEARCH_STEP_BUDGET", 1)
    response = client.get("/search?q=ferry")
    assert response.status_code == 200
    assert b"search stopped" in response.data and b"more specific word" in response.data
    assert not card_titles(response.data)
    monkeypatch.setattr(storage, "SEARCH_STEP_BUDGET", 10**6)
    # the connection is usable again after a stop, and the limit is back to normal
    assert card_titles(client.get("/search?q=ferry&x=1").data)
    assert storage.public_search(db, '"ferry"', limit=21)
