"""The compact form of a delivery event on the address-ops topic (front stage -> keyed stage).

The front stage has already parsed, validated, normalised and classified every delivery
event; the keyed stage needs only what the ladder reads. So the front stage sends that,
as a one-byte kind and a short JSON array, and the keyed stage parses nothing again:

    b"v" [event_id, occurred_at_us, delivery_id, email, stream]          a ``delivered``
    b"l" [type, event_id, occurred_at_us, delivery_id, email, stream, outcome]   any other

``occurred_at_us`` is microseconds since the Unix epoch (exact), ``outcome`` the
classifier's verdict or null. The ``delivered`` kind comes first in the byte so that the
keyed stage can tell, before decoding anything, that an address with no stored state has
nothing for it (see docs/design.md, "Decisions where the specification is silent").
The account is the first part of the record's key, so it is not repeated here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from suppressor_client.types import DeliveryEvent, DeliveryType, Outcome, Stream

__all__ = [
    "DELIVERED",
    "LADDER",
    "decode_delivery",
    "delivered_at",
    "encode_delivery",
]

DELIVERED = b"v"
LADDER = b"l"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPES = {t.value: t for t in DeliveryType}
_OUTCOMES = {o.value: o for o in Outcome}
_STREAMS = {s.value: s for s in Stream}


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def encode_delivery(event: DeliveryEvent, outcome: Outcome | None) -> bytes:
    """The ops record of a parsed (and classified) delivery event."""
    common = [_micros(event.occurred_at), event.delivery_id, event.email, event.stream.value]
    if event.type is DeliveryType.DELIVERED:
        return DELIVERED + orjson.dumps([event.event_id, *common])
    outcome_value = outcome.value if outcome is not None else None
    return LADDER + orjson.dumps([event.type.value, event.event_id, *common, outcome_value])


def delivered_at(op: bytes) -> tuple[int, str]:
    """The time (µs since the epoch) and event id of a ``delivered`` record: all that
    ``ladder.inert_at`` reads, without building the event."""
    event_id, micros, *_rest = orjson.loads(op[1:])
    return micros, event_id


def decode_delivery(op: bytes, account_id: str) -> tuple[DeliveryEvent, Outcome | None]:
    """The event (without the bounce details the classifier already read) and its outcome."""
    kind, fields = op[:1], orjson.loads(op[1:])
    if kind == DELIVERED:
        event_id, micros, delivery_id, email, stream = fields
        kind_type, outcome = DeliveryType.DELIVERED, None
    elif kind == LADDER:
        type_value, event_id, micros, delivery_id, email, stream, outcome_value = fields
        kind_type = _TYPES[type_value]
        outcome = _OUTCOMES[outcome_value] if outcome_value is not None else None
    else:
        raise ValueError(f"not a delivery ops record: kind {kind!r}")
    event = DeliveryEvent(
        event_id=event_id,
        account_id=account_id,
        occurred_at=_EPOCH + timedelta(microseconds=micros),
        type=kind_type,
        email=email,
        delivery_id=delivery_id,
        stream=_STREAMS[stream],
    )
    return event, outcome
