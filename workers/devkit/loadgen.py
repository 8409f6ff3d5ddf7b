"""Synthetic events and a rate-limited producer (confluent-kafka), for the demo and benchmarks.

Every record it makes matches ``schemas/``; the mix of sources, domains and bounce kinds is
seeded, so two runs with the same seed produce the same input.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from confluent_kafka import KafkaError, Producer

from workers.kafka.producing import produce_retrying

__all__ = [
    "BOUNCES",
    "LoadStats",
    "bounce",
    "command",
    "customer_event",
    "delivery",
    "mixed_deliveries",
    "mixed_customer_events",
    "pace",
    "produce_all",
]

DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "example.org", "shop.example", "allegro.com")
SOURCES = ("storefront", "popup", "api", "import")

BOUNCES: dict[str, dict[str, Any]] = {
    "nonexistent": {
        "smtp_status": "5.1.1",
        "smtp_code": 550,
        "diagnostic": "550 5.1.1 user unknown",
    },
    "condition": {"smtp_status": "4.2.2", "smtp_code": 452, "diagnostic": "452 4.2.2 mailbox full"},
    "policy": {
        "smtp_status": "5.7.1",
        "smtp_code": 550,
        "diagnostic": "550 5.7.1 likely unsolicited mail, blocked",
    },
    "unknown": {"smtp_code": 554, "diagnostic": "554 transaction failed"},
}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _id() -> str:
    return uuid.uuid4().hex


def _envelope(account: str, kind: str, when: datetime | None, **fields: Any) -> dict[str, Any]:
    """The fields every event and command carries, then its own."""
    return {
        "event_id": _id(),
        "account_id": account,
        "occurred_at": _iso(when or datetime.now(UTC)),
        "type": kind,
        **fields,
    }


def customer_event(
    account: str, email: str, source: str, *, when: datetime | None = None, kind: str = "subscribe"
) -> dict[str, Any]:
    return _envelope(account, kind, when, source=source, email=email)


def delivery(
    account: str, email: str, kind: str, *, when: datetime | None = None, **fields: Any
) -> dict[str, Any]:
    event = _envelope(account, kind, when, email=email, delivery_id=f"dlv-{uuid.uuid4().hex[:12]}")
    event["stream"] = "marketing"
    event.update(fields)
    return event


def bounce(
    account: str, email: str, outcome: str, *, when: datetime | None = None
) -> dict[str, Any]:
    """A bounce that the classifier reads as ``outcome`` (a key of ``BOUNCES``)."""
    return delivery(account, email, "bounce", when=when, **BOUNCES[outcome])


def command(
    account: str, kind: str, *, when: datetime | None = None, **fields: Any
) -> dict[str, Any]:
    return _envelope(account, kind, when, **fields)


def mixed_customer_events(n: int, accounts: int = 10, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        account = f"acct-{rng.randrange(accounts)}"
        email = f"user{rng.randrange(n * 2)}.{i % 7}@{rng.choice(DOMAINS)}"
        yield customer_event(account, email, rng.choice(SOURCES))


def mixed_deliveries(
    n: int, accounts: int = 10, addresses: int = 50_000, seed: int = 11
) -> Iterator[dict[str, Any]]:
    """Deliveries, bounces of every class, complaints and unsubscribes, in a realistic mix."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=1)
    for i in range(n):
        account = f"acct-{rng.randrange(accounts)}"
        email = f"r{rng.randrange(addresses)}@{rng.choice(DOMAINS)}"
        when = start + timedelta(milliseconds=i)
        roll = rng.random()
        if roll < 0.70:
            yield delivery(account, email, "delivered", when=when)
        elif roll < 0.92:
            yield bounce(account, email, rng.choice(tuple(BOUNCES)), when=when)
        elif roll < 0.96:
            yield delivery(account, email, "unsubscribe", when=when)
        else:
            yield delivery(account, email, "complaint", when=when, feedback_type="abuse")


@dataclass
class LoadStats:
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def pace(producer: Producer, started: float, sent: int, rate: float) -> None:
    """Hold ``rate`` events/s after ``sent`` events since ``started`` (monotonic clock).

    It sleeps only once a millisecond or more ahead: sleeping after every event costs
    the load generator CPU that the measured processes share.
    """
    ahead = sent / rate - (time.monotonic() - started)
    if ahead > 0.001:
        producer.poll(0)
        time.sleep(ahead)


def produce_all(
    bootstrap: str,
    topic: str,
    events: Iterable[dict[str, Any] | bytes],
    *,
    rate: float | None = None,
    key: Callable[[dict[str, Any]], bytes | None] | None = None,
    progress: Callable[[int], None] | None = None,
    timeout: float = 60.0,
) -> LoadStats:
    """Produce events (dicts as JSON, bytes as they are), at most ``rate`` per second."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 500000,
            "log_level": 0,
        }
    )
    stats = LoadStats()

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            stats.failed += 1

    started = time.monotonic()
    for i, event in enumerate(events):
        if isinstance(event, bytes):
            value, k = event, None
        else:
            value, k = orjson.dumps(event), key(event) if key else None
        produce_retrying(producer, topic, value, k, on_delivery)
        stats.sent += 1
        if rate:
            pace(producer, started, i + 1, rate)
        if i % 1000 == 0:
            producer.poll(0)
            if progress is not None:
                progress(i)
    remaining = producer.flush(timeout)
    stats.failed += remaining
    stats.seconds = time.monotonic() - started
    return stats
