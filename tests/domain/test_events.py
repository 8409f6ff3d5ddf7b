"""Parsing of the input topics: typed events, typed refusals, agreement with ``schemas/``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.errors import (
    BadJson,
    InputError,
    InvalidAddress,
    InvalidDomain,
    SchemaError,
    TooLarge,
)
from suppressor_client.types import (
    BounceDetails,
    CommandType,
    DeliveryType,
    Reason,
    Source,
    Stream,
)

from tests.domain.schema_support import Example, examples, validator
from workers.domain.events import (
    COMMAND_SUBJECT,
    MAX_RECORD_BYTES,
    UnknownType,
    _row,
    parse_command,
    parse_command_record,
    parse_customer_event,
    parse_delivery_event,
    parse_import_rows,
    parse_timestamp,
)

PARSERS: dict[str, Callable[[bytes], object]] = {
    "customer-event": parse_customer_event,
    "delivery-event": parse_delivery_event,
    "command": parse_command_record,
}
PARSED_EXAMPLES = [e for name in PARSERS for e in examples(name)]

T = "2024-05-01T10:15:00Z"
WHEN = datetime(2024, 5, 1, 10, 15, tzinfo=UTC)


def _raw(**fields: Any) -> bytes:
    return orjson.dumps({k: v for k, v in fields.items() if v is not ...})


def _delivery(**fields: Any) -> bytes:
    base: dict[str, Any] = {
        "event_id": "e1",
        "account_id": "acme",
        "occurred_at": T,
        "type": "bounce",
        "email": "jane@example.com",
        "delivery_id": "d1",
        "smtp_code": 550,
    }
    return _raw(**{**base, **fields})


def _command(type_: str, **fields: Any) -> bytes:
    base: dict[str, Any] = {"event_id": "c1", "account_id": "acme", "occurred_at": T}
    return _raw(**{**base, "type": type_, **fields})


def _refusal(parse: Callable[[bytes], object], raw: bytes) -> InputError:
    with pytest.raises(InputError) as caught:
        parse(raw)
    return caught.value


@pytest.mark.parametrize("example", PARSED_EXAMPLES, ids=lambda e: e.id)
def test_parser_agrees_with_schema_on_every_example(example: Example) -> None:
    """An example parses exactly when its schema accepts it; a refusal blames the stated field."""
    parse = PARSERS[example.schema]
    schema_ok = validator(example.schema).is_valid(example.load())
    assert schema_ok is example.valid
    if example.valid:
        parse(example.raw())
        return
    error = _refusal(parse, example.raw())
    assert error.path == example.reasons[0].field, (error.code, error.message)


def test_customer_event_parses_and_normalises() -> None:
    """A customer event comes out typed, with the address normalised and the time in UTC."""
    raw = _raw(
        event_id="e1",
        account_id="acme",
        occurred_at="2024-05-01T12:15:00+02:00",
        type="subscribe",
        source="popup",
        email="  Jane@Bücher.DE ",
        cart={"items": 3},
    )
    event = parse_customer_event(raw)
    assert event.email == "jane@xn--bcher-kva.de"
    assert event.source is Source.POPUP
    assert event.occurred_at == WHEN and event.occurred_at.tzinfo is UTC
    assert (event.event_id, event.account_id, event.type) == ("e1", "acme", "subscribe")


def test_bounce_details_and_defaults() -> None:
    """A bounce keeps every top-level detail, defaults to marketing and reads 550.0 as 550."""
    event = parse_delivery_event(
        _delivery(
            smtp_status="5.1.1",
            smtp_code=550.0,
            diagnostic="user unknown",
            provider="ses",
            provider_type="Permanent",
            provider_subtype="NoEmail",
            extra=True,
            feedback_type="abuse",
        )
    )
    assert event.type is DeliveryType.BOUNCE and event.stream is Stream.MARKETING
    assert event.bounce == BounceDetails(
        "5.1.1", 550, "user unknown", "ses", "Permanent", "NoEmail"
    )
    assert event.feedback_type is None  # meaningful on complaints only
    assert event.delivery_id == "d1"


def test_bounce_without_details_is_valid() -> None:
    """A bounce naming none of the details parses, with every detail absent (null = absent)."""
    for raw in (_delivery(smtp_code=...), _delivery(smtp_code=None, diagnostic=None)):
        assert parse_delivery_event(raw).bounce == BounceDetails()


def test_nested_bounce_object_is_just_an_unknown_field() -> None:
    """A field named bounce is tolerated like any unknown field; details are read at the top."""
    nested = {"smtp_code": "not even valid", "smtp_status": "5.1.1"}
    for value in (nested, "550 user unknown", None):
        event = parse_delivery_event(_delivery(bounce=value, smtp_status="4.2.2"))
        assert event.bounce == BounceDetails(smtp_status="4.2.2", smtp_code=550)


@pytest.mark.parametrize("kind", ["complaint", "abuse", "delivered", "unsubscribe"])
def test_bounce_details_are_checked_on_every_type(kind: str) -> None:
    """A malformed bounce field is refused on any type, as the schema does, not only on bounces."""
    error = _refusal(parse_delivery_event, _delivery(type=kind, provider="acme-mail"))
    assert isinstance(error, SchemaError) and error.path == "provider"


def test_complaint_keeps_feedback_type_and_drops_bounce() -> None:
    """A complaint carries its ARF feedback type; bounce details are only kept on bounces."""
    event = parse_delivery_event(
        _delivery(type="complaint", feedback_type="abuse", stream="transactional")
    )
    assert event.feedback_type == "abuse" and event.bounce is None
    assert event.stream is Stream.TRANSACTIONAL


def test_unsubscribe_needs_no_delivery_id() -> None:
    """Unsubscribes and abuse reports may come without a delivery id; null means absent."""
    for kind in ("unsubscribe", "abuse"):
        event = parse_delivery_event(_delivery(type=kind, delivery_id=None, smtp_code=...))
        assert event.delivery_id is None and event.type.value == kind


@pytest.mark.parametrize("kind", ["bounce", "complaint", "list_unsubscribe", "delivered"])
def test_message_events_need_a_delivery_id(kind: str) -> None:
    """Events about one message refuse a missing delivery id, naming the field."""
    error = _refusal(parse_delivery_event, _delivery(type=kind, delivery_id=...))
    assert isinstance(error, SchemaError) and error.path == "delivery_id"


def test_wrong_type_is_refused_with_its_path() -> None:
    """A string smtp_code is a schema error pointing at the top-level smtp_code."""
    error = _refusal(parse_delivery_event, _delivery(smtp_code="550"))
    assert isinstance(error, SchemaError)
    assert error.as_dict() == {
        "code": "schema",
        "message": "smtp_code must be an integer, not a string",
        "path": "smtp_code",
    }


def test_boolean_is_not_a_reply_code() -> None:
    """JSON true is refused as an smtp_code although Python counts bool as int."""
    error = _refusal(parse_delivery_event, _delivery(smtp_code=True))
    assert error.path == "smtp_code"


@pytest.mark.parametrize(
    ("parse", "raw"),
    [(parse_delivery_event, _delivery(type="opened")), (parse_command, _command("address.nuke"))],
)
def test_unknown_type_has_its_own_code(parse: Callable[[bytes], object], raw: bytes) -> None:
    """An unknown delivery or command type is refused with code unknown_type."""
    error = _refusal(parse, raw)
    assert isinstance(error, UnknownType)
    assert (error.code, error.path) == ("unknown_type", "type")


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"{'a': 1}", b"[1,]"])
def test_bad_json_is_refused(raw: bytes) -> None:
    """Bytes that are not JSON raise BadJson, for every parser."""
    for parse in PARSERS.values():
        assert _refusal(parse, raw).code == "bad_json"


def test_null_value_is_bad_json() -> None:
    """A Kafka record with no value is refused, not crashed on."""
    with pytest.raises(BadJson):
        parse_delivery_event(None)


@pytest.mark.parametrize("raw", [b"[]", b"1", b'"x"', b"null"])
def test_non_object_is_a_schema_error(raw: bytes) -> None:
    """Valid JSON that is not an object is a schema error at the root."""
    error = _refusal(parse_customer_event, raw)
    assert isinstance(error, SchemaError) and error.path is None


def test_oversized_record_is_refused_before_parsing() -> None:
    """A record above MAX_RECORD_BYTES is too_large even if it is broken JSON."""
    raw = b"{" + b" " * MAX_RECORD_BYTES
    with pytest.raises(TooLarge):
        parse_delivery_event(raw)
    at_bound = _delivery(padding="x" * (MAX_RECORD_BYTES - len(_delivery(padding="")) - 0))
    assert len(at_bound) == MAX_RECORD_BYTES
    parse_delivery_event(at_bound)


def test_invalid_address_is_its_own_code() -> None:
    """An address that does not normalise is invalid_address on the email field."""
    error = _refusal(parse_delivery_event, _delivery(email="jane@example..com"))
    assert isinstance(error, InvalidAddress) and error.path == "email"


def test_invalid_domain_is_its_own_code() -> None:
    """A domain that does not normalise is invalid_domain on the domain field."""
    raw = _command("domain.rule.set", domain="bad_domain.com", send_block=True)
    error = _refusal(parse_command, raw)
    assert isinstance(error, InvalidDomain) and error.path == "domain"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:15:00Z", WHEN),
        ("2024-05-01t10:15:00z", WHEN),
        ("2024-05-01T12:15:00+02:00", WHEN),
        ("2024-05-01T05:15:00-05:00", WHEN),
        ("2024-05-01T10:15:00.5Z", WHEN + timedelta(milliseconds=500)),
        ("2024-05-01T10:15:00.123456789Z", WHEN + timedelta(microseconds=123456)),
    ],
)
def test_timestamps_are_utc(value: str, expected: datetime) -> None:
    """RFC 3339 with Z or an offset becomes an aware UTC datetime."""
    moment = parse_timestamp(value)
    assert moment == expected and moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T10:15:00",
        "2024-05-01",
        "2024-05-01 10:15:00Z",
        "20240501T101500Z",
        "2024-02-30T10:15:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:15:00+0200",
        "0000-01-01T00:00:00Z",
        1714558500,
        None,
    ],
)
def test_bad_timestamps_are_refused(value: object) -> None:
    """Naive, partial, non-RFC-3339 and impossible times are schema errors."""
    with pytest.raises(SchemaError) as caught:
        parse_timestamp(value, "since")
    assert caught.value.path == "since"


@given(st.datetimes(timezones=st.just(timezone(timedelta(hours=-3)))))
def test_any_aware_time_round_trips(moment: datetime) -> None:
    """Any aware time written with its offset parses back to the same instant in UTC."""
    parsed = parse_timestamp(moment.isoformat())
    assert parsed == moment and parsed.tzinfo is UTC


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    """Whatever the bytes, a parser returns an event or raises an InputError, nothing else."""
    for parse in PARSERS.values():
        with contextlib.suppress(InputError):
            parse(raw)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event_id": JSON_VALUES,
            "account_id": st.sampled_from(["acme", "*", ""]) | JSON_VALUES,
            "occurred_at": st.just(T) | JSON_VALUES,
            "type": st.sampled_from([t.value for t in CommandType] + ["bounce"]) | JSON_VALUES,
            "email": st.just("a@example.com") | JSON_VALUES,
            "domain": st.just("example.com") | JSON_VALUES,
            "send_block": JSON_VALUES,
            "reason": JSON_VALUES,
            "bounce": JSON_VALUES,
            "smtp_code": st.just(550) | JSON_VALUES,
            "smtp_status": st.just("5.1.1") | JSON_VALUES,
            "provider": st.just("ses") | JSON_VALUES,
            "provider_type": JSON_VALUES,
            "diagnostic": JSON_VALUES,
            "delivery_id": JSON_VALUES,
            "source": st.just("api") | JSON_VALUES,
        },
    )
)
def test_schema_and_parser_agree_on_random_records(record: dict[str, Any]) -> None:
    """On generated near-valid records, each parser accepts exactly what its schema accepts."""
    raw = orjson.dumps(record)
    for name, parse in PARSERS.items():
        try:
            parse(raw)
            parsed = True
        except InputError:
            parsed = False
        assert parsed is validator(name).is_valid(record), name


def test_each_command_type_has_a_subject_rule() -> None:
    """Every command type says which subject field it needs, matching the schema's groups."""
    assert set(COMMAND_SUBJECT) == set(CommandType)


def test_command_fields_by_type() -> None:
    """Each command carries its subject normalised and ignores subject fields it does not use."""
    rule = parse_command(
        _command("domain.rule.set", domain="*.Bücher.de", collection_block=True, email="x")
    )
    assert (rule.domain, rule.email, rule.send_block, rule.collection_block) == (
        "*.xn--bcher-kva.de",
        None,
        False,
        True,
    )
    row = parse_command(_command("import.row", email="A@X.com", reason=10, notes=""))
    assert (row.email, row.reason, row.notes) == ("a@x.com", Reason.NONEXISTENT_LEGACY, None)
    block = parse_command(_command("address.block", email="a@x.com", reason=10, notes="n"))
    assert (block.reason, block.notes) == (None, "n")
    uri = parse_command(_command("uri.add", pattern="^https://x\\.com/.*$", domain="x"))
    assert (uri.pattern, uri.domain) == ("^https://x\\.com/.*$", None)
    platform = parse_command(_command("domain.allow.add", account_id="*", domain="@x.com"))
    assert (platform.account_id, platform.domain) == ("*", "x.com")


def test_import_row_defaults_to_manual() -> None:
    """An import row without a reason is a manual block (reason 2)."""
    assert parse_command(_command("import.row", email="a@x.com")).reason is Reason.MANUAL


_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from([2.0, 10.0, 10**30]),
    st.sampled_from(["a@x.io", " B@X.io ", "nope", "ab", "x" * 321, "n" * 1001, "", "ü@x.de"]),
)  # fmt: skip


@given(
    st.lists(st.lists(_CELL, min_size=3, max_size=5), min_size=1, max_size=6), st.integers(1, 198)
)
def test_import_rows_read_each_row_as_the_field_by_field_check_does(
    rows: list[list[object]], id_length: int
) -> None:
    """The inline check of a common row gives what ``_row`` gives, and any row it does not
    take is refused (or taken) by ``_row`` with the same error and cell."""
    event_id = "e" * id_length
    body = {"type": "import.rows", "event_id": event_id, "account_id": "acme",
            "occurred_at": T, "rows": rows}  # fmt: skip
    room = 200 - id_length - 1
    try:
        expected: object = [_row(i, row, event_id, room) for i, row in enumerate(rows)]
    except InputError as error:
        expected = (type(error), error.path)
    try:
        got: object = parse_import_rows(body).rows
    except InputError as error:
        got = (type(error), error.path)
    assert got == expected
