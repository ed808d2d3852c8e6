"""Readers under load while the fetcher ingests a large batch: errors, locks and latency ratios.

Run: python bench/load.py [--long] [--ingest server|process|both] [--sources N] [--items N]
                          [--seed-sources N] [--clients N] [--baseline-seconds S] [--max-seconds S]

Three processes besides this one, all on 127.0.0.1: a feed server (its own process, so it never competes
with the load generator for the GIL) serving one RSS feed of --items items per source; the site under
`republisher serve` (waitress) on a free port; and the fetcher, either the background worker inside the
server process (--ingest server, what `republisher serve` runs by default) or `republisher worker --once`
as a separate process beside a server started with --no-worker (--ingest process).

Before the server starts, --seed-sources feeds are fetched and published (auto-approved), so the site
has pages; the batch of --sources sources is added with its first fetch due a few seconds after the
server is up. The load generator (threads with keep-alive http.client connections, "Accept-Encoding:
gzip" like browsers) reads the site without a pause from the moment it answers: the baseline phase
until the batch is due, then the ingest phase until every batch source has been fetched and recorded.
Each request is one of: a cached page (/, a recent article, /sources/, a repeated search), a feed
(/feed.xml, /atom.xml, /feed.json), a conditional GET of a page or feed with the ETag this client last
saw (304 while nothing changed), or a cold page (a search for a combination of words not asked before,
an article at random), which the site renders anew. During ingest every published item moves the site
version on, so cached pages turn cold again and again: that is the case measured.

Each phase is bounded by --max-seconds and by a request count; the run stops by itself. A failure is a
5xx, a connection error, or "database is locked" in a response, in the server's stderr or the
fetcher's output, or in the fetch log. Latencies are reported as p50/p99 per phase and kind, and as
ratios of the ingest phase against the same run's baseline. The default is the quick form the test
suite runs (tests/test_load.py); --long is 200 sources x 50 items with 20 seed sources.
"""

import argparse
import http.client
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from republisher import create_app, ingest, storage  # noqa: E402

WORDS = ("harbour", "valley", "island", "quarry", "orchard", "causeway", "lighthouse", "estuary", "moorland",
         "village", "market", "river", "ferry", "pier", "meadow", "glacier", "budget", "timetable", "festival",
         "library", "museum", "bridge", "harvest", "storm", "railway", "theatre", "reservoir", "council")
LOCKED = re.compile(r"database is locked|database table is locked", re.IGNORECASE)
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
MAX_REQUESTS_PER_PHASE = 200_000
STARTUP_SECONDS = 5  # enough for the server to start and answer; the rest of the wait is the baseline


# ---------------------------------------------------------------- feeds


def feed_document(source: int, items: int) -> bytes:
    """Source `source`'s RSS feed: `items` openly licensed items of about 2 KB, newest first."""
    rng = random.Random(source)
    entries = []
    for number in reversed(range(items)):
        words = [rng.choice(WORDS) for _ in range(6)]
        paragraph = (f"<p>The {words[0]} {words[1]} was discussed again by the {words[2]} council, with residents "
                     f"of the {words[3]} asking about the {words[4]} and the <a href=\"/notes/{number}\">"
                     f"{words[5]} plan</a>.</p>")
        entries.append(
            f"<item><title>Report {number} from source {source}: the {words[0]} {words[1]}</title>"
            f"<link>https://source-{source}.example/reports/{number}</link>"
            f"<guid isPermaLink=\"false\">source-{source}-report-{number}</guid>"
            f"<dc:creator>Reporter {number % 5}</dc:creator>"
            f"<pubDate>Mon, 30 Nov 2026 {number // 60 % 24:02d}:{number % 60:02d}:00 GMT</pubDate>"
            f"<description><![CDATA[{paragraph * 6}]]></description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            f'xmlns:creativeCommons="http://backend.userland.com/creativeCommonsRssModule"><channel>'
            f"<title>Source {source} News</title><link>https://source-{source}.example/</link>"
            f"<description>Reports of source {source}</description>"
            f"<creativeCommons:license>{LICENSE}</creativeCommons:license>{''.join(entries)}"
            f"</channel></rss>").encode()


def serve_feeds(items: int) -> None:
    """Serve /feeds/<n>.xml on a free port until killed; print the port first (run in its own process)."""
    bodies: dict[int, bytes] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        """One feed per source number."""

        protocol_version = "HTTP/1.1"

        def do_GET(self):
            """The feed of the source named in the path, or 404."""
            match = re.fullmatch(r"/feeds/(\d+)\.xml", self.path)
            if not match:
                self.send_error(404)
                return
            number = int(match.group(1))
            with lock:
                body = bodies.get(number) or bodies.setdefault(number, feed_document(number, items))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_feed_server(items: int) -> tuple[subprocess.Popen, str]:
    """The feed server process and its base URL."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--feed-server", "--items", str(items)],
                               stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------- database and server


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_environment(database: Path, port: int) -> dict:
    """The environment the site, the worker and this process's preparation share."""
    env = dict(os.environ, REPUBLISHER_DATABASE=str(database), REPUBLISHER_ALLOW_PRIVATE_ADDRESSES="1",
               REPUBLISHER_SITE_URL=f"http://127.0.0.1:{port}", REPUBLISHER_SECRET_KEY="load-test",
               PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    env.pop("FLASK_APP", None)
    return env


def prepare(database: Path, feeds: str, seed_sources: int, batch_sources: int, delay: float) -> tuple[list[int], str]:
    """Fetch and publish the seed sources, add the batch due `delay` seconds later; returns its ids and time."""
    app = create_app({"DATABASE": str(database), "ALLOW_PRIVATE_ADDRESSES": True})
    config = ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"])
    db = storage.connect(str(database))
    storage.migrate(db)
    seeds = [storage.add_source(db, f"{feeds}/feeds/{number}.xml", auto_approve=True)
             for number in range(seed_sources)]
    failed = [report for report in ingest.refresh_many(seeds, config) if report.error]
    if failed:
        raise SystemExit(f"seed fetch failed: {failed[0].error}")
    batch, ingest_at = [], storage.later(delay)
    for number in range(seed_sources, seed_sources + batch_sources):
        source = storage.add_source(db, f"{feeds}/feeds/{number}.xml", auto_approve=True)
        storage.update_source(db, source["id"], next_fetch_at=ingest_at)
        batch.append(source["id"])
    db.conn.close()
    return batch, ingest_at


def flask_command(*args: str) -> list[str]:
    """The command line of one of the project's commands, run from this checkout."""
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def start_server(env: dict, port: int, worker: bool, stderr_path: Path) -> subprocess.Popen:
    """`republisher serve` in its own process, with or without its background fetcher; waits until it answers."""
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "8"]
    process = subprocess.Popen(flask_command(*args, *([] if worker else ["--no-worker"])), cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=open(stderr_path, "w"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {stderr_path.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def batch_done(database: Path, batch: list[int]) -> int:
    """How many batch sources have a recorded fetch."""
    conn = sqlite3.connect(str(database), timeout=30)
    try:
        marks = ", ".join("?" for _ in batch)
        return conn.execute(f"SELECT count(*) FROM sources WHERE id IN ({marks}) AND last_fetch_at IS NOT NULL",
                            batch).fetchone()[0]
    finally:
        conn.close()


def fetch_log_problems(database: Path) -> list[str]:
    """Every error the fetch log holds."""
    conn = sqlite3.connect(str(database), timeout=30)
    try:
        return [f"source {row[0]}: {row[1]}" for row in
                conn.execute("SELECT source_id, error FROM fetch_log WHERE error IS NOT NULL")]
    finally:
        conn.close()


# ---------------------------------------------------------------- load generator


@dataclass
class Sample:
    """One request as the reader saw it."""

    phase: str
    kind: str
    path: str
    status: int
    seconds: float
    locked: bool = False


@dataclass
class Load:
    """Reader threads hitting the site until told to stop; every request is kept as a Sample."""

    port: int
    articles: list[str]
    clients: int = 8
    phase: str = "baseline"
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> list[threading.Thread]:
        """Start the reader threads."""
        threads = [threading.Thread(target=self.reader, args=(number,), daemon=True) for number in range(self.clients)]
        for thread in threads:
            thread.start()
        return threads

    def reader(self, number: int) -> None:
        """One reader: a keep-alive connection, a request mix, its own ETags."""
        rng, etags = random.Random(number), {}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stop.is_set() and len(self.samples) < 2 * MAX_REQUESTS_PER_PHASE:
            kind, path = self.pick(rng, etags)
            if not self.request(connection, kind, path, etags):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.close()

    def request(self, connection: http.client.HTTPConnection, kind: str, path: str, etags: dict) -> bool:
        """Send one request and keep its sample; False when the connection failed."""
        headers = {"Accept-Encoding": "gzip"}
        if kind == "conditional":
            headers["If-None-Match"] = etags[path]
        started = time.monotonic()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.note_failure(f"{path}: {type(exc).__name__}: {exc}")
            return False
        elapsed = time.monotonic() - started
        if response.getheader("ETag") and response.status == 200:
            etags[path] = response.getheader("ETag")
        # only an error page could name a lock, and error pages are never compressed
        locked = response.status >= 400 and bool(LOCKED.search(body.decode("utf-8", "replace")))
        with self.lock:
            self.samples.append(Sample(self.phase, kind, path, response.status, elapsed, locked))
        return True

    def pick(self, rng: random.Random, etags: dict) -> tuple[str, str]:
        """The next request: a kind and a path."""
        roll = rng.random()
        if roll < 0.2 and etags:
            return "conditional", rng.choice(sorted(etags))
        if roll < 0.45:
            return "feed", rng.choice(("/feed.xml", "/atom.xml", "/feed.json"))
        if roll < 0.6:
            words = "+".join(quote(rng.choice(WORDS)) for _ in range(rng.randint(2, 3)))
            cold = rng.choice(("/search?q=" + words, rng.choice(self.articles) if self.articles else "/"))
            return "cold", cold
        page = rng.choice(("/", "/sources/", "/search?q=harbour",
                           rng.choice(self.articles[:20]) if self.articles else "/"))
        return "page", page

    def note_failure(self, text: str) -> None:
        """Keep a connection failure (bounded, the first ones tell the story)."""
        with self.lock:
            if len(self.failures) < 100:
                self.failures.append(text)


def article_paths(port: int) -> list[str]:
    """The site's article paths, newest first, as its JSON Feed lists them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/feed.json")
    items = json.loads(connection.getresponse().read())["items"]
    return [urlsplit(item["url"]).path for item in items]


# ---------------------------------------------------------------- figures


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered))) - 1))]


def summarize(samples: list[Sample]) -> dict:
    """Counts and p50/p99/max in milliseconds, per phase and kind ('all' for every kind)."""
    figures = {}
    for phase in ("baseline", "ingest"):
        chosen = [sample for sample in samples if sample.phase == phase]
        for kind in ("all", "page", "cold", "feed", "conditional"):
            group = [sample.seconds * 1000 for sample in chosen if kind == "all" or sample.kind == kind]
            figures[(phase, kind)] = {"requests": len(group), "p50": percentile(group, 0.5),
                                      "p99": percentile(group, 0.99), "max": max(group, default=float("nan"))}
    return figures


@dataclass
class Result:
    """What one run measured and every problem it saw."""

    mode: str
    sources: int
    items: int
    seed_sources: int
    samples: list[Sample]
    failures: list[str]
    server_problems: list[str]
    fetch_problems: list[str]
    baseline_seconds: float
    ingest_seconds: float
    stored_items: int
    database: Path
    violations: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> list[Sample]:
        """Responses with a 5xx status."""
        return [sample for sample in self.samples if sample.status >= 500]

    @property
    def locked(self) -> list[str]:
        """Every "database is locked" seen anywhere."""
        found = [f"response to {sample.path}" for sample in self.samples if sample.locked]
        return found + [line for line in self.server_problems + self.fetch_problems if LOCKED.search(line)]

    def slowest(self, phase: str) -> float:
        """The longest wait of one request in a phase, in seconds."""
        return max((sample.seconds for sample in self.samples if sample.phase == phase), default=0.0)


def server_log_problems(path: Path) -> list[str]:
    """Lines of the server's stderr that tell of trouble: tracebacks, errors, locks."""
    wanted = re.compile(r"Traceback|ERROR|Exception|\blocked\b|Internal Server Error|failed|not recorded|"
                        r"not refreshed|disk is full|read-only|readonly", re.IGNORECASE)
    # a fetch's log line always names its error field; "error=-" is a fetch without one
    return [line for line in path.read_text(errors="replace").splitlines()
            if wanted.search(line.replace(" error=- ", " "))]


# ---------------------------------------------------------------- one run


def run(mode: str, sources: int, items: int, seed_sources: int, clients: int, baseline_seconds: float,
        max_seconds: float, workdir: Path) -> Result:
    """One load run with the fetcher in the server (`server`) or in a process of its own (`process`)."""
    database, server_log, worker_log = (workdir / f"{name}-{mode}{suffix}" for name, suffix in
                                        (("load", ".sqlite"), ("server", ".log"), ("worker", ".log")))
    feed_server, feeds = start_feed_server(items)
    processes = [feed_server]
    try:
        port = free_port()
        env = site_environment(database, port)
        # the batch is due once the server is up and the baseline measured; the worker sleeps until then
        batch, ingest_at = prepare(database, feeds, seed_sources, sources, STARTUP_SECONDS + baseline_seconds)
        processes.append(start_server(env, port, mode == "server", server_log))
        load = Load(port, article_paths(port), clients)
        baseline_taken, ingest_seconds = measure(load, mode, env, database, batch, ingest_at, max_seconds,
                                                 worker_log, processes)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    return Result(mode, sources, items, seed_sources, load.samples, load.failures, server_log_problems(server_log),
                  fetcher_problems(database, batch, worker_log, max_seconds), baseline_taken, ingest_seconds,
                  stored_count(database), database)


def measure(load: Load, mode: str, env: dict, database: Path, batch: list[int], ingest_at: str,
            max_seconds: float, worker_log: Path, processes: list) -> tuple[float, float]:
    """Read the site through the baseline and the ingest phase; returns the two phases' seconds."""
    readers = load.start()
    started = time.monotonic()
    wait_until(ingest_at)
    baseline_taken = time.monotonic() - started
    load.phase = "ingest"
    ingest_started = time.monotonic()
    worker = None
    if mode == "process":
        worker = subprocess.Popen(flask_command("worker", "--once"), cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(worker_log, "w"))
        processes.append(worker)
    while batch_done(database, batch) < len(batch) and time.monotonic() - ingest_started < max_seconds:
        time.sleep(0.25)
    ingest_seconds = time.monotonic() - ingest_started
    load.stop.set()
    for reader in readers:  # each finishes the request it is in before the server goes away
        reader.join(timeout=120)
    if worker is not None:
        worker.wait(timeout=max_seconds)
    return baseline_taken, ingest_seconds


def fetcher_problems(database: Path, batch: list[int], worker_log: Path, max_seconds: float) -> list[str]:
    """Errors in the fetch log, anything the separate fetcher wrote to stderr, and sources never fetched."""
    problems = fetch_log_problems(database)
    if worker_log.exists():
        problems += [line for line in worker_log.read_text(errors="replace").splitlines() if line.strip()]
    done = batch_done(database, batch)
    if done < len(batch):
        problems.append(f"only {done} of {len(batch)} sources fetched in {max_seconds} s")
    return problems


def wait_until(moment: str) -> None:
    """Sleep until an ISO 8601 UTC time."""
    from datetime import datetime, timezone

    delay = (datetime.fromisoformat(moment) - datetime.now(timezone.utc)).total_seconds()
    time.sleep(max(0.0, delay))


def stored_count(database: Path) -> int:
    """Items in the database."""
    conn = sqlite3.connect(str(database), timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        conn.close()


# ---------------------------------------------------------------- report


def report(result: Result) -> str:
    """The run's figures as text: requests, errors, p50/p99 per phase and kind, ingest against baseline."""
    figures = summarize(result.samples)
    lines = [f"fetcher={result.mode}  batch={result.sources} sources x {result.items} items  "
             f"seed={result.seed_sources} sources  items stored={result.stored_items}",
             f"baseline {result.baseline_seconds:.1f} s, ingest {result.ingest_seconds:.1f} s; "
             f"requests served {len(result.samples)}; 5xx {len(result.server_errors)}; "
             f"connection errors {len(result.failures)}; 'database is locked' {len(result.locked)}; "
             f"server stderr problems {len(result.server_problems)}; fetch errors {len(result.fetch_problems)}; "
             f"broken promises {len(result.violations)}",
             f"requests per second: baseline {throughput(result, 'baseline', result.baseline_seconds):.0f}, "
             f"ingest {throughput(result, 'ingest', result.ingest_seconds):.0f}; longest wait during ingest "
             f"{result.slowest('ingest'):.2f} s",
             f"{'kind':<12}{'base n':>8}{'base p50':>10}{'base p99':>10}{'ingest n':>10}{'ing p50':>10}"
             f"{'ing p99':>10}{'ing max':>10}{'p50 x':>8}{'p99 x':>8}"]
    for kind in ("all", "page", "cold", "feed", "conditional"):
        base, busy = figures[("baseline", kind)], figures[("ingest", kind)]
        lines.append(f"{kind:<12}{base['requests']:>8}{base['p50']:>10.1f}{base['p99']:>10.1f}{busy['requests']:>10}"
                     f"{busy['p50']:>10.1f}{busy['p99']:>10.1f}{busy['max']:>10.1f}"
                     f"{busy['p50'] / base['p50']:>7.2f}x{busy['p99'] / base['p99']:>7.2f}x")
    for problem in (result.failures + result.server_problems + result.fetch_problems + result.violations)[:10]:
        lines.append(f"  problem: {problem}")
    return "\n".join(lines)


def throughput(result: Result, phase: str, seconds: float) -> float:
    """Requests answered per second in a phase."""
    return sum(1 for sample in result.samples if sample.phase == phase) / max(seconds, 1e-9)


def broken_promises(database: Path) -> list[str]:
    """The shared check of the test suite (tests/invariants.py) on the database the run left."""
    sys.path.insert(0, str(REPO / "tests"))
    from invariants import violations

    return violations(database)


def main() -> None:
    """Parse options and run the chosen forms."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="200 sources x 50 items, 20 seed sources, both fetchers")
    parser.add_argument("--ingest", choices=("server", "process", "both"), default=None)
    parser.add_argument("--sources", type=int, default=None)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed-sources", type=int, default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--baseline-seconds", type=float, default=None)
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--feed-server", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.feed_server:
        serve_feeds(options.items)
        return
    long = options.long
    chosen = options.ingest or ("both" if long else "server")
    modes = ["server", "process"] if chosen == "both" else [chosen]
    sources = options.sources or (200 if long else 20)
    seeds = options.seed_sources if options.seed_sources is not None else (20 if long else 4)
    baseline = options.baseline_seconds or (30 if long else 8)
    limit = options.max_seconds or (1200 if long else 60)
    failed = False
    with tempfile.TemporaryDirectory(prefix="republisher-load-") as workdir:
        for mode in modes:
            result = run(mode, sources, options.items, seeds, options.clients, baseline, limit, Path(workdir))
            result.violations = broken_promises(result.database)
            print(report(result), flush=True)
            failed |= bool(result.server_errors or result.failures or result.locked or result.fetch_problems
                           or result.violations)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
