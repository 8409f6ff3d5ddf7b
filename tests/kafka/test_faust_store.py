"""The faust adapter against real faust objects: it fails when an upgrade moves the internals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP

from workers.kafka.faust_store import PartitionWrites, active_dbs, committed_offset, count_keys


def _table(tmp_path: Path, store: str) -> Any:  # faust's store internals are untyped
    app = faust.App("adapter-test", store=store, datadir=str(tmp_path))
    return app.Table("t", partitions=2, key_type=bytes, value_type=bytes)


def test_active_dbs_are_the_rocksdb_handles_of_owned_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the partitions this worker actively owns are read, each its own RocksDB handle."""
    table = _table(tmp_path, "rocksdb://")
    owned = table.data._db_for_partition(0)
    table.data._db_for_partition(1)  # open, but owned by another worker
    owned[b"k1"] = b"1"
    owned[b"k2"] = b"2"
    actives = {TP(table.changelog_topic_name, 0)}
    monkeypatch.setattr(table.app.assignor, "assigned_actives", lambda: actives)
    dbs = list(active_dbs(table))
    assert len(dbs) == 1
    assert sorted(dbs[0].keys()) == [b"k1", b"k2"]
    assert count_keys(table) == 2


def test_active_dbs_refuses_a_store_that_is_not_rocksdb(tmp_path: Path) -> None:
    """The memory store has no per-partition handles: a clear error, not an empty scan."""
    with pytest.raises(TypeError, match="rocksdb"):
        list(active_dbs(_table(tmp_path, "memory://")))


def test_committed_offset_reads_what_the_consumer_recorded(tmp_path: Path) -> None:
    """The offset faust records on commit is what the lag gauge reads; None before any."""
    app = faust.App("adapter-test", datadir=str(tmp_path))
    consumer: Any = app.consumer
    tp = TP("topic", 0)
    assert committed_offset(consumer, tp) is None
    consumer._committed_offset[tp] = 42
    assert committed_offset(consumer, tp) == 42


def test_partition_writes_reach_rocksdb_at_once_and_the_changelog_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle's states: read back before the batch is written, in RocksDB only after it,
    each on the changelog of its partition when it is set (a deletion as a tombstone)."""
    table = _table(tmp_path, "rocksdb://")
    db = table.data._db_for_partition(1)
    db[b"old"] = b"0"
    sent: list[tuple[int | None, bytes, bytes | None]] = []
    monkeypatch.setattr(table, "send_changelog", lambda p, k, v: sent.append((p, k, v)))
    writes = PartitionWrites(table, 1)
    writes.set(b"a", b"1")
    writes.set(b"a", b"2")
    writes.set(b"old", None)
    assert (writes.get(b"a"), writes.get(b"old"), writes.get(b"b")) == (b"2", None, None)
    assert db.get(b"a") is None and db.get(b"old") == b"0"  # nothing in RocksDB yet
    assert sent == [(1, b"a", b"1"), (1, b"a", b"2"), (1, b"old", None)]
    writes.write()
    assert (db.get(b"a"), db.get(b"old")) == (b"2", None)
    assert table.data._db_for_partition(0).get(b"a") is None
    writes.set(b"b", b"3")  # a new batch after a write
    writes.write()
    assert (db.get(b"b"), db.get(b"a")) == (b"3", b"2")
