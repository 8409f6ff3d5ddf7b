"""Producing with confluent-kafka when the local queue may be full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Producer

__all__ = ["produce_retrying"]


def produce_retrying(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    on_delivery: Callable[[KafkaError | None, Any], None] | None = None,
) -> None:
    """Produce, waiting for room in the local queue instead of failing when it is full."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)
