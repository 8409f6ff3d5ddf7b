"""The compact ops form carries everything the ladder reads, and nothing is parsed twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.ladder_helpers import micros
from workers.devkit.loadgen import command
from workers.devkit.mixes import realistic_deliveries
from workers.domain.classify import classify_delivery
from workers.domain.events import parse_command, parse_delivery_event
from workers.domain.ladder import ADDRESS_COMMANDS
from workers.settings import Settings
from workers.stream import handlers
from workers.stream.ops_codec import (
    ADDRESS_COMMAND,
    DELIVERED,
    decode_command,
    decode_delivery,
    delivered_at,
    encode_command,
    encode_delivery,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _classified(raw: bytes):  # type: ignore[no-untyped-def]
    event = parse_delivery_event(raw)
    classification = classify_delivery(event)
    return event, classification.outcome if classification is not None else None


def test_every_event_of_the_mix_round_trips_with_its_outcome() -> None:
    """Decoding the ops form gives the parsed event's ladder fields and the classifier's
    outcome; only ``delivered`` events carry the ``delivered`` kind."""
    for raw_event in realistic_deliveries(3000, population=500):
        event, outcome = _classified(orjson.dumps(raw_event))
        op = encode_delivery(event, outcome)
        assert (op[:1] == DELIVERED) == (event.type.value == "delivered")
        decoded, decoded_outcome = decode_delivery(op, event.account_id)
        if op[:1] == DELIVERED:  # what the inert check reads alone: the same time and id
            assert delivered_at(op) == (micros(event.occurred_at), event.event_id)
        assert decoded_outcome == outcome
        for name in ("event_id", "account_id", "occurred_at", "type", "email", "delivery_id"):
            assert getattr(decoded, name) == getattr(event, name), name
        assert decoded.stream == event.stream


@settings(max_examples=200)
@given(
    micros=st.integers(min_value=0, max_value=2**53),
    offset_minutes=st.integers(min_value=-720, max_value=720),
)
def test_occurred_at_is_exact_to_the_microsecond_whatever_the_offset(
    micros: int, offset_minutes: int
) -> None:
    """The instant survives exactly (no float rounding), whatever time zone the input used."""
    moment = (EPOCH + timedelta(microseconds=micros)).astimezone(
        timezone(timedelta(minutes=offset_minutes))
    )
    raw = orjson.dumps(
        {"event_id": "e", "account_id": "a", "occurred_at": moment.isoformat(),
         "type": "delivered", "email": "x@example.com", "delivery_id": "d"}
    )  # fmt: skip
    event, outcome = _classified(raw)
    decoded, _ = decode_delivery(encode_delivery(event, outcome), "a")
    assert decoded.occurred_at == event.occurred_at


_ADDRESS_TYPES = [t.value for t in ADDRESS_COMMANDS]


@settings(max_examples=300)
@given(
    kind=st.sampled_from(_ADDRESS_TYPES),
    account=st.sampled_from(["acme", "*"]),
    micros=st.integers(min_value=0, max_value=2**53),
    offset_minutes=st.integers(min_value=-720, max_value=720),
    reason=st.none() | st.sampled_from([2, 10]),
    notes=st.none() | st.text(max_size=40),
    delivery_id=st.none() | st.text(min_size=1, max_size=20),
)
def test_an_address_command_round_trips_to_what_the_parser_gives(
    *,
    kind: str,
    account: str,
    micros: int,
    offset_minutes: int,
    reason: int | None,
    notes: str | None,
    delivery_id: str | None,
) -> None:
    """The compact form of any address-level command decodes, with its key's account and
    address, to the very command ``parse_command`` made of the original JSON."""
    moment = (EPOCH + timedelta(microseconds=micros)).astimezone(
        timezone(timedelta(minutes=offset_minutes))
    )
    body: dict[str, object] = {
        "type": kind, "event_id": "run:17", "account_id": account,
        "occurred_at": moment.isoformat(), "email": " User@Example.COM ",
    }  # fmt: skip
    for name, value in (("notes", notes), ("delivery_id", delivery_id)):
        if value is not None:
            body[name] = value
    if kind == "import.row" and reason is not None:
        body["reason"] = reason
    cmd = parse_command(orjson.dumps(body))
    assert cmd.email is not None
    op = encode_command(cmd)
    assert op[:1] == ADDRESS_COMMAND
    assert decode_command(op, cmd.account_id, cmd.email) == cmd


def test_a_compact_command_applies_exactly_as_its_original_json() -> None:
    """The keyed stage gives the same state and records for a command in the compact form
    and in the plain ``c`` + JSON form an older front stage sent (still on the topic)."""
    config = Settings().ladder()
    stored: dict[str, bytes | None] = {"a": None, "c": None}
    for n, (kind, extra) in enumerate(
        [("import.row", {"reason": 10, "notes": "from the old system"}),
         ("address.allow", {}), ("address.unblock", {}), ("address.block", {"notes": "n"}),
         ("allowlist.add", {}), ("allowlist.remove", {}), ("address.disallow", {})]
    ):  # fmt: skip
        raw = orjson.dumps(
            command("acme", kind, when=EPOCH + timedelta(days=n), email="x@gmail.com", **extra)
        )
        cmd = parse_command(raw)
        results = {}
        for form, op in (("a", encode_command(cmd)), ("c", handlers.COMMAND + raw)):
            result = handlers.handle_address(
                stored[form], op, "acme", "x@gmail.com", config, position=(0, n, 0)
            )
            assert result is not None and result.stored is not None
            stored[form] = result.stored
            results[form] = result
        assert results["a"] == results["c"], kind
