"""Consuming with confluent-kafka without waiting for a full batch."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, Message

__all__ = ["consume_ready"]


def consume_ready(consumer: Consumer, limit: int, wait: float) -> list[Message]:
    """What the client holds now (up to ``limit``), or else the first record within ``wait``.

    ``Consumer.consume(n, timeout)`` returns only when it has ``n`` records or the timeout
    has passed, so under a steady trickle each call adds its whole timeout to the
    latency. Here a call returns as soon as any record is there and still sleeps when
    there is none.
    """
    batch = consumer.consume(limit, timeout=0)
    if batch:
        return batch
    first = consumer.consume(1, timeout=wait)
    if not first or limit == 1:
        return first
    try:
        return first + consumer.consume(limit - 1, timeout=0)
    except KafkaException:  # the client's error shows again on the next call; keep ``first``
        return first
