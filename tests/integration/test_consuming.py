"""``consume_ready`` against the real broker: it hands over what is there without
waiting for a full batch, and still waits when there is nothing."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from suppressor_client.consuming import consume_ready

from tests.kafka_helpers import produce
from workers.kafka.topics import CUSTOMER_EVENTS
from workers.settings import Settings

pytestmark = pytest.mark.broker


def _consumer(settings: Settings, topic: str) -> Consumer:
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": "t", "log_level": 0}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(settings.partitions)])
    return consumer


def test_a_few_records_come_back_long_before_the_wait_is_over(topics: Settings) -> None:
    topic = topics.topic(CUSTOMER_EVENTS)
    produce(topics.bootstrap_servers, topic, [(None, b"%d" % i) for i in range(3)])
    consumer = _consumer(topics, topic)
    try:
        got: list[bytes] = []
        started = time.monotonic()
        while len(got) < 3 and time.monotonic() - started < 60:
            got += [m.value() or b"" for m in consume_ready(consumer, 1000, wait=20.0)]
        elapsed = time.monotonic() - started
    finally:
        consumer.close()
    assert sorted(got) == [b"0", b"1", b"2"]
    assert elapsed < 10.0, "consume_ready waited for a full batch of 1000"


def test_with_nothing_to_read_it_waits_and_returns_empty(topics: Settings) -> None:
    consumer = _consumer(topics, topics.topic(CUSTOMER_EVENTS))
    try:
        started = time.monotonic()
        got = consume_ready(consumer, 1000, wait=0.5)
        elapsed = time.monotonic() - started
    finally:
        consumer.close()
    assert got == []
    assert elapsed >= 0.4, "an empty topic must not make the caller spin"
