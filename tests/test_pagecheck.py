"""The publisher's own pages as license evidence: what a page says, read on its own."""

import hashlib
import time

from republisher import pagecheck

BY = ("All Content by Northwind News Agency is licensed under a Creative Commons Attribution 4.0 "
      "International License.")
BY_NC = ("All Content by Northwind News Agency is licensed under a Creative Commons "
         "Attribution-NonCommercial 4.0 International License.")
NO_STATEMENT = "Northwind News Agency, 12 Harbour Road, Port Arden."
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | Northwind News Agency</title>
<link rel="stylesheet" href="/site.css">{head}</head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>
<main><article><h1>{title}</h1><p>{text}</p>{extra}</article></main>
<footer><p>{footer}</p><p><a href="/about">About us</a> | <a href="/contact">Contact</a></p></footer>
</body></html>"""

# ---------------------------------------------------------------- the reader, on its own


def test_a_long_page_is_read_up_to_its_cap_and_its_footer_still_counts():
    filler = '<div class="cc-banner"><p>Cookie settings and other words.</p></div>\n' * 60000
    body = PAGE.format(title="T", head="", text="x", extra=filler, footer=BY).encode()
    assert len(body) > pagecheck.MAX_PAGE_BYTES
    started = time.monotonic()
    page = pagecheck.read_page(body, "https://northwind.example/")
    assert time.monotonic() - started < 5
    assert page["truncated"] and page["license"] == "CC-BY-4.0"
    assert page["sha256"] == hashlib.sha256(body).hexdigest()


def test_scripts_comments_and_templates_are_not_read_as_statements():
    noise = ("<script>var notice = 'This work is licensed under CC BY-NC 4.0';</script>"
             "<!-- This work is licensed under CC BY-ND 4.0 --><template><p>This work is CC BY-SA 4.0.</p></template>"
             "<noscript><p>This work is licensed under CC BY-NC-SA 4.0.</p></noscript>"
             "<svg><metadata>Licensed under CC BY-NC 4.0</metadata></svg>")
    body = PAGE.format(title="T", head="", text="x", extra=noise, footer=BY).encode()
    page = pagecheck.read_page(body, "https://northwind.example/")
    assert page["license"] == "CC-BY-4.0" and [found["text"] for found in page["findings"]] == [BY]


def test_meta_rights_that_reserve_all_rights_disagree_with_the_footer():
    head = '<meta name="DC.rights" content="© 2025 Northwind News Agency. All rights reserved.">'
    page = pagecheck.read_page(PAGE.format(title="T", head=head, text="x", extra="", footer=BY).encode(), "u")
    assert page["license"] is None and page["disagree"]
    assert {found["kind"] for found in page["findings"]} == {"reserved", "license"}


def test_an_unknown_charset_falls_back_to_utf8():
    head = '<meta charset="rot13">'
    body = PAGE.format(title="Ünïcode", head=head, text="x", extra="", footer=BY).encode()
    assert pagecheck.read_page(body, "u", "text/html; charset=no-such-charset")["license"] == "CC-BY-4.0"


def test_license_change_rules():
    before = {"state": "license", "license": "CC-BY-4.0", "text": BY, "url": "u", "at": "t"}
    same = dict(before, at="t2")
    assert not pagecheck.license_change(before, same, "CC-BY-4.0")
    assert pagecheck.license_change(before, dict(before, license="CC-BY-NC-4.0"), "CC-BY-4.0")
    assert pagecheck.license_change(before, {"state": "none", "license": None}, "CC-BY-4.0")
    assert not pagecheck.license_change(before, {"state": "none", "license": None}, "CC-BY-4.0", evidence_read=False)
    assert not pagecheck.license_change(before, {"state": "failed", "license": None}, "CC-BY-4.0")
    nothing = {"state": "none", "license": None, "url": "u", "at": "t"}
    assert not pagecheck.license_change(nothing, before, None)
    assert not pagecheck.license_change(nothing, before, "CC-BY-4.0")
    assert pagecheck.license_change(nothing, dict(before, license="CC-BY-NC-4.0"), "CC-BY-4.0")
