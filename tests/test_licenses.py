"""The license registry, built from Creative Commons' own data, and the resolver from license URLs to ids."""

import json
from pathlib import Path

import pytest

from republisher import license_text, licenses
from republisher.errors import RepublisherError, UnknownLicenseError

DATA = Path(licenses.__file__).parent / "data" / "cc-legal-tools"
VERSIONS = ("4.0", "3.0", "2.5", "2.0")
ELEMENTS = ("BY", "BY-SA", "BY-ND", "BY-NC", "BY-NC-SA", "BY-NC-ND")


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
    # ports keep their own id: SPDX's where it has one, else a LicenseRef
    ("https://creativecommons.org/licenses/by/3.0/us/", "CC-BY-3.0-US"),
    ("https://creativecommons.org/licenses/by/3.0/igo/", "CC-BY-3.0-IGO"),
    ("https://creativecommons.org/licenses/by/3.0/igo/legalcode", "CC-BY-3.0-IGO"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/de", "CC-BY-NC-ND-3.0-DE"),
    ("https://creativecommons.org/licenses/by/2.0/fr/", "LicenseRef-CC-BY-2.0-FR"),
    ("https://creativecommons.org/licenses/by/2.0/fr/deed.fr", "LicenseRef-CC-BY-2.0-FR"),
    ("https://creativecommons.org/licenses/by-sa/2.0/uk/", "CC-BY-SA-2.0-UK"),
    ("https://creativecommons.org/licenses/by-sa/2.1/jp/", "CC-BY-SA-2.1-JP"),
    ("https://creativecommons.org/licenses/by-sa/2.5/scotland/", "LicenseRef-CC-BY-SA-2.5-SCOTLAND"),
    # 1.0 and the retired tools are in CC's data, so they are known (and named as they are)
    ("https://creativecommons.org/licenses/by/1.0/", "CC-BY-1.0"),
    ("https://creativecommons.org/licenses/by-nc/1.0/", "CC-BY-NC-1.0"),
    ("https://creativecommons.org/licenses/by-nd-nc/1.0/", "CC-BY-NC-ND-1.0"),
    ("https://creativecommons.org/licenses/nc-sa/1.0/", "LicenseRef-CC-NC-SA-1.0"),
    ("https://creativecommons.org/licenses/sampling+/1.0/", "LicenseRef-CC-SAMPLING-PLUS-1.0"),
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
    ("https://spdx.org/licenses/CC-BY-3.0-US.html", "CC-BY-3.0-US"),
])
def test_resolve_url_accepts_every_form_publishers_use(url, expected):
    assert licenses.resolve_url(url) == expected


@pytest.mark.parametrize("url", [
    "https://creativecommons.org/licenses/by/5.0/",
    "https://creativecommons.org/licenses/by/2.1/",
    "https://creativecommons.org/licenses/by/2.5/ir/",
    "https://creativecommons.org/licenses/by-nd-sa/4.0/",
    "https://creativecommons.org/publicdomain/zero/2.0/",
    "https://creativecommons.org/licenses/by/4.0/somewhere/else/",
])
def test_license_urls_outside_the_registry_resolve_to_nothing_but_are_known_as_cc_licenses(url):
    assert licenses.resolve_url(url) is None
    assert licenses.names_cc_license(url)


@pytest.mark.parametrize("url", [
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
def test_resolve_url_refuses_other_pages_and_hosts(url):
    assert licenses.resolve_url(url) is None
    assert not licenses.names_cc_license(url)


def test_registry_holds_every_tool_in_creative_commons_data_with_its_fields():
    records = [json.loads(line) for line in (DATA / "licenses.jsonl").read_text("utf-8").splitlines() if line]
    entries = licenses.all_licenses()
    assert len(entries) == len(records) == 639
    assert {f"CC-{element}-{version}" for element in ELEMENTS for version in VERSIONS} <= {e["id"] for e in entries}
    for entry in entries:
        assert {"id", "name", "short_name", "version", "url", "unit", "jurisdiction", "jurisdiction_name",
                "base_id", "attribution", "share_alike", "non_commercial", "no_derivatives", "public_domain",
                "other_terms"} <= set(entry)
        assert entry["url"].startswith("https://creativecommons.org/") and entry["url"].endswith("/")
        assert entry["id"] in licenses.SPDX_CC_IDS or entry["id"].startswith("LicenseRef-CC-") \
            or entry["id"] == "PDM-1.0"


def test_every_deed_url_resolves_back_to_its_id():
    for entry in licenses.all_licenses():
        assert licenses.resolve_url(entry["url"]) == entry["id"]
        assert licenses.resolve_url(entry["url"].replace("https://", "http://www.") + "legalcode") == entry["id"]
        assert licenses.resolve_url(entry["url"] + "deed.fa") == entry["id"]


def test_every_short_name_of_the_attribution_family_reads_back_as_its_id():
    for entry in licenses.all_licenses():
        if entry["unit"].startswith("by") and entry["unit"] not in licenses.OTHER_UNITS:
            assert license_text.resolve_text(entry["short_name"]) == [entry["id"]], entry["short_name"]


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


def test_a_port_is_named_and_linked_as_the_publisher_gave_it():
    france = licenses.get_license("LicenseRef-CC-BY-2.0-FR")
    assert france["short_name"] == "CC BY 2.0 France"
    assert france["name"] == "Creative Commons Attribution 2.0 France"
    assert france["url"] == "https://creativecommons.org/licenses/by/2.0/fr/"
    assert (france["base_id"], france["jurisdiction"]) == ("CC-BY-2.0", "fr")
    assert licenses.get_license("CC-BY-3.0-DE")["short_name"] == "CC BY 3.0 Germany"
    assert licenses.get_license("CC-BY-SA-2.0-UK")["short_name"] == "CC BY-SA 2.0 England and Wales"


def test_one_point_zero_licenses_are_named_non_commercial_and_no_derivatives_as_such():
    nc = licenses.get_license("CC-BY-NC-1.0")
    assert (nc["short_name"], nc["non_commercial"], nc["no_derivatives"]) == ("CC BY-NC 1.0", True, False)
    assert nc["url"] == "https://creativecommons.org/licenses/by-nc/1.0/"
    nd_nc = licenses.get_license("CC-BY-NC-ND-1.0")
    assert (nd_nc["non_commercial"], nd_nc["no_derivatives"]) == (True, True)
    assert nd_nc["url"] == "https://creativecommons.org/licenses/by-nd-nc/1.0/"
    assert licenses.get_license("LicenseRef-CC-NC-1.0")["attribution"] is False
    sampling = licenses.get_license("LicenseRef-CC-SAMPLING-1.0")
    assert sampling["other_terms"] is True


def test_policy_treats_a_port_as_its_unported_version_and_says_why_it_refuses():
    policy = licenses.allowed_by_default()
    assert licenses.permitted("LicenseRef-CC-BY-2.0-FR", policy)
    assert licenses.permitted("CC-BY-3.0-US", policy)
    assert not licenses.permitted("CC-BY-NC-3.0-DE", policy)
    assert not licenses.permitted("CC-BY-1.0", policy)  # the default policy starts at 2.0
    assert licenses.refusal("CC-BY-NC-1.0") == "CC-BY-NC-1.0 is not allowed by policy: non-commercial"
    assert licenses.refusal("CC-BY-NC-ND-4.0") == ("CC-BY-NC-ND-4.0 is not allowed by policy: non-commercial, "
                                                   "no derivatives")
    assert licenses.refusal("CC-BY-1.0") == "CC-BY-1.0 is not allowed by policy"


def test_the_data_files_carry_their_provenance_and_license():
    readme = (DATA / "README.md").read_text("utf-8")
    assert "cc-legal-tools-data" in readme and "CC0" in readme
    assert "187bfd8c2090f114915b6c6fddce44552502e0b3" in readme
    assert (DATA / "COPYING").read_text("utf-8").startswith("Creative Commons Legal Code")


def test_get_license_ignores_case_and_hands_out_copies():
    assert licenses.get_license("cc-by-sa-4.0")["id"] == "CC-BY-SA-4.0"
    assert licenses.get_license("CC-BY-5.0") is None
    assert licenses.get_license("licenseref-cc-by-2.0-fr")["id"] == "LicenseRef-CC-BY-2.0-FR"
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
