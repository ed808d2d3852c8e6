"""The mirror's RSS, Atom and JSON feeds: valid, complete, licensed, attributed, cached and conditional."""

import html
import json
import re
from xml.etree import ElementTree as ET

import feedparser
import html5lib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from republisher import feeds, storage, workflow

from helpers import refresh, sample_feed

SITE = "http://mirror.test"
BY = "https://creativecommons.org/licenses/by/4.0/"
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"
XML_FEEDS = ("/feed.xml", "/atom.xml")


def add_feed(app, db, httpserver, path: str, name: str, mime: str = "application/rss+xml") -> int:
    """Serve a sample feed on 127.0.0.1, fetch it and publish every allowed item; returns the source id."""
    httpserver.expect_request("/" + name).respond_with_data(sample_feed(name), content_type=mime)
    source_id = storage.add_source(db, httpserver.url_for("/" + name))["id"]
    assert refresh(app, db, source_id).outcome == "ok"
    for item in storage.list_items(db, source_id=source_id, status="pending"):
        workflow.approve(db, item["id"])
    return source_id


@pytest.fixture
def client(app):
    """Flask's test client for the app."""
    return app.test_client()


@pytest.fixture
def mirror(app, db, httpserver):
    """Harbor Wire (CC BY 4.0, RSS) and Valley Atlas (CC BY-SA 4.0, Atom), every item published."""
    harbor = add_feed(app, db, httpserver, "/harbor", "harbor-wire.xml")
    valley = add_feed(app, db, httpserver, "/valley", "valley-atlas.atom", "application/atom+xml")
    return {"harbor": storage.get_source(db, harbor), "valley": storage.get_source(db, valley),
            "published": storage.list_items(db, status="published")}


def attribution_licenses(html: str) -> list[str]:
    """The rel=license links inside the attribution footer of an HTML fragment."""
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    footers = [footer for footer in tree.iter("footer") if "attribution" in (footer.get("class") or "").split()]
    assert len(footers) == 1
    return [a.get("href") for a in footers[0].iter("a") if "license" in (a.get("rel") or "").split()]


def parse(client, path: str):
    """Fetch a feed from the app and parse it with feedparser."""
    response = client.get(path)
    assert response.status_code == 200, path
    return response, feedparser.parse(response.data)


def test_rss_and_atom_parse_cleanly_with_every_published_item(client, mirror):
    for path in XML_FEEDS:
        response, parsed = parse(client, path)
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        assert parsed.version in ("rss20", "atom10")
        assert len(parsed.entries) == len(mirror["published"]) == 5
        assert {entry.title for entry in parsed.entries} == {item["title"] for item in mirror["published"]}
    assert client.get("/feed.xml").mimetype == "application/rss+xml"
    assert client.get("/atom.xml").mimetype == "application/atom+xml"


def test_every_entry_has_its_license_and_the_attribution_block(client, mirror):
    _, rss = parse(client, "/feed.xml")
    _, atom = parse(client, "/atom.xml")
    licenses = {}
    for entry in rss.entries:
        assert entry.license in (BY, BY_SA)
        licenses[entry.title] = entry.license
        assert attribution_licenses(entry.description) == [entry.license]
    for entry in atom.entries:
        [license_link] = [link.href for link in entry.links if link.rel == "license"]
        assert license_link == licenses[entry.title]
        assert "Licensed under" in entry.rights and license_link in entry.rights
        content = entry.content[0]
        assert content.type == "text/html" and attribution_licenses(content.value) == [license_link]
    valley_titles = {item["title"] for item in mirror["published"] if item["source_id"] == mirror["valley"]["id"]}
    assert {title for title, deed in licenses.items() if deed == BY_SA} == valley_titles


def test_feed_urls_are_absolute_and_name_the_original(client, mirror):
    originals = {item["title"]: item["url"] for item in mirror["published"]}
    _, rss = parse(client, "/feed.xml")
    for entry in rss.entries:
        assert entry.link.startswith(SITE + "/articles/") and entry.id.startswith(SITE + "/articles/")
        assert entry.source.href in (mirror["harbor"]["url"], mirror["valley"]["url"])
        assert originals[entry.title] in entry.description
    assert rss.feed.link == SITE + "/"
    _, atom = parse(client, "/atom.xml")
    for entry in atom.entries:
        assert entry.link.startswith(SITE + "/articles/")
        via = [link.href for link in entry.links if link.rel == "via"]
        assert via == [originals[entry.title]]
        assert entry.source.title in ("Harbor Wire", "Valley Atlas")


def test_authors_and_categories_travel_in_every_format(client, mirror):
    _, rss = parse(client, "/feed.xml")
    _, atom = parse(client, "/atom.xml")
    for parsed in (rss, atom):
        ferry = next(entry for entry in parsed.entries if entry.title.startswith("Ferry service"))
        assert ferry.author == "Lena Ortiz"
        assert [tag.term for tag in ferry.tags] == ["Transport"]
    document = json.loads(client.get("/feed.json").data)
    ferry = next(item for item in document["items"] if item["title"].startswith("Ferry service"))
    assert ferry["authors"] == [{"name": "Lena Ortiz"}] and ferry["tags"] == ["Transport"]


def test_the_json_feed_carries_the_republisher_extension(client, mirror):
    response = client.get("/feed.json")
    assert response.status_code == 200 and response.mimetype == "application/feed+json"
    document = json.loads(response.data)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == SITE + "/feed.json" and document["home_page_url"] == SITE + "/"
    assert len(document["items"]) == 5
    originals = {item["title"]: item["url"] for item in mirror["published"]}
    for item in document["items"]:
        extension = item["_republisher"]
        assert extension["license"] in ("CC-BY-4.0", "CC-BY-SA-4.0")
        assert extension["license_url"] in (BY, BY_SA)
        assert extension["original_url"] == item["external_url"] == originals[item["title"]]
        assert extension["attribution_text"] and "<" not in extension["attribution_text"]
        assert attribution_licenses(item["content_html"]) == [extension["license_url"]]
        assert item["url"].startswith(SITE + "/articles/")


def test_per_source_feeds_hold_only_that_source(client, mirror):
    slug = mirror["valley"]["slug"]
    for path in (f"/sources/{slug}/feed.xml", f"/sources/{slug}/atom.xml"):
        _, parsed = parse(client, path)
        assert parsed.bozo == 0
        assert {entry.title for entry in parsed.entries} == {
            "A new footpath links the three river villages", "Orchard survey finds forty heritage apple varieties"}
    document = json.loads(client.get(f"/sources/{slug}/feed.json").data)
    assert len(document["items"]) == 2
    assert client.get("/sources/unknown/feed.xml").status_code == 404


def test_a_persian_feed_keeps_its_language_and_text(app, db, client, httpserver):
    httpserver.expect_request("/pars").respond_with_data(sample_feed("pars-daily.xml"), content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/pars"), name="Pars Ruz", license="CC-BY-4.0",
                                evidence="Site footer states CC BY 4.0")
    refresh(app, db, source["id"])
    for item in storage.list_items(db, source_id=source["id"]):
        workflow.approve(db, item["id"])
    slug = storage.get_source(db, source["id"])["slug"]
    _, atom = parse(client, f"/sources/{slug}/atom.xml")
    assert atom.bozo == 0 and atom.feed.language == "fa"
    assert "افتتاح کتابخانه عمومی تازه در شیراز" in {entry.title for entry in atom.entries}


def test_feeds_answer_conditional_requests_and_change_with_the_site(db, client, mirror):
    for path in (*XML_FEEDS, "/feed.json"):
        first = client.get(path)
        assert first.headers["ETag"] and "max-age=300" in first.headers["Cache-Control"]
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        assert client.get(path).data == first.data
        not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert not_modified.status_code == 304 and not_modified.data == b""
        since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert since.status_code == 304 and since.data == b""
    etag = client.get("/feed.xml").headers["ETag"]
    ferry = next(item for item in mirror["published"] if item["title"].startswith("Ferry service"))
    workflow.withdraw(db, ferry["id"], reason="takedown")
    changed = client.get("/feed.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"Ferry service" not in changed.data


# ---------------------------------------------------------------- the writers alone


HOSTILE = "Tom & \"Jerry\" <b>bold</b> ]]> \x00\x0b\x1f end \ud800"


def hostile_item(**overrides) -> dict:
    """An item whose every text field holds characters XML must escape or cannot carry."""
    item = {
        "id": SITE + "/articles/1", "url": SITE + "/articles/1/x", "title": HOSTILE,
        "content_html": "<p>Body &amp; more</p>\x0c" + "<footer class=\"attribution\">credit</footer>",
        "summary": HOSTILE, "published": "2026-11-20T10:00:00+00:00", "updated": None,
        "authors": [HOSTILE], "categories": [HOSTILE],
        "enclosures": [{"url": "https://cdn.example/a.mp3?x=1&y=2", "type": "audio/mpeg", "length": 1234}],
        "language": "en", "original_url": "https://origin.example/a?b=1&c=2", "license_id": "CC-BY-4.0",
        "license_name": "Creative Commons Attribution 4.0 International", "license_url": BY,
        "rights": HOSTILE, "attribution_text": "credit",
        "source": {"name": HOSTILE, "feed_url": "https://origin.example/feed?x=1&y=2",
                   "site_url": "https://origin.example/"},
    }
    item.update(overrides)
    return item


CHANNEL = {"title": "Mirror & Co", "home_url": SITE + "/", "description": "d", "language": "en",
           "updated": "2026-11-21T10:00:00Z", "author": "Mirror & Co"}


@pytest.mark.parametrize("writer", [feeds.rss, feeds.atom])
def test_hostile_text_never_breaks_the_xml(writer):
    body = writer(CHANNEL, [hostile_item(), hostile_item(id=SITE + "/articles/2", enclosures=[])], SITE + "/f")
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert entry.title.startswith('Tom & "Jerry" <b>bold</b> ]]>') and entry.title.endswith("end")
    assert entry.enclosures[0].href == "https://cdn.example/a.mp3?x=1&y=2"
    licenses = [link.href for link in entry.links if link.rel == "license"] if writer is feeds.atom else [entry.license]
    assert licenses == [BY]


def test_the_rss_channel_description_is_escaped_text():
    channel = dict(CHANNEL, description='Articles by <img src=x onerror="alert(1)"> & co')
    body = feeds.rss(channel, [], SITE + "/f")
    description = ET.fromstring(body).find("channel/description").text
    assert html.unescape(description) == channel["description"] and "<" not in description


def test_the_json_feed_writer_keeps_text_as_text():
    document = json.loads(feeds.json_feed(CHANNEL, [hostile_item(updated="2026-11-22T10:00:00Z")], SITE + "/f.json"))
    item = document["items"][0]
    assert item["title"] == HOSTILE.replace("\ud800", "?")
    assert item["date_published"] == "2026-11-20T10:00:00Z" and item["date_modified"] == "2026-11-22T10:00:00Z"
    assert item["attachments"] == [{"url": "https://cdn.example/a.mp3?x=1&y=2", "mime_type": "audio/mpeg",
                                    "size_in_bytes": 1234}]
    assert item["_republisher"] == {"license": "CC-BY-4.0", "license_url": BY,
                                    "original_url": "https://origin.example/a?b=1&c=2", "attribution_text": "credit"}


def test_plain_text_and_excerpts_skip_markup():
    text, excerpt = feeds.text_and_excerpt("<p>One&nbsp;two</p><script>x()</script><p>three " + "word " * 100 + "</p>")
    assert text.startswith("One two three word")
    assert "x()" not in text
    assert len(excerpt) <= 281 and excerpt.endswith("\u2026")


# ---------------------------------------------------------------- plain text as strict RSS readers see it


SCRIPT_TITLE = "<script>alert(1)</script> & Co"


def raw_texts(body: bytes, tag: str) -> list[str]:
    """The text of every <tag> element exactly as the document writes it, references undecoded."""
    return [raw.decode() for raw in re.findall(rb"<" + tag.encode() + rb">(.*?)</" + tag.encode() + rb">",
                                                body, re.DOTALL)]


def test_rss_writes_plain_text_in_hexadecimal_references():
    channel = dict(CHANNEL, title="Mirror & <Co>")
    item = hostile_item(title=SCRIPT_TITLE, authors=["Ann <b> & Bob", "&amp; <i>"], categories=["R&D <i>"])
    body = feeds.rss(channel, [item], SITE + "/f")
    assert raw_texts(body, "title") == ["Mirror &#x26; &#x3C;Co>", "&#x3C;script>alert(1)&#x3C;/script> &#x26; Co"]
    assert raw_texts(body, "dc:creator") == ["Ann &#x3C;b> &#x26; Bob", "&#x26;amp; &#x3C;i>"]
    assert raw_texts(body, "category") == ["R&#x26;D &#x3C;i>"]
    # the HTML of the item stays escaped the way readers that render it expect
    assert raw_texts(body, "description")[1].startswith("&lt;p&gt;Body &amp;amp; more&lt;/p&gt;")
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    assert parsed.feed.title == "Mirror & <Co>" and entry.title == SCRIPT_TITLE
    assert [author.name for author in entry.authors] == ["Ann <b> & Bob", "&amp; <i>"]
    assert [tag.term for tag in entry.tags] == ["R&D <i>"]


# any characters, lone surrogates and XML's forbidden controls included, and the pieces that break escaping
plain_text = st.lists(st.one_of(st.text(), st.sampled_from(["]]>", "]]", "&#x3C;", "&lt;", "<![CDATA[", "\r\n", "\r",
                                                            "\x00", "\x0b", "\ud800", "\ufffe"])),
                      max_size=12).map("".join)


@given(plain_text)
def test_any_text_reads_back_from_rss_and_atom_as_xml_can_carry_it(text):
    # a source without a name is named by its feed's URL; this one has a name
    item = hostile_item(title=text, authors=[text], categories=[text],
                        source={"name": "S" + text, "feed_url": SITE + "/s"})
    expected = feeds.xml_safe(text)
    rss = ET.fromstring(feeds.rss(dict(CHANNEL, title=text), [item], SITE + "/f"))
    assert (rss.find("channel/title").text or "") == expected
    for path in ("title", f"{{{feeds.DC_NS}}}creator", "category"):
        assert (rss.find(f"channel/item/{path}").text or "") == expected, path
    assert rss.find("channel/item/source").text == "S" + expected
    atom = ET.fromstring(feeds.atom(CHANNEL, [item], SITE + "/f"))
    entry = atom.find(f"{{{feeds.ATOM_NS}}}entry")
    assert (entry.find(f"{{{feeds.ATOM_NS}}}title").text or "") == expected
    assert entry.find(f"{{{feeds.ATOM_NS}}}category").get("term") == expected
