"""A compact sender with a snapshot file restarts from it and reads only the tail (real broker)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from suppressor_client.compact_view import CompactView
from suppressor_client.records import encode_key, encode_record
from suppressor_client.snapshot import begin_snapshot
from suppressor_client.types import ListKey, ListName, ListRecord, Reason

from tests.kafka_helpers import produce
from workers.client import SenderClient
from workers.kafka.topics import SUPPRESSIONS
from workers.settings import Settings

pytestmark = pytest.mark.broker

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def put(settings: Settings, *records: ListRecord) -> None:
    """Produce block records to the test's suppressions topic."""
    pairs = [(encode_key(r.key), encode_record(r)) for r in records]
    produce(settings.bootstrap_servers, settings.topic(SUPPRESSIONS), pairs)


def block(subject: str, version: int = 1, active: bool = True) -> ListRecord:
    """A block-list record of acme."""
    key = ListKey("acme", ListName.BLOCK, subject)
    return ListRecord(key, version, active, reason=Reason.MANUAL, since=T0)


def test_restart_loads_the_snapshot_and_reads_the_tail(topics: Settings, tmp_path: Path) -> None:
    """After a stop the file holds the view; a restart loads it and applies only what came after."""
    path = tmp_path / "sender.snap"
    put(topics, *(block(f"u{i}@example.com") for i in range(50)))
    with SenderClient(topics, compact=True, snapshot_path=path) as first:
        assert first.wait_ready(30)
        assert first.snapshot_status == "missing"
        assert first.records_read == 50
    assert path.exists()
    put(topics, block("late@example.com"), block("u1@example.com", 2, active=False))
    with SenderClient(topics, compact=True, snapshot_path=path) as second:
        assert second.wait_ready(30)
        assert second.snapshot_status == "loaded"
        assert second.records_read == 2  # only the tail was read
        assert isinstance(second.view, CompactView)
        assert not second.decide("acme", "u0@example.com").allowed
        assert not second.decide("acme", "late@example.com").allowed
        assert second.decide("acme", "u1@example.com").allowed  # released after the snapshot


def test_corrupt_and_foreign_snapshots_rebuild_from_the_topic(
    topics: Settings, tmp_path: Path
) -> None:
    """A torn file or one of another cluster is not used: the whole topic is read instead."""
    path = tmp_path / "sender.snap"
    put(topics, *(block(f"u{i}@example.com") for i in range(10)))
    empty = CompactView()
    begin_snapshot(path, empty.state(), topic=topics.topic(SUPPRESSIONS), cluster_id="elsewhere",
                   offsets={}, now=datetime.now(UTC)).commit()  # fmt: skip
    errors: list[str] = []
    with SenderClient(topics, compact=True, snapshot_path=path, on_error=errors.append) as c:
        assert c.wait_ready(30)
        assert c.snapshot_status == "refused"
        assert c.records_read == 10
        assert not c.decide("acme", "u3@example.com").allowed
    assert any("elsewhere" in e for e in errors)
    path.write_bytes(path.read_bytes()[:-5])  # torn
    with SenderClient(topics, compact=True, snapshot_path=path) as c:
        assert c.wait_ready(30)
        assert c.snapshot_status == "corrupt"
        assert c.records_read == 10


def test_offsets_the_topic_does_not_hold_rebuild(topics: Settings, tmp_path: Path) -> None:
    """A snapshot whose offsets lie past the topic's end (a topic re-created) is dropped."""
    path = tmp_path / "sender.snap"
    put(topics, block("a@example.com"))
    with SenderClient(topics, compact=True, snapshot_path=path) as c:
        assert c.wait_ready(30)
        cluster = c._cluster_id
        partitions = c._feed.positions()
    begin_snapshot(path, CompactView().state(), topic=topics.topic(SUPPRESSIONS),
                   cluster_id=cluster, offsets={p: 10_000 for p in partitions},
                   now=datetime.now(UTC)).commit()  # fmt: skip
    with SenderClient(topics, compact=True, snapshot_path=path) as c:
        assert c.wait_ready(30)
        assert c.snapshot_status == "loaded"
        assert c.records_read == 1
        assert not c.decide("acme", "a@example.com").allowed


def test_a_feed_started_at_the_topics_end_names_its_cluster_at_once(topics: Settings) -> None:
    """A snapshot's offsets are the topic's end: asking the cluster's id of the running
    feed then (the next snapshot names it) answers from what ``start`` read, not by a
    metadata request that outwaited its timeout while the reading thread waited."""
    import time

    from suppressor_client.feed import SuppressionFeed

    put(topics, block("a@example.com"))
    topic = topics.topic(SUPPRESSIONS)
    probe = SuppressionFeed(topics.bootstrap_servers, topic)
    expected = probe.cluster_id(10)
    ends = {p: probe._watermarks(p, time.monotonic() + 10)[1] for p in range(topics.partitions)}
    feed = SuppressionFeed(topics.bootstrap_servers, topic, CompactView()).start(10, offsets=ends)
    try:
        assert feed.wait_ready(20)
        started = time.monotonic()
        assert feed.cluster_id(5) == expected != ""
        assert time.monotonic() - started < 1.0
    finally:
        feed.stop()
