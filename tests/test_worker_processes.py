"""Two fetcher processes on one database: each due source is fetched once per interval, and a takeover."""

import json
import signal
import subprocess
import time

from werkzeug import Response

from fetching import LICENSE, cli_env, rss, start_cli
from invariants import assert_invariants, fetcher_problems
from republisher import lease, storage

INTERVAL = 3
LEASE = 3.0  # a takeover from a holder gone on this host comes at the other's next look, LEASE / 3 s


def test_two_workers_fetch_each_source_once_per_interval_and_one_takes_over_when_the_other_dies(tmp_path, server):
    path = tmp_path / "two.sqlite"
    db = storage.connect(str(path))
    storage.migrate(db)
    hits: dict[str, list[float]] = {"/a": [], "/b": []}

    def answer(request):
        """The feed, noting the time of the request."""
        hits[request.path].append(time.monotonic())
        return Response(rss(2, request.path.strip("/")), content_type="application/rss+xml")

    for path_ in hits:
        server.expect_request(path_).respond_with_handler(answer)
        storage.add_source(db, server.url_for(path_), interval_seconds=INTERVAL, **LICENSE)
    env = cli_env(path, FETCH_MIN_INTERVAL=1, FETCH_LEASE_SECONDS=LEASE, LOG_FORMAT="json")
    workers = [start_cli(env, "worker", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        time.sleep(4 * INTERVAL + 4)
        for path_, times in hits.items():
            gaps = [later - earlier for earlier, later in zip(times, times[1:])]
            # stored times are whole seconds, so a next fetch may come up to a second early, never twice
            assert len(times) >= 4 and min(gaps) > INTERVAL - 1.5, (path_, gaps)
        holder = storage.fetch_lease(db)["holder"]
        _, pid, _ = lease.parse_holder(holder)
        [victim] = [process for process in workers if process.pid == pid]
        [survivor] = [process for process in workers if process is not victim]
        fetched = {path_: len(times) for path_, times in hits.items()}
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        victim.wait()
        while storage.fetch_lease(db)["holder"] == holder:
            assert time.monotonic() - killed_at < LEASE / 3 + 3, "no takeover within the bound"
            time.sleep(0.05)
        taken_over = time.monotonic() - killed_at
        time.sleep(2 * INTERVAL + 1)
        assert all(len(hits[path_]) > fetched[path_] for path_ in hits), "the survivor does not fetch"
        assert lease.parse_holder(storage.fetch_lease(db)["holder"])[1] == survivor.pid
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # Ctrl+C: a clean stop gives the lease up
        outputs = [process.communicate(timeout=30)[1] for process in workers]
    log_rows = len(list(db.query("SELECT id FROM fetch_log")))
    lines = [json.loads(line) for output in outputs for line in output.splitlines() if line.startswith("{")]
    fetch_lines = [line for line in lines if line["logger"] == "republisher.fetch"]
    assert log_rows == sum(len(times) for times in hits.values())
    assert len(fetch_lines) >= log_rows - 2  # a fetch the killed worker was doing may end unlogged
    assert all({"source_id", "outcome", "status", "bytes", "new", "duration_ms"} <= line.keys() for line in fetch_lines)
    print(f"takeover after SIGKILL: {taken_over:.2f} s (bound {LEASE / 3 + 3:.1f} s)")
    assert_invariants(path)
    assert not fetcher_problems(db, settled=True)
    db.conn.close()
