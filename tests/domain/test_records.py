"""Wire format of the topics the worker writes: round trips and agreement with ``schemas/``."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.errors import BadJson, InputError, SchemaError, TooLarge
from suppressor_client.records import (
    decode_key,
    decode_record,
    encode_dlq,
    encode_key,
    encode_record,
    encode_rejected,
    format_timestamp,
)
from suppressor_client.types import (
    CATEGORY_OF,
    SUPPRESSION_LISTS,
    Category,
    ListKey,
    ListName,
    ListRecord,
    Reason,
)

from tests.domain.schema_support import validator
from workers.domain.events import parse_customer_event

WHEN = datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
UTC_TIMES = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
TEXT = st.text(min_size=1, max_size=40)
KEYS = st.builds(
    ListKey,
    account_id=st.sampled_from(["acme", "*", "t-1.eu:shop"]) | TEXT,
    list=st.sampled_from(list(ListName)),
    subject=TEXT,
)
ANY_RECORDS = st.builds(
    ListRecord,
    key=KEYS,
    version=st.integers(1, 2**62),
    active=st.booleans(),
    reason=st.none() | st.sampled_from(list(Reason)),
    since=st.none() | UTC_TIMES,
    expires_at=st.none() | UTC_TIMES,
    event_id=st.none() | TEXT,
    delivery_id=st.none() | TEXT,
    notes=st.none() | st.text(max_size=50),
    send_block=st.booleans(),
    collection_block=st.booleans(),
).map(
    lambda r: (
        r
        if r.key.list is ListName.DOMAIN_RULE
        else dataclasses.replace(r, send_block=False, collection_block=False)
    )
)
"""Any field combination; the block flags exist on domain rules only, as on the wire."""
SUPPRESSION_REASONS = {
    category: [r for r in Reason if CATEGORY_OF[r] is category] for category in Category
}


@st.composite
def schema_records(draw: st.DrawFn) -> ListRecord:
    """Records as the worker builds them: the fields each list carries, and nothing absurd."""
    account = draw(st.sampled_from(["acme", "*", "tenant-7"]))
    name = draw(st.sampled_from(list(ListName)))
    active = draw(st.booleans())
    fields: dict[str, Any] = {"since": draw(UTC_TIMES), "event_id": draw(st.none() | TEXT)}
    categories = {lst: cat for cat, lst in SUPPRESSION_LISTS.items()}
    if name in categories:
        reason = draw(st.sampled_from(SUPPRESSION_REASONS[categories[name]]))
        fields["reason"] = reason
        fields["delivery_id"] = draw(st.none() | TEXT)
        if reason is Reason.TEMPORARY:
            fields["expires_at"] = fields["since"] + timedelta(days=7)
        subject = "jane@example.com"
    elif name is ListName.DOMAIN_RULE:
        fields["reason"] = Reason.SHARED if account == "*" else Reason.MANUAL
        fields["send_block"] = draw(st.booleans())
        fields["collection_block"] = draw(st.booleans())
        subject = "*.example.com"
    else:
        subject = "^https://x\\.com/.*$" if name is ListName.URI_PATTERN else "x@example.com"
    fields["notes"] = draw(st.none() | st.text(max_size=1000))
    key = ListKey(account, name, subject)
    return ListRecord(key=key, version=draw(st.integers(1, 2**40)), active=active, **fields)


@given(KEYS)
def test_key_round_trips(key: ListKey) -> None:
    """Any key decodes back to itself."""
    assert decode_key(encode_key(key)) == key


def test_key_is_compact_json_array() -> None:
    """The key is the documented compact array, identical bytes every time."""
    key = ListKey("acme", ListName.BOUNCE, "jane@example.com")
    assert encode_key(key) == b'["acme","bounce","jane@example.com"]'
    assert encode_key(ListKey("acme", ListName.BOUNCE, "jane@example.com")) == encode_key(key)


@given(ANY_RECORDS)
def test_record_round_trips(record: ListRecord) -> None:
    """Any record decodes back to an equal record under its own key."""
    key, decoded = decode_record(encode_key(record.key), encode_record(record))
    assert key == record.key
    assert decoded == record


@given(schema_records())
def test_encoded_records_validate_against_the_schema(record: ListRecord) -> None:
    """What the worker writes for each list validates against the key and record schemas."""
    value = orjson.loads(encode_record(record))
    errors = [e.message for e in validator("suppression-record").iter_errors(value)]
    assert errors == []
    assert validator("suppression-key").is_valid(orjson.loads(encode_key(record.key)))


def test_record_value_shape() -> None:
    """The value omits absent fields, derives the category and writes UTC times with a Z."""
    record = ListRecord(
        key=ListKey("acme", ListName.BOUNCE, "jane@example.com"),
        version=3,
        active=True,
        reason=Reason.TEMPORARY,
        since=datetime(2024, 5, 1, 12, 15, tzinfo=timezone(timedelta(hours=2))),
        expires_at=WHEN + timedelta(days=7, microseconds=250),
        delivery_id="d-9",
    )
    assert orjson.loads(encode_record(record)) == {
        "account_id": "acme",
        "list": "bounce",
        "subject": "jane@example.com",
        "version": 3,
        "active": True,
        "reason": 8,
        "category": "bounce",
        "since": "2024-05-01T10:15:00Z",
        "expires_at": "2024-05-08T10:15:00.000250Z",
        "delivery_id": "d-9",
    }


def test_domain_rule_always_states_both_mechanisms() -> None:
    """A domain-rule value carries send_block and collection_block even when false."""
    record = ListRecord(ListKey("*", ListName.DOMAIN_RULE, "x.com"), 1, True, Reason.SHARED)
    value = orjson.loads(encode_record(record))
    assert (value["send_block"], value["collection_block"], value["category"]) == (
        False,
        False,
        "block",
    )


def test_tombstone_decodes_to_none() -> None:
    """A null value is a tombstone: the key with no record."""
    key = ListKey("acme", ListName.BLOCK, "a@x.com")
    assert decode_record(encode_key(key), None) == (key, None)


def test_decode_ignores_unknown_fields_and_nulls() -> None:
    """A reader tolerates fields a newer worker adds and null optional fields."""
    key = ListKey("acme", ListName.RECIPIENT_ALLOW, "a@x.com")
    value = (
        b'{"version":2,"active":true,"notes":null,"score":1.5,"since":"2024-05-01T12:15:00+02:00"}'
    )
    _, record = decode_record(encode_key(key), value)
    assert record == ListRecord(key, 2, True, since=WHEN)


@pytest.mark.parametrize(
    ("key", "value", "error", "path"),
    [
        (b"acme", b"{}", BadJson, "key"),
        (b'["acme","bounce"]', b"{}", SchemaError, "key"),
        (b'["acme","greylist","a@x.com"]', b"{}", SchemaError, "key[1]"),
        (b'["acme","bounce","a@x.com"]', b"{", BadJson, None),
        (b'["acme","bounce","a@x.com"]', b"[]", SchemaError, None),
        (b'["acme","bounce","a@x.com"]', b'{"version":0,"active":true}', SchemaError, "version"),
        (b'["acme","bounce","a@x.com"]', b'{"version":true,"active":true}', SchemaError, "version"),
        (b'["acme","bounce","a@x.com"]', b'{"version":1,"active":1}', SchemaError, "active"),
        (
            b'["acme","bounce","a@x.com"]',
            b'{"version":1,"active":true,"subject":"b@x.com"}',
            SchemaError,
            "subject",
        ),
        (
            b'["acme","bounce","a@x.com"]',
            b'{"version":1,"active":true,"reason":9}',
            SchemaError,
            "reason",
        ),
        (
            b'["acme","bounce","a@x.com"]',
            b'{"version":1,"active":true,"since":"2024-05-01"}',
            SchemaError,
            "since",
        ),
        (
            b'["acme","bounce","a@x.com"]',
            b'{"version":1,"active":true,"notes":5}',
            SchemaError,
            "notes",
        ),
    ],
)
def test_decode_refuses_malformed_records(
    key: bytes, value: bytes, error: type[InputError], path: str | None
) -> None:
    """Malformed keys and values raise a typed InputError naming the field."""
    with pytest.raises(error) as caught:
        decode_record(key, value)
    assert caught.value.path == path


def test_naive_times_are_refused_on_output() -> None:
    """Writing a naive datetime is a programming error, not a guess at the time zone."""
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(datetime(2024, 5, 1))


ORIGINAL = (
    b'{"event_id":"ce-1", "account_id":"acme","occurred_at":"2024-05-01T10:15:00Z",'
    b'"type":"subscribe","source":"popup","email":"Jan@Mail.Allegro.com","cart":{"n":[1,2]}}\n'
)


def test_rejected_event_embeds_the_original_unchanged() -> None:
    """The audit record validates and carries the original event object as it came."""
    event = parse_customer_event(ORIGINAL)
    raw = encode_rejected(
        event, ORIGINAL, rule="collection_block", pattern="*.allegro.com", rejected_at=WHEN
    )
    value = orjson.loads(raw)
    assert list(validator("rejected-event").iter_errors(value)) == []
    assert value["event"] == orjson.loads(ORIGINAL)
    assert (value["rule"], value["pattern"], value["account_id"], value["event_id"]) == (
        "collection_block",
        "*.allegro.com",
        "acme",
        "ce-1",
    )
    assert value["rejected_at"] == "2024-05-01T10:15:00Z"
    assert ORIGINAL.strip() in raw


def test_dlq_record_validates_and_keeps_the_bytes() -> None:
    """A DLQ record carries the error, the original bytes and key in base64, and validates."""
    original = b'{"type":"bounce","smtp_code":"550"}\xff'
    raw = encode_dlq(
        "delivery-events",
        3,
        12345,
        SchemaError("smtp_code must be an integer, not a string", path="smtp_code"),
        original,
        b"acme",
        WHEN,
    )
    value = orjson.loads(raw)
    assert list(validator("dlq-record").iter_errors(value)) == []
    assert base64.b64decode(value["original"]) == original
    assert base64.b64decode(value["original_key"]) == b"acme"
    assert value["error"] == {
        "code": "schema",
        "message": "smtp_code must be an integer, not a string",
        "path": "smtp_code",
    }
    assert (value["topic"], value["partition"], value["offset"]) == ("delivery-events", 3, 12345)
    assert "original_truncated" not in value


def test_dlq_cuts_huge_originals_and_says_so() -> None:
    """An original over the bound is cut, flagged and sized; a null key stays null."""
    original = b"x" * 1000
    raw = encode_dlq("t", 0, 0, TooLarge("big"), original, None, WHEN, max_original=100)
    value = orjson.loads(raw)
    assert list(validator("dlq-record").iter_errors(value)) == []
    assert base64.b64decode(value["original"]) == original[:100]
    assert (value["original_truncated"], value["original_size"]) == (True, 1000)
    assert value["original_key"] is None
    assert "path" not in value["error"]


@given(st.binary(max_size=300), st.none() | st.binary(max_size=50), st.text(max_size=3000))
def test_any_dlq_record_validates(original: bytes, key: bytes | None, message: str) -> None:
    """Whatever the bytes and the error text, the DLQ record matches its schema."""
    raw = encode_dlq("customer-events", 1, 7, BadJson(message), original, key, WHEN)
    assert list(validator("dlq-record").iter_errors(orjson.loads(raw))) == []
