"""Static export at 100,000 items: full and incremental export time, and the export served by nginx.

Run: python bench/export.py [--items 100000] [--seconds 5] [--connections 8] [--threads 2] [--cache-dir DIR]

The database is bench/serve.py's (built once with direct SQL and cached in --cache-dir), copied so the
change below does not touch the cached file. Then:

1. a full export into a fresh directory;
2. a rerun with no change;
3. one change, the withdrawal of the newest item (the usual takedown: its page of each listing it was
   in changes, and rarely the one or two after it, since the items decide where pages end), and an
   incremental export;
4. nginx (Debian's, a config of our own, in the foreground, no daemon) on a free port of 127.0.0.1
   serving the export, against the same nginx serving one fixed 10 KB file: the ceiling. wrk, on
   127.0.0.1, measures each route for --seconds; the ceiling is measured first and last and averaged;
5. the live app under waitress (bench/serve.py's server process) behind the same nginx with
   proxy_cache, against the same ceiling.

Every request says "Accept-Encoding: gzip", as browsers and feed readers do, the ceiling's too. nginx
has `gzip_static on` (it sends the export's FILE.gz copies) and `gzip off` (nothing is compressed on the
fly); the ceiling's file has no .gz copy, so it stays nginx sending a fixed 10 KB body. The live app
answers with the gzip copy it cached, and nginx's proxy cache keeps that variant (the app sends
`Vary: Accept-Encoding`). Each row shows the bytes per response on the wire (headers included) and the
transfer rate, and compares the route with a fixed file of its own body size as well.

Every figure is reported as a ratio against this run's ceiling, since the machine is shared.
"""

import argparse
import gzip
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from republisher import create_app, export, storage, workflow  # noqa: E402

import serve as serve_bench  # noqa: E402

FIXED_BODY = ("0123456789abcdef" * 640).encode()  # 10,240 bytes, as bench/serve.py's ceiling
STATIC_GOAL = 0.8
RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
TRANSFER = re.compile(r"Transfer/sec:\s+([\d.]+)(\w+)")
READ = re.compile(r"^bytes read: (\d+) in (\d+) responses$", re.MULTILINE)
GZIP = {"Accept-Encoding": "gzip"}


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(label: str, action):
    """Run an action, print and return its result and seconds."""
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    print(f"  {label}: {seconds:.1f} s", file=sys.stderr, flush=True)
    return result, seconds


def nginx_config(work: Path, site_root: Path, fixed_root: Path, static_port: int, proxy_port: int,
                 app_port: int) -> Path:
    """An nginx configuration of our own: the export and the fixed file on one port, the proxied app on another."""
    config = work / "nginx.conf"
    config.write_text(f"""
daemon off;
master_process on;
# as a production server has it; the ceiling runs under the same workers
worker_processes auto;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    # no tcp_nopush: with it, a large response from the proxy cache waited ~33 ms per request for an ACK
    keepalive_requests 100000;
    # names resolve again every 2 s: a switched build is seen within 2 s, and the replaced one is kept far longer
    open_file_cache max=20000 inactive=60s;
    open_file_cache_valid 2s;
    # gzip_static looks for FILE.gz on every request: without this, a file that has none (the ceiling's)
    # pays an open() that fails, per request
    open_file_cache_errors on;
    gzip off;
    gzip_static on;
    client_body_temp_path {work}/client-body;
    proxy_temp_path {work}/proxy-temp;
    fastcgi_temp_path {work}/fastcgi-temp;
    uwsgi_temp_path {work}/uwsgi-temp;
    scgi_temp_path {work}/scgi-temp;
    proxy_cache_path {work}/proxy-cache keys_zone=site:10m max_size=1g inactive=10m;
    map_hash_max_size 262144;
    map $uri $republisher_article {{ ~^/articles/(?<id>[0-9]+)(?:/|$) $id; default ""; }}
    map $republisher_article $republisher_gone {{ default 0; include {site_root}/_gone.nginx.map; }}
    server {{
        listen 127.0.0.1:{static_port};
        root {site_root};
        error_page 404 /404.html;
        location /_bench/ {{ root {fixed_root}; }}
        location / {{
            error_page 410 @withdrawn;
            if ($republisher_gone) {{ return 410; }}
            # a page's file first: `$uri` first would match its directory and cost an internal redirect
            try_files $uri/index.html $uri =404;
        }}
        location @withdrawn {{ try_files $uri/index.html $uri =410; }}
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache site;
            proxy_cache_lock on;
            proxy_cache_valid 200 301 410 5m;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
""")
    return config


def check(port: int, path: str) -> dict:
    """Stop the run when a measured path does not answer 200: a rate of errors would measure nothing.

    Returns what a gzip client gets: the cache status, the body's size on the wire and its encoding.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=GZIP)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path} on port {port} answered {response.status}: {body[:300]!r}")
    return {"cache": response.getheader("X-Cache") or "", "size": len(body),
            "encoding": response.getheader("Content-Encoding") or "identity"}


def wrk(port: int, paths: list[str], seconds: float, connections: int, threads: int, work: Path) -> dict:
    """Requests per second of wrk on 127.0.0.1 over the given paths, chosen at random per request."""
    for path in paths[:3]:
        check(port, path)
    script = work / "paths.lua"
    listed = ", ".join('"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"' for path in paths)
    # wrk.format(nil, path) sends wrk.headers, which hold the -H header below
    script.write_text(f"local paths = {{{listed}}}\n"
                      "request = function() return wrk.format(nil, paths[math.random(#paths)]) end\n"
                      "done = function(summary) io.write(string.format('bytes read: %d in %d responses\\n', "
                      "summary.bytes, summary.requests)) end\n")
    output = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(seconds)}s",
                             "-H", "Accept-Encoding: gzip", "-s", str(script), f"http://127.0.0.1:{port}/"],
                            capture_output=True, text=True, check=True).stdout
    errors = NON_2XX.search(output)
    rate = TRANSFER.search(output)
    read, responses = (int(number) for number in READ.search(output).groups())
    return {"rps": float(RPS.search(output).group(1)), "errors": int(errors.group(1)) if errors else 0,
            "transfer": f"{rate.group(1)}{rate.group(2)}/s" if rate else "?",
            "per response": read / max(1, responses)}


def wait_for(port: int) -> None:
    """Until something answers on a port of 127.0.0.1."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


def routes(app, count: int) -> dict[str, list[str]]:
    """The measured paths of the export: home, the 50 newest articles, any article, the RSS feed."""
    db = storage.connect(app.config["DATABASE"])
    newest = storage.public_items(db, limit=50)
    rng = random.Random(7)
    anywhere = [storage.public_article(db, rng.randint(1, count)) for _ in range(500)]
    db.conn.close()
    address = lambda row: export.article_address(row["id"], row["title"])  # noqa: E731
    return {"home": ["/"], "article (50 newest)": [address(row) + "/" for row in newest],
            "article (random)": [address(row) + "/" for row in anywhere if row and row["status"] == "published"],
            "feed.xml": ["/feed.xml"]}


def live_path(path: str) -> str:
    """The live site's address of an exported page (the export adds a closing '/' to pages)."""
    return path if path == "/" or "." in path.rsplit("/", 1)[-1] else path.rstrip("/")


def status_of(port: int, path: str) -> str:
    """The status nginx answers a gzip client with at a path, and whether the body is the withdrawal notice."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=GZIP)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    notice = "the withdrawal notice" if b"This article has been withdrawn" in body else "another page"
    return f"{response.status} with {notice}, {response.getheader('Content-Encoding') or 'identity'}"


def measure_serving(app, database: Path, work: Path, site_root: Path, gone: str, args) -> None:
    """nginx serving the export and proxying the live app, each route against nginx serving one fixed file."""
    fixed_root = work / "fixed"
    (fixed_root / "_bench").mkdir(parents=True)
    (fixed_root / "_bench" / "fixed.html").write_bytes(FIXED_BODY)
    server = serve_bench.Server(database, 8)
    static_port, proxy_port = free_port(), free_port()
    config = nginx_config(work, site_root, fixed_root, static_port, proxy_port, server.port)
    startup_log = open(work / "nginx-stderr.log", "w")  # a refused configuration is said there, not in error_log
    nginx = subprocess.Popen(["nginx", "-c", str(config), "-p", str(work)], stderr=startup_log)
    try:
        wait_for(static_port)
        wait_for(proxy_port)
        measured = routes(app, args.items)
        print(f"the withdrawn article on nginx, through _gone.nginx.map: {gone} answers {status_of(static_port, gone)}")
        run = lambda port, paths: wrk(port, paths, args.seconds, args.connections, args.threads, work)  # noqa: E731
        first = run(static_port, ["/_bench/fixed.html"])
        rows = []
        for name, paths in measured.items():
            result = run(static_port, paths)
            result.update(check(static_port, paths[0]))
            # a fixed file of the body size this route sends (its gzip copy's), without a .gz of its own
            (fixed_root / "_bench" / f"fixed-{result['size']}.html").write_bytes(b"x" * result["size"])
            result["same size"] = run(static_port, [f"/_bench/fixed-{result['size']}.html"])["rps"]
            rows.append(("nginx: export", name, result))
        for name, paths in measured.items():
            live = [live_path(path) for path in paths]
            run(proxy_port, live)  # fills the proxy cache; not counted
            result = run(proxy_port, live)
            result.update(check(proxy_port, live[0]))
            rows.append(("nginx proxy_cache: live app", name, result))
        last = run(static_port, ["/_bench/fixed.html"])
        ceiling = (first["rps"] + last["rps"]) / 2
        print(f"\nceiling: nginx serving one fixed 10 KB file (no .gz copy, sent as is): {first['rps']:.0f} and "
              f"{last['rps']:.0f} req/s (first and last), {ceiling:.0f} on average, {first['per response']:.0f} "
              f"bytes per response, {first['transfer']}; wrk -t{args.threads} -c{args.connections} "
              f"-d{args.seconds}s, Accept-Encoding: gzip; load average {os.getloadavg()[0]:.1f}")
        print(f"{'served by':28} {'route':20} {'sent as':8} {'body KB':>7} {'B/resp':>7} {'transfer':>10} "
              f"{'req/s':>7} {'vs ceiling':>10} {'errors':>6}  goal")
        for served, name, result in rows:
            ratio = result["rps"] / ceiling
            if served == "nginx: export":
                goal = (f">= {STATIC_GOAL}x ceiling: {'met' if ratio >= STATIC_GOAL else 'MISSED'}; "
                        f"{result['rps'] / result['same size']:.2f}x a fixed file of its size")
            else:
                goal = f"proxy cache: {result['cache']}"
            print(f"{served:28} {name:20} {result['encoding']:8} {result['size'] / 1024:7.1f} "
                  f"{result['per response']:7.0f} {result['transfer']:>10} {result['rps']:7.0f} {ratio:9.2f}x "
                  f"{result['errors']:6d}  {goal}")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        server.close()
        startup_log.close()
        log = "\n".join((work / name).read_text() for name in ("nginx-stderr.log", "nginx-error.log")
                        if (work / name).exists()).strip()
        if log:
            print("nginx's error log (last lines):\n" + "\n".join(log.splitlines()[-5:]), file=sys.stderr)


def main() -> None:
    """Build or reuse the database, export it, change it, export again, then serve it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="published items")
    parser.add_argument("--seconds", type=int, default=5, help="wrk's duration per route")
    parser.add_argument("--connections", type=int, default=8, help="wrk's concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "republisher-bench")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    cached = serve_bench.database_for(args.items, args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="republisher-export-bench-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)  # nginx's workers run as an unprivileged user and must read the export
        database = work / "site.sqlite"
        print("copying the database ...", file=sys.stderr, flush=True)
        shutil.copy(cached, database)
        app = create_app({"DATABASE": str(database), "SITE_URL": "http://127.0.0.1:8000", "SECRET_KEY": "bench"})
        out = work / "out"
        full, full_seconds = timed("full export", lambda: export.export_site(app, out))
        again, again_seconds = timed("rerun, no change", lambda: export.export_site(app, out))
        db = storage.connect(str(database))
        newest = storage.public_items(db, limit=1)[0]
        workflow.withdraw(db, newest["id"], reason="benchmark takedown")
        db.conn.close()
        step, step_seconds = timed("incremental export after one withdrawal", lambda: export.export_site(app, out))
        files = sum(1 for path in (out / "current").rglob("*") if path.is_file())
        print(f"\nexport of {args.items:,} published items: {files:,} files")
        print(f"{'export':42} {'seconds':>8} {'rendered':>9} {'written':>8} {'linked':>8} {'URLs':>6}")
        for label, report, seconds in (("full", full, full_seconds), ("rerun, no change", again, again_seconds),
                                       ("incremental, newest item withdrawn", step, step_seconds)):
            print(f"{label:42} {seconds:8.1f} {report.rendered:9,} {len(report.written):8,} "
                  f"{report.linked:8,} {len(report.changed_urls):6,}")
        print(f"incremental / full: {step_seconds / full_seconds:.3f}x")
        gone = export.article_address(newest["id"], newest["title"])
        measure_serving(app, database, work, out / "current", gone, args)


if __name__ == "__main__":
    main()
