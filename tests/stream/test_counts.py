"""Entry counts over real RocksDB partitions: the crash recount in slices, bad states skipped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from rocksdict import Rdict

from workers.stream.counts import MARKER, Counts

TOPIC = "counts-changelog"
C = b"c|hard|bounce|example.com"


class _Table:
    """The part of a faust table ``Counts`` uses: one RocksDB per partition, partition 0
    active and the one the current event belongs to."""

    def __init__(self, path: Path, name: str) -> None:
        self.dbs = {0: Rdict(str(path / name))}
        self.sent: list[tuple[int | None, bytes, bytes | None]] = []
        self.actives = {TP(TOPIC, 0)}  # emptied to take partition 0 away
        self.data = SimpleNamespace(
            _db_for_partition=self.dbs.__getitem__,
            _dbs_for_actives=lambda: iter(self.dbs.values()),
            table=SimpleNamespace(changelog_topic_name=TOPIC),
            app=SimpleNamespace(assignor=SimpleNamespace(assigned_actives=lambda: self.actives)),
        )

    def __contains__(self, key: object) -> bool:
        return key in self.dbs[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.dbs[0][key] = value

    def send_changelog(self, partition: int | None, key: bytes, value: bytes | None) -> Any:
        self.sent.append((partition, key, value))


def _recount(_key: bytes, stored: bytes) -> Iterator[tuple[bytes, int]]:
    """A state is its count; one that is not a number does not decode."""
    yield C, int(stored)


@pytest.fixture
def tables(tmp_path: Path) -> Iterator[tuple[_Table, _Table]]:
    counters, states = _Table(tmp_path, "counts"), _Table(tmp_path, "states")
    yield counters, states
    for t in (counters, states):
        t.dbs[0].close()


def _address(n: int) -> bytes:
    return b"acme\x1fa%d@example.com" % n


def _crashed(states: _Table, stored: list[bytes]) -> None:
    """What a process that died before its flush left: states and a marker."""
    for n, value in enumerate(stored):
        states[_address(n)] = value
    states[MARKER] = b"1"


def _marked(states: _Table) -> bool:
    return any(k.startswith(MARKER) for k in states.dbs[0].keys())  # noqa: SIM118 - rocksdict


def _replay(states: _Table, records: list[tuple[int | None, bytes, bytes | None]]) -> None:
    """Apply changelog records to the store, as faust's recovery does."""
    for _partition, key, value in records:
        if value is None:
            del states.dbs[0][key]
        else:
            states.dbs[0][key] = value


def _count(counters: _Table) -> int | None:
    value = counters.dbs[0].get(C)
    return int(value) if value is not None else None


def _markers(states: _Table) -> set[bytes]:
    return {k for k in states.dbs[0].keys() if k.startswith(MARKER)}  # noqa: SIM118 - rocksdict


def _change(counts: Counts, states: _Table, n: int) -> None:
    """One more entry on address ``n``'s state, as the address agent applies it."""
    counts.add(0, [(C, 1)], _address(n))
    states[_address(n)] = b"%d" % (int(states.dbs[0].get(_address(n)) or b"0") + 1)


def _commit(counts: Counts) -> None:
    counts.flush()
    counts.flushed()


def _restart(
    counters: _Table,
    states: _Table,
    replayed: list[tuple[int | None, bytes, bytes | None]],
    *,
    reuse_slots: bool = True,
) -> None:
    """A successor on the same store: recovery replays ``replayed``, then the successor
    looks for markers when idle and commits."""
    _replay(states, replayed)
    second = Counts(counters, states, _recount, ready=lambda: True, reuse_slots=reuse_slots)
    second.check()
    _commit(second)


def test_a_crash_recount_runs_in_slices_and_publishes_only_when_whole(
    tables: tuple[_Table, _Table],
) -> None:
    """One slice per commit (never the whole partition on the event loop at once); a
    change to a state already counted is added, one to a state not reached is read later."""
    counters, states = tables
    counters.dbs[0][C] = b"3"  # short: the deltas of the last changes died with the process
    _crashed(states, [b"1"] * 5)
    counts = Counts(counters, states, _recount, ready=lambda: True, slice_states=2)
    counts.check()
    counts.flush()  # states 0, 1
    counts.flushed()
    assert (_count(counters), _marked(states)) == (3, True)
    counts.add(0, [(C, 1)], _address(0))  # counted already: the delta is kept
    states[_address(0)] = b"2"
    counts.add(0, [(C, 1)], _address(4))  # not reached: the scan reads the new state
    states[_address(4)] = b"2"
    counts.flush()  # states 2, 3
    counts.flushed()
    assert (_count(counters), _marked(states)) == (3, True)
    counts.flush()  # state 4: done
    counts.flushed()
    assert (_count(counters), _marked(states)) == (7, False)


def test_a_state_that_does_not_decode_is_skipped_not_fatal(
    tables: tuple[_Table, _Table], caplog: pytest.LogCaptureFixture
) -> None:
    """One bad state would otherwise make every commit fail: it is skipped and counted."""
    counters, states = tables
    _crashed(states, [b"2", b"not a state", b"3"])
    counts = Counts(counters, states, _recount, ready=lambda: True)
    counts.check()
    with caplog.at_level(logging.WARNING):
        counts.flush()
    assert _count(counters) == 5
    (line,) = [r.getMessage() for r in caplog.records]
    assert "partition 0" in line and "1 that could not be decoded skipped" in line
    assert "example.com" not in line  # no address in the log


def test_a_change_before_the_markers_go_keeps_its_marker(tables: tuple[_Table, _Table]) -> None:
    """Markers go only after faust's commit completed (exactly_once); a change meanwhile
    needs the marker again, and is not taken for a crash."""
    counters, states = tables
    counts = Counts(counters, states, _recount, ready=lambda: True)
    counts.add(0, [(C, 1)], _address(0))
    counts.flush()  # the commit starts
    counts.add(0, [(C, 1)], _address(1))  # an agent runs while faust commits
    counts.flushed()  # the commit completed
    assert _marked(states)
    counts.flush()
    counts.flushed()
    assert (_count(counters), _marked(states)) == (2, False)


def test_a_replayed_marker_deletion_leaves_a_newer_marker(tables: tuple[_Table, _Table]) -> None:
    """A restart on the same store replays the changelog from a persisted offset that lags
    the store: the deletion of an older marker, replayed after a newer marker and its states
    were written only into RocksDB (lost from the producer with the process), must not take
    the newer marker with it, or the counts stay short of those states for good."""
    counters, states = tables
    first = Counts(counters, states, _recount, ready=lambda: True)
    first.add(0, [(C, 1)], _address(0))
    states[_address(0)] = b"1"
    first.flush()
    first.flushed()
    on_the_broker = list(states.sent)  # the first marker and its deletion
    first.add(0, [(C, 1)], _address(1))  # a new marker, then a state: the process dies
    states[_address(1)] = b"1"
    assert _count(counters) == 1
    _restart(counters, states, on_the_broker)  # recovery from the lagging offset
    assert (_count(counters), _marked(states)) == (2, False)


def test_a_recount_over_several_commits_under_load_ends_with_no_marker(
    tables: tuple[_Table, _Table], caplog: pytest.LogCaptureFixture
) -> None:
    """Changes between every slice of a recount keep this process's one marker (a second
    would be taken for another crash's and start the recount over, for as long as the
    load lasts); once counted, the next changes count as deltas, with no recount."""
    counters, states = tables
    _crashed(states, [b"1"] * 5)
    counts = Counts(counters, states, _recount, ready=lambda: True, slice_states=2)
    with caplog.at_level(logging.WARNING):
        for _commit_number in range(8):
            _change(counts, states, 0)
            _commit(counts)
    assert len(caplog.records) == 1  # one recount, over three commits
    assert (_count(counters), _markers(states)) == (13, set())


def test_markers_take_two_keys_per_partition_whatever_the_commits(
    tables: tuple[_Table, _Table],
) -> None:
    """Deleted keys stay in RocksDB until compaction and every lookup walks past them:
    a process uses two marker keys a partition, in turn, not one per commit."""
    counters, states = tables
    counts = Counts(counters, states, _recount, ready=lambda: True)
    for n in range(50):
        _change(counts, states, n)
        _commit(counts)
    written = {key for _p, key, value in states.sent if key.startswith(MARKER) and value}
    assert len(written) == 2
    assert (_count(counters), _markers(states)) == (50, set())


def test_an_idle_check_before_the_commit_completes_does_not_recount_again(
    tables: tuple[_Table, _Table], caplog: pytest.LogCaptureFixture
) -> None:
    """With faust's producer (exactly_once) the markers go only once its commit completed;
    the gauge timer may look meanwhile and must not take the markers it is about to delete
    (its own, and the crash's it counted) for a new crash."""
    counters, states = tables
    _crashed(states, [b"1"] * 3)
    counts = Counts(counters, states, _recount, ready=lambda: True)
    with caplog.at_level(logging.WARNING):
        _change(counts, states, 0)
        counts.flush()  # the recount, whole
        counts.check()  # the gauge timer, before the commit completed
        counts.flushed()
        _commit(counts)
    assert len(caplog.records) == 1
    assert (_count(counters), _markers(states)) == (4, set())


def test_a_partition_given_up_and_taken_back_is_counted_again(
    tables: tuple[_Table, _Table], caplog: pytest.LogCaptureFixture
) -> None:
    """Deltas of a partition no longer owned at the commit are dropped and its marker
    stays for the next owner; when that owner is this process again, it counts anew."""
    counters, states = tables
    counts = Counts(counters, states, _recount, ready=lambda: True)
    _change(counts, states, 0)
    _commit(counts)
    _change(counts, states, 1)  # this delta is dropped: the partition goes
    counters.actives = states.actives = set()
    _commit(counts)
    assert _count(counters) == 1 and _markers(states)
    counters.actives = states.actives = {TP(TOPIC, 0)}
    with caplog.at_level(logging.WARNING):
        counts.check()
        _commit(counts)
    assert len(caplog.records) == 1
    assert (_count(counters), _markers(states)) == (2, set())


def test_a_slot_written_again_is_behind_its_deletion_on_every_replay(
    tables: tuple[_Table, _Table],
) -> None:
    """A slot comes back only after the other slot's deletion was flushed, and the sink
    persists the acknowledged offsets of a flush before the markers go: a restart on the
    same store replays from there, past the slot's own deletion."""
    counters, states = tables
    first = Counts(counters, states, _recount, ready=lambda: True)
    _change(first, states, 0)
    _commit(first)  # slot 0 written and deleted
    _change(first, states, 1)
    first.flush()  # slot 1: its flush persists the offsets of all before (slot 0's deletion)
    persisted = len(states.sent)
    first.flushed()  # slot 1's deletion
    _change(first, states, 2)  # slot 0 again, and a state: the process dies
    _restart(counters, states, states.sent[persisted:-1])  # slot 1's deletion (0's was lost)
    assert (_count(counters), _markers(states)) == (3, set())


def test_a_partition_taken_back_draws_a_token_no_replay_can_reach(
    tables: tuple[_Table, _Table],
) -> None:
    """A marker left when the partition went is found and deleted, with this process's
    current one, once the partition is back and counted: the deletions of both slots are
    then in one flush, so the next marker may take neither of them."""
    counters, states = tables
    first = Counts(counters, states, _recount, ready=lambda: True)
    _change(first, states, 0)
    counters.actives = states.actives = set()
    _commit(first)  # the partition went: its marker stays, its delta is dropped
    counters.actives = states.actives = {TP(TOPIC, 0)}
    _change(first, states, 1)  # back: the old marker is found, a new one written
    first.flush()  # the recount
    persisted = len(states.sent)
    first.flushed()  # both markers deleted at once
    _change(first, states, 2)  # a new marker and a state: the process dies
    _restart(counters, states, states.sent[persisted:-1])  # the two deletions
    assert (_count(counters), _markers(states)) == (3, set())


def test_without_persisted_offsets_no_marker_key_is_written_twice(
    tables: tuple[_Table, _Table],
) -> None:
    """With faust's producer (exactly_once) nothing persists the changelog offsets while it
    runs: a same-store restart replays every committed record since the last recovery, so a
    slot taken again would meet its own committed deletion."""
    counters, states = tables
    first = Counts(counters, states, _recount, ready=lambda: True, reuse_slots=False)
    for n in range(2):
        _change(first, states, n)
        _commit(first)
    committed = list(states.sent)  # (the last deletion commits with other partitions' events)
    _change(first, states, 2)  # a new marker and a state in the open transaction: killed
    _restart(counters, states, committed, reuse_slots=False)
    assert (_count(counters), _markers(states)) == (3, set())
