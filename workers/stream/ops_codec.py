"""The compact form of an address-level record on the address-ops topic (front stage ->
keyed stage).

The front stage has already parsed, validated, normalised and classified every delivery
event and command; the keyed stage needs only what the ladder reads. So the front stage
sends that, as a one-byte kind and a short JSON array, and the keyed stage parses
nothing again:

    b"v" [event_id, occurred_at_us, delivery_id, email, stream]          a ``delivered``
    b"l" [type, event_id, occurred_at_us, delivery_id, email, stream, outcome]   any other
    b"a" [type, event_id, occurred_at_us, reason, notes, delivery_id]    an address command

``occurred_at_us`` is microseconds since the Unix epoch (exact), ``outcome`` the
classifier's verdict or null. The ``delivered`` kind comes first in the byte so that the
keyed stage can tell, before decoding anything, that an address with no stored state has
nothing for it (see docs/design.md, "Decisions where the specification is silent").
The account is the first part of the record's key, so it is not repeated here; nor is a
command's address, the key's second part (``handlers.address_key``). A command kept in its
original JSON behind ``b"c"`` (what a front stage before this form sent) still applies.
"""

from __future__ import annotations

import orjson
from suppressor_client.types import (
    Command,
    CommandType,
    DeliveryEvent,
    DeliveryType,
    Outcome,
    Reason,
    Stream,
)

from workers.domain.micros import from_micros, to_micros

__all__ = [
    "ADDRESS_COMMAND",
    "AddressCommandFields",
    "DELIVERED",
    "LADDER",
    "decode_command",
    "decode_delivery",
    "delivered_at",
    "encode_address_command",
    "encode_command",
    "encode_delivery",
]

DELIVERED = b"v"
LADDER = b"l"
ADDRESS_COMMAND = b"a"
_TYPES = {t.value: t for t in DeliveryType}
_COMMANDS = {t.value: t for t in CommandType}
_REASONS = {int(r): r for r in Reason}
_OUTCOMES = {o.value: o for o in Outcome}
_STREAMS = {s.value: s for s in Stream}


def encode_delivery(event: DeliveryEvent, outcome: Outcome | None) -> bytes:
    """The ops record of a parsed (and classified) delivery event."""
    common = [to_micros(event.occurred_at), event.delivery_id, event.email, event.stream.value]
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
        occurred_at=from_micros(micros),
        type=kind_type,
        email=email,
        delivery_id=delivery_id,
        stream=_STREAMS[stream],
    )
    return event, outcome


def encode_command(cmd: Command) -> bytes:
    """The ops record of a parsed address-level command (its address is in the key)."""
    reason = int(cmd.reason) if cmd.reason is not None else None
    micros = to_micros(cmd.occurred_at)
    return encode_address_command(
        (cmd.type.value, cmd.event_id, micros, reason, cmd.notes, cmd.delivery_id)
    )


AddressCommandFields = tuple[str, str, int, int | None, str | None, str | None]
"""An address command's ops fields: type, event id, time in microseconds since the epoch,
reason, notes, delivery id."""


def encode_address_command(fields: AddressCommandFields) -> bytes:
    """``encode_command`` from plain fields: a row of ``import.rows`` becomes the
    ``import.row`` record it stands for without a ``Command`` built for it."""
    return ADDRESS_COMMAND + orjson.dumps(fields)


def decode_command(op: bytes, account_id: str, address: str) -> Command:
    """The command of an ``encode_command`` record; its key holds ``account_id`` and ``address``."""
    if op[:1] != ADDRESS_COMMAND:
        raise ValueError(f"not an address command ops record: kind {op[:1]!r}")
    type_value, event_id, micros, reason, notes, delivery_id = orjson.loads(op[1:])
    return Command(
        event_id=event_id,
        account_id=account_id,
        occurred_at=from_micros(micros),
        type=_COMMANDS[type_value],
        email=address,
        reason=_REASONS[reason] if reason is not None else None,
        notes=notes,
        delivery_id=delivery_id,
    )
