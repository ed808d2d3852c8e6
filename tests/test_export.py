"""`republisher export DIR`: the site as static files, served by a plain static file server on 127.0.0.1."""

import gzip
import http.client
import json
import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import html5lib
import pytest

from republisher import create_app, decisions, export, storage, workflow

from helpers import (QuietHandler, cc_by_rss, numbered_items, pipeline_config, refresh, sample_feed,
                     serving_directory)

FEEDS = ("feed.xml", "atom.xml", "feed.json")


# ---------------------------------------------------------------- fixtures and helpers


def numbered_feed(count: int) -> bytes:
    """An RSS feed under CC BY 4.0 with numbered items, enough for several pages of cards."""
    items = numbered_items(count, "Tide report", "https://tides.example/", "tide",
                           lambda n: f"Tue, 24 Nov 2026 {n % 24:02d}:{n % 60:02d}:00 +0000")
    return cc_by_rss("Tide Tables", "https://tides.example/", items)


def add_source(app, db, httpserver, path: str, body: bytes) -> int:
    """Serve a feed on 127.0.0.1, add and fetch it, approve what may be published; returns the source id."""
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for(path))
    assert refresh(app, db, source["id"]).outcome == "ok"
    for item in storage.list_items(db, source_id=source["id"], status="pending"):
        workflow.approve(db, item["id"])
    return source["id"]


@pytest.fixture
def mirror(app, db, httpserver):
    """Two sources: Harbor Wire (its items published but one) and 60 tide reports (two pages of cards or more)."""
    harbor = add_source(app, db, httpserver, "/harbor", sample_feed("harbor-wire.xml"))
    held = storage.list_items(db, source_id=harbor, status="published")[-1]
    workflow.withdraw(db, held["id"], reason="held back for the test")
    tides = add_source(app, db, httpserver, "/tides", numbered_feed(60))
    return {"harbor": storage.get_source(db, harbor), "tides": storage.get_source(db, tides)}


def get(port: int, path: str) -> tuple[int, bytes, dict]:
    """One GET to the static server, redirects not followed: status, body, headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def parse_html(body: bytes):
    """An element tree of a page, as a browser builds it."""
    return html5lib.parse(body, namespaceHTMLElements=False)


def text_of(element) -> str:
    """The words inside an element."""
    return " ".join("".join(element.itertext()).split())


def main_text(body: bytes) -> str:
    """What a reader reads on a page: the text of its main element."""
    return text_of(parse_html(body).find(".//main"))


def card_titles(body: bytes) -> list[str]:
    """Titles of the cards on a page."""
    return [text_of(h2) for h2 in parse_html(body).iter("h2") if "card-title" in (h2.get("class") or "")]


def next_link(body: bytes) -> str | None:
    """The pager's link to earlier items."""
    for anchor in parse_html(body).iter("a"):
        if "next" in (anchor.get("rel") or "").split():
            return anchor.get("href")
    return None


def internal_links(body: bytes) -> set[str]:
    """Every address on the site itself that a page links to, loads or sends a form to."""
    found = set()
    for element in parse_html(body).iter():
        for name in ("href", "src", "action"):
            value = element.get(name)
            if value and value.startswith("/") and not value.startswith("//"):
                found.add(value.partition("#")[0])
    return found


def published_articles(db) -> list[dict]:
    """Published items with their live address."""
    return [dict(item, address=export.article_address(item["id"], storage.public_article(db, item["id"])["title"]))
            for item in storage.list_items(db, status="published")]


def build_files(root: Path) -> dict[str, int]:
    """Every file of the current build with its inode (a rewritten file has a new one), but its own purge
    list and the gzip copies."""
    current = (root / "current").resolve()
    return {str(path.relative_to(current)): path.stat().st_ino for path in current.rglob("*")
            if path.is_file() and path.name != export.CHANGED_LIST and path.suffix != ".gz"}


def walk_pages(fetch, first: str) -> list[list[str]]:
    """Card titles of a listing's pages, following its 'Earlier' links from the first page."""
    pages, address, seen = [], first, set()
    while address:
        assert address not in seen, f"the pager goes round in circles at {address}"
        seen.add(address)
        body = fetch(address)
        pages.append(card_titles(body))
        address = next_link(body)
    return pages


def listing_pages(port: int, first: str) -> list[str]:
    """Addresses of a listing's pages in the export, from the first page along its 'Earlier' links."""
    addresses = [first]
    while (following := next_link(get(port, addresses[-1])[1])) is not None:
        assert following not in addresses, f"the pager goes round in circles at {following}"
        addresses.append(following)
    return addresses


def file_of(address: str) -> str:
    """The file of the build a static server answers an address with."""
    path = unquote(urlsplit(address).path).lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


# ---------------------------------------------------------------- the export is the live site


def test_export_shows_the_live_site_page_by_page(app, db, mirror, static_server):
    root, port = static_server
    export.export_site(app, root)
    client = app.test_client()
    live = lambda address: client.get(address, base_url=app.config["SITE_URL"]).get_data()  # noqa: E731

    def static(address):
        """A page of the export, which must be there as a file."""
        status, body, _ = get(port, address)
        assert status == 200, address
        return body

    articles = published_articles(db)
    assert len(articles) == 62
    for article in articles:
        exported = static(article["address"] + "/")
        assert main_text(exported) == main_text(live(article["address"]))
        credit = parse_html(exported).find(".//*[@class='attribution']")
        assert credit is not None and "CC BY 4.0" in text_of(credit)
    for first in ("/", f"/sources/{mirror['tides']['slug']}", f"/sources/{mirror['harbor']['slug']}"):
        exported_pages = walk_pages(static, first if first == "/" else first + "/")
        live_pages = walk_pages(live, first)
        assert exported_pages == live_pages
        assert all(exported_pages)
    home_pages = walk_pages(static, "/")
    assert len(home_pages) >= 2 and sum(len(page) for page in home_pages) == 62
    for address in ("/sources/", "/licenses"):
        assert main_text(static(address.rstrip("/") + "/")) == main_text(live(address))
    for base in ("/", f"/sources/{mirror['tides']['slug']}/", f"/sources/{mirror['harbor']['slug']}/"):
        for name in FEEDS:
            exported = static(base + name)
            assert exported == live(base + name)
            parsed = feedparser.parse(exported) if name != "feed.json" else None
            if parsed is not None:
                assert parsed.bozo == 0, (base, name, parsed.get("bozo_exception"))
                assert parsed.entries
            else:
                assert json.loads(exported)["items"]
    assert static("/robots.txt") == live("/robots.txt")
    assert static("/sitemap.xml") == live("/sitemap.xml")
    assert static("/sitemaps/articles-0.xml") == live("/sitemaps/articles-0.xml")
    assert "search needs the live site" in main_text(static("/search/")).lower()


def test_every_internal_link_of_the_export_is_a_file(app, mirror, static_server):
    root, port = static_server
    export.export_site(app, root)
    pages = [path for path in (root / "current").rglob("*.html")]
    assert len(pages) > 30
    links = set()
    for page in pages:
        links |= internal_links(page.read_bytes())
    assert any("/page/" in link for link in links)  # the pager's cursor became a path
    for link in sorted(links):
        assert "?" not in link, link  # a static server answers every query with the same file
        status, _, _ = get(port, link)
        assert status == 200, link


def test_hostile_titles_stay_inside_the_build_and_their_links_resolve(app, db, httpserver, static_server):
    root, port = static_server
    titles = ("../../../../escape", "东京 \"quoted\" &lt;b&gt;bold&lt;/b&gt; &amp; ?before=x #hash",
              "%2e%2e%2f..%2fup")
    items = "".join(f"<item><title>{title}</title><link>https://odd.example/{n}</link><guid>odd-{n}</guid>"
                    f"<description>Body {n}.</description></item>" for n, title in enumerate(titles))
    feed = numbered_feed(1).replace(b"<item>", items.encode() + b"<item>", 1)
    add_source(app, db, httpserver, "/odd", feed)
    export.export_site(app, root)
    inside = (root / "current").resolve()
    assert not any(path.name == "escape" for path in root.parent.rglob("escape") if inside not in path.parents)
    links = internal_links(get(port, "/")[1])
    articles = [link for link in links if link.startswith("/articles/")]
    assert len(articles) == 4
    for link in articles:
        status, body, _ = get(port, link)
        assert status == 200, link
        assert b"<b>bold" not in body


# ---------------------------------------------------------------- incremental


def test_a_withdrawal_rewrites_only_what_showed_the_item_and_lists_its_urls(app, db, mirror, static_server, tmp_path):
    root, port = static_server
    harbor = mirror["harbor"]
    item = storage.list_items(db, source_id=harbor["id"], status="published")[0]
    storage.update_item_fields(db, item["id"], {"published_order": "2030-01-01T00:00:00+00:00"})  # in every feed
    export.export_site(app, root)
    before = build_files(root)
    address = export.article_address(item["id"], item["title"])
    assert get(port, address + "/")[0] == 200
    showing = [page for page in listing_pages(port, "/") if item["title"] in card_titles(get(port, page)[1])]
    assert len(showing) == 1
    workflow.withdraw(db, item["id"], reason="the publisher asked us to take it down")
    purge = tmp_path / "purge.txt"
    report = export.export_site(app, root, changed_list=purge)
    after = build_files(root)

    status, body, _ = get(port, address + "/")
    assert status == 200 and "This article has been withdrawn" in main_text(body)
    assert "the publisher asked us to take it down" in main_text(body)
    gone = get(port, "/_gone.txt")[1].decode().split()
    assert address in gone
    assert f"{item['id']} 1;" in get(port, "/_gone.nginx.map")[1].decode().splitlines()
    assert item["title"] not in " ".join(title for page in walk_pages(lambda a: get(port, a)[1], "/") for title in page)

    rewritten = {file for file in after if before.get(file) != after[file]}
    harbor_dir = f"sources/{harbor['slug']}/"
    assert rewritten == {export.article_file(item["id"], item["title"]), file_of(showing[0]), harbor_dir + "index.html",
                         *FEEDS, *(harbor_dir + name for name in FEEDS), "sitemaps/articles-0.xml",
                         "_gone.txt", "_gone.nginx.map"}
    assert set(report.written) == rewritten and not report.removed
    site_url = app.config["SITE_URL"]
    changed = purge.read_text().split()
    assert changed == (root / "_changed.txt").read_text().split()
    for url in (address, showing[0], f"/sources/{harbor['slug']}", "/feed.xml", "/atom.xml", "/feed.json",
                f"/sources/{harbor['slug']}/feed.xml", "/sitemaps/articles-0.xml"):
        assert site_url + url in changed, url
    assert not any(f"/sources/{mirror['tides']['slug']}" in url for url in changed)


def test_a_rerun_without_a_change_writes_nothing(app, mirror, static_server):
    root, _ = static_server
    first = export.export_site(app, root)
    target = os.readlink(root / "current")
    stamps = {path: path.stat().st_mtime_ns for path in (root / "builds").rglob("*")}
    again = export.export_site(app, root)
    assert first.switched and not again.switched
    assert again.written == [] and again.rendered == 0
    assert os.readlink(root / "current") == target
    assert {path: path.stat().st_mtime_ns for path in (root / "builds").rglob("*")} == stamps
    assert (root / "_changed.txt").read_text() == ""


# ---------------------------------------------------------------- atomic


def test_readers_never_see_a_missing_or_partial_file_during_exports(app, db, mirror, static_server):
    root, port = static_server
    export.export_site(app, root)
    tides = mirror["tides"]["slug"]
    watched = ["/", "/feed.xml", f"/sources/{tides}/", f"/sources/{tides}/atom.xml", "/sources/",
               *(article["address"] + "/" for article in published_articles(db)[:5])]
    failures, reads, stop = [], [0], threading.Event()

    def read_pages():
        """Read the watched pages over and over; every answer must be a whole file."""
        while not stop.is_set():
            for address in watched:
                status, body, headers = get(port, address)
                reads[0] += 1
                whole = body.rstrip().endswith((b"</html>", b"</rss>", b"</feed>"))
                if status != 200 or len(body) != int(headers["Content-Length"]) or not whole:
                    failures.append((address, status, len(body)))

    readers = [threading.Thread(target=read_pages) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        published = storage.list_items(db, source_id=mirror["tides"]["id"], status="published")
        for round_number, item in enumerate(published[-5:]):
            newest = f"2030-01-0{round_number + 1}T00:00:00+00:00"
            storage.update_item_fields(db, item["id"], {"published_order": newest})
            assert export.export_site(app, root).switched
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert reads[0] > 50
    assert failures == []


def test_replaced_builds_are_kept_for_a_while_then_removed(app, db, mirror, static_server):
    root, _ = static_server
    items = storage.list_items(db, source_id=mirror["tides"]["id"], status="published")
    export.export_site(app, root)
    storage.update_item_fields(db, items[0]["id"], {"published_order": "2030-01-01T00:00:00+00:00"})
    export.export_site(app, root)
    assert export.build_numbers(root) == [1, 2]
    storage.update_item_fields(db, items[1]["id"], {"published_order": "2030-01-02T00:00:00+00:00"})
    export.export_site(app, root, keep_seconds=0)
    assert export.build_numbers(root) == [3]
    assert os.readlink(root / "current") == "builds/3"


def test_export_command_reports_and_writes_the_changed_list(runner, mirror, tmp_path):
    purge = tmp_path / "purge.txt"
    result = runner.invoke(args=["export", str(tmp_path / "out"), "--changed-list", str(purge)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("build 1: ")
    assert "http://mirror.test/\n" in purge.read_text()
    again = runner.invoke(args=["export", str(tmp_path / "out")])
    assert again.exit_code == 0 and again.output.startswith("nothing changed: build 1 stays current")


# ---------------------------------------------------------------- gzip copies


class GzipStaticHandler(QuietHandler):
    """A static server that does what nginx's gzip_static does: FILE.gz, when there is one, to gzip clients."""

    def send_head(self):
        """The .gz sibling of the file asked for, sent as gzip, when the client accepts gzip; else the file."""
        path = Path(self.translate_path(self.path))
        if path.is_dir() and urlsplit(self.path).path.endswith("/"):
            path = path / "index.html"
        packed = path.with_name(path.name + ".gz")
        if "gzip" not in self.headers.get("Accept-Encoding", "") or not path.is_file() or not packed.is_file():
            return super().send_head()
        body = open(packed, "rb")
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(packed.stat().st_size))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return body


@pytest.fixture
def gzip_static_server(tmp_path):
    """A gzip_static-like file server on a free port of 127.0.0.1, serving DIR/current."""
    root = tmp_path / "gzip-site"
    root.mkdir()
    with serving_directory(root / "current", GzipStaticHandler) as port:
        yield root, port


def get_gzip(port: int, path: str) -> tuple[int, bytes, dict]:
    """One GET that accepts gzip, as browsers and feed readers send it: status, decoded body, headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        headers = dict(response.getheaders())
    finally:
        connection.close()
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return response.status, body, headers


def text_files_over_1k(root: Path) -> set[str]:
    """Files of the current build a static host should have in gzip too: text of at least 1 KB."""
    current = (root / "current").resolve()
    return {name for name in build_files(root) if name.endswith((".html", ".xml", ".json", ".txt", ".css", ".svg"))
            and (current / name).stat().st_size >= 1024}


def gzip_copies(root: Path) -> dict[str, int]:
    """Every gzip copy of the current build, by the file it copies, with its inode."""
    current = (root / "current").resolve()
    return {str(path.relative_to(current))[: -len(".gz")]: path.stat().st_ino
            for path in current.rglob("*.gz")}


def test_exported_feeds_and_pages_have_gzip_copies_of_their_own_bytes(app, db, mirror, gzip_static_server):
    root, port = gzip_static_server
    export.export_site(app, root)
    assert set(gzip_copies(root)) == text_files_over_1k(root)
    current = (root / "current").resolve()
    article = export.article_file(published_articles(db)[0]["id"], published_articles(db)[0]["title"])
    for name in ("feed.xml", "atom.xml", "feed.json", "index.html", article, "sitemaps/articles-0.xml",
                 "404.html", "static/site.css"):
        original, copy = current / name, current / (name + ".gz")
        assert copy.is_file(), name
        assert gzip.decompress(copy.read_bytes()) == original.read_bytes(), name
        assert copy.stat().st_size < original.stat().st_size / 2, name
        assert copy.stat().st_mtime_ns == original.stat().st_mtime_ns, name
    assert (current / "robots.txt").stat().st_size < 1024 and not (current / "robots.txt.gz").exists()
    assert not (current / "favicon.ico.gz").exists()
    for address in ("/feed.xml", "/", published_articles(db)[0]["address"] + "/"):
        status, body, headers = get_gzip(port, address)
        assert status == 200 and headers["Content-Encoding"] == "gzip", address
        assert body == get(port, address)[1], address
    manifest = json.loads(export.manifest_path(root, 1).read_text())
    assert not any(name.endswith(".gz") for name in manifest["files"])
    assert ".gz" not in (root / "_changed.txt").read_text()


def test_an_unchanged_files_gzip_copy_is_linked_and_a_changed_ones_rewritten(app, db, mirror, gzip_static_server):
    root, _ = gzip_static_server
    export.export_site(app, root)
    files, copies = build_files(root), gzip_copies(root)
    item = storage.list_items(db, source_id=mirror["tides"]["id"], status="published")[0]
    workflow.withdraw(db, item["id"], reason="a correction is on its way")
    report = export.export_site(app, root)
    after_files, after_copies = build_files(root), gzip_copies(root)
    assert set(after_copies) == text_files_over_1k(root)
    kept = set(copies) & set(after_copies)
    unchanged = {name for name in kept if after_files[name] == files[name]}
    assert len(unchanged) > 20 and "licenses/index.html" in unchanged
    assert all(after_copies[name] == copies[name] for name in unchanged)
    rewritten = kept - unchanged
    assert {"feed.xml", export.article_file(item["id"], item["title"])} <= rewritten
    assert all(after_copies[name] != copies[name] for name in rewritten)
    assert not any(name.endswith(".gz") for name in report.written + report.changed_urls)


def test_a_withdrawn_articles_gzip_copy_does_not_keep_the_article(app, db, mirror, gzip_static_server):
    root, port = gzip_static_server
    export.export_site(app, root)
    item = storage.list_items(db, source_id=mirror["tides"]["id"], status="published")[0]
    address = export.article_address(item["id"], item["title"]) + "/"
    body_text = f"Body of {item['title'].lower()}."
    status, body, headers = get_gzip(port, address)
    assert headers["Content-Encoding"] == "gzip" and body_text in main_text(body)
    assert item["title"] in get_gzip(port, "/feed.xml")[1].decode()
    workflow.withdraw(db, item["id"], reason="the publisher asked us to take it down")
    export.export_site(app, root)
    status, body, headers = get_gzip(port, address)
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "This article has been withdrawn" in main_text(body)
    assert body_text not in main_text(body)
    for feed in FEEDS:
        status, body, headers = get_gzip(port, "/" + feed)
        assert headers["Content-Encoding"] == "gzip" and item["title"] not in body.decode(), feed


def test_a_build_without_gzip_copies_gets_them_with_the_next_export(app, db, mirror, gzip_static_server):
    root, port = gzip_static_server
    export.export_site(app, root)
    copies = gzip_copies(root)
    for name in copies:
        ((root / "current").resolve() / (name + ".gz")).unlink()  # as an export made before it wrote them
    item = storage.list_items(db, source_id=mirror["tides"]["id"], status="published")[0]
    workflow.withdraw(db, item["id"], reason="a correction is on its way")
    export.export_site(app, root)
    assert set(gzip_copies(root)) == text_files_over_1k(root)
    status, body, headers = get_gzip(port, "/licenses/")
    assert headers["Content-Encoding"] == "gzip" and body == get(port, "/licenses/")[1]


def test_a_new_site_name_reaches_every_page_articles_included(app, db, mirror, static_server):
    root, port = static_server
    export.export_site(app, root)
    renamed = create_app({key: app.config[key] for key in ("TESTING", "DATABASE", "SITE_URL", "SECRET_KEY")}
                         | {"SITE_NAME": "Lighthouse Mirror"})  # the operator's next start, with a new name
    report = export.export_site(renamed, root)
    article = published_articles(db)[0]["address"]
    status, body, _ = get(port, article + "/")
    assert status == 200 and b"Lighthouse Mirror" in body
    assert f"{app.config['SITE_URL']}{article}" in report.changed_urls


def test_renaming_a_source_rewrites_its_articles_and_no_other_sources(app, db, mirror, static_server):
    root, port = static_server
    export.export_site(app, root)
    tides = mirror["tides"]["id"]
    decisions.update_source(db, pipeline_config(app), tides, "gina", name="Tide Tables of the Bay")
    report = export.export_site(app, root)
    rewritten = {file for file in report.written if file.startswith("articles/")}
    tide_articles = {export.article_file(item["id"], item["title"])
                     for item in storage.list_items(db, source_id=tides, status="published")}
    assert rewritten == tide_articles
    tide_article = next(item["address"] for item in published_articles(db) if item["source_id"] == tides)
    status, body, _ = get(port, tide_article + "/")
    assert status == 200 and b"Tide Tables of the Bay" in body
