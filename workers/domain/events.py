"""Bytes of the input topics -> typed, validated events (SPEC §2, ``schemas/``).

Every record a worker reads passes through here, so validation is hand-written over the
dict ``orjson`` returns, one field at a time, instead of running a JSON Schema validator
per record. The rules are the ones of ``schemas/*.schema.json`` (bounds, patterns, enums,
per-type requirements); ``tests/domain/test_events.py`` runs every schema example through
both and asserts they agree. Unknown fields are ignored, so producers can add fields.

Each refusal is a typed ``InputError`` naming the offending field's path, which the
worker copies onto the DLQ record. Addresses and domains come out normalised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

import orjson
from suppressor_client.addresses import normalize_address, normalize_domain_pattern
from suppressor_client.errors import (
    BadJson,
    InputError,
    InvalidAddress,
    InvalidDomain,
    SchemaError,
    TooLarge,
)
from suppressor_client.types import (
    PLATFORM_ACCOUNT,
    BounceDetails,
    Command,
    CommandType,
    CustomerEvent,
    DeliveryEvent,
    DeliveryType,
    Reason,
    Source,
    Stream,
)
from suppressor_client.values import brief, json_type, parse_timestamp

__all__ = [
    "COMMAND_SUBJECT",
    "IMPORT_ROWS",
    "MAX_BATCH_ROWS",
    "MAX_RECORD_BYTES",
    "ImportBatch",
    "UnknownType",
    "load_object",
    "bounce_details",
    "parse_command",
    "parse_command_record",
    "parse_import_rows",
    "parse_customer_event",
    "parse_delivery_event",
]

MAX_RECORD_BYTES = 64 * 1024
"""Input records above this size are refused (``too_large``) before any parsing."""


class UnknownType(InputError):
    """A delivery event or command whose ``type`` this worker does not know."""

    code = "unknown_type"


@dataclass(frozen=True, slots=True)
class _Text:
    """Bounds of one string field, as ``schemas/common.schema.json`` states them."""

    min_len: int
    max_len: int
    pattern: re.Pattern[str] | None = None
    shape: str = ""  # says what the pattern wants, for the error message


_EVENT_ID = _Text(1, 200)
_ACCOUNT_ID = _Text(
    1, 128, re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"), "letters, digits, ._:-"
)
_ACCOUNT_OR_PLATFORM = _Text(
    1, 128, re.compile(r"\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"), "'*' or letters, digits, ._:-"
)
_CUSTOMER_TYPE = _Text(1, 100)
_EMAIL = _Text(3, 320)
_DOMAIN_PATTERN = _Text(3, 260)
_DELIVERY_ID = _Text(1, 200)
_NOTES = _Text(0, 1000)
_URI_PATTERN = _Text(1, 1000)
_FEEDBACK_TYPE = _Text(1, 64, re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"), "one ARF token")
_SMTP_STATUS = _Text(5, 11, re.compile(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}"), "an enhanced code, 5.1.1")
_DIAGNOSTIC = _Text(0, 10_000)
_PROVIDER_TEXT = _Text(0, 200)
_SMTP_CODE_RANGE = (200, 599)

_E = TypeVar("_E")


def _members(enum: type[_E]) -> Mapping[object, _E]:
    return MappingProxyType({member.value: member for member in enum})  # type: ignore[attr-defined]


_SOURCES = _members(Source)
_STREAMS = _members(Stream)
_DELIVERY_TYPES = _members(DeliveryType)
_COMMAND_TYPES = _members(CommandType)
_PROVIDERS: Mapping[object, str] = MappingProxyType(
    {p: p for p in ("ses", "sendgrid", "mailgun", "postmark", "sparkpost")}
)
_IMPORT_REASONS: Mapping[object, Reason] = MappingProxyType(
    {2: Reason.MANUAL, 10: Reason.NONEXISTENT_LEGACY}
)

_NEEDS_DELIVERY_ID = frozenset(
    {
        DeliveryType.BOUNCE,
        DeliveryType.COMPLAINT,
        DeliveryType.LIST_UNSUBSCRIBE,
        DeliveryType.DELIVERED,
    }
)
"""Delivery events tied to one message name it."""

COMMAND_SUBJECT: Mapping[CommandType, str | None] = MappingProxyType(
    {
        CommandType.ACCOUNT_CREATE: None,
        CommandType.DOMAIN_RULE_SET: "domain",
        CommandType.DOMAIN_RULE_REMOVE: "domain",
        CommandType.DOMAIN_ALLOW_ADD: "domain",
        CommandType.DOMAIN_ALLOW_REMOVE: "domain",
        CommandType.ADDRESS_BLOCK: "email",
        CommandType.ADDRESS_UNBLOCK: "email",
        CommandType.ADDRESS_ALLOW: "email",
        CommandType.ADDRESS_DISALLOW: "email",
        CommandType.ALLOWLIST_ADD: "email",
        CommandType.ALLOWLIST_REMOVE: "email",
        CommandType.IMPORT_ROW: "email",
        CommandType.URI_ADD: "pattern",
        CommandType.URI_REMOVE: "pattern",
    }
)
"""The one subject field each command type needs; any other subject field is ignored."""


def parse_customer_event(raw: bytes | None) -> CustomerEvent:
    """A ``customer-events`` record, or the ``InputError`` that sends it to the DLQ."""
    obj = load_object(raw)
    event_id, account_id, occurred_at = _envelope(obj, _ACCOUNT_ID)
    return CustomerEvent(
        event_id=event_id,
        account_id=account_id,
        occurred_at=occurred_at,
        type=_required_text(obj, "type", _CUSTOMER_TYPE),
        source=_required_choice(obj, "source", _SOURCES),
        email=_address(obj),
    )


def parse_delivery_event(raw: bytes | None) -> DeliveryEvent:
    """A ``delivery-events`` record; ``bounce`` is set on bounces, ``feedback_type`` on complaints.

    The bounce details are top-level fields of the event (SPEC §2), each optional, so a
    bounce that names none of them is valid (it classifies as unknown). They and
    ``feedback_type`` are validated whenever present, as the schema does, but kept only
    where they mean something, so a consumer can rely on ``bounce is not None`` exactly
    for bounces.
    """
    obj = load_object(raw)
    kind = _kind(obj, _DELIVERY_TYPES)
    event_id, account_id, occurred_at = _envelope(obj, _ACCOUNT_ID)
    email = _address(obj)
    delivery_id = (
        _required_text(obj, "delivery_id", _DELIVERY_ID)
        if kind in _NEEDS_DELIVERY_ID
        else _text(obj, "delivery_id", _DELIVERY_ID)
    )
    stream = _choice(obj, "stream", _STREAMS) or Stream.MARKETING
    feedback_type = _text(obj, "feedback_type", _FEEDBACK_TYPE)
    bounce = bounce_details(obj)
    return DeliveryEvent(
        event_id=event_id,
        account_id=account_id,
        occurred_at=occurred_at,
        type=kind,
        email=email,
        delivery_id=delivery_id,
        stream=stream,
        bounce=bounce if kind is DeliveryType.BOUNCE else None,
        feedback_type=feedback_type if kind is DeliveryType.COMPLAINT else None,
    )


def parse_command(raw: bytes | None) -> Command:
    """A ``suppression-commands`` record with the fields its type needs (``COMMAND_SUBJECT``)."""
    return _command(load_object(raw))


def parse_command_record(raw: bytes | None) -> Command | ImportBatch:
    """Any ``suppression-commands`` record: one command, or an ``import.rows`` batch."""
    obj = load_object(raw)
    return parse_import_rows(obj) if obj.get("type") == IMPORT_ROWS else _command(obj)


def _command(obj: dict[str, Any]) -> Command:
    kind = _kind(obj, _COMMAND_TYPES)
    event_id, account_id, occurred_at = _envelope(obj, _ACCOUNT_OR_PLATFORM)
    if kind is CommandType.ACCOUNT_CREATE and account_id == PLATFORM_ACCOUNT:
        raise SchemaError("the platform account '*' cannot be created", path="account_id")
    notes = _text(obj, "notes", _NOTES) or None
    delivery_id = _text(obj, "delivery_id", _DELIVERY_ID)
    subject = COMMAND_SUBJECT[kind]
    send_block = collection_block = False
    if kind is CommandType.DOMAIN_RULE_SET:
        send_block, collection_block = _flag(obj, "send_block"), _flag(obj, "collection_block")
        if not (send_block or collection_block):
            raise SchemaError(
                "domain.rule.set turns on send_block, collection_block or both "
                "(domain.rule.remove removes a rule)"
            )
    return Command(
        event_id=event_id,
        account_id=account_id,
        occurred_at=occurred_at,
        type=kind,
        email=_address(obj) if subject == "email" else None,
        domain=_domain_pattern(obj) if subject == "domain" else None,
        send_block=send_block,
        collection_block=collection_block,
        pattern=_required_text(obj, "pattern", _URI_PATTERN) if subject == "pattern" else None,
        reason=_import_reason(obj) if kind is CommandType.IMPORT_ROW else None,
        notes=notes,
        delivery_id=delivery_id,
    )


IMPORT_ROWS = "import.rows"
"""The type of a command that carries many import rows: an import's rows written in
records of up to ``MAX_BATCH_ROWS``, each row taken as its own ``import.row`` would be."""
MAX_BATCH_ROWS = 2_000


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """An ``import.rows`` command: its envelope, and its rows as (event id, address,
    reason, notes), the address normalised and the reason 2 or 10."""

    event_id: str
    account_id: str
    occurred_at: datetime
    rows: list[tuple[str, str, int, str | None]]


def parse_import_rows(obj: dict[str, Any]) -> ImportBatch:
    """An ``import.rows`` command, loaded (``load_object``): ``rows`` holds 1 to ``MAX_BATCH_ROWS``
    arrays ``[line, email, reason, notes]``, each row checked as ``import.row`` checks its
    fields; a row's event id is the command's and its line, ``<event_id>:<line>``.

    One bad row refuses the whole record (its path names the row), so a record is taken
    whole or goes whole to the DLQ, never half-applied.
    """
    event_id, account_id, occurred_at = _envelope(obj, _ACCOUNT_OR_PLATFORM)
    _text(obj, "notes", _NOTES)  # checked on every command (the schema's), used by none here
    _text(obj, "delivery_id", _DELIVERY_ID)
    rows = obj.get("rows")
    if type(rows) is not list or not 1 <= len(rows) <= MAX_BATCH_ROWS:
        raise SchemaError(
            f"rows must be an array of 1 to {MAX_BATCH_ROWS} rows, not {brief(rows)}", path="rows"
        )
    out: list[tuple[str, str, int, str | None]] = []
    room = _EVENT_ID.max_len - len(event_id) - 1  # for ":<line>" in each row's event id
    prefix, lines_below = f"{event_id}:", 10 ** max(room, 0)
    low, high, notes_bound = _EMAIL.min_len, _EMAIL.max_len, _NOTES.max_len
    for index, row in enumerate(rows):
        # the common row, checked inline; anything else (or anything wrong) by _row
        if type(row) is list and len(row) == 4:
            line, email, reason, notes = row
            given = _ROW_REASONS.get(reason) if reason is None or type(reason) is int else None
            if (
                given is not None
                and type(line) is int
                and 0 < line < lines_below
                and type(email) is str
                and low <= len(email) <= high
                and (notes is None or (type(notes) is str and len(notes) <= notes_bound))
            ):
                try:
                    address = normalize_address(email)
                except InvalidAddress as error:
                    raise InvalidAddress(error.message, path=f"rows[{index}][1]") from None
                out.append((prefix + str(line), address, given, notes or None))
                continue
        out.append(_row(index, row, event_id, room))
    return ImportBatch(event_id, account_id, occurred_at, out)


def _row(index: int, row: object, event_id: str, room: int) -> tuple[str, str, int, str | None]:
    """One row of ``import.rows``, checked field by field; an ``InputError`` names its cell."""
    if type(row) is not list or len(row) != 4:
        raise SchemaError(
            f"a row is [line, email, reason, notes], not {brief(row)}", path=f"rows[{index}]"
        )
    line, email, reason, notes = row
    if type(line) is float and line.is_integer():  # JSON's 2.0 is the integer 2
        line = int(line)
    if type(line) is not int or line < 1 or len(str(line)) > room:
        raise SchemaError(
            f"a row's line is a positive integer that keeps its event id within "
            f"{_EVENT_ID.max_len} characters, not {brief(line)}",
            path=f"rows[{index}][0]",
        )
    try:
        address = normalize_address(_checked_text(email, _EMAIL, "email"))
        given = _import_reason({"reason": reason})
        text = _checked_text(notes, _NOTES, "notes") if notes is not None else None
    except InputError as error:  # the address normaliser names no path: the email
        field = _ROW_FIELDS.get(error.path or "", 1)
        raise type(error)(error.message, path=f"rows[{index}][{field}]") from None
    return f"{event_id}:{line}", address, int(given), text or None


_ROW_REASONS: Mapping[object, int] = MappingProxyType(
    {None: int(Reason.MANUAL), **{k: int(v) for k, v in _IMPORT_REASONS.items()}}
)
"""A row's reason as ``_import_reason`` reads it, for the common forms (null, 2, 10)."""
_ROW_FIELDS = {"email": 1, "reason": 2, "notes": 3}
"""Where a field of ``import.row`` sits in a row of ``import.rows``, for an error's path."""


def load_object(
    raw: bytes | str | None, limit: int = MAX_RECORD_BYTES, root_path: str | None = None
) -> dict[str, Any]:
    """One JSON object of at most ``limit`` bytes (characters, for text), or why not.

    ``root_path`` is the path a "not an object" error names (DLQ records name none).
    """
    if raw is None:
        raise BadJson("the record has no value (null)")
    if len(raw) > limit:
        unit = "characters" if isinstance(raw, str) else "bytes"
        raise TooLarge(f"the record has {len(raw)} {unit}; the bound is {limit}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadJson(f"not JSON: {error}") from None
    if type(obj) is not dict:
        raise SchemaError(f"a record is a JSON object, not {json_type(obj)}", path=root_path)
    return obj


def _envelope(obj: dict[str, Any], account: _Text) -> tuple[str, str, datetime]:
    """The three fields every event carries: idempotency key, tenant, event time."""
    event_id = _required_text(obj, "event_id", _EVENT_ID)
    account_id = _required_text(obj, "account_id", account)
    if "occurred_at" not in obj:
        raise SchemaError("occurred_at is required", path="occurred_at")
    return event_id, account_id, parse_timestamp(obj["occurred_at"])


def _text(obj: dict[str, Any], key: str, rule: _Text) -> str | None:
    """An optional string field within its bounds; absent or null gives None."""
    value = obj.get(key)
    return None if value is None else _checked_text(value, rule, key)


def _required_text(obj: dict[str, Any], key: str, rule: _Text) -> str:
    """A string field that must be present and not null."""
    if key not in obj:
        raise SchemaError(f"{key} is required", path=key)
    return _checked_text(obj[key], rule, key)


def _checked_text(value: object, rule: _Text, path: str) -> str:
    if type(value) is not str:
        raise SchemaError(f"{path} must be a string, not {json_type(value)}", path=path)
    if not rule.min_len <= len(value) <= rule.max_len:
        raise SchemaError(
            f"{path} must be {rule.min_len} to {rule.max_len} characters, not {len(value)}",
            path=path,
        )
    if rule.pattern is not None and rule.pattern.fullmatch(value) is None:
        raise SchemaError(f"{path} must be {rule.shape}: {brief(value)}", path=path)
    return value


def _choice(obj: dict[str, Any], key: str, members: Mapping[object, _E]) -> _E | None:
    """One of a closed set of strings; absent or null gives None."""
    value = obj.get(key)
    if value is None:
        return None
    member = members.get(value) if type(value) is str else None
    if member is None:
        allowed = ", ".join(str(v) for v in members)
        raise SchemaError(f"{key} must be one of {allowed}, not {brief(value)}", path=key)
    return member


def _required_choice(obj: dict[str, Any], key: str, members: Mapping[object, _E]) -> _E:
    member = _choice(obj, key, members)
    if member is None:
        raise SchemaError(f"{key} is required", path=key)
    return member


def _kind(obj: dict[str, Any], members: Mapping[object, _E]) -> _E:
    """The ``type`` that selects the rules; an unknown one is its own error code."""
    value = obj.get("type")
    if value is None:
        raise SchemaError("type is required", path="type")
    member = members.get(value) if type(value) is str else None
    if member is None:
        raise UnknownType(f"unknown type {brief(value)}", path="type")
    return member


def _address(obj: dict[str, Any]) -> str:
    raw = _required_text(obj, "email", _EMAIL)
    try:
        return normalize_address(raw)
    except InvalidAddress as error:
        raise InvalidAddress(error.message, path="email") from None


def _domain_pattern(obj: dict[str, Any]) -> str:
    raw = _required_text(obj, "domain", _DOMAIN_PATTERN)
    try:
        return normalize_domain_pattern(raw)
    except InvalidDomain as error:
        raise InvalidDomain(error.message, path="domain") from None


def _flag(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key)
    if value is None:
        return False
    if type(value) is not bool:
        raise SchemaError(f"{key} must be a boolean, not {json_type(value)}", path=key)
    return value


def _import_reason(obj: dict[str, Any]) -> Reason:
    """Import rows are manual blocks (2) unless they carry the legacy code 10."""
    value = obj.get("reason")
    if value is None:
        return Reason.MANUAL
    reason = _IMPORT_REASONS.get(value) if type(value) in (int, float) else None
    if reason is None:
        raise SchemaError(
            f"reason must be 2 or 10 on an import row, not {brief(value)}", path="reason"
        )
    return reason


def bounce_details(obj: dict[str, Any]) -> BounceDetails:
    """What the MTA or provider said, read from a record's own top-level fields.

    Each field is optional (absent or null), each checked when present; other fields are
    ignored. Public so ``suppressor classify`` reads bounces exactly as the worker does.
    """
    return BounceDetails(
        smtp_status=_text(obj, "smtp_status", _SMTP_STATUS),
        smtp_code=_smtp_code(obj.get("smtp_code")),
        diagnostic=_text(obj, "diagnostic", _DIAGNOSTIC),
        provider=_choice(obj, "provider", _PROVIDERS),
        provider_type=_text(obj, "provider_type", _PROVIDER_TEXT),
        provider_subtype=_text(obj, "provider_subtype", _PROVIDER_TEXT),
    )


def _smtp_code(value: object) -> int | None:
    """An integer 200..599; JSON ``550.0`` is the integer 550, ``true`` is not a number."""
    if value is None:
        return None
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise SchemaError(f"smtp_code must be an integer, not {json_type(value)}", path="smtp_code")
    low, high = _SMTP_CODE_RANGE
    if not low <= value <= high:
        raise SchemaError(f"smtp_code must be {low} to {high}, not {value}", path="smtp_code")
    return value
