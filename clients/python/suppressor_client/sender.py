"""The sender library: a ``ListView`` kept from the ``suppressions`` topic, decided locally.

A sender process builds one ``SenderClient``, starts it, and asks ``decide`` (one
address) or ``decide_many`` (a target group) in microseconds, with no call to any
service: the compacted topic is the source of truth, and the client reads it from the
start and then live (``SuppressionFeed``). A restarted sender simply reads the topic
again; the feed reads in large batches and a client that only decides can skip the
lists it does not need.

A decide-only sender (``compact=True``) keeps a ``CompactView`` (under 100 bytes an
entry) and, with a snapshot file (``ClientConfig.snapshot_path``), writes it to
its own disk with the offsets it reflects (``snapshot.py``): every
``snapshot_interval`` and at ``stop``. A restart loads that file and reads only the
tail of the topic; a torn, stale or foreign file is reported and the topic read whole.

``ready`` says the view has caught up with what the topic held at start;
``staleness()`` says how far behind it is now; ``wait_for`` and ``wait_until`` let a
writer see its own change before it reports success. This module never imports faust.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, TypedDict

from suppressor_client.compact_view import CompactView
from suppressor_client.config import ClientConfig
from suppressor_client.decision import Decision, decide, decide_many
from suppressor_client.feed import FeedError, Skip, SuppressionFeed
from suppressor_client.snapshot import (
    SnapshotError,
    SnapshotMismatch,
    begin_snapshot,
    read_snapshot,
)
from suppressor_client.types import ListKey, ListName, Stream
from suppressor_client.view import ListView

__all__ = [
    "DECISION_LISTS",
    "FeedError",
    "SenderClient",
    "SenderOptions",
    "Staleness",
    "ViewDecisions",
]

DECISION_LISTS: frozenset[ListName] = frozenset(ListName) - {ListName.URI_PATTERN}
"""Every list ``decide`` reads; a sender that never checks bodies can skip URI patterns."""


@dataclass(frozen=True, slots=True)
class Staleness:
    """How far the view is behind the topic: records not yet applied, quiet time, ready."""

    lag: int
    seconds_since_record: float | None  # None: no record read since start
    ready: bool


class SenderOptions(TypedDict, total=False):
    """``SenderClient``'s keyword options, for an adapter that passes them on unchanged."""

    keep_details: bool
    lists: Iterable[ListName] | None
    on_error: Callable[[str], None] | None
    compact: bool
    snapshot_path: Path | None
    skip: Skip | None
    fetch_min_bytes: int


class _HoldsView(Protocol):
    @property
    def view(self) -> ListView: ...


class ViewDecisions:
    """``decide`` and ``decide_many`` over ``self.view``, written once for all that hold a view.

    The client keeps its view from the topic; an in-memory stand-in holds one directly.
    Both decide the same way, so the two methods live here and are inherited.
    """

    def decide(
        self: _HoldsView,
        account_id: str,
        address: str,
        stream: Stream | str = Stream.MARKETING,
        now: datetime | None = None,
    ) -> Decision:
        """SPEC §7 for one address; ``now`` (default: the clock) ends expired entries."""
        return decide(self.view, account_id, address, stream, now or datetime.now(UTC))

    def decide_many(
        self: _HoldsView,
        account_id: str,
        addresses: Iterable[str],
        stream: Stream | str = Stream.MARKETING,
        now: datetime | None = None,
    ) -> list[Decision]:
        """``decide`` for each address, in order, with one clock read for the batch."""
        return decide_many(self.view, account_id, addresses, stream, now or datetime.now(UTC))


class SenderClient(ViewDecisions):
    """The sender library: a ListView kept from the suppressions topic; answers decide() locally.

    ``keep_details=False`` drops event ids, delivery ids and notes (a sender that only
    decides does not need them; an export does); ``lists`` limits the lists kept;
    ``compact=True`` keeps a ``CompactView`` (no details) that ``snapshot_path`` (default:
    the config's, when compact) persists between restarts. ``skip(key, value)`` drops the
    records it names before they are decoded (``SuppressionFeed``); such a view misses
    them, so it cannot be snapshotted. ``fetch_min_bytes`` trades up to 50 ms of latency
    for fewer, larger batches (``SuppressionFeed``).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        keep_details: bool = True,
        lists: Iterable[ListName] | None = None,
        on_error: Callable[[str], None] | None = None,
        compact: bool = False,
        snapshot_path: Path | None = None,
        skip: Skip | None = None,
        fetch_min_bytes: int = 1,
    ) -> None:
        self.config = config
        if snapshot_path is None and compact:
            snapshot_path = config.snapshot_path
        if snapshot_path is not None and not compact:
            raise ValueError("a snapshot holds a compact view: pass compact=True")
        if snapshot_path is not None and skip is not None:
            raise ValueError("a view that skips records cannot be snapshotted")
        self._snapshot_path = snapshot_path
        self._on_error = on_error or (lambda _msg: None)
        self._feed = SuppressionFeed(
            config.bootstrap_servers,
            config.topic,
            CompactView() if compact else ListView(keep_details=keep_details),
            lists=lists,
            on_error=on_error,
            processes=config.cold_start_processes or min(2, os.cpu_count() or 1),
            skip=skip,
            fetch_min_bytes=fetch_min_bytes,
        )
        self._started = False
        self._cluster_id = ""
        self._saver: threading.Thread | None = None
        self._stopping = threading.Event()
        self._saving = threading.Lock()
        self.snapshot_status = "none"
        """How the start went: none, loaded, missing, corrupt or refused (another topic)."""

    @property
    def view(self) -> ListView:
        """The view decisions read (the feed may replace it once, at start)."""
        return self._feed.view

    # --- life cycle -------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> Self:
        """Start reading the topic in the background; does not wait for ready.

        Raises ``FeedError`` when the topic does not exist, ``KafkaException`` when no
        broker answers within ``timeout``.
        """
        offsets = self._load_snapshot(timeout) if self._snapshot_path is not None else None
        self._feed.start(timeout, offsets)
        self._started = True
        if self._snapshot_path is not None:
            self._saver = threading.Thread(target=self._save_often, name="snapshot", daemon=True)
            self._saver.start()
        return self

    def stop(self) -> None:
        """Stop reading; with a snapshot file, write it one last time (once ready)."""
        if self._started:
            self._started = False
            self._stopping.set()
            if self._saver is not None:
                self._saver.join(timeout=60)
            try:
                if self._snapshot_path is not None and self.ready:
                    self.save_snapshot()
            finally:
                self._feed.stop()

    # --- the snapshot -------------------------------------------------------------------

    def _load_snapshot(self, timeout: float) -> dict[int, int] | None:
        assert self._snapshot_path is not None
        self._cluster_id = self._feed.cluster_id(timeout)
        try:
            snapshot = read_snapshot(
                self._snapshot_path,
                topic=self._feed.topic,
                cluster_id=self._cluster_id,
                now=datetime.now(UTC),
                max_age=self.config.snapshot_max_age,
            )
        except FileNotFoundError:
            self.snapshot_status = "missing"
            return None
        except SnapshotError as exc:
            self.snapshot_status = "refused" if isinstance(exc, SnapshotMismatch) else "corrupt"
            self._on_error(f"{exc}; reading {self._feed.topic} from the start")
            return None
        self.snapshot_status = "loaded"
        self._feed.view = snapshot.view
        return dict(snapshot.offsets)

    def save_snapshot(self) -> int:
        """Write the view and its offsets to the snapshot file now; the bytes written."""
        view = self.view
        if self._snapshot_path is None or not isinstance(view, CompactView):
            raise ValueError("this client has no snapshot file")
        # No batch is applied while the arrays are written in place (not copied: a copy
        # holds the interpreter, so every decision, for ~0.5 s at 10M entries); the
        # ``fsync`` comes after, with the feed going on. One save at a time: two would
        # share the temporary file.
        with self._saving:
            with self._feed.lock, view.exported() as state:
                pending = begin_snapshot(
                    self._snapshot_path,
                    state,
                    topic=self._feed.topic,
                    cluster_id=self._cluster_id,
                    offsets=self._feed.positions(),
                    now=datetime.now(UTC),
                )
            return pending.commit()

    def _save_often(self) -> None:
        interval = self.config.snapshot_interval.total_seconds()
        while not self._stopping.wait(interval):
            if self.ready:
                try:
                    self.save_snapshot()
                except OSError as exc:  # a full disk must not stop the sender deciding
                    self._on_error(f"snapshot not written: {exc}")

    def __enter__(self) -> Self:
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
