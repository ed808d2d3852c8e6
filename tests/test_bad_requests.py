"""Bad requests get a 4xx and the site's own plain error page, never a 500 or a traceback.

The app runs over Flask's test client on a real SQLite file holding published items; what only a real
server sees (raw bytes in the request line, a long URL, a large body) goes through `republisher serve`.
"""

import base64
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from republisher import accounts, storage, workflow

from helpers import REPO, cc_by_rss, free_port, log_in, refresh, sample_feed

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")
HUGE = "9" * 30
BEYOND_SQLITE = str(2**63)


def cursor(*values) -> str:
    """A cursor written the way the site writes its own: base64 of the values, one per line."""
    return base64.urlsafe_b64encode("\n".join(map(str, values)).encode()).decode().rstrip("=")


def assert_plain_error(response, status: int) -> None:
    """The site's own error page with this status: its layout, no traceback, the security headers."""
    assert response.status_code == status, (response.status_code, response.data[:300])
    body = response.data
    assert response.mimetype == "text/html"
    assert b'class="masthead"' in body and f"Error {status}".encode() in body
    assert b"Traceback" not in body and b"File &#34;" not in body
    for name in SECURITY_HEADERS:
        assert response.headers.get(name), name
    assert "ETag" not in response.headers


def publish_feed(app, db, httpserver, path: str, body: bytes) -> int:
    """Serve a feed on 127.0.0.1, fetch it and publish every item; returns the source id."""
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for(path))
    assert refresh(app, db, source["id"]).outcome == "ok"
    for item in storage.list_items(db, source_id=source["id"]):
        workflow.approve(db, item["id"])
    return source["id"]


@pytest.fixture
def client(app):
    """Flask's test client for the app."""
    return app.test_client()


@pytest.fixture
def harbor(app, db, httpserver):
    """Harbor Wire with its items published: the source's slug and an item id."""
    source_id = publish_feed(app, db, httpserver, "/harbor", sample_feed("harbor-wire.xml"))
    items = storage.list_items(db, source_id=source_id, status="published")
    return {"slug": storage.get_source(db, source_id)["slug"], "item_id": items[0]["id"], "source_id": source_id}


# ---------------------------------------------------------------- cursors and ids

BAD_CURSORS = {
    "not base64": "garbage!!",
    "base64 of bytes that are not text": base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    "a word": "garbage",
    "no id": cursor("2026-11-25T10:00:00+00:00"),
    "an id that is not a number": cursor("2026-11-25T10:00:00+00:00", "x"),
    "a negative id": cursor("2026-11-25T10:00:00+00:00", -1),
    "an id beyond SQLite's integers": cursor("2026-11-25T10:00:00+00:00", BEYOND_SQLITE),
    "a huge id": cursor("2026-11-25T10:00:00+00:00", HUGE),
    "huge bare digits": HUGE,
}
PAGED_ROUTES = ("/", "/search?q=ferry", "/search?q=", "/sources/", "/sources/{slug}")


@pytest.mark.parametrize("route", PAGED_ROUTES)
def test_a_bad_cursor_is_refused_alike_on_every_paged_route(client, harbor, route):
    path = route.format(slug=harbor["slug"])
    for bad in BAD_CURSORS.values():
        response = client.get(f"{path}{'&' if '?' in path else '?'}before={bad}")
        assert_plain_error(response, 400)
        assert b"This page link is not valid" in response.data, bad


@pytest.mark.parametrize("kinds", [("order", "id"), ("id",), ("name", "id")])
def test_a_search_cursor_holding_a_huge_rowid_is_a_400(client, harbor, kinds):
    values = {"order": "2026", "name": "Harbor", "id": HUGE}
    response = client.get("/search", query_string={"q": "ferry", "before": cursor(*(values[k] for k in kinds))})
    assert_plain_error(response, 400)


def test_huge_or_unknown_ids_and_sitemaps_past_the_end_are_404(client, harbor):
    for path in (f"/articles/{HUGE}", f"/articles/{HUGE}/some-slug", f"/articles/{BEYOND_SQLITE}",
                 f"/sitemaps/articles-{HUGE}.xml", f"/sitemaps/articles-{BEYOND_SQLITE}.xml",
                 "/sitemaps/articles-99999.xml", "/sitemaps/articles-1.xml", "/sitemaps/articles--1.xml"):
        assert_plain_error(client.get(path), 404)


def test_the_sitemaps_the_index_names_are_there(client, harbor):
    index = client.get("/sitemap.xml").data.decode()
    named = re.findall(r"<loc>http://mirror\.test(/sitemaps/[^<]+)</loc>", index)
    assert named == ["/sitemaps/pages.xml", "/sitemaps/articles-0.xml"]
    for path in named:
        assert client.get(path).status_code == 200
    assert b"/articles/" in client.get("/sitemaps/articles-0.xml").data


def test_the_cursor_the_site_writes_is_the_one_it_reads(app, db, client, httpserver):
    items = "".join(f"<item><title>Tide {n}</title><link>https://tides.example/{n}</link><guid>tide-{n}</guid>"
                    f"<description>Tides today {n}.</description></item>" for n in range(1, 46))
    feed = cc_by_rss("Tides", "https://tides.example/", items)
    source_id = publish_feed(app, db, httpserver, "/tides", feed)
    slug = storage.get_source(db, source_id)["slug"]
    for start in ("/", "/search?q=tides", f"/sources/{slug}"):
        seen, path = [], start
        while path:
            response = client.get(path)
            assert response.status_code == 200
            seen += re.findall(r">Tide (\d+)<", response.data.decode())
            found = re.search(r'rel="next" href="([^"]+)"', response.data.decode())
            path = found.group(1).replace("&amp;", "&") if found else None
        assert sorted(map(int, seen)) == list(range(1, 46)), start


# ---------------------------------------------------------------- search syntax

FTS_SYNTAX = ['"', '""', "*", "ferry*", "NEAR(", "NEAR(ferry storms", "title:x", "title:ferry", "AND OR",
              "ferry AND", "OR", "NOT ferry", "-", "-ferry", "^ferry", "(", ")", "((ferry)", "ferry))",
              "{title}: ferry", "'", "ferry + storms", "\\", "%", "\x00", "ferry\x00storms", "\u202eferry",
              "ferry " * 1700, "(" * 10_000, '"' * 5000, "日本" * 5000, "ア" * 10_240]


def test_fts5_syntax_in_a_search_gets_a_results_page(client, harbor):
    for query in FTS_SYNTAX:
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200, query[:40]
        assert b'class="masthead"' in response.data and b"Traceback" not in response.data


def test_the_words_of_a_query_full_of_syntax_are_still_searched(client, harbor):
    for query in ("ferry*", '"ferry', "(ferry))", "^ferry", "-ferry", "ferry:", '"ferry" *'):
        body = client.get("/search", query_string={"q": query}).data
        assert b"Ferry service resumes after winter storms" in body, query


# ---------------------------------------------------------------- the request itself


def test_a_malformed_or_non_utf8_query_string_is_a_400(client, harbor):
    for query in ("q=%zz", "q=%", "q=ferry%2", "%=x", "q=%e9t%e9", "q=%ff", "q=%c3", "before=%80", "%ff=1"):
        response = client.get("/search?" + query)
        assert_plain_error(response, 400)
        assert b"This address is not valid" in response.data, query


def test_non_utf8_in_the_path_is_a_400(client, harbor):
    for path in ("/sources/%ff", "/articles/1/%c3%28", "/%80"):
        assert_plain_error(client.get(path), 400)


def test_utf8_in_the_path_and_the_query_is_read(client, harbor):
    assert client.get("/search?q=%C3%A9t%C3%A9").status_code == 200
    assert_plain_error(client.get("/sources/%D9%BE%D8%A7%D8%B1%D8%B3"), 404)


def test_an_overlong_url_is_a_414(client, harbor):
    assert_plain_error(client.get("/search?q=" + "a" * 200_000), 414)
    assert_plain_error(client.get("/sources/" + "s" * 200_000), 414)


def test_a_huge_form_body_is_a_413(client, harbor):
    assert_plain_error(client.post("/search", data={"q": "x" * 2_000_000}), 413)
    # a small one to a page that takes none is still told so
    assert client.post("/search", data={"q": "x"}).status_code == 405


def test_a_repeated_parameter_is_a_400(client, harbor):
    for path in ("/search?q=ferry&q=cold", "/search?q=cold&q=ferry", "/search?q=ferry&q=ferry",
                 "/?before=&before=", "/sources/?x=1&x=2", "/feed.xml?q=1&q=1"):
        response = client.get(path)
        assert_plain_error(response, 400)
        assert b"more than once" in response.data, path


def test_an_address_with_thousands_of_parameters_is_refused_before_they_are_read(client, harbor):
    many = "&".join(f"k{number}=v" for number in range(14_000))
    for path in ("/?" + many, "/search?q=ferry&" + many, "/desk/?" + many):
        response = client.get(path)
        assert_plain_error(response, 400)
        assert b"too many parameters" in response.data
    assert client.get("/search?q=ferry&" + "&".join(f"k{n}=v" for n in range(50))).status_code == 200


def test_two_orders_of_a_repeated_parameter_never_share_a_page(client, harbor):
    ferry, cold = client.get("/search?q=ferry"), client.get("/search?q=cold")
    assert ferry.data != cold.data and ferry.status_code == cold.status_code == 200
    for query in ("q=ferry&q=cold", "q=cold&q=ferry"):
        response = client.get("/search?" + query, headers={"If-None-Match": ferry.headers["ETag"]})
        assert response.status_code == 400
        assert b"Ferry service" not in response.data and b"cold store" not in response.data
    # distinct parameters in either order are one page
    assert client.get("/search?q=ferry&x=1").data == client.get("/search?x=1&q=ferry").data


# ---------------------------------------------------------------- the sources pages


def test_the_sources_pages_stay_small_with_thousands_of_sources(app, db, client):
    with storage.transaction(db):
        for n in range(3000):
            # names that differ in case and repeat, so the order needs its id as well
            name = f"{'Source' if n % 2 else 'source'} {n % 1500:04d}"
            storage.add_source(db, f"https://source{n}.example/feed", name=name)
    expected = sorted(storage.public_sources(db), key=lambda row: (row["name"].lower(), row["id"]))
    seen, path, pages = [], "/sources/", 0
    while path:
        response = client.get(path)
        assert response.status_code == 200
        assert len(response.data) < 80_000, len(response.data)
        body = response.data.decode()
        seen += re.findall(r'<h2 dir="auto"><a href="/sources/([^"]+)"', body)
        found = re.search(r'rel="next" href="([^"]+)"', body)
        path = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert seen == [row["slug"] for row in expected]
    assert pages == 30


# ---------------------------------------------------------------- every route


HOSTILE_VALUES = [HUGE, BEYOND_SQLITE, "-1", "0", "1.5", "1e9", "٣", "%00", "..", "%2e%2e", "%2F", "x" * 300,
                  "%E2%80%AE", "%F0%9F%98%80", "%ff", "<script>", "%22", "'", "NEAR(", "a%20b", "%0d%0aX:1"]
HOSTILE_QUERIES = ["before=garbage", f"before={HUGE}", "before=%00", "q=%00", "q=" + "(" * 300, "q=..",
                   f"before={cursor('x', HUGE)}", "q=x&before=..", "page=" + HUGE, "%00=%00"]


def hostile_paths(rule, harbor) -> list[str]:
    """The rule's path with each hostile value in each of its parts, and with real values and hostile queries."""
    real = {"slug": harbor["slug"], "item_id": str(harbor["item_id"]), "source_id": str(harbor["source_id"]),
            "chunk": "0", "filename": "site.css"}
    parts = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule)

    def build(values: dict) -> str:
        """The rule with its parts filled in."""
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda found: values[found.group(1)], rule.rule)

    paths = [build({part: value if part == target else real[part] for part in parts})
             for target in parts for value in HOSTILE_VALUES]
    base = build(real)
    return paths + [f"{base}?{query}" for query in HOSTILE_QUERIES]


def test_every_get_route_survives_hostile_values(app, client, harbor):
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    assert len(rules) >= 20  # the walk must see the whole site, not an empty map
    checked = 0
    for rule in rules:
        for path in hostile_paths(rule, harbor):
            response = client.get(path)
            assert response.status_code < 500, (path, response.status_code)
            if response.status_code >= 400:
                assert b"Traceback" not in response.data, path
                assert response.headers.get("Content-Security-Policy"), path
            checked += 1
    assert checked > 300


def test_every_desk_page_survives_hostile_values_for_a_logged_in_admin(app, db, client, harbor):
    accounts.add_user(db, "chief", "admin", "a long enough passphrase")
    assert log_in(client, "chief", "a long enough passphrase").status_code == 302
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.rule.startswith("/desk/")
             and rule.endpoint != "desk.logout"]
    assert len(rules) >= 5
    for rule in rules:
        for path in hostile_paths(rule, harbor):
            response = client.get(path)
            assert response.status_code < 500, (path, response.status_code)
            assert b"Traceback" not in response.data, path
    assert client.get("/desk/").status_code == 200  # still logged in: the walk was not sent to the login page


# ---------------------------------------------------------------- through the production server


def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
    """Send bytes exactly as given; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + body)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    headers, _, answer = received.partition(b"\r\n\r\n")
    return int(headers.split(b" ", 2)[1]), headers, answer


@pytest.fixture
def served(app, harbor, tmp_path):
    """`republisher serve` on a free port over the app's database; yields the port."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), REPUBLISHER_DATABASE=app.config["DATABASE"],
               REPUBLISHER_SITE_URL=f"http://127.0.0.1:{port}", REPUBLISHER_SECRET_KEY="test")
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port),
                                "--no-worker"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def get(port: int, target: bytes) -> tuple[int, bytes, bytes]:
    """A GET of a raw request target."""
    return raw_request(port, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port)


def assert_served_error(answer: tuple[int, bytes, bytes], status: int) -> None:
    """The production server answered with the site's own error page and its security headers."""
    code, headers, body = answer
    assert code == status, (code, body[:300])
    assert b'class="masthead"' in body and b"Traceback" not in body
    assert b"Content-Security-Policy:" in headers and b"X-Content-Type-Options: nosniff" in headers


def test_the_production_server_answers_bad_requests_with_the_sites_page(served):
    assert get(served, b"/")[0] == 200
    assert_served_error(get(served, b"/sources/%ff"), 400)
    assert_served_error(get(served, b"/articles/1/%c3%28"), 400)
    assert_served_error(get(served, b"/search?q=%ff%fe"), 400)
    assert_served_error(get(served, b"/search?q=%zz"), 400)
    # raw bytes that are not ASCII, as no browser sends them: waitress refuses them before the app
    for target in (b"/sources/\xff\xfe", b"/search?q=\xe9t\xe9"):
        code, _, body = get(served, target)
        assert code == 400 and b"Traceback" not in body
    assert_served_error(get(served, b"/search?q=" + b"a" * 200_000), 414)
    assert_served_error(get(served, b"/articles/" + HUGE.encode()), 404)
    body = b"q=" + b"x" * 3_000_000
    head = (b"POST /search HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (served, len(body)))
    assert_served_error(raw_request(served, head, body), 413)
