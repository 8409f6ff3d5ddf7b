"""Account resolution and events: VERP, header, default account, DLQ, feedback types."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest

from tests.domain.schema_support import validator
from tests.ingest.mail.helpers import fixture
from workers.ingest.mail.parse import parse_message
from workers.ingest.mail.pipeline import BOUNCE_MAIL_DLQ, DELIVERY_EVENTS, process_message
from workers.ingest.mail.resolve import MailConfig, event_id, resolve
from workers.ingest.mail.samples import arf_complaint, dsn_bounce
from workers.ingest.mail.verp import VerpTemplate

NOW = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
VERP = VerpTemplate.parse("b+{account}.{delivery}.{tag}@bounces.example.com", "s3cret")
WITH_VERP = MailConfig(verp=VERP)
EVENTS = validator("delivery-event")


def _resolved(raw: bytes, config: MailConfig, **kw):  # type: ignore[no-untyped-def]
    return [resolve(r, config, now=NOW, **kw) for r in parse_message(raw)]


def test_a_valid_verp_path_names_account_and_delivery() -> None:
    """The bounce's To is the VERP path: its account and delivery id go on the event."""
    path = VERP.build("acme", "d-42")
    (res,) = _resolved(dsn_bounce(path, "gone@example.net"), WITH_VERP)
    assert (res.kind, res.account_id, res.delivery_id, res.account_from) == (
        "bounce",
        "acme",
        "d-42",
        "verp",
    )
    assert res.outcome == "nonexistent"
    assert res.event is not None and res.event["type"] == "bounce"
    assert res.event["email"] == "gone@example.net" and res.event["smtp_status"] == "5.1.1"
    EVENTS.validate(res.event)


def test_a_forged_verp_tag_is_refused() -> None:
    """A path of the template's shape with a bad tag makes the report forged: no event."""
    local, _, domain = VERP.build("acme", "d-42").partition("@")
    tag = "0123456789abcdef" if not local.endswith("0123456789abcdef") else "fedcba9876543210"
    forged = f"{local.rsplit('.', 1)[0]}.{tag}@{domain}"
    (res,) = _resolved(dsn_bounce(forged, "victim@example.net"), WITH_VERP)
    assert (res.kind, res.event) == ("forged", None)
    assert res.error is not None and res.error["code"] == "forged_verp"


def test_the_envelope_recipient_counts_before_the_headers() -> None:
    """The SMTP RCPT TO (the envelope) is read first: a valid one resolves the account."""
    path = VERP.build("globex", "d-7")
    raw = dsn_bounce("bounce@bounces.example.com", "gone@example.net")
    (res,) = _resolved(raw, WITH_VERP, envelope_recipients=[path])
    assert (res.account_id, res.delivery_id) == ("globex", "d-7")


def test_without_verp_the_original_header_then_the_default_account() -> None:
    """The account header of the returned original, else the configured default."""
    raw = fixture("postfix-dsn-two-recipients.eml")  # X-Suppressor-Account: acme
    assert {r.account_id for r in _resolved(raw, MailConfig())} == {"acme"}
    assert {r.delivery_id for r in _resolved(raw, MailConfig())} == {"d-1001"}
    other = MailConfig(account_header="X-Tenant", default_account="fallback")
    assert {(r.account_id, r.account_from) for r in _resolved(raw, other)} == {
        ("fallback", "default")
    }


def test_no_account_at_all_is_unresolved_and_dead_lettered() -> None:
    """Without VERP, header or default the bounce is unresolved, with its classification."""
    (res,) = _resolved(fixture("sendmail-text.eml"), MailConfig())
    assert (res.kind, res.event, res.outcome) == ("unresolved", None, "nonexistent")
    assert res.error is not None and res.error["code"] == "no_account"


def test_delivery_id_falls_back_to_envelope_id_then_message_ids() -> None:
    """No VERP delivery and no delivery header: ENVID, then the original's Message-ID."""
    (res,) = _resolved(fixture("gmail-address-not-found.eml"), MailConfig(default_account="a"))
    assert res.delivery_id == "campaign-91.d-5005@acme.example"
    delivered = _resolved(
        fixture("dsn-success-relayed-expanded.eml"), MailConfig(default_account="a")
    )
    assert delivered[0].delivery_id == "d-1111"


@pytest.mark.parametrize(
    ("feedback_type", "event_type", "outcome"),
    [
        ("abuse", "complaint", "complaint"),
        ("other", "complaint", "complaint"),
        ("fraud", "abuse", "complaint"),
        ("virus", "abuse", "complaint"),
        ("opt-out", "unsubscribe", "unsubscribe"),
        ("not-spam", None, "ignored"),
        ("auth-failure", None, "ignored"),
    ],
)
def test_feedback_types_map_to_delivery_event_types(
    feedback_type: str, event_type: str | None, outcome: str
) -> None:
    """CLASSIFICATION.md's table: complaint (6), abuse desk (3), unsubscribe (4), nothing."""
    path = VERP.build("acme", "d-9")
    (res,) = _resolved(arf_complaint(path, "reader@example.net", feedback_type=feedback_type),
                       WITH_VERP)  # fmt: skip
    assert res.outcome == outcome and res.error is None
    if event_type is None:
        assert res.event is None
        return
    assert res.event is not None and res.event["type"] == event_type
    EVENTS.validate(res.event)
    assert ("feedback_type" in res.event) == (event_type == "complaint")


def test_a_redacted_complaint_takes_the_recipient_from_the_verp_path() -> None:
    """With {recipient} in the template, a fully redacted report still names its address."""
    verp = VerpTemplate.parse("fb+{account}.{recipient}.{tag}@bounces.example.com", "k")
    path = verp.build("acme", recipient="hidden@example.net")
    raw = arf_complaint(path, "xxxxxx@example.net")
    (res,) = _resolved(raw, MailConfig(verp=verp))
    assert (res.email, res.account_id, res.kind) == ("hidden@example.net", "acme", "complaint")


def test_ignored_kinds_have_no_event_and_no_error() -> None:
    """Delays, auto-replies and receipts: outcome ignored, nothing produced, nothing lost."""
    for name in ("dsn-delayed.eml", "vacation-auto-submitted.eml", "read-receipt.eml"):
        for res in _resolved(fixture(name), MailConfig()):
            assert (res.outcome, res.event, res.error) == ("ignored", None, None), name


def test_event_ids_are_deterministic_per_message_recipient_and_type() -> None:
    """The same message read twice gives the same event ids; another recipient another."""
    raw = fixture("postfix-dsn-two-recipients.eml")
    first = [r.event["event_id"] for r in _resolved(raw, MailConfig()) if r.event]
    again = [r.event["event_id"] for r in _resolved(raw, MailConfig()) if r.event]
    assert first == again and len(set(first)) == 2
    assert event_id("<m>", "a@x.example", "bounce") != event_id("<m>", "a@x.example", "complaint")


def test_pipeline_dead_letters_a_message_once_with_its_raw_bytes() -> None:
    """A message with a good and a bad block gives the good event and one DLQ record."""
    raw = fixture("dsn-bad-final-recipient.eml")
    processed = process_message(raw, "x.eml", MailConfig(default_account="acme"), now=NOW)
    topics = [r.topic for r in processed.records]
    assert topics == [DELIVERY_EVENTS, BOUNCE_MAIL_DLQ]
    dlq = orjson.loads(processed.records[1].value)
    assert base64.b64decode(dlq["original"]) == raw
    assert dlq["error"]["code"] == "unparsed" and dlq["source"] == "x.eml"
    assert dlq["original_size"] == len(raw) and not processed.understood
    key = processed.records[0].key
    assert key == b"acme\x1fvalid.person@example.com"


def test_every_fixture_event_is_schema_valid() -> None:
    """Whatever a fixture gives, every event it would produce matches the schema."""
    from tests.ingest.mail.helpers import FIXTURES

    config = MailConfig(default_account="acme")
    for path in sorted(FIXTURES.glob("*.eml")):
        for res in _resolved(path.read_bytes(), config):
            if res.event is not None:
                EVENTS.validate(res.event)


def test_a_failure_of_resolution_dead_letters_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """If resolution itself fails, the message still goes whole to the DLQ (never lost)."""
    from workers.ingest.mail import pipeline

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "resolve", broken)
    raw = fixture("exim-text.eml")
    processed = process_message(raw, "x.eml", MailConfig(), now=NOW)
    (record,) = processed.records
    assert record.topic == BOUNCE_MAIL_DLQ
    value = orjson.loads(record.value)
    assert value["error"]["code"] == "internal_error" and "boom" in value["error"]["message"]
    assert base64.b64decode(value["original"]) == raw


@pytest.mark.parametrize(
    ("written", "stream"),
    [
        ("transactional", "transactional"),
        (" Marketing ", "marketing"),  # trimmed, case folded
        ("newsletters", None),  # not a stream: the event names none
        (None, None),  # no header: the event names none
    ],
)
def test_the_originals_stream_header_sets_the_events_stream(
    written: str | None, stream: str | None
) -> None:
    """With SUPPRESSOR_MAIL_STREAM_HEADER set, a stream the returned original names goes on
    the event; anything else leaves the event without a stream (the worker's default)."""
    path = VERP.build("acme", "d-7")
    headers = {"X-Suppressor-Stream": written} if written is not None else None
    config = MailConfig(verp=VERP, stream_header="X-Suppressor-Stream")
    (res,) = _resolved(dsn_bounce(path, "gone@example.net", headers=headers), config)
    assert res.event is not None and res.event.get("stream") == stream
    assert EVENTS.is_valid(res.event)


def test_without_a_stream_header_setting_the_event_names_no_stream() -> None:
    """An empty SUPPRESSOR_MAIL_STREAM_HEADER turns the lookup off, whatever the original says."""
    from workers.ingest.mail.config import mail_config
    from workers.settings import Settings

    path = VERP.build("acme", "d-8")
    message = dsn_bounce(path, "gone@example.net", headers={"X-Suppressor-Stream": "transactional"})
    verp = {"mail_verp_template": VERP.template, "mail_verp_secret": "s3cret"}
    off = mail_config(Settings.from_env(**verp, mail_stream_header=""))
    on = mail_config(Settings.from_env(**verp))
    assert "stream" not in (_resolved(message, off)[0].event or {})
    assert (_resolved(message, on)[0].event or {})["stream"] == "transactional"
