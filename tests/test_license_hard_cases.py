"""Hard cases from an adversarial review of the license engine: each once let a restricted item or a
refused image through, cost more than linear time, or blocked an ordinary CC BY article.

Every item here goes through the per-entry stages (license decision, sanitizing, credit) with an
editor's CC BY 4.0 source license unless the case says otherwise, the usual setup for an agency.
"""

from pathlib import Path

import pytest

from republisher import licenses, processor
from republisher.licensing import decide_license

ARTICLES = Path(__file__).parent / "fixtures" / "statements"
POLICY = licenses.allowed_by_default()
SEEN_AT = "2026-12-01T10:00:00+00:00"
EDITOR = {"license": "CC-BY-4.0", "license_evidence": "https://agency.example/about: All content is CC BY 4.0.",
          "license_set_at": "2026-11-01T09:00:00+00:00"}
B = "<p>The council met on Tuesday and approved the harbour budget.</p><p>Work starts in May.</p>"
LONG = "<p>More words about the harbour and the boats that come and go in the spring season.</p>" * 12
IMAGE = '<p><img src="https://cdn.example/a.jpg" alt=""></p>'
JETPACK = ('<p><img data-attachment-id="123" data-image-caption="" class="wp-image-123" '
           'src="https://cdn.example/a.jpg" alt="" width="1024" height="683" /></p>')
SHARE_BOX = ('<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block sd-social '
             'sd-social-icon-text sd-sharing"><h3 class="sd-title">Share this:</h3><div class="sd-content"><ul>'
             '<li class="share-twitter"><a rel="nofollow noopener noreferrer" class="share-twitter sd-button '
             'share-icon" href="https://agency.example/2026/12/01/council/?share=twitter" target="_blank" '
             'title="Click to share on Twitter"><span>Twitter</span></a></li></ul></div></div></div>')
PICTURES = ("cdn.example/a.jpg", "cdn.example/b.jpg", "cdn.example/bad.jpg", "upload.wikimedia.org")


def process(html: str, *, editor: bool = True, raw: dict | None = None, authors=()) -> dict:
    """The per-entry stages for an item with this HTML."""
    entry = {"link": "https://agency.example/1", "title": "Council", "authors": list(authors), "content": html,
             "summary": "", "raw": raw or {}}
    channel = {"title": "Agency", "url": "https://agency.example/feed", "raw": {}}
    source = dict({"name": "Agency"}, **(EDITOR if editor else {}))
    return processor.process_entry(entry, channel, source, POLICY, SEEN_AT)


HELD = [
    ("agency boilerplate after a Jetpack image", B + JETPACK + "<p>Copyright 2026 The Associated Press. All rights "
     "reserved. This material may not be published, broadcast, rewritten or redistributed.</p>"),
    ("an NC notice after a Jetpack image", B + JETPACK + "<p>Boats came back to the quay this week after a long "
     "winter.</p><p>This article is licensed under CC BY-NC-ND 4.0.</p>"),
    ("an NC notice in an article-credits element", B + '<div class="article-credits"><p>This article is licensed '
     "under CC BY-NC-ND 4.0.</p></div>"),
    ("an agency credit in a story-credit element", B + '<p class="story-credit">This story was provided by The '
     "Associated Press.</p>"),
    ("all rights reserved wrapped over two lines", B + "<p>All rights\nreserved.</p>"),
    ("a copyright line of an agency at the top", "<p>Copyright 2026 The Associated Press</p>" + LONG),
    ("an entity-encoded copyright sign at the top", "<p>&copy; 2026 Reuters</p>" + LONG),
    ("a no-break space inside CC BY at the top", "<p>This article is licensed under CC&nbsp;BY-NC-ND 4.0.</p>" + LONG),
    ("an agency credit before a share box", B + "<p>This story was provided by The Associated Press.</p>" + SHARE_BOX),
    ("an Italian reservation in an ASCII body", B + "<p>Tutti i diritti riservati.</p>"),
    ("a reservation after two hundred paragraphs", "<p>The Federal Reserve held rates on Wednesday.</p>" * 200
     + "<p>© 2026 Reuters. All rights reserved.</p>"),
    ("a license the registry does not know", B + "<p>This article is licensed under the Northwind Reuse License.</p>"),
    ("a rel=license link to other terms", B + '<p><a rel="license" href="https://agency.example/terms-of-use">Terms '
     "of use</a></p>"),
    ("the article and its photos under NC", B + "<p>This article and its photos are licensed under CC BY-NC 4.0.</p>"),
    ("a story that is part of a project", B + "<p>This story is part of the Harbour Watch project and is licensed "
     "under CC BY-NC-ND 4.0.</p>"),
    ("a bare NC line at the top", "<p>Licensed under CC BY-NC-ND 4.0.</p>" + LONG),
    ("an NC notice wrapped over two lines", B + "<p>This article is licensed under CC BY-\nNC-ND 4.0.</p>"),
    ("a dateline inside a wrapper", '<div class="article-body"><p>WASHINGTON (Reuters) - The Senate passed the '
     "bill.</p></div>" + LONG),
    ("a dateline after a lead image", IMAGE + "<p>WASHINGTON (Reuters) - The Senate passed the bill.</p>" + LONG),
    ("a dateline without a dash", "<p>WASHINGTON (Reuters) The Senate passed the bill on Tuesday.</p>" + LONG),
    ("a reservation next to a tracking pixel", B + '<p>© 2026 Reuters. All rights reserved. <img '
     'src="https://pixel.example/t.gif" width="1" height="1"></p>'),
    ("a Chinese reservation", B + "<p>未经授权禁止转载。</p>"),
    ("a Russian reservation", B + "<p>Перепечатка запрещена.</p>"),
    ("an Arabic agency credit", B + "<p>© رويترز</p>"),
    # under 1,000 characters the start and the end overlap in part; the start must still be read
    ("an agency's courtesy line opening a short item", "<p>Courtesy of Reuters.</p>" + LONG[:700]),
]


@pytest.mark.parametrize("name, html", HELD, ids=[case[0] for case in HELD])
def test_restricted_items_are_held_or_blocked(name, html):
    decision = process(html)["decision"]
    assert decision["status"] == "blocked", (name, decision["reason"])


def test_a_license_name_cut_by_the_reading_window_is_read_whole():
    html = (ARTICLES / "window_cut.html").read_text("utf-8")
    decision = process(html, editor=False)["decision"]
    assert (decision["status"], decision["license"]) == ("blocked", "CC-BY-NC-ND-4.0")


REFUSED_PICTURES = [
    ("an agency credit in the paragraph after a lone image", IMAGE + "<p>(AP Photo/Evan Vucci)</p>" + LONG),
    ("a Wikimedia credit after the picture, via Wikimedia Commons",
     '<p><img src="https://upload.wikimedia.org/wikipedia/commons/a/a1/Boats.jpg"></p><p><a '
     'href="https://commons.wikimedia.org/wiki/User:Jane">Jane</a>, <a '
     'href="https://creativecommons.org/licenses/by-nc-sa/4.0">CC BY-NC-SA 4.0</a>, via Wikimedia Commons</p>' + LONG),
    ("a gallery caption for every picture", LONG + '<figure class="wp-block-gallery"><figure class="wp-block-image">'
     '<img src="https://cdn.example/a.jpg"></figure><figure class="wp-block-image"><img src="https://cdn.example/b.jpg">'
     '</figure><figcaption class="blocks-gallery-caption">Photos: © Getty Images</figcaption></figure>' + LONG),
    ("a refused picture after two hundred others", '<p><img src="https://cdn.example/x.jpg"></p>' * 200
     + '<p><img src="https://cdn.example/bad.jpg"><br>REUTERS/Jane Doe</p>' + LONG),
]


@pytest.mark.parametrize("name, html", REFUSED_PICTURES, ids=[case[0] for case in REFUSED_PICTURES])
def test_refused_pictures_never_stay_in_the_page(name, html):
    result = process(html)
    kept = [picture for picture in PICTURES if picture in result["content_html"]]
    assert result["decision"]["status"] == "blocked" or not kept, (name, kept, result["decision"]["reason"])


@pytest.mark.parametrize("src", ["https://cdn.example/p.jpg?w=1024", "https://cdn.example/p-1024x683.jpg",
                                 "//cdn.example/p.jpg", "http://cdn.example/p.jpg",
                                 "https://i0.wp.com/cdn.example/p.jpg"])
def test_a_media_rss_credit_reaches_the_picture_under_any_of_its_addresses(src):
    raw = {"media_content": [{"url": "https://cdn.example/p.jpg", "medium": "image"}],
           "media_credit": [{"role": "photographer", "content": "REUTERS/Jane Doe"}]}
    result = process(f'<p><img src="{src}"></p>' + LONG + "<p>This article is licensed under CC BY 4.0.</p>", raw=raw)
    assert result["decision"]["status"] == "blocked" or "cdn.example/p" not in result["content_html"]


def test_an_agency_named_as_the_author_is_a_third_party():
    decision = process(B, authors=["The Associated Press"])["decision"]
    assert decision["status"] == "blocked" and "The Associated Press" in decision["reason"]


def test_an_agency_in_the_feeds_own_copyright_is_a_third_party():
    entry = {"link": "https://agency.example/1", "content": B, "summary": "", "raw": {}}
    channel = {"title": "Agency", "url": "https://agency.example/feed", "rights": "© 2026 Reuters",
               "raw": {"rights": "© 2026 Reuters"}}
    decision = decide_license(entry, channel, source_license={"license": "CC-BY-4.0", "evidence": EDITOR["license_evidence"]},
                              policy=POLICY, seen_at=SEEN_AT)
    assert decision["status"] == "blocked" and "Reuters" in decision["reason"]


ORDINARY = [
    "<p>The EPA (which issues the permits) said the licensing review would end in June.</p>",
    "<p>Students taking AP (Advanced Placement) courses will sit the exams in May.</p>",
    "<p>The painting hangs in the Getty Center (Los Angeles) until March.</p>",
    "<p>The minister told Reuters (in an interview) that the talks had stalled.</p>",
    "<p>Michael Bloomberg (D) spoke first.</p>",
    "<p>The Keystone (XL) pipeline was cancelled.</p>",
    "<p>The man entered the house without permission, police said.</p>",
    "<p>The land is held by permission of the crown.</p>",
]


@pytest.mark.parametrize("prose", ORDINARY)
def test_ordinary_news_prose_does_not_block_a_cc_by_article(prose):
    html = B + prose + "<p>This article is licensed under CC BY 4.0.</p>"
    decision = process(html)["decision"]
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0"), decision["reason"]


@pytest.mark.parametrize("closing", [
    "<p>All Content by Bench News Agency is licensed under a Creative Commons Attribution 4.0 International License.</p>",
    "<p>This article is licensed under CC BY 4.0.</p>",
])
def test_the_agencys_closing_notice_right_after_the_last_picture_is_the_items_license(closing):
    decision = process(B + IMAGE + closing, editor=False)["decision"]
    assert (decision["status"], decision["license"], decision["media"]) == ("pending", "CC-BY-4.0", [])


def test_a_photo_credit_right_after_the_last_picture_stays_the_pictures():
    decision = process(B + IMAGE + "<p>Photo: J. Doe, CC BY-NC 2.0</p>", editor=False)["decision"]
    assert decision["status"] == "blocked" and decision["license"] is None
    assert [credit["license"] for credit in decision["media"]] == ["CC-BY-NC-2.0"]
