"""Provider payloads -> delivery events: every fixture maps, validates and classifies."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.types import Outcome

from tests.domain.schema_support import validator
from tests.ingest.webhooks.signing import FIXTURES, fixture
from workers.domain.classify import classify, classify_feedback
from workers.domain.events import bounce_details, parse_delivery_event
from workers.ingest.webhooks.dead_letter import encode_webhook_dlq
from workers.ingest.webhooks.mailgun import map_mailgun
from workers.ingest.webhooks.mapping import AccountMismatch, Mapped, NotUnderstood, Routing
from workers.ingest.webhooks.postmark import map_postmark
from workers.ingest.webhooks.sendgrid import map_sendgrid
from workers.ingest.webhooks.ses import map_ses
from workers.ingest.webhooks.sparkpost import map_sparkpost

CASES: dict[str, dict[str, int | None]] = json.loads((FIXTURES / "cases.json").read_text())
ACME = Routing(account="acme")

# what the worker makes of a reason code's event, for the mapping's own check
_REASON_OF_OUTCOME = {Outcome.NONEXISTENT: 1, Outcome.CONDITION: 8}
_REASON_OF_TYPE = {"complaint": 6, "unsubscribe": 4, "list_unsubscribe": 7}


def map_fixture(name: str, routing: Routing = ACME) -> Mapped:
    """Map a fixture file with the mapper of its provider (SES: as if in an SNS message)."""
    provider = name.split("/", maxsplit=1)[0]
    body = fixture(name)
    if provider == "ses":
        return map_ses(body, "sns-" + name, routing)
    mapper = {
        "sendgrid": map_sendgrid,
        "mailgun": map_mailgun,
        "postmark": map_postmark,
        "sparkpost": map_sparkpost,
    }[provider]
    return mapper(body, routing)


def expected_reason(event: dict[str, Any]) -> int | None:
    """The reason code the worker gives this event's address on its first occurrence."""
    if event["type"] == "bounce":
        return _REASON_OF_OUTCOME.get(classify(bounce_details(event)).outcome)
    if event["type"] == "complaint":
        outcome = classify_feedback(event.get("feedback_type")).outcome
        return 6 if outcome is Outcome.COMPLAINT else None
    return _REASON_OF_TYPE.get(event["type"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_fixture_maps_to_valid_events_with_the_expected_outcome(name: str) -> None:
    """Each documented payload gives a valid event per recipient, classified as expected."""
    mapped = map_fixture(name)
    by_address = {e["email"]: e for e in mapped.events}
    assert set(by_address) == set(CASES[name])
    for address, reason in CASES[name].items():
        event = by_address[address]
        parse_delivery_event(orjson.dumps(event))  # the worker takes it
        assert event["account_id"] == "acme"
        assert expected_reason(event) == reason, (address, event)


@pytest.mark.parametrize("name", sorted(CASES))
def test_mapping_twice_gives_the_same_event_ids(name: str) -> None:
    """Event ids come from the provider's ids, so a retried call carries the same ids."""
    first = [e["event_id"] for e in map_fixture(name).events]
    assert first == [e["event_id"] for e in map_fixture(name).events]
    assert len(set(first)) == len(first)


def test_ses_bounce_carries_every_recipient_status_and_diagnostic() -> None:
    """An SES bounce with two recipients gives two events, each with its own status and code."""
    events = map_fixture("ses/bounce-event.json").events
    assert [(e["smtp_status"], e["smtp_code"]) for e in events] == [("4.2.2", 452), ("5.2.2", 552)]
    assert {e["provider_type"] for e in events} == {"Transient"}
    assert {e["provider_subtype"] for e in events} == {"MailboxFull"}
    assert events[0]["diagnostic"] == "smtp; 452 4.2.2 mailbox full"
    assert {e["delivery_id"] for e in events} == {"d-ses-1"}  # from the delivery_id tag


def test_ses_complaint_keeps_its_feedback_type() -> None:
    """complaintFeedbackType becomes the event's feedback_type."""
    (event,) = map_fixture("ses/complaint.json").events
    assert (event["type"], event["feedback_type"]) == ("complaint", "abuse")
    assert event["delivery_id"] == "01000001-ses-complaint"  # no tag: SES's message id


def test_ses_topic_opt_out_alone_is_not_an_unsubscribe() -> None:
    """A Subscription event without unsubscribeAll maps to nothing (our lists are per account)."""
    body = fixture("ses/subscription.json")
    body["subscription"]["newTopicPreferences"]["unsubscribeAll"] = False
    mapped = map_ses(body, "sns-1", ACME)
    assert mapped.events == () and mapped.skipped == ("Subscription",)


def test_kinds_that_change_no_list_are_skipped_not_refused() -> None:
    """Opens, clicks and SES Send events are counted as skipped, not errors."""
    assert map_ses({"eventType": "Open", "mail": {}}, "x", ACME).skipped == ("Open",)
    assert "open" in map_fixture("sendgrid/batch.json").skipped
    assert "click" in map_fixture("sparkpost/batch.json").skipped
    assert map_sparkpost([{"msys": {}}], ACME) == Mapped()  # SparkPost's test call


def test_the_account_comes_from_metadata_without_a_url_account() -> None:
    """On /webhooks/<provider> the account is the metadata field's value."""
    events = map_fixture("sendgrid/batch.json", Routing()).events
    assert {e["account_id"] for e in events} == {"acme"}
    custom = Routing(account_field="tenant")
    with pytest.raises(NotUnderstood, match="no account"):
        map_fixture("sendgrid/batch.json", custom)


def test_metadata_naming_another_account_than_the_url_is_refused() -> None:
    """The URL's credentials vouch for one account: metadata naming another is a mismatch."""
    with pytest.raises(AccountMismatch):
        map_fixture("postmark/bounce-hard.json", Routing(account="beta"))


def test_stream_and_delivery_id_come_from_the_configured_metadata_fields() -> None:
    """The stream and delivery id fields are read under their configured names."""
    body = fixture("mailgun/failed-permanent.json")
    body["event-data"]["user-variables"] = {
        "tenant": "acme",
        "msg": "d-42",
        "lane": "transactional",
    }
    routing = Routing(account_field="tenant", delivery_field="msg", stream_field="lane")
    (event,) = map_mailgun(body, routing).events
    assert (event["account_id"], event["delivery_id"], event["stream"]) == (
        "acme",
        "d-42",
        "transactional",
    )


def test_postmark_type_code_stands_in_for_a_missing_type() -> None:
    """A bounce with only TypeCode 4096 reads as SoftBounce."""
    (event,) = map_fixture("postmark/bounce-soft.json").events
    assert event["provider_type"] == "SoftBounce"


@pytest.mark.parametrize(
    ("mapper", "body", "path"),
    [
        (map_sendgrid, {"nope": 1}, "[0].event"),
        (
            map_sendgrid,
            [{"event": "bounce", "email": "a@b.example", "timestamp": 1}],
            "sg_event_id",
        ),
        (map_sendgrid, [{"event": "teleported", "sg_event_id": "x"}], "event"),
        (map_mailgun, {"event-data": {"event": "failed", "id": "x", "timestamp": "soon"}}, "time"),
        (map_postmark, {"RecordType": "Bounce", "ID": 1, "Email": "x"}, "Type"),
        (map_sparkpost, {"msys": {}}, ""),
        (map_sparkpost, [{"msys": {"message_event": {"type": "bounce"}}}], "event_id"),
    ],
)
def test_payloads_the_providers_do_not_document_are_not_understood(
    mapper: Any, body: object, path: str
) -> None:
    """A malformed payload is refused as NotUnderstood, naming where it went wrong."""
    with pytest.raises(NotUnderstood) as refused:
        mapper(body, ACME)
    assert path in (refused.value.path or "") + refused.value.message


def test_an_invalid_address_in_a_payload_is_not_understood() -> None:
    """A recipient that is not an address fails the worker's own parser: NotUnderstood."""
    body = fixture("postmark/bounce-hard.json")
    body["Email"] = "not an address"
    with pytest.raises(NotUnderstood):
        map_postmark(body, ACME)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=12,
    )
)
def test_no_json_value_crashes_a_mapper(body: object) -> None:
    """Whatever JSON arrives, each mapper either maps it or raises an InputError."""
    for mapper in (map_sendgrid, map_mailgun, map_postmark, map_sparkpost):
        with contextlib.suppress(NotUnderstood, AccountMismatch):
            mapper(body, ACME)
    with contextlib.suppress(NotUnderstood, AccountMismatch):
        map_ses(body, "x", ACME)


def test_a_dead_letter_record_matches_its_schema() -> None:
    """What the route keeps on webhooks.dlq is valid against webhook-dlq-record.schema.json."""
    error = NotUnderstood("unknown Postmark RecordType 'Teleport'", path="RecordType")
    raw = encode_webhook_dlq(
        provider="postmark",
        account=None,
        error=error,
        body=b'{"RecordType": "Teleport"}',
        content_type="application/json",
        failed_at=datetime(2026, 1, 27, 12, tzinfo=UTC),
    )
    record = orjson.loads(raw)
    assert list(validator("webhook-dlq-record").iter_errors(record)) == []
    assert base64.b64decode(record["original"]) == b'{"RecordType": "Teleport"}'
