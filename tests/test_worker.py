"""The fetcher: each source on its own clock, runaway sources stopped, the lease and claims, its log lines."""

import io
import json
import subprocess
import sys
import threading
import time

import pytest
from werkzeug import Response

from fetching import LICENSE, rss
from helpers import pipeline_config
from invariants import assert_invariants
from republisher import create_app, ingest, lease, logs, sandbox, storage, worker


@pytest.fixture
def fetcher_app(tmp_path):
    """An app whose sources may be fetched every second, with small budgets per source."""
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "worker.sqlite"), "ALLOW_PRIVATE_ADDRESSES": True,
                      "FETCH_MIN_INTERVAL": 1, "FETCH_DEADLINE": 4, "FETCH_READ_TIMEOUT": 2,
                      "FETCH_CPU_SECONDS": 2, "FETCH_SOURCE_DEADLINE": 20, "FETCH_WORKERS": 4,
                      "FETCH_PER_HOST": 4, "FETCH_LEASE_SECONDS": 3})
    connection = storage.connect(app.config["DATABASE"])
    storage.migrate(connection)
    sandbox.run(sum, ([1],), sandbox.Budget(5, 30))  # the forkserver starts once per process, before the clock runs
    yield app, connection
    connection.conn.close()


# about 7 MB of entries: more than 2 s of CPU to parse and sanitize, under the 10 MiB cap
HEAVY = rss(3000, "heavy", "<p>" + "Long paragraph of text with <b>markup</b> to read. " * 25 + "</p>")


def drip():
    """The head of a feed, then one byte every 0.3 s, for far longer than the fetch deadline."""
    yield b"<?xml version='1.0'?><rss version='2.0'><channel>"
    for _ in range(200):
        time.sleep(0.3)
        yield b" "


def hits_of(server, path: str) -> list:
    """The requests the server answered for a path."""
    return [request for request, _ in server.log if request.path == path]


def test_a_good_source_keeps_its_clock_beside_a_slow_and_a_runaway_one(fetcher_app, server):
    app, db = fetcher_app
    server.expect_request("/good").respond_with_data(rss(3, "good"), content_type="application/rss+xml")
    server.expect_request("/slow").respond_with_handler(lambda request: Response(drip(), content_type="application/rss+xml"))
    server.expect_request("/heavy").respond_with_data(HEAVY, content_type="application/rss+xml")
    ids = {name: storage.add_source(db, server.url_for(f"/{name}"), name=name, interval_seconds=1, **LICENSE)["id"]
           for name in ("slow", "heavy", "good")}

    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(pipeline_config(app), stop))
    started = time.monotonic()
    thread.start()
    try:
        # the machine may be busy: wait for both bad sources to end rather than for a fixed time
        while not (storage.fetch_log(db, ids["slow"]) and storage.fetch_log(db, ids["heavy"])):
            assert time.monotonic() - started < 90, "the slow and runaway sources never ended"
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        good = len(hits_of(server, "/good"))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert good >= max(4, elapsed / 2), f"the good source, due every second, was fetched {good} times in {elapsed:.1f} s"
    assert len(hits_of(server, "/slow")) == 1 and len(hits_of(server, "/heavy")) == 1
    [heavy_log] = storage.fetch_log(db, ids["heavy"])
    [slow_log] = storage.fetch_log(db, ids["slow"])
    assert "CPU" in heavy_log["error"] and "deadline" in slow_log["error"]
    for name in ("slow", "heavy"):
        source = storage.get_source(db, ids[name])
        assert source["error_count"] == 1 and source["next_fetch_at"] > storage.later(200), name
    assert storage.get_source(db, ids["good"])["last_error"] is None
    assert len(storage.list_items(db, source_id=ids["good"])) == 3
    assert_invariants(app.config["DATABASE"])
    assert_fetcher_settled(app.config["DATABASE"])


def test_a_runaway_source_is_stopped_when_fetched_from_the_command_line(fetcher_app, server):
    app, db = fetcher_app
    server.expect_request("/heavy").respond_with_data(HEAVY, content_type="application/rss+xml")
    source = storage.add_source(db, server.url_for("/heavy"), **LICENSE)
    started = time.monotonic()
    result = app.test_cli_runner().invoke(args=["fetch", "--source", str(source["id"])])
    assert time.monotonic() - started < 15
    assert result.exit_code == 1 and "used more than 2 s of CPU" in result.output


def holder_process() -> tuple[subprocess.Popen, str]:
    """A live process of its own and its holder id."""
    process = subprocess.Popen([sys.executable, "-c", "from republisher import lease; "
                                "print(lease.holder_id(), flush=True); import time; time.sleep(120)"],
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def test_the_lease_is_taken_over_at_once_from_a_dead_holder_and_never_from_a_live_one(fetcher_app):
    app, db = fetcher_app
    config = pipeline_config(app)
    process, other = holder_process()
    try:
        assert lease.is_alive(other)
        assert storage.take_lease(db, other, None, time.time() + 60)
        scheduler = worker.Scheduler(config, threading.Event())
        assert not scheduler.keep_lease(db)
        assert storage.fetch_lease(db)["holder"] == other
        process.kill()
        process.wait()
        assert not lease.is_alive(other)
        assert scheduler.keep_lease(db)  # the lease had 60 s left: a gone holder loses it at once
        assert storage.fetch_lease(db)["holder"] == lease.holder_id()
        assert not storage.renew_lease(db, other, time.time() + 60)
    finally:
        process.kill()
        process.wait()


def test_a_live_holder_that_stops_renewing_loses_the_lease_when_it_expires(fetcher_app):
    app, db = fetcher_app
    process, other = holder_process()
    try:
        assert storage.take_lease(db, other, None, time.time() + 1)
        scheduler = worker.Scheduler(pipeline_config(app), threading.Event())
        assert not scheduler.keep_lease(db)
        time.sleep(1.1)
        assert scheduler.keep_lease(db)
    finally:
        process.kill()
        process.wait()


def test_a_pid_given_to_another_process_is_not_the_holder():
    host, pid, start = lease.parse_holder(lease.holder_id())
    assert lease.is_alive(f"{host}:{pid}:{start}")
    assert not lease.is_alive(f"{host}:{pid}:{int(start) + 1}")
    assert not lease.is_alive("not a holder id")


def test_a_source_claimed_by_a_live_process_is_left_to_it_and_a_dead_ones_claim_is_void(fetcher_app, server):
    app, db = fetcher_app
    server.expect_request("/feed").respond_with_data(rss(2), content_type="application/rss+xml")
    source = storage.add_source(db, server.url_for("/feed"), **LICENSE)
    process, other = holder_process()
    try:
        assert storage.claim_source(db, source["id"], other, time.time() + 60)
        [report] = ingest.refresh_many([source], pipeline_config(app))
        assert report.outcome == "busy" and other in report.warning and not server.log
        process.kill()
        process.wait()
        [report] = ingest.refresh_many([source], pipeline_config(app))
        assert report.outcome == "ok" and report.new == 2
        assert storage.source_claim(db, source["id"])["claimed_by"] is None
    finally:
        process.kill()
        process.wait()


def test_a_source_fetched_meanwhile_is_not_fetched_again_as_due(fetcher_app, server):
    app, db = fetcher_app
    server.expect_request("/feed").respond_with_data(rss(2), content_type="application/rss+xml")
    source = storage.add_source(db, server.url_for("/feed"), **LICENSE)
    stale_list = storage.due_sources(db)
    ingest.refresh_many(stale_list, pipeline_config(app), due_only=True)
    assert ingest.refresh_many(stale_list, pipeline_config(app), due_only=True) == []
    assert len(server.log) == 1 and len(storage.fetch_log(db, source["id"])) == 1


def assert_fetcher_settled(path) -> None:
    """After the fetcher stopped: no source claimed and no lease held (shared check of the crash tests)."""
    from invariants import fetcher_problems

    connection = storage.connect(str(path))
    try:
        assert not fetcher_problems(connection, settled=True)
    finally:
        connection.conn.close()


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_one_log_line_per_fetch_in_either_format(log_format):
    stream = io.StringIO()
    logs.configure(log_format, stream)
    try:
        report = ingest.FetchReport(7, "Harbor Wire", "https://h.example/rss", "error", status=503, bytes=12,
                                    error="HTTP 503: busy", duration_ms=41)
        logs.log_fetch(report)
    finally:
        logs.configure("plain")
    [line] = stream.getvalue().splitlines()
    if log_format == "json":
        record = json.loads(line)
        assert record["source_id"] == 7 and record["outcome"] == "error" and record["status"] == 503
        assert record["error"] == "HTTP 503: busy" and record["duration_ms"] == 41 and record["new"] == 0
    else:
        assert 'source_id=7 name="Harbor Wire" outcome=error status=503 bytes=12 new=0 updated=0 blocked=0' in line
        assert 'duration_ms=41 error="HTTP 503: busy"' in line


def test_the_log_command_reads_the_fetch_history(fetcher_app, server):
    app, db = fetcher_app
    server.expect_request("/a").respond_with_data(rss(2, "a"), content_type="application/rss+xml")
    first = storage.add_source(db, server.url_for("/a"), name="A", **LICENSE)
    second = storage.add_source(db, server.url_for("/missing"), name="B", **LICENSE)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["fetch"]).exit_code == 1  # B failed
    everything = runner.invoke(args=["log"])
    assert everything.exit_code == 0
    assert "] A: ok status=200" in everything.output and "new=2" in everything.output
    assert "] B: error" in everything.output and "HTTP 500" in everything.output  # the test server knows no /missing
    only_b = json.loads(runner.invoke(args=["log", "--source", str(second["id"]), "--since", "1h", "--json"]).output)
    assert [row["source_id"] for row in only_b] == [second["id"]] and "500" in only_b[0]["error"]
    assert runner.invoke(args=["log", "--since", "2999-01-01"]).output.strip() == "No fetch matches."
    assert runner.invoke(args=["log", "--since", "yesterday-ish"]).exit_code == 2
    assert first["id"] != second["id"]


def test_fetch_exits_1_when_any_fetch_failed_named_or_not_and_2_on_usage(fetcher_app, server):
    app, db = fetcher_app
    server.expect_request("/good").respond_with_data(rss(1), content_type="application/rss+xml")
    good = storage.add_source(db, server.url_for("/good"), **LICENSE)
    bad = storage.add_source(db, server.url_for("/gone"), **LICENSE)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["fetch"]).exit_code == 1
    assert runner.invoke(args=["fetch", "--source", str(good["id"]), "--source", str(bad["id"])]).exit_code == 1
    assert runner.invoke(args=["fetch", "--all"]).exit_code == 1
    assert runner.invoke(args=["fetch", "--source", str(good["id"])]).exit_code == 0
    unknown = runner.invoke(args=["fetch", "--source", "999"])
    assert unknown.exit_code == 1 and "999" in unknown.output
    assert runner.invoke(args=["fetch", "--bogus"]).exit_code == 2
    assert "Exit codes" in runner.invoke(args=["fetch", "--help"]).output
