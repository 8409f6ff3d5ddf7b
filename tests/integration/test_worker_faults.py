"""Expiry, crashes and metrics of a real worker: the service levels of SPEC §9."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.request import urlopen

import orjson
import pytest
from suppressor_client.types import ListKey, ListName, ListRecord, Suppression

from tests.integration.test_worker_rules import released_until, send, suppressions_until
from tests.kafka_helpers import produce
from workers.devkit.chaos import expected_lists
from workers.devkit.loadgen import bounce, mixed_deliveries
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.topics import DELIVERY_EVENTS
from workers.settings import Settings

pytestmark = pytest.mark.broker

SHORT = (timedelta(seconds=3), timedelta(seconds=6), timedelta(seconds=12))


def _bounce_key(address: str) -> ListKey:
    return ListKey("a", ListName.BOUNCE, address)


def test_a_temporary_entry_is_released_within_seconds_of_expiring(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """With a 3-second first step the entry is published, then released and tombstoned."""
    start_worker(ladder_steps=SHORT)
    event = bounce("a", "soon@gmail.com", "condition", when=datetime.now(UTC))
    send(topics, DELIVERY_EVENTS, [event])
    state = suppressions_until(topics, lambda s: _bounce_key("soon@gmail.com") in s)
    expires_at = state[_bounce_key("soon@gmail.com")].expires_at
    assert expires_at is not None
    released_until(topics, _bounce_key("soon@gmail.com"), timeout=30)
    late = (datetime.now(UTC) - expires_at).total_seconds()
    assert late < 10, f"released {late:.1f}s after expires_at"


def test_a_worker_that_was_down_releases_what_expired_as_soon_as_it_is_back(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """Entries that expired while no worker ran are released by the next one."""
    first = start_worker("first", ladder_steps=SHORT)
    send(
        topics,
        DELIVERY_EVENTS,
        [bounce("a", "away@gmail.com", "condition", when=datetime.now(UTC))],
    )
    suppressions_until(topics, lambda s: _bounce_key("away@gmail.com") in s)
    first.kill()
    time.sleep(5)  # the entry expires while nothing runs
    start_worker("second", ladder_steps=SHORT)
    released_until(topics, _bounce_key("away@gmail.com"), timeout=60)


def _as_entry(record: ListRecord) -> Suppression | None:
    if record.reason is None:
        return None
    return Suppression(
        reason=record.reason,
        since=record.since or datetime.min,
        expires_at=record.expires_at,
        event_id=record.event_id,
        delivery_id=record.delivery_id,
        notes=record.notes,
    )


def test_sigkill_mid_load_loses_nothing_and_contradicts_nothing(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """A worker killed with SIGKILL while it works, then restarted, publishes exactly the
    lists the pure rules give for the whole input (the ladder is order-independent while an
    address's deliveries come after its older bounces)."""
    raw = list(mixed_deliveries(6000, accounts=3, addresses=400))
    events = [orjson.dumps(e) for e in raw]
    # keyed by account and address, as producers are asked to: one address's events keep
    # their order, so a delivery never overtakes an older bounce (docs/design.md)
    keyed = [
        (f"{e['account_id']}\x1f{e['email']}".encode(), v) for e, v in zip(raw, events, strict=True)
    ]
    expected = expected_lists(events, Settings().ladder())
    worker = start_worker("before-kill")
    sender = threading.Thread(
        target=lambda: produce(topics.bootstrap_servers, topics.topic(DELIVERY_EVENTS), keyed),
        name="load",
        daemon=True,
    )
    sender.start()
    time.sleep(1.5)
    worker.kill()
    sender.join(timeout=60)
    start_worker("after-kill")
    got: dict[ListKey, Suppression | None] = {}

    def settled(state: dict[ListKey, ListRecord]) -> bool:
        nonlocal got
        got = {k: _as_entry(r) for k, r in state.items()}
        return got == expected

    try:
        suppressions_until(topics, settled, timeout=120)
    except AssertionError:
        missing = expected.keys() - got.keys()
        extra = got.keys() - expected.keys()
        wrong = [k for k in expected.keys() & got.keys() if expected[k] != got[k]]
        raise AssertionError(
            f"{len(missing)} missing, {len(extra)} extra, {len(wrong)} different: "
            f"{sorted(missing, key=str)[:3]} {sorted(extra, key=str)[:3]} {wrong[:3]}"
        ) from None
    assert len(expected) > 100  # the load really made lists


def test_metrics_count_inputs_outcomes_and_latency(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """The worker's /metrics reports inputs by type, changes by list and reason, ladder
    transitions, latency and current entries, with no address in any label."""
    worker = start_worker()
    send(
        topics,
        DELIVERY_EVENTS,
        [bounce("a", "m1@gmail.com", "nonexistent"), bounce("a", "m2@gmail.com", "condition")],
    )
    suppressions_until(topics, lambda s: len(s) >= 2)
    deadline = time.monotonic() + 30
    body = ""
    while time.monotonic() < deadline:
        with urlopen(f"http://127.0.0.1:{worker.settings.metrics_port}/metrics", timeout=5) as r:
            body = r.read().decode()
        if 'suppressor_entries{category="bounce",reason="1"} 1.0' in body:
            break
        time.sleep(1)
    for line in (
        'suppressor_events_in_total{topic="delivery-events",type="bounce"} 2.0',
        'suppressor_suppression_changes_total{list="bounce",op="upsert",reason="1"} 1.0',
        'suppressor_ladder_transitions_total{outcome="condition",step="temporary"} 1.0',
        'suppressor_entries{category="bounce",reason="1"} 1.0',
        'suppressor_entries_by_domain{domain="gmail.com"} 2.0',
        'suppressor_table_keys{table="address-state"}',
    ):
        assert line in body, line
    latency = re.search(
        r'suppressor_processing_latency_seconds_count\{topic="delivery-events"\} (\d+)', body
    )
    assert latency is not None and int(latency.group(1)) >= 2, "no latency observed"
    assert "@" not in body
