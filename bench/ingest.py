"""Ingest throughput against bare feedparser.parse of the same bytes, measured in one run.

Run: python bench/ingest.py [--rounds N]
Prints, for a 50-item feed served over HTTP on 127.0.0.1, the median time of
  - bare feedparser.parse(io.BytesIO(body))            (the baseline, 1.00x)
  - a first fetch into an empty database (every stage runs for 50 items)
  - a re-fetch of byte-identical content               (goal: well under 0.1x)
  - a re-fetch with one new item out of 50             (goal: at most 1.3x)
and, for reference, feedparser with the headers the pipeline passes (content-type, content-location)
and the HTTP round trip alone, which every scenario includes.
"""

import argparse
import io
import multiprocessing
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from republisher import fetcher, ingest, licenses, storage  # noqa: E402

PARAGRAPH = ("<p>The regional council met on Tuesday to discuss the harbour budget, the new ferry timetable "
             "and the <a href=\"/news/plan\">long-term coastal plan</a>. Residents asked for more frequent "
             "crossings in winter and for a shelter at the northern pier.</p>")


def article(number: int) -> str:
    """One RSS item of about 3 KB, licensed like a CC BY news agency."""
    body = PARAGRAPH * 5 + f'<p><img src="/img/{number}.jpg" alt="Photo {number}" width="640" height="360"></p>'
    body += "<p>All Content by Bench News Agency is licensed under a Creative Commons Attribution 4.0 International License.</p>"
    return (f"<item><title>Council meeting report number {number}</title>"
            f"<link>https://bench.example/news/{number}</link><guid>https://bench.example/news/{number}</guid>"
            f"<dc:creator>Reporter {number % 7}</dc:creator><pubDate>Tue, 24 Nov 2026 10:{number % 60:02d}:00 GMT</pubDate>"
            f"<category>Politics</category><description><![CDATA[{body}]]></description></item>")


def feed(first: int, count: int = 50) -> bytes:
    """A feed holding items first .. first+count-1, newest first."""
    items = "".join(article(number) for number in range(first + count - 1, first - 1, -1))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<channel><title>Bench News Agency</title><link>https://bench.example/</link>"
            f"<description>Benchmark feed</description>{items}</channel></rss>").encode()


def serve_feeds(port_out, first_item) -> None:
    """Serve the 50-item feed starting at first_item.value (runs in its own process, like a real server)."""

    bodies = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            first = first_item.value
            body = bodies.get(first) or bodies.setdefault(first, feed(first))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


class FeedServer:
    """A feed server in another process, so it does not compete with the pipeline for the GIL."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.first_item = context.Value("i", 1)
        ports = context.Queue()
        self.process = context.Process(target=serve_feeds, args=(ports, self.first_item), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{ports.get(timeout=30)}/feed"

    def serve(self, first: int) -> bytes:
        """Make the server answer with the feed starting at `first`; returns those bytes."""
        self.first_item.value = first
        return feed(first)

    def stop(self) -> None:
        """End the server process."""
        self.process.terminate()


def timed(action) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(rounds: int) -> dict:
    """Measure every scenario `rounds` times; returns medians in seconds."""
    server = FeedServer()
    workdir = Path(tempfile.mkdtemp(prefix="republisher-bench-"))
    config = ingest.IngestConfig(database=str(workdir / "bench.sqlite"), policy=frozenset(licenses.allowed_by_default()),
                                 guard=fetcher.AddressGuard(allow_private=True))
    times = {"bare parse": [], "bare parse, same headers": [], "HTTP fetch alone": [], "first fetch": [],
             "identical re-fetch": [], "one new item of 50": []}
    for round_number in range(rounds):
        db = storage.connect(str(workdir / f"bench-{round_number}.sqlite"))
        storage.migrate(db)
        source_id = storage.add_source(db, server.url)["id"]
        base = 1000 * (round_number + 1)

        def refresh(expected_new: int) -> None:
            """One pipeline run on the source, checked."""
            check(ingest.refresh_source(db, storage.get_source(db, source_id), config), new=expected_new)

        body = server.serve(base)
        measure_bare_parse(times, body, server.url)
        times["first fetch"].append(timed(lambda: refresh(50)))
        times["identical re-fetch"].append(timed(lambda: refresh(0)))
        body = server.serve(base + 1)
        measure_bare_parse(times, body, server.url)
        times["HTTP fetch alone"].append(timed(lambda: fetcher.fetch(server.url, guard=config.guard)))
        times["one new item of 50"].append(timed(lambda: refresh(1)))
        db.conn.close()
    server.stop()
    return {name: statistics.median(values) for name, values in times.items()}


def measure_bare_parse(times: dict, body: bytes, url: str) -> None:
    """feedparser alone on the same bytes: with no headers, and with the headers the pipeline passes."""
    times["bare parse"].append(timed(lambda: feedparser.parse(
        io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)))
    headers = {"content-type": "application/rss+xml", "content-location": url}
    times["bare parse, same headers"].append(timed(lambda: feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False)))


def check(report, new: int) -> None:
    """Stop the benchmark if the pipeline did not do what the scenario says."""
    if report.error or report.new != new:
        raise SystemExit(f"unexpected ingest result: {report}")


def main() -> None:
    """Print the table of medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    medians = run(args.rounds)
    baseline = medians["bare parse"]
    print(f"50-item feed ({len(feed(1)) // 1024} KB), median of {args.rounds} rounds")
    same_headers = medians["bare parse, same headers"]
    print(f"{'scenario':<26} {'ms':>8} {'x bare parse':>13} {'x same headers':>15}")
    for name, seconds in medians.items():
        print(f"{name:<26} {seconds * 1000:>8.2f} {seconds / baseline:>12.2f}x {seconds / same_headers:>14.2f}x")


if __name__ == "__main__":
    main()
