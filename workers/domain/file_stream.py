"""Import files of any length, read chunk by chunk (issue 15: a million rows, flat memory).

``workers.domain.files`` holds the row rules; this module only turns a stream of byte
(or text) chunks into lines for them: UTF-8 decoded incrementally (a BOM dropped), split
on CRLF, LF or CR even when a line end falls between two chunks, every line bounded in
length and the whole stream bounded in bytes. Nothing is kept but the current line, so
the rows come out one at a time whatever the file's size.

A stream cannot be refused before its first row: ``TooLarge`` or ``BadEncoding`` come
when the reader gets there, and the rows before were already yielded (the import says so).
"""

from __future__ import annotations

import codecs
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from heapq import merge

from suppressor_client.errors import TooLarge

from workers.domain.files import BadEncoding, ImportRow, InvalidRow, csv_rows, manual_rows

__all__ = [
    "MAX_LINE_CHARS",
    "MAX_STREAM_BYTES",
    "MAX_STREAM_ROWS",
    "SeenSet",
    "stream_import_csv",
    "stream_lines",
    "stream_manual",
]

MAX_STREAM_ROWS = 10_000_000  # ten times the million-row file
MAX_STREAM_BYTES = 2 * 1024**3
MAX_LINE_CHARS = 65_536  # a row is an address, notes of 1000 chars and a reason

_LINE_END = re.compile(r"\r\n|\r|\n")


class SeenSet:
    """Which 64-bit values were added, in ~8 bytes a value (a Python set takes ~76).

    An import remembers the hash of every address it wrote, so a repeat later in the file
    counts as already present; at a million rows a set of ints is the largest thing the
    import holds. Here new values wait in a small set, then go into sorted arrays of
    machine integers, merged when two reach the same size (as a log-structured merge), so
    a lookup is a set probe and a binary search per array (at most ~log2(n / recent)).
    """

    def __init__(self, recent: int = 65_536) -> None:
        self._limit = recent
        self._recent: set[int] = set()
        self._runs: list[array[int]] = []  # sorted, sizes strictly decreasing

    def __contains__(self, value: int) -> bool:
        if value in self._recent:
            return True
        for run in self._runs:
            at = bisect_left(run, value)
            if at < len(run) and run[at] == value:
                return True
        return False

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run) for run in self._runs)

    def add(self, value: int) -> None:
        """Add a value that is not in the set yet (``value in self`` was False)."""
        self._recent.add(value)
        if len(self._recent) >= self._limit:
            run = array("q", sorted(self._recent))
            self._recent = set()
            while self._runs and len(self._runs[-1]) <= len(run):
                run = array("q", merge(self._runs.pop(), run))
            self._runs.append(run)


def stream_lines(
    chunks: Iterable[bytes | str],
    *,
    max_bytes: int = MAX_STREAM_BYTES,
    max_line: int = MAX_LINE_CHARS,
) -> Iterator[str]:
    """The lines of the concatenated chunks, without line ends (as ``str.splitlines`` would
    split on CRLF, LF and CR; a final line end adds an empty last line, as in ``files``).

    Raises ``TooLarge`` past ``max_bytes`` bytes or a line past ``max_line`` characters,
    ``BadEncoding`` where the bytes stop being UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    size = 0
    line_no = 0
    tail = ""
    first = True
    for chunk in chunks:
        if isinstance(chunk, bytes):
            size += len(chunk)
            _check_size(size, max_bytes)
            text = _decode(decoder, chunk, size - len(chunk))
        else:
            size += len(chunk.encode("utf-8", "surrogatepass"))
            _check_size(size, max_bytes)
            text = chunk.removeprefix("\ufeff") if first else chunk
        first = first and not text
        buffer = tail + text
        hold = "\r" if buffer.endswith("\r") else ""  # its \n may start the next chunk
        pieces = _LINE_END.split(buffer[: len(buffer) - len(hold)])
        tail = pieces.pop() + hold
        for piece in pieces:
            line_no += 1
            _check_line(piece, line_no, max_line)
            yield piece
        _check_line(tail.removesuffix("\r"), line_no + 1, max_line)
    for piece in _LINE_END.split(tail + _decode(decoder, b"", size, final=True)):
        line_no += 1
        _check_line(piece, line_no, max_line)
        yield piece


def stream_import_csv(
    chunks: Iterable[bytes | str],
    *,
    max_rows: int = MAX_STREAM_ROWS,
    max_bytes: int = MAX_STREAM_BYTES,
) -> Iterator[ImportRow | InvalidRow]:
    """The rows of ``files.parse_import_csv`` for a stream, one at a time."""
    return csv_rows(stream_lines(chunks, max_bytes=max_bytes), max_rows=max_rows)


def stream_manual(
    chunks: Iterable[bytes | str],
    notes: str | None = None,
    *,
    max_rows: int = MAX_STREAM_ROWS,
    max_bytes: int = MAX_STREAM_BYTES,
) -> Iterator[ImportRow | InvalidRow]:
    """The rows of ``files.parse_manual`` for a stream; a bad ``notes`` fails at once."""
    return manual_rows(stream_lines(chunks, max_bytes=max_bytes), notes, max_rows=max_rows)


def _decode(
    decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, *, final: bool = False
) -> str:
    try:
        return decoder.decode(chunk, final)
    except UnicodeDecodeError as error:
        raise BadEncoding(f"the file is not UTF-8 (byte {offset + error.start})") from None


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise TooLarge(f"the file is over the limit of {max_bytes} bytes; split it")


def _check_line(line: str, line_no: int, max_line: int) -> None:
    if len(line) > max_line:
        raise TooLarge(f"line {line_no} is longer than {max_line} characters")
