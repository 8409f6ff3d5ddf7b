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
before its state: on the same changelog partition, so recovery restores it with any
state written after it. The marker is deleted once the counts it waited for are
acknowledged. A marker found that this process did not write means the counts of that
partition may be short: they are counted again from the address states, at the next
commit (while nothing else runs on the event loop).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

from workers.kafka.faust_store import (
    BytesTable,
    active_dbs,
    active_partitions,
    partition_db,
    write_partition,
)

__all__ = ["MARKER", "Counts", "totals"]

log = logging.getLogger(__name__)

MARKER = b"\x00counts-not-flushed"
"""In the address table: this partition changed since its counts were last flushed."""

_PREFIX = b"c|"

Deltas = Iterable[tuple[bytes, int]]
Recount = Callable[[bytes, bytes], Deltas]
"""The counters of one stored address state (key, stored bytes), counted from nothing."""


class Counts:
    """Counter deltas waiting for the next commit, per partition of the address table."""

    def __init__(
        self, table: BytesTable, states: BytesTable, recount: Recount, ready: Callable[[], bool]
    ) -> None:
        self.table = table
        self.states = states
        self.recount = recount
        self.ready = ready  # False while tables recover: no state is complete yet
        self._pending: dict[int, Counter[bytes]] = {}
        self._stale: set[int] = set()  # partitions to count again from the states
        self._flushed: list[int] = []  # partitions whose marker goes once the flush is acked

    def add(self, partition: int, deltas: list[tuple[bytes, int]]) -> None:
        """Note a change's deltas; call inside the address agent before the state is written."""
        if not deltas:
            return
        pending = self._pending.get(partition)
        if pending is None:
            if MARKER in self.states:  # left by a process that died before its flush
                self._stale.add(partition)
            self.states[MARKER] = b"1"
            pending = self._pending[partition] = Counter()
        for key, delta in deltas:
            pending[key] += delta

    def check(self) -> None:
        """Find markers this process did not write (a crash before a flush; call when idle)."""
        if not self.ready():
            return
        owned = active_partitions(self.states)
        for partition in owned - self._pending.keys():
            if partition_db(self.states, partition).get(MARKER) is not None:
                self._stale.add(partition)
                self._pending[partition] = Counter()

    def flush(self) -> None:
        """Write the gathered deltas (or a fresh count of a stale partition); call at a commit.

        A partition this process no longer owns is skipped: its marker stays, so its new
        owner counts it again.
        """
        pending, self._pending = self._pending, {}
        owned = active_partitions(self.table)
        ready = self.ready()
        for partition, deltas in pending.items():
            if partition not in owned:
                continue
            if partition in self._stale:
                if not ready:  # count it once its states are whole
                    self._pending[partition] = Counter()
                    continue
                self._replace(partition)
                self._stale.discard(partition)
            else:
                db = partition_db(self.table, partition)
                for key, delta in deltas.items():
                    if delta:
                        self._write(partition, key, int(db.get(key) or b"0") + delta)
            self._flushed.append(partition)

    def flushed(self) -> None:
        """The flush is acknowledged: the markers of the partitions it covered can go."""
        for partition in self._flushed:
            write_partition(self.states, partition, MARKER, None)
        self._flushed.clear()

    def _replace(self, partition: int) -> None:
        """Count a partition again from its address states and replace its counters."""
        fresh: Counter[bytes] = Counter()
        states = 0
        for key, stored in partition_db(self.states, partition).items():
            if b"\x1f" in key:  # address keys: not the marker, nor faust's offset key
                states += 1
                for name, delta in self.recount(key, stored):
                    fresh[name] += delta
        log.warning(
            "entry counts of partition %d were not flushed before a stop: counted again "
            "from %d address states",
            partition,
            states,
        )
        gone = [k for k in partition_db(self.table, partition).keys() if k[:2] == _PREFIX]  # noqa: SIM118 - a rocksdict handle
        for key in gone:
            if key not in fresh:
                self._write(partition, key, 0)
        for key, value in fresh.items():
            self._write(partition, key, value)

    def _write(self, partition: int, key: bytes, value: int) -> None:
        write_partition(self.table, partition, key, b"%d" % value if value else None)


def totals(table: BytesTable) -> dict[str, int]:
    """Every counter summed over this worker's active partitions."""
    out: dict[str, int] = {}
    for db in active_dbs(table):
        for key, value in db.items():
            if key[:2] == _PREFIX and value.lstrip(b"-").isdigit():
                name = key.decode()
                out[name] = out.get(name, 0) + int(value)
    return out
