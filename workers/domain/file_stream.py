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
from collections.abc import Iterable, Iterator

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
    """Which 64-bit values were added, in 16 to 32 bytes a value (a Python set takes ~76).

    An import remembers the hash of every address it wrote, so a repeat later in the file
    counts as already present; at a million rows a set of ints is the largest thing the
    import holds. Here the values sit in one array of machine integers, an open-addressing
    table (linear probing, at most half full, doubled when it would be more): a lookup is
    about one probe. Sorted runs searched by ``bisect`` took ~4.6 µs a lookup at a million
    values (each probe builds an int), the largest part of the importer's time a row.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        size = 1 << max(4, (capacity - 1).bit_length())
        self._slots = array("q", bytes(8 * size))  # 0 is a free slot; 0 itself: _zero
        self._mask = size - 1
        self._count = 0
        self._zero = False

    def __contains__(self, value: int) -> bool:
        if value == 0:
            return self._zero
        slots, mask = self._slots, self._mask
        at = value & mask
        while True:
            held = slots[at]
            if held == value:
                return True
            if held == 0:
                return False
            at = (at + 1) & mask

    def __len__(self) -> int:
        return self._count + self._zero

    def add(self, value: int) -> None:
        """Add a value that is not in the set yet (``value in self`` was False)."""
        if value == 0:
            self._zero = True
            return
        if 2 * (self._count + 1) > len(self._slots):
            self._grow()
        self._put(self._slots, self._mask, value)
        self._count += 1

    @staticmethod
    def _put(slots: array[int], mask: int, value: int) -> None:
        at = value & mask
        while slots[at] != 0:
            at = (at + 1) & mask
        slots[at] = value

    def _grow(self) -> None:
        old = self._slots
        slots = array("q", bytes(16 * len(old)))
        mask = len(slots) - 1
        for value in old:
            if value != 0:
                self._put(slots, mask, value)
        self._slots, self._mask = slots, mask


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
