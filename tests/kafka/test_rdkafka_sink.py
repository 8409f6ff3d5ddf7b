"""The librdkafka sink against real faust objects and the real broker."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest
from faust.types import TP

from tests.kafka_helpers import read_topic
from workers.kafka.rdkafka_sink import (
    DeliveryFailed,
    FlushBeforeCommit,
    RdKafkaSink,
    route_changelog,
)
from workers.kafka.topics import admin_client
from workers.settings import Settings

pytestmark = pytest.mark.broker


def _table(settings: Settings, tmp_path: Path) -> faust.Table:
    app = faust.App(settings.app_id, store="rocksdb://", datadir=str(tmp_path))
    return app.Table("t", partitions=2, key_type=bytes, value_type=bytes)


def _create(settings: Settings, name: str, partitions: int = 2) -> None:
    from confluent_kafka.cimpl import NewTopic

    admin = admin_client(settings)  # keep a reference: the future dies with its client
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(timeout=30)


def test_a_changelog_record_lands_on_its_partition_and_moves_the_persisted_offset(
    settings: Settings, tmp_path: Path
) -> None:
    """A table write routed through the sink is faust's changelog record (same topic,
    partition, raw bytes), and its acknowledgement stores the changelog offset in the
    table's RocksDB, which is where faust's recovery starts reading."""
    table = _table(settings, tmp_path)
    topic = table.changelog_topic.get_topic_name()
    _create(settings, topic)
    sink = RdKafkaSink(settings.bootstrap_servers)
    route_changelog(table, sink)
    fut = table.send_changelog(1, b"key-1", b"value-1")
    table.send_changelog(1, b"key-2", None)
    assert fut.message.partition == 1
    FlushBeforeCommit(sink).on_commit_initiated(None)
    records = read_topic(settings.bootstrap_servers, topic, until=lambda rs: len(rs) >= 2)
    assert [(r.partition, r.key, r.value) for r in records] == [
        (1, b"key-1", b"value-1"),
        (1, b"key-2", None),
    ]
    assert table.data.persisted_offset(TP(topic, 1)) == records[-1].offset


def test_outputs_are_partitioned_by_key_as_faust_does(settings: Settings, tmp_path: Path) -> None:
    """An output keyed record goes to the partition aiokafka's murmur2 partitioner picks, so
    a key's records stay together on a compacted topic whoever wrote them."""
    from aiokafka.partitioner import murmur2

    topic = settings.topic("sink-out")
    _create(settings, topic, partitions=4)
    sink = RdKafkaSink(settings.bootstrap_servers)
    keys = [f"key-{i}".encode() for i in range(20)]
    for key in keys:
        sink.produce(topic, key, b"v")
    sink.flush()
    records = read_topic(settings.bootstrap_servers, topic, until=lambda rs: len(rs) >= 20)
    for record in records:
        assert record.key is not None
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % 4


def test_a_record_that_cannot_be_delivered_makes_the_flush_fail(settings: Settings) -> None:
    """A record the broker never acknowledges fails the flush that runs before a commit, so
    the commit does not happen and the input is read again after a restart."""
    sink = RdKafkaSink(settings.bootstrap_servers, flush_timeout_s=20)
    sink.producer = type(sink.producer)(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "message.timeout.ms": 2000,
            "log_level": 0,
        }
    )
    sink.produce(settings.topic("no-such-topic"), b"k", b"v", partition=0)
    with pytest.raises(DeliveryFailed, match="not delivered"):
        FlushBeforeCommit(sink).on_commit_initiated(None)
    # faust commits once more while it stops after the error: that commit must fail too.
    with pytest.raises(DeliveryFailed, match="not delivered"):
        FlushBeforeCommit(sink).on_commit_initiated(None)
