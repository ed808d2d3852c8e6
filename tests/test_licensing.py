"""License decisions over real feed files: every place a license can be stated, precedence and conflicts."""

import copy
from pathlib import Path

import pytest

from republisher import licenses
from republisher.licensing import decide_license
from republisher.parser import parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "licensing"
FEED_URL = "https://agency.example/feed"
SEEN_AT = "2024-03-12T10:00:00+00:00"
DEFAULT = licenses.allowed_by_default()
FINDING_KEYS = {"license", "level", "level_no", "found_in", "location", "matched", "url", "seen_at", "kind"}
DECISION_KEYS = {"license", "allowed", "status", "reason", "evidence", "findings", "rights", "attribution_party",
                 "media"}


def parsed(name: str) -> dict:
    """A fixture feed parsed the way the pipeline parses it."""
    return parse_feed((FIXTURES / name).read_bytes(), {}, FEED_URL)


def decide(name: str, index: int, policy=DEFAULT, **options) -> dict:
    """The decision for one entry of a fixture feed."""
    feed = parsed(name)
    return decide_license(feed["entries"][index], feed["feed"], policy=policy, seen_at=SEEN_AT, **options)


# (fixture, entry index, status, license, evidence level, found_in)
CASES = [
    ("rss_cc_userland_items.xml", 0, "pending", "CC-BY-4.0", "item", "creativeCommons:license"),
    ("rss_cc_userland_items.xml", 2, "pending", "CC-BY-4.0", "item", "creativeCommons:license"),
    ("rss_cc_harvard_channel.xml", 0, "pending", "CC-BY-SA-4.0", "feed", "creativeCommons:license"),
    ("rss_cc_harvard_channel.xml", 2, "pending", "CC-BY-SA-4.0", "feed", "creativeCommons:license"),
    ("rss10_cc_license.xml", 0, "pending", "CC-BY-2.0", "item", "cc:license"),
    ("rss10_cc_license.xml", 2, "pending", "CC-BY-2.0", "feed", "cc:license"),
    ("atom_entry_license.xml", 0, "pending", "CC-BY-4.0", "item", "atom link rel=license"),
    ("atom_entry_license.xml", 1, "pending", "CC-BY-4.0", "item", "atom link rel=license"),
    ("atom_feed_license.xml", 0, "pending", "CC-BY-4.0", "feed", "atom link rel=license"),
    ("atom_feed_license.xml", 1, "pending", "CC-BY-4.0", "feed", "atom link rel=license"),
    ("atom_source_license.xml", 0, "pending", "CC-BY-4.0", "source", "atom link rel=license"),
    ("atom_source_license.xml", 1, "pending", "CC-BY-4.0", "source", "atom link rel=license"),
    ("rss_dcterms_license.xml", 0, "pending", "CC-BY-4.0", "item", "dcterms:license"),
    ("rss_dcterms_license.xml", 1, "pending", "CC-BY-4.0", "item", "dcterms:license"),
    ("rss_media_license.xml", 0, "pending", "CC-BY-4.0", "item", "media:license"),
    ("rss_media_license.xml", 1, "pending", "CC-BY-4.0", "item", "media:license"),
    ("rss_dc_rights_nc_sa.xml", 0, "blocked", "CC-BY-NC-SA-4.0", "item", "dc:rights"),
    ("rss_dc_rights_nc_sa.xml", 1, "blocked", "CC-BY-NC-SA-4.0", "item", "dc:rights"),
    ("atom_rights_licensed_under.xml", 0, "pending", "CC-BY-4.0", "item", "atom rights"),
    ("rss_html_statement.xml", 0, "pending", "CC-BY-4.0", "content", "html statement"),
    ("rss_html_statement.xml", 1, "pending", "CC-BY-4.0", "content", "html statement"),
    ("rss_html_statement.xml", 2, "pending", "CC-BY-4.0", "content", "html rel=license"),
    ("rss_channel_by_item_nd.xml", 0, "pending", "CC-BY-4.0", "feed", "creativeCommons:license"),
    ("rss_channel_by_item_nd.xml", 1, "blocked", "CC-BY-ND-4.0", "item", "creativeCommons:license"),
    ("rss_channel_by_item_nd.xml", 2, "pending", "CC-BY-4.0", "feed", "creativeCommons:license"),
    ("rss_cc0.xml", 0, "pending", "CC0-1.0", "feed", "creativeCommons:license"),
    ("rss_cc0.xml", 1, "pending", "PDM-1.0", "item", "creativeCommons:license"),
    ("rss_nc_feed.xml", 0, "blocked", "CC-BY-NC-4.0", "feed", "creativeCommons:license"),
    ("atom_entry_overrides_feed.xml", 0, "pending", "CC-BY-4.0", "item", "atom link rel=license"),
    ("atom_entry_overrides_feed.xml", 1, "blocked", "CC-BY-NC-4.0", "feed", "atom link rel=license"),
    ("rss_fa_agency_cc_by.xml", 0, "pending", "CC-BY-4.0", "feed", "copyright"),
    ("rss_fa_agency_cc_by.xml", 2, "pending", "CC-BY-4.0", "feed", "copyright"),
    ("rss_item_two_licenses.xml", 0, "pending", "CC-BY-4.0", "item", "creativeCommons:license"),
    ("rss_cc_by_third_party_rights.xml", 0, "pending", "CC-BY-4.0", "feed", "creativeCommons:license"),
]


@pytest.mark.parametrize("name, index, status, license_id, level, found_in", CASES)
def test_license_is_found_at_the_expected_level(name, index, status, license_id, level, found_in):
    decision = decide(name, index)
    assert (decision["status"], decision["license"]) == (status, license_id)
    assert (decision["evidence"]["level"], decision["evidence"]["found_in"]) == (level, found_in)
    assert decision["evidence"]["license"] == license_id
    assert decision["allowed"] is (status == "pending")
    if status == "blocked":
        assert decision["reason"] == licenses.refusal(license_id)
    else:
        assert decision["reason"] is None


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.xml")))
def test_every_fixture_gives_a_complete_decision_and_pending_only_when_allowed(name):
    feed = parsed(name)
    assert 2 <= len(feed["entries"]) <= 3
    for entry in feed["entries"]:
        before = copy.deepcopy(entry), copy.deepcopy(feed["feed"])
        decision = decide_license(entry, feed["feed"], policy=DEFAULT, seen_at=SEEN_AT)
        assert (entry, feed["feed"]) == before
        assert set(decision) == DECISION_KEYS
        assert decision["status"] in ("pending", "blocked")
        assert (decision["status"] == "pending") is decision["allowed"]
        assert decision["allowed"] is (decision["license"] in DEFAULT)
        assert (decision["reason"] is None) is decision["allowed"]
        for finding in decision["findings"] + ([decision["evidence"]] if decision["evidence"] else []):
            assert FINDING_KEYS <= set(finding) <= FINDING_KEYS | {"party", "term", "block"}
            assert finding["seen_at"] == SEEN_AT


def test_evidence_records_level_number_match_and_where_it_was_seen():
    item = decide("rss_cc_userland_items.xml", 0)["evidence"]
    assert item == {"license": "CC-BY-4.0", "level": "item", "level_no": 1, "found_in": "creativeCommons:license",
                    "matched": "http://creativecommons.org/licenses/by/4.0/",
                    "url": "https://harbor-gazette.example/2024/03/ferry-service-resumes", "seen_at": SEEN_AT,
                    "kind": "license", "location": "item metadata"}
    feed = decide("rss_cc_harvard_channel.xml", 0)["evidence"]
    assert (feed["level_no"], feed["url"]) == (3, FEED_URL)
    source = decide("atom_source_license.xml", 0)["evidence"]
    assert source["level_no"] == 2
    content = decide("rss_html_statement.xml", 0)["evidence"]
    assert content["level_no"] == 4
    assert content["matched"] == ("All Content by Eastport Observer is licensed under a Creative Commons "
                                  "Attribution 4.0 International License.")
    assert content["url"] == "https://eastport-observer.example/news/island-school-saved"


def test_seen_at_defaults_to_now():
    feed = parsed("rss_cc_userland_items.xml")
    decision = decide_license(feed["entries"][0], feed["feed"], policy=DEFAULT)
    assert decision["evidence"]["seen_at"][:2] == "20" and decision["evidence"]["seen_at"].endswith("+00:00")


def test_channel_license_in_the_harvard_namespace_is_inherited_by_every_item():
    feed = parsed("rss_cc_harvard_channel.xml")
    decisions = [decide_license(entry, feed["feed"], policy=DEFAULT, seen_at=SEEN_AT) for entry in feed["entries"]]
    assert [d["license"] for d in decisions] == ["CC-BY-SA-4.0"] * 3
    assert all(d["status"] == "pending" for d in decisions)


def test_source_license_overrides_the_aggregators_feed_license():
    decision = decide("atom_source_license.xml", 0)
    assert {(f["level"], f["license"]) for f in decision["findings"]} == {
        ("source", "CC-BY-4.0"), ("feed", "CC-BY-NC-4.0")}
    assert decision["attribution_party"] == "Coastline Times"
    assert decision["rights"] == "© 2024 Coastline Times, CC BY 4.0"


def test_entry_license_overrides_the_feeds_in_both_directions():
    wider = decide("atom_entry_overrides_feed.xml", 0)  # feed NC, entry BY
    assert (wider["status"], wider["license"], wider["evidence"]["level"]) == ("pending", "CC-BY-4.0", "item")
    narrower = decide("rss_channel_by_item_nd.xml", 1)  # feed BY, entry ND
    assert (narrower["status"], narrower["license"], narrower["evidence"]["level"]) == (
        "blocked", "CC-BY-ND-4.0", "item")
    assert narrower["reason"] == "CC-BY-ND-4.0 is not allowed by policy: no derivatives"


def test_html_naming_the_license_without_a_version_agrees_with_the_metadata():
    decision = decide("atom_entry_overrides_feed.xml", 0)
    assert ("content", "CC-BY-4.0") in {(f["level"], f["license"]) for f in decision["findings"]}
    assert decision["status"] == "pending"


def test_no_license_anywhere_is_blocked():
    for index in (0, 1):
        decision = decide("rss_no_license.xml", index)
        assert (decision["status"], decision["license"], decision["reason"]) == ("blocked", None, "no license found")
        assert decision["evidence"] is None and decision["findings"] == []
        assert decision["rights"] == "© 2024 Lakeside Tribune"


def test_editor_source_license_applies_where_the_feed_says_nothing():
    source_license = {"license": "CC-BY-4.0", "set_at": "2024-03-01T09:00:00+00:00",
                      "evidence": "footer: All Content by Lakeside Tribune is licensed under a Creative Commons "
                                  "Attribution 4.0 International License. https://lakeside-tribune.example/about"}
    decision = decide("rss_no_license.xml", 0, source_license=source_license)
    assert (decision["status"], decision["license"], decision["reason"]) == ("pending", "CC-BY-4.0", None)
    evidence = decision["evidence"]
    assert (evidence["level"], evidence["level_no"], evidence["found_in"]) == (
        "editor_source", 5, "source license set by an editor")
    assert evidence["matched"] == source_license["evidence"]
    assert evidence["url"] == "https://lakeside-tribune.example/about"
    assert evidence["seen_at"] == "2024-03-01T09:00:00+00:00"


def test_editor_source_license_does_not_replace_what_the_feed_states():
    decision = decide("rss_nc_feed.xml", 0, source_license={"license": "CC-BY-4.0", "evidence": "site footer"})
    assert (decision["status"], decision["license"], decision["evidence"]["level"]) == (
        "blocked", "CC-BY-NC-4.0", "feed")
    assert "editor_source" in {f["level"] for f in decision["findings"]}


def test_nc_feed_is_allowed_when_the_policy_includes_nc():
    policy = licenses.parse_policy("CC-BY-4.0, CC-BY-NC-4.0")
    decision = decide("rss_nc_feed.xml", 1, policy=policy)
    assert (decision["status"], decision["license"], decision["allowed"], decision["reason"]) == (
        "pending", "CC-BY-NC-4.0", True, None)
    assert decide("rss_nc_feed.xml", 1)["status"] == "blocked"


def test_all_rights_reserved_without_a_license_is_blocked_as_no_license():
    decision = decide("rss_all_rights_reserved.xml", 0)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("no license found")
    assert "reserves all rights" in decision["reason"]
    assert [(f["level"], f["kind"], f["found_in"]) for f in decision["findings"]] == [
        ("feed", "reserved", "copyright or dc:rights")]
    assert decision["rights"] == "Copyright © 2024 Summit Media Group. All rights reserved."


def test_all_rights_reserved_against_an_editors_source_license_is_a_conflict():
    decision = decide("rss_all_rights_reserved.xml", 0, source_license={"license": "CC-BY-4.0", "evidence": "x"})
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("conflict: the source license set by an editor is CC-BY-4.0 but ")
    assert "reserves all rights" in decision["reason"]


def test_third_party_credit_in_a_cc_feed_is_a_conflict():
    decision = decide("rss_cc_by_third_party_rights.xml", 1)
    assert (decision["status"], decision["license"], decision["evidence"]) == ("blocked", None, None)
    assert decision["reason"] == (
        'conflict: feed metadata says CC-BY-4.0 (creativeCommons:license) but the item\'s rights text credits '
        'a third party, Reuters ("© Reuters 2024. Republished with permission.")')
    # "Republished with permission" is a restriction of its own: nobody else may republish it
    assert {"third_party", "restricted", "license"} == {f["kind"] for f in decision["findings"]}


def test_all_rights_reserved_on_an_item_of_a_cc_feed_is_a_conflict():
    decision = decide("rss_cc_by_third_party_rights.xml", 2)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("conflict: feed metadata says CC-BY-4.0 (creativeCommons:license) but "
                                         "the item's rights text reserves all rights")


def test_html_statement_that_contradicts_the_metadata_blocks_the_item():
    agreeing = decide("rss_html_contradicts_metadata.xml", 0)
    assert (agreeing["status"], agreeing["license"], agreeing["evidence"]["level"]) == (
        "pending", "CC-BY-4.0", "item")
    decision = decide("rss_html_contradicts_metadata.xml", 1)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"] == ("conflict: item metadata says CC-BY-4.0 (creativeCommons:license) but the "
                                  "item's HTML says CC-BY-ND-4.0 (closing sentence: "
                                  '"https://creativecommons.org/licenses/by-nd/4.0/")')
    assert {(f["level"], f["license"], f["found_in"], f["location"]) for f in decision["findings"]} == {
        ("item", "CC-BY-4.0", "creativeCommons:license", "item metadata"),
        ("content", "CC-BY-ND-4.0", "html link to a license", "closing sentence"),
        ("content", "CC-BY-ND-4.0", "html statement", "closing sentence"),
        ("content", None, "html statement", "closing sentence")}  # "Please do not edit it.": no derivatives


def test_two_licenses_at_the_same_level_block_the_item():
    decision = decide("rss_item_two_licenses.xml", 1)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"] == ("conflict: item metadata says CC-BY-4.0 (creativeCommons:license) but item "
                                  "metadata says CC-BY-SA-4.0 (dcterms:license)")


def test_a_license_outside_the_registry_blocks_the_item_instead_of_inheriting_the_feeds():
    assert decide("atom_custom_license.xml", 0)["status"] == "pending"
    decision = decide("atom_custom_license.xml", 1)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("unrecognized license: item metadata names "
                                         '"https://syndication-partner.example/terms/editorial-use"')


def test_editor_override_wins_and_is_recorded_as_such():
    override = {"license": "CC-BY-4.0", "evidence": "email from the author, 2024-03-05: the column is CC BY 4.0",
                "set_at": "2024-03-06T08:00:00+00:00"}
    decision = decide("rss_channel_by_item_nd.xml", 1, override=override)
    assert (decision["status"], decision["license"], decision["reason"]) == ("pending", "CC-BY-4.0", None)
    evidence = decision["evidence"]
    assert (evidence["level"], evidence["level_no"], evidence["found_in"]) == (
        "editor_override", 0, "override by an editor")
    assert (evidence["matched"], evidence["seen_at"]) == (override["evidence"], override["set_at"])
    assert evidence["url"] == "https://metro-wire.example/opinion/empty-offices"
    assert decision["findings"][0] == evidence
    assert {"item", "feed"} <= {f["level"] for f in decision["findings"]}


def test_editor_override_resolves_a_conflict_but_must_still_be_allowed_by_policy():
    resolved = decide("rss_html_contradicts_metadata.xml", 1,
                      override={"license": "CC-BY-4.0", "evidence": "https://hilltop-herald.example/licensing"})
    assert (resolved["status"], resolved["license"]) == ("pending", "CC-BY-4.0")
    assert resolved["evidence"]["url"] == "https://hilltop-herald.example/licensing"
    refused = decide("rss_cc_userland_items.xml", 0, override={"license": "cc-by-nd-4.0", "evidence": "x"})
    assert (refused["status"], refused["license"], refused["reason"]) == (
        "blocked", "CC-BY-ND-4.0", "CC-BY-ND-4.0 is not allowed by policy: no derivatives")
    nothing = decide("rss_cc_userland_items.xml", 0, override={"license": None, "evidence": "takedown request"})
    assert (nothing["status"], nothing["license"]) == ("blocked", None)
    assert nothing["reason"].startswith("no license found")


def test_persian_agency_feed_keeps_its_title_and_english_license_statement():
    feed = parsed("rss_fa_agency_cc_by.xml")
    assert feed["feed"]["language"] == "fa"
    decision = decide_license(feed["entries"][1], feed["feed"], policy=DEFAULT, seen_at=SEEN_AT)
    assert decision["attribution_party"] == "خبرگزاری پارس‌نما"
    assert decision["rights"] == ("All Content by Parsnama News Agency is licensed under a Creative Commons "
                                  "Attribution 4.0 International License.")


def test_rights_text_is_retained_from_the_item_first():
    decision = decide("rss_item_two_licenses.xml", 0)
    assert decision["rights"] == "© 2024 Prairie Courier. CC BY 4.0"
    assert decide("atom_feed_license.xml", 0)["rights"] == "© 2024 City Council. Text available under CC BY 4.0."
    assert decide("rss_cc_userland_items.xml", 0)["rights"] is None


def test_html_statement_in_persian_text_and_hand_built_entries():
    feed = {"title": "خبرگزاری نمونه", "url": FEED_URL, "format": "rss20", "namespaces": {}, "raw": {}}
    entry = {"link": "https://news.example/fa/1", "summary": "",
             "content": ("<p>متن خبر درباره بارش برف در شمال کشور.</p>"
                         "<p>This work is licensed under a Creative Commons Attribution-ShareAlike 4.0 "
                         "International License.</p>"),
             "raw": {}}
    decision = decide_license(entry, feed, policy=DEFAULT, seen_at=SEEN_AT)
    assert (decision["status"], decision["license"], decision["evidence"]["found_in"]) == (
        "pending", "CC-BY-SA-4.0", "html statement")
    assert decision["evidence"]["matched"] == ("This work is licensed under a Creative Commons "
                                               "Attribution-ShareAlike 4.0 International License.")


def test_parser_reports_format_and_namespaces_for_the_license_stage():
    feed = parsed("rss10_cc_license.xml")["feed"]
    assert feed["format"] == "rss10"
    assert "http://web.resource.org/cc/" in feed["namespaces"].values()
    assert parsed("atom_feed_license.xml")["feed"]["format"] == "atom10"


def hand_built(rights: str | None, feed_license: str = "https://creativecommons.org/licenses/by/4.0/") -> dict:
    """A decision for an entry with the given rights text in a feed licensed by feed_license."""
    feed = {"title": "Northwind News Agency", "url": FEED_URL, "format": "rss20", "namespaces": {},
            "raw": {"links": [{"rel": "license", "href": feed_license}]}}
    entry = {"link": "https://news.example/1", "content": "<p>News.</p>", "summary": "", "rights": rights,
             "raw": {"rights": rights, "rights_detail": {"type": "text/plain"}} if rights else {}}
    return decide_license(entry, feed, policy=DEFAULT, seen_at=SEEN_AT)


@pytest.mark.parametrize("rights", [
    "Photo: REUTERS/Jane Roe", "(AP Photo/John Doe)", "© AFP 2024", "Getty Images", "© EPA-EFE",
    "کلیه حقوق این سایت محفوظ است", "جميع الحقوق محفوظة", "© 2024 Northwind News Agency. All rights reserved.",
])
def test_item_rights_that_reserve_rights_or_credit_a_third_party_conflict_with_the_cc_feed(rights):
    decision = hand_built(rights)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert decision["reason"].startswith("conflict: feed metadata says CC-BY-4.0")


@pytest.mark.parametrize("rights", [None, "© 2024 Northwind News Agency", "Some rights reserved", "CC BY"])
def test_item_rights_that_only_give_a_copyright_notice_keep_the_feeds_license(rights):
    decision = hand_built(rights)
    assert (decision["status"], decision["license"]) == ("pending", "CC-BY-4.0")
    assert decision["rights"] == rights


def test_a_feed_whose_title_names_the_agency_does_not_switch_the_check_off():
    feed = {"title": "Reuters Open Wire", "url": FEED_URL, "format": "rss20", "namespaces": {},
            "raw": {"links": [{"rel": "license", "href": "https://creativecommons.org/licenses/by/4.0/"}]}}
    entry = {"link": "https://news.example/1", "content": "", "summary": "", "rights": "© Reuters",
             "raw": {"rights": "© Reuters"}}
    decision = decide_license(entry, feed, policy=DEFAULT, seen_at=SEEN_AT)
    assert (decision["status"], decision["license"]) == ("blocked", None)
    assert "credits a third party, Reuters" in decision["reason"]


def test_a_versionless_item_license_takes_the_version_the_feed_states():
    decision = hand_built("CC BY", feed_license="https://creativecommons.org/licenses/by/3.0/")
    assert (decision["status"], decision["license"], decision["evidence"]["level"]) == ("pending", "CC-BY-3.0", "feed")
    assert hand_built("CC BY-SA", feed_license="https://creativecommons.org/licenses/by/3.0/")["license"] == (
        "CC-BY-SA-4.0")


NOTICE = ("<p>All content by Northwind News Agency is licensed under a Creative Commons Attribution 4.0 "
          "International License.</p>")
STORY = "<p>The harbour reopened on Tuesday after the storm, the port authority said.</p>"


def summary_entry(summary: str, content: str = STORY + NOTICE) -> dict:
    """An item whose content ends with the agency's CC BY notice, with a given summary."""
    return {"link": "https://agency.example/1", "content": content, "summary": summary, "raw": {}}


@pytest.mark.parametrize("summary", [
    "Not for commercial use.",  # short
    "The harbour reopened after the storm. " * 40 + "Not for commercial use.",  # longer than a teaser
])
def test_a_summary_that_is_not_part_of_the_content_is_read(summary):
    """A restriction stated only in the summary holds the item, whatever the summary's length."""
    decision = decide_license(summary_entry(summary), {"title": "Agency", "url": FEED_URL, "raw": {}},
                              policy=DEFAULT, seen_at=SEEN_AT)
    assert decision["status"] == "blocked" and "non-commercial use only" in decision["reason"], decision


@pytest.mark.parametrize("summary", [NOTICE, STORY + NOTICE, (STORY * 30) + NOTICE])
def test_a_summary_that_is_part_of_the_content_adds_nothing(summary):
    """A summary that repeats the content, or part of it (a teaser, or the whole body), does not state its
    notice a second time: the item's findings are those of its content alone."""
    content = STORY * 30 + NOTICE
    feed = {"title": "Agency", "url": FEED_URL, "raw": {}}
    alone = decide_license(summary_entry("", content), feed, policy=DEFAULT, seen_at=SEEN_AT)
    decision = decide_license(summary_entry(summary, content), feed, policy=DEFAULT, seen_at=SEEN_AT)
    assert decision["status"] == "pending" and decision["license"] == "CC-BY-4.0"
    assert decision["findings"] == alone["findings"]
