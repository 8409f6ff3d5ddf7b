"""Entry counts, written once per commit, still equal the lists after a SIGKILL."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.request import urlopen

import pytest
from suppressor_client.types import ListName

from tests.integration.test_worker_rules import send, suppressions_until
from workers.devkit.loadgen import command
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.topics import COMMANDS
from workers.settings import Settings

pytestmark = pytest.mark.broker

ROWS = 4000
GAUGE = f'suppressor_entries{{category="block",reason="2"}} {float(ROWS)}'


def _blocked(state: dict, count: int) -> bool:  # type: ignore[type-arg]
    return sum(1 for k, r in state.items() if k.list is ListName.BLOCK and r.active) >= count


def test_counts_are_counted_again_after_a_kill_between_two_flushes(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """A worker killed while it applies a long import (so with deltas not yet flushed)
    leaves a marker; its successor counts that partition again from the address states,
    and the gauge shows exactly the entries on the lists."""
    first = start_worker("first")
    send(
        topics,
        COMMANDS,
        [command("acme", "address.block", email=f"u{n}@example.com") for n in range(ROWS)],
    )
    suppressions_until(topics, lambda s: _blocked(s, ROWS // 4), timeout=120)
    first.kill()  # SIGKILL, mid-stream: the last commit's deltas die with it
    second = start_worker("second")
    suppressions_until(topics, lambda s: _blocked(s, ROWS), timeout=180)
    deadline = time.monotonic() + 60
    body = ""
    while time.monotonic() < deadline and GAUGE not in body:
        time.sleep(1)
        with urlopen(f"http://127.0.0.1:{second.settings.metrics_port}/metrics", timeout=5) as r:
            body = r.read().decode()
    assert GAUGE in body, [line for line in body.splitlines() if "suppressor_entries{" in line]
    assert "counted again" in second.log_tail(400)
