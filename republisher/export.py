"""Static export: the public site as files any static host can serve, rebuilt incrementally and switched atomically.

Every page is rendered by the app itself (its test client), so the export is the live site. Paths become
files (`/articles/12/slug` is `articles/12/slug/index.html`, linked as `/articles/12/slug/`), and the
pager's `?before=CURSOR` becomes `…/page/CURSOR/`. Each build is a new directory under `DIR/builds/`;
files whose bytes did not change are hard links to the previous build's, and `DIR/current` is switched
to the new build by one rename. Each text file of 1 KB or more has a gzip copy beside it (`NAME.gz`, for
nginx's `gzip_static` and hosts like it), written, linked and gone with its file.
"""

import fcntl
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

import click
from flask import current_app
from flask.cli import with_appcontext

from . import feeds, site, storage, web
from .db import get_db
from .errors import ExportError

FORMAT = 1
BUILDS = "builds"
CURRENT = "current"
CHANGED_LIST = "_changed.txt"
GONE_LIST = "_gone.txt"
GONE_NGINX_MAP = "_gone.nginx.map"
NOT_FOUND_PAGE = "404.html"
GZIP_SUFFIX = ".gz"
GZIP_TYPES = (".html", ".xml", ".json", ".txt", ".css", ".svg")
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 9
KEEP_SECONDS = 3600
BATCH = 1000
INDEX_ROUNDS = 10_000
INTERNAL_LINK = re.compile(r'(\s(?:href|action)=")(/(?!/)[^"]*)"')
SEARCH_NOTICE = ("This copy of the site is made of static files, and search needs the live site. "
                 "Every article is listed on the latest articles pages and on its source's page.")


@dataclass
class Unit:
    """One file of the export: the live address it is rendered from and the stamp of what it shows."""

    file: str
    address: str
    stamp: str
    status: int = 200


@dataclass
class ExportReport:
    """What one export did: the build it made (or kept), and the files and URLs that changed."""

    build: int
    switched: bool
    rendered: int = 0
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    linked: int = 0
    changed_urls: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- addresses and files


def static_link(address: str) -> str:
    """A site address as the export links it: pages end in '/', a ?before= cursor becomes page/CURSOR/."""
    address, hash_mark, fragment = address.partition("#")
    path, _, query = address.partition("?")
    last = path.rsplit("/", 1)[-1]
    if not path.endswith("/") and "." not in last:
        path += "/"
    before = parse_qs(html.unescape(query)).get("before") if query else None
    if before:
        path += f"page/{before[0]}/"
    elif query:
        path += "?" + query
    return path + hash_mark + fragment


def static_links(body: str) -> str:
    """An HTML page with every internal link and form action pointing at a file of the export."""
    return INTERNAL_LINK.sub(lambda found: f'{found.group(1)}{static_link(found.group(2))}"', body)


def file_of(link: str) -> str:
    """The file, relative to the build, that an exported link resolves to."""
    path = unquote(link.partition("#")[0].partition("?")[0]).lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


def urls_of(file: str) -> list[str]:
    """The URL paths under which a file is served: a page with and without its closing '/'."""
    if file == "index.html":
        return ["/"]
    if file.endswith("/index.html"):
        directory = "/" + quote(file[: -len("index.html")])
        return [directory, directory.rstrip("/")]
    return ["/" + quote(file)]


def listing_file(base: str, cursor: str | None) -> str:
    """The file of one page of a listing whose first page is `base` (a directory, '' for the root)."""
    return f"{base}page/{cursor}/index.html" if cursor else f"{base}index.html"


def digest(*parts) -> str:
    """A short stable digest of JSON-able values."""
    raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


# ---------------------------------------------------------------- what the site holds


def code_stamp() -> str:
    """A digest of the code, templates and static files that render the site: a change renders it all again."""
    package = Path(__file__).resolve().parent
    paths = sorted(package.glob("*.py")) + sorted(Path(current_app.template_folder).rglob("*.html"))
    paths += sorted(path for path in (package / "static").rglob("*") if path.is_file())
    hasher = hashlib.blake2b(digest_size=16)
    for path in paths:
        hasher.update(path.name.encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()


def render_stamp() -> str:
    """What renders every page: the format, the settings and the code."""
    config = current_app.config
    settings = [config["SITE_URL"], config["SITE_NAME"], sorted(config["LICENSE_POLICY"]),
                config["CANONICAL_TO_ORIGINAL"]]
    return digest(FORMAT, settings, code_stamp())


def site_stamp(sources: list[dict], rendered_by: str) -> str:
    """What every listing shows beside its items: what renders it, and the sources."""
    return digest(rendered_by, sources)


def published_rows(db):
    """Every published item, newest first, in batches (the home page's order)."""
    before = None
    while True:
        rows = storage.public_items(db, before=before, limit=BATCH, full=True)
        yield from rows
        if len(rows) < BATCH:
            return
        before = (rows[-1]["published_order"], rows[-1]["id"])


def summary(row: dict) -> dict:
    """What the export keeps of a published row: where it goes and a digest of everything it shows."""
    return {"id": row["id"], "title": row["title"], "source_id": row["source_id"],
            "order": row["published_order"], "digest": digest(row)}


def current_db():
    """The connection the site's own views use in this app context."""
    return web.site_db()


def listing_units(base: str, address: str, rows: list[dict], stamp: str) -> list[Unit]:
    """The pages of one listing, cut where the live pager cuts them, each stamped by the rows it shows."""
    pages, start = [], 0
    for size in site.page_sizes([row["id"] for row in rows]):
        pages.append(rows[start:start + size])
        start += size
    pages = pages or [[]]
    units, cursor = [], None
    for number, page in enumerate(pages):
        more = number + 1 < len(pages)
        live = f"{address}?before={cursor}" if cursor else address
        units.append(Unit(listing_file(base, cursor), live,
                          digest(stamp, cursor, more, [row["digest"] for row in page])))
        if page:
            cursor = site.encode_cursor(page[-1]["order"], page[-1]["id"])
    return units


def feed_units(base: str, address: str, rows: list[dict], stamp: str, quiet_since: str | None = None) -> list[Unit]:
    """RSS, Atom and JSON Feed of a listing, stamped by the items they carry (when empty, by the date it shows)."""
    shown = [row["digest"] for row in rows[:site.FEED_SIZE]] or [quiet_since]
    return [Unit(f"{base}{name}", f"{address}{name}", digest(stamp, name, shown))
            for name in ("feed.xml", "atom.xml", "feed.json")]


def empty_feed_date(db, rows: list[dict], source_id: int | None = None) -> str | None:
    """The date an empty feed shows (the live site's own), or None for a feed with items."""
    return None if rows else site.empty_feed_date(db, source_id)


def sources_list_units(sources: list[dict], stamp: str) -> list[Unit]:
    """The pages of the sources list, in the order and page size of the live site."""
    ordered = sorted(sources, key=site.source_order)
    size = site.SOURCES_PAGE_SIZE
    pages = [ordered[start:start + size] for start in range(0, len(ordered), size)] or [[]]
    units, cursor = [], None
    for page in pages:
        address = f"/sources/?before={cursor}" if cursor else "/sources/"
        units.append(Unit(listing_file("sources/", cursor), address, stamp))
        if page:
            cursor = site.encode_cursor(page[-1]["name"], page[-1]["id"])
    return units


def sitemap_units(rows: list[dict], stamp: str) -> list[Unit]:
    """The sitemap index and its files: the fixed pages, then one file per id range."""
    chunks: dict[int, list[str]] = {}
    highest = max((row["id"] for row in rows), default=0)
    for row in rows:
        chunks.setdefault(row["id"] // site.SITEMAP_CHUNK, []).append(row["digest"])
    count = highest // site.SITEMAP_CHUNK + 1
    units = [Unit("sitemap.xml", "/sitemap.xml", digest(stamp, count)),
             Unit("sitemaps/pages.xml", "/sitemaps/pages.xml", stamp)]
    units += [Unit(f"sitemaps/articles-{chunk}.xml", f"/sitemaps/articles-{chunk}.xml",
                   digest(stamp, sorted(chunks.get(chunk, []))))
              for chunk in range(count)]
    return units


def gone_items(db) -> list[dict]:
    """Withdrawn items with the title their page had, so the 410 notice sits at the address readers knew."""
    gone = []
    for item in storage.list_items(db, status="withdrawn"):
        row = storage.public_article(db, item["id"])
        gone.append({"id": item["id"], "title": row["title"], "digest": digest(row["status_reason"], row["title"])})
    return sorted(gone, key=lambda item: item["id"])


def article_file(item_id: int, title: str | None) -> str:
    """The file of an article page."""
    return f"articles/{int(item_id)}/{site.item_slug(title)}/index.html"


def article_address(item_id: int, title: str | None) -> str:
    """The live address of an article page."""
    return f"/articles/{int(item_id)}/{quote(site.item_slug(title), safe='')}"


def settle_index(db) -> None:
    """Give every published item its card excerpt first, as the live site does on its next request."""
    # the pages show excerpts the index writes; planning before them would stamp rows that then change
    for _ in range(INDEX_ROUNDS):
        if not storage.public_index_sync(db, feeds.text_and_excerpt):
            return


def plan(db) -> tuple[str, list[Unit], list[dict]]:
    """Every file of the export with its stamp, and the withdrawn items."""
    settle_index(get_db())  # the site's own connection is read-only; the export writes as any writer does
    rendered_by = render_stamp()
    sources = storage.public_sources(db)
    stamp = site_stamp(sources, rendered_by)
    rows = [summary(row) for row in published_rows(db)]
    # an article shows its own source alone: another source's edit or a new source leaves it as it is
    source_stamps = {source["id"]: digest(rendered_by, source) for source in sources}
    units = [Unit(article_file(row["id"], row["title"]), article_address(row["id"], row["title"]),
                  digest(source_stamps.get(row["source_id"]), row["digest"])) for row in rows]
    units += listing_units("", "/", rows, stamp) + feed_units("", "/", rows, stamp, empty_feed_date(db, rows))
    rows_by_source: dict[int, list[dict]] = {}
    for row in rows:  # newest first, as each source's listing shows them
        rows_by_source.setdefault(row["source_id"], []).append(row)
    for source in sources:
        own = rows_by_source.get(source["id"], [])
        base, address = f"sources/{source['slug']}/", f"/sources/{quote(source['slug'], safe='')}"
        units += listing_units(base, address, own, stamp)
        units += feed_units(base, address + "/", own, stamp, empty_feed_date(db, own, source["id"]))
    units += sources_list_units(sources, stamp)
    units += sitemap_units(rows, stamp)
    units += [Unit(file, address, stamp) for file, address in (
        ("licenses/index.html", "/licenses"), ("robots.txt", "/robots.txt"), ("favicon.ico", "/favicon.ico"),
        ("static/site.css", "/static/site.css"), ("static/favicon.svg", "/static/favicon.svg"))]
    gone = gone_items(db)
    units += [Unit(article_file(item["id"], item["title"]), article_address(item["id"], item["title"]),
                   digest(stamp, item["digest"]), status=410) for item in gone]
    return stamp, units, gone


# ---------------------------------------------------------------- rendering


def fetch(client, address: str):
    """The live site's answer to an address, as a client of SITE_URL that does not ask for gzip."""
    return client.get(address, base_url=current_app.config["SITE_URL"], headers={"Accept-Encoding": "identity"})


def render_unit(client, unit: Unit) -> bytes:
    """One file's bytes, rendered by the live site; HTML pages get links that resolve in the export."""
    response = fetch(client, unit.address)
    if response.status_code != unit.status:
        raise ExportError(f"{unit.address} answered {response.status_code}, expected {unit.status}")
    body = response.get_data()
    if response.mimetype == "text/html":
        body = static_links(body.decode("utf-8")).encode("utf-8")
    return body


def special_files(client, gone: list[dict], stamp: str) -> dict[str, tuple[bytes, str]]:
    """Files the live site has no address for: the search notice, the 404 page and the lists of gone pages."""
    with current_app.test_request_context("/search"):
        notice = web.error_page(501, "Search needs the live site", SEARCH_NOTICE)
    missing = fetch(client, "/this-address-is-not-part-of-the-site")
    gone_list = "".join(f"{address}\n{address}/\n" for address in
                        (article_address(item["id"], item["title"]) for item in gone))
    # keyed by the id alone: nginx looks exact keys up in a hash, where one regex per id would be tried in turn
    nginx_map = "".join(f"{item['id']} 1;\n" for item in gone)
    return {
        "search/index.html": (static_links(notice).encode("utf-8"), stamp),
        NOT_FOUND_PAGE: (static_links(missing.get_data(as_text=True)).encode("utf-8"), stamp),
        GONE_LIST: (gone_list.encode("utf-8"), digest(gone_list)),
        GONE_NGINX_MAP: (nginx_map.encode("utf-8"), digest(nginx_map)),
    }


# ---------------------------------------------------------------- builds


def build_numbers(root: Path) -> list[int]:
    """The numbers of the builds on disk, oldest first."""
    builds = root / BUILDS
    if not builds.is_dir():
        return []
    return sorted(int(path.name) for path in builds.iterdir() if path.is_dir() and path.name.isdigit())


def manifest_path(root: Path, number: int) -> Path:
    """Where a build's manifest is kept (beside the build, not served)."""
    return root / BUILDS / f"{number}.manifest.json"


def current_build(root: Path) -> tuple[int | None, dict]:
    """The build `current` points at, and its manifest (empty when there is none yet)."""
    link = root / CURRENT
    if not link.exists() and not link.is_symlink():
        return None, {"files": {}}
    if not link.is_symlink():
        raise ExportError(f"{link} exists and is not the symbolic link an export makes")
    number = int(Path(os.readlink(link)).name)
    try:
        return number, json.loads(manifest_path(root, number).read_text())
    except (OSError, ValueError):
        return number, {"files": {}}  # an unreadable manifest: render everything, link nothing by trust


def write_file(target: Path, body: bytes) -> None:
    """A new file of the build in progress (not yet served), with its gzip copy beside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    write_gzip_copy(target, body)


def link_file(source: Path, target: Path) -> None:
    """A file of the new build that is the previous build's file itself (a hard link, nothing written)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, target)
    packed = gzip_copy_of(source)
    if packed.is_file():
        os.link(packed, gzip_copy_of(target))
    elif wants_gzip_copy(target, target.stat().st_size):
        write_gzip_copy(target, target.read_bytes())  # a build made before the export wrote gzip copies


def gzip_copy_of(path: Path) -> Path:
    """Where a file's gzip copy lies: beside it, named FILE.gz, as nginx's gzip_static looks for it."""
    return path.with_name(path.name + GZIP_SUFFIX)


def wants_gzip_copy(path: Path, size: int) -> bool:
    """Whether a file of the build gets a gzip copy: text, and large enough that compressing pays."""
    return path.name.endswith(GZIP_TYPES) and size >= GZIP_MIN_BYTES


def write_gzip_copy(target: Path, body: bytes) -> None:
    """Write FILE.gz beside a file of the build, with the file's mtime, so a server may send it to gzip clients.

    Not a URL of its own: it is left out of the manifest and the changed list, and goes with its file.
    """
    if not wants_gzip_copy(target, len(body)):
        return
    # mtime=0 and no name in the header: the same bytes always compress alike
    packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
    if len(packed) >= len(body):
        return  # incompressible: a server sends the file itself
    copy = gzip_copy_of(target)
    copy.write_bytes(packed)
    written = target.stat()
    # gzip_static answers with the copy's Last-Modified: it must be the file's own
    os.utime(copy, ns=(written.st_atime_ns, written.st_mtime_ns))


def switch(root: Path, number: int) -> None:
    """Point `current` at a build with one rename: a reader sees the old build or the new, never a mix."""
    temporary = root / f".{CURRENT}-{number}"
    if temporary.is_symlink():
        temporary.unlink()
    os.symlink(f"{BUILDS}/{number}", temporary)
    os.replace(temporary, root / CURRENT)


def prune(root: Path, current: int, keep_seconds: float, now: float) -> None:
    """Remove builds that were replaced more than keep_seconds ago; the current build always stays."""
    numbers = build_numbers(root)
    for older, newer in zip(numbers, numbers[1:]):
        if older == current:
            continue
        try:
            replaced_at = json.loads(manifest_path(root, newer).read_text())["built_at"]
        except (OSError, ValueError, KeyError):
            replaced_at = now
        if newer <= current and now - replaced_at >= keep_seconds:
            shutil.rmtree(root / BUILDS / str(older), ignore_errors=True)
            manifest_path(root, older).unlink(missing_ok=True)


def changed_urls(site_url: str, files: list[str]) -> list[str]:
    """Absolute URLs a CDN must purge for the changed and removed files."""
    return [site_url + url for file in sorted(files) for url in urls_of(file)]


def write_atomically(path: Path, text: str) -> None:
    """Replace a small file whole."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def changed_list_text(report: ExportReport) -> str:
    """The purge list of an export: one absolute URL a line."""
    return "".join(f"{url}\n" for url in report.changed_urls)


def export_site(app, directory: str | os.PathLike, *, keep_seconds: float = KEEP_SECONDS,
                changed_list: str | os.PathLike | None = None) -> ExportReport:
    """Export the public site into DIR/builds/N and switch DIR/current to it; only changed files are written."""
    root = Path(directory)
    (root / BUILDS).mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock, app.app_context():
        fcntl.flock(lock, fcntl.LOCK_EX)  # one export at a time per directory
        report = build(app, root, keep_seconds)
        text = changed_list_text(report)
        write_atomically(root / CHANGED_LIST, text)
        if changed_list:
            write_atomically(Path(changed_list), text)
    return report


def build(app, root: Path, keep_seconds: float) -> ExportReport:
    """Render what may have changed into a new build, link the rest, and switch to it when anything differs."""
    previous, manifest = current_build(root)
    known = manifest.get("files", {})
    with app.test_request_context():
        stamp, units, gone = plan(current_db())
        version = storage.site_state(current_db())["version"]
    client = app.test_client()
    specials = special_files(client, gone, stamp)
    stale = {unit.file for unit in units if known.get(unit.file, [None, None])[1] != unit.stamp}
    stale |= {name for name, (_, mark) in specials.items() if known.get(name, [None, None])[1] != mark}
    removed = sorted(set(known) - {unit.file for unit in units} - set(specials))
    if previous is not None and not stale and not removed:
        return ExportReport(previous, switched=False)
    number = max(build_numbers(root), default=0) + 1
    target = root / BUILDS / str(number)
    report = ExportReport(number, switched=False, removed=removed)
    try:
        files = assemble(root, previous, target, known, units, specials, stale, client, report)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # a build that failed halfway is never served
        raise
    if not report.written and not report.removed:
        shutil.rmtree(target, ignore_errors=True)
        return ExportReport(previous, switched=False, rendered=report.rendered)
    manifest_path(root, number).write_text(json.dumps(
        {"format": FORMAT, "build": number, "built_at": time.time(), "site_version": version,
         "stamp": stamp, "files": files}))
    report.changed_urls = changed_urls(app.config["SITE_URL"], report.written + report.removed)
    # in the build before the switch: a crash after it cannot part a build from the purge list it needs
    write_atomically(target / CHANGED_LIST, changed_list_text(report))
    switch(root, number)
    report.switched = True
    prune(root, number, keep_seconds, time.time())
    return report


def assemble(root: Path, previous: int | None, target: Path, known: dict, units: list[Unit], specials: dict,
             stale: set[str], client, report: ExportReport) -> dict[str, list[str]]:
    """Fill a new build directory; returns its manifest's files (path -> [SHA-256, stamp])."""
    shutil.rmtree(target, ignore_errors=True)
    files = {}
    for unit in units:
        files[unit.file] = place(root, previous, target, known, unit.file, unit.stamp,
                                 lambda unit=unit: render_unit(client, unit), unit.file not in stale, report)
    for name, (body, mark) in specials.items():
        files[name] = place(root, previous, target, known, name, mark, lambda body=body: body, False, report)
    return files


def place(root: Path, previous: int | None, target: Path, known: dict, file: str, stamp: str, render,
          unchanged: bool, report: ExportReport) -> list[str]:
    """Put one file into the new build: a link to the previous copy when its bytes are the same, else written.

    A file whose stamp is unchanged is linked without rendering, if the previous build still holds it.
    """
    if file.startswith("/") or ".." in Path(file).parts:
        raise ExportError(f"{file!r} would be written outside the build")
    old = known.get(file)
    source = root / BUILDS / str(previous) / file if previous is not None else None
    if unchanged and old and source.is_file():
        link_file(source, target / file)
        report.linked += 1
        return [old[0], stamp]
    body = render()
    report.rendered += 1
    body_hash = hashlib.sha256(body).hexdigest()
    if old and old[0] == body_hash and source is not None and source.is_file():
        link_file(source, target / file)
        report.linked += 1
    else:
        write_file(target / file, body)
        report.written.append(file)
    return [body_hash, stamp]


# ---------------------------------------------------------------- command


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--changed-list", type=click.Path(dir_okay=False), help="Also write the changed URLs to this file.")
@click.option("--keep-seconds", type=float, default=KEEP_SECONDS, show_default=True,
              help="How long a replaced build stays on disk for readers still reading it.")
@with_appcontext
def export_command(directory, changed_list, keep_seconds):
    """Write the public site as static files into DIRECTORY/current (only what changed; switched atomically).

    DIRECTORY/_changed.txt lists the URLs that changed, for a CDN purge (so does the build's own
    current/_changed.txt, written before the switch); _gone.txt and _gone.nginx.map
    in the build list the withdrawn articles a host should answer with 410.
    """
    try:
        report = export_site(current_app._get_current_object(), directory, keep_seconds=keep_seconds,
                             changed_list=changed_list)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    if not report.switched:
        click.echo(f"nothing changed: build {report.build} stays current ({report.rendered} files rendered)")
        return
    click.echo(f"build {report.build}: {len(report.written)} files written, {report.linked} unchanged, "
               f"{len(report.removed)} removed, {len(report.changed_urls)} URLs changed")
