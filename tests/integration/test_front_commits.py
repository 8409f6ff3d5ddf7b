"""The front stage's commits, against the real broker: a commit covers only records the
stage has routed, whenever it runs (a rebalance can commit inside any consume call)."""

from __future__ import annotations

import time

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from suppressor_client.consuming import consume_ready
from suppressor_client.feed import SuppressionFeed

from tests.kafka_helpers import produce
from workers.devkit.loadgen import customer_event
from workers.kafka.topics import CUSTOMER_EVENTS, SUPPRESSIONS
from workers.settings import Settings
from workers.stream.front import FrontStage

pytestmark = pytest.mark.broker


def _committed(stage: FrontStage, parts: list[TopicPartition]) -> int:
    """The group's committed offsets, read by a separate client (the stage's runs a thread)."""
    group = f"{stage.settings.app_id}-front"
    reader = Consumer({"bootstrap.servers": stage.settings.bootstrap_servers, "group.id": group})
    try:
        return sum(max(0, tp.offset) for tp in reader.committed(parts, timeout=10))
    finally:
        reader.close()


def test_a_commit_covers_only_records_already_routed(topics: Settings) -> None:
    topic = topics.topic(CUSTOMER_EVENTS)
    events = [customer_event("acme", f"u{i}@example.com", "api") for i in range(4)]
    produce(topics.bootstrap_servers, topic, [(None, orjson.dumps(e)) for e in events])
    feed = SuppressionFeed(topics.bootstrap_servers, topics.topic(SUPPRESSIONS))  # no rules
    stage = FrontStage(topics, rules=feed)
    parts = [TopicPartition(topic, p, 0) for p in range(topics.partitions)]
    stage.consumer.assign(parts)
    try:
        read = []
        deadline = time.monotonic() + 30
        while len(read) < len(events) and time.monotonic() < deadline:
            read += [m for m in consume_ready(stage.consumer, 100, wait=1.0) if not m.error()]
        assert len(read) == len(events)

        assert stage._commit()  # read but not routed: nothing to commit
        assert _committed(stage, parts) == 0

        stage._handle(read)
        assert stage._commit()
        assert _committed(stage, parts) == len(events)
    finally:
        stage.consumer.close()


def test_a_running_stage_commits_what_it_routed_without_being_stopped(topics: Settings) -> None:
    """The periodic commit: a worker that runs for hours must not rely on a clean stop."""
    topic = topics.topic(CUSTOMER_EVENTS)
    events = [customer_event("acme", f"v{i}@example.com", "api") for i in range(6)]
    produce(topics.bootstrap_servers, topic, [(None, orjson.dumps(e)) for e in events])
    feed = SuppressionFeed(topics.bootstrap_servers, topics.topic(SUPPRESSIONS)).start()
    stage = FrontStage(topics, rules=feed)
    parts = [TopicPartition(topic, p) for p in range(topics.partitions)]
    stage.start()
    try:
        deadline = time.monotonic() + 60
        while _committed(stage, parts) < len(events) and time.monotonic() < deadline:
            assert stage.running
            time.sleep(0.2)
        assert _committed(stage, parts) == len(events)
    finally:
        stage.stop()
        feed.stop()
