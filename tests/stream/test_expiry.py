"""The expiry index over a real RocksDB: due keys in time order, moves, healing, re-ticks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rocksdict import Rdict

from workers.stream import expiry
from workers.stream.expiry import ExpiryIndex, index_key

T0 = datetime(2024, 5, 1, tzinfo=UTC)


class _Store:
    def __init__(self, db: Rdict) -> None:
        self.db = db

    def _dbs_for_actives(self) -> Iterator[Rdict]:
        yield self.db


class _Table:
    """The mapping part of a faust table, over one real RocksDB partition."""

    def __init__(self, path: Path) -> None:
        self.data = _Store(Rdict(str(path)))

    def __contains__(self, key: bytes) -> bool:
        return key in self.data.db

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data.db[key] = value

    def __delitem__(self, key: bytes) -> None:
        del self.data.db[key]

    def keys(self) -> list[Any]:
        return list(self.data.db.keys())


@pytest.fixture
def table(tmp_path: Path) -> Iterator[_Table]:
    t = _Table(tmp_path / "db")
    yield t
    t.data.db.close()


def test_due_lists_only_what_expired_in_time_order(table: _Table) -> None:
    """RocksDB's sorted keys let the scan stop at the first entry in the future."""
    index = ExpiryIndex(table)
    index.move(b"late", None, T0 + timedelta(days=3))
    index.move(b"early", None, T0 + timedelta(days=1))
    index.move(b"later", None, T0 + timedelta(days=30))
    count, due = index.due(T0 + timedelta(days=4))
    assert (count, due) == (2, [b"early", b"late"])


def test_a_move_replaces_the_old_entry_and_none_removes_it(table: _Table) -> None:
    """An address whose expiry moves has one index entry; a released one has none."""
    index = ExpiryIndex(table)
    first, second = T0 + timedelta(days=7), T0 + timedelta(days=14)
    index.move(b"k", None, first)
    index.move(b"k", first, second)
    assert table.keys() == [index_key(second, b"k")]
    index.move(b"k", second, None)
    assert table.keys() == []


def test_a_tick_is_not_sent_twice_until_it_had_time_to_act(
    table: _Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A due key is ticked once; if nothing acted on it (a crash), it is ticked again later."""
    clock = [100.0]
    monkeypatch.setattr(expiry.time, "monotonic", lambda: clock[0])
    index = ExpiryIndex(table)
    index.move(b"k", None, T0)
    assert index.due(T0) == (1, [b"k"])
    assert index.due(T0) == (1, [])
    clock[0] += 60
    assert index.due(T0) == (1, [b"k"])


def test_the_entry_a_tick_was_sent_for_heals_on_the_next_move(table: _Table) -> None:
    """An index entry the state no longer has (kept by a crash) goes on the key's next record."""
    index = ExpiryIndex(table)
    stale = T0 - timedelta(days=1)
    index.move(b"k", None, stale)
    index.due(T0)  # ticked for the stale entry
    index.move(b"k", None, T0 + timedelta(days=7))  # the state says: no earlier expiry
    assert table.keys() == [index_key(T0 + timedelta(days=7), b"k")]
