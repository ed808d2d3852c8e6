"""Properties of the sanitizer over generated HTML: the publisher's text comes through, and a second pass is a no-op.

The expected text is built with the document, from the model below, not read back by any of our own code;
the output's text is read by html5lib as a browser would read it (the DOM's textContent).
"""

import html.entities

import html5lib
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from republisher.sanitizer import sanitize_html

BASE = "https://publisher.example/news/story.html"
# Fixed seed, no example database: CI draws the same documents every run. 400 documents draw a numeric
# reference in nearly all of them, so a sanitizer that garbles references cannot pass.
PROPERTIES = settings(max_examples=400, derandomize=True, database=None, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])

# What publishers write: scripts of every direction, astral characters, combining marks, typography.
SCRIPTS = (
    "Iran's ’‘“”–—…«»·€£©®™ Tehran ",
    "日本語のニュース東京都中文新闻한국어 ",
    "خبرگزاری ایران العربية ",
    "שלום עולם ",
    "😀🇮🇷𝕏𠜎👩‍👩‍👧 ",
    "e\u0301 a\u0308 \u0915\u094d\u0937 ",
    "\u00a0\u200f\u200e\u2009 ",
    "<>&\"'= ;#",
)
ALPHABET = "".join(SCRIPTS)
# Characters that browsers read from the references WordPress and old CMSs write in the 0x80-0x9F range.
WINDOWS_1252 = {"’": 146, "‘": 145, "“": 147, "”": 148, "–": 150, "—": 151, "…": 133, "€": 128, "™": 153}
NAMED = {chr(code): name for code, name in html.entities.codepoint2name.items()} | {"'": "apos"}

KEPT_TAGS = ("p", "div", "span", "em", "strong", "b", "i", "u", "small", "blockquote", "q", "cite",
             "code", "mark", "sub", "sup", "h2", "h3", "figcaption", "figure", "abbr")
UNWRAPPED_TAGS = ("font", "section", "article", "center", "custom-tag", "label", "nav")  # text kept
DROPPED_TAGS = ("script", "style", "noscript", "template", "textarea")  # text dropped
RAW_TEXT_TAGS = ("script", "style", "noscript", "textarea")
ATTRIBUTES = ("", ' title="t &amp; u"', ' dir="rtl"', ' lang="fa"', ' class="x"', ' style="color:red"',
              ' onclick="alert(1)"', ' data-x="&#x27;"')


@st.composite
def encoded_char(draw, char: str) -> str:
    """One character written the way some publisher writes it: raw, named, decimal or hex."""
    forms = ["dec", "hex"]
    if char not in "<&":
        forms.append("raw")
    if char in NAMED:
        forms.append("named")
    if char in WINDOWS_1252:
        forms.append("windows-1252")
    form = draw(st.sampled_from(forms))
    if form == "raw":
        return char
    if form == "named":
        return f"&{NAMED[char]};"
    if form == "windows-1252":
        return f"&#{WINDOWS_1252[char]};"
    return f"&#{ord(char)};" if form == "dec" else f"&#x{ord(char):x};"


@st.composite
def text_node(draw) -> tuple[str, str]:
    """(HTML, visible text) of a run of text."""
    text = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=12))
    return "".join(draw(encoded_char(char)) for char in text), text


def element(children):
    """(HTML, visible text) of an element around children: kept, unwrapped or dropped with its text."""
    @st.composite
    def build(draw) -> tuple[str, str]:
        kind = draw(st.sampled_from(("kept", "kept", "kept", "unwrapped", "dropped", "link")))
        parts = draw(st.lists(children, max_size=4))
        inner, text = "".join(part for part, _ in parts), "".join(text for _, text in parts)
        attributes = draw(st.sampled_from(ATTRIBUTES))
        if kind == "dropped":
            tag = draw(st.sampled_from(DROPPED_TAGS))
            if tag in RAW_TEXT_TAGS:
                # raw-text elements end at their end tag only; what is inside never shows. A template's
                # content is parsed as markup, so escaping it would leave a script inside it unclosed.
                inner = inner.replace("</", "<\\/")
            return f"<{tag}{attributes}>{inner}</{tag}>", ""
        if kind == "link":
            href = draw(st.sampled_from(("/a?b=1&amp;c=2", "https://other.example/x", "javascript:alert(1)")))
            tag, attributes = "a", f' href="{href}"{attributes}'
            inner = inner.replace("<a ", "<span ").replace("</a>", "</span>")  # links do not nest
        else:
            tag = draw(st.sampled_from(KEPT_TAGS if kind == "kept" else UNWRAPPED_TAGS))
        return f"<{tag}{attributes}>{inner}</{tag}>", text
    return build()


documents = st.recursive(text_node(), element, max_leaves=30).map(
    lambda node: (f"<p>{node[0]}</p>", node[1]))


def visible_text(fragment: str) -> str:
    """The text of a fragment's nodes in document order (the DOM's textContent), less line breaks.

    The drawn text holds no line break; the sanitizer writes one where it unwraps a block element, as
    the browser broke the line there.
    """
    root = html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)
    return "".join(root.itertext()).replace("\n", "")


@PROPERTIES
@given(documents)
@example(("<p>Iran&#x27;s ferry &#8217;s &amp;amp; &#146;</p>", "Iran's ferry ’s &amp; ’"))
@example(("<p><p><template><script></script></template>&#59;</p></p>", ";"))
def test_the_publishers_text_comes_through_character_for_character(document):
    markup, text = document
    assert visible_text(sanitize_html(markup, BASE).html) == text


@PROPERTIES
@given(documents)
def test_sanitizing_the_output_again_changes_nothing(document):
    markup, _ = document
    once = sanitize_html(markup, BASE).html
    assert sanitize_html(once, BASE).html == once
