"""The mirror's own RSS and Atom feeds as strict readers see them: the W3C Feed Validation Service's checks
(tests/feed_checks.py) find no error and no warning but the ones no feed can avoid, and feedparser reads
every hostile title, author and category back exactly. Feeds are ingested from a real HTTP server on
127.0.0.1."""

import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import feedparser
import pytest

from republisher import storage, workflow

from feed_checks import check
from helpers import refresh, sample_feed

SITE = "http://mirror.test"
SCRIPT_TITLE = "<script>alert(1)</script> & Co"


def rss_date(days_ago: float) -> str:
    """An RFC 2822 date some days before now (negative: in the future)."""
    return format_datetime(datetime.now(timezone.utc) - timedelta(days=days_ago), usegmt=True)


def hostile_item(number: int, title: str, creators: list[str], categories: list[str], days_ago: float) -> str:
    """One RSS item whose text fields hold markup, entities and ampersands (escaped once, as RSS is)."""
    def escaped(text: str) -> str:
        """Text as XML character data."""
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"<item><title>{escaped(title)}</title><link>https://hostile.example/story/{number}?a=1&amp;b=2</link>"
            f"<guid isPermaLink=\"false\">hostile-{number}</guid><pubDate>{rss_date(days_ago)}</pubDate>"
            + "".join(f"<dc:creator>{escaped(name)}</dc:creator>" for name in creators)
            + "".join(f"<category>{escaped(name)}</category>" for name in categories)
            + f"<description>{escaped('<p>Story ' + str(number) + ' &amp; more.</p>')}</description>"
            f'<enclosure url="https://cdn.hostile.example/{number}.mp3?x=1&amp;y=2" length="1200" type="audio/mpeg"/>'
            "</item>")


def hostile_feed() -> bytes:
    """An RSS feed under CC BY 4.0 named with characters that break escaping, its language written out."""
    items = "".join([
        hostile_item(1, SCRIPT_TITLE, ["Ann & Bob"], ["R&D", "Arts & Crafts"], 3),
        hostile_item(2, "Fish &amp; Chips ]]> & 1 &#60; 2", ["O'Brien & Sons"], ["Q&A"], 2),
        hostile_item(3, "Dates from the future are the mirror's own", ["Zoë"], ["Time"], -30),
    ])
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            "<title>Tom &amp; Jerry's &lt;Wire&gt;</title><link>https://hostile.example/</link>"
            "<description>Hostile &amp; loud</description><language>english</language>"
            "<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode()


def publish(app, db, source_id: int) -> None:
    """Fetch a source and approve every item that may be published."""
    assert refresh(app, db, source_id).outcome == "ok"
    for item in storage.list_items(db, source_id=source_id, status="pending"):
        workflow.approve(db, item["id"])


@pytest.fixture
def site(app, db, httpserver):
    """The hostile feed, an Atom feed (CC BY-SA) and a Persian feed, ingested over HTTP and published."""
    feeds = {"/hostile": (hostile_feed(), "application/rss+xml", {}),
             "/valley": (sample_feed("valley-atlas.atom"), "application/atom+xml", {}),
             "/pars": (sample_feed("pars-daily.xml"), "application/rss+xml",
                       {"name": "Pars Ruz", "license": "CC-BY-4.0", "evidence": "Site footer states CC BY 4.0"})}
    sources = {}
    for path, (body, mime, fields) in feeds.items():
        httpserver.expect_request(path).respond_with_data(body, content_type=mime)
        source = storage.add_source(db, httpserver.url_for(path), **fields)
        publish(app, db, source["id"])
        sources[path.strip("/")] = storage.get_source(db, source["id"])
    return {"client": app.test_client(), "sources": sources,
            "published": {item["title"]: item for item in storage.list_items(db, status="published")}}


def feed_paths(site) -> list[str]:
    """Every RSS and Atom feed of the mirror: site-wide and per source."""
    paths = ["/feed.xml", "/atom.xml"]
    for source in site["sources"].values():
        paths += [f"/sources/{source['slug']}/feed.xml", f"/sources/{source['slug']}/atom.xml"]
    return paths


def test_the_hostile_items_are_all_published(site):
    assert {SCRIPT_TITLE, "Dates from the future are the mirror's own"} <= set(site["published"])
    assert len(site["published"]) == 3 + 2 + 2


def unavoidable(finding) -> bool:
    """Whether a finding is a warning no feed can avoid."""
    # entries published in the same second share their update time; and the validator warns of any text
    # that holds an HTML end tag, however it is escaped: here only SCRIPT_TITLE, a publisher's own title,
    # which the feed must carry as it is
    if finding.level != "warning":
        return False
    return finding.name == "DuplicateUpdated" or (
        finding.name in ("ContainsHTML", "ContainsUndeclaredHTML") and finding.detail == "</script>"
        and finding.where.endswith("/title"))


def test_rss_and_atom_show_no_validator_error_and_no_avoidable_warning(site):
    for path in feed_paths(site):
        response = site["client"].get(path)
        assert response.status_code == 200, path
        findings = check(response.data, SITE + path)
        assert [finding for finding in findings if not unavoidable(finding)] == [], path


def test_feedparser_reads_every_feed_cleanly_and_the_hostile_text_back_exactly(site):
    for path in feed_paths(site):
        parsed = feedparser.parse(site["client"].get(path).data)
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        assert parsed.entries and all(entry.title in site["published"] for entry in parsed.entries), path
    hostile = site["sources"]["hostile"]["slug"]
    for path in (f"/sources/{hostile}/feed.xml", f"/sources/{hostile}/atom.xml"):
        entries = {entry.title: entry for entry in feedparser.parse(site["client"].get(path).data).entries}
        assert [author.name for author in entries[SCRIPT_TITLE].authors] == ["Ann & Bob"]
        assert [tag.term for tag in entries[SCRIPT_TITLE].tags] == ["R&D", "Arts & Crafts"]
        assert entries[SCRIPT_TITLE].source.title == "Tom & Jerry's <Wire>"


def test_a_title_with_markup_comes_out_of_the_rss_feed_in_hexadecimal_references(site):
    body = site["client"].get("/feed.xml").data
    assert b"<title>&#x3C;script>alert(1)&#x3C;/script> &#x26; Co</title>" in body
    assert b"<dc:creator>Ann &#x26; Bob</dc:creator>" in body
    assert b"<category>R&#x26;D</category><category>Arts &#x26; Crafts</category>" in body
    for tag in (b"title", b"dc:creator", b"category", b"source"):
        texts = re.findall(rb"<" + tag + rb"[^>]*>(.*?)</" + tag + rb">", body, re.DOTALL)
        assert texts and not any(b"&lt;" in text or b"&amp;" in text for text in texts), tag


def test_a_publishers_date_in_the_future_is_not_the_feeds(site):
    title = "Dates from the future are the mirror's own"
    now = datetime.now(timezone.utc)
    for path in ("/feed.xml", "/atom.xml"):
        [entry] = [entry for entry in feedparser.parse(site["client"].get(path).data).entries if entry.title == title]
        assert datetime(*entry.published_parsed[:6], tzinfo=timezone.utc) <= now, path
    [item] = [item for item in json.loads(site["client"].get("/feed.json").data)["items"] if item["title"] == title]
    assert datetime.fromisoformat(item["date_published"].replace("Z", "+00:00")) <= now


# ---------------------------------------------------------------- the checks find what the validator reports


BROKEN_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:x="http://unknown.example/ns"><channel>
<title>Tom &amp;amp; Jerry</title><link>http://mirror.test/</link><language>english</language>
<lastBuildDate>2026-11-20 10:00</lastBuildDate>
<item><title>&lt;b&gt;Bold</title><guid>tag:mirror.test,2026:1</guid>
<description>&lt;a href="/relative"&gt;x&lt;/a&gt;</description>
<pubDate>Tue, 20 Nov 2026 10:00:00 GMT</pubDate><category>R&amp;amp;D</category></item>
<item><title>Second</title><guid isPermaLink="false">same</guid><pubDate>Fri, 20 Nov 2099 10:00:00 GMT</pubDate>
<enclosure url="ftp://cdn.example/a.mp3" length="-5"/><description>a stray &lt;/b&gt;</description></item>
<item><title>Third</title><guid isPermaLink="false">same</guid><blink>x</blink></item>
<item><description>&lt;script&gt;x()&lt;/script&gt;</description></item>
<item><guid isPermaLink="false">nothing to read</guid></item>
</channel></rss>"""

BROKEN_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">Fish &amp;amp; chips</title>
<id>HTTP://Mirror.test:80/a/../atom.xml</id><updated>2026-11-20T10:00:00</updated>
<link rel="alternate" type="text/html" href="http://mirror.test/"/>
<link rel="alternate" type="text/html" href="http://mirror.test/x"/>
<link rel="sideways" href="http://mirror.test/s"/>
<entry><id>http://mirror.test/1</id><title type="text">&lt;/i&gt; tag</title><updated>2026-11-20T10:00:00Z</updated>
<content type="html">&lt;img src="picture.png"&gt;</content><source><title>S</title></source></entry>
<entry><id>http://mirror.test/1</id><title>Again</title><updated>2026-11-20T10:00:00Z</updated>
<author><name>Ann &lt;ann@example.org&gt;</name></author><link href="http://mirror.test/2"/></entry>
</feed>"""


@pytest.mark.parametrize("document, expected", [
    (BROKEN_RSS, {"UnknownNamespace", "ContainsHTML", "MissingDescription", "MissingAtomSelfLink", "InvalidLanguage",
                  "InvalidRFC2822Date", "IncorrectDOW", "CharacterData", "InvalidPermalink", "ContainsRelRef",
                  "ImplausibleDate", "InvalidURLAttribute", "MissingAttribute", "InvalidNonNegativeInteger",
                  "DuplicateValue", "UndefinedElement", "MissingGuid", "ItemMustContainTitleOrDescription",
                  "NotHtml", "SecurityRisk"}),
    (BROKEN_ATOM, {"ContainsUndeclaredHTML", "NonCanonicalURI", "InvalidRFC3339Date", "MissingSelf",
                   "DuplicateAtomLink", "UnregisteredAtomLinkRel", "MissingElement", "ContainsRelRef",
                   "MissingSourceElement", "DuplicateEntries", "DuplicateUpdated", "ContainsEmail"}),
    ("<rss version='2.0'><channel>", {"SAXError"}),
])
def test_the_checks_report_what_the_validator_reports(document, expected):
    assert {finding.name for finding in check(document.encode(), SITE + "/feed.xml")} == expected
