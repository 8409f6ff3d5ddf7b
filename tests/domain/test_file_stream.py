"""The streaming import parser: same rows as the whole-file parser, in flat memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.errors import TooLarge

from workers.domain.file_stream import SeenSet, stream_import_csv, stream_lines, stream_manual
from workers.domain.files import BadEncoding, ImportRow, InvalidRow, parse_import_csv


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _split(items: Iterator[ImportRow | InvalidRow]) -> tuple[list[ImportRow], list[InvalidRow]]:
    rows: list[ImportRow] = []
    invalid: list[InvalidRow] = []
    for item in items:
        if isinstance(item, ImportRow):
            rows.append(item)
        else:
            invalid.append(item)
    return rows, invalid


def test_rows_keep_their_line_numbers_across_crlf_bom_and_quoted_notes() -> None:
    """BOM dropped, CRLF split, a quoted note over two lines counts both lines."""
    data = '\ufeffemail;notes\r\na@x.com;"one\r\ntwo"\r\nb@x.com;"say ""hi"""\r\n'.encode()
    rows, invalid = _split(stream_import_csv(_chunks(data, 3)))
    assert invalid == []
    assert [(r.line, r.email, r.notes) for r in rows] == [
        (2, "a@x.com", "one\ntwo"),
        (4, "b@x.com", 'say "hi"'),
    ]


def test_bad_rows_mid_file_are_reported_and_the_rest_go_on() -> None:
    """An invalid address, a bad reason and a stray quote mid-file each become one InvalidRow."""
    text = 'a@x.com\nnope\nb@x.com;"n";7\nc@x.com;"open\nd@x.com\ne@x.com;;10\n'
    rows, invalid = _split(stream_import_csv(_chunks(text.encode(), 5)))
    assert [(r.line, r.email) for r in rows] == [(1, "a@x.com"), (5, "d@x.com"), (6, "e@x.com")]
    assert [(r.line, r.code) for r in invalid] == [
        (2, "invalid_address"),
        (3, "invalid_reason"),
        (4, "unterminated_quote"),
    ]


@given(
    text=st.text(alphabet='ab@x.;" \r\n\ufeff1', max_size=80),
    size=st.integers(min_value=1, max_value=9),
)
def test_any_chunking_gives_the_whole_file_parsers_rows(text: str, size: int) -> None:
    """Chunked anywhere (inside CRLF or a UTF-8 sequence) the rows equal parse_import_csv's."""
    data = text.encode()
    expected = parse_import_csv(data, max_rows=1000)
    assert _split(stream_import_csv(_chunks(data, size), max_rows=1000)) == expected


def test_text_chunks_and_manual_entry_stream_too() -> None:
    """Text chunks work like bytes; manual entry numbers lines and shares the notes."""
    rows, invalid = _split(stream_manual(["A@x.com\r", "\n\nbad\n", "b@x.com"], "from support"))
    assert [(r.line, r.email, r.notes) for r in rows] == [
        (1, "a@x.com", "from support"),
        (4, "b@x.com", "from support"),
    ]
    assert [r.line for r in invalid] == [3]


def test_bounds_stop_the_stream_with_a_clear_error() -> None:
    """An overlong line, too many bytes and non-UTF-8 bytes mid-file raise, naming where."""
    with pytest.raises(TooLarge, match="line 2 is longer than 10"):
        list(stream_lines([b"a@x.com\n", b"b" * 11], max_line=10))
    with pytest.raises(TooLarge, match="limit of 20 bytes"):
        list(stream_lines([b"a@x.com\n"] * 3, max_bytes=20))
    lines = stream_lines([b"a@x.com\n", "j\u00fcrgen@x.com\n".encode("latin-1")])
    assert next(lines) == "a@x.com"
    with pytest.raises(BadEncoding, match="byte 9"):
        list(lines)
    with pytest.raises(TooLarge, match="more than 3 rows"):
        list(stream_import_csv([b"a@x.com\n" * 4], max_rows=3))


def _generated(rows: int) -> Iterator[bytes]:
    """A CSV of ``rows`` distinct rows (some invalid), 1,000 rows a chunk, never held whole."""
    for start in range(0, rows, 1000):
        yield "".join(
            f'user{n}@example.com;"note {n}"\r\n' if n % 97 else f"bad{n}\r\n"
            for n in range(start, start + 1000)
        ).encode()


def test_memory_stays_flat_over_200k_rows() -> None:
    """Parsing 200,000 streamed rows peaks under 1 MB of traced memory (the rows are not kept)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in stream_import_csv(_generated(200_000)))
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 1_000_000, peak


_NEAR = st.sampled_from([0, 1, 16, 17, 32, -1, -16, 2**63 - 1, -(2**63)])  # probe chains


@given(st.lists(st.integers(-(2**63), 2**63 - 1) | _NEAR, max_size=400), st.integers(1, 64))
def test_a_seen_set_answers_as_a_set_does(values: list[int], capacity: int) -> None:
    """Whatever the values (0, colliding slots) and however often the table grows,
    membership and size are a Python set's."""
    seen, reference = SeenSet(capacity=capacity), set()
    for value in values:
        assert (value in seen) == (value in reference)
        if value not in reference:
            seen.add(value)
            reference.add(value)
        assert len(seen) == len(reference)
    assert all(v in seen for v in reference)
    assert not any(v + 1 in seen for v in reference if v + 1 not in reference and v < 2**63 - 1)


def test_a_seen_set_of_many_hashes_is_small() -> None:
    """200,000 64-bit values take at most 32 bytes each (a table at most half full, and
    at least a quarter after it doubled), not a set's ~76."""
    tracemalloc.start()
    seen = SeenSet()
    for n in range(200_000):
        seen.add(hash(f"user{n}@example.com"))
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(seen) == 200_000
    assert size <= 32 * 200_000
