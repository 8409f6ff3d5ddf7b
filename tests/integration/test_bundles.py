"""Commands that reach the keyed stage in bundles apply as they would alone, in order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from suppressor_client.types import ListKey, ListName, ListRecord

from tests.integration.test_worker_rules import suppressions_until
from tests.kafka_helpers import produce
from workers.devkit.loadgen import command
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.topics import COMMANDS
from workers.settings import Settings

pytestmark = pytest.mark.broker


def test_an_import_after_an_unblock_of_the_same_address_in_one_write(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """One write of many address-level commands (bundled by the front stage): an import row
    after an unblock stands, one before it is released, a repeated row (same event id)
    changes nothing, and every other row lands with its notes."""
    start_worker()
    t = datetime.now(UTC) - timedelta(minutes=5)
    again = command("a", "import.row", when=t, email="again@x.example", notes="first")
    rows = [
        command("a", "import.row", email=f"r{n}@x.example", notes=f"row {n}") for n in range(300)
    ]
    # keyed by account, as the CLI and the API send commands: one partition, read in order
    # (the repeat must come after the original for "changes nothing" to be about order)
    commands = [
        command("a", "address.block", when=t, email="back@x.example"),
        command("a", "address.unblock", when=t + timedelta(seconds=1), email="back@x.example"),
        command("a", "import.row", when=t + timedelta(seconds=2), email="back@x.example"),
        command("a", "import.row", when=t, email="gone@x.example"),
        command("a", "address.unblock", when=t + timedelta(seconds=1), email="gone@x.example"),
        again,
        *rows,
        {**again, "notes": "second"},  # the same event id again: nothing changes
    ]
    produce(
        topics.bootstrap_servers,
        topics.topic(COMMANDS),
        [(b"a", orjson.dumps(c)) for c in commands],
    )

    def settled(state: dict[ListKey, ListRecord]) -> bool:
        active = {k.subject for k, r in state.items() if k.list is ListName.BLOCK and r.active}
        return len(active) == 302 and "back@x.example" in active

    state = suppressions_until(topics, settled, timeout=120)
    blocked = {k.subject: r for k, r in state.items() if k.list is ListName.BLOCK}
    gone = blocked.get("gone@x.example")  # released (or its tombstone): the unblock came after
    assert gone is None or not gone.active
    assert blocked["again@x.example"].notes == "first"
    assert all(blocked[f"r{n}@x.example"].notes == f"row {n}" for n in range(300))
