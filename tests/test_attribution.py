"""Attribution: the structured credit, its changes notice, and the rendered partial."""

import json
from pathlib import Path

import html5lib
import jinja2
import pytest

from republisher.attribution import build_attribution, changes_notice, json_ld, plain_credit
from xss_checks import assert_inert

REPO_ROOT = Path(__file__).resolve().parent.parent
CC_BY = {"license_id": "CC-BY-4.0", "license_name": "CC BY 4.0",
         "license_url": "https://creativecommons.org/licenses/by/4.0/"}
CC0 = {"license_id": "CC0-1.0", "license_name": "CC0 1.0 Universal",
       "license_url": "https://creativecommons.org/publicdomain/zero/1.0/"}
ORIGINAL = "https://en.mehrnews.com/news/212345/Floods-hit-north"
ENDORSEMENT_WORDING = ("in partnership", "provided by", "courtesy of", "endorse", "sponsored",
                       "official partner", "with permission", "thanks to")


def credit(**overrides) -> dict:
    """A CC BY 4.0 item with one author; keyword arguments replace fields."""
    fields = {"title": "Floods hit the north", "original_url": ORIGINAL, "creators": ["Jane Doe"],
              "publisher": "Mehr News Agency", "source_name": "Mehr News (English)",
              "source_url": "https://en.mehrnews.com/", "copyright_notice": None,
              "license_notice": None, "disclaimer": None, "changes": {}, **CC_BY}
    fields.update(overrides)
    return build_attribution(**fields)


def render(attribution: dict) -> str:
    """The partial rendered the way the site renders it, with autoescaping on."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO_ROOT / "templates")),
                             autoescape=True)
    return env.get_template("_attribution.html").render(attribution=attribution)


def footer(html: str):
    """The re-parsed footer.attribution element (there must be exactly one)."""
    tree = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    found = [element for element in tree.iter("footer")
             if "attribution" in element.get("class", "").split()]
    assert len(found) == 1, html
    return found[0]


def text_of(element) -> str:
    """The element's text content, whitespace folded."""
    return " ".join("".join(element.itertext()).split())


def links(element) -> list[tuple[str | None, str, str]]:
    """(rel, href, text) of every link in the element."""
    return [(a.get("rel"), a.get("href"), text_of(a)) for a in element.iter("a")]


def assert_no_endorsement(*texts: str) -> None:
    """No wording that suggests the publisher endorses the mirror."""
    for text in texts:
        lowered = text.lower()
        assert not [phrase for phrase in ENDORSEMENT_WORDING if phrase in lowered], text


def test_cc_by_item_with_an_author_credits_creator_publisher_license_and_changes():
    """Title linked to the original, creator, publisher, license deed with rel=license."""
    attribution = credit()
    block = footer(render(attribution))
    text = text_of(block)
    assert ("license", CC_BY["license_url"], "CC BY 4.0") in links(block)
    assert (None, ORIGINAL, "Floods hit the north") in links(block)
    assert "Floods hit the north by Jane Doe." in text
    assert "Originally published by Mehr News Agency." in text
    assert "Licensed under CC BY 4.0." in text
    assert text.endswith("Changes: HTML reformatted for this site.")
    assert_no_endorsement(text, plain_credit(attribution))


def test_item_without_author_is_credited_to_the_publisher():
    """No creators: no "by" clause, the publisher carries the credit, also in JSON-LD."""
    attribution = credit(creators=[])
    text = text_of(footer(render(attribution)))
    assert " by " not in text.replace("Originally published by", "")
    assert "Originally published by Mehr News Agency." in text
    data = json_ld(attribution, page_url="https://mirror.test/a/1", published=None,
                   site_name="Mirror")
    assert data["author"] == [{"@type": "Organization", "name": "Mehr News Agency",
                               "url": "https://en.mehrnews.com/"}]


def test_publisher_falls_back_to_the_source_name():
    """A source without a credit name is credited under its own name."""
    attribution = credit(publisher=None)
    assert attribution["publisher"] == "Mehr News (English)"


def test_copyright_and_other_notices_are_kept_verbatim_as_text():
    """Notices supplied by the source appear exactly as given, escaped, never as markup."""
    notice = "© 2024 Mehr News Agency <b>All rights</b> & more"
    attribution = credit(copyright_notice=notice,
                         license_notice="All Content by Mehr News Agency is licensed under a "
                                        "Creative Commons Attribution 4.0 International License.",
                         disclaimer="Provided as is, without warranties.")
    html = render(attribution)
    block = footer(html)
    paragraphs = {p.get("class"): "".join(p.itertext()) for p in block.iter("p")}
    assert paragraphs["attribution-copyright"] == notice
    assert paragraphs["attribution-license-notice"].startswith("All Content by Mehr News Agency")
    assert paragraphs["attribution-disclaimer"] == "Provided as is, without warranties."
    assert [element.tag for element in block.iter()].count("b") == 0
    assert "&lt;b&gt;All rights&lt;/b&gt; &amp; more" in html
    assert notice in plain_credit(attribution)


def test_credit_removed_on_request_keeps_license_and_changes_notice():
    """CC BY §3(a)(3): creators, publisher, copyright and the original link go; the rest stays."""
    attribution = credit(remove_credit=True, copyright_notice="© 2024 Mehr News Agency",
                         changes={"scripts": 1})
    block = footer(render(attribution))
    text = text_of(block)
    assert links(block) == [("license", CC_BY["license_url"], "CC BY 4.0")]
    assert "Jane Doe" not in text and "Mehr" not in text and "©" not in text
    assert "Licensed under CC BY 4.0." in text
    assert "Changes: HTML reformatted for this site; 1 script removed." in text
    assert "At the licensor's request" in text
    plain = plain_credit(attribution)
    assert "Jane Doe" not in plain and ORIGINAL not in plain and "Mehr" not in plain
    data = json_ld(attribution, page_url="https://mirror.test/a/1", published=None,
                   site_name="Mirror")
    assert "author" not in data and "isBasedOn" not in data and "copyrightNotice" not in data
    assert data["license"] == CC_BY["license_url"]


def test_cc0_item_gets_credit_as_a_courtesy():
    """No credit is required for CC0, but it is given, and labelled so."""
    attribution = credit(attribution_required=False, **CC0)
    block = footer(render(attribution))
    text = text_of(block)
    assert ("license", CC0["license_url"], "CC0 1.0 Universal") in links(block)
    assert (None, ORIGINAL, "Floods hit the north") in links(block)
    assert "by Jane Doe" in text and "Originally published by Mehr News Agency." in text
    assert "Licensed under" not in text
    assert "These terms do not require credit; it is given here as a courtesy." in text
    assert_no_endorsement(text.replace("as a courtesy", ""))


def test_hostile_fields_render_inert():
    """Feed-supplied text is escaped and script URLs never become links."""
    attribution = credit(title='<script>alert(1)</script>"><img src=x onerror=alert(1)>',
                         original_url="javascript:alert(1)", creators=["<svg onload=alert(1)>"],
                         publisher="<a href='javascript:alert(1)'>x</a>",
                         source_url=" JAVASCRIPT:alert(1)", copyright_notice="<style>x</style>",
                         license_url="data:text/html,<script>alert(1)</script>")
    html = render(attribution)
    assert_inert(html)
    block = footer(html)
    # work line (title, creators, publisher), copyright, license, changes: text and <bdi> only
    assert [element.tag for element in block.iter()] == ["footer", "p", "bdi", "span", "bdi",
                                                         "span", "bdi", "p", "p", "p"]
    assert links(block) == []


def test_urls_must_be_absolute_http():
    """Only absolute http(s) URLs are kept for the original, the publisher and the deed."""
    attribution = credit(original_url="/news/1", source_url="ftp://example.org/",
                         license_url="//creativecommons.org/licenses/by/4.0/")
    assert attribution["original_url"] is None
    assert attribution["publisher_url"] is None
    assert attribution["license"]["url"] is None


def test_attribution_is_json_serializable():
    """The dict is stored with the item as JSON."""
    attribution = credit(changes={"scripts": 2})
    assert json.loads(json.dumps(attribution)) == attribution


@pytest.mark.parametrize("changes, expected", [
    ({}, "Changes: HTML reformatted for this site."),
    ({"links_rewritten": 3}, "Changes: HTML reformatted for this site."),
    ({"scripts": 0, "frames": 0}, "Changes: HTML reformatted for this site."),
    ({"scripts": 1}, "Changes: HTML reformatted for this site; 1 script removed."),
    ({"scripts": 2, "frames": 1},
     "Changes: HTML reformatted for this site; 2 scripts and 1 embedded frame removed."),
    ({"frames": 2, "tracking_pixels": 1, "scripts": 3, "links_rewritten": 9},
     "Changes: HTML reformatted for this site; 3 scripts, 2 embedded frames and 1 tracking pixel"
     " removed."),
    ({"inline_styles": 1200, "images": 1},
     "Changes: HTML reformatted for this site; 1,200 inline styles and 1 image removed."),
    ({"truncated": 1, "styles": 1},
     "Changes: HTML reformatted for this site; 1 style sheet removed; overlong text truncated."),
])
def test_changes_notice_wording_is_exact(changes, expected):
    """Singular and plural right, commas and "and", reformatting-only counts not named."""
    assert changes_notice(changes) == expected


def test_changes_notice_appends_editor_changes_and_keeps_earlier_notice():
    """Editor changes follow the sanitizer's; an earlier notice from the source is kept."""
    notice = changes_notice({"scripts": 2, "frames": 1}, ["title edited by the editors"],
                            "Translated from Persian by the agency.")
    assert notice == ("Changes: HTML reformatted for this site; 2 scripts and 1 embedded frame "
                      "removed; title edited by the editors. Earlier changes: Translated from "
                      "Persian by the agency.")


def test_changes_notice_names_unknown_counts_rather_than_hiding_them():
    """A count the notice has no words for is still reported."""
    assert changes_notice({"widgets": 2}) == \
        "Changes: HTML reformatted for this site; widgets (2) removed."


def test_build_attribution_carries_the_changes_notice():
    """The block's notice is built from the sanitizer's counts and the editors' changes."""
    attribution = credit(changes={"scripts": 2, "frames": 1},
                         editor_changes=["title edited by the editors"],
                         earlier_changes_notice="Abridged.")
    assert attribution["changes_notice"] == (
        "Changes: HTML reformatted for this site; 2 scripts and 1 embedded frame removed; "
        "title edited by the editors. Earlier changes: Abridged.")
    assert text_of(footer(render(attribution))).endswith("Earlier changes: Abridged.")


def test_plain_credit_is_one_paragraph_with_everything():
    """Title, creators, publisher, URL, notices, license with deed URL, changes."""
    attribution = credit(creators=["Jane Doe", "Ali Rezaei", "Sam Lee"],
                         copyright_notice="© 2024 Mehr News Agency")
    assert plain_credit(attribution) == (
        "\u201cFloods hit the north\u201d by Jane Doe, Ali Rezaei and Sam Lee, originally "
        f"published by Mehr News Agency ({ORIGINAL}). © 2024 Mehr News Agency. Licensed under "
        "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Changes: HTML reformatted for"
        " this site.")
    assert "\n" not in plain_credit(attribution)


def test_json_ld_describes_the_article_and_its_source():
    """schema.org Article with license, isBasedOn, author, publisher, copyrightNotice."""
    attribution = credit(copyright_notice="© 2024 Mehr News Agency")
    data = json_ld(attribution, page_url="https://mirror.test/a/1-floods",
                   published="2024-05-01T10:00:00+00:00", site_name="Mirror")
    assert data["@context"] == "https://schema.org" and data["@type"] == "Article"
    assert data["headline"] == "Floods hit the north"
    assert data["url"] == "https://mirror.test/a/1-floods"
    assert data["datePublished"] == "2024-05-01T10:00:00+00:00"
    assert data["license"] == CC_BY["license_url"]
    assert data["author"] == [{"@type": "Person", "name": "Jane Doe"}]
    assert data["publisher"] == {"@type": "Organization", "name": "Mirror"}
    assert data["isBasedOn"]["url"] == ORIGINAL
    assert data["isBasedOn"]["publisher"]["name"] == "Mehr News Agency"
    assert data["copyrightNotice"] == "© 2024 Mehr News Agency"
    assert data["creditText"] == plain_credit(attribution)
    json.dumps(data)


def test_right_to_left_names_are_isolated():
    """Persian names and titles sit in <bdi> so they do not reorder the English around them."""
    attribution = credit(title="سیل در شمال", creators=["مریم احمدی"],
                         publisher="خبرگزاری مهر")
    block = footer(render(attribution))
    isolated = [text_of(element) for element in block.iter("bdi")]
    assert isolated == ["سیل در شمال", "مریم احمدی", "خبرگزاری مهر"]


def test_partial_and_text_forms_accept_an_incomplete_stored_dict():
    """Items stored before a field existed still render."""
    assert plain_credit({}) == "\u201cUntitled\u201d."
    assert json_ld({}, page_url="https://mirror.test/a/1", published=None,
                   site_name="Mirror")["headline"] == "Untitled"
    assert text_of(footer(render({"title": "Old"}))) == "Old."


def test_an_earlier_modification_notice_in_the_source_is_found_and_kept():
    from republisher.processor import process_entry

    entry = {"title": "Harbour plan", "link": "https://agency.example/harbour", "authors": ["Ana Silva"],
             "content": "<p>The plan was approved.</p><p>This article was translated from Portuguese by the newsroom.</p>",
             "content_type": "text/html", "base": "https://agency.example/", "raw": {}}
    feed = {"title": "Agency", "url": "https://agency.example/feed", "raw": {}}
    processed = process_entry(entry, feed, {"name": "Agency", "url": "https://agency.example/feed"},
                              frozenset({"CC-BY-4.0"}), "2026-01-01T00:00:00+00:00")
    assert processed["attribution"]["changes_notice"] == (
        "Changes: HTML reformatted for this site. Earlier changes: This article was translated from Portuguese "
        "by the newsroom.")


def test_no_earlier_notice_is_invented():
    from republisher.attribution import earlier_modification_notice

    assert earlier_modification_notice("Ferries resumed on Monday.", None) is None
    assert earlier_modification_notice("© 2026 Agency. Adapted from a report by the port authority.") == (
        "Adapted from a report by the port authority.")
