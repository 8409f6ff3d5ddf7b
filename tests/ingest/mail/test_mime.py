"""MIME as it comes: charsets with and without labels, header blocks, boundaries."""

from __future__ import annotations

import io

import pytest

from tests.ingest.mail.helpers import fixture
from workers.ingest.mail.mime import (
    Headers,
    _canonical_boundaries,
    decode_bytes,
    decode_header_value,
)
from workers.ingest.mail.parse import parse_message
from workers.ingest.mail.pipeline import Processed
from workers.ingest.mail.resolve import MailConfig
from workers.ingest.mail.run import run_ingest
from workers.ingest.mail.sources import Message


@pytest.mark.parametrize(
    ("data", "charset", "text"),
    [
        ("宛先不明".encode("iso2022_jp"), None, "宛先不明"),  # escape sequences say ISO-2022-JP
        ("宛先不明".encode("cp932"), None, "宛先不明"),  # unlabelled 8-bit Japanese: Shift_JIS
        ("宛先不明".encode("cp932"), "Shift_JIS", "宛先不明"),
        ("Empfänger".encode("cp1252"), "iso-8859-1", "Empfänger"),
        ("€ unzustellbar".encode("cp1252"), "iso-8859-1", "€ unzustellbar"),  # Latin-1 is cp1252
        ("Użytkownik".encode("iso-8859-2"), "ISO-8859-2", "Użytkownik"),
        ("naïve".encode(), "us-ascii", "naïve"),  # 8-bit text labelled ASCII is UTF-8
        ("naïve".encode(), "x-unknown-charset", "naïve"),
    ],
)
def test_text_is_decoded_whatever_its_label(data: bytes, charset: str | None, text: str) -> None:
    """The declared charset (with real-world aliases), else what the bytes look like."""
    assert decode_bytes(data, charset) == text


def test_encoded_words_and_raw_8bit_headers_decode() -> None:
    """RFC 2047 words in any charset, folded, and raw UTF-8 in a header all read as text."""
    assert decode_header_value("=?ISO-2022-JP?B?GyRCJFskMhsoQg==?=") == "ほげ"
    assert decode_header_value("=?utf-8?q?Unzustellbar=3A?=\r\n =?utf-8?q?_Best=C3=A4tigung?=") == (
        "Unzustellbar: Bestätigung"
    )
    assert decode_header_value("=?bogus?Q?x?=") == "x"  # an unknown charset: best effort


def test_headers_from_quoted_text_stop_at_the_body() -> None:
    """A quoted original's header block is read up to its first blank line, unfolded."""
    headers = Headers.from_text("To: a@x.example\nSubject: one\n two\n\nX-Not: body\n")
    assert headers.get("subject") == "one two" and headers.get("x-not") is None
    assert headers.addresses("to") == ["a@x.example"]
    assert not Headers.from_text("no header here\n")


def test_long_boundaries_are_renamed_without_changing_the_reports() -> None:
    """Renaming random boundaries (for re's cache) gives the same reports; a message that
    already holds a canonical name is left as it is."""
    raw = fixture("postfix-dsn-two-recipients.eml")
    assert b"=_sb0=" in _canonical_boundaries(raw)
    assert _canonical_boundaries(raw + b"\r\n=_sb0=") == raw + b"\r\n=_sb0="
    before = [(r.email, r.smtp_status, r.diagnostic) for r in parse_message(raw)]
    assert len(before) == 2
    short = fixture("dsn-delayed.eml")  # boundary "d1": too short to rename
    assert _canonical_boundaries(short) == short


def test_ingest_counts_progress_and_summary() -> None:
    """run_ingest hands every message to send, draws a progress line and sums the run."""
    sent: list[Processed] = []
    err = io.StringIO()
    messages = [
        Message("a", fixture("exim-text.eml")),
        Message("b", fixture("human-reply.eml")),
        Message("c", fixture("dsn-delayed.eml")),
    ]
    summary = run_ingest(messages, MailConfig(), sent.append, out=None, err=err, total=3)
    assert [p.source for p in sent] == ["a", "b", "c"]
    assert (summary.messages, summary.events, summary.dead_lettered) == (3, 1, 1)
    assert summary.errors == {"unparsed": 1}
    assert "3/3 messages (100%)" in err.getvalue()
    lines = summary.lines(1.0)
    assert "1 events produced to delivery-events; 1 messages to bounce-mail.dlq" in lines[1]
