"""The worst inputs that remain: what each hostile feed shape costs in time, memory and disk.

Run: python bench/hostile.py [--scale 1.0] [--only NAME ...]
Each shape is served over HTTP on 127.0.0.1 and fetched by the orchestrator (ingest.refresh_source) into a
fresh SQLite file, in a child process of its own, at full size (close to the 10 MiB fetch cap) and at
half of it. Printed per shape: the body's size, the wall time of the fetch, the child's peak resident
resident memory (ru_maxrss; the outcome says how much was resident before the fetch), the bytes the database grew by, and the ratios
of full to half size (of CPU time, which a busy machine disturbs less than wall time): near 2 is linear,
near 1 is capped, near 4 would be quadratic.
"""

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIB = 1024 * 1024
FULL_BYTES = 9 * MIB  # under the default 10 MiB fetch cap, so each shape is read whole
LICENSE = "<copyright>CC BY 4.0</copyright>"


def rss(items: str, channel: str = "") -> bytes:
    """An RSS 2.0 document around the given items."""
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>Hostile</title><link>https://hostile.test/</link>{LICENSE}{channel}{items}"
            "</channel></rss>").encode()


def item(body: str = "<p>Short.</p>", title: str = "One item", link: str = "https://hostile.test/1",
         extra: str = "", guid: str = "hostile-1") -> str:
    """One RSS item with its description as CDATA."""
    return (f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>{extra}"
            f"<description><![CDATA[{body}]]></description></item>")


def repeat(unit: str, size: int) -> str:
    """unit repeated to about size characters."""
    return unit * max(1, size // len(unit))


def huge_title(size: int) -> bytes:
    """One item whose title is the whole body."""
    return rss(item(title=repeat("Headline words ", size)))


def huge_description(size: int) -> bytes:
    """One item whose description is the whole body."""
    return rss(item(body=repeat("<p>The council met on Tuesday to discuss the harbour budget.</p>", size)))


def many_items(size: int) -> bytes:
    """As many tiny items as fit."""
    unit = len(item(guid="hostile-000000"))
    return rss("".join(item(guid=f"hostile-{number:06d}", link=f"https://hostile.test/{number}")
                       for number in range(size // unit)))


def many_links(size: int) -> bytes:
    """One item whose content is links, relative ones to be made absolute."""
    return rss(item(body=repeat('<a href="/news/a-long-article-path">a link</a> ', size)))


def deep_nesting(size: int) -> bytes:
    """One item whose content is one deeply nested element with a word at every level."""
    return rss(item(body=repeat("<div>deep ", size)))


def many_attributes(size: int) -> bytes:
    """One item whose content is one tag with as many attributes as fit."""
    count = size // 8
    return rss(item(body="<p " + " ".join(f"a{number}" for number in range(count)) + ">text</p>"))


def entity_heavy(size: int) -> bytes:
    """Character references everywhere: in the XML, in the HTML, in the title."""
    references = "&amp;amp;&#65;&#x42;&lt;b&gt;"
    return rss(item(title=repeat("&#65;&amp;", size // 8), body=repeat("&amp;&nbsp;&#8217;&#x1F600;&lt;", size // 2),
                    extra=f"<dc:rights>{repeat(references, size // 4)}</dc:rights>"))


def long_urls(size: int) -> bytes:
    """Links, images and the item's own link as long as fit."""
    path = repeat("segment/", size // 3)
    return rss(item(link="https://hostile.test/" + path,
                    body=f'<a href="https://hostile.test/{path}">x</a><img src="https://hostile.test/{path}.jpg">'))


def many_lists(size: int) -> bytes:
    """One item with as many enclosures, categories and authors as fit."""
    third = size // 3
    enclosures = repeat('<enclosure url="https://hostile.test/a.mp3" length="1" type="audio/mpeg"/>', third)
    categories = "".join(f"<category>Topic {number}</category>" for number in range(third // 28))
    authors = "".join(f"<dc:creator>Author {number}</dc:creator>" for number in range(third // 40))
    return rss(item(extra=enclosures + categories + authors))


def huge_channel(size: int) -> bytes:
    """A channel description as large as the body, with 100 tiny items."""
    items = "".join(item(guid=f"hostile-{number}", link=f"https://hostile.test/{number}") for number in range(100))
    return rss(items, channel=f"<description>{repeat('About this feed. ', size)}</description>")


def huge_json_feed(size: int) -> bytes:
    """A JSON Feed of as many items as fit, each with tags and an author."""
    unit = {"id": "000000", "url": "https://hostile.test/000000", "title": "Note", "content_html": "<p>Short.</p>",
            "tags": ["a", "b"], "authors": [{"name": "Writer"}]}
    count = size // len(json.dumps(unit))
    items = [dict(unit, id=f"{number:06d}", url=f"https://hostile.test/{number}") for number in range(count)]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Hostile JSON",
                       "home_page_url": "https://hostile.test/", "items": items}).encode()


SHAPES = {
    "huge title": huge_title, "10 MB description": huge_description, "100k items": many_items,
    "100k links": many_links, "deep nesting": deep_nesting, "many attributes": many_attributes,
    "entity-heavy text": entity_heavy, "long URLs": long_urls,
    "enclosures, categories, authors": many_lists, "huge channel": huge_channel, "huge JSON Feed": huge_json_feed,
}


class Server:
    """A threaded HTTP server on 127.0.0.1 that answers every path with the current body."""

    def __init__(self):
        """Start serving in a daemon thread."""
        served = self.served = {"body": b"", "type": "application/rss+xml"}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                """The current body."""
                self.send_response(200)
                self.send_header("Content-Type", served["type"])
                self.send_header("Content-Length", str(len(served["body"])))
                self.end_headers()
                self.wfile.write(served["body"])

            def log_message(self, *args):
                """Quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed"
        Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, body: bytes, content_type: str) -> None:
        """Answer with this body from now on."""
        self.served.update(body=body, type=content_type)


def ingest_in_child(url: str, directory: str, answers) -> None:
    """Fetch the URL once into a fresh database; put (seconds, peak resident KiB, stored bytes, CPU seconds,
    report).
    """
    from republisher import fetcher, ingest, licenses, storage

    path = Path(directory) / "hostile.sqlite"
    db = storage.connect(str(path))
    storage.migrate(db)
    source = storage.add_source(db, url, license="CC-BY-4.0",
                                evidence="Site footer: All content is licensed under CC BY 4.0 International.")
    empty = database_bytes(db)
    config = ingest.IngestConfig(database=str(path), policy=frozenset(licenses.allowed_by_default()),
                                 guard=fetcher.AddressGuard(allow_private=True),
                                 limits=fetcher.FetchLimits(deadline=120, read_timeout=60))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    report = ingest.refresh_source(db, source, config)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answers.put((seconds, peak, database_bytes(db) - empty, cpu,
                 f"new={report.new} blocked={report.blocked} error={report.error} warning={report.warning} "
                 f"(resident before the fetch: {baseline / 1024:.0f} MiB)"))


def database_bytes(db) -> int:
    """The database's size once its write-ahead log is folded in."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


def measure(server: Server, body: bytes, content_type: str) -> tuple:
    """One fetch of the body in a spawned child: (seconds, peak KiB, stored bytes, CPU seconds, report)."""
    server.serve(body, content_type)
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    with tempfile.TemporaryDirectory(prefix="republisher-hostile-") as directory:
        child = context.Process(target=ingest_in_child, args=(server.url, directory, answers))
        child.start()
        result = answers.get(timeout=900)
        child.join()
    return result


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="full size as a fraction of 9 MiB")
    parser.add_argument("--only", nargs="*", help="shape names to run")
    args = parser.parse_args()
    server = Server()
    full = int(FULL_BYTES * args.scale)
    print(f"{'shape':<32} {'body MiB':>8} {'s':>7} {'cpu s':>7} {'x half':>6} {'peak MiB':>8} {'x half':>6} "
          f"{'stored MiB':>10} {'x half':>6}  outcome")
    for name, build in SHAPES.items():
        if args.only and name not in args.only:
            continue
        content_type = "application/feed+json" if "JSON" in name else "application/rss+xml"
        half_body, full_body = build(full // 2), build(full)
        half, whole = measure(server, half_body, content_type), measure(server, full_body, content_type)
        ratios = [whole[index] / half[index] if half[index] else float("nan") for index in range(4)]
        print(f"{name:<32} {len(full_body) / MIB:>8.2f} {whole[0]:>7.2f} {whole[3]:>7.2f} {ratios[3]:>6.2f} "
              f"{whole[1] / 1024:>8.1f} {ratios[1]:>6.2f} {whole[2] / MIB:>10.2f} {ratios[2]:>6.2f}  {whole[4]}",
              flush=True)


if __name__ == "__main__":
    main()
