"""The messages of the PATHs given to ``suppressor mail parse|ingest``, with their names.

A PATH is one message file, an mbox file (its first line starts with ``From ``), a
Maildir folder (``cur``/``new``/``tmp``), any other folder (each file in it, sorted), or
``-`` for one message on stdin. Each message is named for the output's ``source``: the
PATH, ``PATH#N`` for the N-th message of an mbox (from 1), ``PATH#KEY`` in a Maildir.
"""

from __future__ import annotations

import mailbox
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["Message", "SourceError", "count_messages", "read_sources"]


class SourceError(OSError):
    """A PATH that cannot be read; the message names it."""


@dataclass(frozen=True, slots=True)
class Message:
    source: str
    raw: bytes


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def read_sources(paths: list[str], stdin: BinaryIO | None = None) -> Iterator[Message]:
    """Every message of every PATH, in order; ``SourceError`` for a PATH that is not there."""
    for name in paths:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield Message("-", stream.read())
            continue
        path = Path(name)
        try:
            if path.is_dir():
                yield from _folder(name, path)
            elif _is_mbox(path):
                yield from _mbox(name, path)
            else:
                yield Message(name, path.read_bytes())
        except OSError as exc:
            raise SourceError(f"cannot read {name}: {exc.strerror or exc}") from exc


def _folder(name: str, path: Path) -> Iterator[Message]:
    if _is_maildir(path):
        box = mailbox.Maildir(str(path), factory=None, create=False)
        for key in sorted(box.keys()):
            yield Message(f"{name}#{key}", box.get_bytes(key))
        return
    for child in sorted(p for p in path.iterdir() if p.is_file()):
        if _is_mbox(child):
            yield from _mbox(str(child), child)
        else:
            yield Message(str(child), child.read_bytes())


def _mbox(name: str, path: Path) -> Iterator[Message]:
    box = mailbox.mbox(str(path), factory=None, create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            yield Message(f"{name}#{number}", box.get_bytes(key))
    finally:
        box.close()


def count_messages(paths: list[str]) -> int | None:
    """How many messages the PATHs hold (for a progress ETA), or None if unknown (stdin)."""
    total = 0
    for name in paths:
        if name == "-":
            return None
        path = Path(name)
        try:
            if path.is_dir():
                if _is_maildir(path):
                    total += len(mailbox.Maildir(str(path), factory=None, create=False))
                else:
                    for child in path.iterdir():
                        if child.is_file():
                            total += _count_file(child)
            else:
                total += _count_file(path)
        except OSError:
            return None
    return total


def _count_file(path: Path) -> int:
    if not _is_mbox(path):
        return 1
    count = 0
    with path.open("rb") as handle:
        previous_blank = True
        for line in handle:
            if previous_blank and line.startswith(b"From "):
                count += 1
            previous_blank = line in (b"\n", b"\r\n")
    return count
