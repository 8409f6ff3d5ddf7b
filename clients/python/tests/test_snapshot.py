"""The snapshot file: a round trip, and torn, altered, stale or foreign files refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from suppressor_client.compact_view import CompactView
from suppressor_client.config import ClientConfig
from suppressor_client.decision import decide
from suppressor_client.sender import SenderClient
from suppressor_client.snapshot import (
    SnapshotCorrupt,
    SnapshotMismatch,
    begin_snapshot,
    read_snapshot,
)
from suppressor_client.types import ListKey, ListName, ListRecord, Reason

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _view() -> CompactView:
    view = CompactView()
    for i in range(3000):
        key = ListKey("acme", ListName.BLOCK, f"user{i}@example.com")
        view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL, since=NOW))
    rule = ListKey("*", ListName.DOMAIN_RULE, "spam.example")
    view.apply(rule, ListRecord(rule, 1, True, reason=Reason.SHARED, send_block=True))
    return view


def _write(path: Path, **overrides: object) -> None:
    args: dict[str, object] = {"topic": "suppressions", "cluster_id": "c1",
                               "offsets": {0: 10, 1: 3}, "now": NOW}  # fmt: skip
    args.update(overrides)
    begin_snapshot(path, _view().state(), **args).commit()  # type: ignore[arg-type]


def _read(path: Path, **overrides: object) -> object:
    args: dict[str, object] = {"topic": "suppressions", "cluster_id": "c1", "now": NOW,
                               "max_age": DAY}  # fmt: skip
    args.update(overrides)
    return read_snapshot(path, **args)  # type: ignore[arg-type]


def test_round_trip_keeps_view_and_offsets(tmp_path: Path) -> None:
    """What was written reads back with the same decisions and the same offsets."""
    path = tmp_path / "view.snap"
    _write(path)
    snapshot = read_snapshot(path, topic="suppressions", cluster_id="c1", now=NOW, max_age=DAY)
    assert snapshot.offsets == {0: 10, 1: 3}
    assert snapshot.written_at == NOW
    assert decide(snapshot.view, "acme", "user7@example.com").rule == "suppressed"
    assert decide(snapshot.view, "acme", "x@spam.example").rule == "platform_domain_block"
    assert decide(snapshot.view, "acme", "user7@example.org").allowed
    assert snapshot.view.stats() == _view().stats()
    assert [p.name for p in tmp_path.iterdir()] == ["view.snap"]  # no temporary file left


@pytest.mark.parametrize("cut", [0, 20, 1000, -1])
def test_a_torn_file_is_corrupt(tmp_path: Path, cut: int) -> None:
    """A file cut short anywhere (a write torn by a crash) is found before use."""
    path = tmp_path / "view.snap"
    _write(path)
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(SnapshotCorrupt):
        _read(path)


def test_a_flipped_byte_is_corrupt(tmp_path: Path) -> None:
    """One byte changed in the arrays fails the checksum."""
    path = tmp_path / "view.snap"
    _write(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotCorrupt, match="checksum"):
        _read(path)


@pytest.mark.parametrize(("field", "value"), [("topic", "other-topic"), ("cluster_id", "c2")])
def test_another_topic_or_cluster_is_refused(tmp_path: Path, field: str, value: str) -> None:
    """A snapshot taken from another topic or cluster is never loaded."""
    path = tmp_path / "view.snap"
    _write(path, **{field: value})
    with pytest.raises(SnapshotMismatch, match="not used"):
        _read(path)


def test_an_old_snapshot_is_stale(tmp_path: Path) -> None:
    """A snapshot older than max_age (a tombstone may have been compacted away) is not used."""
    path = tmp_path / "view.snap"
    _write(path, now=NOW - 2 * DAY)
    with pytest.raises(SnapshotCorrupt, match="older"):
        _read(path)


def test_a_rewrite_replaces_the_file_whole(tmp_path: Path) -> None:
    """Writing again over a snapshot leaves only the new one, readable."""
    path = tmp_path / "view.snap"
    _write(path, offsets={0: 1})
    _write(path, offsets={0: 2})
    assert read_snapshot(path, topic="suppressions", cluster_id="c1", now=NOW,
                         max_age=DAY).offsets == {0: 2}  # fmt: skip


def test_a_view_exported_in_place_writes_the_same_file(tmp_path: Path) -> None:
    """The arrays read in place (no copy) make the same file as a copied state, and the
    view can grow again once the export is left."""
    view = _view()
    copied, in_place = tmp_path / "copied.snap", tmp_path / "in_place.snap"
    args: dict[str, object] = {"topic": "suppressions", "cluster_id": "c1",
                               "offsets": {0: 10}, "now": NOW}  # fmt: skip
    begin_snapshot(copied, view.state(), **args).commit()  # type: ignore[arg-type]
    key = ListKey("acme", ListName.BLOCK, "later@example.com")
    with view.exported() as state:
        assert state[1]["versions"].obj is view._versions  # the array itself, not a copy
        with pytest.raises(BufferError):  # an array read in place cannot grow meanwhile
            view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL, since=NOW))
        begin_snapshot(in_place, state, **args).commit()  # type: ignore[arg-type]
    assert in_place.read_bytes() == copied.read_bytes()
    view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL, since=NOW))
    assert decide(view, "acme", "later@example.com").rule == "suppressed"


def test_a_begun_snapshot_takes_the_old_ones_place_only_at_commit(tmp_path: Path) -> None:
    """Until ``commit`` a reader still finds the old snapshot; after it, the new one and
    no temporary file."""
    path = tmp_path / "view.snap"
    _write(path, offsets={0: 1})
    pending = begin_snapshot(path, _view().state(), topic="suppressions", cluster_id="c1",
                             offsets={0: 2}, now=NOW)  # fmt: skip
    assert _read(path).offsets == {0: 1}  # type: ignore[attr-defined]
    assert pending.commit() == path.stat().st_size
    assert _read(path).offsets == {0: 2}  # type: ignore[attr-defined]
    assert [p.name for p in tmp_path.iterdir()] == ["view.snap"]


def test_a_write_that_fails_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A state that cannot be written raises and leaves the directory as it was."""
    meta, sections = _view().state()
    broken: dict[str, object] = {**sections, "arena": 12345}  # not bytes: hashing it fails
    with pytest.raises(TypeError):
        begin_snapshot(tmp_path / "view.snap", (meta, broken), topic="suppressions",  # type: ignore[arg-type]
                       cluster_id="c1", offsets={}, now=NOW)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_a_view_that_skips_records_is_never_snapshotted(tmp_path: Path) -> None:
    """Its snapshot would claim records it never held: the client refuses the pair."""
    config = ClientConfig("127.0.0.1:9", snapshot_path=tmp_path / "view.snapshot")
    with pytest.raises(ValueError, match="cannot be snapshotted"):
        SenderClient(config, compact=True, skip=lambda _key, _value: True)
