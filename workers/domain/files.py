"""List files a person handles (SPEC §8, seed 003): block-list import and CSV export.

Import takes what spreadsheets and hand-made files really contain: ``;``-separated rows,
the address first, optional notes in double quotes (``;`` and doubled ``""`` inside; a
quoted note may even span lines), an optional reason code (2, or the legacy 10),
UTF-8 with or without a BOM, CRLF or LF, an optional header row and blank lines. A bad
row never spoils the file: it is reported with its line number, the others go on.
Sizes are bounded so a hostile upload costs a bounded amount of work.

Export is streamed line by line, quoted where needed, and safe to open in a spreadsheet:
a cell that would start a formula gets a leading ``'``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from suppressor_client.addresses import domain_of, normalize_address
from suppressor_client.errors import InputError, InvalidAddress, SchemaError, TooLarge
from suppressor_client.records import format_timestamp
from suppressor_client.types import Category, ListRecord, Reason

__all__ = [
    "EXPORT_HEADER",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "MAX_NOTES",
    "BadEncoding",
    "ExportRow",
    "ImportReport",
    "ImportRow",
    "InvalidRow",
    "build_report",
    "csv_rows",
    "export_csv",
    "manual_rows",
    "parse_import_csv",
    "parse_manual",
]

MAX_IMPORT_ROWS = 100_000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_NOTES = 1000
EXPORT_HEADER = (
    "email",
    "domain",
    "date",
    "reason",
    "category",
    "expires_at",
    "delivery_id",
    "notes",
)
LINE_END = "\r\n"  # RFC 4180; every spreadsheet reads it

_SEPARATOR = ";"
_QUOTE = '"'
_NEWLINE = re.compile(r"\r\n|\r|\n")
_HEADER_CELLS = frozenset({"email", "e-mail", "mail", "address", "email address", "e-mail address"})
_IMPORT_REASONS = {"": Reason.MANUAL, "2": Reason.MANUAL, "10": Reason.NONEXISTENT_LEGACY}
_MAX_ROW_CHARS = 4096  # a row past this with its quote still open is a broken quote
_MAX_RAW_SHOWN = 500
_FORMULA_STARTS = frozenset("=+-@\t\r")
_NEEDS_QUOTES = frozenset(';"\r\n')


class BadEncoding(InputError):
    """The file is not UTF-8."""

    code = "bad_encoding"


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One address to block, from line ``line`` of the input (1-based)."""

    line: int
    email: str  # normalised
    notes: str | None = None
    reason: Reason = Reason.MANUAL  # NONEXISTENT_LEGACY when the row said 10


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A row that was not imported, and why, for the person who uploaded it."""

    line: int
    raw: str
    code: str  # invalid_address, missing_address, invalid_reason, notes_too_long, ...
    message: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of an import: added, already present (before or earlier in the file), invalid."""

    added: tuple[ImportRow, ...]
    already_present: tuple[ImportRow, ...]
    invalid: tuple[InvalidRow, ...]

    def as_dict(self) -> dict[str, Any]:
        """Counts plus the rows a person must look at, for the CLI and the HTTP API."""
        return {
            "added": len(self.added),
            "already_present": len(self.already_present),
            "invalid": len(self.invalid),
            "invalid_rows": [
                {"line": r.line, "raw": r.raw, "code": r.code, "message": r.message}
                for r in self.invalid
            ],
            "already_present_rows": [
                {"line": r.line, "email": r.email} for r in self.already_present
            ],
        }


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One line of an export: every field SPEC §8 lists."""

    email: str
    domain: str
    date: datetime | None
    reason: Reason | None
    category: Category | None
    expires_at: datetime | None
    delivery_id: str | None
    notes: str | None

    @classmethod
    def of(cls, address: str, record: ListRecord) -> ExportRow:
        """The export line of an address's entry."""
        return cls(
            email=address,
            domain=domain_of(address),
            date=record.since,
            reason=record.reason,
            category=record.category,
            expires_at=record.expires_at,
            delivery_id=record.delivery_id,
            notes=record.notes,
        )

    def cells(self) -> tuple[str, ...]:
        """The row's cells as text, in ``EXPORT_HEADER`` order."""
        return (
            self.email,
            self.domain,
            _time_cell(self.date),
            "" if self.reason is None else str(int(self.reason)),
            "" if self.category is None else self.category.value,
            _time_cell(self.expires_at),
            self.delivery_id or "",
            self.notes or "",
        )


class _RowError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_import_csv(
    data: str | bytes,
    *,
    max_rows: int = MAX_IMPORT_ROWS,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> tuple[list[ImportRow], list[InvalidRow]]:
    """Rows of a ``;``-separated import file: ``address[;"notes"[;reason]]``.

    Raises ``TooLarge`` above ``max_bytes`` or ``max_rows`` (no partial import) and
    ``BadEncoding`` if the bytes are not UTF-8; every other problem is an ``InvalidRow``.
    A first row whose first cell is ``email`` or ``address`` is a header and skipped.
    A file that starts with the export's header (``EXPORT_HEADER``) is an export: its
    email, notes and reason columns are read by name, reason 99 (an export of ``*``)
    imports as a block there again, and entries of other reasons (bounces, complaints,
    unsubscribes: events made them, not imports) are reported ``not_importable``. So an
    export imported again changes nothing.
    """
    return _partition(csv_rows(_lines(data, max_bytes), max_rows=max_rows))


def parse_manual(
    data: str | bytes,
    notes: str | None = None,
    *,
    max_rows: int = MAX_IMPORT_ROWS,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> tuple[list[ImportRow], list[InvalidRow]]:
    """Manual entry: one address per line, one ``notes`` for all (reason 2)."""
    return _partition(manual_rows(_lines(data, max_bytes), notes, max_rows=max_rows))


def csv_rows(lines: Iterable[str], *, max_rows: int) -> Iterator[ImportRow | InvalidRow]:
    """The rows of ``parse_import_csv``, one at a time, from lines without their line ends.

    Lines are read as needed (a quoted note reads ahead at most ``_MAX_ROW_CHARS``), so
    a file of any length costs memory for one row; ``TooLarge`` past ``max_rows`` rows.
    """
    export = False
    count = 0
    for position, (line_no, raw, parsed) in enumerate(_records(lines)):
        if position == 0 and isinstance(parsed, list) and _is_header(parsed):
            export = tuple(cell.strip().lower() for cell in parsed) == EXPORT_HEADER
            continue
        count = _count(count, max_rows)
        try:
            if isinstance(parsed, _RowError):
                raise parsed
            yield _import_row(line_no, _from_export(parsed) if export else parsed)
        except _RowError as error:
            yield InvalidRow(line_no, _clip(raw), error.code, error.message)


def manual_rows(
    lines: Iterable[str], notes: str | None = None, *, max_rows: int
) -> Iterator[ImportRow | InvalidRow]:
    """The rows of ``parse_manual``, one at a time; a bad ``notes`` fails before the first."""
    try:
        shared = _notes(notes or "")
    except _RowError as error:
        raise SchemaError(error.message, path="notes") from None
    return _manual_rows(lines, shared, max_rows)


def _manual_rows(
    lines: Iterable[str], shared: str | None, max_rows: int
) -> Iterator[ImportRow | InvalidRow]:
    count = 0
    for line_no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        count = _count(count, max_rows)
        try:
            yield ImportRow(line_no, _address(raw), shared)
        except _RowError as error:
            yield InvalidRow(line_no, _clip(raw), error.code, error.message)


def _partition(
    items: Iterable[ImportRow | InvalidRow],
) -> tuple[list[ImportRow], list[InvalidRow]]:
    rows: list[ImportRow] = []
    invalid: list[InvalidRow] = []
    for item in items:
        if isinstance(item, ImportRow):
            rows.append(item)
        else:
            invalid.append(item)
    return rows, invalid


def build_report(
    rows: Iterable[ImportRow],
    invalid: Iterable[InvalidRow],
    already_present: Callable[[str], bool],
) -> ImportReport:
    """Sort rows into added and already present; a repeat within the file is already present."""
    seen: set[str] = set()
    added: list[ImportRow] = []
    present: list[ImportRow] = []
    for row in rows:
        if row.email in seen or already_present(row.email):
            present.append(row)
        else:
            added.append(row)
        seen.add(row.email)
    return ImportReport(tuple(added), tuple(present), tuple(invalid))


def export_csv(rows: Iterable[ExportRow]) -> Iterator[str]:
    """The export, one line at a time (header first), each ending in CRLF."""
    yield _line(EXPORT_HEADER)
    for row in rows:
        yield _line(row.cells())


def _lines(data: str | bytes, max_bytes: int) -> list[str]:
    """Decode (UTF-8, BOM dropped), bound, and split on CRLF, LF or CR."""
    if isinstance(data, bytes):
        size = len(data)
        if size > max_bytes:
            raise TooLarge(f"the file has {size} bytes; the limit is {max_bytes}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadEncoding(f"the file is not UTF-8 (byte {error.start})") from None
    else:
        text = data.removeprefix("\ufeff")
        if len(text) > max_bytes or (
            len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise TooLarge(f"the file is over the limit of {max_bytes} bytes")
    return _NEWLINE.split(text)


def _count(count: int, max_rows: int) -> int:
    """One more row; ``TooLarge`` once there are more than ``max_rows``."""
    if count >= max_rows:
        raise TooLarge(f"the file has more than {max_rows} rows; split it")
    return count + 1


def _records(lines: Iterable[str]) -> Iterator[tuple[int, str, list[str] | _RowError]]:
    """Each non-blank row: its first line number, its text and its cells (or why not)."""
    source = iter(lines)
    ahead: deque[str] = deque()  # lines a quote read ahead; given back if it never closed
    line_no = 0
    while True:
        first = ahead.popleft() if ahead else next(source, None)
        if first is None:
            return
        line_no += 1
        if not first.strip():
            continue
        try:
            fields, used = _fields_spanning(first, ahead, source)
        except _RowError as error:
            yield line_no, first, error
            continue
        if not used:  # nearly every row: one line
            yield line_no, first, fields
            continue
        taken = [first, *(ahead.popleft() for _ in range(used))]
        yield line_no, "\n".join(taken), fields
        line_no += used


def _is_header(fields: list[str]) -> bool:
    return fields[0].strip().lower() in _HEADER_CELLS


def _fields_spanning(first: str, ahead: deque[str], source: Iterator[str]) -> tuple[list[str], int]:
    """The fields of a row starting with ``first``; a quoted note may run onto later lines.

    Returns the fields and how many further lines the row used (they are then the first
    of ``ahead``, read from ``source`` as needed). A quote still open at the end of the
    file, or after ``_MAX_ROW_CHARS``, is an error on the first line only, so one stray
    quote cannot swallow the rest of the file.
    """
    unclosed = _RowError("unterminated_quote", "a double quote is opened and never closed")
    row, used = first, 0
    while True:
        try:
            fields = _split(row)
        except _RowError:
            if used:  # the quote closed on a later line, but not as a cell: a stray quote
                raise unclosed from None
            raise
        if fields is not None:
            return fields, used
        if len(row) > _MAX_ROW_CHARS:
            raise unclosed
        if used == len(ahead):
            following = next(source, None)
            if following is None:
                raise unclosed
            ahead.append(following)
        row += "\n" + ahead[used]
        used += 1


def _split(row: str) -> list[str] | None:
    """Split on ``;`` honouring double quotes; None while a quote is still open."""
    if _QUOTE not in row:  # nothing to honour: the common row of addresses and plain notes
        return row.split(_SEPARATOR)
    fields: list[str] = []
    start, end = 0, len(row)
    while True:
        lead = start
        while lead < end and row[lead] in " \t":
            lead += 1
        if lead < end and row[lead] == _QUOTE:
            value, after = _quoted(row, lead + 1)
            if value is None:
                return None
            fields.append(value)
            while after < end and row[after] in " \t":
                after += 1
            if after == end:
                return fields
            if row[after] != _SEPARATOR:
                raise _RowError("bad_quoting", "text after a closing double quote")
            start = after + 1
            continue
        semi = row.find(_SEPARATOR, start)
        if semi == -1:
            fields.append(row[start:])
            return fields
        fields.append(row[start:semi])
        start = semi + 1


def _quoted(row: str, start: int) -> tuple[str | None, int]:
    """A quoted field's text (``""`` is one quote) and the index after its closing quote."""
    quote = row.find(_QUOTE, start)
    if quote != -1 and not row.startswith(_QUOTE, quote + 1):  # no doubled quote: one slice
        return row[start:quote], quote + 1
    parts: list[str] = []
    while True:
        quote = row.find(_QUOTE, start)
        if quote == -1:
            return None, len(row)
        parts.append(row[start:quote])
        if row.startswith(_QUOTE, quote + 1):
            parts.append(_QUOTE)
            start = quote + 2
            continue
        return "".join(parts), quote + 1


_EXPORT_COLUMNS = tuple(EXPORT_HEADER.index(name) for name in ("email", "notes", "reason"))
_EXPORTED_REASONS = {"2": "2", "10": "10", "99": "2"}  # 99 is a block of account '*'


def _from_export(fields: list[str]) -> list[str]:
    """An export row's cells as an import row's: address, notes, reason."""
    if len(fields) != len(EXPORT_HEADER):
        raise _RowError("bad_export_row", f"an export row has {len(EXPORT_HEADER)} columns")
    address, notes, reason = (fields[i] for i in _EXPORT_COLUMNS)
    code = _EXPORTED_REASONS.get(reason.strip())
    if code is None:
        raise _RowError(
            "not_importable",
            f"reason {reason.strip()[:20]!r} entries come from events, not from imports; skipped",
        )
    return [address, notes, code]


def _import_row(line_no: int, fields: list[str]) -> ImportRow:
    """Check one row's cells: address, optional notes, optional reason (2 or 10)."""
    count = len(fields)
    if count > 3 and any(cell.strip() for cell in fields[3:]):
        raise _RowError("too_many_columns", "at most three columns: address, notes, reason")
    address = fields[0]
    notes = fields[1] if count > 1 else ""
    reason = fields[2] if count > 2 else ""
    if not address.strip():
        raise _RowError("missing_address", "the first column is empty")
    code = _IMPORT_REASONS.get(reason.strip())
    if code is None:
        raise _RowError("invalid_reason", f"reason must be 2 or 10, not {reason.strip()[:20]!r}")
    return ImportRow(line_no, _address(address), _notes(notes), code)


def _notes(cell: str) -> str | None:
    text = cell.strip()
    if len(text) > MAX_NOTES:
        raise _RowError("notes_too_long", f"notes are longer than {MAX_NOTES} characters")
    return text or None


def _address(cell: str) -> str:
    try:
        return normalize_address(cell)
    except InvalidAddress as error:
        raise _RowError(error.code, error.message) from None


def _line(cells: Iterable[str]) -> str:
    return _SEPARATOR.join(_safe_cell(cell) for cell in cells) + LINE_END


def _safe_cell(text: str) -> str:
    """Defuse formulas (a leading ``'``), then quote what would break the row."""
    if text and text[0] in _FORMULA_STARTS:
        text = "'" + text
    if any(char in _NEEDS_QUOTES for char in text) or text != text.strip(" "):
        return _QUOTE + text.replace(_QUOTE, _QUOTE * 2) + _QUOTE
    return text


def _time_cell(moment: datetime | None) -> str:
    return "" if moment is None else format_timestamp(moment)


def _clip(raw: str) -> str:
    return raw if len(raw) <= _MAX_RAW_SHOWN else raw[:_MAX_RAW_SHOWN] + "…"
