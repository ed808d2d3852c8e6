"""The sanitizer: allowlist, script-text trap, URLs, images, embeds, counts, stability."""

import dataclasses
import random

import pytest

from republisher import sanitizer
from republisher.sanitizer import MAX_INPUT_CHARS, SanitizedHTML, plain_text, sanitize_html
from helpers import run_in_threads
from xss_checks import assert_inert, element_names, parse

BASE = "https://example.org/news/2024/story.html"
REL = 'rel="nofollow noopener noreferrer"'
LAZY = 'loading="lazy" referrerpolicy="no-referrer"'


def clean(html: str, base: str | None = BASE) -> SanitizedHTML:
    """Sanitize and check the result is inert and a fixed point."""
    result = sanitize_html(html, base)
    assert_inert(result.html)
    assert sanitize_html(result.html, base).html == result.html
    return result


# --- text inside script, style, noscript, template never survives ---------------------------

def test_script_text_trap_leaves_nothing():
    """bleach with strip=True would turn the script's text into a real <img> tag."""
    result = clean("<script><img src=x onerror=alert(1)></script>")
    assert result == SanitizedHTML("", {"scripts": 1})


@pytest.mark.parametrize("element, key", [
    ("script", "scripts"), ("style", "styles"), ("noscript", "noscript"), ("template", None),
    ("textarea", "forms"), ("title", None), ("xmp", None), ("noembed", None), ("iframe", "frames"),
])
def test_text_of_hidden_elements_does_not_appear(element, key):
    """The payload text of these elements is gone, the text around them stays."""
    result = clean(f"<p>before<{element}><b>SECRET</b> alert(1)</{element}>after</p>")
    if element == "xmp":  # shown by browsers as preformatted text: kept as <pre>, escaped
        assert result.html == "<p>before</p><pre>&lt;b&gt;SECRET&lt;/b&gt; alert(1)</pre>after<p></p>"
        return
    assert "SECRET" not in result.html and "alert" not in result.html
    assert result.html == "<p>beforeafter</p>"
    assert result.changes == ({key: 1} if key else {})


def test_template_content_does_not_close_the_paragraph_around_it():
    """html5lib lets a <p> inside <template> close the outer paragraph; we drop it first."""
    assert clean("<p>a<template><p>t</p></template>b</p>").html == "<p>ab</p>"
    assert clean("<template><script></template><img src=x onerror=alert(1)></script></template>"
                 "after").html == "after"


def test_unsafe_containers_are_dropped_with_their_content():
    """svg, math, select, button and their text go entirely."""
    result = clean('<svg><text>svg text</text><script>alert(1)</script></svg>'
                   '<math><mi>x</mi></math><button>Go</button><select><option>o</select>')
    assert result == SanitizedHTML("", {"svg": 1, "math": 1, "forms": 2})


# --- allowlist -----------------------------------------------------------------------------

def test_allowed_structure_is_kept():
    """Text structure survives unchanged."""
    html = ("<h2>Title</h2><p>Some <strong>bold</strong>, <em>em</em>, <code>x</code>, "
            "<sub>2</sub><sup>3</sup> <abbr title=\"abbreviation\">abbr</abbr>.</p>"
            "<blockquote><p>quote</p></blockquote><ul><li>one</li></ul><ol start=\"3\"><li>"
            "three</li></ol><dl><dt>term</dt><dd>definition</dd></dl><pre>code\n  indented</pre>"
            "<figure><figcaption>caption</figcaption></figure><hr><table><thead><tr><th>h</th>"
            "</tr></thead><tbody><tr><td colspan=\"2\">c</td></tr></tbody></table>")
    result = clean(html)
    assert result.html == html
    assert result.changes == {}


def test_disallowed_tags_lose_their_tags_but_keep_their_text():
    """Unknown and presentational tags are stripped; their text stays."""
    result = clean('<center><font color="red">Hi</font> <marquee>there</marquee></center>'
                   '<section><article>inner</article></section>')
    assert element_names(result.html) == []
    assert "Hi" in result.html and "there" in result.html and "inner" in result.html


def test_h1_becomes_h2():
    """The page's own title is the only h1."""
    assert clean("<h1>Headline</h1>").html == "<h2>Headline</h2>"


def test_event_handlers_classes_ids_and_styles_are_removed():
    """Only allowlisted attributes stay; removed inline styles are counted."""
    result = clean('<p onclick="alert(1)" onmouseover=x style="color:red" class="c" id="i" '
                   'data-x="1">text</p><span style="font-weight:bold">b</span>')
    assert result == SanitizedHTML("<p>text</p><span>b</span>", {"inline_styles": 2})


def test_direction_and_language_are_kept_when_well_formed():
    """Right-to-left sources keep dir and lang; malformed values go."""
    result = clean('<p dir="RTL" lang="fa">سلام</p><p dir="sideways" lang="fa\\"x">x</p>')
    assert result.html == '<p dir="rtl" lang="fa">سلام</p><p>x</p>'


def test_comments_are_removed():
    """Comments never reach the output."""
    assert clean("<p>a<!-- secret --><!--[if IE]><script>x</script><![endif]-->b</p>").html \
        == "<p>ab</p>"


def test_forms_lose_their_tags_and_controls():
    """A form's text stays; its controls go; each one is counted."""
    result = clean('<form action="/subscribe">Name <input name="n"> <button>Send</button>'
                   '</form>')
    assert result.html == "Name  "
    assert result.changes == {"forms": 3}


# --- links and URLs ------------------------------------------------------------------------

@pytest.mark.parametrize("href", [
    "javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
    "jav&#x09;ascript:alert(1)", "&#106;avascript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>", "\x01javascript:alert(1)", "livescript:x",
])
def test_unsafe_link_targets_are_removed(href):
    """The link goes, its text stays, and the removal is counted."""
    result = clean(f'<a href="{href}">click</a>')
    assert result == SanitizedHTML("click", {"links_removed": 1})


def test_links_get_rel_and_lose_target():
    """Every kept link has our rel; the source's rel and target go."""
    result = clean('<a href="https://other.example.com/x" rel="opener" target="_blank" '
                   'title="t">x</a><a href="mailto:desk@example.org">mail</a>')
    assert result.html == (f'<a href="https://other.example.com/x" title="t" {REL}>x</a>'
                           f'<a href="mailto:desk@example.org" {REL}>mail</a>')
    assert result.changes == {}


def test_relative_urls_are_made_absolute_and_counted():
    """href and src resolve against the item's base, as a browser would resolve them."""
    result = clean('<a href="/about">a</a><a href="next.html?x=1&amp;y=2">b</a>'
                   '<a href="../up">c</a><a href="//cdn.example.net/f">d</a><a href="#top">e</a>'
                   '<img src="img/p.jpg" alt="p">')
    assert result.html == (
        f'<a href="https://example.org/about" {REL}>a</a>'
        f'<a href="https://example.org/news/2024/next.html?x=1&amp;y=2" {REL}>b</a>'
        f'<a href="https://example.org/news/up" {REL}>c</a>'
        f'<a href="https://cdn.example.net/f" {REL}>d</a>'
        f'<a href="https://example.org/news/2024/story.html#top" {REL}>e</a>'
        f'<img src="https://example.org/news/2024/img/p.jpg" alt="p" {LAZY}>')
    assert result.changes == {"links_rewritten": 6}


def test_backslashes_are_read_as_slashes_like_browsers_do():
    r""""\\evil.example/x" is another host to a browser, so it must be to us."""
    result = clean('<a href="\\\\evil.example/x">x</a>')
    assert result.html == f'<a href="https://evil.example/x" {REL}>x</a>'


def test_relative_urls_without_a_base_are_dropped():
    """With no base, a relative link would point into the mirror itself: it goes."""
    result = clean('<a href="/about">a</a><img src="/p.jpg"><a href="https://x.example/">b</a>',
                   base=None)
    assert result.html == f'a<a href="https://x.example/" {REL}>b</a>'
    assert result.changes == {"links_removed": 1, "images": 1}


def test_links_without_target_become_text():
    """<a name> and hrefless links are plain text."""
    assert clean('<a name="x">anchor</a> <a>bare</a>').html == "anchor bare"


# --- images --------------------------------------------------------------------------------

def test_images_keep_their_description_and_load_lazily():
    """src, alt, title, width and height stay; loading and referrer policy are ours."""
    result = clean('<img src="https://img.example.org/a.jpg" alt="A &amp; B" title="t" '
                   'width="640px" height="480" srcset="x.jpg 2x" onerror="alert(1)" '
                   'loading="eager" style="border:0">')
    assert result.html == ('<img src="https://img.example.org/a.jpg" alt="A &amp; B" title="t" '
                           f'width="640" height="480" {LAZY}>')
    assert result.changes == {"inline_styles": 1}


def test_lazy_loaded_images_use_their_real_source():
    """A data: placeholder with data-src becomes the real image."""
    result = clean('<img src="data:image/gif;base64,R0lGOD" data-src="/real.jpg" alt="r">')
    assert result.html == f'<img src="https://example.org/real.jpg" alt="r" {LAZY}>'


def test_images_without_a_safe_source_are_removed_and_counted():
    """data:, javascript: and missing sources."""
    result = clean('<img src="data:image/png;base64,xx"><img src="javascript:alert(1)"><img>')
    assert result == SanitizedHTML("", {"images": 3})


@pytest.mark.parametrize("image", [
    '<img src="https://example.org/t.gif" width="1" height="1">',
    '<img src="/t.gif" width="0" height="0">',
    '<img src="https://feeds.feedburner.com/~r/example/~4/abc">',
    '<img src="http://feeds.feedburner.com/~ff/example?d=yIl2AUoC8zA">',
    '<img src="https://stats.wordpress.com/b.gif?v=noscript">',
    '<img src="https://pixel.wp.com/g.gif?blog=1">',
    '<img src="https://www.google-analytics.com/collect?v=1">',
    '<img src="https://tracker.example.com/pixel?id=5">',
    '<img src="https://example.com/email/track/open.php?u=1">',
])
def test_tracking_pixels_are_removed_and_counted(image):
    """1x1 images and known tracking endpoints."""
    assert clean(f"<p>x{image}</p>") == SanitizedHTML("<p>x</p>", {"tracking_pixels": 1})


@pytest.mark.parametrize("image", [
    '<img src="https://music.example.com/track/12/cover.jpg">',
    '<img src="https://example.com/pixel-art.png" width="1" height="200">',
])
def test_ordinary_images_are_not_taken_for_trackers(image):
    """Path words and thin images are not enough."""
    assert clean(image).changes == {}


# --- embedded content ----------------------------------------------------------------------

def test_iframe_becomes_a_paragraph_with_a_plain_link():
    """The frame is replaced by a link to its target, and counted."""
    result = clean('<iframe src="https://www.youtube.com/embed/abc" width="560">no frames'
                   '</iframe>')
    url = "https://www.youtube.com/embed/abc"
    assert result == SanitizedHTML(f'<p><a href="{url}" {REL}>{url}</a></p>', {"frames": 1})


def test_embed_in_running_text_becomes_an_inline_link():
    """No paragraph inside a paragraph; inside a link only the address as text."""
    result = clean('<p>Watch: <iframe src="/v/1"></iframe></p><a href="/x"><iframe src="/v/2">'
                   '</iframe></a>')
    assert result.html == (
        f'<p>Watch: <a href="https://example.org/v/1" {REL}>https://example.org/v/1</a></p>'
        f'<a href="https://example.org/x" {REL}>https://example.org/v/2</a>')
    assert result.changes == {"frames": 2, "links_rewritten": 3}


def test_embeds_without_http_target_are_dropped():
    """javascript:, data: and srcdoc frames leave nothing behind but their count."""
    result = clean('<iframe src="javascript:alert(1)"></iframe><iframe srcdoc="<b>x</b>">'
                   '</iframe><embed src="data:text/html,x"><object data="javascript:x"></object>')
    assert result == SanitizedHTML("", {"frames": 2, "objects": 2})


def test_video_audio_object_and_embed_become_links():
    """Media players and plugins: a link to the source, the fallback content dropped."""
    result = clean('<video poster="p.jpg" controls><source src="movie.mp4" type="video/mp4">'
                   'Your browser cannot play this.</video><audio src="https://a.example/x.mp3">'
                   '</audio><object data="/flash.swf"><embed src="/other.swf"></object>'
                   '<embed src="https://e.example/e">')
    links = [f'<p><a href="{url}" {REL}>{url}</a></p>' for url in (
        "https://example.org/news/2024/movie.mp4", "https://a.example/x.mp3",
        "https://example.org/flash.swf", "https://e.example/e")]
    assert result.html == "".join(links)
    assert result.changes == {"media": 2, "objects": 2, "links_rewritten": 2}


# --- counts, stability, limits -------------------------------------------------------------

def test_changes_are_counted_exactly():
    """One article with a bit of everything."""
    html = ('<h1>Title</h1><script>track()</script><p style="x">Intro <a href="/a">link</a>'
            '<img src="/p.jpg" alt="p"></p><script src="x.js"></script><iframe src="/v">'
            '</iframe><img src="/t.gif" width="1" height="1"><style>p{}</style>'
            '<form><input></form><a href="javascript:x">bad</a><img src="data:,">')
    assert clean(html).changes == {"scripts": 2, "inline_styles": 1, "links_rewritten": 3,
                                   "frames": 1, "tracking_pixels": 1, "styles": 1, "forms": 2,
                                   "links_removed": 1, "images": 1}


def test_nothing_to_change_reports_no_changes():
    """A clean article comes back identical, with an empty changes dict."""
    html = f'<p>Plain <a href="https://example.org/x" {REL}>text</a>.</p>'
    assert clean(html) == SanitizedHTML(html, {})


@pytest.mark.parametrize("html", [
    "<pre>\n\ncode</pre>", "<pre>\ncode</pre>", "<table><tr><td><pre>\n\nx</pre></td></tr></table>",
    "<ul><li>a<form><li>b</form></ul>", "<dl><dt>a<form><dd>b</form></dl>",
    "<a href=/1>one<table><tr><td><a href=/2>two</a></td></tr></table></a>",
    "<h2>a<b><h3>b</h3></b></h2>", "<p>x</p>=&#0;", "<table><dd>x</dd></table>",
    '<a href="/x?a=1&amp;copy=2">q</a>', "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
])
def test_awkward_markup_is_a_fixed_point(html):
    """Sanitizing the output again changes nothing (checked inside clean())."""
    clean(html)


def test_random_tag_soup_is_inert_and_a_fixed_point():
    """Seeded tag soup over all the tags the sanitizer handles."""
    rng = random.Random(20240501)
    tags = sorted(sanitizer.PARSED_TAGS | {"div", "font", "section", "option", "caption",
                                           "colgroup", "label", "nobr", "image"})
    pieces = ["x", " ", "\n", "&amp;", "&lt;", "<!-- c -->", "</", "<", ">", '"', "=", "&",
              "&#0;", "\u202e"]
    attributes = [' href="/a?b=1&c=2"', " src=x.png", " width=1 height=1", ' style="a"',
                  " onclick=x", " dir=rtl", ' title="t"', " colspan=2", ' data-src="y.png"']
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 40)):
            roll, tag = rng.random(), rng.choice(tags)
            if roll < 0.4:
                parts.append(f"<{tag}{''.join(rng.sample(attributes, rng.randint(0, 2)))}>")
            elif roll < 0.7:
                parts.append(f"</{tag}>")
            else:
                parts.append(rng.choice(pieces))
        clean("".join(parts))


def test_input_over_the_cap_is_truncated_and_counted():
    """The cap bounds the work per item."""
    result = sanitize_html("<p>" + "a" * MAX_INPUT_CHARS + "</p>", BASE)
    assert result.changes == {"truncated": 1}
    assert result.html == "<p>" + "a" * (MAX_INPUT_CHARS - 3) + "</p>"


def test_deep_nesting_is_flattened_in_bounded_time():
    """html5lib is quadratic in nesting depth; deeper tags are left out, their text kept."""
    result = sanitize_html("<blockquote>" * 5000 + "deep" + "</blockquote>" * 5000, BASE)
    assert "deep" in result.html
    assert element_names(result.html) == ["blockquote"] * sanitizer.MAX_NESTING
    assert result.changes == {"nesting": 5000 - sanitizer.MAX_NESTING}


def test_wide_documents_are_walked_in_linear_time():
    """html5lib's tree walker is quadratic in the number of siblings; ours is not."""
    result = sanitize_html("<p><span>x</span></p>" * 20000, BASE)
    assert result.html == "<p><span>x</span></p>" * 20000


def test_text_misplaced_in_a_table_moves_before_it():
    """As browsers do; elements there lose their tags (html5lib would lose them whole)."""
    assert clean("<table><tr>x<td>c</td></tr></table>").html == \
        "x<table><tbody><tr><td>c</td></tr></tbody></table>"
    assert clean("<table><b>bold</b><tr><td>c</td></tr></table>").html == \
        "bold<table><tbody><tr><td>c</td></tr></tbody></table>"


def test_text_misplaced_in_tables_is_bounded():
    """html5lib moves each such text with a search among its siblings: quadratic."""
    result = sanitize_html("<table>" + "x<br>" * 20000, BASE)
    assert result.html == "x" * sanitizer.MAX_MOVED_TEXT + "<table></table>"
    assert result.changes == {"misplaced": 20000 - sanitizer.MAX_MOVED_TEXT}


def test_empty_and_odd_input():
    """Empty, None, a lone surrogate and a NUL character."""
    assert sanitize_html("", BASE) == SanitizedHTML("", {})
    assert sanitize_html(None, BASE) == SanitizedHTML("", {})
    assert sanitize_html("a\ud800b\x00c", BASE).html == "a\ufffdbc"  # browsers drop NUL
    with pytest.raises(TypeError):
        sanitize_html(b"<p>bytes</p>", BASE)


def test_unusable_base_is_ignored():
    """A base that is not absolute http(s) resolves nothing."""
    assert clean('<a href="/x">x</a>', base="javascript:alert(1)//").html == "x"
    assert clean('<a href="/x">x</a>', base="/relative/").html == "x"


def test_result_is_frozen():
    """Stages pass plain values; the result cannot be changed by accident."""
    result = sanitize_html("<p>x</p>", BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.html = "<script>"


def test_threads_each_get_the_same_answer():
    """html5lib's parser keeps state, so each thread must use its own."""
    html = ('<p>x<script>y</script><a href="/z">z</a></p>' * 50)
    expected = sanitize_html(html, BASE)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(sanitize_html(html, BASE))
        except Exception as exc:  # collected, so a failure shows in the assertion below
            errors.append(exc)

    run_in_threads(work)
    assert not errors
    assert results == [expected] * 120


# --- plain text of titles and names --------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("Plain title", "Plain title"),
    ("Tom &amp; Jerry", "Tom & Jerry"),
    ("AT&T <b>wins</b>", "AT&T wins"),
    ("  spaced \n\t out  ", "spaced out"),
    ("<script>alert(1)</script>Headline<style>b{}</style>", "Headline"),
    ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
    ("line<br>break", "line break"),
    ("x < y and y > z", "x < y and y > z"),
    ("a\x00b\x07c", "abc"),
    (None, ""),
    ("", ""),
    ("<img src=x onerror=alert(1)>", ""),
])
def test_plain_text(value, expected):
    """Tags go, entities are decoded, hidden text is dropped, whitespace folds."""
    assert plain_text(value) == expected


def test_plain_text_escaped_has_no_elements():
    """Escaped for output, a title is text only."""
    import html

    value = plain_text('<a href="javascript:x">T</a>&lt;img src=x onerror=alert(1)&gt;')
    assert value == "T<img src=x onerror=alert(1)>"
    assert parse(html.escape(value)).find(".//img") is None
