"""Test helpers that talk to the real broker; every wait has a deadline.

A wait that runs out asks the broker whether it is still there, so a killed broker
shows up as ``BrokerGone`` ("the broker went away") rather than as a hang or a vague
timeout.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from suppressor_client.records import decode_record
from suppressor_client.types import ListKey, ListName, ListRecord

from workers.devkit.local_broker import broker_answers

__all__ = [
    "BrokerGone",
    "Record",
    "WaitTimeout",
    "active_subjects",
    "compact",
    "released",
    "produce",
    "read_topic",
    "wait_for",
]


class BrokerGone(AssertionError):
    """The Kafka broker stopped answering during a test."""


class WaitTimeout(AssertionError):
    """A test waited for something that did not happen in time (the broker is fine)."""


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def _check_broker(bootstrap: str, what: str) -> None:
    if not broker_answers(bootstrap, timeout=3.0):
        raise BrokerGone(f"the Kafka broker at {bootstrap} went away while {what}")


def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes | None]],
    timeout: float = 30.0,
) -> int:
    """Produce (key, value) pairs and wait until the broker acknowledged all of them."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "message.timeout.ms": int(timeout * 1000),
            "log_level": 0,
        }
    )
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    count = 0
    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
        count += 1
    remaining = producer.flush(timeout)
    if remaining or errors:
        _check_broker(bootstrap, f"producing to {topic}")
        raise WaitTimeout(f"{remaining} records not acknowledged on {topic}: {errors[:3]}")
    return count


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Record]], bool],
    timeout: float = 30.0,
    what: str | None = None,
) -> list[Record]:
    """Read ``topic`` from the start until ``until(records)`` holds; fail after ``timeout``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    description = what or f"reading {topic}"
    try:
        metadata = consumer.list_topics(topic, timeout=min(10.0, timeout))
        partitions = metadata.topics[topic].partitions
        if not partitions:
            raise WaitTimeout(f"topic {topic} does not exist")
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        while True:
            if until(records):
                return records
            if time.monotonic() > deadline:
                _check_broker(bootstrap, description)
                raise WaitTimeout(
                    f"timed out after {timeout:.0f}s {description}: saw {len(records)} records"
                )
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is None:
                    records.append(
                        Record(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value())
                    )
    except Exception as exc:
        if isinstance(exc, AssertionError):
            raise
        _check_broker(bootstrap, description)
        raise
    finally:
        consumer.close()


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    bootstrap: str | None = None,
    interval: float = 0.2,
) -> None:
    """Poll ``condition`` until it holds; on timeout say whether the broker is to blame."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            if bootstrap is not None:
                _check_broker(bootstrap, what)
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def compact(records: Iterable[Record]) -> dict[ListKey, ListRecord]:
    """What a reader of the compacted suppressions topic holds after ``records``.

    Applies each record in topic order when its version is newer than the one held, drops
    released entries, and removes a key on its tombstone; asserts that versions only grow
    per key and that every tombstone follows a release.
    """
    held: dict[ListKey, ListRecord] = {}
    last_version: dict[ListKey, int] = {}
    for rec in records:
        assert rec.key is not None, "a suppressions record without a key"
        key, value = decode_record(rec.key, rec.value)
        if value is None:
            assert key not in held, f"tombstone for {key} without a release first"
            continue
        previous = last_version.get(key, 0)
        assert value.version >= previous, f"version went back for {key}"
        if value.version == previous:  # a re-publication must say exactly the same thing
            seen = held.get(key)
            assert seen is None or seen == value, f"version {previous} of {key} changed content"
        last_version[key] = value.version
        if value.active:
            held[key] = value
        else:
            held.pop(key, None)
    return held


def released(records: Iterable[Record]) -> set[ListKey]:
    """Keys for which an explicit release (an inactive record) was published."""
    out: set[ListKey] = set()
    for rec in records:
        if rec.key is not None and rec.value is not None:
            key, value = decode_record(rec.key, rec.value)
            if value is not None and not value.active:
                out.add(key)
    return out


def active_subjects(held: dict[ListKey, ListRecord], account: str, name: ListName) -> set[str]:
    return {k.subject for k in held if k.account_id == account and k.list is name}
