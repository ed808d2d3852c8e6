"""The license registry and the resolvers from URLs and running text to SPDX ids."""

import pytest

from republisher import licenses
from republisher.errors import RepublisherError, UnknownLicenseError

VERSIONS = ("4.0", "3.0", "2.5", "2.0")
ELEMENTS = ("BY", "BY-SA", "BY-ND", "BY-NC", "BY-NC-SA", "BY-NC-ND")
EXPECTED_IDS = {f"CC-{element}-{version}" for element in ELEMENTS for version in VERSIONS} | {"CC0-1.0", "PDM-1.0"}


@pytest.mark.parametrize("url, expected", [
    ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("http://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("https://www.creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("http://www.creativecommons.org/licenses/by-sa/4.0", "CC-BY-SA-4.0"),
    ("https://creativecommons.org/licenses/by/4.0", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.fa", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.en", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.zh_TW", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by-nd/4.0/deed", "CC-BY-ND-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.fa", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.txt", "CC-BY-4.0"),
    ("http://creativecommons.org/licenses/by-nc-sa/2.0/rdf", "CC-BY-NC-SA-2.0"),
    ("https://creativecommons.org/licenses/by/3.0/us/", "CC-BY-3.0"),
    ("https://creativecommons.org/licenses/by/3.0/igo/", "CC-BY-3.0"),
    ("https://creativecommons.org/licenses/by/3.0/igo/legalcode", "CC-BY-3.0"),
    ("http://creativecommons.org/licenses/by/2.5/ir/", "CC-BY-2.5"),
    ("http://creativecommons.org/licenses/by/2.5/ir/deed.fa", "CC-BY-2.5"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/de", "CC-BY-NC-ND-3.0"),
    ("https://creativecommons.org/licenses/by-sa/3.0/scotland/", "CC-BY-SA-3.0"),
    ("https://creativecommons.org/licenses/by/4.0/?ref=chooser-v1", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/#legalcode", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.en?lang=en#top", "CC-BY-4.0"),
    ("HTTPS://CreativeCommons.org/Licenses/BY/4.0/", "CC-BY-4.0"),
    ("  https://creativecommons.org/licenses/by/4.0/  ", "CC-BY-4.0"),
    ("//creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
    ("http://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/deed.fa", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/mark/1.0/", "PDM-1.0"),
    ("http://creativecommons.org/publicdomain/mark/1.0/deed.de", "PDM-1.0"),
    ("https://spdx.org/licenses/CC-BY-4.0.html", "CC-BY-4.0"),
    ("https://spdx.org/licenses/CC-BY-3.0-US.html", "CC-BY-3.0"),
])
def test_resolve_url_accepts_every_form_publishers_use(url, expected):
    assert licenses.resolve_url(url) == expected


@pytest.mark.parametrize("url", [
    "https://creativecommons.org/licenses/by/5.0/",
    "https://creativecommons.org/licenses/by/1.0/",
    "https://creativecommons.org/licenses/by/2.1/jp/",
    "https://creativecommons.org/licenses/sampling/1.0/",
    "https://creativecommons.org/licenses/by-nd-nc/1.0/",
    "https://creativecommons.org/licenses/publicdomain/",
    "https://creativecommons.org/publicdomain/zero/2.0/",
    "https://creativecommons.org/licenses/by/4.0/somewhere/else/",
    "https://creativecommons.org/about/",
    "https://creativecommons.org/",
    "https://example.org/licenses/by/4.0/",
    "https://creativecommons.org.evil.example/licenses/by/4.0/",
    "ftp://creativecommons.org/licenses/by/4.0/",
    "javascript:alert(1)",
    "http://[::1",
    "CC BY 4.0",
    "",
    None,
])
def test_resolve_url_refuses_unknown_paths_and_other_hosts(url):
    assert licenses.resolve_url(url) is None


@pytest.mark.parametrize("text, expected", [
    ("This work is licensed under a Creative Commons Attribution 4.0 International License.", ["CC-BY-4.0"]),
    ("Attribution-ShareAlike 4.0", ["CC-BY-SA-4.0"]),
    ("Attribution-NoDerivatives 4.0", ["CC-BY-ND-4.0"]),
    ("Creative Commons Attribution-NoDerivatives 4.0 International", ["CC-BY-ND-4.0"]),
    ("Creative Commons Attribution-NonCommercial-NoDerivs 3.0 Unported", ["CC-BY-NC-ND-3.0"]),
    ("Attribution-NonCommercial-ShareAlike", ["CC-BY-NC-SA-4.0"]),
    ("Creative Commons Attribution-Noncommercial-Share Alike 3.0 United States License", ["CC-BY-NC-SA-3.0"]),
    ("CC BY-SA 4.0", ["CC-BY-SA-4.0"]),
    ("CC-BY-NC-ND-4.0", ["CC-BY-NC-ND-4.0"]),
    ("CC BY 4.0", ["CC-BY-4.0"]),
    ("cc by-nd 4.0", ["CC-BY-ND-4.0"]),
    ("cc-by", ["CC-BY-4.0"]),
    ("CC BY 3.0 IGO", ["CC-BY-3.0"]),
    ("CC BY 2.5", ["CC-BY-2.5"]),
    ("CC-BY", ["CC-BY-4.0"]),
    ("CC BY-NC-SA", ["CC-BY-NC-SA-4.0"]),
    ("CC0", ["CC0-1.0"]),
    ("Released into the public domain under CC0 1.0.", ["CC0-1.0"]),
    ("Creative Commons Zero", ["CC0-1.0"]),
    ("public domain mark", ["PDM-1.0"]),
    ("Public Domain Mark 1.0", ["PDM-1.0"]),
    ("© 2024 Harbor Gazette, licensed under CC BY 4.0", ["CC-BY-4.0"]),
    ("see https://creativecommons.org/licenses/by-nc/4.0/.", ["CC-BY-NC-4.0"]),
    ("Text CC BY 4.0; photos CC BY-SA 4.0; maps CC BY 4.0", ["CC-BY-4.0", "CC-BY-SA-4.0"]),
    ("CC BY-SA 4.0 and Attribution 4.0", ["CC-BY-SA-4.0", "CC-BY-4.0"]),
])
def test_resolve_text_finds_license_names_in_order(text, expected):
    assert licenses.resolve_text(text) == expected


@pytest.mark.parametrize("text", [
    "the documents are in the public domain",
    "police gave no attribution for the attack",
    "a misattribution of 2.0 quotes",
    "please cc by email",
    "All rights reserved.",
    "Creative Commons",
    "CC BY 1.0",
    "",
])
def test_resolve_text_ignores_prose_that_names_no_license(text):
    assert licenses.resolve_text(text) == []


def test_resolve_text_does_not_mistake_no_derivatives_or_share_alike_for_plain_by():
    assert licenses.resolve_text("licensed under a Creative Commons Attribution-NoDerivatives 4.0 License") == [
        "CC-BY-ND-4.0"]
    assert licenses.resolve_text("licensed under a Creative Commons Attribution-ShareAlike 4.0 License") == [
        "CC-BY-SA-4.0"]


def test_a_name_without_version_means_4_0_and_is_marked_unversioned():
    assert licenses.scan_text("CC BY") == (("CC-BY-4.0", False, 0, 5),)
    assert licenses.scan_text("CC BY 4.0") == (("CC-BY-4.0", True, 0, 9),)
    assert licenses.scan_text("x Attribution-ShareAlike") == (("CC-BY-SA-4.0", False, 2, 24),)


def test_scan_text_reports_offsets_in_long_text_and_text_that_grows_when_lower_cased():
    filler = "The council met on Tuesday. " * 40
    text = filler + "This article is CC BY-SA 4.0."
    [(spdx_id, _, start, end)] = licenses.scan_text(text)
    assert (spdx_id, text[start:end]) == ("CC-BY-SA-4.0", "CC BY-SA 4.0")
    turkish = "İstanbul İzmir " + "CC BY 4.0"
    [(_, _, start, end)] = licenses.scan_text(turkish)
    assert turkish[start:end] == "CC BY 4.0"


def test_registry_holds_every_expected_license_with_its_fields():
    entries = licenses.all_licenses()
    assert {entry["id"] for entry in entries} == EXPECTED_IDS
    assert len(entries) == len(EXPECTED_IDS)
    for entry in entries:
        assert set(entry) == {"id", "name", "short_name", "version", "url", "attribution", "share_alike",
                              "non_commercial", "no_derivatives", "public_domain"}
        assert entry["url"].startswith("https://creativecommons.org/") and entry["url"].endswith("/")


def test_every_deed_url_resolves_back_to_its_id():
    for entry in licenses.all_licenses():
        assert licenses.resolve_url(entry["url"]) == entry["id"]
        assert licenses.resolve_url(entry["url"].replace("https://", "http://www.") + "legalcode") == entry["id"]
        assert licenses.resolve_url(entry["url"] + "deed.fa") == entry["id"]


def test_every_short_name_resolves_back_to_its_id():
    for entry in licenses.all_licenses():
        if entry["id"] != "PDM-1.0":
            assert licenses.resolve_text(entry["short_name"]) == [entry["id"]]
        assert licenses.resolve_text(entry["name"]) == [entry["id"]]


def test_registry_entries_name_and_flag_the_licenses_correctly():
    by = licenses.get_license("CC-BY-4.0")
    assert by["name"] == "Creative Commons Attribution 4.0 International"
    assert by["short_name"] == "CC BY 4.0"
    assert by["url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert (by["attribution"], by["share_alike"], by["non_commercial"], by["no_derivatives"],
            by["public_domain"]) == (True, False, False, False, False)
    nc_nd = licenses.get_license("CC-BY-NC-ND-3.0")
    assert nc_nd["name"] == "Creative Commons Attribution-NonCommercial-NoDerivs 3.0 Unported"
    assert (nc_nd["non_commercial"], nc_nd["no_derivatives"], nc_nd["share_alike"]) == (True, True, False)
    assert licenses.get_license("CC-BY-SA-2.5")["name"] == "Creative Commons Attribution-ShareAlike 2.5 Generic"
    no_derivatives = licenses.get_license("CC-BY-ND-4.0")
    assert no_derivatives["name"] == "Creative Commons Attribution-NoDerivatives 4.0 International"
    cc0 = licenses.get_license("CC0-1.0")
    assert cc0["url"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert (cc0["public_domain"], cc0["attribution"]) == (True, False)
    pdm = licenses.get_license("PDM-1.0")
    assert pdm["url"] == "https://creativecommons.org/publicdomain/mark/1.0/"
    assert (pdm["public_domain"], pdm["attribution"]) == (True, False)


def test_get_license_ignores_case_and_hands_out_copies():
    assert licenses.get_license("cc-by-sa-4.0")["id"] == "CC-BY-SA-4.0"
    assert licenses.get_license("CC-BY-5.0") is None
    assert licenses.get_license(None) is None
    licenses.get_license("CC-BY-4.0")["name"] = "changed"
    licenses.all_licenses()[0]["name"] = "changed"
    assert licenses.get_license("CC-BY-4.0")["name"] == "Creative Commons Attribution 4.0 International"


def test_default_policy_allows_attribution_and_share_alike_but_not_nc_or_nd():
    assert licenses.allowed_by_default() == frozenset({
        "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-3.0", "CC-BY-2.5", "CC-BY-2.0", "CC-BY-SA-3.0", "CC0-1.0", "PDM-1.0"})
    for entry in licenses.all_licenses():
        if entry["non_commercial"] or entry["no_derivatives"]:
            assert entry["id"] not in licenses.allowed_by_default()


def test_parse_policy_reads_comma_and_space_separated_ids():
    assert licenses.parse_policy("CC-BY-4.0, CC-BY-NC-4.0") == frozenset({"CC-BY-4.0", "CC-BY-NC-4.0"})
    assert licenses.parse_policy("cc-by-4.0 CC0-1.0\tPDM-1.0") == frozenset({"CC-BY-4.0", "CC0-1.0", "PDM-1.0"})
    assert licenses.parse_policy("CC-BY-4.0,,CC-BY-4.0,") == frozenset({"CC-BY-4.0"})
    assert licenses.parse_policy("") == licenses.allowed_by_default()
    assert licenses.parse_policy("  , ") == licenses.allowed_by_default()


def test_parse_policy_names_an_unknown_id():
    with pytest.raises(ValueError, match="CC-BY-5.0"):
        licenses.parse_policy("CC-BY-4.0, CC-BY-5.0")
    with pytest.raises(UnknownLicenseError) as caught:
        licenses.parse_policy("GPL-3.0-only")
    assert isinstance(caught.value, RepublisherError) and "GPL-3.0-only" in str(caught.value)
