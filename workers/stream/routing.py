"""The front stage's decisions, as pure functions: one input record in, records out.

The front stage reads the three input topics. A customer event goes through the
collection gate to ``accepted`` or ``rejected``; a delivery event or a command is
re-keyed for the keyed stage (by account and address, or by account), a delivery event or
an address command in its compact form (``ops_codec``) so the keyed stage parses nothing
again (an account command keeps its original bytes; an ``import.rows`` command becomes
one ``import.row`` record a row); anything that
cannot be understood goes to the input's DLQ with the error and the original bytes.
Nothing here touches Kafka: ``front`` sends what these functions return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from suppressor_client.errors import SchemaError, TooLarge, as_input_error
from suppressor_client.lists import gate
from suppressor_client.records import encode_dlq, encode_rejected
from suppressor_client.types import PLATFORM_ACCOUNT, CommandType, DomainRule

from workers.domain.accounts import ACCOUNT_COMMANDS
from workers.domain.classify import classify_delivery
from workers.domain.events import (
    IMPORT_ROWS,
    ImportBatch,
    parse_command_record,
    parse_customer_event,
    parse_delivery_event,
)
from workers.domain.micros import to_micros
from workers.kafka.topics import (
    ACCEPTED,
    ACCOUNT_OPS,
    ADDRESS_OPS,
    COMMANDS,
    CUSTOMER_EVENTS,
    DELIVERY_EVENTS,
    REJECTED,
    dlq_of,
)
from workers.stream import handlers
from workers.stream.ops_codec import encode_address_command, encode_command, encode_delivery

__all__ = ["Out", "Routed", "Rules", "route"]

Rules = Callable[[str], Mapping[str, DomainRule] | None]
"""An account's domain rules by account id (``*`` for the platform's), or None."""


@dataclass(frozen=True, slots=True)
class Out:
    """A record to send; ``topic`` is a logical name (input topics, outputs or the ops topics)."""

    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Routed:
    """What one input record became, with labels for the metrics."""

    out: Out
    kind: str  # event or command type, or "invalid"
    outcome: str  # accepted, rejected:<rule>, routed, dlq:<error code>
    more: tuple[tuple[bytes, bytes], ...] = ()  # an ``import.rows``: its other address-ops records


def route(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    *,
    rules: Rules,
    max_bytes: int,
    now: datetime,
    prefixed_topic: str,
) -> Routed:
    """Decide where one record of an input topic goes."""
    raw = value or b""
    try:
        if len(raw) > max_bytes:
            raise TooLarge(f"record of {len(raw)} bytes exceeds {max_bytes} bytes")
        if topic == CUSTOMER_EVENTS:
            return _gate(key, raw, rules, now)
        if topic == DELIVERY_EVENTS:
            event = parse_delivery_event(value)
            classification = classify_delivery(event)
            outcome = classification.outcome if classification is not None else None
            out_key = handlers.address_key(event.account_id, event.email)
            op = encode_delivery(event, outcome)
            return Routed(Out(ADDRESS_OPS, out_key, op), event.type, "routed")
        if topic == COMMANDS:
            cmd = parse_command_record(value)
            if isinstance(cmd, ImportBatch):
                return _import_rows(cmd)
            if cmd.type in ACCOUNT_COMMANDS:
                out = Out(ACCOUNT_OPS, cmd.account_id.encode(), handlers.COMMAND + raw)
            else:
                if cmd.email is None:
                    raise SchemaError(f"{cmd.type.value} needs email", path="email")
                out_key = handlers.address_key(cmd.account_id, cmd.email)
                out = Out(ADDRESS_OPS, out_key, encode_command(cmd))
            return Routed(out, cmd.type, "routed")
        raise ValueError(f"not an input topic: {topic}")
    except Exception as exc:  # a worker never crashes on input: anything else is dead-lettered
        error = as_input_error(exc)
        record = encode_dlq(prefixed_topic, partition, offset, error, raw, key, now)
        return Routed(Out(dlq_of(topic), key, record), "invalid", f"dlq:{error.code}")


_IMPORT_ROW = CommandType.IMPORT_ROW.value


def _import_rows(batch: ImportBatch) -> Routed:
    """An ``import.rows`` command: each row becomes the ``import.row`` ops record it
    stands for, keyed by its address, so the keyed stage sees no difference."""
    account_id, micros = batch.account_id, to_micros(batch.occurred_at)
    key = handlers.address_key
    (first_key, first_value), *rest = (
        (key(account_id, email),
         encode_address_command((_IMPORT_ROW, event_id, micros, reason, notes, None)))
        for event_id, email, reason, notes in batch.rows
    )  # fmt: skip
    return Routed(Out(ADDRESS_OPS, first_key, first_value), IMPORT_ROWS, "routed", tuple(rest))


def _gate(key: bytes | None, raw: bytes, rules: Rules, now: datetime) -> Routed:
    event = parse_customer_event(raw)
    decision = gate(event, rules(event.account_id), rules(PLATFORM_ACCOUNT))
    if decision.accepted:
        return Routed(Out(ACCEPTED, key, raw), event.source, "accepted")
    rule = decision.rule or "collection_block"
    record = encode_rejected(event, raw, rule=rule, pattern=decision.pattern, rejected_at=now)
    return Routed(Out(REJECTED, key, record), event.source, f"rejected:{rule}")
