"""Whether the keyed stage holds an account as created, read from its table's changelog.

A second ``account.create`` changes nothing and so publishes nothing: a sender view
cannot tell an account created long ago whose domain rules were all removed since from
one never created, and a writer waiting for the create's effect would wait in vain. The
keyed stage's own state (``created_at``) can tell. Its account table's changelog is a
compacted topic keyed by account id, each record on the partition of the account's ops
records (``murmur2`` of the key, as the front stage sends them), so one partition is read
for one account.
"""

from __future__ import annotations

import time
from datetime import datetime

from confluent_kafka import Consumer, TopicPartition, murmur2

from workers.kafka.topics import ACCOUNT_TABLE, changelog_topic
from workers.settings import Settings
from workers.stream.handlers import account_created_at

__all__ = ["created_at"]


def created_at(settings: Settings, account: str, timeout: float = 10.0) -> datetime | None:
    """When the keyed stage created ``account``; None when it did not, or when that could
    not be read to the end within ``timeout`` (no worker ever ran, a broker that does not
    answer): the caller then writes the create, which the worker applies once."""
    topic = changelog_topic(settings, ACCOUNT_TABLE)
    key = account.encode()
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": f"{settings.app_id}-cli",
         "enable.auto.commit": False, "log_level": 0}
    )  # fmt: skip
    try:
        found = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            return None
        partition = TopicPartition(topic, murmur2(key, len(found.partitions)))
        low, high = consumer.get_watermark_offsets(partition, timeout=timeout)
        partition.offset = low
        consumer.assign([partition])
        stored: bytes | None = None
        deadline = time.monotonic() + timeout
        position = low
        while position < high:
            if time.monotonic() > deadline:
                return None
            for msg in consumer.consume(1000, timeout=0.2):
                if msg.error() is not None:
                    continue
                position = (msg.offset() or 0) + 1
                if msg.key() == key:
                    stored = msg.value()  # None: a tombstone
        return account_created_at(stored) if stored else None
    finally:
        consumer.close()
