"""Producing with confluent-kafka when the local queue may be full, and waiting for acks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, Producer

__all__ = ["ProduceFailed", "produce_acknowledged", "produce_retrying"]


class ProduceFailed(RuntimeError):
    """The broker did not acknowledge every record in time; the message says why."""


def produce_retrying(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    on_delivery: Callable[[KafkaError | None, Any], None] | None = None,
    *,
    deadline: float | None = None,
) -> None:
    """Produce, waiting for room in the local queue instead of failing when it is full.

    With a ``deadline`` (a ``time.monotonic()`` value) the wait for room is bounded:
    ``ProduceFailed`` once it passes with the queue still full (a broker that takes
    nothing must not hold a caller that promised an answer in bounded time).
    """
    while True:
        try:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            return
        except BufferError:
            if deadline is not None and time.monotonic() >= deadline:
                raise ProduceFailed("the producer's queue stayed full until the deadline") from None
            producer.poll(0.05)


def produce_acknowledged(
    producer: Producer,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes]],
    timeout: float,
    *,
    polled_elsewhere: bool = False,
) -> int:
    """Produce (key, value) records and return once the broker acknowledged all of them.

    Only this call's records are waited for (a shared producer's other traffic does not
    hold it up), so callers in several threads may share one producer. With
    ``polled_elsewhere`` a thread of the owner serves the delivery callbacks and this
    call only sleeps until its own are in (many waiting callers then cost no CPU).
    Raises ``ProduceFailed`` with the first error, or when ``timeout`` seconds pass first.
    """
    lock = threading.Lock()
    done = threading.Event()
    errors: list[str] = []
    pending = 0
    produced = False

    def delivered(err: KafkaError | None, _msg: Any) -> None:
        nonlocal pending
        with lock:
            if err is not None:
                errors.append(str(err))
            pending -= 1
            if pending == 0 and produced:
                done.set()

    count = 0
    for key, value in records:
        with lock:
            pending += 1
        produce_retrying(producer, topic, value, key, delivered)
        count += 1
    with lock:
        produced = True
        if pending == 0:
            done.set()
    deadline = time.monotonic() + timeout
    while not done.is_set():
        if time.monotonic() > deadline:
            raise ProduceFailed(f"{pending} of {count} records not acknowledged after {timeout}s")
        if polled_elsewhere:
            done.wait(max(0.0, min(0.1, deadline - time.monotonic())))
        else:
            producer.poll(0.005)
    if errors:
        raise ProduceFailed(errors[0])
    return count
