"""Block-list import (CSV and manual entry), the import report, and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.errors import SchemaError, TooLarge
from suppressor_client.types import Category, ListKey, ListName, ListRecord, Reason

from workers.domain.files import (
    EXPORT_HEADER,
    MAX_NOTES,
    BadEncoding,
    ExportRow,
    ImportRow,
    InvalidRow,
    build_report,
    export_csv,
    parse_import_csv,
    parse_manual,
)

WHEN = datetime(2024, 5, 1, 10, 15, tzinfo=UTC)


def _emails(rows: list[ImportRow]) -> list[str]:
    return [r.email for r in rows]


def _codes(invalid: list[InvalidRow]) -> list[tuple[int, str]]:
    return [(r.line, r.code) for r in invalid]


def test_simple_file() -> None:
    """One address per row, normalised, reason 2 and no notes by default."""
    rows, invalid = parse_import_csv("Jane@Example.com\nbob@bücher.de\n")
    assert rows == [
        ImportRow(1, "jane@example.com", None, Reason.MANUAL),
        ImportRow(2, "bob@xn--bcher-kva.de", None, Reason.MANUAL),
    ]
    assert invalid == []


def test_bom_crlf_and_header_as_bytes() -> None:
    """A UTF-8 BOM, CRLF line ends and an email header row are all understood."""
    data = '\ufeffEmail;Notes\r\na@x.com;"first"\r\n\r\nb@x.com\r\n'.encode()
    rows, invalid = parse_import_csv(data)
    assert [(r.line, r.email, r.notes) for r in rows] == [
        (2, "a@x.com", "first"),
        (4, "b@x.com", None),
    ]
    assert invalid == []


@pytest.mark.parametrize("header", ["address", "ADDRESS;notes;reason", '"E-mail";"Notes"'])
def test_header_variants(header: str) -> None:
    """Address and e-mail headers, any case, quoted or not, are skipped."""
    rows, invalid = parse_import_csv(f"{header}\na@x.com\n")
    assert _emails(rows) == ["a@x.com"] and invalid == []


def test_header_only_on_the_first_row() -> None:
    """An 'email' cell further down is a bad row, not a header."""
    _, invalid = parse_import_csv("a@x.com\nemail\n")
    assert _codes(invalid) == [(2, "invalid_address")]


def test_quoted_notes_with_separator_and_doubled_quotes() -> None:
    """Notes in double quotes keep ';' and turn '""' into one quote."""
    rows, _ = parse_import_csv('a@x.com;"asked; by ""phone"" today"\n')
    assert rows[0].notes == 'asked; by "phone" today'


def test_unquoted_notes_and_spaces_around_quotes() -> None:
    """Notes without quotes are accepted; spaces around a quoted cell are ignored."""
    rows, invalid = parse_import_csv('a@x.com;plain note\nb@x.com ;  "quoted" ; 2 \n')
    assert [(r.email, r.notes, r.reason) for r in rows] == [
        ("a@x.com", "plain note", Reason.MANUAL),
        ("b@x.com", "quoted", Reason.MANUAL),
    ]
    assert invalid == []


def test_quoted_note_may_span_lines() -> None:
    """A quoted note with a line break is one row, numbered by its first line."""
    rows, invalid = parse_import_csv('a@x.com;"line one\r\nline two"\nb@x.com\n')
    assert [(r.line, r.email, r.notes) for r in rows] == [
        (1, "a@x.com", "line one\nline two"),
        (3, "b@x.com", None),
    ]
    assert invalid == []


def test_unterminated_quote_spoils_only_its_line() -> None:
    """A quote never closed makes its own row invalid; the rows after it still import."""
    rows, invalid = parse_import_csv('a@x.com;"never closed\nb@x.com\nc@x.com;"ok"\n')
    assert _codes(invalid) == [(1, "unterminated_quote")]
    assert invalid[0].raw == 'a@x.com;"never closed'
    assert [(r.line, r.email) for r in rows] == [(2, "b@x.com"), (3, "c@x.com")]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("2", Reason.MANUAL), ("10", Reason.NONEXISTENT_LEGACY), ('"10"', Reason.NONEXISTENT_LEGACY)],
)
def test_reason_column(reason: str, expected: Reason) -> None:
    """The third column takes 2 or the legacy 10 (non-existent mailbox)."""
    rows, invalid = parse_import_csv(f'a@x.com;"n";{reason}\n')
    assert rows[0].reason is expected and invalid == []


def test_bad_rows_are_reported_with_line_numbers() -> None:
    """Each kind of bad row is reported with its line, raw text and a code; others import."""
    text = "\n".join(
        [
            "email;notes",  # 1 header
            "good@x.com",  # 2
            "not-an-address",  # 3
            ';"notes only"',  # 4
            "a@x.com;n;1",  # 5 reason 1 is not importable
            "b@x.com;n;2;extra",  # 6
            f'c@x.com;"{"n" * (MAX_NOTES + 1)}"',  # 7
            'd@x.com;"closed" trailing',  # 8
            "",  # 9 blank
            "   ",  # 10 blank
            "e@x.com;;;",  # 11 empty extra columns are fine
        ]
    )
    rows, invalid = parse_import_csv(text)
    assert [(r.line, r.email) for r in rows] == [(2, "good@x.com"), (11, "e@x.com")]
    assert _codes(invalid) == [
        (3, "invalid_address"),
        (4, "missing_address"),
        (5, "invalid_reason"),
        (6, "too_many_columns"),
        (7, "notes_too_long"),
        (8, "bad_quoting"),
    ]
    assert invalid[0].raw == "not-an-address" and "@" in invalid[0].message


def test_not_utf8_is_refused() -> None:
    """Bytes that are not UTF-8 (a Latin-1 export) are refused as a whole, clearly."""
    with pytest.raises(BadEncoding):
        parse_import_csv("jürgen@x.com\n".encode("latin-1"))


def test_limits_refuse_big_files() -> None:
    """Files over the row or byte bound are refused with TooLarge, not half-imported."""
    text = "".join(f"u{i}@x.com\n" for i in range(11))
    assert len(parse_import_csv(text, max_rows=11)[0]) == 11
    with pytest.raises(TooLarge, match="more than 10 rows"):
        parse_import_csv(text, max_rows=10)
    with pytest.raises(TooLarge):
        parse_import_csv(text.encode(), max_bytes=50)
    with pytest.raises(TooLarge):
        parse_import_csv("ü" * 30, max_bytes=50)
    with pytest.raises(TooLarge):
        parse_manual(text, max_rows=5)


def test_manual_entry() -> None:
    """Manual entry: one address per line, the same notes on every row, bad lines reported."""
    rows, invalid = parse_manual("\ufeffA@x.com\r\n\r\nnope\r\n  b@x.com  ", notes=" from support ")
    assert [(r.line, r.email, r.notes, r.reason) for r in rows] == [
        (1, "a@x.com", "from support", Reason.MANUAL),
        (4, "b@x.com", "from support", Reason.MANUAL),
    ]
    assert _codes(invalid) == [(3, "invalid_address")]


def test_manual_entry_notes_are_bounded() -> None:
    """Notes over the bound refuse the whole manual entry, naming the notes field."""
    with pytest.raises(SchemaError) as caught:
        parse_manual("a@x.com", notes="n" * (MAX_NOTES + 1))
    assert caught.value.path == "notes"


def test_report_marks_existing_and_repeated_addresses() -> None:
    """Rows already on the list, and repeats within the file, are 'already present'."""
    rows, invalid = parse_import_csv("a@x.com\nold@x.com\nA@X.com\nbad\nb@x.com\n")
    report = build_report(rows, invalid, lambda email: email == "old@x.com")
    assert [(r.line, r.email) for r in report.added] == [(1, "a@x.com"), (5, "b@x.com")]
    assert [r.line for r in report.already_present] == [2, 3]
    assert [r.line for r in report.invalid] == [4]
    summary = report.as_dict()
    assert (summary["added"], summary["already_present"], summary["invalid"]) == (2, 2, 1)
    assert summary["invalid_rows"][0]["line"] == 4
    assert summary["already_present_rows"] == [
        {"line": 2, "email": "old@x.com"},
        {"line": 3, "email": "a@x.com"},
    ]


def test_an_export_imports_again_without_change() -> None:
    """An export's own file reads back as import rows: same addresses, reasons and notes."""
    rows = [
        ExportRow("ann@x.example", "x.example", None, Reason.MANUAL, Category.BLOCK, None, None,
                  "vip; keep"),
        ExportRow("zed@x.example", "x.example", None, Reason.NONEXISTENT_LEGACY, Category.BOUNCE,
                  None, "d1", None),
        ExportRow("all@x.example", "x.example", None, Reason.SHARED, Category.BLOCK, None, None,
                  None),
        ExportRow("uns@x.example", "x.example", None, Reason.UNSUBSCRIBE, Category.UNSUBSCRIBE,
                  None, None, None),
    ]  # fmt: skip
    parsed, invalid = parse_import_csv("".join(export_csv(rows)))
    assert [(r.line, r.email, r.notes, r.reason) for r in parsed] == [
        (2, "ann@x.example", "vip; keep", Reason.MANUAL),
        (3, "zed@x.example", None, Reason.NONEXISTENT_LEGACY),
        (4, "all@x.example", None, Reason.MANUAL),  # on account '*' a block is 99 again
    ]
    assert [(r.line, r.code) for r in invalid] == [(5, "not_importable")]


def _record(**fields: object) -> ListRecord:
    key = ListKey("acme", ListName.BOUNCE, "jane@example.com")
    return ListRecord(key=key, version=1, active=True, **fields)  # type: ignore[arg-type]


def test_export_lines() -> None:
    """The export has every SPEC §8 field, one CRLF-terminated line per entry."""
    record = _record(
        reason=Reason.TEMPORARY,
        since=WHEN,
        expires_at=WHEN + timedelta(days=7),
        delivery_id="d-9",
        notes="3rd bounce",
    )
    lines = list(export_csv([ExportRow.of("jane@example.com", record)]))
    assert lines == [
        "email;domain;date;reason;category;expires_at;delivery_id;notes\r\n",
        "jane@example.com;example.com;2024-05-01T10:15:00Z;8;bounce;2024-05-08T10:15:00Z;d-9;"
        "3rd bounce\r\n",
    ]
    assert tuple(lines[0].strip().split(";")) == EXPORT_HEADER


def test_export_of_a_bare_entry_leaves_cells_empty() -> None:
    """Absent fields are empty cells, never 'None'."""
    row = ExportRow.of("a@x.com", ListRecord(ListKey("acme", ListName.BLOCK, "a@x.com"), 1, True))
    assert row.category is None
    assert list(export_csv([row]))[1] == "a@x.com;x.com;;;;;;\r\n"


@pytest.mark.parametrize(
    ("notes", "cell"),
    [
        ('=HYPERLINK("http://evil")', '"\'=HYPERLINK(""http://evil"")"'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", '"\'\rx"'),
        ("a;b", '"a;b"'),
        ("two\nlines", '"two\nlines"'),
        (" padded ", '" padded "'),
        ("safe = fine", "safe = fine"),
    ],
)
def test_export_cells_are_quoted_and_defused(notes: str, cell: str) -> None:
    """Formula starters get a leading apostrophe; separators, quotes and breaks are quoted."""
    row = ExportRow.of("a@x.com", _record(reason=Reason.MANUAL, notes=notes))
    line = list(export_csv([row]))[1]
    assert line.endswith(";" + cell + "\r\n")


def test_export_is_lazy() -> None:
    """Export yields lines as it goes, so a huge list is never held in memory."""

    def endless() -> object:
        while True:
            yield ExportRow.of("a@x.com", _record())

    lines = export_csv(endless())  # type: ignore[arg-type]
    assert next(lines).startswith("email;") and next(lines).startswith("a@x.com;")


NOTES = st.text(st.characters(exclude_categories=("Cs",)), max_size=60).filter(
    lambda t: t.strip() == t and (not t or t[0] not in "=+-@\t\r")
)


@given(st.lists(NOTES, min_size=1, max_size=5))
def test_export_parses_back_as_csv(notes: list[str]) -> None:
    """Any export is well-formed ';' CSV: the stdlib reader gets every cell back."""
    rows = [ExportRow.of(f"u{i}@x.com", _record(notes=n or None)) for i, n in enumerate(notes)]
    text = "".join(export_csv(rows))
    parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert parsed[0] == list(EXPORT_HEADER)
    assert [p[-1] for p in parsed[1:]] == notes
    assert [p[0] for p in parsed[1:]] == [f"u{i}@x.com" for i in range(len(notes))]


@given(st.lists(NOTES.filter(lambda t: len(t) <= MAX_NOTES), min_size=1, max_size=5))
def test_quoted_notes_round_trip_through_import(notes: list[str]) -> None:
    """Quoted notes come back unchanged through the importer (line breaks read as LF)."""
    lines = [f'u{i}@x.com;"{n.replace(chr(34), chr(34) * 2)}"' for i, n in enumerate(notes)]
    rows, invalid = parse_import_csv("\r\n".join(lines))
    assert invalid == []
    assert [r.notes for r in rows] == [re.sub(r"\r\n?", "\n", n) or None for n in notes]
