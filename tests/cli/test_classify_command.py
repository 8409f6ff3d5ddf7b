"""Tests of the ``suppressor classify`` core: JSON lines in, one verdict or error per line out."""

from __future__ import annotations

import json
from io import StringIO

import orjson
import pytest

from tests.ingest.webhooks.signing import fixture_bytes
from workers.cli.classify_command import MAX_LINE_LENGTH, run_classify


def run(lines: list[str]) -> tuple[int, list[dict[str, object]]]:
    out = StringIO()
    status = run_classify(lines, out)
    text = out.getvalue()
    assert text == "" or text.endswith("\n")
    return status, [orjson.loads(line) for line in text.splitlines()]


def test_bounce_event() -> None:
    """A schema-shaped bounce event (details at the top level) gives outcome, evidence, id."""
    line = orjson.dumps(
        {
            "event_id": "de-1",
            "type": "bounce",
            "smtp_status": "5.1.1",
            "smtp_code": 550,
            "diagnostic": "User unknown",
        }
    ).decode()
    assert run([line]) == (
        0,
        [
            {
                "line": 1,
                "outcome": "nonexistent",
                "evidence": ["status:5.1.1", "text:'user unknown'"],
                "event_id": "de-1",
            }
        ],
    )


def test_provider_fields_and_missing_type() -> None:
    """A provider's own classification is read, and a missing type reads as a bounce."""
    line = (
        '{"provider": "sendgrid", "provider_type": "bounce", "provider_subtype": "Invalid Address"}'
    )
    assert run([line]) == (
        0,
        [
            {
                "line": 1,
                "outcome": "nonexistent",
                "evidence": ["provider:sendgrid:bounce/Invalid Address"],
            }
        ],
    )


def test_complaint_event() -> None:
    """A complaint line is classified by its feedback type."""
    status, rows = run(['{"type": "complaint", "feedback_type": "opt-out", "event_id": "c1"}'])
    assert status == 0
    assert rows == [
        {"line": 1, "outcome": "unsubscribe", "evidence": ["feedback:opt-out"], "event_id": "c1"}
    ]


def test_bounce_without_details_is_unknown() -> None:
    """A bounce with no details, or only null ones, is an unknown bounce, not an error."""
    status, rows = run(['{"type": "bounce"}', '{"smtp_code": null, "diagnostic": null}'])
    assert status == 0
    assert [row["outcome"] for row in rows] == ["unknown", "unknown"]


def test_nested_bounce_object_is_ignored() -> None:
    """A nested bounce object is no longer the format: it is ignored, and alone not understood."""
    line = '{"bounce": {"smtp_status": "5.1.1"}, "smtp_status": "5.7.1"}'
    status, rows = run([line, '{"bounce": "5.1.1"}'])
    assert status == 1
    assert rows[0]["outcome"] == "policy"
    error = rows[1]["error"]
    assert isinstance(error, dict) and error["code"] == "not_understood"


def test_details_are_read_as_the_worker_reads_them() -> None:
    """The tool shares the parser's checks: 556.0 is the reply code 556, a bad enum is refused."""
    status, rows = run(['{"smtp_code": 556.0}', '{"provider": "acme-mail"}'])
    assert status == 1
    assert (rows[0]["outcome"], rows[0]["evidence"]) == ("nonexistent", ["code:556"])
    error = rows[1]["error"]
    assert isinstance(error, dict) and error["path"] == "provider"


def test_blank_lines_are_skipped_but_counted() -> None:
    """Blank lines write nothing, and line numbers still count them."""
    status, rows = run(["\n", '{"smtp_status": "5.7.1"}\n', "   \n", '{"type": "bounce"}\n'])
    assert status == 0
    assert [row["line"] for row in rows] == [2, 4]
    assert rows[0]["outcome"] == "policy"


@pytest.mark.parametrize(
    ("line", "code", "path"),
    [
        ("{not json", "bad_json", None),
        ("[1, 2]", "schema", ""),
        ("{}", "not_understood", None),
        ('{"notificationType": "Bounce", "mail": {}}', "webhook_payload", "bounce"),
        (
            '[{"msys": {"message_event": {"type": "bounce"}}}]',
            "webhook_payload",
            "[0].msys.message_event.event_id",
        ),
        ('"bounce"', "schema", ""),
        ('{"smtp_code": "550"}', "schema", "smtp_code"),
        ('{"smtp_code": true}', "schema", "smtp_code"),
        ('{"smtp_code": 999}', "schema", "smtp_code"),
        ('{"diagnostic": 42}', "schema", "diagnostic"),
        ('{"smtp_status": "5.1"}', "schema", "smtp_status"),
        ('{"smtp_status": 5.11}', "schema", "smtp_status"),
        ('{"provider": ["ses"]}', "schema", "provider"),
        ('{"type": 3}', "schema", "type"),
        ('{"type": "delivered"}', "schema", "type"),
        ('{"type": "complaint", "feedback_type": {}}', "schema", "feedback_type"),
        ('{"event_id": 7}', "schema", "event_id"),
        ("x" * (MAX_LINE_LENGTH + 1), "too_large", None),
    ],
)
def test_malformed_lines_report_an_error(line: str, code: str, path: str | None) -> None:
    """A malformed line writes an error with a machine-readable code, and the status is 1."""
    status, rows = run([line])
    assert status == 1
    assert len(rows) == 1
    error = rows[0]["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert error.get("path") == path
    assert error["message"]
    assert "outcome" not in rows[0]


def test_processing_goes_on_after_an_error() -> None:
    """Lines after a bad one are still classified, in order."""
    status, rows = run(['{"smtp_status": "5.2.2"}', "{oops", '{"smtp_code": 556}'])
    assert status == 1
    assert [row["line"] for row in rows] == [1, 2, 3]
    assert rows[0]["outcome"] == "condition"
    assert "error" in rows[1]
    assert rows[2]["outcome"] == "nonexistent"


def test_lone_surrogate_is_bad_json() -> None:
    """Text that cannot be UTF-8 is refused as bad JSON rather than crashing the run."""
    status, rows = run(['{"diagnostic": "\ud800"}'])
    assert status == 1
    error = rows[0]["error"]
    assert isinstance(error, dict)
    assert error["code"] == "bad_json"


def test_empty_input() -> None:
    """No input lines: no output and success."""
    assert run([]) == (0, [])


def test_raw_provider_payloads_give_one_row_per_event() -> None:
    """Pasted SES (in its SNS envelope), SendGrid, Mailgun, Postmark and SparkPost bodies
    are mapped as the routes map them, each event on its own row with its provider."""
    ses = json.loads(fixture_bytes("ses/bounce-notification.json"))
    envelope = {"Type": "Notification", "MessageId": "m-1", "Message": json.dumps(ses)}
    lines = [
        json.dumps(envelope),
        fixture_bytes("sendgrid/batch.json").decode().replace("\n", ""),
        fixture_bytes("mailgun/failed-temporary.json").decode().strip(),
        fixture_bytes("postmark/bounce-hard.json").decode().strip(),
        fixture_bytes("sparkpost/batch.json").decode().replace("\n", ""),
    ]
    status, rows = run(lines)
    assert status == 0
    by_email = {(row["provider"], row.get("email")): row["outcome"] for row in rows}
    assert by_email[("ses", "ses-gone@example.com")] == "nonexistent"
    assert by_email[("sendgrid", "sg-gone@example.com")] == "nonexistent"
    assert by_email[("sendgrid", "sg-blocked@example.com")] == "policy"
    assert by_email[("sendgrid", "sg-unsub@example.com")] == "unsubscribe"
    assert by_email[("sendgrid", "sg-delivered@example.com")] == "ignored"
    assert by_email[("sendgrid", None)] == "ignored"  # the open event, skipped
    assert by_email[("mailgun", "mg-full@example.com")] == "condition"
    assert by_email[("postmark", "pm-gone@example.com")] == "nonexistent"
    assert by_email[("sparkpost", "sp-oneclick@example.com")] == "unsubscribe"
    assert by_email[("sparkpost", "sp-spam@example.com")] == "complaint"
    assert {row["line"] for row in rows} == {1, 2, 3, 4, 5}
