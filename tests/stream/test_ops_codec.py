"""The compact ops form carries everything the ladder reads, and nothing is parsed twice."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.ladder_helpers import micros
from workers.devkit.mixes import realistic_deliveries
from workers.domain.classify import classify_delivery
from workers.domain.events import parse_delivery_event
from workers.stream.ops_codec import DELIVERED, decode_delivery, delivered_at, encode_delivery


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
    from datetime import UTC, datetime, timedelta, timezone

    moment = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).astimezone(
        timezone(timedelta(minutes=offset_minutes))
    )
    raw = orjson.dumps(
        {"event_id": "e", "account_id": "a", "occurred_at": moment.isoformat(),
         "type": "delivered", "email": "x@example.com", "delivery_id": "d"}
    )  # fmt: skip
    event, outcome = _classified(raw)
    decoded, _ = decode_delivery(encode_delivery(event, outcome), "a")
    assert decoded.occurred_at == event.occurred_at
