"""Readers keep being served while the fetcher ingests a batch: no 5xx, no lock errors, no long waits.

The quick form of bench/load.py: the site under waitress in its own process, feeds from another, and
the fetcher either inside the server (the background worker of `republisher serve`) or in a process of
its own (`republisher worker --once`). `python bench/load.py --long` is the long form.
"""

import sys
from pathlib import Path

import pytest

from invariants import assert_invariants

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import load  # noqa: E402

SOURCES, ITEMS, SEED_SOURCES = 6, 50, 3
# a request that waited for the writer's lock until the busy timeout (15 s) would take longer than this;
# cold pages rendered while the fetcher parses on the same two cores take up to about a second
LONGEST_WAIT_SECONDS = 5.0


@pytest.mark.parametrize("mode", ["server", "process"])
def test_the_site_answers_every_reader_while_the_fetcher_ingests_a_batch(tmp_path, mode):
    result = load.run(mode, SOURCES, ITEMS, SEED_SOURCES, clients=6, baseline_seconds=3, max_seconds=40,
                      workdir=tmp_path)
    summary = load.report(result)
    assert not result.fetch_problems, summary
    assert result.stored_items == (SOURCES + SEED_SOURCES) * ITEMS, summary
    assert not result.server_errors, summary
    assert not result.locked, summary
    assert not result.failures, summary
    assert not result.server_problems, summary
    during = [sample for sample in result.samples if sample.phase == "ingest"]
    assert len(during) >= 50 and {sample.kind for sample in during} >= {"page", "cold", "feed", "conditional"}, summary
    assert {sample.status for sample in during} <= {200, 301, 302, 304, 308}, summary
    assert any(sample.status == 304 for sample in result.samples), summary
    assert result.slowest("ingest") < LONGEST_WAIT_SECONDS, summary
    assert_invariants(result.database)
