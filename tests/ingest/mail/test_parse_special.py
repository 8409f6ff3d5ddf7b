"""Messages that are not plain bounces: complaints, delays, auto-replies, receipts, junk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.ingest.mail.helpers import fixture
from workers.ingest.mail.dsn import status_comment
from workers.ingest.mail.parse import parse_message

SPECIAL: dict[str, str] = {
    "arf-abuse.eml": "an ARF abuse report names its recipient in Original-Rcpt-To",
    "arf-redacted-to-in-original.eml": "a redacted Original-Rcpt-To, the original's To",
    "arf-fully-redacted-verp.eml": "every address redacted: the report keeps the return path",
    "arf-opt-out.eml": "an opt-out report",
    "arf-not-spam.eml": "a not-spam report",
    "dsn-delayed.eml": "a DSN with Action: delayed",
    "dsn-success-relayed-expanded.eml": "a DSN with delivered, relayed and expanded blocks",
    "exim-delay-warning.eml": "an Exim delay warning in text",
    "vacation-auto-submitted.eml": "a vacation reply with RFC 3834 headers",
    "out-of-office-subject-only.eml": "an out-of-office reply known only by its subject",
    "read-receipt.eml": "a read receipt",
    "human-reply.eml": "a person's reply to the bounce address",
}


def _one(name: str):  # type: ignore[no-untyped-def]
    reports = parse_message(fixture(name))
    assert len(reports) == 1, reports
    return reports[0]


def test_arf_abuse_report_is_a_complaint_with_its_recipient_and_return_path() -> None:
    """Feedback-Type, the normalised Original-Rcpt-To, the arrival date and the VERP return
    path (Original-Mail-From first) come out of an ARF report."""
    report = _one("arf-abuse.eml")
    assert (report.kind, report.email, report.feedback_type) == (
        "complaint",
        "complainer@mailbox.example",
        "abuse",
    )
    assert report.occurred_at == datetime(2025, 7, 10, 20, 20, tzinfo=UTC)
    assert report.verp_candidates[0] == "b+acme.d-8008.0000000000000000@bounces.example.com"
    assert report.original_header("X-Suppressor-Delivery") == "d-8008"
    assert report.original_message_id == "<campaign-93.d-8008@acme.example>"


def test_redacted_rcpt_to_falls_back_to_the_original_to() -> None:
    """``xxxxxxxx@portal.example`` is a mask, so the enclosed headers' To is the recipient."""
    report = _one("arf-redacted-to-in-original.eml")
    assert (report.kind, report.email) == ("complaint", "reader.one@portal.example")
    assert "original's To" in report.evidence


def test_fully_redacted_report_has_no_address_but_keeps_the_verp_path() -> None:
    """With every address masked the report has no email; resolution may use the VERP path."""
    report = _one("arf-fully-redacted-verp.eml")
    assert (report.kind, report.email) == ("complaint", None)
    assert "redacted" in report.evidence
    assert "b+acme.d-9009.0000000000000000@bounces.example.com" in report.verp_candidates


@pytest.mark.parametrize(
    ("name", "feedback_type"), [("arf-opt-out.eml", "opt-out"), ("arf-not-spam.eml", "not-spam")]
)
def test_other_feedback_types_are_kept_as_written(name: str, feedback_type: str) -> None:
    """The Feedback-Type is carried lower-cased; what it means is resolution's business."""
    report = _one(name)
    assert report.kind == "complaint" and report.feedback_type == feedback_type


def test_delayed_dsn_is_not_a_bounce() -> None:
    """Action: delayed gives kind delayed, with its status and words."""
    report = _one("dsn-delayed.eml")
    assert (report.kind, report.email, report.smtp_status) == (
        "delayed",
        "slow@far.example",
        "4.4.1",
    )


def test_delivered_relayed_and_expanded_blocks_each_say_so() -> None:
    """Each DSN block keeps its own Action; the envelope id comes from the per-message block."""
    reports = parse_message(fixture("dsn-success-relayed-expanded.eml"))
    assert [(r.kind, r.email) for r in reports] == [
        ("delivered", "happy@ok.example"),
        ("relayed", "gateway@legacy.example"),
        ("expanded", "team@list.example"),
    ]
    assert {r.envelope_id for r in reports} == {"d-1111"}


def test_exim_delay_warning_in_text_is_delayed() -> None:
    """ "has not yet been delivered" makes an Exim text notice a delay, not a bounce."""
    report = _one("exim-delay-warning.eml")
    assert (report.kind, report.email, report.smtp_code) == (
        "delayed",
        "waiting@slowhost.example",
        451,
    )
    assert report.diagnostic == "451 4.7.1 Greylisted, please try again later"


@pytest.mark.parametrize(
    ("name", "email", "why"),
    [
        ("vacation-auto-submitted.eml", "anna.nowak@firma.example", "auto-submitted"),
        ("out-of-office-subject-only.eml", "sam.green@company.example", "out of office"),
    ],
)
def test_auto_replies_are_recognised(name: str, email: str, why: str) -> None:
    """RFC 3834 headers, else the subject's wording, mark an auto-reply (never a bounce)."""
    report = _one(name)
    assert (report.kind, report.email) == ("auto_reply", email)
    assert why in report.evidence


def test_read_receipt_is_a_receipt() -> None:
    """A disposition notification is a read receipt."""
    assert _one("read-receipt.eml").kind == "receipt"


def test_a_persons_reply_is_unparsed_with_a_reason() -> None:
    """A message that is none of these is one unparsed report that says so."""
    report = _one("human-reply.eml")
    assert report.kind == "unparsed" and report.email is None
    assert "not a bounce" in report.evidence


def test_postfix_bounce_is_not_taken_for_an_auto_reply() -> None:
    """Postfix marks its bounces Auto-Submitted: auto-replied; the DSN still wins."""
    reports = parse_message(fixture("postfix-dsn-two-recipients.eml"))
    assert {r.kind for r in reports} == {"bounce"}


def test_rfc2047_subject_and_8bit_headers_are_decoded() -> None:
    """Encoded words in headers are decoded before they are matched."""
    raw = (
        b"From: =?UTF-8?B?TWFpbCBEZWxpdmVyeSBTeXN0ZW0=?= <postmaster@x.example>\r\n"
        b"Subject: =?ISO-8859-1?Q?Unzustellbar=3A_Best=E4tigung?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"<weg@x.example>: 550 5.1.1 Benutzer unbekannt\r\n"
    )
    (report,) = parse_message(raw)
    assert (report.kind, report.email, report.smtp_status) == ("bounce", "weg@x.example", "5.1.1")


def test_auto_submitted_header_does_not_make_a_bounce_an_auto_reply() -> None:
    """A mailer-daemon's text bounce marked Auto-Submitted (RFC 3834 §5) stays a bounce."""
    report = _one("dsn-auto-submitted-bounce.eml")
    assert (report.kind, report.email) == ("bounce", "ivan.petrov@bigmail.example")


def test_auto_submitted_from_a_person_is_still_an_auto_reply() -> None:
    """The header alone still marks an auto-reply when neither sender nor subject says bounce."""
    raw = (
        b"From: Lee <lee@example.com>\r\nTo: news@acme.example\r\n"
        b"Subject: Re: Weekly picks\r\nAuto-Submitted: auto-replied\r\n\r\nThanks!\r\n"
    )
    [report] = parse_message(raw)
    assert (report.kind, report.email) == ("auto_reply", "lee@example.com")


@pytest.mark.parametrize(
    ("status", "comment"),
    [
        ("5.0.0 (recipient reached disk quota)", "recipient reached disk quota"),
        ("5.1.1 (bad   destination\r\n mailbox address)", "bad destination mailbox address"),
        ("5.1.1", None),
        ("5.1.1 ()", None),
        (None, None),
    ],
)
def test_status_comment_is_the_words_beside_the_code(
    status: str | None, comment: str | None
) -> None:
    """The comment after a DSN Status code is read (whitespace folded), and only a comment."""
    assert status_comment(status) == comment
