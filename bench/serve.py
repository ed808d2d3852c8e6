"""Page and feed requests per second under waitress against the same app returning a fixed 10 KB string.

Run: python bench/serve.py [--sizes 1000 1000000] [--requests 3000] [--latency-requests 500]
                           [--seconds 10] [--connections 8] [--threads 8] [--routes START ...] [--cache-dir DIR]

For each database size (published items) the site runs under waitress, the production server, in a
subprocess on 127.0.0.1. A load generator in this process (threads, keep-alive http.client connections,
127.0.0.1 only) measures each route after a short warm-up: requests per second with --connections
concurrent connections, and latency one request at a time (its p99 is the route's own cost, not queueing).
Every phase is bounded by a request count and by --seconds. The ceiling is /_bench/static, a route of
the same app (same middleware and headers) registered only in the benchmark's server process, returning
a fixed 10 KB string; it is measured first and last, and pooled.

Routes: home; an article (a hot set of the 50 newest: readers mostly read new articles); an article at
random among all items (distinct URLs, so every request misses the page cache); search with a distinct
query of one to three words per request (every request runs FTS5), then with Chinese, Japanese and Korean
words (three items in ten are written in them) and with beginnings of words ("harb", "glac reser");
/feed.xml. Goals are printed next to the figures. --routes search measures the ceiling and the three
searches only. After the figures, each search route's latency queries run once more on storage alone, in
this process: the thread's CPU time per search, how many the work limit stopped, and the cards on each
first page (a larger archive fills more of them, and each card costs rendering).

Compression: every request says "Accept-Encoding: gzip", as browsers and feed readers do, the ceiling's
too. The site answers cached pages and feeds with the gzip copy it made when it cached them; the ceiling
is a plain Flask route and ignores the header, so it stays what it always measured: the stack's cost of
sending a 10 KB body (compressing its repetitive string would shrink it to a few dozen bytes and measure
nothing useful). Routes are reported against that one ceiling. Home, article and feed.xml are measured a
second time without the header ("identity"), for clients that do not ask for gzip; their goals apply to
the gzip case, the realistic one. The load generator does not decompress: it reads each body to its
end, which is all a client's network side does, and the KB column counts bytes on the wire.

Databases are built once per size with direct SQL (see bulk_load) and kept in the temp directory
(--cache-dir), so later runs start at once. One million items take about seven minutes and 6.8 GB.
"""

import argparse
import http.client
import itertools
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from republisher import attribution, feeds, licenses, sanitizer, storage  # noqa: E402
from republisher.slugs import slugify  # noqa: E402

# bump when the synthetic data or its layout changes, so cached databases are rebuilt
DATA_FORMAT = 2
STATIC_BODY = ("0123456789abcdef" * 640).encode()  # 10,240 bytes
SOURCES = 20
HOT_ARTICLES = 50
WARMUP = 200
BATCH = 50_000
LICENSE = "CC-BY-4.0"
BASE_TIME = 1_735_689_600  # 2025-01-01T00:00:00Z; item n is published n seconds later

PLACES = ("harbour", "valley", "island", "quarry", "orchard", "causeway", "lighthouse", "estuary",
          "moorland", "village", "market", "river", "ferry", "pier", "meadow", "glacier")
TOPICS = ("budget", "timetable", "festival", "election", "library", "museum", "hospital", "school",
          "bridge", "harvest", "storm", "census", "railway", "theatre", "reservoir", "cooperative")
ACTIONS = ("reopens", "expands", "votes", "delays", "celebrates", "repairs", "funds", "studies")
SENTENCES = (
    "The {topic} at the {place} {action} after a long debate in the regional council.",
    "Residents of the {place} asked for more information about the {topic} and its costs.",
    "Officials said the {topic} would be reviewed again in spring, when the {place} is quieter.",
    "A survey of the {place} found broad support for the {topic}, with some reservations.",
    "Volunteers from the {place} helped with the {topic}, working through the weekend.",
)
# three items in ten are written in Japanese, Chinese and Korean, one each: the same kinds of stories,
# so that a word of these is in about as many of that language's items as an English word is in English
# ones, and a search for one word fills its first page at a thousand items too
CJK = {
    "ja": {
        "places": ("港", "谷", "島", "採石場", "果樹園", "土手道", "灯台", "河口", "荒れ地", "村", "市場", "川", "渡し場",
                   "桟橋", "牧草地", "氷河"),
        "topics": ("予算", "時刻表", "祭り", "選挙", "図書館", "博物館", "病院", "学校", "橋", "収穫", "嵐", "国勢調査",
                   "鉄道", "劇場", "貯水池", "協同組合"),
        "actions": ("再開", "拡張", "採決", "延期", "祝賀", "修理", "助成", "調査"),
        "sentences": ("{place}の{topic}は、地域議会での長い議論の末に{action}が決まった。",
                      "{place}の住民は、{topic}とその費用についてさらに詳しい説明を求めた。",
                      "当局によると、{topic}は{place}が落ち着く春に改めて見直される。",
                      "{place}での調査では、{topic}への幅広い支持が示されたが、懸念も残った。",
                      "{place}のボランティアが週末を通して{topic}を手伝った。"),
        "title": "{place}の{topic}が{action}へ 報告{number}",
    },
    "zh": {
        "places": ("港口", "山谷", "海岛", "采石场", "果园", "堤道", "灯塔", "河口", "荒原", "村庄", "集市", "河流", "渡口",
                   "码头", "草地", "冰川"),
        "topics": ("预算", "时刻表", "节日", "选举", "图书馆", "博物馆", "医院", "学校", "桥梁", "收成", "风暴", "人口普查",
                   "铁路", "剧院", "水库", "合作社"),
        "actions": ("重新开放", "扩建", "投票", "推迟", "庆祝", "修缮", "资助", "研究"),
        "sentences": ("经过地区议会的长时间讨论，{place}的{topic}决定{action}。",
                      "{place}的居民希望进一步了解{topic}及其费用。",
                      "官员表示，{topic}将在春季{place}较为安静时再次审议。",
                      "对{place}的调查显示，{topic}得到广泛支持，但仍有一些保留意见。",
                      "来自{place}的志愿者整个周末都在协助{topic}。"),
        "title": "{place}{topic}{action}：第{number}号报道",
    },
    "ko": {
        "places": ("항구", "계곡", "섬", "채석장", "과수원", "둑길", "등대", "하구", "황야", "마을", "시장", "강", "나루터",
                   "부두", "초원", "빙하"),
        "topics": ("예산", "시간표", "축제", "선거", "도서관", "박물관", "병원", "학교", "다리", "수확", "폭풍", "인구조사",
                   "철도", "극장", "저수지", "협동조합"),
        "actions": ("재개", "확장", "표결", "연기", "기념", "보수", "지원", "연구"),
        "sentences": ("지역 의회의 오랜 논의 끝에 {place}의 {topic} {action} 방침이 결정되었다.",
                      "{place} 주민들은 {topic} 계획과 그 비용에 대해 더 많은 정보를 요청했다.",
                      "관계자들은 {place} 일대가 한산해지는 봄에 {topic} 문제를 다시 검토하겠다고 밝혔다.",
                      "{place}에서 실시한 조사에서 {topic}에 대한 폭넓은 지지가 확인되었지만 우려도 남았다.",
                      "{place}의 자원봉사자들이 주말 내내 {topic} 준비를 도왔다."),
        "title": "{place}의 {topic}, {action} 결정: 보도 {number}",
    },
}
ENGLISH = {"places": PLACES, "topics": TOPICS, "actions": ACTIONS, "sentences": SENTENCES}

GOALS = {"home": ("ratio", 0.5), "article": ("ratio", 0.5), "feed.xml": ("ratio", 0.8)}
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY_ROUTES = ("home", "article", "feed.xml")
SEARCH_P99_MS = 50.0
SCALE_LIMIT = 1.5


# ---------------------------------------------------------------- synthetic data


def language_of(number: int) -> str:
    """The language of synthetic item `number`."""
    return {7: "ja", 8: "zh", 9: "ko"}.get(number % 10, "en")


def paragraphs(language: str = "en") -> list[tuple[str, str]]:
    """(sanitized HTML, plain text) of the paragraph pool that articles in a language are assembled from."""
    vocabulary = CJK.get(language, ENGLISH)
    places, topics, actions = vocabulary["places"], vocabulary["topics"], vocabulary["actions"]
    pool = []
    for number in range(40):
        words = {"place": places[number % len(places)], "topic": topics[(number * 7) % len(topics)],
                 "action": actions[(number * 3) % len(actions)]}
        picked = vocabulary["sentences"][number % 3:number % 3 + 3]
        # Chinese and Japanese leave no space between sentences
        text = ("" if language in ("ja", "zh") else " ").join(sentence.format(**words) for sentence in picked)
        if number % 5 == 0:
            text += (' See the <a href="https://bench.example/background">background</a>. '
                     f'<img src="https://bench.example/img/{number}.jpg" alt="The {words["place"]}" '
                     'width="640" height="360">')
        cleaned = sanitizer.sanitize_html(f"<p>{text}</p>", "https://bench.example/news/")
        pool.append((cleaned.html, feeds.plain_text(cleaned.html)))
    return pool


def item_title(number: int) -> str:
    """A varied headline, in the item's language."""
    language = language_of(number)
    if language in CJK:
        vocabulary = CJK[language]
        return vocabulary["title"].format(place=vocabulary["places"][(number // 16) % 16],
                                          topic=vocabulary["topics"][number % 16],
                                          action=vocabulary["actions"][(number // 256) % 8], number=number)
    return (f"{TOPICS[number % 16].capitalize()} at the {PLACES[(number // 16) % 16]} "
            f"{ACTIONS[(number // 256) % 8]}: report {number}")


def iso(seconds: int) -> str:
    """An ISO 8601 UTC timestamp (sortable as text, like the site's own)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))


def item_rows(number: int, pools: dict[str, list], license_entry: dict) -> tuple[tuple, tuple, tuple, tuple]:
    """The items, item_revisions, public_text and search_index rows of synthetic item `number`."""
    language = language_of(number)
    pool = pools[language]
    picked = [pool[(number * 7 + offset * 13) % len(pool)] for offset in range(3)]
    html = "\n".join(part[0] for part in picked)
    text = " ".join(part[1] for part in picked)
    title = item_title(number)
    source_id = number % SOURCES + 1
    url = f"https://source{source_id}.bench.example/news/{number}"
    moment = iso(BASE_TIME + number)
    credit = attribution.build_attribution(
        title=title, original_url=url, creators=[f"Reporter {number % 37}"], publisher=f"Bench Agency {source_id}",
        source_name=f"Bench Agency {source_id}", source_url=f"https://source{source_id}.bench.example/",
        copyright_notice=None, license_notice=None, disclaimer=None, license_id=LICENSE,
        license_name=license_entry["name"], license_url=license_entry["url"], changes={"links_rewritten": 2})
    evidence = json.dumps({"level": 5, "license": LICENSE, "match": "editor", "source_url": url})
    decision = json.dumps({"allowed": True, "license": LICENSE, "reason": None})
    item = (number, source_id, f"guid:{url}", url, url, slugify(title), title,
            json.dumps([f"Reporter {number % 37}"]), "[]", "[]", language, moment, moment, f"h{number}",
            "published", LICENSE, evidence, number, number, moment, moment, moment, moment)
    revision = (number, number, 1, f"h{number}", moment, "{}", title, html, json.dumps({"links_rewritten": 2}),
                LICENSE, evidence, decision, json.dumps(credit))
    search_row = (number, storage.search_index_text(title), storage.search_index_text(text))
    return item, revision, (number, number, feeds.excerpt(text)), search_row


ITEM_COLUMNS = ("id, source_id, identity, guid, url, slug, title, authors, categories, enclosures, language, "
                "published_at, updated_at, entry_hash, status, license, license_evidence, current_revision_id, "
                "approved_revision_id, first_seen_at, last_seen_at, status_changed_at, published_order")
REVISION_COLUMNS = ("id, item_id, number, entry_hash, fetched_at, raw, title, content_html, changes, license, "
                    "license_evidence, decision, attribution")


def bulk_load(path: Path, count: int) -> None:
    """Fill a migrated database with `count` published items, fast.

    Benchmark data only: this writes the tables with sqlite3 directly, with the public-site triggers
    dropped while loading, then fills what they would have kept (status counts, search index, excerpts)
    and puts the triggers back from storage's own definitions. The product never writes this way.
    """
    db = storage.connect(str(path))
    storage.migrate(db)
    for index in range(1, SOURCES + 1):
        storage.add_source(db, f"https://source{index}.bench.example/feed.xml", name=f"Bench Agency {index}",
                           license=LICENSE, evidence="Site footer: licensed under CC BY 4.0")
    db.conn.close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    # a half-built file is thrown away, so neither a journal nor syncing is needed
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    pools = {language: paragraphs(language) for language in ("en", *CJK)}
    license_entry = licenses.get_license(LICENSE)
    for start in range(1, count + 1, BATCH):
        numbers = range(start, min(start + BATCH, count + 1))
        insert_batch(conn, [item_rows(number, pools, license_entry) for number in numbers])
        print(f"  loaded {numbers[-1]:,} / {count:,} items", file=sys.stderr, flush=True)
    finish_load(conn)
    conn.close()


def insert_batch(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """One transaction of items with their revision, excerpt and search row."""
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO items ({ITEM_COLUMNS}) VALUES ({', '.join('?' * 23)})", [r[0] for r in rows])
    conn.executemany(f"INSERT INTO item_revisions ({REVISION_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                     [r[1] for r in rows])
    conn.executemany("INSERT INTO public_text (item_id, revision_id, excerpt) VALUES (?, ?, ?)",
                     [r[2] for r in rows])
    conn.executemany("INSERT INTO search_index (rowid, title, body) VALUES (?, ?, ?)", [r[3] for r in rows])
    conn.execute("COMMIT")


def finish_load(conn: sqlite3.Connection) -> None:
    """What the triggers would have kept, the triggers themselves, and WAL as the site runs it."""
    conn.execute("DELETE FROM status_counts")
    conn.execute("INSERT INTO status_counts (status, n) SELECT status, count(*) FROM items GROUP BY status")
    conn.execute("DELETE FROM public_index_queue")
    conn.execute("UPDATE site_state SET version = version + 1")
    for statement in storage.public_site_triggers():
        conn.execute(statement)
    conn.execute("PRAGMA journal_mode = WAL")


def database_for(count: int, cache_dir: Path) -> Path:
    """The cached database of `count` items, built first if missing."""
    path = cache_dir / f"serve-v{DATA_FORMAT}-{count}.sqlite"
    if path.exists() and not has_pending_migrations(path):
        return path
    if path.exists():  # loaded with direct SQL for an older schema: built again rather than migrated
        print(f"{path.name} predates the current schema; building it again", file=sys.stderr, flush=True)
        path.unlink()
    partial = path.with_suffix(".partial")
    for leftover in cache_dir.glob(partial.name + "*"):
        leftover.unlink()
    print(f"building a database of {count:,} items (cached for later runs) ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    bulk_load(partial, count)
    partial.rename(path)
    print(f"  built in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return path


def has_pending_migrations(path: Path) -> bool:
    """Whether a cached database lacks migrations the code has (read-only: the cache is not touched)."""
    db = storage.connect_readonly(str(path))
    try:
        return bool(list(storage.migrations.pending(db)))
    finally:
        db.conn.close()


# ---------------------------------------------------------------- the server process


def serve_forever(database: str, threads: int) -> None:
    """Child process: the app plus /_bench/static under waitress on a free port of 127.0.0.1."""
    import logging

    from flask import Response
    from waitress.server import create_server

    from republisher import create_app
    from republisher.serve import prepare_database

    logging.getLogger("waitress").setLevel(logging.ERROR)
    holder = {}
    server = create_server(lambda environ, start: holder["app"](environ, start), host="127.0.0.1", port=0,
                           threads=threads, ident="republisher")
    app = create_app({"DATABASE": database, "SITE_URL": f"http://127.0.0.1:{server.effective_port}",
                      "SECRET_KEY": "bench"})
    app.add_url_rule("/_bench/static", "bench_static",
                     lambda: Response(STATIC_BODY, mimetype="text/html"))
    with app.app_context():
        prepare_database()
    holder["app"] = app
    print(f"PORT {server.effective_port}", flush=True)
    server.run()


class Server:
    """The benchmark's server subprocess."""

    def __init__(self, database: Path, threads: int):
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(database), "--threads", str(threads)],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}")
        self.port = int(line.split()[1])

    def close(self) -> None:
        """Stop the server."""
        self.process.terminate()
        self.process.wait(timeout=10)


# ---------------------------------------------------------------- the load generator


@dataclass
class Result:
    """What one route measured."""

    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    bytes: int = 0
    gzipped: int = 0

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """A latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def load(port: int, paths: list[str], connections: int, requests: int, seconds: float,
         headers: dict[str, str]) -> Result:
    """Send up to `requests` GETs (cycling through paths) over keep-alive connections, within `seconds`."""
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    received = [0] * connections
    gzipped = [0] * connections

    def worker(slot: int) -> None:
        """One keep-alive connection sending requests until the count or the time is used up."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            number = next(counter)
            if number >= requests or time.perf_counter() > deadline:
                break
            path = paths[number % len(paths)]
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                # read, never decompress: the bytes on the wire are what the server sends
                received[slot] += len(response.read())
                gzipped[slot] += response.getheader("Content-Encoding") == "gzip"
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            latencies[slot].append(time.perf_counter() - started)
            if not ok:
                errors[slot] += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [value for chunk in latencies for value in chunk]
    return Result(len(flat), elapsed, flat, sum(errors), sum(received), sum(gzipped))


# ---------------------------------------------------------------- routes and report


def distinct_queries(count: int, rng: random.Random) -> list[str]:
    """Distinct search queries: every word and pair of words of the vocabulary, then triples."""
    vocabulary = PLACES + TOPICS
    queries = list(vocabulary) + [" ".join(pair) for pair in itertools.permutations(vocabulary, 2)]
    triples = itertools.permutations(vocabulary, 3)
    while len(queries) < count:
        queries.append(" ".join(next(triples)))
    rng.shuffle(queries)
    return queries[:count]


def distinct_cjk_queries(count: int, rng: random.Random) -> list[str]:
    """Distinct Chinese, Japanese and Korean queries: every word, each one's first character, then pairs."""
    words = {language: vocabulary["places"] + vocabulary["topics"] + vocabulary["actions"]
             for language, vocabulary in CJK.items()}
    queries = list(dict.fromkeys(word for group in words.values() for word in (*group, *(w[0] for w in group))))
    pairs = [" ".join(pair) for group in words.values() for pair in itertools.permutations(group, 2)]
    rng.shuffle(pairs)
    queries += pairs[:max(0, count - len(queries))]
    rng.shuffle(queries)
    return queries[:count]


def distinct_prefix_queries(count: int, rng: random.Random) -> list[str]:
    """Distinct queries of word beginnings (three letters or more, never the whole word): one, then two."""
    beginnings = [word[:length] for word in PLACES + TOPICS for length in range(3, len(word))]
    queries = list(dict.fromkeys(beginnings))
    pairs = list(dict.fromkeys(" ".join(pair) for pair in itertools.permutations(queries, 2)))
    rng.shuffle(pairs)
    queries += pairs[:max(0, count - len(queries))]
    rng.shuffle(queries)
    return queries[:count]


def route_paths(count: int, requests: int) -> dict[str, tuple[list[str], bool, dict]]:
    """Per route: the URL paths it cycles through, whether each request must miss the page cache, headers."""
    from republisher.site import item_slug

    def article(number: int) -> str:
        """The canonical path of a synthetic article."""
        return f"/articles/{number}/{item_slug(item_title(number))}"

    rng = random.Random(count)
    wanted = requests + WARMUP
    routes = {
        "ceiling": (["/_bench/static"], False, GZIP),
        "home": (["/"], False, GZIP),
        "article": ([article(n) for n in range(count, max(0, count - HOT_ARTICLES), -1)], False, GZIP),
        "article (random)": ([article(n) for n in rng.sample(range(1, count + 1), min(count, wanted))], True, GZIP),
        "search": ([f"/search?q={quote(query)}" for query in distinct_queries(wanted, rng)], True, GZIP),
        "search (CJK)": ([f"/search?q={quote(query)}" for query in distinct_cjk_queries(wanted, rng)], True, GZIP),
        "search (prefix)": ([f"/search?q={quote(query)}" for query in distinct_prefix_queries(wanted, rng)], True,
                            GZIP),
        "feed.xml": (["/feed.xml"], False, GZIP),
    }
    routes.update({f"{name} (identity)": (routes[name][0], False, {}) for name in IDENTITY_ROUTES})
    return routes


def phases(paths: list[str], cold: bool, latency_requests: int) -> tuple[list, list, list]:
    """Warm-up, throughput and latency paths; a cold route's three sets are disjoint, so nothing is cached."""
    if not cold:
        return paths, paths, paths
    warm, latency = min(WARMUP, len(paths) // 5), min(latency_requests, len(paths) // 5)
    return paths[:warm], paths[warm:len(paths) - latency], paths[len(paths) - latency:]


@dataclass
class Measured:
    """A route's throughput under concurrent load and its latency one request at a time."""

    loaded: Result
    single: Result


def measure(database: Path, count: int, args) -> dict[str, Measured]:
    """Every route at one database size; the ceiling is measured first and last, and pooled."""
    server = Server(database, args.threads)
    try:
        results = {}
        routes = route_paths(count, args.requests + args.latency_requests)
        chosen = [route for route in routes if route == "ceiling" or route.startswith(tuple(args.routes))]
        for route in [*chosen, "ceiling (again)"]:
            paths, cold, headers = routes[route.removesuffix(" (again)")]
            warmup, throughput, latency = phases(paths, cold, args.latency_requests)
            load(server.port, warmup, args.connections, WARMUP, args.seconds, headers)
            # a cold route's lists hold exactly the distinct paths to send; a hot route cycles through its own
            loaded = load(server.port, throughput, args.connections,
                          min(args.requests, len(throughput)) if cold else args.requests, args.seconds, headers)
            single = load(server.port, latency, 1,
                          min(args.latency_requests, len(latency)) if cold else args.latency_requests, args.seconds,
                          headers)
            results[route] = Measured(loaded, single)
        first, last = results.pop("ceiling"), results.pop("ceiling (again)")
        return {"ceiling": Measured(pooled(first.loaded, last.loaded), pooled(first.single, last.single)),
                **results}
    finally:
        server.close()


def pooled(first: Result, second: Result) -> Result:
    """Two measurements of the same route as one."""
    return Result(first.requests + second.requests, first.seconds + second.seconds,
                  first.latencies + second.latencies, first.errors + second.errors, first.bytes + second.bytes,
                  first.gzipped + second.gzipped)


def verdict(route: str, result: Measured, ceiling: Measured, count: int) -> str:
    """The goal of a route and whether this run met it."""
    if route in GOALS:
        _, wanted = GOALS[route]
        ratio = result.loaded.rps / ceiling.loaded.rps
        return f">= {wanted:.1f}x ceiling: {'met' if ratio >= wanted else 'MISSED'}"
    if route.startswith("search") and count >= 1_000_000:
        p99 = result.single.percentile(0.99)
        return f"p99 < {SEARCH_P99_MS:.0f} ms: {'met' if p99 < SEARCH_P99_MS else 'MISSED'}"
    return ""


def search_work(databases: dict[int, Path], args) -> None:
    """The latency phase's search queries run on storage alone: CPU time, stops and cards per page."""
    from republisher.site import PAGE_SIZE, search_terms

    print("\nsearch alone, in this process, the latency phase's queries: CPU time of the thread, searches the "
          "work limit stopped, cards on the first page")
    for count, path in databases.items():
        db = storage.connect(str(path))
        for route, (paths, cold, _) in route_paths(count, args.requests + args.latency_requests).items():
            if not route.startswith("search") or not route.startswith(tuple(args.routes)):
                continue
            times, stopped, cards = [], 0, 0
            for query_path in phases(paths, cold, args.latency_requests)[2]:
                match = storage.search_match(search_terms(parse_qs(urlsplit(query_path).query)["q"][0]))
                started = time.thread_time()
                rows, finished = storage.public_search_bounded(db, match, limit=PAGE_SIZE + 1)
                times.append(time.thread_time() - started)
                stopped += not finished
                cards += min(len(rows), PAGE_SIZE)
            work = Result(len(times), sum(times), times, 0)
            print(f"{count:>10,}  {route:<21} p50 {work.percentile(0.5):.2f} ms  p99 {work.percentile(0.99):.2f} ms  "
                  f"stopped {stopped} of {len(times)}  cards {cards / max(1, len(times)):.1f}")
        db.conn.close()


def report(all_results: dict[int, dict[str, Measured]], args) -> None:
    """Print the figures, ratios and goals."""
    print(f"republisher under waitress ({args.threads} threads) on 127.0.0.1, one run. req/s: {args.connections} "
          f"keep-alive connections, up to {args.requests} requests per route; latency: one connection, "
          f"up to {args.latency_requests} requests; p99 loaded: at {args.connections} connections; "
          f"each after a warm-up; every request sends Accept-Encoding: gzip but the (identity) rows; "
          f"KB: on the wire, gz: share of responses in gzip")
    print(f"{'items':>10}  {'route':<21}{'KB':>5}{'gz':>5}{'req/s':>7}{'vs ceiling':>11}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'p99 loaded':>11}  goal")
    for count, results in all_results.items():
        ceiling = results["ceiling"]
        for route, result in results.items():
            errors = result.loaded.errors + result.single.errors
            size = result.loaded.bytes / max(1, result.loaded.requests) / 1024
            share = 100 * result.loaded.gzipped / max(1, result.loaded.requests)
            print(f"{count:>10,}  {route:<21}{size:>5.0f}{share:>4.0f}%{result.loaded.rps:>7.0f}"
                  f"{result.loaded.rps / ceiling.loaded.rps:>10.2f}x{result.single.percentile(0.5):>8.1f}"
                  f"{result.single.percentile(0.99):>8.1f}{result.loaded.percentile(0.99):>11.1f}  "
                  f"{verdict(route, result, ceiling, count)}" + (f"  ({errors} errors)" if errors else ""))
    sizes = sorted(all_results)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"\n{large:,} vs {small:,} items (goal: no route slower than {SCALE_LIMIT}x; throughput as a share "
              f"of each size's ceiling, p99 one request at a time)")
        for route in all_results[large]:
            if route == "ceiling":
                continue
            a, b = all_results[small][route], all_results[large][route]
            share = ((a.loaded.rps / all_results[small]["ceiling"].loaded.rps)
                     / (b.loaded.rps / all_results[large]["ceiling"].loaded.rps))
            before, after = a.single.percentile(0.99), b.single.percentile(0.99)
            met = "met" if share <= SCALE_LIMIT and after / before <= SCALE_LIMIT else "MISSED"
            print(f"  {route:<21} throughput {share:.2f}x slower, p99 {before:.1f} -> {after:.1f} ms "
                  f"({after / before:.2f}x): {met}")


def main() -> None:
    """Parse arguments; either serve (child) or build, measure and report (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000], help="published items")
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per route")
    parser.add_argument("--latency-requests", type=int, default=500, help="requests one at a time per route")
    parser.add_argument("--seconds", type=float, default=10.0, help="time cap per route and phase")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--routes", nargs="+", default=[""], metavar="START",
                        help="measure only the routes whose names start so (the ceiling always)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "republisher-bench")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(args.serve, args.threads)
        return
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    databases = {count: database_for(count, args.cache_dir) for count in args.sizes}
    report({count: measure(path, count, args) for count, path in databases.items()}, args)
    search_work(databases, args)


if __name__ == "__main__":
    main()
