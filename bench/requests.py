"""The worst requests a stranger can send, timed against an ordinary page: the bound per request.

Run: python bench/requests.py [--sources N] [--items N] [--rounds N]

A database of --sources sources x --items published items (fetched from the load bench's feed server
on 127.0.0.1, the way the service fetches) is read through the app's WSGI interface, with nothing cached: each request is
sent once per round with a fresh site version, so every page is rendered anew. Each hostile request is
reported with its status, its slowest time over the rounds, and that time over the slowest time of the
home page in the same rounds. The hostile requests are those the bad-request tests send, at the sizes
the site still accepts.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from load import WORDS, start_feed_server  # noqa: E402  (bench/ is the script's own folder)
from republisher import create_app, ingest, storage  # noqa: E402

def build(database: str, sources: int, items: int):
    """The app over a database of `sources` x `items` published items, fetched from the load bench's feed server."""
    feed_server, feeds = start_feed_server(items)
    try:
        app = create_app({"DATABASE": database, "ALLOW_PRIVATE_ADDRESSES": True, "SITE_URL": "http://127.0.0.1",
                          "SECRET_KEY": "bench", "FETCH_PER_HOST": 8})
        db = storage.connect(database)
        storage.migrate(db)
        for number in range(sources):
            storage.add_source(db, f"{feeds}/feeds/{number}.xml", name=f"Source {number}", auto_approve=True)
        config = ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"])
        ingest.refresh_many(storage.list_sources(db), config)
    finally:
        feed_server.terminate()
        feed_server.wait(timeout=10)
    return app, db


def hostile_requests(db) -> dict[str, str]:
    """What a stranger may send, by name: the largest of each kind the site still answers."""
    item = next(iter(storage.list_items(db, status="published")))
    slug = storage.list_sources(db)[0]["slug"]
    syntax = " ".join(['"a', "*", "NEAR(", "title:x", "AND OR", "-", "(((("] * 60)
    return {
        "home page (the baseline)": "/",
        "an article": f"/articles/{item['id']}",
        "search, one common word": "/search?q=" + WORDS[0],
        "search, 200 words (the longest query read)": "/search?q=" + quote(" ".join(WORDS * 20)),
        "search, 10 KB of FTS5 syntax": "/search?q=" + quote(syntax[:10_000]),
        "search, 10 KB of one letter and a star": "/search?q=" + quote("a* " * 3_300),
        "search, 10 KB of CJK": "/search?q=" + quote("東京都港区" * 2_000),
        "search, a bad cursor": "/search?q=ferry&before=" + "A" * 4_000,
        "home page, a bad cursor": "/?before=" + "A" * 4_000,
        "an id past SQLite's range": "/articles/" + "9" * 30,
        "a sitemap past the end": "/sitemaps/articles-99999.xml",
        "the sources list": "/sources/",
        "a source's page": f"/sources/{slug}",
        "a source's feed": f"/sources/{slug}/feed.xml",
        "the site feed (RSS)": "/feed.xml",
        "the site feed (JSON)": "/feed.json",
        "the sitemap index": "/sitemap.xml",
        "99 parameters (the most read)": "/?" + "&".join(f"k{n}=v" for n in range(99)),
        "14,000 parameters (refused unread)": "/?" + "&".join(f"k{n}=v" for n in range(14_000)),
        "a 128 KB path": "/articles/" + "9" * 130_000,
        "a repeated parameter": "/search?q=a&q=b",
        "invalid UTF-8 in the query": "/search?q=%ff%fe",
        "the health check": "/healthz",
    }


def measure(app, db, requests: dict[str, str], rounds: int) -> dict[str, tuple[int, float]]:
    """Slowest time and status of each request over the rounds, each round on a new site version."""
    client = app.test_client()
    slowest: dict[str, tuple[int, float]] = {}
    for _ in range(rounds):
        with storage.transaction(db):  # every page and feed is rendered anew in this round
            db.execute("UPDATE site_state SET version = version + 1")
        for name, path in requests.items():
            started = time.perf_counter()
            response = client.get(path, follow_redirects=True)  # an article's short address leads to its page
            response.get_data()
            took = time.perf_counter() - started
            status, before = slowest.get(name, (response.status_code, 0.0))
            slowest[name] = (response.status_code, max(before, took))
    return slowest


def main() -> None:
    """Build, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app, db = build(str(Path(folder) / "bench.sqlite"), args.sources, args.items)
        published = len(storage.list_items(db, status="published"))
        slowest = measure(app, db, hostile_requests(db), args.rounds)
    baseline = slowest["home page (the baseline)"][1]
    print(f"{published} published items, {args.sources} sources; slowest of {args.rounds} rounds, nothing cached")
    print(f"{'request':<46} {'status':>6} {'ms':>9} {'x home':>8}")
    for name, (status, took) in slowest.items():
        print(f"{name:<46} {status:>6} {took * 1000:>9.1f} {took / baseline:>7.2f}x")
    worst = max((took, name) for name, (_, took) in slowest.items())
    print(f"worst: {worst[1]}, {worst[0] * 1000:.1f} ms, {worst[0] / baseline:.2f}x the home page")


if __name__ == "__main__":
    main()
