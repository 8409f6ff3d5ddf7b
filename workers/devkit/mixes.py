"""Delivery-event mixes shaped like a real platform's feed, for the benchmarks and chaos runs.

A real email platform's delivery feed is mostly ``delivered`` (about 90%), a few percent
bounces and fewer complaints and unsubscribes; its recipients are a fixed population of
which a few are mailed very often and most now and then (a Zipf-like draw). The keyed
stage's cost depends on exactly that shape (how many events find state, how big the
state of a hot address grows), so the benchmark measures it on this mix and not only on
``loadgen.mixed_deliveries`` (70% deliveries, a fresh address nearly every time).

Every mix is seeded: two runs with the same arguments produce the same events (ids too).
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workers.devkit.loadgen import DOMAINS, bounce, delivery

__all__ = [
    "REALISTIC",
    "EventKind",
    "Recipients",
    "distinct_deliveries",
    "realistic_deliveries",
]


@dataclass(frozen=True, slots=True)
class EventKind:
    """One kind of delivery event and its share of the feed."""

    share: float
    type: str
    bounce: str | None = None  # a key of ``loadgen.BOUNCES`` for bounces


REALISTIC: tuple[EventKind, ...] = (
    EventKind(0.900, "delivered"),  # issue 12: ~90% of a real platform's delivery events
    EventKind(0.020, "bounce", "nonexistent"),  # ~7% bounces, every class
    EventKind(0.025, "bounce", "condition"),
    EventKind(0.015, "bounce", "policy"),
    EventKind(0.010, "bounce", "unknown"),
    EventKind(0.010, "complaint"),  # ~3% complaints and unsubscribes
    EventKind(0.015, "unsubscribe"),
    EventKind(0.005, "list_unsubscribe"),
)
"""The realistic mix, one row per kind (shares sum to 1)."""


class Recipients:
    """A fixed population of (account, address) pairs drawn Zipf-like: rank r ~ 1 / r**s.

    With s = 1 over 100,000 recipients, the top 1,000 receive more than half of the mail
    and most recipients are mailed again and again over a long run.
    """

    def __init__(self, population: int, accounts: int, exponent: float, rng: random.Random):
        self.population = population
        self.accounts = accounts
        self._cumulative = list(
            itertools.accumulate(1.0 / (r**exponent) for r in range(1, population + 1))
        )
        self._rng = rng

    def draw(self) -> tuple[str, str]:
        """One (account, address): ranks spread over accounts and domains deterministically."""
        point = self._rng.random() * self._cumulative[-1]
        rank = bisect.bisect_left(self._cumulative, point)
        account = f"acct-{rank % self.accounts}"
        return account, f"z{rank}@{DOMAINS[rank % len(DOMAINS)]}"


def _event_id(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def realistic_deliveries(
    n: int,
    *,
    population: int = 100_000,
    accounts: int = 8,
    exponent: float = 1.0,
    seed: int = 12,
    start: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """``n`` delivery events in the ``REALISTIC`` mix over a Zipf-drawn population.

    Events are 1 ms apart from ``start`` (default: an hour ago), so their ``occurred_at``
    order is their production order.
    """
    rng = random.Random(seed)
    recipients = Recipients(population, accounts, exponent, rng)
    cumulative = list(itertools.accumulate(k.share for k in REALISTIC))
    begin = start or datetime.now(UTC) - timedelta(hours=1)
    for i in range(n):
        account, email = recipients.draw()
        kind = REALISTIC[min(bisect.bisect_left(cumulative, rng.random()), len(REALISTIC) - 1)]
        when = begin + timedelta(milliseconds=i)
        if kind.bounce is not None:
            event = bounce(account, email, kind.bounce, when=when)
        elif kind.type == "complaint":
            event = delivery(account, email, "complaint", when=when, feedback_type="abuse")
        else:
            event = delivery(account, email, kind.type, when=when)
        event["event_id"] = _event_id(rng)
        event["delivery_id"] = f"dlv-{_event_id(rng)[:12]}"
        yield event


def distinct_deliveries(
    n: int, *, accounts: int = 8, tag: str = "d", start: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """``n`` ``delivered`` events, each to an address never mailed before (no bounce at all)."""
    begin = start or datetime.now(UTC) - timedelta(hours=1)
    for i in range(n):
        when = begin + timedelta(microseconds=i)
        yield delivery(f"acct-{i % accounts}", f"{tag}{i}@{DOMAINS[i % len(DOMAINS)]}", "delivered",
                       when=when)  # fmt: skip
