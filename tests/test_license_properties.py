"""Properties of the license readers, over inputs no example list could cover."""

import html
import re

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from republisher import license_text, licenses, licensing, statements
from republisher.licensing import decide_license
from republisher.textfold import DASHES, INVISIBLE, LOOKALIKES, Folded, fold
from test_license_spellings import RESTRICTIVE

POLICY = licenses.allowed_by_default()
SEEN_AT = "2026-12-01T00:00:00+00:00"
ATTRIBUTION_FAMILY = sorted(entry["short_name"] for entry in licenses.all_licenses()
                            if entry["unit"].startswith("by") and entry["unit"] not in licenses.OTHER_UNITS)
LATIN_TWINS = {latin: [char for char, twin in LOOKALIKES.items() if twin == latin] for latin in set(LOOKALIKES.values())}
PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text with the characters folding cares about mixed in
tricky_text = st.text(alphabet=st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(INVISIBLE + DASHES + "".join(LOOKALIKES) + "ＢＹ－ＮＣ©<>&;"),
), max_size=120)


@PROPERTIES
@given(tricky_text)
def test_every_folded_character_maps_back_to_the_character_it_came_from(text):
    view = Folded(text)
    for index, char in enumerate(view.text):
        original = text[view.position(index)]
        assert fold(original) == char or len(original.lower()) != 1


@PROPERTIES
@given(tricky_text)
def test_folding_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@PROPERTIES
@given(st.sampled_from(ATTRIBUTION_FAMILY), st.lists(st.tuples(st.integers(0, 40), st.sampled_from(INVISIBLE)),
                                                   max_size=4))
def test_invisible_characters_anywhere_in_a_license_name_change_nothing(name, insertions):
    spoiled = name
    for position, char in sorted(insertions, reverse=True):
        spoiled = spoiled[:position] + char + spoiled[position:]
    assert license_text.resolve_text(spoiled) == license_text.resolve_text(name)


@PROPERTIES
@given(st.sampled_from(ATTRIBUTION_FAMILY), st.data())
def test_any_dash_and_any_lookalike_letter_read_as_the_plain_ones(name, data):
    spoiled = "".join(data.draw(st.sampled_from(DASHES + "-")) if char == "-" else
                      data.draw(st.sampled_from([char] + LATIN_TWINS.get(char.lower(), [])))
                      for char in name)
    assert license_text.resolve_text(spoiled) == license_text.resolve_text(name)


@PROPERTIES
@given(st.sampled_from(RESTRICTIVE), st.text(max_size=40), st.text(max_size=40))
@example("© AFP", "", "0\u00ad0")  # a soft hyphen elsewhere once hid an acronym's case
def test_a_restrictive_statement_among_any_other_words_never_lets_an_item_through(spelling, before, after):
    rights = f"{before} {spelling} {after}"
    feed = {"title": "Agency", "url": "https://agency.example/feed", "raw": {}}
    entry = {"link": "https://agency.example/1", "content": "<p>Text.</p>", "summary": "", "rights": rights,
             "raw": {"rights": rights, "rights_detail": {"type": "text/plain"}}}
    source_license = {"license": "CC-BY-4.0", "evidence": "https://agency.example/about"}
    decision = decide_license(entry, feed, source_license=source_license, policy=POLICY, seen_at=SEEN_AT)
    assert decision["status"] == "blocked", (rights, decision["reason"])


PIECES = ["<p>", "</p>", "<figure>", "</figure>", "<figcaption>", "</figcaption>", "<br>",
          '<img src="https://cdn.example/a.jpg">', '<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">',
          '<a href="https://creativecommons.org/licenses/by-nc/2.0/">', "</a>", '<div class="caption">', "</div>",
          " CC BY 4.0 ", " CC BY-NC 2.0 ", "Photo: ", "This article is licensed under ", "All rights reserved. ",
          "© Reuters ", "Creative Commons ", "(c) AFP ", "&amp;", "&#8209;"]
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="<>&"),
                max_size=30)
well_formed = st.lists(st.one_of(st.sampled_from(PIECES), words), max_size=40).map("".join)
hostile = st.lists(st.one_of(st.sampled_from(PIECES + ["<!--", "-->", "<", ">", "<![CDATA[", "</", "<p"]),
                             st.text(max_size=30)), max_size=40).map("".join)


@PROPERTIES
@given(hostile)
def test_statements_never_fail_on_any_markup(body):
    for statement in statements.find_statements(body):
        assert statement.scope in ("item", "media", "mention")
        for src, start, end in statement.images:
            assert body[start:end].lower().startswith("<img")
        if statement.block:
            start, end = statement.block
            assert 0 <= start <= end <= len(body)


@PROPERTIES
@given(well_formed)
def test_statements_quote_only_what_the_body_says(body):
    shown = "".join(html.unescape(re.sub(r"<[^<>]*>", "", body)).split())
    for statement in statements.find_statements(body):
        if statement.found_in not in ("html rel=license", "html link to a license"):
            assert "".join(statement.text.split()) in shown, statement


WRITTEN_PHRASES = [pattern for patterns in license_text.RESTRICTION_PHRASES.values() for pattern in patterns] + list(
    license_text.RESERVED_PHRASES)
WORDS_AND_SPACES = st.characters(categories=["L", "Zs", "P"], exclude_characters="<>&")
OPENING = "<p>The council met on Tuesday and approved the harbour budget.</p>"


@PROPERTIES
@given(st.data())
def test_every_restrictive_wording_closing_a_body_is_found(data):
    pattern = data.draw(st.sampled_from(WRITTEN_PHRASES))
    # hypothesis writes text for a regex without word boundaries: they are checked on the text after
    phrase = data.draw(st.from_regex(pattern.replace(r"\b", ""), fullmatch=True, alphabet=WORDS_AND_SPACES))
    assume(re.search(pattern, fold(f" {phrase} ")))
    # a notice is read in a window around where it starts; a repetition drawn longer than that is cut
    assume(len(phrase) < statements.WINDOW)
    for body in (OPENING + f"<p>{phrase}.</p>", OPENING * 30 + f"<p>{phrase}.</p>"):
        kinds = {statement.kind for statement in statements.find_statements(body)}
        assert kinds & {"restricted", "reserved"}, (pattern, phrase, len(body))


PHRASE_PIECES = ["non-commercial", "noncommercial", "non commercial", "no derivatives", "noderivs", "not for",
                 "commercial use", "all rights reserved", "rights reserved", "may not be", "republication",
                 "prohibited", "reuters", "afp", "ap photo", "getty images", "licensed under", "license", "for",
                 "no", "not", "all", "news", "pas d'utilisation commerciale", "namensnennung - nicht kommerziell",
                 "personal use only", "provided by", " ", "  ", "-", ".", ",", "(", ")", "/", "x", "the"]


def phrases_tried_everywhere(text: str) -> dict:
    """What phrases_in should find in an ASCII text: each kind's whole alternation tried at every place a
    word starts, leftmost first and never inside the kind's last match."""
    reader = license_text.phrase_reader()
    found = {}
    for kind, bodies in reader.kinds.items():
        whole = re.compile(license_text.by_first_letter(bodies))
        at, spans = 0, []
        while at < len(text):
            if at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                match = whole.match(text, at)
                if match:
                    spans.append(match.span())
                    at = match.end()
                    continue
            at += 1
        if spans:
            found[kind] = tuple(spans)
    return found


@PROPERTIES
@given(st.lists(st.sampled_from(PHRASE_PIECES), max_size=40).map("".join))
@example("not for commercial use, all rights reserved by reuters")
def test_phrases_are_found_where_each_kind_alone_would_find_them(text):
    assert license_text.phrases_in.function(text) == phrases_tried_everywhere(text)


@PROPERTIES
@given(st.lists(st.sampled_from(PHRASE_PIECES), max_size=40).map("".join))
@example("pas d'utilisation commerciale, ap photo, licensed under cc by-nd")
def test_the_restrictive_kinds_read_alone_are_read_as_with_the_others(text):
    every_kind = license_text.phrases_in.function(text)
    assert license_text.term_phrases_in.function(text) == {
        kind: spans for kind, spans in every_kind.items() if kind in license_text.TERM_KINDS}


FINDING_LEVELS = ("item", "source", "feed", "content", "editor_source")
FINDINGS = st.builds(
    lambda license_id, level, kind, exact, term: licensing.Finding(
        license_id, level, "html statement", f"{kind} {license_id}", "https://agency.example/1", "2026-01-01",
        kind=kind, exact=exact, location="closing sentence", term=term),
    st.sampled_from(["CC-BY-4.0", "CC-BY-2.0", "CC-BY-NC-4.0", "CC-BY-SA-4.0", None]),
    st.sampled_from(FINDING_LEVELS),
    st.sampled_from(["license", "license", "license", "unrecognized", "reserved", "restricted", "third_party"]),
    st.booleans(), st.sampled_from([None, "non_commercial", "no_derivatives"]))


@PROPERTIES
@given(st.lists(FINDINGS, max_size=6), st.booleans())
@example([licensing.Finding("CC-BY-4.0", "content", "html statement", "CC BY", None, "", exact=False),
          licensing.Finding("CC-BY-4.0", "content", "html rel=license", "https://x", None, "")], True)
def test_the_agency_case_is_chosen_as_every_rule_would_choose_it(findings, content_only):
    """Where only the item's own notice speaks, choose takes a short way: it must end where the rules of
    precedence, conflicts and restrictions end, the same finding (not an equal one) and the same reason."""
    by_level = {level: [f._replace(level=level) for f in findings
                        if (f.level == level if not content_only else level == "content")]
                for level in FINDING_LEVELS}
    chosen, reason = licensing.choose(by_level)
    expected, expected_reason = licensing.choose_by_precedence(by_level)
    assert chosen is expected and reason == expected_reason
