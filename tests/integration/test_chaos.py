"""The short chaos run: worker SIGKILLs, a broker SIGKILL and a wiped store lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.devkit.chaos import ChaosPlan, run_chaos
from workers.settings import Settings

pytestmark = pytest.mark.broker

SHORT = ChaosPlan(worker_kills=3, broker_kills=1, wipes=1, workers=1, rate=300)


@pytest.mark.timeout(420)
def test_faults_under_load_leave_suppressions_equal_to_the_rules(tmp_path: Path) -> None:
    """Under a steady realistic load, 3 worker SIGKILLs, a broker SIGKILL and restart, and a
    worker restored from the changelogs after its RocksDB folder was deleted, the folded
    suppressions topic equals the pure rules over the whole input: nothing lost, nothing
    contradictory, no version published twice with different content."""
    report = run_chaos(Settings.from_env(), tmp_path, SHORT, say=lambda _line: None)
    assert report.events_acknowledged > 1000 and report.events_failed == 0
    assert len(report.faults) == 5
    assert report.expected_entries > 100, "the load made too few lists to prove anything"
    assert (report.missing, report.extra, report.different) == (0, 0, 0), report.examples
    assert (report.versions_back, report.versions_changed) == (0, 0), report.examples
