"""Entry counts per partition, kept in a RocksDB table so the gauges survive restarts.

The address agent hands the deltas of each change to ``Counts.add``; they are summed in
memory and written once per commit (``flush``, run by the sink's flush hook before the
changelogs are flushed and the offsets committed), so a long import costs one counter
write per commit and key, not one per row (issue 12). The gauge timer sums every active
partition. One key per ``c|<reason>|<category>|<domain>``.

After a crash the address states can be ahead of the counts: RocksDB keeps the states
written since the last commit, the deltas of those changes died with the process, and a
replay finds the states already changed (a repeated event id) and adds nothing. So the
first change of a partition after a flush writes a marker key into the *address* table,
before its state: on the same changelog partition, so recovery restores it with any state
written after it. The marker is deleted once the counts it waited for are acknowledged. A
restart on the same store replays the changelog from a persisted offset that lags the
store, and the replayed deletion of a marker must not take a newer marker (written, with
states, only into RocksDB before the kill) with it: so each process writes its markers
under keys of its own (``MARKER``, a token drawn per partition, one of two slots taken in
turn). A slot is written again only after the other slot's deletion was flushed, and the
sink persists the acknowledged changelog offsets before ``flushed`` deletes a marker, so
by then the slot's own deletion lies behind the persisted offset and no recovery replays
it (a partition given up draws a new token: its markers stay for the next owner); two
slots also keep the deleted keys RocksDB walks past to find the markers few. Without the
sink (``exactly_once``) nothing persists the changelog offsets while faust runs, so a
replay can start far behind and every marker takes a key never used before
(``reuse_slots=False``). A marker found that this process did not write means the counts
of that partition may be short: they are counted again from the address states, in slices
of ``RECOUNT_SLICE`` states, one slice per commit (a slice runs on the event loop, ~23 µs
a state: a whole large partition at once would outlast the session timeout). Until the
last slice the partition's old counters stay as they are and its marker stays; a change
to a state already counted is added to the fresh count, one to a state not yet reached is
left for the scan to read. A stored state that cannot be decoded is skipped and counted
in the log line, so one bad state never makes every commit fail.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from workers.kafka.faust_store import (
    BytesTable,
    RocksHandle,
    active_dbs,
    active_partitions,
    partition_db,
    write_partition,
)

__all__ = ["MARKER", "Counts", "totals"]

log = logging.getLogger(__name__)

MARKER = b"\x00counts-not-flushed"
"""In the address table, the prefix of the keys that say: this partition changed since its
counts were last flushed (a store of an earlier release has this key alone)."""

_PREFIX = b"c|"

RECOUNT_SLICE = 20_000
"""Address states counted again per commit after a crash (~0.5 s of the event loop)."""

Deltas = Iterable[tuple[bytes, int]]
Recount = Callable[[bytes, bytes], Deltas]
"""The counters of one stored address state (key, stored bytes), counted from nothing."""


@dataclass
class _Scan:
    """A recount in progress: the counters so far and the last address key counted."""

    fresh: Counter[bytes] = field(default_factory=Counter)
    after: bytes | None = None
    states: int = 0
    skipped: int = 0
    markers: set[bytes] = field(default_factory=set)  # found stale; go once it is flushed


class Counts:
    """Counter deltas waiting for the next commit, per partition of the address table."""

    def __init__(
        self,
        table: BytesTable,
        states: BytesTable,
        recount: Recount,
        ready: Callable[[], bool],
        slice_states: int = RECOUNT_SLICE,
        *,
        reuse_slots: bool = True,
    ) -> None:
        self.table = table
        self.states = states
        self.recount = recount
        self.ready = ready  # False while tables recover: no state is complete yet
        self.slice_states = slice_states
        self.reuse_slots = reuse_slots  # only where the offsets are persisted at each flush
        self._pending: dict[int, Counter[bytes]] = {}
        self._stale: dict[int, set[bytes]] = {}  # to count again: the markers that said so
        self._scans: dict[int, _Scan] = {}  # partitions being counted again, slice by slice
        self._flushed: set[int] = set()  # partitions whose markers go once the flush is acked
        self._own: dict[int, bytes] = {}  # the marker this process wrote, not yet deleted
        self._counted: dict[int, set[bytes]] = {}  # others' markers, their recount flushed
        self._next: dict[int, tuple[bytes, int]] = {}  # the token and slot of the next marker

    def add(self, partition: int, deltas: list[tuple[bytes, int]], state_key: bytes) -> None:
        """Note the deltas of a change to ``state_key``'s state; call inside the address agent
        before the state is written."""
        if not deltas:
            return
        scan = self._scans.get(partition)
        if scan is not None and (scan.after is None or state_key > scan.after):
            return  # a state the recount has not reached: it reads the new one
        pending = self._pending.get(partition)
        if pending is None:
            if partition in self._flushed:  # our marker, its deletion not yet due: keep it
                self._flushed.discard(partition)
            elif partition not in self._own:  # (it is kept through a recount's slices too)
                self._note_stale(partition)  # markers left by a process that died
                marker = self._own[partition] = self._new_marker(partition)
                write_partition(self.states, partition, marker, b"1")  # as the states are
            pending = self._pending[partition] = Counter()
        for key, delta in deltas:
            pending[key] += delta

    def check(self) -> None:
        """Find markers this process did not write (a crash before a flush; call when idle)."""
        if not self.ready():
            return
        owned = active_partitions(self.states)
        busy = self._pending.keys() | self._scans.keys() | self._flushed  # (flushed: markers
        for partition in owned - busy:  # whose deletion waits for the commit to complete)
            if self._note_stale(partition):
                self._pending[partition] = Counter()

    def _new_marker(self, partition: int) -> bytes:
        token, slot = self._next.get(partition) or (uuid.uuid4().hex[:12].encode(), 0)
        self._next[partition] = token, (1 - slot) if self.reuse_slots else slot + 1
        return MARKER + b"%s.%d" % (token, slot)

    def _note_stale(self, partition: int) -> bool:
        """Whether the partition holds markers this process did not write, nor counted
        already (noted if so)."""
        known = self._counted.get(partition, set()) | {self._own.get(partition)}
        found = {k for k in _markers(partition_db(self.states, partition)) if k not in known}
        if found:
            self._stale.setdefault(partition, set()).update(found)
        return bool(found)

    def flush(self) -> None:
        """Write the gathered deltas (or a fresh count of a stale partition); call at a commit.

        A partition this process no longer owns is skipped: its marker stays, so its new
        owner counts it again.
        """
        pending, self._pending = self._pending, {}
        owned = active_partitions(self.table)
        ready = self.ready()
        for partition in pending.keys() | self._scans.keys():
            deltas = pending.get(partition, Counter())
            if partition not in owned:  # its markers stay: the new owner counts it again
                for kept in (self._scans, self._stale, self._own, self._counted, self._next):
                    kept.pop(partition, None)  # (this process too, finding them if it returns)
                continue
            if partition in self._stale or partition in self._scans:
                found = self._stale.pop(partition, set())
                scan = self._scans.pop(partition, None)
                if not ready:  # count it (from the start) once its states are whole
                    self._stale[partition] = found | (scan.markers if scan else set())
                    self._pending[partition] = Counter()
                    continue
                if scan is None:  # the states as they are now hold every change so far
                    scan = _Scan()
                else:  # changes to states already counted (``add`` kept no others)
                    scan.fresh.update(deltas)
                scan.markers |= found
                if not self._scan(partition, scan):
                    self._scans[partition] = scan
                    continue  # more slices at the next commits; the markers stay
                self._replace(partition, scan)
                self._counted.setdefault(partition, set()).update(scan.markers)
            else:
                db = partition_db(self.table, partition)
                for key, delta in deltas.items():
                    if delta:
                        self._write(partition, key, int(db.get(key) or b"0") + delta)
            self._flushed.add(partition)

    def flushed(self) -> None:
        """The flush is acknowledged: the markers of the partitions it covered can go."""
        for partition in self._flushed:
            markers = self._counted.pop(partition, set())
            if (own := self._own.pop(partition, None)) is not None:
                markers.add(own)
            for marker in markers:
                write_partition(self.states, partition, marker, None)
        self._flushed.clear()

    def _scan(self, partition: int, scan: _Scan) -> bool:
        """Count up to ``slice_states`` more address states; True once all are counted."""
        items = partition_db(self.states, partition).items(from_key=scan.after)
        counted = 0
        for key, stored in items:
            if key == scan.after or b"\x1f" not in key:  # not the marker, nor faust's offsets
                continue
            if counted >= self.slice_states:
                return False
            counted += 1
            scan.after = key
            scan.states += 1
            try:
                deltas = list(self.recount(key, stored))
            except Exception:  # a state that does not decode: skipped (logged once, below)
                scan.skipped += 1
                continue
            for name, delta in deltas:
                scan.fresh[name] += delta
        return True

    def _replace(self, partition: int, scan: _Scan) -> None:
        """Replace a partition's counters with those its finished recount found."""
        fresh = scan.fresh
        log.warning(
            "entry counts of partition %d were not flushed before a stop: counted again "
            "from %d address states (%d that could not be decoded skipped)",
            partition,
            scan.states - scan.skipped,
            scan.skipped,
        )
        gone = [k for k in partition_db(self.table, partition).keys() if k[:2] == _PREFIX]  # noqa: SIM118 - a rocksdict handle
        for key in gone:
            if key not in fresh:
                self._write(partition, key, 0)
        for key, value in fresh.items():
            self._write(partition, key, value)

    def _write(self, partition: int, key: bytes, value: int) -> None:
        write_partition(self.table, partition, key, b"%d" % value if value else None)


def _markers(db: RocksHandle) -> list[bytes]:
    """The marker keys of one partition's address states (they sort before any address)."""
    found = []
    for key, _value in db.items(from_key=MARKER):
        if not key.startswith(MARKER):
            break
        found.append(key)
    return found


def totals(table: BytesTable) -> dict[str, int]:
    """Every counter summed over this worker's active partitions."""
    out: dict[str, int] = {}
    for db in active_dbs(table):
        for key, value in db.items():
            if key[:2] == _PREFIX and value.lstrip(b"-").isdigit():
                name = key.decode()
                out[name] = out.get(name, 0) + int(value)
    return out
