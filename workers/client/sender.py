"""The sender library: a ``ListView`` kept from the ``suppressions`` topic, decided locally.

A sender process builds one ``SenderClient``, starts it, and asks ``decide`` (one
address) or ``decide_many`` (a target group) in microseconds, with no call to any
service: the compacted topic is the source of truth, and the client reads it from the
start and then live (``SuppressionFeed``). A restarted sender simply reads the topic
again; the feed reads in large batches and a client that only decides can skip the
lists it does not need, so a million entries load in seconds (``benchmarks/``).

``ready`` says the view has caught up with what the topic held at start;
``staleness()`` says how far behind it is now; ``wait_for`` and ``wait_until`` let a
writer see its own change before it reports success. This module never imports faust.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from workers.client.feed import FeedError, SuppressionFeed
from workers.domain.decision import Decision, decide, decide_many
from workers.domain.types import ListKey, ListName, Stream
from workers.domain.view import ListView
from workers.kafka.topics import SUPPRESSIONS
from workers.settings import Settings

__all__ = ["DECISION_LISTS", "FeedError", "SenderClient", "Staleness"]

DECISION_LISTS: frozenset[ListName] = frozenset(ListName) - {ListName.URI_PATTERN}
"""Every list ``decide`` reads; a sender that never checks bodies can skip URI patterns."""


@dataclass(frozen=True, slots=True)
class Staleness:
    """How far the view is behind the topic: records not yet applied, quiet time, ready."""

    lag: int
    seconds_since_record: float | None  # None: no record read since start
    ready: bool


class SenderClient:
    """The sender library: a ListView kept from the suppressions topic; answers decide() locally.

    ``keep_details=False`` drops event ids, delivery ids and notes (a sender that only
    decides does not need them; an export does); ``lists`` limits the lists kept.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        keep_details: bool = True,
        lists: Iterable[ListName] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.view = ListView(keep_details=keep_details)
        self._feed = SuppressionFeed(
            settings.bootstrap_servers,
            settings.topic(SUPPRESSIONS),
            self.view,
            lists=lists,
            on_error=on_error,
        )
        self._started = False

    # --- life cycle -------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> SenderClient:
        """Start reading the topic in the background; does not wait for ready.

        Raises ``FeedError`` when the topic does not exist, ``KafkaException`` when no
        broker answers within ``timeout``.
        """
        self._feed.start(timeout)
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._feed.stop()

    def __enter__(self) -> SenderClient:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- freshness ----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether the view holds everything the topic held when the client started."""
        return self._feed.ready

    def wait_ready(self, timeout: float) -> bool:
        return self._feed.wait_ready(timeout)

    def staleness(self) -> Staleness:
        stats = self._feed.stats()
        return Staleness(stats.lag, stats.seconds_since_record, stats.ready)

    @property
    def records_read(self) -> int:
        """Records applied since start (skipped lists and undecodable records not counted)."""
        return self._feed.records

    @property
    def lock(self) -> threading.Condition:
        """Hold (``with client.lock:``) to iterate the view while no batch is applied."""
        return self._feed.lock

    def wait_for(self, key: ListKey, version: int, timeout: float) -> bool:
        """Wait until the view holds ``key`` at ``version`` or newer."""
        return self._feed.wait_for(key, version, timeout)

    def wait_until(self, condition: Callable[[ListView], bool], timeout: float) -> bool:
        """Wait until ``condition(view)`` holds (checked after every batch applied)."""
        return self._feed.wait_until(lambda: condition(self.view), timeout)

    # --- the decision -------------------------------------------------------------------

    def decide(
        self,
        account_id: str,
        address: str,
        stream: Stream | str = Stream.MARKETING,
        now: datetime | None = None,
    ) -> Decision:
        """SPEC §7 for one address; ``now`` (default: the clock) ends expired entries."""
        return decide(self.view, account_id, address, stream, now or datetime.now(UTC))

    def decide_many(
        self,
        account_id: str,
        addresses: Iterable[str],
        stream: Stream | str = Stream.MARKETING,
        now: datetime | None = None,
    ) -> list[Decision]:
        """``decide`` for each address, in order, with one clock read for the batch."""
        return decide_many(self.view, account_id, addresses, stream, now or datetime.now(UTC))
