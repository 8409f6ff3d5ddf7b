"""Keeps a ``ListView`` equal to the compacted ``suppressions`` topic: from the start, then live.

A background thread owns a confluent-kafka consumer that is assigned every partition
(no consumer group: every reader sees everything) and applies each record to the view,
which ignores stale or repeated versions. The feed is *ready* once it has read up to the
end offsets the topic had when it started; it also tracks how far behind it is and can
wait until a given record (key and version) is visible, for read-your-writes.

A ``CompactView`` started from nothing on a large topic is read by several processes at
once (``processes``): the feed keeps a share of the partitions and starts
``python -m suppressor_client.coldstart`` for each other share, which builds a view of
its partitions with the same loop and hands it back as a snapshot file; the feed merges
it (``CompactView.merge``) and reads those partitions on from where it ended. A process
that fails or takes too long loses nothing: the feed reads its partitions itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from suppressor_client.compact_view import CompactView
from suppressor_client.consuming import consume_ready
from suppressor_client.records import decode_key, decode_record
from suppressor_client.snapshot import read_snapshot
from suppressor_client.types import ListKey, ListName
from suppressor_client.view import ListView

__all__ = ["FeedError", "FeedStats", "Skip", "SuppressionFeed"]

_BATCH = 5000
# A fetch per partition of up to 16 MB (librdkafka's default of 1 MB made a cold start
# wait on the broker: 1M records took 5.7 s to arrive instead of 1.2 s); the queue it
# fills is drained as fast as it is applied.
_FETCH = {
    "max.partition.fetch.bytes": 16 << 20,
    "fetch.max.bytes": 64 << 20,
    "queued.max.messages.kbytes": 128 << 10,
}
_NEW_TOPIC_ERRORS = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
    }
)
"""What a topic created a moment ago answers until its partitions have leaders."""

PARALLEL_FROM = 200_000
"""Records on the topic from which a cold start is shared between processes: below it, a
process's start (0.3 s of CPU for the interpreter and the client's imports) and its
hand-over take much of the second or so its share saves."""
CHILD_SECONDS = 60.0
CHILD_SECONDS_A_RECORD = 50e-6
"""How long a cold-start process may take (a start, then ten times the 5 µs a record
measured) before the feed stops it and reads its partitions itself."""
Skip = Callable[[bytes | None, bytes | None], bool]
"""Whether a record (its raw key and value) is of no use to this reader: never decoded."""


def _list_of(key: bytes) -> str:
    """The list named by a key, without decoding it all (a skipped list costs one split).

    Account ids never hold a quote (``schemas/``), so the list is the text between the
    first two ``","``; anything unusual takes the full decoder.
    """
    parts = key.split(b'","', 2)
    if len(parts) == 3 and parts[0].startswith(b'["'):
        return parts[1].decode("utf-8", "replace")
    return decode_key(key).list.value


def _fits(offsets: Mapping[int, int], marks: Mapping[int, tuple[int, int]]) -> bool:
    """Whether a snapshot's offsets name every partition, each within what the topic holds."""
    return offsets.keys() == marks.keys() and all(
        low <= offsets[p] <= high for p, (low, high) in marks.items()
    )


def _release_heap() -> None:
    """Give the freed fetch buffers of the catch-up back to the system, once: glibc keeps
    them (about 600 MB after a million records read with 16 MB fetches); elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):  # no C library to ask, or not glibc
        ctypes.CDLL(None).malloc_trim(0)


def _shares(sizes: Mapping[int, int], count: int) -> list[list[int]]:
    """Partitions dealt into ``count`` shares of about as many records each (the largest
    first, each to the share with the fewest); the first share holds every partition of
    the shares left without records."""
    shares: list[list[int]] = [[] for _ in range(count)]
    totals = [0] * count
    for p in sorted(sizes, key=lambda p: (-sizes[p], p)):
        i = totals.index(min(totals))
        shares[i].append(p)
        totals[i] += sizes[p]
    first = [p for share, total in zip(shares, totals, strict=True) if not total for p in share]
    rest = [sorted(share) for share, total in zip(shares, totals, strict=True) if total]
    return [sorted(first + rest[0]), *rest[1:]] if rest else [sorted(first)]


@dataclass
class _Share:
    """A cold-start process reading some partitions into a snapshot file in ``directory``."""

    partitions: list[int]
    process: subprocess.Popen[bytes]
    directory: Path
    deadline: float

    def failure(self) -> str | None:
        """Why its view cannot be used (None: it can), once it has ended or overrun."""
        code = self.process.poll()
        if code is None:
            self.process.kill()
            self.process.wait()
            return "it took longer than allowed"
        if code != 0 or not (self.directory / "result.json").exists():
            log = (self.directory / "log").read_text(errors="replace").strip().splitlines()
            return f"it exited with code {code}: {' | '.join(log[-3:])}"
        return None

    def close(self) -> None:
        """Stop the process if it still runs, close its pipe, remove its directory."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class FeedError(RuntimeError):
    """The feed cannot read the topic (missing topic, broker gone); the message says which."""


@dataclass(frozen=True)
class FeedStats:
    ready: bool
    records: int
    skipped: int
    undecodable: int
    lag: int
    seconds_since_record: float | None


class SuppressionFeed:
    """Materialises ``topic`` into ``view``; only ``lists`` are kept when given.

    ``skip(key, value)``, when given, runs on each record as it is taken from the consumer
    and drops the ones it says are of no use before anything decodes them (counted as
    skipped); it runs on the feed's thread, so it must be cheap and thread-safe.
    ``fetch_min_bytes`` above 1 lets the broker hold a fetch until that much is there (50 ms
    at most): a reader that can wait that long then wakes for a few large batches of a
    busy topic instead of many small ones, each of which costs the thread its wake-up.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        view: ListView | None = None,
        *,
        lists: Iterable[ListName] | None = None,
        on_error: Callable[[str], None] | None = None,
        processes: int = 1,
        partitions: Collection[int] | None = None,
        skip: Skip | None = None,
        fetch_min_bytes: int = 1,
    ) -> None:
        """``processes``: how many read a cold start of a compact view on a large topic
        (1: this one alone); ``partitions``: read only these (a cold-start share's)."""
        self.topic = topic
        self.view = view if view is not None else ListView()
        self._lists = frozenset(lists) if lists is not None else None
        self._skip = skip
        self._on_error = on_error or (lambda _msg: None)
        self._bootstrap = bootstrap
        self._processes = processes
        self._only = frozenset(partitions) if partitions is not None else None
        self._shares: list[_Share] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "suppression-feed",  # required by the client; never joined
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "fetch.wait.max.ms": 50,
                "fetch.min.bytes": fetch_min_bytes,
                "log_level": 0,
                **_FETCH,
            }
        )
        self._compact: CompactView | None = None
        self._cluster: str | None = None  # the cluster's id, once asked or started
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._targets: dict[int, int] = {}
        self._positions: dict[int, int] = {}
        self._high: dict[int, int] = {}
        self.records = 0
        self.skipped = 0
        self.undecodable = 0
        self._last_record_at: float | None = None
        self.error: str | None = None

    # --- life cycle -------------------------------------------------------------------

    def cluster_id(self, timeout: float = 30.0) -> str:
        """The id of the cluster the topic is read from (a snapshot names it): asked of the
        broker before ``start``, the one ``start`` read after it (a metadata request made
        while the reading thread waits at the topic's end could outwait ``timeout``)."""
        if self._cluster is None:
            metadata = self._consumer.list_topics(self.topic, timeout=timeout)
            self._cluster = str(metadata.cluster_id or "")
        return self._cluster

    def start(
        self, timeout: float = 30.0, offsets: Mapping[int, int] | None = None
    ) -> SuppressionFeed:
        """Assign every partition and start reading in the background.

        Without ``offsets`` every partition is read from the beginning. With them (a
        snapshot's: the next offset per partition) the view already holds what comes
        before; when they do not fit the topic (a partition added, an offset the topic
        no longer holds or never held), they are reported and dropped, and an empty view
        of the same kind is read from the beginning instead.
        """
        metadata = self._consumer.list_topics(self.topic, timeout=timeout)
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise FeedError(f"topic {self.topic} does not exist (run: suppressor topics)")
        self._cluster = str(metadata.cluster_id or "")
        partitions = sorted(p for p in topic.partitions if self._only is None or p in self._only)
        deadline = time.monotonic() + timeout
        marks = {p: self._watermarks(p, deadline) for p in partitions}
        if offsets is not None and not _fits(offsets, marks):
            self._report(
                f"snapshot offsets {dict(offsets)} do not fit {self.topic}: reading it all"
            )
            self.view = CompactView() if isinstance(self.view, CompactView) else ListView()
            offsets = None
        own = partitions
        if isinstance(self.view, CompactView):
            if offsets is None:
                sizes = {p: high - low for p, (low, high) in marks.items()}
                self.view.reserve(sum(sizes.values()))
                # a share's process reads every record: a reader that skips some reads alone
                parallel = self._processes > 1 and self._skip is None
                if parallel and sum(sizes.values()) >= PARALLEL_FROM:
                    own, *others = _shares(sizes, self._processes)
                    for share in others:
                        try:
                            self._shares.append(self._spawn(share, sizes))
                        except OSError as exc:  # no process to be had: read them here
                            self._report(f"no cold-start process for {share} ({exc})")
                            own = sorted(own + share)
            self._compact = self.view  # records skip ListRecord, a batch at a time
        for p, (low, high) in marks.items():
            self._targets[p] = high
            self._high[p] = high
            self._positions[p] = low if offsets is None else offsets[p]
        self._consumer.assign(
            [
                TopicPartition(self.topic, p, OFFSET_BEGINNING if offsets is None else offsets[p])
                for p in own
            ]
        )
        self._check_ready()
        self._thread = threading.Thread(target=self._run, name=f"feed-{self.topic}", daemon=True)
        self._thread.start()
        return self

    def _watermarks(self, partition: int, deadline: float) -> tuple[int, int]:
        """End offsets of one partition, retrying what a just-created topic answers at first
        (no leader yet) until the deadline."""
        while True:
            try:
                low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition),
                    timeout=max(0.5, deadline - time.monotonic()),
                )
                return low, high
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                retriable = error is not None and (
                    error.retriable() or error.code() in _NEW_TOPIC_ERRORS
                )
                if not retriable or time.monotonic() > deadline:
                    raise FeedError(
                        f"cannot read the end offsets of {self.topic}[{partition}]: {exc}"
                    ) from exc
                time.sleep(0.2)

    def _spawn(self, partitions: list[int], sizes: Mapping[int, int]) -> _Share:
        """Start a process reading ``partitions`` from the beginning into a snapshot file."""
        directory = Path(tempfile.mkdtemp(prefix="suppressor-cold-start-"))
        task = {
            "bootstrap": self._bootstrap,
            "topic": self.topic,
            "partitions": partitions,
            "lists": None if self._lists is None else sorted(n.value for n in self._lists),
            "directory": str(directory),
        }
        package = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join([package, os.environ.get("PYTHONPATH", "")])
        with (directory / "log").open("wb") as log:
            process = subprocess.Popen(  # a new interpreter: no fork of librdkafka's threads
                [sys.executable, "-m", "suppressor_client.coldstart", orjson.dumps(task)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,  # its end: ours
                env={**os.environ, "PYTHONPATH": path},
            )  # fmt: skip
        records = sum(sizes[p] for p in partitions)
        seconds = CHILD_SECONDS + CHILD_SECONDS_A_RECORD * records
        return _Share(partitions, process, directory, time.monotonic() + seconds)

    def _take_shares(self) -> None:
        """Merge the view of each cold-start process that has ended, and read on from
        where it stopped; read a failed one's partitions from the beginning instead."""
        for share in list(self._shares):
            if share not in self._shares:  # stopped by a start over meanwhile
                continue
            if share.process.poll() is None and time.monotonic() < share.deadline:
                continue
            self._shares.remove(share)
            try:
                failure = share.failure()
                if failure is None:
                    self._merge(share)
            except Exception as exc:  # an unreadable file, a broken view: read it here
                failure = f"its view could not be merged: {exc}"
            finally:
                share.close()
            if failure is not None and not self._stop.is_set():
                where = f"{self.topic} partitions {share.partitions}"
                self._report(f"the cold-start process reading {where} failed ({failure}): "
                             "reading them here")  # fmt: skip
                self._consumer.incremental_assign(
                    [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in share.partitions]
                )

    def _merge(self, share: _Share) -> None:
        result = orjson.loads((share.directory / "result.json").read_bytes())
        snapshot = read_snapshot(share.directory / "view.snap", topic=self.topic,
                                 cluster_id=result["cluster_id"], now=datetime.now(UTC),
                                 max_age=timedelta(days=1))  # fmt: skip
        if sorted(snapshot.offsets) != share.partitions:
            raise ValueError(f"it read partitions {sorted(snapshot.offsets)}")
        assert self._compact is not None
        with self._changed:
            try:
                self._compact.merge(snapshot.view)
            except Exception as exc:  # part-way: the view may hold some of it, twice if re-read
                self._start_over(f"merging the view of {self.topic} partitions "
                                 f"{share.partitions} failed ({exc!r})")  # fmt: skip
                return
            self._positions.update(snapshot.offsets)
            self.records += result["records"]
            self.skipped += result["skipped"]
            self.undecodable += result["undecodable"]
        for message in result["errors"]:
            self._report(f"cold-start process: {message}")
        self._consumer.incremental_assign(
            [TopicPartition(self.topic, p, o) for p, o in snapshot.offsets.items()]
        )

    def _start_over(self, why: str) -> None:
        """Read the whole topic here into a new view, the other processes stopped."""
        self._report(f"{why}: reading the whole topic in this process")
        for share in self._shares:
            share.close()
        self._shares = []
        view = CompactView()
        view.reserve(sum(self._targets.values()))
        with self._changed:
            self.view = self._compact = view
            self.records = self.skipped = self.undecodable = 0
            self._positions.update(dict.fromkeys(self._targets, 0))
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING)
                               for p in self._targets])  # fmt: skip

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for share in self._shares:  # still reading: not needed any more
            share.close()
        self._shares = []
        self._consumer.close()

    def __enter__(self) -> SuppressionFeed:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- reading ----------------------------------------------------------------------

    def _run(self) -> None:
        last_watermarks = 0.0
        while not self._stop.is_set():
            try:
                messages = consume_ready(self._consumer, _BATCH, wait=0.1)
            except Exception as exc:  # the client library raised: report and go on
                self._report(f"consume failed: {exc}")
                continue
            if messages:
                with self._changed:  # iterating readers (export) hold it: no change mid-way
                    self._apply_batch(messages)
                    self._last_record_at = time.monotonic()
                    self._changed.notify_all()
            if self._shares:
                self._take_shares()
            if not self._ready.is_set():
                self._check_ready()
            if time.monotonic() - last_watermarks > 1.0:
                self._refresh_high()
                last_watermarks = time.monotonic()

    def _apply_batch(self, messages: list[Message]) -> None:
        records = []
        for msg in messages:
            err = msg.error()
            if err is None:
                records.append((msg.key(), msg.value()))
            elif err.code() != KafkaError._PARTITION_EOF:
                self._report(f"read error: {err}")
        if self._skip is not None:  # never decoded, counted as skipped
            kept = [record for record in records if not self._skip(*record)]
            self.skipped += len(records) - len(kept)
            records = kept
        if self._compact is not None:
            if self._lists is not None:
                records = self._kept(records)
            errors = self._compact.apply_encoded_many(records)
            self.records += len(records) - len(errors)
            self.undecodable += len(errors)
            for error in errors:
                self._report(f"undecodable record skipped: {error}")
        else:
            for key, value in records:
                self._apply(key, value)
        self._advance()

    def _kept(
        self, records: list[tuple[bytes | None, bytes | None]]
    ) -> list[tuple[bytes | None, bytes | None]]:
        """The records of the lists kept; the others counted as skipped (a key that does
        not say its list goes on, to be counted undecodable)."""
        lists, kept = self._lists, []
        assert lists is not None
        for key, value in records:
            try:
                if key is not None and _list_of(key) not in lists:
                    self.skipped += 1
                    continue
            except ValueError:
                pass
            kept.append((key, value))
        return kept

    def _advance(self) -> None:
        """Positions after a batch: the consumer's (the last offset it returned, + 1)."""
        positions, high = self._positions, self._high
        for tp in self._consumer.position([TopicPartition(self.topic, p) for p in positions]):
            if tp.offset >= 0:
                positions[tp.partition] = tp.offset
                if tp.offset > high.get(tp.partition, 0):
                    high[tp.partition] = tp.offset

    @property
    def lock(self) -> threading.Condition:
        """Held while a batch is applied: hold it to iterate the view consistently."""
        return self._changed

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            self.undecodable += 1
            return
        try:
            if self._lists is not None and _list_of(key) not in self._lists:
                self.skipped += 1
                return
            self.view.apply(*decode_record(key, value))  # a compact view takes the batch path
        except ValueError as exc:
            self.undecodable += 1
            self._report(f"undecodable record skipped: {exc}")
            return
        self.records += 1

    def _check_ready(self) -> None:
        if not self._shares and all(
            self._positions.get(p, 0) >= high for p, high in self._targets.items()
        ):
            self._ready.set()
            _release_heap()

    def _refresh_high(self) -> None:
        for p in list(self._high):
            try:
                _low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self.topic, p), timeout=1.0, cached=True
                )
            except Exception:
                continue
            self._high[p] = max(self._high[p], high)

    def _report(self, message: str) -> None:
        self.error = message
        self._on_error(message)

    # --- what callers ask -------------------------------------------------------------

    def positions(self) -> dict[int, int]:
        """The next offset to read per partition (hold ``lock`` to pair it with the view)."""
        return dict(self._positions)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the view holds everything the topic had when the feed started."""
        return self._ready.wait(timeout)

    def lag(self) -> int:
        """Records on the topic not yet applied (as of the last known end offsets)."""
        return sum(max(0, high - self._positions.get(p, 0)) for p, high in self._high.items())

    def stats(self) -> FeedStats:
        since = None if self._last_record_at is None else time.monotonic() - self._last_record_at
        return FeedStats(
            self.ready, self.records, self.skipped, self.undecodable, self.lag(), since
        )

    def wait_for(self, key: ListKey, version: int, timeout: float) -> bool:
        """Wait until the view holds ``key`` at ``version`` or newer (or has released it)."""

        def held() -> bool:
            version_held = self.view.version_of(key)
            return version_held is not None and version_held >= version

        return self.wait_until(held, timeout)

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` holds, re-checked after every batch applied."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if condition():
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.1))
