"""Table tests: one realistic message per MTA family, each recipient's facts as parsed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.ingest.mail.helpers import FIXTURES, fixture
from workers.ingest.mail.parse import parse_message


@dataclass(frozen=True)
class Want:
    email: str | None
    kind: str
    status: str | None = None
    code: int | None = None
    family: str | None = None
    words: str | None = None  # a substring the diagnostic must hold
    mta: str | None = None


TABLE: dict[str, list[Want]] = {
    "postfix-dsn-two-recipients.eml": [
        Want(
            "jane.doe@example.net",
            "bounce",
            "5.1.1",
            550,
            "dsn",
            "User unknown in virtual",
            "mx1.example.net",
        ),
        Want("bob@example.org", "bounce", "5.2.2", 552, "dsn", "Mailbox full", "mx.example.org"),
    ],
    "exim-text.eml": [
        Want("klaus@example.de", "bounce", "5.1.1", 550, "exim", "User unknown", "mx00.example.de"),
    ],
    "qmail-text.eml": [
        Want("old.customer@qmailhost.example", "bounce", "5.1.1", None, "qmail", "no mailbox here"),
        Want(
            "busy@remote.example", "bounce", "5.7.1", 550, "qmail", "rejected as spam", "192.0.2.55"
        ),
    ],
}


def test_every_fixture_is_in_a_table() -> None:
    """Each fixture message is checked by some table row (none is written and forgotten)."""
    from tests.ingest.mail.test_parse_special import SPECIAL

    names = {path.name for path in FIXTURES.glob("*.eml")}
    assert names == set(TABLE) | set(SPECIAL)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_family_fixture_reads_every_recipient(name: str) -> None:
    """The message gives exactly the expected recipients with their codes, words and MTA."""
    reports = parse_message(fixture(name))
    got = [(r.email, r.kind) for r in reports]
    assert got == [(w.email, w.kind) for w in TABLE[name]], [r.evidence for r in reports]
    for report, want in zip(reports, TABLE[name], strict=True):
        assert report.smtp_status == want.status, report
        assert report.smtp_code == want.code, report
        if want.family is not None:
            assert report.mta_family == want.family
        if want.words is not None:
            assert report.diagnostic is not None and want.words in report.diagnostic, report
        if want.mta is not None:
            assert report.remote_mta == want.mta
        assert report.evidence
