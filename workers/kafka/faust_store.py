"""The one place that touches faust's private attributes, behind a few small functions.

faust has no public API for a table's RocksDB handles per active partition, nor for a
consumer's committed offsets. The keyed stage needs both (the expiry index scans sorted
keys; the lag gauge compares the committed offset with the high-water mark), so the
reach into faust's internals lives here alone (as do the per-partition writes: the entry
counts' at a commit, outside any agent, and the address agent's, which skip faust's
per-write key index, sensors and serializers), and ``tests/kafka/test_faust_store.py``
fails when a faust upgrade moves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from rocksdict import WriteBatch

__all__ = [
    "BytesTable",
    "PartitionWrites",
    "RocksHandle",
    "active_dbs",
    "active_partitions",
    "committed_offset",
    "count_keys",
    "partition_db",
    "write_partition",
]

_ESTIMATE = "rocksdb.estimate-num-keys"


class RocksHandle(Protocol):
    """The part of a rocksdict handle the keyed stage reads."""

    def keys(self) -> Iterator[bytes]: ...
    def items(self, from_key: bytes | None = None) -> Iterator[tuple[bytes, bytes]]: ...
    def property_int_value(self, name: str) -> int | None: ...
    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes) -> None: ...
    def delete(self, key: bytes) -> None: ...
    def write(self, batch: WriteBatch) -> None: ...


class BytesTable(Protocol):
    """What the keyed stage uses of a faust table of bytes (writes go to its changelog)."""

    @property
    def data(self) -> Any: ...  # faust's store; only this module looks inside it
    def get(self, key: bytes) -> bytes | None: ...
    def __contains__(self, key: object) -> bool: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...
    def __delitem__(self, key: bytes) -> None: ...
    def send_changelog(self, partition: int | None, key: bytes, value: bytes | None) -> Any: ...


def active_dbs(table: BytesTable) -> Iterator[RocksHandle]:
    """The RocksDB handles of the table's partitions this worker actively owns."""
    dbs = getattr(table.data, "_dbs_for_actives", None)  # faust's RocksDB store
    if dbs is None:
        raise TypeError("the keyed stage needs the RocksDB table store (store='rocksdb://')")
    yield from dbs()


def active_partitions(table: BytesTable) -> set[int]:
    """The partitions of the table this worker actively owns now."""
    topic = table.data.table.changelog_topic_name
    return {tp.partition for tp in table.data.app.assignor.assigned_actives() if tp.topic == topic}


def partition_db(table: BytesTable, partition: int) -> RocksHandle:
    """The RocksDB handle of one partition of the table (opened if it is not yet)."""
    db: RocksHandle = table.data._db_for_partition(partition)
    return db


def write_partition(table: BytesTable, partition: int, key: bytes, value: bytes | None) -> None:
    """Set (or, with None, delete) a key of one partition, inside an agent or outside any,
    as faust's ``table[key] =`` would for an event of that partition: in that partition's
    RocksDB and on that partition of the changelog."""
    db = partition_db(table, partition)
    if value is None:
        db.delete(key)
    else:
        db.put(key, value)
    table.send_changelog(partition, key, value)


class PartitionWrites:
    """Writes to one partition of a table, into its RocksDB as one ``WriteBatch`` at
    ``write``: the address agent gathers a bundle's states so, one RocksDB write (and one
    append to its write-ahead log) a bundle instead of one a row.

    Each write goes to the changelog at once, in order, as ``write_partition``'s does, and
    ``get`` sees the writes RocksDB does not hold yet. The caller writes the batch before
    anything else can read the partition (before it yields to the event loop).
    """

    def __init__(self, table: BytesTable, partition: int) -> None:
        self.table = table
        self.partition = partition
        self.db = partition_db(table, partition)
        self._batch = WriteBatch(raw_mode=True)
        self._pending: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        """The value as last set here, else as RocksDB holds it."""
        pending = self._pending
        return pending[key] if key in pending else self.db.get(key)

    def set(self, key: bytes, value: bytes | None) -> None:
        """Set (or, with None, delete) a key: in the batch, and on the changelog now."""
        if value is None:
            self._batch.delete(key)
        else:
            self._batch.put(key, value)
        self._pending[key] = value
        self.table.send_changelog(self.partition, key, value)

    def write(self) -> None:
        """Put what was set since the last ``write`` into RocksDB, at once."""
        if self._pending:
            self.db.write(self._batch)
            self._batch = WriteBatch(raw_mode=True)
            self._pending.clear()


def count_keys(table: BytesTable) -> int:
    """RocksDB's own estimate of the keys on this worker's active partitions (cheap)."""
    return sum(int(db.property_int_value(_ESTIMATE) or 0) for db in active_dbs(table))


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The offset faust last committed for a topic partition, or None before the first."""
    offsets: dict[Any, int] = getattr(consumer, "_committed_offset", {})  # faust's consumer
    return offsets.get(tp)
