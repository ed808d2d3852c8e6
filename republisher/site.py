"""The public mirror: pages and feeds of published items, always showing their approved revision."""

import base64
import binascii
import bisect
import functools
import hashlib
import json
import sqlite3
import time
import unicodedata
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup

from . import attribution, feeds, licenses, storage, web
from .slugs import slugify
from .text import opening_text, writing_direction

bp = Blueprint("site", __name__)

PAGE_SIZE = 20  # search results; listings cut their pages by page_length
PAGE_MIN = 10
PAGE_MAX = 40
PAGE_BREAK_ONE_IN = 10
FEED_SIZE = 50
SITEMAP_CHUNK = 1000
MAX_QUERY_CHARS = 200
MAX_SEARCH_TERMS = 12
SOURCES_PAGE_SIZE = 100
EMPTY_SITE_DATE = "2000-01-01T00:00:00+00:00"  # the site-wide feed of a site without a single source
BAD_CURSOR = "This page link is not valid. Start again from the first page."
SEARCH_STOPPED = ("Every one of these words is in a great many articles, and the search stopped before it found "
                  "an article with all of them. Older articles may still match: add a more specific word, or "
                  "leave out a common one.")
RTL_LANGUAGES = frozenset({"fa", "ar", "he", "ur", "ps", "ckb", "dv", "yi"})
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
FEED_TYPES = {
    "rss": ("application/rss+xml", feeds.rss),
    "atom": ("application/atom+xml", feeds.atom),
    "json": ("application/feed+json", feeds.json_feed),
}


# ---------------------------------------------------------------- helpers


def db():
    """The database connection for public pages."""
    return web.site_db()


def text_direction(language: str | None, text: str | None = None) -> str:
    """'rtl' for a right-to-left language, or for right-to-left text whatever language it declares; else 'ltr'."""
    if is_rtl_language(language):
        return "rtl"
    # feeds often omit their language or give a default one ("en-us" on a Persian feed): the letters decide
    return "rtl" if writing_direction(text) == "rtl" else "ltr"


def stated_language(language: str | None, direction: str) -> str | None:
    """The declared language, unless the text contradicts it (a Persian text declared "en-us"): then none,
    so that no screen reader reads it with an English voice.
    """
    if language and direction == "rtl" and not is_rtl_language(language):
        return None
    return language


def is_rtl_language(language: str | None) -> bool:
    """Whether a language tag names a language written right to left."""
    return (language or "").split("-")[0].lower() in RTL_LANGUAGES


def absolute_url(endpoint: str, **values) -> str:
    """An absolute URL under SITE_URL (feeds, canonical links, sitemaps)."""
    path = url_for(endpoint, **values)
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root):]
    return current_app.config["SITE_URL"] + path


def article_path(item_id: int, title: str | None, root: str | None = None) -> str:
    """/articles/<id>/<slug>, built directly: url_for would cost more than the rest of a card."""
    root = request.script_root if root is None else root
    return f"{root}/articles/{int(item_id)}/{quote(item_slug(title), safe='')}"


def article_url(item_id: int, title: str | None) -> str:
    """The absolute URL of an article under SITE_URL."""
    return current_app.config["SITE_URL"] + article_path(item_id, title, root="")


def encode_cursor(*values) -> str:
    """An opaque keyset cursor: the sort values of the row after which the next page starts."""
    raw = "\n".join("" if value is None else str(value) for value in values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(*kinds: type) -> tuple | None:
    """The ?before= cursor of every paged route as values of the given kinds, None on a first page.

    Only the first value may be text holding a line break (a source's name); ints must be ids SQLite
    can hold. Anything else is a 400, alike on every route.
    """
    value = request.args.get("before")
    if not value:
        return None
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raw = None
    parts = raw.rsplit("\n", len(kinds) - 1) if raw is not None else []
    values = [cursor_value(kind, part) for kind, part in zip(kinds, parts)]
    if len(parts) != len(kinds) or None in values:
        abort(400, description=BAD_CURSOR)
    return tuple(values)


def cursor_value(kind: type, part: str) -> int | str | None:
    """One cursor value read as its kind, or None when it is not one."""
    return web.bounded_int(part) if kind is int else part


def parse_json(value, default):
    """A JSON column's value, or the default when it is empty or broken."""
    if not value:
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def sources_by_id() -> dict[int, dict]:
    """Every source with its license entry, read once per site version."""
    def load():
        """Read the sources and their licenses."""
        rows = storage.public_sources(db())
        return {row["id"]: present_source(row) for row in rows}
    return web.memo("sources", load)


def source_by_slug(slug: str) -> dict:
    """A source by slug, or 404."""
    by_slug = web.memo("sources by slug", lambda: {source["slug"]: source for source in sources_by_id().values()})
    found = by_slug.get(slug)
    if found is None:
        abort(404, description="There is no source with this address.")
    return found


def present_source(row: dict) -> dict:
    """A source as pages and feeds show it."""
    license_entry = licenses.get_license(row["license"]) if row.get("license") else None
    evidence = row.get("license_evidence") or ""
    return dict(row, license_entry=license_entry, credit=row.get("credit_name") or row["name"],
                path=url_for("site.source_page", slug=row["slug"]),
                evidence_url=evidence if http_url(evidence) else None,
                direction=text_direction(row.get("language")))


def http_url(value: str | None) -> bool:
    """Whether a value is an absolute http(s) URL (safe to use as a link)."""
    if not value or any(ch.isspace() for ch in value.strip()):
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def item_slug(title: str | None) -> str:
    """The canonical slug of an item from its approved title."""
    return slugify(title or "", "article")


def present_card(row: dict, sources: dict[int, dict]) -> dict:
    """What the item card shows: title, source, date and a plain-text excerpt."""
    source = sources.get(row["source_id"]) or {}
    language = row.get("language") or source.get("language")
    excerpt = row.get("excerpt") or ""
    direction = text_direction(language, f"{row['title'] or ''} {excerpt}")
    return {
        "id": row["id"], "title": row["title"] or "Untitled",
        "url": article_path(row["id"], row["title"]),
        "source": source, "date": row.get("published_at") or row.get("published_order"),
        "excerpt": excerpt, "language": stated_language(language, direction), "direction": direction,
    }


def approved_fields(row: dict) -> dict:
    """Authors, categories and enclosures of the approved revision (the item row holds the newest)."""
    entry = parse_json(row.get("approved_raw"), None)
    if isinstance(entry, dict):
        return {"authors": entry.get("authors") or [], "categories": entry.get("categories") or [],
                "enclosures": entry.get("enclosures") or []}
    return {"authors": parse_json(row.get("authors"), []), "categories": parse_json(row.get("categories"), []),
            "enclosures": parse_json(row.get("enclosures"), [])}


def attribution_html(credit: dict) -> str:
    """The attribution partial rendered to a string (pages include it; feeds append it)."""
    return render_template("_attribution.html", attribution=credit)


def json_for_script(value) -> Markup:
    """JSON that cannot end the <script> element it sits in: <, > and & become \\u escapes."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return Markup(text)


def site_feed_links() -> list[dict]:
    """Autodiscovery links of the site-wide feeds."""
    name = current_app.config["SITE_NAME"]
    return [
        {"type": "application/rss+xml", "title": f"{name} (RSS)", "href": url_for("site.feed_rss")},
        {"type": "application/atom+xml", "title": f"{name} (Atom)", "href": url_for("site.feed_atom")},
        {"type": "application/feed+json", "title": f"{name} (JSON Feed)", "href": url_for("site.feed_json")},
    ]


def source_feed_links(source: dict) -> list[dict]:
    """Autodiscovery links of one source's feeds, after the site-wide ones."""
    name = source["name"]
    return site_feed_links() + [
        {"type": "application/rss+xml", "title": f"{name} (RSS)",
         "href": url_for("site.source_feed_rss", slug=source["slug"])},
        {"type": "application/atom+xml", "title": f"{name} (Atom)",
         "href": url_for("site.source_feed_atom", slug=source["slug"])},
        {"type": "application/feed+json", "title": f"{name} (JSON Feed)",
         "href": url_for("site.source_feed_json", slug=source["slug"])},
    ]


def not_found(message: str) -> web.Rendered:
    """A 404 page as a cacheable rendering."""
    body = web.error_page(404, "Not found", message)
    return web.Rendered(body.encode("utf-8"), 404)


@bp.app_template_filter("date_label")
def date_label(value) -> str:
    """A date as readers write it: 24 November 2026."""
    moment = feeds.to_datetime(value)
    return f"{moment.day} {moment:%B %Y}" if moment else ""


@bp.app_context_processor
def default_feed_links() -> dict:
    """Every page names the site-wide feeds for autodiscovery unless a view names more."""
    return {"feed_links": site_feed_links()}


# ---------------------------------------------------------------- pages


@bp.get("/")
def index():
    """The latest published items, newest first, a keyset page at a time."""
    return web.cached(lambda: render_listing("home.html"))


def render_listing(template: str, source: dict | None = None, **context) -> str:
    """A keyset page of cards, site-wide or for one source, as long as its items say (see page_length)."""
    before = read_cursor(str, int)
    rows = storage.public_items(db(), source_id=source["id"] if source else None, before=before,
                                limit=PAGE_MAX + 1)
    shown = rows[:page_length([row["id"] for row in rows])]
    sources = sources_by_id()
    cards = [present_card(row, sources) for row in shown]
    last = shown[-1] if len(rows) > len(shown) else None
    next_cursor = encode_cursor(last["published_order"], last["id"]) if last else None
    return render_template(template, cards=cards, next_cursor=next_cursor, paged=before is not None,
                           source=source, **context)


def is_page_break(item_id: int) -> bool:
    """Whether an item may end a listing page: about one in PAGE_BREAK_ONE_IN, by a fixed hash of its id."""
    hashed = hashlib.blake2b(int(item_id).to_bytes(8, "big", signed=True), digest_size=8).digest()
    return int.from_bytes(hashed[:4], "big") % PAGE_BREAK_ONE_IN == 0


def page_length(ids: list[int]) -> int:
    """How many cards a listing page shows, given the ids from its first card on (PAGE_MAX + 1 are enough).

    The page ends at its first page break from the PAGE_MIN-th card on, else after PAGE_MAX cards. Since
    the items decide where pages end, adding or removing one moves the ends of its own page and rarely of
    the next one or two, never of every later page, so the addresses and bytes of the others stay.
    """
    for position, item_id in enumerate(ids[:PAGE_MAX], start=1):
        if position >= PAGE_MIN and is_page_break(item_id):
            return position
    return min(len(ids), PAGE_MAX)


def page_sizes(ids: list[int]) -> list[int]:
    """The card counts of a whole listing's pages, newest first, as the live pager cuts them."""
    sizes, start = [], 0
    while start < len(ids):
        sizes.append(page_length(ids[start:start + PAGE_MAX + 1]))
        start += sizes[-1]
    return sizes


@bp.get("/articles/<id:item_id>")
@bp.get("/articles/<id:item_id>/<slug>")
def article(item_id: int, slug: str | None = None):
    """One published item with its attribution; other slugs redirect, withdrawn items are gone."""
    return web.cached(lambda: render_article(item_id, slug))


def render_article(item_id: int, slug: str | None) -> web.Rendered | str:
    """The article page, a redirect to its canonical slug, 410 for withdrawn, or 404."""
    row = storage.public_article(db(), item_id)
    if row is None or row["status"] not in ("published", "withdrawn"):
        return not_found("There is no published article with this address.")
    if row["status"] == "withdrawn":
        body = render_template("gone.html", reason=row.get("status_reason"))
        return web.Rendered(body.encode("utf-8"), 410)
    if not row.get("approved_revision_id") or row.get("content_html") is None:
        return not_found("There is no published article with this address.")
    canonical_slug = item_slug(row["title"])
    if slug != canonical_slug:
        location = article_path(item_id, row["title"])
        return web.Rendered(b"", 301, (("Location", location),))
    return render_template("article.html", **article_context(row))


def article_context(row: dict) -> dict:
    """Everything the article template shows, from the approved revision."""
    source = sources_by_id().get(row["source_id"]) or {}
    language = row.get("language") or source.get("language")
    credit = parse_json(row.get("attribution"), {})
    license_entry = licenses.get_license(row.get("license")) or {}
    page_url = article_url(row["id"], row["title"])
    original = row.get("url") if http_url(row.get("url")) else None
    use_original = current_app.config["CANONICAL_TO_ORIGINAL"] and original
    direction = text_direction(language, f"{row['title'] or ''} {opening_text(row['content_html'])}")
    language = stated_language(language, direction)
    return {
        "item": dict(present_card(row, sources_by_id()), **approved_fields(row), direction=direction,
                     language=language),
        # "und": the language is not known, the declared one being contradicted by the text
        "source": source, "html_lang": language or ("und" if direction == "rtl" else "en"), "html_dir": direction,
        "content_html": row["content_html"], "attribution": credit, "license": license_entry,
        "original_url": original, "page_url": page_url,
        "canonical_url": original if use_original else page_url,
        "description": row.get("excerpt") or "",
        "json_ld_html": json_for_script(attribution.json_ld(
            credit, page_url=page_url, published=row.get("published_at"), site_name=current_app.config["SITE_NAME"])),
        "feed_links": source_feed_links(source) if source else site_feed_links(),
    }


@bp.get("/sources/")
def sources_page():
    """The sources by name, a keyset page at a time, with their licenses and how they are credited."""
    return web.cached(render_sources_page)


def render_sources_page() -> str:
    """A page of sources after the ?before= cursor's name and id."""
    before = read_cursor(str, int)
    ordered, keys = web.memo("sources by name", sources_in_order)
    start = bisect.bisect_right(keys, (name_order(before[0]), before[1])) if before else 0
    shown = ordered[start:start + SOURCES_PAGE_SIZE]
    more = start + SOURCES_PAGE_SIZE < len(ordered)
    next_cursor = encode_cursor(shown[-1]["name"], shown[-1]["id"]) if more else None
    return render_template("sources.html", sources=shown, next_cursor=next_cursor, paged=before is not None)


def sources_in_order() -> tuple[list[dict], list[tuple[str, int]]]:
    """The sources as the sources pages list them, and the order key of each (for the cursor)."""
    ordered = sorted(sources_by_id().values(), key=source_order)
    return ordered, [source_order(source) for source in ordered]


def source_order(source: dict) -> tuple[str, int]:
    """Where a source stands on the sources pages: by name regardless of ASCII case, then by id."""
    return name_order(source["name"]), source["id"]


def name_order(name: str) -> str:
    """A name as the sources pages sort it (SQLite's NOCASE: only ASCII letters fold)."""
    return name.translate(ASCII_LOWER)


@bp.get("/sources/<slug>")
def source_page(slug: str):
    """One source: its license, credit wording and its published items."""
    source = source_by_slug(slug)
    return web.cached(lambda: render_listing("source.html", source=source,
                                             feed_links=source_feed_links(source)))


@bp.get("/licenses")
def licenses_page():
    """The license policy, and what each source is republished under and credited as."""
    def render():
        """The policy table and the sources table."""
        policy = sorted((licenses.get_license(spdx) or {"id": spdx, "name": spdx, "url": None}
                         for spdx in current_app.config["LICENSE_POLICY"]), key=lambda entry: entry["id"])
        return render_template("licenses.html", policy=policy, sources=list(sources_by_id().values()))
    return web.cached(render)


# ---------------------------------------------------------------- search


def search_terms(query: str) -> list[str]:
    """Words of a query (NFKC, as the index): runs of letters, digits and marks; "*" and the rest separate."""
    terms, word = [], []
    for char in unicodedata.normalize("NFKC", query[:MAX_QUERY_CHARS]) + " ":
        if storage.is_word_character(char):
            word.append(char)
        elif word:
            terms.append("".join(word))
            word.clear()
    return terms[:MAX_SEARCH_TERMS]


def fts_query(query: str) -> str | None:
    """The FTS5 query for a reader's words, or None when they hold nothing to search for."""
    return storage.search_match(search_terms(query))


@bp.get("/search")
def search():
    """Full-text search over published items, newest first."""
    return web.cached(render_search)


def render_search() -> str:
    """Results for ?q=, or a friendly word when the query has nothing to search for."""
    cursor = read_cursor(int)
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    context = {"query": query, "cards": [], "next_cursor": None, "message": None}
    if not query:
        return render_template("search.html", **context)
    match = fts_query(query)
    if match is None:
        context["message"] = ("Search looks for words. Symbols such as quotes, * or brackets are not "
                              "searched; try one or more words from the article.")
        return render_template("search.html", **context)
    before = cursor[0] if cursor else None
    try:
        rows, finished = storage.public_search_bounded(db(), match, before=before, limit=PAGE_SIZE + 1)
    except sqlite3.OperationalError:
        context["message"] = "This search could not be run. Try different words."
        return render_template("search.html", **context)
    if not finished and not rows:
        context["message"] = SEARCH_STOPPED
        return render_template("search.html", **context)
    sources = sources_by_id()
    context["cards"] = [present_card(row, sources) for row in rows[:PAGE_SIZE]]
    if len(rows) > PAGE_SIZE:
        context["next_cursor"] = encode_cursor(rows[PAGE_SIZE - 1]["id"])
    elif not finished:
        # the search stopped early: the matches found are the newest; "Earlier matches" goes on from there
        context["next_cursor"] = encode_cursor(rows[-1]["id"])
    context["paged"] = before is not None
    return render_template("search.html", **context)


# ---------------------------------------------------------------- feeds


def feed_items(rows: list[dict], sources: dict[int, dict]) -> list[dict]:
    """Plain item dicts for the feed writers: full content with the attribution block appended."""
    items = []
    for row in rows:
        source = sources.get(row["source_id"]) or {}
        credit = parse_json(row.get("attribution"), {})
        block = attribution_html(credit)
        license_entry = licenses.get_license(row.get("license")) or {}
        fields = approved_fields(row)
        items.append({
            "id": f"{current_app.config['SITE_URL']}/articles/{row['id']}",
            "url": article_url(row["id"], row["title"]),
            "title": row["title"] or "Untitled",
            "content_html": (row.get("content_html") or "") + "\n" + block,
            "summary": row.get("excerpt") or "",
            "published": row.get("published_at") or row.get("published_order"),
            "updated": row.get("published_order"),
            "authors": fields["authors"], "categories": fields["categories"],
            "enclosures": [e for e in fields["enclosures"] if isinstance(e, dict) and http_url(e.get("url"))],
            "language": row.get("language") or source.get("language"),
            "original_url": row.get("url") if http_url(row.get("url")) else None,
            "license_id": license_entry.get("id"), "license_name": license_entry.get("name"),
            "license_url": license_entry.get("url"),
            "rights": rights_text(credit, license_entry),
            "attribution_text": attribution.plain_credit(credit),
            "source": {"name": source.get("credit") or source.get("name"),
                       "feed_url": source.get("url") if http_url(source.get("url")) else None,
                       "site_url": source.get("site_url") if http_url(source.get("site_url")) else None},
        })
    return items


def rights_text(credit: dict, license_entry: dict) -> str:
    """The Atom <rights> text: the publisher's notice verbatim, then the license with its deed."""
    parts = [credit["copyright_notice"]] if credit.get("copyright_notice") else []
    if license_entry:
        parts.append(f"Licensed under {license_entry['name']}: {license_entry['url']}")
    return " ".join(parts)


def render_feed(kind: str, source: dict | None, self_endpoint: str, **values) -> bytes:
    """One feed document of the latest published items, site-wide or of one source."""
    _, writer = FEED_TYPES[kind]
    rows = storage.public_items(db(), source_id=source["id"] if source else None, limit=FEED_SIZE, full=True)
    name = current_app.config["SITE_NAME"]
    channel = {
        "title": f"{name}: {source['name']}" if source else name,
        "home_url": absolute_url("site.source_page", slug=source["slug"]) if source else absolute_url("site.index"),
        "description": (f"Articles by {source['credit']} republished by {name} under their open licenses"
                        if source else f"Openly licensed articles republished by {name}, with attribution"),
        "language": source.get("language") if source else None,
        "updated": rows[0]["published_order"] if rows else empty_feed_date(db(), source["id"] if source else None),
        "author": name,
    }
    return writer(channel, feed_items(rows, sources_by_id()), absolute_url(self_endpoint, **values))


def empty_feed_date(database, source_id: int | None = None) -> str:
    """When a feed without items last changed: its latest withdrawal, else when its source (or the first) was added.

    Not the site's last change, which would date an empty feed anew after every change anywhere.
    """
    return storage.public_feed_emptied_at(database, source_id) or EMPTY_SITE_DATE


def feed_response(kind: str, source: dict | None, endpoint: str, **values):
    """A cached, conditional feed response, readable by web-based readers on other origins."""
    mimetype, _ = FEED_TYPES[kind]
    response = web.cached(lambda: render_feed(kind, source, endpoint, **values), mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/feed.xml")
def feed_rss():
    """RSS 2.0 of the latest published items."""
    return feed_response("rss", None, "site.feed_rss")


@bp.get("/atom.xml")
def feed_atom():
    """Atom 1.0 of the latest published items."""
    return feed_response("atom", None, "site.feed_atom")


@bp.get("/feed.json")
def feed_json():
    """JSON Feed 1.1 of the latest published items."""
    return feed_response("json", None, "site.feed_json")


@bp.get("/sources/<slug>/feed.xml")
def source_feed_rss(slug: str):
    """RSS 2.0 of one source's published items."""
    return feed_response("rss", source_by_slug(slug), "site.source_feed_rss", slug=slug)


@bp.get("/sources/<slug>/atom.xml")
def source_feed_atom(slug: str):
    """Atom 1.0 of one source's published items."""
    return feed_response("atom", source_by_slug(slug), "site.source_feed_atom", slug=slug)


@bp.get("/sources/<slug>/feed.json")
def source_feed_json(slug: str):
    """JSON Feed 1.1 of one source's published items."""
    return feed_response("json", source_by_slug(slug), "site.source_feed_json", slug=slug)


# ---------------------------------------------------------------- machines


@bp.get("/sitemap.xml")
def sitemap():
    """A sitemap index: the fixed pages, then articles in id ranges (each file stays small)."""
    def render():
        """The index naming each sitemap file."""
        return sitemap_index_bytes(current_app.config["SITE_URL"], sitemap_chunks())
    return web.cached(render, mimetype="application/xml")


def sitemap_chunks() -> int:
    """How many article sitemaps the index names: one per id range up to the highest id."""
    return web.memo("sitemap chunks", lambda: storage.public_max_item_id(db()) // SITEMAP_CHUNK + 1)


@functools.lru_cache(maxsize=8)
def sitemap_index_bytes(site_url: str, chunks: int) -> bytes:
    """The sitemap index; it changes only when a new id range begins, so it is kept across versions."""
    files = [f"{site_url}/sitemaps/pages.xml"]
    files += [f"{site_url}/sitemaps/articles-{chunk}.xml" for chunk in range(chunks)]
    return feeds.sitemap_index(files)


@bp.get("/sitemaps/pages.xml")
def sitemap_pages():
    """The sitemap of the home page, the sources and the license page."""
    def render():
        """Home, sources, licenses and each source's page."""
        urls = [absolute_url("site.index"), absolute_url("site.sources_page"), absolute_url("site.licenses_page")]
        urls += [absolute_url("site.source_page", slug=source["slug"]) for source in sources_by_id().values()]
        return feeds.sitemap([{"loc": url} for url in urls])
    return web.cached(render, mimetype="application/xml")


@bp.get("/sitemaps/articles-<id:chunk>.xml")
def sitemap_articles(chunk: int):
    """The sitemap of published articles whose ids fall in one range; ranges the index does not name are 404."""
    if chunk >= sitemap_chunks():
        abort(404, description="There is no sitemap with this address.")
    def render():
        """One id range's published articles."""
        low = chunk * SITEMAP_CHUNK
        rows = storage.public_items_in_id_range(db(), low, low + SITEMAP_CHUNK)
        return feeds.sitemap([{"loc": article_url(row["id"], row["title"]), "lastmod": row["status_changed_at"]}
                              for row in rows])
    return web.cached(render, mimetype="application/xml")


@bp.get("/robots.txt")
def robots():
    """Crawlers are welcome everywhere but search results."""
    def render():
        """The robots.txt text."""
        return (f"User-agent: *\nDisallow: /search\n\nSitemap: {absolute_url('site.sitemap')}\n")
    return web.cached(render, mimetype="text/plain")


@bp.get("/favicon.ico")
def favicon():
    """The site icon for clients that ask for it at the root, cached for a day."""
    response = current_app.send_static_file("favicon.svg")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/healthz")
def healthz():
    """Health as JSON, read only: the database, the fetcher's last cycle, the sources in error.

    503 when the database cannot be read, or when the fetcher is stuck: a source has been due for longer
    than FETCH_STUCK_AFTER and no fetch cycle ran for as long. Sources in error alone say "degraded".
    """
    try:
        connection = db()
        state = storage.site_state(connection)  # not web.site_state(): that one may index, and this must not write
        counts = storage.public_status_counts(connection)
        fetching = fetcher_health(connection, current_app.config["FETCH_STUCK_AFTER"])
        body = {"database": "ok", "site_version": state["version"], "last_change": state["changed_at"],
                "items": counts, "published": counts.get("published", 0),
                "sources": len(storage.public_sources(connection)),
                "index_backlog": storage.public_index_backlog(connection), **fetching}
        body["status"] = "error" if fetching["fetcher"]["stuck"] else \
            "degraded" if fetching["sources_in_error"] else "ok"
        response = jsonify(body)
        response.status_code = 503 if fetching["fetcher"]["stuck"] else 200
    except sqlite3.Error:
        current_app.logger.exception("health check: database unreachable")
        response = jsonify({"status": "error", "database": "unreachable"})
        response.status_code = 503
    return web.private_response(response)


def fetcher_health(connection, stuck_after: float) -> dict:
    """The fetcher part of the health check: its lease and last cycle, overdue and failing sources."""
    now = time.time()
    found = storage.fetcher_health(connection, iso_time(now - stuck_after))
    lease_row = found["lease"] or {}
    cycle_at = lease_row.get("cycle_at")
    age = round(now - cycle_at, 1) if cycle_at else None
    stuck = found["overdue"] > 0 and (age is None or age > stuck_after)
    fetcher = {"holder": lease_row.get("holder"), "lease_expires_at": iso_time(lease_row.get("expires_at")),
               "last_cycle_at": iso_time(cycle_at), "last_cycle_age_seconds": age,
               "stuck_after_seconds": stuck_after, "overdue_sources": found["overdue"], "stuck": stuck}
    failing = [{"id": row["id"], "name": row["name"], "error": row["last_error"], "errors_in_a_row": row["error_count"],
                "last_error_at": row["last_error_at"]} for row in found["failing"]]
    return {"fetcher": fetcher, "sources_in_error": len(failing), "failing_sources": failing}


def iso_time(seconds: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 UTC (None stays None)."""
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")
