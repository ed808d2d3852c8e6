"""Assertions that HTML holds nothing active, judged on an html5lib re-parse read as browsers read it.

Used by the sanitizer tests and by browser-level tests of rendered pages.
"""

import re

import html5lib

FORBIDDEN_ELEMENTS = frozenset((
    "script", "iframe", "object", "embed", "svg", "math", "form", "base", "meta", "style", "link",
    "frame", "frameset", "applet", "noscript", "template", "input", "button", "select", "textarea",
    "xmp", "plaintext", "noembed", "noframes", "portal", "param", "isindex",
))
URL_ATTRIBUTES = frozenset((
    "href", "src", "action", "formaction", "srcset", "imagesrcset", "poster", "background", "data",
    "codebase", "cite", "longdesc", "lowsrc", "dynsrc", "ping", "manifest", "icon", "profile",
    "archive", "classid", "usemap", "itemtype", "datasrc", "content", "to", "from", "values", "by",
))
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:", "mocha:", "jar:")
ACTIVE_STYLE = ("expression(", "javascript:", "vbscript:", "-moz-binding", "behavior:")
_URL_IGNORED = re.compile(
    r"[\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]+")


def parse(html: str, document: bool = False):
    """The fragment (or whole document) as a browser would build it, as an ElementTree element."""
    if document:
        return html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    return html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)


def local_name(name: str) -> str:
    """An element or attribute name without its namespace, case-folded."""
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].casefold()


def browser_url(value: str) -> str:
    """A URL attribute value reduced to what decides its scheme in any browser.

    The parser has already decoded character references; browsers delete tabs and newlines
    anywhere and strip controls and spaces at the ends, and old ones skipped more. We delete
    every control and space character anywhere and case-fold, which is stricter than all of them.
    """
    return _URL_IGNORED.sub("", value).casefold()


def dangerous_url(value: str) -> bool:
    """True when any URL in the value (one URL, or a srcset list) has an active scheme."""
    candidates = [value] + [part.strip().split(" ")[0] for part in value.split(",")]
    return any(browser_url(url).startswith(DANGEROUS_SCHEMES) for url in candidates)


def find_problems(html: str, forbidden=FORBIDDEN_ELEMENTS, allow_style: bool = False,
                  document: bool = False) -> list[str]:
    """Every active element, event handler, script URL or (unless allowed) style attribute.

    For a whole page, pass document=True and the elements the page itself may use, e.g.
    forbidden=FORBIDDEN_ELEMENTS - {"meta", "link", "script", "style"}.
    """
    problems = []
    for element in parse(html, document).iter():
        if not isinstance(element.tag, str):
            continue  # comments
        name = local_name(element.tag)
        if name in forbidden:
            problems.append(f"forbidden element <{name}>")
        for attribute, value in element.attrib.items():
            key = local_name(attribute)
            if key.startswith("on"):
                problems.append(f"event handler {key} on <{name}>")
            elif key in URL_ATTRIBUTES and dangerous_url(value):
                problems.append(f"active URL in <{name} {key}={value!r}>")
            elif key == "style" and not allow_style:
                problems.append(f"style attribute on <{name}>")
            elif key == "style" and any(word in browser_url(value) for word in ACTIVE_STYLE):
                problems.append(f"active style on <{name}>: {value!r}")
    return problems


def assert_inert(html: str, forbidden=FORBIDDEN_ELEMENTS, allow_style: bool = False,
                 document: bool = False) -> None:
    """Fail with a list of problems unless the HTML holds nothing active."""
    problems = find_problems(html, forbidden, allow_style, document)
    assert not problems, \
        "active content survived:\n  " + "\n  ".join(problems) + f"\nin: {html!r}"


def element_names(html: str) -> list[str]:
    """Names of all elements in the re-parsed HTML, in document order."""
    return [local_name(element.tag) for element in parse(html).iter()
            if isinstance(element.tag, str)][1:]
