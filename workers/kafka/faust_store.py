"""The one place that touches faust's private attributes, behind three small functions.

faust has no public API for a table's RocksDB handles per active partition, nor for a
consumer's committed offsets. The keyed stage needs both (the expiry index scans sorted
keys; the lag gauge compares the committed offset with the high-water mark), so the
reach into faust's internals lives here alone, and ``tests/kafka/test_faust_store.py``
fails when a faust upgrade moves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["BytesTable", "RocksHandle", "active_dbs", "committed_offset", "count_keys"]

_ESTIMATE = "rocksdb.estimate-num-keys"


class RocksHandle(Protocol):
    """The part of a rocksdict handle the keyed stage reads."""

    def keys(self) -> Iterator[bytes]: ...
    def items(self) -> Iterator[tuple[bytes, bytes]]: ...
    def property_int_value(self, name: str) -> int | None: ...


class BytesTable(Protocol):
    """What the keyed stage uses of a faust table of bytes (writes go to its changelog)."""

    @property
    def data(self) -> Any: ...  # faust's store; only this module looks inside it
    def get(self, key: bytes) -> bytes | None: ...
    def __contains__(self, key: object) -> bool: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...
    def __delitem__(self, key: bytes) -> None: ...


def active_dbs(table: BytesTable) -> Iterator[RocksHandle]:
    """The RocksDB handles of the table's partitions this worker actively owns."""
    dbs = getattr(table.data, "_dbs_for_actives", None)  # faust's RocksDB store
    if dbs is None:
        raise TypeError("the keyed stage needs the RocksDB table store (store='rocksdb://')")
    yield from dbs()


def count_keys(table: BytesTable) -> int:
    """RocksDB's own estimate of the keys on this worker's active partitions (cheap)."""
    return sum(int(db.property_int_value(_ESTIMATE) or 0) for db in active_dbs(table))


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The offset faust last committed for a topic partition, or None before the first."""
    offsets: dict[Any, int] = getattr(consumer, "_committed_offset", {})  # faust's consumer
    return offsets.get(tp)
