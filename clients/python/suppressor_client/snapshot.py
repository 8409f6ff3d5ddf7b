"""A sender's view on its own disk with the offsets it reflects: a restart reads only the tail.

The file is one self-checking blob::

    b"SUPPSNAP" | format (u32) | header length (u64) | header (JSON) | sections | SHA-256

The header names the topic and the cluster id the view was read from, the next offset
to read per partition, when it was written, the view's own header (``CompactView.state``)
and the length of each section (the view's arrays as raw bytes). The SHA-256 covers
every byte before it, so a torn write (power lost mid-way) or a flipped bit is found
before anything is used; such a file is ``SnapshotCorrupt`` and the sender rebuilds from
the topic. A file from another topic or cluster is ``SnapshotMismatch``: it is refused
(never loaded into a view of the wrong data), reported, and replaced at the next save.

A write goes to a temporary file in the same directory, is flushed and ``fsync``-ed,
then renamed over the old one and the directory ``fsync``-ed: a reader sees the old
snapshot or the new one, never a half.

Compaction drops a tombstone ``delete.retention.ms`` after it was written (a day on our
topic), so a snapshot older than that could miss a release; ``max_age`` (the config's
``snapshot_max_age``, below that day) makes such a file count as stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from suppressor_client.compact_view import CompactView

__all__ = [
    "FORMAT",
    "MAGIC",
    "Snapshot",
    "SnapshotCorrupt",
    "SnapshotError",
    "PendingSnapshot",
    "SnapshotMismatch",
    "begin_snapshot",
    "read_snapshot",
]

MAGIC = b"SUPPSNAP"
FORMAT = 1
"""Bump when the layout of the file or of ``CompactView.state`` changes."""

_PREFIX = struct.Struct("<8sIQ")
_DIGEST = 32


class SnapshotError(Exception):
    """A snapshot that cannot be used; the sender reads the topic from the start instead."""


class SnapshotCorrupt(SnapshotError):
    """Torn, truncated, altered, or of another format version."""


class SnapshotMismatch(SnapshotError):
    """Written from another topic or another cluster: refused."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A view loaded from disk and where on the topic to go on reading."""

    view: CompactView
    offsets: Mapping[int, int]  # partition -> next offset to read
    written_at: datetime


def begin_snapshot(
    path: Path,
    state: tuple[dict[str, Any], Mapping[str, bytes | memoryview]],
    *,
    topic: str,
    cluster_id: str,
    offsets: Mapping[int, int],
    now: datetime,
) -> PendingSnapshot:
    """Hash and write a view's state (``CompactView.state`` or ``exported``) into a
    temporary file beside ``path``; ``commit`` makes it the snapshot (the bytes written).

    The sender calls this holding its feed's lock, with the arrays read in place
    (``CompactView.exported``): the offsets and the arrays then agree, and hashing and
    writing release the interpreter. The ``fsync`` waits for the disk, so it comes in
    ``commit``, once the arrays are no longer read.
    """
    meta, sections = state
    header = orjson.dumps(
        {
            "topic": topic,
            "cluster_id": cluster_id,
            "offsets": {str(p): o for p, o in sorted(offsets.items())},
            "written_at": now.astimezone(UTC).isoformat(),
            "view": meta,
            "sections": [[name, len(data)] for name, data in sections.items()],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    size = _DIGEST
    out = tmp.open("wb")
    try:
        for chunk in (_PREFIX.pack(MAGIC, FORMAT, len(header)), header, *sections.values()):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.write(digest.digest())
        out.flush()
    except BaseException:
        try:
            out.close()  # flushes what is buffered: may raise again (a full disk)
        finally:
            tmp.unlink(missing_ok=True)
        raise
    return PendingSnapshot(path, tmp, out, size)


@dataclass(slots=True)
class PendingSnapshot:
    """A snapshot written to its temporary file, not yet on disk for sure nor in place."""

    path: Path
    tmp: Path
    out: BinaryIO
    size: int

    def commit(self) -> int:
        """``fsync`` the file, rename it over the old snapshot, ``fsync`` the directory;
        the bytes written. A reader sees the old snapshot or the new one, never a half."""
        try:
            with self.out:
                os.fsync(self.out.fileno())
            os.replace(self.tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.tmp.unlink()
        _fsync_dir(self.path.parent)
        return self.size


def read_snapshot(
    path: Path,
    *,
    topic: str,
    cluster_id: str,
    now: datetime,
    max_age: timedelta,
) -> Snapshot:
    """The snapshot at ``path``, checked whole before use.

    Raises ``FileNotFoundError`` when there is none, ``SnapshotCorrupt`` for a torn or
    altered file (or one older than ``max_age``), ``SnapshotMismatch`` for one of another
    topic or cluster.
    """
    data = memoryview(path.read_bytes())
    if len(data) < _PREFIX.size + _DIGEST:
        raise SnapshotCorrupt(f"{path}: {len(data)} bytes, too short to be a snapshot")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise SnapshotCorrupt(f"{path}: checksum does not match (torn or altered file)")
    magic, version, header_len = _PREFIX.unpack_from(data)
    if magic != MAGIC or version != FORMAT:
        raise SnapshotCorrupt(f"{path}: not a snapshot of format {FORMAT}")
    start = _PREFIX.size + header_len
    try:
        header: dict[str, Any] = orjson.loads(data[_PREFIX.size : start])
        if header["topic"] != topic or header["cluster_id"] != cluster_id:
            raise SnapshotMismatch(
                f"{path} was written from topic {header['topic']!r} of cluster "
                f"{header['cluster_id']!r}, not {topic!r} of {cluster_id!r}: not used"
            )
        written_at = datetime.fromisoformat(header["written_at"])
        if now - written_at > max_age:
            raise SnapshotCorrupt(f"{path} is older than {max_age} (a release may be missing)")
        sections: dict[str, bytes | memoryview] = {}
        for name, length in header["sections"]:
            sections[name] = data[start : start + length]
            start += length
        if start != len(data) - _DIGEST:
            raise SnapshotCorrupt(f"{path}: sections do not add up to the file")
        view = CompactView.from_state(header["view"], sections)
        offsets = {int(p): int(o) for p, o in header["offsets"].items()}
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SnapshotCorrupt(f"{path}: unreadable header or arrays ({exc})") from exc
    return Snapshot(view, offsets, written_at)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
