"""Every XSS corpus payload, fed through every feed field over HTTP, runs no script in Chromium.

Each item carries a few payloads in its content, title, authors and link, so about 500 payloads need
fewer than two hundred page loads. Pages are opened with the Content-Security-Policy bypassed: the
sanitizer must hold on its own, and the CSP header is checked separately on every page. A probe records
dialogs, calls of alert/eval/Function/string timers and friends, navigations, popups, console output,
page errors, and every script V8 compiles in the page's main world (CDP Debugger.scriptParsed).
"""

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import html5lib
import pytest

from xss_checks import FORBIDDEN_ELEMENTS, dangerous_url, find_problems, local_name

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpora" / "xss"
PAYLOADS_PER_ITEM = 4
ITEMS_PER_SOURCE = 45  # site and source feeds carry the latest 50 items; every item must be in one
MARKER = "quokkamarker"
PROBE = "__republisherScriptProbe__"
EVALUATION = f"/*{PROBE}*/"
NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
CHANNEL_TITLE = "Corpus \"'><img src=x onerror=alert('channel')><script>alert('channel')</script>"
PAGE_FORBIDDEN = FORBIDDEN_ELEMENTS - {"form", "input", "button"}  # the site's own search forms, checked apart
HEAD_ELEMENTS = {"head", "meta", "title", "link", "script"}
HEAD_LINK_RELS = {"stylesheet", "alternate", "canonical", "license", "icon"}
PLAYWRIGHT_CALL = "((utilityScript, ...args) => utilityScript.evaluate(...args))"
PLAYWRIGHT_UTILITY_END = "return new (module.exports.UtilityScript())(globalThis, false);\n      })();"
CSP_REQUIRED = ("script-src 'none'", "default-src 'none'")

# Wraps every door a payload could open to run code or leave the page, and notes each use.
INIT_SCRIPT = """
(() => {
  const PROBE = "%s";
  const hits = [];
  Object.defineProperty(window, PROBE, {value: hits});
  const note = (what, detail) => { hits.push(what + ": " + String(detail).slice(0, 160)); };
  const swallow = (owner, name) => {
    if (!owner || typeof owner[name] !== "function") return;
    Object.defineProperty(owner, name, {configurable: true, writable: true,
      value: function (...args) { note(name, args[0]); return undefined; }});
  };
  for (const name of ["alert", "confirm", "prompt", "print", "open", "fetch", "postMessage",
                      "importScripts", "showModalDialog"]) swallow(window, name);
  // Playwright evaluates this test's own expressions through eval; they carry the probe's name
  const originalEval = window.eval;
  window.eval = function (code) {
    if (!String(code).includes(PROBE)) note("eval", code);
    return originalEval(code);
  };
  swallow(document, "write");
  swallow(document, "writeln");
  swallow(navigator, "sendBeacon");
  swallow(XMLHttpRequest.prototype, "open");
  swallow(Element.prototype, "insertAdjacentHTML");
  const constructors = ["Function", "Worker", "SharedWorker", "WebSocket", "EventSource"];
  for (const name of constructors) {
    const original = window[name];
    if (!original) continue;
    const spy = new Proxy(original, {
      construct(target, args) { note(name, args.join(",")); return function () {}; },
      apply(target, self, args) { note(name, args.join(",")); return function () {}; },
    });
    window[name] = spy;
    if (name === "Function") Function.prototype.constructor = spy;
  }
  for (const name of ["setTimeout", "setInterval"]) {
    const original = window[name];
    window[name] = function (handler, ...rest) {
      if (typeof handler !== "function") { note(name, handler); return 0; }
      return original.call(this, handler, ...rest);
    };
  }
})();
""" % PROBE


# ---------------------------------------------------------------- the corpus as feeds


def load_corpus() -> list[dict]:
    """Every payload of every corpus file, in file order."""
    entries = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        with open(path, encoding="utf-8") as corpus:
            entries += [json.loads(line) for line in corpus if line.strip()]
    return entries


def group_payloads(entries: list[dict], size: int) -> list[list[dict]]:
    """Groups of payloads; each payload that is not markup leads its own group, so it starts a link."""
    url_like = [entry for entry in entries if not entry["payload"].lstrip().startswith("<")]
    markup = [entry for entry in entries if entry not in url_like]
    count = max(len(url_like), -(-len(entries) // size))
    groups = [[entry] for entry in url_like] + [[] for _ in range(count - len(url_like))]
    for position, entry in enumerate(markup):
        groups[position % count].append(entry)
    return groups


def xml_text(value: str) -> str:
    """Escaped XML text; characters XML 1.0 cannot carry become U+FFFD (a title is text anyway)."""
    return escape(NOT_XML_CHAR.sub("\ufffd", value), {'"': "&quot;"})


def cdata(html: str) -> str:
    """HTML as CDATA, split around any "]]>"; characters XML cannot carry become HTML references."""
    html = NOT_XML_CHAR.sub(lambda match: f"&#x{ord(match.group()):x};", html)
    return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def corpus_item(number: int, group: list[dict]) -> str:
    """One RSS item with the group's payloads in its content, title, authors and link."""
    payloads = [entry["payload"] for entry in group]
    content = f"<p>{MARKER} item {number}</p>\n" + "\n".join(payloads)
    creators = "".join(f"<dc:creator>{xml_text(payload)}</dc:creator>" for payload in payloads)
    return (f"<item><title>{xml_text(f'#{number} ' + ' '.join(payloads))}</title>"
            # the payloads ride inside the link's path: an item without a usable link to its original
            # never passes the publish gate, so a bare payload there could never reach a page
            f"<link>{xml_text(f'https://corpus.example/item/{number}/' + ' '.join(payloads))}</link>"
            f'<guid isPermaLink="false">corpus-{number}</guid>{creators}'
            f"<pubDate>Tue, 24 Nov 2026 {number // 60 % 24:02d}:{number % 60:02d}:00 GMT</pubDate>"
            f"<description>{cdata(content)}</description></item>")


def corpus_feed(numbered_groups: list[tuple[int, list[dict]]], part: int) -> bytes:
    """An RSS feed under CC BY 4.0 whose items carry the payloads."""
    items = "".join(corpus_item(number, group) for number, group in numbered_groups)
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>{xml_text(CHANNEL_TITLE)} {part}</title><link>https://corpus.example/{part}/</link>"
            "<description>Payloads from public XSS corpora</description>"
            "<creativeCommons:license>https://creativecommons.org/licenses/by/4.0/</creativeCommons:license>"
            f"{items}</channel></rss>").encode("utf-8")


CORPUS = load_corpus()
GROUPS = group_payloads(CORPUS, PAYLOADS_PER_ITEM)


@pytest.fixture(scope="module")
def corpus_site(make_site):
    """The corpus fetched from three feeds over HTTP, every item approved and indexed."""
    site = make_site("xss")
    numbered = list(enumerate(GROUPS, start=1))
    site.corpus_sources = []
    for part, start in enumerate(range(0, len(numbered), ITEMS_PER_SOURCE), start=1):
        body = corpus_feed(numbered[start:start + ITEMS_PER_SOURCE], part)
        # the source is named by its URL, so the feed's hostile title becomes its name
        site.corpus_sources.append(site.add_feed(f"/corpus-{part}.xml", body))
    for source_id in site.corpus_sources:
        site.publish(source_id)
    site.index()
    site.wait_until_up()
    return site


# ---------------------------------------------------------------- the probe


class ScriptProbe:
    """One page that records every sign of script execution, navigation or dialog per visit."""

    def __init__(self, context):
        self.page = context.new_page()
        self.findings: list[str] = []
        self.scripts: list[dict] = []
        self.isolated: set[int] = set()
        self.live: set[int] = set()
        self.page.add_init_script(INIT_SCRIPT)
        self.page.on("dialog", self.on_dialog)
        self.page.on("framenavigated", self.on_navigated)
        self.page.on("popup", lambda popup: self.note(f"popup opened: {popup.url}"))
        self.page.on("console", lambda message: self.note(f"console {message.type}: {message.text[:160]}"))
        self.page.on("pageerror", lambda error: self.note(f"page error: {error}"))
        self.cdp = context.new_cdp_session(self.page)
        self.cdp.on("Runtime.executionContextCreated", self.on_context)
        self.cdp.on("Runtime.executionContextDestroyed", self.on_context_gone)
        self.cdp.on("Runtime.executionContextsCleared", lambda _: self.live.clear())
        self.cdp.on("Debugger.scriptParsed", self.on_script)
        self.cdp.send("Runtime.enable")
        self.cdp.send("Debugger.enable")
        # a payload's `debugger;` must not freeze the run; it is caught as a parsed script instead
        self.cdp.send("Debugger.setSkipAllPauses", {"skip": True})
        self.expected_url = None

    def note(self, finding: str) -> None:
        """Record a finding against the page being visited."""
        self.findings.append(f"{self.expected_url}: {finding}")

    def on_dialog(self, dialog) -> None:
        """A dialog is script execution; record and close it."""
        self.note(f"dialog {dialog.type}: {dialog.message[:160]}")
        dialog.dismiss()

    def on_navigated(self, frame) -> None:
        """Any navigation besides loading the page itself (an iframe, a redirect, a fragment change)."""
        if frame != self.page.main_frame or frame.url != self.expected_url:
            self.note(f"navigation to {frame.url}")

    def on_script(self, event) -> None:
        """Keep every compiled script; they are judged after the page has loaded."""
        self.scripts.append(event)

    def on_context(self, event) -> None:
        """Track live contexts; isolated worlds (Playwright's own) are out of reach of page content."""
        context = event["context"]
        if (context.get("auxData") or {}).get("type") == "isolated":
            self.isolated.add(context["id"])
        else:
            self.live.add(context["id"])

    def on_context_gone(self, event) -> None:
        """A document's context went away with its document."""
        self.live.discard(event.get("executionContextId"))

    def flush(self) -> None:
        """Judge scripts compiled since the last look (late ones still count against their page)."""
        pending, self.scripts = self.scripts, []
        for script in pending:
            self.check_script(script)

    def visit(self, url: str):
        """Load a URL and record what ran; returns the main response."""
        self.flush()
        self.expected_url = url
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, f"{url}: {response and response.status}"
        # give timers, lazy handlers and late navigations a moment to show themselves
        self.page.wait_for_timeout(30)
        hits = self.page.evaluate(f"{EVALUATION} window['{PROBE}'] ? [...window['{PROBE}']] : ['probe missing']")
        for hit in hits:
            self.note(f"call {hit}")
        self.flush()
        return response

    def check_script(self, script: dict) -> None:
        """A script compiled in a page's world is a finding unless it is the probe's or Playwright's own."""
        context = script.get("executionContextId")
        if context in self.isolated or (script.get("executionContextAuxData") or {}).get("type") == "isolated":
            return
        try:
            source = self.cdp.send("Debugger.getScriptSource", {"scriptId": script["scriptId"]})["scriptSource"]
        except Exception as exc:  # a script of a document that is gone may be gone with it
            if script.get("url") or context in self.live:
                self.note(f"script parsed (url={script.get('url')!r}), source unavailable: {exc}")
            return
        if not script.get("url") and (PROBE in source or playwright_script(source)):
            return
        self.note(f"script parsed (url={script.get('url')!r}): {source[:160]!r}")


def playwright_script(source: str) -> bool:
    """Playwright's evaluation helper, which it compiles in the main world to run evaluate()."""
    return source == PLAYWRIGHT_CALL or source.rstrip().endswith(PLAYWRIGHT_UTILITY_END)


@pytest.fixture(scope="module")
def probe(open_context, corpus_site):
    """A probe page in a context without CSP, reaching nothing but the corpus site."""
    context = open_context(corpus_site.url, bypass_csp=True)
    yield ScriptProbe(context)
    context.close()


# ---------------------------------------------------------------- DOM checks


def page_problems(html: str, url: str) -> list[str]:
    """Active content in the page's DOM: the body by xss_checks, the head and forms by the site's shape."""
    document = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    head, body = document.find("head"), document.find("body")
    problems = find_problems(ET.tostring(body, encoding="unicode", method="html"), forbidden=PAGE_FORBIDDEN)
    problems += head_problems(head) + form_problems(body)
    return [f"{url}: {problem}" for problem in problems]


def head_problems(head) -> list[str]:
    """The head holds only the layout's elements: no handler, refresh, script or active link."""
    problems = []
    scripts = 0
    for element in head.iter():
        name = local_name(element.tag)
        attributes = {local_name(key): value for key, value in element.attrib.items()}
        if name not in HEAD_ELEMENTS:
            problems.append(f"unexpected <{name}> in head")
        if any(key.startswith("on") for key in attributes):
            problems.append(f"event handler on <{name}> in head")
        if name == "meta" and "http-equiv" in attributes:
            problems.append(f"<meta http-equiv={attributes['http-equiv']!r}> in head")
        if name == "link":
            rels = set(attributes.get("rel", "").lower().split())
            if not rels <= HEAD_LINK_RELS or dangerous_url(attributes.get("href", "")):
                problems.append(f"unexpected <link {attributes}> in head")
        if name == "script":
            scripts += 1
            problems += json_ld_problems(element, attributes)
    if scripts > 1:
        problems.append(f"{scripts} script elements in head")
    return problems


def json_ld_problems(element, attributes: dict) -> list[str]:
    """The only script allowed is JSON-LD that still parses (a payload did not end it early)."""
    if attributes.get("type") != "application/ld+json" or len(element):
        return [f"script element {attributes} in head"]
    try:
        json.loads(element.text or "")
    except ValueError as exc:
        return [f"JSON-LD broken by its content: {exc}"]
    return []


def form_problems(body) -> list[str]:
    """Forms, inputs and buttons are the site's search forms only."""
    problems = []
    for element in body.iter():
        name = local_name(element.tag) if isinstance(element.tag, str) else ""
        attributes = element.attrib
        if name == "form" and (attributes.get("action") != "/search" or attributes.get("method") != "get"):
            problems.append(f"foreign form {dict(attributes)}")
        if name == "input" and (attributes.get("name") != "q" or attributes.get("type") != "search"):
            problems.append(f"foreign input {dict(attributes)}")
        if name == "button" and attributes.get("type") != "submit":
            problems.append(f"foreign button {dict(attributes)}")
    return problems


def csp_problems(response, url: str) -> list[str]:
    """The page's Content-Security-Policy still forbids every script (second line of defence)."""
    policy = response.headers.get("content-security-policy", "")
    return [f"{url}: CSP lacks {rule!r}" for rule in CSP_REQUIRED if rule not in policy]


def check_html_page(probe, url: str, problems: list[str]) -> str:
    """Visit an HTML page, add its DOM and header problems; returns the DOM's HTML."""
    response = probe.visit(url)
    html = probe.page.evaluate(f"{EVALUATION} document.documentElement.outerHTML")
    problems += page_problems(html, url) + csp_problems(response, url)
    return html


def listing_pages(probe, first_url: str, problems: list[str]) -> list[str]:
    """Visit a listing and every older page after it; returns the article links found."""
    links, url = [], first_url
    while url:
        check_html_page(probe, url, problems)
        # plain DOM calls in a marked evaluation: Playwright's selector engine would add scripts of its own
        links += probe.page.evaluate(f"{EVALUATION} [...document.querySelectorAll('.card-title a')].map(a => a.href)")
        url = probe.page.evaluate(f"{EVALUATION} (document.querySelector('a[rel=next]') || {{}}).href || null")
    return links


def assert_clean(probe, problems: list[str]) -> None:
    """No finding of the probe and no DOM problem, listed together."""
    probe.flush()
    found = probe.findings + problems
    probe.findings.clear()
    assert not found, f"{len(found)} findings:\n  " + "\n  ".join(found[:60])


# ---------------------------------------------------------------- tests


def test_the_probe_sees_a_script_that_runs(probe, corpus_site):
    """Control: a page that does run script is caught, so a silent probe means a clean page."""
    url = corpus_site.url + "/__probe-control"
    page = ("<!doctype html><title>control</title><img src=/missing.png onerror=alert(1)>"
            "<script>setTimeout('void 0'); new Function('return 1')</script>")
    probe.page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=page))
    try:
        probe.visit(url)
    finally:
        probe.page.unroute(url)
    found = "\n".join(probe.findings)
    probe.findings.clear()
    for expected in ("call alert: 1", "call setTimeout: void 0", "call Function: return 1",
                     "script parsed (url='" + url):
        assert expected in found, f"the probe missed {expected!r}; it saw:\n{found}"


def test_every_payload_reached_the_site(corpus_site):
    assert len(CORPUS) >= 500
    assert sorted(entry["id"] for group in GROUPS for entry in group) == sorted(e["id"] for e in CORPUS)
    items = storage_items(corpus_site)
    not_published = [item for item in items if item["status"] != "published"]
    assert not not_published, [(item["title"][:60], item["status"], item["status_reason"])
                               for item in not_published]
    assert len(items) == len(GROUPS)
    # the hostile titles and names arrived as data (the pages below show them), not dropped on the way
    assert all(item["title"].startswith("#") for item in items)
    named = sum(1 for item in items if item["authors"])
    assert named >= 0.95 * len(items)  # names that are only markup are empty as text, and dropped


def storage_items(site) -> list[dict]:
    """Every item of the corpus sources."""
    from republisher import storage

    return [item for source_id in site.corpus_sources for item in storage.list_items(site.db, source_id=source_id)]


def test_home_pages_and_every_article_run_no_script(probe, corpus_site):
    problems = []
    articles = listing_pages(probe, corpus_site.url + "/", problems)
    assert len(articles) == len(GROUPS)
    for url in articles:
        html = check_html_page(probe, url, problems)
        if MARKER not in html:
            problems.append(f"{url}: the item's content is missing")
    assert_clean(probe, problems)


def test_search_results_run_no_script(probe, corpus_site):
    problems = []
    results = listing_pages(probe, f"{corpus_site.url}/search?q={MARKER}", problems)
    assert len(results) == len(GROUPS)
    assert_clean(probe, problems)


def test_source_pages_run_no_script(probe, corpus_site):
    from republisher import storage

    problems = []
    check_html_page(probe, corpus_site.url + "/sources/", problems)
    check_html_page(probe, corpus_site.url + "/licenses", problems)
    found = []
    for source_id in corpus_site.corpus_sources:
        slug = storage.get_source(corpus_site.db, source_id)["slug"]
        found += listing_pages(probe, f"{corpus_site.url}/sources/{slug}", problems)
    assert len(found) == len(GROUPS)
    assert_clean(probe, problems)


def feed_paths(site) -> list[str]:
    """The site's feeds and every corpus source's feeds (each source holds fewer items than a feed)."""
    from republisher import storage

    paths = ["/feed.xml", "/atom.xml", "/feed.json"]
    for source_id in site.corpus_sources:
        slug = storage.get_source(site.db, source_id)["slug"]
        paths += [f"/sources/{slug}/feed.xml", f"/sources/{slug}/atom.xml", f"/sources/{slug}/feed.json"]
    return paths


def feed_html_fields(body: bytes, path: str) -> list[tuple[str, str]]:
    """(field, HTML) of every field a feed reader renders as HTML, by each format's rules.

    RSS: channel and item description, content:encoded. Atom: text constructs and content of
    type html (escaped) or xhtml (inline). JSON Feed: content_html. Other fields are plain text.
    """
    if path.endswith(".json"):
        return [("content_html", item.get("content_html") or "") for item in json.loads(body)["items"]]
    root = ET.fromstring(body)
    if local_name(root.tag) == "rss":
        return [(local_name(element.tag), element.text or "") for element in root.iter()
                if local_name(element.tag) in ("description", "encoded")]
    fields = []
    for element in root.iter():
        kind = element.get("type", "text")
        if kind == "html":
            fields.append((local_name(element.tag), element.text or ""))
        elif kind == "xhtml":
            fields.append((local_name(element.tag), "".join(ET.tostring(child, encoding="unicode")
                                                           for child in element)))
    return fields


def test_feeds_open_in_the_browser_run_no_script(probe, corpus_site):
    problems = []
    items_in_source_feeds = 0
    for path in feed_paths(corpus_site):
        url = corpus_site.url + path
        response = probe.visit(url)
        fields = feed_html_fields(response.body(), path)
        if path.startswith("/sources/") and path.endswith(".json"):
            items_in_source_feeds += len(fields)
        for field, html in fields:
            problems += [f"{url} <{field}>: {problem}" for problem in find_problems(html)]
        xhtml = probe.page.evaluate(
            f"{EVALUATION} document.getElementsByTagNameNS('http://www.w3.org/1999/xhtml', 'script').length")
        if xhtml:
            problems.append(f"{url}: {xhtml} XHTML script elements in the feed document")
    assert items_in_source_feeds == len(GROUPS), "every corpus item is in its source's feeds"
    assert_clean(probe, problems)
