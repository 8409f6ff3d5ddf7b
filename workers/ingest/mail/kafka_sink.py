"""Producing mail records to Kafka and knowing when the broker has them.

``store`` blocks until every record of one message was acknowledged (``acks=all``) and
raises on the first delivery error, or once ``timeout`` seconds passed: the wait for room
in a full producer queue and the wait for the acks share that one bound, and librdkafka
gives up on a record after the same time (``message.timeout.ms``). It blocks, so callers
on an event loop run it in a thread. A thread of the sink serves the delivery callbacks.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from workers.ingest.mail.pipeline import Outgoing
from workers.kafka.producing import ProduceFailed, produce_retrying
from workers.kafka.topics import BOUNCE_MAIL_DLQ_MAX_BYTES
from workers.settings import Settings

__all__ = ["KafkaSink"]


class KafkaSink:
    """One producer shared by every message; thread-safe."""

    def __init__(self, settings: Settings, timeout: float) -> None:
        self._settings, self.timeout = settings, timeout
        self._producer = Producer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "acks": "all",
                "linger.ms": 2,
                "message.timeout.ms": max(1000, int(timeout * 1000)),
                "message.max.bytes": BOUNCE_MAIL_DLQ_MAX_BYTES + 1024 * 1024,
                "compression.type": "lz4",
                "log_level": 0,
            }
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="mail-kafka", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    def send(self, records: Sequence[Outgoing], *, deadline: float | None = None) -> Future[int]:
        """Produce the records; the future's result is how many the broker acknowledged.

        With a ``deadline`` (``time.monotonic()``) a full producer queue waits no longer.
        """
        future: Future[int] = Future()
        if not records:
            future.set_result(0)
            return future
        lock = threading.Lock()
        left = [len(records)]
        failed: list[KafkaError] = []

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            with lock:
                if err is not None:
                    failed.append(err)
                left[0] -= 1
                if left[0] != 0 or future.done():
                    return
            if failed:
                future.set_exception(KafkaException(failed[0]))
            else:
                future.set_result(len(records))

        try:
            for record in records:
                produce_retrying(
                    self._producer,
                    self._settings.topic(record.topic),
                    record.value,
                    record.key,
                    delivered,
                    deadline=deadline,
                )
        except (KafkaException, ValueError, ProduceFailed) as exc:  # refused locally, queue full
            if not future.done():
                future.set_exception(exc)
        return future

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for what is in flight; returns how many records are still not delivered."""
        remaining: int = self._producer.flush(timeout)
        return remaining

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        self._stop.set()
        self._thread.join(timeout=5)
