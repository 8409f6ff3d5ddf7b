"""Where webhook and one-click events go: ``delivery-events``, acknowledged before we answer.

A provider retries a call we do not answer 2xx, so the route answers 2xx only once Kafka
acknowledged every event of the call (``produce_acknowledged``), and 503 otherwise
(a record librdkafka refuses locally included); the
event ids come from the provider's own ids, so the retry changes nothing. One idempotent
producer (``acks=all``) is shared by every request thread; one thread of the sink serves
its delivery callbacks, so request threads waiting for their acks just sleep.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson
from confluent_kafka import KafkaException, Producer

from workers.ingest.webhooks.dead_letter import MAX_RECORD_BYTES
from workers.kafka.producing import ProduceFailed, produce_acknowledged
from workers.kafka.topics import DELIVERY_EVENTS, WEBHOOKS_DLQ
from workers.settings import Settings

__all__ = ["EventSink", "KafkaSink", "event_key"]


class EventSink(Protocol):
    """What the webhook routes need: publish events, keep a dead letter (both acknowledged)."""

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Return once every event is acknowledged; raise ``ProduceFailed`` otherwise."""

    def dead_letter(self, record: bytes, key: bytes | None) -> None:
        """Return once the record is acknowledged on ``webhooks.dlq``."""

    def close(self) -> None:
        """Deliver what is queued and stop."""


def event_key(event: Mapping[str, Any]) -> bytes:
    """Keyed by account and address, as SPEC §2 asks producers to where they can."""
    return orjson.dumps([event["account_id"], str(event["email"]).strip().lower()])


class KafkaSink:
    """``EventSink`` on the broker; ``ProduceFailed`` when an ack does not come in time."""

    def __init__(self, settings: Settings) -> None:
        self._timeout = settings.webhook_ack_timeout.total_seconds()
        self.events_topic = settings.topic(DELIVERY_EVENTS)
        self.dlq_topic = settings.topic(WEBHOOKS_DLQ)
        self._producer = Producer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 2,
                "message.timeout.ms": max(1000, int(self._timeout * 1000)),
                "queue.buffering.max.messages": 200_000,
                "message.max.bytes": MAX_RECORD_BYTES,
                "log_level": 0,
            }
        )
        self._running = True
        self._poller = threading.Thread(target=self._poll, name="webhook-acks", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while self._running:
            self._producer.poll(0.05)

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Every event on ``delivery-events``, keyed by account and address, acknowledged."""
        records = [(event_key(e), orjson.dumps(e)) for e in events]
        self._produce(self.events_topic, records)

    def dead_letter(self, record: bytes, key: bytes | None) -> None:
        """One record on ``webhooks.dlq``, acknowledged."""
        self._produce(self.dlq_topic, [(key, record)])

    def _produce(self, topic: str, records: Sequence[tuple[bytes | None, bytes]]) -> None:
        """Acknowledged, or ``ProduceFailed``: librdkafka refusing a record locally (a
        ``KafkaException``: too large, a fatal producer state) is a failed production too,
        so the route answers 503 and the provider retries, never a 500."""
        try:
            produce_acknowledged(
                self._producer, topic, records, self._timeout + 1.0, polled_elsewhere=True
            )
        except KafkaException as error:
            raise ProduceFailed(f"Kafka refused the record: {error}") from None

    def close(self) -> None:
        """Stop serving callbacks and deliver what is still queued (at most 5 s)."""
        self._running = False
        self._poller.join(1.0)
        self._producer.flush(5.0)
