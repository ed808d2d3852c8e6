"""A license statement decides only what it speaks of: real-shaped articles, their figures and captions.

The articles under fixtures/statements are written the way publishing systems write them (WordPress
figures with srcset, Flickr and Wikimedia credits, typographic quotes as character references).
"""

from pathlib import Path
from xml.sax.saxutils import escape

import html5lib
import pytest

from helpers import refresh
from republisher import gate, licenses, processor, statements, storage, workflow
from republisher.licensing import decide_license
from republisher.parser import parse_feed

ARTICLES = Path(__file__).parent / "fixtures" / "statements"
BY = "https://creativecommons.org/licenses/by/4.0/"
POLICY = licenses.allowed_by_default()
SEEN_AT = "2026-12-01T10:00:00+00:00"


def feed(article: str, *, channel_license: str | None = None, copyright_text: str | None = None,
         link: str = "https://coastline-times.example/news/harbour") -> bytes:
    """An RSS feed of one item whose content is a fixture article."""
    html = (ARTICLES / article).read_text("utf-8")
    license_element = (f"<creativeCommons:license>{channel_license}</creativeCommons:license>"
                       if channel_license else "")
    copyright_element = f"<copyright>{escape(copyright_text)}</copyright>" if copyright_text else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule">'
        "<channel><title>Coastline Times</title><link>https://coastline-times.example/</link>"
        f"<description>News</description>{license_element}{copyright_element}<item>"
        f"<title>Boats return to the north quay</title><link>{link}</link><guid>{link}</guid>"
        "<author>desk@coastline-times.example (Moira Kerr)</author>"
        f"<content:encoded><![CDATA[{html}]]></content:encoded></item></channel></rss>").encode("utf-8")


def decide(body: bytes, **options) -> tuple[dict, dict, dict]:
    """(decision, entry, feed) for the one entry of a feed."""
    parsed = parse_feed(body, {}, "https://coastline-times.example/feed")
    entry, channel = parsed["entries"][0], parsed["feed"]
    return decide_license(entry, channel, policy=POLICY, seen_at=SEEN_AT, **options), entry, channel


def test_a_cc_by_photo_credit_in_an_all_rights_reserved_article_is_blocked_for_no_license():
    decision, _, _ = decide(feed("arr_article_cc_photo.html",
                                 copyright_text="© 2026 Coastline Times. All rights reserved."))
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("no license found")
    [credit] = decision["media"]
    assert (credit["kind"], credit["license"], credit["allowed"]) == ("license", "CC-BY-2.0", True)
    assert [image["src"] for image in credit["images"]] == [
        "https://coastline-times.example/wp-content/uploads/2026/11/north-quay-1024x683.jpg"]
    assert credit["credit"] == "Boats return to the north quay. Photo: Jane Doe / Flickr, CC BY 2.0"
    assert credit["location"] == "caption"
    assert all(finding["license"] != "CC-BY-2.0" for finding in decision["findings"])


def test_the_same_photo_credit_never_licenses_the_article_even_without_a_rights_line():
    html = (ARTICLES / "arr_article_cc_photo.html").read_text("utf-8").replace(
        '<p class="copyright">© 2026 Coastline Times. All rights reserved.</p>', "")
    found = statements.find_statements(html)
    assert [(s.scope, s.license) for s in found if s.kind == "license"] == [("media", "CC-BY-2.0")]


def test_a_cc_by_nc_photo_inside_a_cc_by_article_publishes_with_the_image_removed(app, db, httpserver):
    httpserver.expect_request("/feed").respond_with_data(feed("nc_photo_in_cc_article.html"),
                                                         content_type="application/rss+xml")
    source = storage.add_source(db, httpserver.url_for("/feed"), auto_approve=True)
    refresh(app, db, source["id"])
    [item] = storage.list_items(db, source_id=source["id"])
    assert (item["status"], item["license"]) == ("published", "CC-BY-4.0")
    revision = storage.get_revision(db, item["approved_revision_id"])
    assert "live.staticflickr.com" not in revision["content_html"]
    assert "Lanterns over the square. Photo by" in revision["content_html"]  # the caption credit stays
    page = app.test_client().get(f"/articles/{item['id']}", follow_redirects=True)
    tree = html5lib.parse(page.data, namespaceHTMLElements=False)
    assert not [img for img in tree.iter("img") if "staticflickr" in (img.get("src") or "")]
    originals = [a for a in tree.iter("a") if a.get("href") == "https://coastline-times.example/news/harbour"
                 and "".join(a.itertext()) == "See it in the original"]
    assert originals
    notice = " ".join(" ".join("".join(p.itertext()).split()) for p in tree.iter("p")
                      if "attribution-changes" in (p.get("class") or ""))
    assert "1 image removed: its license (CC BY-NC 2.0) does not allow this use" in notice
    assert "1 image removed: its license (CC BY-NC 2.0) does not allow this use" in page.data.decode()
    [license_link] = [a for a in tree.iter("a") if "license" in (a.get("rel") or "").split()]
    assert license_link.get("href") == BY


def test_a_wikimedia_figure_credit_is_a_media_credit_and_no_conflict():
    decision, _, _ = decide(feed("wikimedia_figure.html", channel_license=BY))
    assert (decision["status"], decision["license"], decision["evidence"]["level"]) == ("pending", "CC-BY-4.0", "feed")
    [credit] = decision["media"]
    assert (credit["license"], credit["allowed"], credit["location"]) == ("CC-BY-SA-4.0", True, "caption")
    assert credit["credit"].startswith("The floodplain of the lower valley. Map: Cartographer123, CC BY-SA 4.0")


@pytest.mark.parametrize("channel_license, status, license_id", [(BY, "pending", "CC-BY-4.0"), (None, "blocked", None)])
def test_an_article_reporting_on_a_datasets_license_is_not_licensed_by_it(channel_license, status, license_id):
    decision, _, _ = decide(feed("dataset_report.html", channel_license=channel_license))
    assert (decision["status"], decision["license"]) == (status, license_id)
    mentions = [f for f in decision["findings"] if f["kind"] == "mention"]
    assert {(f["license"], f["location"]) for f in mentions} == {("CC-BY-NC-4.0", "body")}
    assert decision["media"] == []


def test_a_closing_sentence_licenses_the_article():
    decision, _, _ = decide(feed("closing_sentence.html"))
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0")
    evidence = decision["evidence"]
    assert (evidence["level"], evidence["location"], evidence["found_in"]) == (
        "content", "closing sentence", "html statement")
    assert evidence["matched"] == "This article is licensed under a Creative Commons Attribution 4.0 International License."


def test_reuters_reserving_its_rights_in_a_body_paragraph_blocks_a_cc_by_item_with_the_quote():
    decision, _, _ = decide(feed("reuters_body_rights.html", channel_license=BY))
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("conflict: feed metadata says CC-BY-4.0")
    assert '"© 2026 Reuters. All rights reserved."' in decision["reason"]
    assert "Reuters" in decision["reason"]


@pytest.mark.parametrize("html, party", [
    ("<p>WASHINGTON (Reuters) - The Senate passed the bill on Tuesday.</p><p>The vote was close.</p>", "Reuters"),
    ("<p>BEIJING, Dec. 1 (Xinhua) -- China launched a weather satellite.</p>", "Xinhua"),
    ("<p>The vote was close.</p><p>This story was provided by The Associated Press.</p>", "The Associated Press"),
    ("<p>The vote was close.</p><p>Copyright 2026 The Associated Press. All rights reserved. This material may "
     "not be published, broadcast, rewritten or redistributed.</p>", "The Associated Press"),
    ("<p>The vote was close.</p><p>(c) AFP 2026</p>", "Agence France-Presse"),
])
def test_datelines_and_agency_credit_lines_in_the_text_block_a_cc_item(html, party):
    decision = decide_license({"link": "https://n.example/1", "content": html, "summary": "", "raw": {}},
                              {"title": "Reuters Open Desk", "url": "https://n.example/feed", "format": "rss20",
                               "namespaces": {}, "raw": {"links": [{"rel": "license", "href": BY}]}},
                              policy=POLICY, seen_at=SEEN_AT)
    assert decision["status"] == "blocked"
    assert f"credits a third party, {party}" in decision["reason"]


PROSE = "<p>The harbour board met again and talked about the boats, the tides and the new quay.</p>" * 20


@pytest.mark.parametrize("notice, kind", [
    ("© 2026 Northwind. All rights reserved.", "reserved"),
    ("&copy; 2026 Reuters", "third_party"),
    ("&#169; 2026 Reuters", "third_party"),
    ("&#xa9; 2026 Reuters", "third_party"),
    ("(c) 2026 Reuters", "third_party"),
    ("Copyright 2026 Reuters", "third_party"),
    ("Republication is prohibited.", "restricted"),
    ("Reproduction is prohibited.", "restricted"),
    ("This story was provided by Reuters.", "third_party"),
    ("This article is licensed under CC BY-NC 4.0.", "license"),
    ("This article is under a Creative Commons Attribution-NonCommercial 4.0 license.", "license"),
    ("This article: CC-BY-NC 4.0.", "license"),
])
def test_a_notice_in_the_middle_of_a_long_body_is_read(notice, kind):
    body = PROSE + f"<p>{notice}</p>" + PROSE  # far from both ends: only the keywords lead to it
    assert kind in {statement.kind for statement in statements.find_statements(body)}, notice


def test_an_article_that_quotes_an_agency_is_not_its_copy():
    html = ("<p>Reuters reported on Monday that the talks had stalled, citing two officials.</p>"
            "<p>This article is licensed under CC BY 4.0.</p>")
    decision = decide_license({"link": "https://n.example/1", "content": html, "summary": "", "raw": {}},
                              {"title": "N", "url": "https://n.example/feed", "raw": {}},
                              policy=POLICY, seen_at=SEEN_AT)
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0")


@pytest.mark.parametrize("caption, kind", [
    ("(Photo by John Smith/Getty Images)", "third_party"),
    ("REUTERS/Benoit Tessier", "third_party"),
    ("(AP Photo/Evan Vucci)", "third_party"),
    ("Photo: Jane Roe, CC BY-ND 2.0", "license"),
    ("Image: Studio North. All rights reserved.", "reserved"),
])
def test_a_credit_beside_an_image_removes_that_image_only(caption, kind):
    html = (f"<p>The square was full.</p><p><img src=\"https://cdn.example/square.jpg\" alt=\"\"><br>{caption}</p>"
            "<p>This article is licensed under CC BY 4.0.</p>")
    entry = {"link": "https://n.example/1", "title": "Square", "authors": [], "content": html, "summary": "", "raw": {}}
    channel = {"title": "N", "url": "https://n.example/feed", "raw": {}}
    result = processor.process_entry(entry, channel, {"name": "N"}, POLICY, SEEN_AT)
    decision = result["decision"]
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0")
    assert [(credit["kind"], credit["allowed"]) for credit in decision["media"]] == [(kind, False)]
    assert "cdn.example/square.jpg" not in result["content_html"]
    assert "1 image removed" in result["attribution"]["changes_notice"]
    assert gate.problems(decision, result["attribution"], result["content_html"], POLICY) == []


def test_a_license_badge_and_its_sentence_are_the_items_own_statement():
    html = ('<p>Text.</p><p><a rel="license" href="http://creativecommons.org/licenses/by/4.0/"><img '
            'alt="Creative Commons License" style="border-width:0" src="https://i.creativecommons.org/l/by/4.0/88x31.png" />'
            '</a><br />This work is licensed under a <a rel="license" href="http://creativecommons.org/licenses/by/4.0/">'
            'Creative Commons Attribution 4.0 International License</a>.</p>')
    found = statements.find_statements(html)
    assert {(s.scope, s.location, s.license) for s in found} == {
        ("item", "rel=license", "CC-BY-4.0"), ("item", "closing sentence", "CC-BY-4.0")}


def test_a_rel_license_link_inside_a_caption_is_a_media_credit():
    html = ('<div class="wp-caption"><img src="https://cdn.example/a.jpg"><p class="wp-caption-text">By Ann '
            '(<a rel="license" href="https://creativecommons.org/licenses/by-nc-sa/2.0/">CC BY-NC-SA 2.0</a>)</p></div>'
            + "<p>The story goes on for a while with many more words about the harbour.</p>" * 10)
    found = statements.find_statements(html)
    assert found and all(s.scope == "media" for s in found)
    assert {s.license for s in found} == {"CC-BY-NC-SA-2.0"}


def test_a_refused_media_credit_that_no_image_is_beside_holds_the_item():
    html = ('<p><img src="https://cdn.example/a.jpg"></p>' + "<p>Many words about the harbour and its boats.</p>" * 12
            + "<p>Photos in this story are CC BY-NC 2.0.</p>" + "<p>More words.</p>" * 12)
    decision = decide_license({"link": "https://n.example/1", "content": html, "summary": "", "raw": {}},
                              {"title": "N", "url": "https://n.example/feed", "raw": {"links": [{"rel": "license", "href": BY}]}},
                              policy=POLICY, seen_at=SEEN_AT)
    assert decision["status"] == "blocked"
    assert decision["reason"].startswith("held for an editor: a media credit")


def test_media_credits_from_media_rss_remove_the_picture_the_body_shows():
    body = ('<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>N</title>'
            '<link>https://n.example/</link><description>d</description><item><title>T</title>'
            '<link>https://n.example/1</link><media:content url="https://cdn.example/p.jpg" medium="image">'
            '<media:credit role="photographer">REUTERS/Jane Doe</media:credit></media:content>'
            '<content:encoded><![CDATA[<p><img src="https://cdn.example/p.jpg"></p><p>Text of the story.</p>'
            '<p>This article is licensed under CC BY 4.0.</p>]]></content:encoded></item></channel></rss>').encode()
    decision, entry, channel = decide(body)
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0")
    [credit] = decision["media"]
    assert (credit["kind"], credit["party"], credit["allowed"], [image["src"] for image in credit["images"]]) == (
        "third_party", "Reuters", False, ["https://cdn.example/p.jpg"])
    rendered = processor.render(entry, channel, {"name": "N"}, decision)
    assert "cdn.example/p.jpg" not in rendered["content_html"]


def test_an_atom_source_titled_after_an_agency_blocks_its_entries():
    body = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Aggregator</title><id>a</id>'
            '<updated>2026-12-01T00:00:00Z</updated><link rel="license" href="' + BY + '"/>'
            '<entry><title>T</title><id>e</id><link href="https://agg.example/1"/><updated>2026-12-01T00:00:00Z</updated>'
            '<source><id>s</id><title>Reuters World News</title></source><content type="html">&lt;p&gt;x&lt;/p&gt;</content>'
            '</entry></feed>').encode()
    decision, _, _ = decide(body)
    assert decision["status"] == "blocked"
    assert "the entry's source is Reuters" in decision["reason"]


def test_statements_carry_offsets_into_the_original_text_even_after_invisible_characters():
    html = "<p>Intro\u200b\u200b text.</p><p><img src=\"https://cdn.example/x.jpg\"><br>Photo: A\u00adnn, CC BY-NC 2.0</p>"
    [statement] = [s for s in statements.find_statements(html) if s.kind == "license"]
    [(src, start, end)] = statement.images
    assert html[start:end] == '<img src="https://cdn.example/x.jpg">'
