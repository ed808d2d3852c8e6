"""Page check stage: what a publisher's own web pages say about its license.

Many feeds say nothing about their license while every page of the publisher's site ends with one ("All
Content by … is licensed under a Creative Commons Attribution 4.0 International License."). This stage
reads a page for such statements in three places:

* head metadata: ``<link rel="license">`` and ``<meta>`` elements that name a license or rights
  (``dcterms.license``, ``DC.rights``, ``copyright`` and the like);
* JSON-LD: the ``license`` of the nodes that describe the page or the site (a URL, or an object with
  ``url``, ``@id`` or ``name``), never of an ImageObject or another medium;
* the body, read by ``statements`` once scripts, styles, noscript, template and svg elements and
  comments are cut out: ``rel="license"`` links outside figures and captions and the closing sentence.
  Only statements that speak of the item (here: the page) count; media credits and mentions never do.

A page proposes a license only when every finding names it: two licenses, a license the registry does
not know, or a reservation of rights beside a license propose nothing, with the reason. ``PageFetcher``
reads pages politely: one request at a time per host, robots.txt obeyed, a 429 or 503 remembered for the
host until its Retry-After has passed.

The work is linear in the page's size: at most its first 2 MiB are read (and, of a longer page, its last
256 KiB, where footers stand), every search moves forward, and JSON-LD is parsed under size and count
caps.
"""

import codecs
import hashlib
import html
import json
import math
import re
import threading
import time
import urllib.robotparser
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from . import fetcher, license_text, licenses, statements
from .errors import FetchError, HTTPStatusError

MAX_PAGE_BYTES = 2 * 1024 * 1024
TAIL_BYTES = 256 * 1024
MAX_JSON_LD = 20  # scripts read per page
MAX_JSON_CHARS = 256 * 1024  # characters of one JSON-LD script
MAX_NODES = 200  # JSON-LD nodes looked at per script
MAX_VALUES = 20  # values of one license property
MAX_HEAD_TAGS = 2000
CLOSING_CHARS = 16000  # characters read again as the page's closing part when it has no footer element
HEAD = "head metadata"
NO_STATEMENT = "no license statement found"
LICENSE_META = frozenset({"dcterms.license", "dcterms:license", "dc.license", "dc:license", "license",
                          "cc:license", "og:license", "citation_license"})
RIGHTS_META = frozenset({"dc.rights", "dc:rights", "dcterms.rights", "dcterms:rights", "rights", "copyright",
                         "dcterms.accessrights"})
MEDIA_TYPES = frozenset({"imageobject", "videoobject", "audioobject", "mediaobject", "photograph", "3dmodel",
                         "musicrecording", "clip", "barcode"})
RESTRICTION_FLAGS = {"non_commercial": "non_commercial", "no_derivatives": "no_derivatives"}
KIND_WORDS = {"reserved": "reserves all rights", "restricted": "restricts use", "third_party": "credits a third party",
              "unrecognized": "names a license the registry does not know"}
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
ROBOTS_ACCEPT = "text/plain, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")
POSTPONING_STATUSES = (429, 503)
DEFAULT_RETRY_AFTER = 3600  # seconds a 429 or 503 without Retry-After keeps us away
MAX_CRAWL_DELAY = 10.0  # seconds we wait between two requests to one host when robots.txt asks to
_NOISE = re.compile(r"<!--|<(script|style|noscript|template|svg)(?=[\s/>])", re.IGNORECASE)
_CLOSE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE)
          for name in ("script", "style", "noscript", "template", "svg")}
_BODY = re.compile(r"<body(?=[\s>])", re.IGNORECASE)
_FOOTER = re.compile(r"<footer(?=[\s>])", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
# [^<>]: a tag that never closes stops at the next tag instead of sending every later match to the end
_HEAD_TAG = re.compile(r"<(link|meta)\b[^<>]*>", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^<>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]{1,40})", re.IGNORECASE)
_URL_START = ("http:", "https:", "//", "/")
_SPACE = re.compile(r"\s+")


def now_iso() -> str:
    """Current UTC time, ISO 8601 (as storage writes it)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- reading one page


def read_page(body: bytes, url: str, content_type: str | None = None) -> dict:
    """A page's license findings, the license they propose (or why none), its SHA-256 and final URL."""
    head_text, tail_text = decode(body, content_type)
    cleaned, scripts = strip_noise(head_text)
    head, page_body = split_head(cleaned)
    findings = head_findings(head) + json_ld_findings(scripts)
    body_found, ignored = body_findings(page_body)
    findings += body_found
    if tail_text is not None:
        tail_found, tail_ignored = body_findings(strip_noise(tail_text)[0])
        findings += tail_found
        ignored += tail_ignored
    findings = unique(findings)
    license_id, reason, disagree = propose(findings)
    return {"final_url": url, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
            "truncated": tail_text is not None, "license": license_id, "reason": reason, "disagree": disagree,
            "findings": findings, "ignored": ignored}


def decode(body: bytes, content_type: str | None) -> tuple[str, str | None]:
    """(the page's first MAX_PAGE_BYTES as text, its last TAIL_BYTES as text when the page is longer)."""
    encoding = page_encoding(body, content_type)
    head = decode_bytes(body[:MAX_PAGE_BYTES], encoding)
    if len(body) <= MAX_PAGE_BYTES:
        return head, None
    return head, decode_bytes(body[-TAIL_BYTES:], encoding)


def page_encoding(body: bytes, content_type: str | None) -> str:
    """The page's encoding: a byte order mark, else the server's charset, else the page's own, else UTF-8."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    header = _HEADER_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(body[:4096])
    for candidate in (header.group(1) if header else None, meta.group(1).decode("ascii") if meta else None):
        if candidate and is_text_encoding(candidate):
            return candidate
    return "utf-8"


def is_text_encoding(name: str) -> bool:
    """Whether a charset name is a text encoding Python knows (not rot13 or another transform)."""
    try:
        b"".decode(name)
    except LookupError:
        return False
    return True


def decode_bytes(data: bytes, encoding: str) -> str:
    """Bytes as text; undecodable bytes replaced, an encoding that fails altogether replaced by UTF-8."""
    try:
        return data.decode(encoding, errors="replace")
    except (LookupError, UnicodeError, ValueError):
        return data.decode("utf-8", errors="replace")


def strip_noise(page: str) -> tuple[str, list[str]]:
    """The page without comments and script, style, noscript, template and svg elements; JSON-LD kept aside.

    An svg goes too: the license its metadata names is the drawing's, not the page's.
    """
    pieces, scripts, position = [], [], 0
    while True:
        match = _NOISE.search(page, position)
        if match is None:
            break
        pieces.append(page[position:match.start()])
        if match.group(1) is None:
            end = page.find("-->", match.end())
            position = len(page) if end == -1 else end + 3
            continue
        name = match.group(1).lower()
        tag_end = page.find(">", match.end())
        if tag_end == -1:
            position = len(page)
            break
        close = _CLOSE[name].search(page, tag_end + 1)
        content_end = close.start() if close else len(page)
        if name == "script" and len(scripts) < MAX_JSON_LD and is_json_ld(page[match.start():tag_end + 1]):
            scripts.append(page[tag_end + 1:min(content_end, tag_end + 1 + MAX_JSON_CHARS)])
        position = close.end() if close else len(page)
    pieces.append(page[position:])
    return "".join(pieces), scripts


def is_json_ld(tag: str) -> bool:
    """Whether a script start tag holds JSON-LD."""
    kind = statements.tag_attributes(tag).get("type") or ""
    return kind.strip().lower().split(";")[0].strip() == "application/ld+json"


def split_head(page: str) -> tuple[str, str]:
    """(head, body) of a page without noise; a page without either tag is read whole as both."""
    body = _BODY.search(page)
    if body:
        return page[:body.start()], page[body.start():]
    head_end = _HEAD_END.search(page)
    if head_end:
        return page[:head_end.start()], page[head_end.end():]
    return page, page


def finding(license_id: str | None, kind: str, found_in: str, location: str, text: str, **extra) -> dict:
    """One thing a page says about its license, as plain values."""
    found = {"license": license_id, "kind": kind, "found_in": found_in, "location": location, "text": text,
             "exact": extra.pop("exact", True)}
    found.update({key: value for key, value in extra.items() if value})
    return found


def unique(findings: list[dict]) -> list[dict]:
    """Findings without repeats (the last bytes of a long page are read twice), in the order found."""
    seen, result = set(), []
    for found in findings:
        key = (found["kind"], found["license"], found["text"], found["found_in"], found["location"])
        if key not in seen:
            seen.add(key)
            result.append(found)
    return result


# ---------------------------------------------------------------- head metadata and JSON-LD


def head_findings(head: str) -> list[dict]:
    """Licenses named by <link rel="license"> and by <meta> elements of the head."""
    found = []
    for count, match in enumerate(_HEAD_TAG.finditer(head)):
        if count >= MAX_HEAD_TAGS:
            break
        attributes = statements.tag_attributes(match.group(0))
        if match.group(1).lower() == "link":
            rels = set((attributes.get("rel") or "").lower().split())
            if rels & statements.LICENSE_RELS or (attributes.get("itemprop") or "").lower() == "license":
                found += value_findings(attributes.get("href") or "", "html link rel=license", license_element=True)
            continue
        name = (attributes.get("name") or attributes.get("property") or attributes.get("itemprop") or "")
        name = name.strip().lower()
        if name in LICENSE_META or name in RIGHTS_META:
            found += value_findings(attributes.get("content") or "", f"meta {name}",
                                    license_element=name in LICENSE_META)
    return found


def value_findings(raw: str, found_in: str, *, license_element: bool) -> list[dict]:
    """Findings in one metadata value: a license URL, a license's name, or rights text.

    A license element whose value names nothing the registry knows is unrecognized: a page that points
    to terms of its own proposes nothing.
    """
    value = _SPACE.sub(" ", html.unescape(raw)).strip()
    if not value:
        return []
    spdx_id = licenses.resolve_url(value)
    if spdx_id:
        return [finding(spdx_id, "license", found_in, HEAD, value)]
    if value.lower().startswith(_URL_START):
        return [finding(None, "unrecognized", found_in, HEAD, value)]
    found = [finding(mention.license, "license" if mention.license else "unrecognized", found_in, HEAD, value,
                     exact=mention.exact) for mention in license_text.scan(value)]
    for term in license_text.terms(value):
        found.append(finding(None, term.finding_kind, found_in, HEAD, value, term=term.restriction))
    if not found and license_element:
        found.append(finding(None, "unrecognized", found_in, HEAD, value))
    return found


def json_ld_findings(scripts: list[str]) -> list[dict]:
    """The licenses the page's JSON-LD gives the page or the site; malformed or hostile JSON is skipped."""
    found = []
    for script in scripts:
        try:
            data = json.loads(script)
        except (ValueError, RecursionError):
            continue
        for node in own_nodes(data):
            values = node.get("license")
            for value in (values if isinstance(values, list) else [values])[:MAX_VALUES]:
                found += json_ld_license(value)
    return found


def own_nodes(data) -> list[dict]:
    """The JSON-LD nodes that describe the page or the site: top level, @graph and mainEntity, media left out."""
    nodes = []
    for item in (data if isinstance(data, list) else [data])[:MAX_NODES]:
        if not isinstance(item, dict):
            continue
        nodes.append(item)
        graph = item.get("@graph")
        for member in (graph if isinstance(graph, list) else [graph])[:MAX_NODES]:
            if isinstance(member, dict):
                nodes.append(member)
    for node in nodes[:MAX_NODES]:
        main = node.get("mainEntity")
        if isinstance(main, dict):
            nodes.append(main)
    return [node for node in nodes[:2 * MAX_NODES] if not is_media(node)]


def is_media(node: dict) -> bool:
    """Whether a JSON-LD node is a picture, a video or another medium (its license is not the page's)."""
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(kind, str) and kind.rsplit("/", 1)[-1].lower() in MEDIA_TYPES for kind in kinds[:MAX_VALUES])


def json_ld_license(value) -> list[dict]:
    """Findings of one JSON-LD license value: a URL string, or an object with url, @id or name."""
    if isinstance(value, str):
        return relabel(value_findings(value, "json-ld license", license_element=True))
    if not isinstance(value, dict):
        return []  # numbers, booleans and nested lists say nothing we could quote
    url = next((value[key] for key in ("url", "@id") if isinstance(value.get(key), str) and value[key].strip()), None)
    name = value.get("name") if isinstance(value.get("name"), str) else None
    if url and licenses.resolve_url(url.strip()):
        return relabel(value_findings(url, "json-ld license", license_element=True))
    if name and name.strip():
        return relabel(value_findings(name, "json-ld license", license_element=True))
    return relabel(value_findings(url, "json-ld license", license_element=True)) if url else []


def relabel(found: list[dict]) -> list[dict]:
    """JSON-LD findings stand with the head's metadata, wherever the script stood."""
    return [dict(item, location=HEAD) for item in found]


# ---------------------------------------------------------------- the body


def body_findings(body: str) -> tuple[list[dict], int]:
    """(statements in the body that speak of the page, how many media credits and mentions were left out).

    The closing part (the last footer, else the last characters) is read once more on its own: the
    reader looks at a bounded number of places, and a page full of "cc-" class names would otherwise
    use them all up before its footer.
    """
    found, ignored = fragment_findings(body)
    closing = closing_part(body)
    if closing is not body:
        more, more_ignored = fragment_findings(closing)
        found += more
        ignored += more_ignored
    return found, ignored


def closing_part(body: str) -> str:
    """The page's last footer element to the end, else its last CLOSING_CHARS characters from a tag on."""
    last = None
    for last in _FOOTER.finditer(body):
        pass
    if last is not None:
        return body[last.start():] if last.start() else body
    if len(body) <= CLOSING_CHARS:
        return body
    start = body.find("<", len(body) - CLOSING_CHARS)
    return body[start:] if start != -1 else body[-CLOSING_CHARS:]


def fragment_findings(body: str) -> tuple[list[dict], int]:
    """The statements of one piece of the body that speak of the page, and how many others there were."""
    found, ignored = [], 0
    for statement in statements.find_statements(body):
        if statement.scope != "item":
            ignored += 1
            continue
        found.append(finding(statement.license, statement.kind, statement.found_in, statement.location,
                             statement.text, exact=statement.exact, party=statement.party, term=statement.term))
    return found, ignored


# ---------------------------------------------------------------- proposing


def propose(findings: list[dict]) -> tuple[str | None, str | None, bool]:
    """(license, why none, whether the findings disagree) for the findings of one page or several."""
    if not findings:
        return None, NO_STATEMENT, False
    unknown = next((found for found in findings if found["kind"] == "unrecognized"), None)
    if unknown is not None:
        return None, f"a statement {describe(unknown)}", False
    named = [found for found in findings if found["kind"] == "license"]
    for index, first in enumerate(named):
        for second in named[index + 1:]:
            if not compatible(first, second):
                return None, f"the statements disagree: {describe(first)} but {describe(second)}", True
    others = [found for found in findings if found["kind"] != "license"]
    if not named:
        return None, f"no license: {describe(others[0])}", False
    chosen = next((found for found in named if found["exact"]), named[0])
    conflict = next((found for found in others if not carries(chosen["license"], found)), None)
    if conflict is not None:
        return None, f"the statements disagree: {describe(chosen)} but {describe(conflict)}", True
    return chosen["license"], None, False


def compatible(first: dict, second: dict) -> bool:
    """Whether two license findings name the same license ("CC BY" agrees with any version of CC BY)."""
    if first["license"] == second["license"]:
        return True
    same_family = licenses.family(first["license"] or "") == licenses.family(second["license"] or "")
    return same_family and not (first["exact"] and second["exact"])


def carries(license_id: str, found: dict) -> bool:
    """Whether a license already carries a restrictive term ("non-commercial" beside CC BY-NC)."""
    flag = RESTRICTION_FLAGS.get(found.get("term") or "")
    if found["kind"] != "restricted" or not flag:
        return False
    return bool((licenses.get_license(license_id) or {}).get(flag))


def describe(found: dict) -> str:
    """A finding in words, for a reason an editor reads."""
    what = found["license"] if found["kind"] == "license" else KIND_WORDS.get(found["kind"], found["kind"])
    where = f"{found['page']}, " if found.get("page") else ""
    return f"{what} ({where}{found['location']}: {quote(found['text'])})"


def quote(text: str | None, limit: int = 160) -> str:
    """Text in quotes, whitespace folded, shortened for a one-line reason."""
    text = _SPACE.sub(" ", text or "").strip()
    return f'"{text if len(text) <= limit else text[: limit - 1] + "…"}"'


def decisive(page: dict) -> dict | None:
    """The finding a page's proposal rests on, else its first finding."""
    findings = page.get("findings") or []
    if page.get("license"):
        return next((found for found in findings if found["kind"] == "license" and found["license"] == page["license"]),
                    findings[0] if findings else None)
    return findings[0] if findings else None


def combine(pages: list[dict]) -> dict:
    """What the pages read together say: an observation with its state, license and evidence.

    state is "license" (a proposal), "none" (no statement anywhere), "unclear" (findings that propose
    nothing) or "failed" (no page could be read). Evidence is the page and the statement quoted.
    """
    read = [page for page in pages if page["outcome"] == "ok"]
    if not read:
        problems = "; ".join(f"{page['kind']} page: {page['error']}" for page in pages) or "no page to read"
        return {"state": "failed", "license": None, "note": f"no page could be read ({problems})", "url": None,
                "text": None, "sha256": None, "found_in": None, "location": None, "at": now_iso()}
    findings = [dict(found, page=page["final_url"], page_kind=page["kind"], sha256=page["sha256"],
                     at=page["checked_at"]) for page in read for found in page["findings"]]
    license_id, note, _ = propose(findings)
    if license_id:
        evidence = next(found for found in findings if found["kind"] == "license" and
                        found["license"] == license_id)
        state = "license"
    else:
        evidence = dict(findings[0]) if findings else {"page": read[0]["final_url"], "sha256": read[0]["sha256"],
                                                       "at": read[0]["checked_at"]}
        state = "unclear" if findings else "none"
    return {"state": state, "license": license_id, "note": note, "url": evidence["page"],
            "text": evidence.get("text"), "sha256": evidence["sha256"], "found_in": evidence.get("found_in"),
            "location": evidence.get("location"), "at": evidence["at"]}


# ---------------------------------------------------------------- watching


def license_change(before: dict | None, after: dict, relied: str | None, evidence_read: bool = True) -> bool:
    """Whether a new observation differs from the one an editor decided on, in a way that must hold items.

    A statement that disappears or names another license is a change. Where there was none, a new one is
    a change only when it contradicts the license the source's items rely on (relied). A check that could
    not read the page the evidence came from cannot tell that a statement disappeared.
    """
    if before is None or after["state"] == "failed":
        return False
    if before["state"] == "license":
        if after["state"] == "license":
            return after["license"] != before["license"]
        return after["state"] == "unclear" or evidence_read
    if after["state"] == before["state"] or not relied:
        return False
    return not (after["state"] == "license" and after["license"] == relied)


def hold_reason(what: str, before: dict, after: dict) -> str:
    """Why new items wait for an editor: what changed, with the evidence before and after."""
    return (f"held for an editor: {what} changed its license statement; before: {evidence_words(before)}; "
            f"after: {evidence_words(after)}")


def evidence_words(observation: dict) -> str:
    """An observation as license, quoted text, URL and time; or "no statement found", URL and time."""
    where = ", ".join(part for part in (observation.get("url"), observation.get("at")) if part)
    if observation["state"] == "license":
        text = quote(observation.get("text")) if observation.get("text") else "text not recorded"
        return f"{observation['license']}, {text}, {where}"
    if observation["state"] == "none":
        return f"no statement found, {where}"
    return f"{observation.get('note') or 'no clear statement'}, {where}"


def same_site(first: str, second: str) -> bool:
    """Whether two URLs are on one site (the same host, with or without www, or a subdomain of it)."""
    try:
        hosts = [(urlsplit(url).hostname or "").lower().removeprefix("www.") for url in (first, second)]
    except ValueError:
        return False
    one, other = hosts
    return bool(one) and (one == other or one.endswith("." + other) or other.endswith("." + one))


# ---------------------------------------------------------------- fetching pages politely


def page_result(kind: str, url: str | None, **fields) -> dict:
    """The plain result of one page's check; outcome is ok, error, disallowed, postponed or skipped."""
    page = {"kind": kind, "url": url, "final_url": None, "outcome": "ok", "status": None, "error": None,
            "retry_after": None, "sha256": None, "license": None, "reason": None, "disagree": False,
            "findings": [], "checked_at": now_iso()}
    page.update(fields)
    return page


class NotRead(Exception):
    """A page is not read this time: robots.txt forbids it, the host asked us to wait, or it failed."""

    def __init__(self, outcome: str, message: str, status: int | None = None, retry_after: int | None = None):
        """outcome: error, disallowed or postponed; retry_after: seconds the host asked us to wait."""
        super().__init__(message)
        self.outcome, self.status, self.retry_after = outcome, status, retry_after


@dataclass
class HostState:
    """What one run knows about a host: its lock, robots.txt per origin, and when it may be asked again."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    robots: dict = field(default_factory=dict)
    retry_at: float | None = None
    last_request: float | None = None


class PageFetcher:
    """Reads publishers' pages through the fetcher: one request at a time per host, robots.txt obeyed.

    A 429 or 503 postpones every later page of that host in this run until its Retry-After has passed;
    the caller postpones the next check by as long. One instance serves one batch of checks.
    """

    def __init__(self, *, limits: fetcher.FetchLimits, guard: fetcher.AddressGuard, user_agent: str,
                 sleep=time.sleep, clock=time.monotonic):
        """The fetch settings of every request; sleep and clock can be replaced to test the waits."""
        self.limits, self.guard, self.user_agent = limits, guard, user_agent
        self._sleep, self._clock = sleep, clock
        self._hosts: dict[str, HostState] = {}
        self._lock = threading.Lock()

    def read(self, kind: str, url: str) -> dict:
        """One page's check (findings and proposal), or why it was not read; never raises for the network."""
        page = page_result(kind, url)
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            parts, host = None, ""
        if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
            return dict(page, outcome="error", error=f"not an http(s) URL: {url}")
        state = self.host(host)
        with state.lock:
            try:
                return dict(page, **self.read_locked(state, parts, url))
            except NotRead as exc:
                return dict(page, outcome=exc.outcome, error=str(exc), status=exc.status, retry_after=exc.retry_after)

    def host(self, host: str) -> HostState:
        """The state of one host, made on first use."""
        with self._lock:
            return self._hosts.setdefault(host, HostState())

    def read_locked(self, state: HostState, parts, url: str) -> dict:
        """Fetch and read a page while holding its host's lock."""
        self.check_waiting(state)
        robots = self.robots(state, f"{parts.scheme.lower()}://{parts.netloc}")
        if not robots.can_fetch(self.user_agent, url):
            raise NotRead("disallowed", f"robots.txt of {parts.hostname} disallows {parts.path or '/'} for "
                                        f"{self.user_agent.split('/')[0]}")
        self.keep_crawl_delay(state, robots.crawl_delay(self.user_agent))
        result = self.request(state, url, HTML_ACCEPT)
        content_type = result.headers.get("content-type", "")
        if content_type and not any(kind in content_type.lower() for kind in HTML_TYPES):
            raise NotRead("error", f"not an HTML page (Content-Type: {content_type})", status=result.status)
        return dict(read_page(result.body, result.url, content_type), status=result.status)

    def check_waiting(self, state: HostState) -> None:
        """Refuse to ask a host that told us to wait, until its Retry-After has passed."""
        if state.retry_at is not None and state.retry_at > self._clock():
            wait = math.ceil(state.retry_at - self._clock())
            raise NotRead("postponed", f"the host asked us to wait {wait} s", retry_after=wait)

    def request(self, state: HostState, url: str, accept: str) -> fetcher.FetchResult:
        """One request through the fetcher (and its address guard); a 429 or 503 postpones the host."""
        try:
            return fetcher.fetch(url, limits=self.limits, guard=self.guard, user_agent=self.user_agent, accept=accept)
        except HTTPStatusError as exc:
            if exc.status in POSTPONING_STATUSES:
                wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
                state.retry_at = self._clock() + wait
                raise NotRead("postponed", f"{exc}; asked again in {wait} s", status=exc.status,
                              retry_after=wait) from exc
            raise NotRead("error", str(exc), status=exc.status) from exc
        except FetchError as exc:
            raise NotRead("error", str(exc)) from exc
        finally:
            state.last_request = self._clock()

    def robots(self, state: HostState, origin: str) -> urllib.robotparser.RobotFileParser:
        """The origin's robots.txt, read once per run: a missing one allows all, an unreachable one nothing."""
        if origin not in state.robots:
            try:
                state.robots[origin] = self.fetch_robots(state, origin)
            except NotRead as exc:
                state.robots[origin] = exc
        found = state.robots[origin]
        if isinstance(found, NotRead):
            raise found
        return found

    def fetch_robots(self, state: HostState, origin: str) -> urllib.robotparser.RobotFileParser:
        """Fetch and parse an origin's robots.txt (RFC 9309: a 4xx allows all, a server error allows nothing)."""
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            result = self.request(state, origin + "/robots.txt", ROBOTS_ACCEPT)
        except NotRead as exc:
            if exc.outcome == "error" and exc.status is not None and 400 <= exc.status < 500:
                parser.allow_all = True
                return parser
            if exc.outcome == "postponed":
                raise NotRead("postponed", f"robots.txt: {exc}", exc.status, exc.retry_after) from exc
            if exc.status is None:  # the host itself is unreachable or refused by the address guard
                raise
            raise NotRead("error", f"robots.txt answered {exc}; the site's pages are not read until it can be "
                                   f"read", exc.status) from exc
        parser.parse(result.body.decode("utf-8", errors="replace").splitlines())
        return parser

    def keep_crawl_delay(self, state: HostState, delay) -> None:
        """Wait as long after the host's last request as its robots.txt asks (at most MAX_CRAWL_DELAY)."""
        try:
            delay = min(float(delay or 0), MAX_CRAWL_DELAY)
        except (TypeError, ValueError):
            return
        if delay > 0 and state.last_request is not None:
            wait = state.last_request + delay - self._clock()
            if wait > 0:
                self._sleep(wait)
