"""Restrictive and contradicting license statements, however they are written, against an editor's CC BY.

Each spelling goes into an item's rights text, into the item's own closing notice in its HTML, and into
the rights of an Atom entry's <source>, in feeds parsed the way the pipeline parses them. The source
license an editor recorded is CC BY 4.0, the lowest level: every spelling must hold or block the item,
never fall through to the editor's license; the plain CC BY controls must still be pending as CC BY.
"""

from xml.sax.saxutils import escape

import pytest

from republisher import licenses
from republisher.licensing import decide_license
from republisher.parser import parse_feed

EDITOR_CC_BY = {"license": "CC-BY-4.0", "set_at": "2026-11-01T09:00:00+00:00",
                "evidence": "https://northwind.example/about: All Content by Northwind News Agency is licensed "
                            "under a Creative Commons Attribution 4.0 International License."}
POLICY = licenses.allowed_by_default()
SEEN_AT = "2026-12-01T10:00:00+00:00"

RESTRICTIVE = [
    # dashes, hyphens, invisible characters and lookalike letters
    "CC BY-NC 4.0",
    "CC BY\u2011NC 4.0",                  # non-breaking hyphen
    "CC BY\u2013NC 4.0",                  # en dash
    "CC BY\u2014NC 4.0",                  # em dash
    "CC BY\u2212NC 4.0",                  # minus sign
    "CC BY-\u00adNC 4.0",                 # soft hyphen
    "CC BY-N\u200bC 4.0",                 # zero-width space inside NC
    "C\u200bC BY-NC 4.0",                 # zero-width space inside CC
    "CC BY-NC\u200d 4.0",                 # zero-width joiner
    "CC BY\u2060-NC 4.0",                 # word joiner
    "\u0421\u0421 BY-NC 4.0",             # Cyrillic CC
    "CC BY-N\u0421 4.0",                  # Cyrillic C in NC
    "CC \u0392\u03a5-NC 4.0",             # Greek BY
    "CC \uff22\uff39\uff0d\uff2e\uff23 4.0",  # full-width
    "CC BY NC 4.0",
    "CC-BY-NC-4.0",
    "cc by-nc",
    "CC BY-NC-SA 4.0",
    "CC BY-NC-ND 4.0",
    "CC BY-ND 4.0",
    "CC BY-ND 2.0",
    # names in words
    "Creative Commons Attribution-NonCommercial 4.0 International",
    "Creative Commons Attribution Non Commercial 4.0",
    "Creative Commons Attribution-Non-Commercial 3.0",
    "Creative Commons Attribution-NoDerivs 3.0 Unported",
    "Creative Commons Attribution-NoDerivatives 4.0 International",
    "Creative Commons Attribution No Derivatives 4.0",
    "Creative Commons Attribution-NonCommercial-NoDerivs 2.5",
    "Creative Commons (BY-NC)",
    "Creative Commons (BY-ND)",
    "Creative Commons BY-NC-SA",
    "CC-BY-NC 4.0 (Namensnennung, nicht kommerziell)",
    # the languages Creative Commons publishes its deeds in
    "Namensnennung - Nicht kommerziell 4.0 International",
    "Creative Commons Namensnennung - Nicht-kommerziell - Keine Bearbeitung 3.0 Deutschland",
    "Atribución-NoComercial 4.0 Internacional",
    "Reconocimiento-NoComercial-SinObraDerivada 2.5 España",
    "Licencia Creative Commons Atribución-NoComercial-CompartirIgual 4.0",
    "Paternité - Pas d'Utilisation Commerciale 2.0 France",
    "Paternité - Pas d\u2019Utilisation Commerciale - Pas de Modification 3.0",
    "Attribuzione - Non commerciale 4.0 Internazionale",
    "Naamsvermelding-NietCommercieel 4.0 Internationaal",
    "Atribuição-NãoComercial 4.0 Internacional",
    "Uznanie autorstwa - Użycie niekomercyjne 4.0",
    "表示 - 非営利 4.0 国際",
    "署名-非商业性使用 4.0 国际",
    # license URLs, old versions and ports
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-nc/1.0/",
    "http://creativecommons.org/licenses/by-nd-nc/1.0/",
    "CC BY-NC 1.0",
    "https://creativecommons.org/licenses/by-nc-sa/2.0/fr/",
    "Creative Commons Attribution-NonCommercial-ShareAlike 2.0 England and Wales",
    # terms that restrict, reserve or credit someone else, and licenses nobody knows
    "Not for commercial use",
    "For non-commercial use only",
    "Personal use only",
    "Pas d\u2019Utilisation Commerciale",
    "All rights reserved",
    "Alle Rechte vorbehalten",
    "© 2026 Reuters",
    "© AFP",
    "Copyright 2026 The Associated Press",
    "Republication prohibited",
    "No derivative works",
    # wordings a keyword alone does not lead to
    "Broadcast is forbidden",
    "Posting is not allowed",
    "You may not sell this story",
    "May not be modified",
    "For non-profit use only",
    "CC BY 4.0; not for commercial use",
    "CC BY 4.0 \u2014 NoDerivs",
    "Creative Commons Attribution-NonCommercial 5.0 International",
    "Licensed under a Creative Commons license",
    "CC BY-SA-ND 4.0",
]
CONTROLS = [
    "CC BY 4.0",
    "Creative Commons Attribution 4.0 International",
    "Creative Commons Attribution 4.0 International License (CC BY 4.0)",
    "https://creativecommons.org/licenses/by/4.0/",
    "CC BY",
    "CC\u2011BY 4.0",
    "\u0421\u0421 BY 4.0",
    "Namensnennung 4.0 International",
]
LICENSE_LIKE = ("cc", "creative", "http", "namens", "atribu", "recon", "pater", "attri", "naams", "uznanie", "表示",
                "署名", "licencia", "\u0441\u0441")


def rss(rights: str | None = None, html: str = "<p>The council met on Tuesday.</p>") -> bytes:
    """An RSS feed of one item with the given rights text and HTML, and no license of its own."""
    rights_element = f"<dc:rights>{escape(rights)}</dc:rights>" if rights else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Northwind News Agency</title>'
        "<link>https://northwind.example/</link><description>News</description><item>"
        "<title>Council approves the harbour budget</title><link>https://northwind.example/news/1</link>"
        f"<guid>https://northwind.example/news/1</guid>{rights_element}"
        f"<content:encoded><![CDATA[{html}]]></content:encoded></item></channel></rss>").encode("utf-8")


def atom_with_source_rights(rights: str) -> bytes:
    """An Atom feed whose one entry was copied from a source that states the given rights."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Northwind News Agency</title><id>urn:northwind</id><updated>2026-12-01T00:00:00Z</updated>"
        "<entry><title>Council approves the harbour budget</title><id>urn:northwind:1</id>"
        '<link href="https://northwind.example/news/1"/><updated>2026-12-01T00:00:00Z</updated>'
        f"<source><id>urn:partner</id><title>Harbour Desk</title><rights>{escape(rights)}</rights></source>"
        '<content type="html">&lt;p&gt;The council met on Tuesday.&lt;/p&gt;</content></entry></feed>').encode("utf-8")


def closing_notice(spelling: str) -> str:
    """An article whose closing notice gives the spelling: as its license, or as a line of its own."""
    body = "<p>The council met on Tuesday and approved the harbour budget.</p><p>Work starts in May.</p>"
    if spelling.lower().startswith(LICENSE_LIKE):
        return body + f"<p><em>This article is licensed under {spelling}.</em></p>"
    return body + f"<p>{spelling}.</p>"


def decide(body: bytes) -> dict:
    """The decision for the one entry of a feed, with the editor's CC BY source license."""
    parsed = parse_feed(body, {}, "https://northwind.example/feed")
    return decide_license(parsed["entries"][0], parsed["feed"], source_license=EDITOR_CC_BY, policy=POLICY,
                          seen_at=SEEN_AT)


PLACES = {"rights text": lambda spelling: rss(rights=spelling),
          "html": lambda spelling: rss(html=closing_notice(spelling)),
          "atom source": atom_with_source_rights}


def test_the_table_holds_at_least_fifty_restrictive_spellings():
    assert len(set(RESTRICTIVE)) == len(RESTRICTIVE) >= 50


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("spelling", RESTRICTIVE)
def test_every_restrictive_spelling_holds_or_blocks_the_item(place, spelling):
    decision = decide(PLACES[place](spelling))
    assert decision["status"] == "blocked" and not decision["allowed"], (place, spelling, decision["reason"])
    assert decision["evidence"] is None or decision["evidence"]["level"] != "editor_source"
    assert decision["license"] != "CC-BY-4.0"
    assert decision["reason"]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("spelling", CONTROLS)
def test_plain_cc_by_controls_still_pass(place, spelling):
    decision = decide(PLACES[place](spelling))
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0"), (place, spelling, decision["reason"])


def test_without_any_statement_the_editors_source_license_decides():
    decision = decide(rss())
    assert (decision["status"], decision["license"], decision["evidence"]["level"]) == (
        "pending", "CC-BY-4.0", "editor_source")


@pytest.mark.parametrize("spelling, license_id", [
    ("CC BY\u2011NC 4.0", "CC-BY-NC-4.0"),
    ("\u0421\u0421 BY-ND 4.0", "CC-BY-ND-4.0"),
    ("Namensnennung - Nicht kommerziell 4.0 International", "CC-BY-NC-4.0"),
    ("Paternité - Pas d'Utilisation Commerciale 2.0 France", "LicenseRef-CC-BY-NC-2.0-FR"),
    ("https://creativecommons.org/licenses/by-nc/1.0/", "CC-BY-NC-1.0"),
])
def test_a_restrictive_license_is_named_exactly_in_the_reason(spelling, license_id):
    decision = decide(rss(rights=spelling))
    assert decision["license"] == license_id
    assert decision["reason"] == licenses.refusal(license_id)
    assert "non-commercial" in decision["reason"] or "no derivatives" in decision["reason"]
