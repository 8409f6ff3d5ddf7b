"""Bytes of the topics the worker writes: ``suppressions``, ``customer-events.rejected``, DLQs.

The ``suppressions`` key is a compact JSON array ``["<account>","<list>","<subject>"]``:
compaction keeps the last value per key byte-for-byte, so one key must always encode to
the same bytes (``orjson`` writes no spaces and no escapes beyond what JSON needs). The
value is compact JSON with absent fields omitted (never ``null``) and times in UTC with
a ``Z`` (``schemas/suppression-record.schema.json``). Decoding is the sender client's hot
path when it loads the whole topic, so it checks types cheaply and ignores unknown
fields, which lets a newer worker add fields without breaking older readers.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from suppressor_client.errors import BadJson, InputError, SchemaError
from suppressor_client.types import (
    CATEGORY_OF,
    CustomerEvent,
    ListKey,
    ListName,
    ListRecord,
    Reason,
)
from suppressor_client.values import parse_timestamp

__all__ = [
    "MAX_DLQ_ORIGINAL_BYTES",
    "MAX_VERSION",
    "decode_key",
    "decode_record",
    "encode_dlq",
    "encode_fields",
    "encode_key",
    "encode_key_fields",
    "encode_record",
    "encode_rejected",
    "format_timestamp",
]

MAX_DLQ_ORIGINAL_BYTES = 512 * 1024
"""Originals longer than this are cut on the DLQ record, so it stays under the broker's
default 1 MiB message bound once base64 has grown it by a third."""

_MAX_ERROR_MESSAGE = 2000
_MAX_ERROR_PATH = 200
_LISTS = {name.value: name for name in ListName}
_REASONS = {int(reason): reason for reason in Reason}
_OPTIONAL_TEXT = ("event_id", "delivery_id", "notes")
_CATEGORY_VALUES = {int(reason): CATEGORY_OF[reason].value for reason in Reason}


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, microseconds only when there are some."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no place on a topic: {moment!r}")
    return moment.astimezone(UTC).isoformat()[:-6] + "Z"


def encode_key(key: ListKey) -> bytes:
    """The compaction key: the same key always gives the same bytes."""
    return encode_key_fields(key.account_id, key.list.value, key.subject)


def encode_key_fields(account_id: str, list_name: str, subject: str) -> bytes:
    """``encode_key`` from plain values (``list_name`` is the list's value)."""
    return orjson.dumps([account_id, list_name, subject])


def decode_key(raw: bytes) -> ListKey:
    """A key written by ``encode_key``; anything else is an ``InputError``."""
    parts = _loads(raw, "key")
    if type(parts) is not list or len(parts) != 3 or any(type(p) is not str for p in parts):
        raise SchemaError("a suppressions key is a JSON array of three strings", path="key")
    account_id, list_name, subject = parts
    if list_name not in _LISTS:
        raise SchemaError(f"unknown list {list_name[:40]!r}", path="key[1]")
    return ListKey(account_id, _LISTS[list_name], subject)


def encode_record(record: ListRecord) -> bytes:
    """The value of one record: key fields, version, active, then what applies."""
    key = record.key
    return encode_fields(
        (key.account_id, key.list.value, key.subject),
        version=record.version,
        active=record.active,
        reason=None if record.reason is None else int(record.reason),
        since=None if record.since is None else format_timestamp(record.since),
        expires_at=None if record.expires_at is None else format_timestamp(record.expires_at),
        texts=(record.event_id, record.delivery_id, record.notes),
        flags=(record.send_block, record.collection_block)
        if key.list is ListName.DOMAIN_RULE
        else None,
    )


def encode_fields(
    key: tuple[str, str, str],
    *,
    version: int,
    active: bool,
    reason: int | None,
    since: str | None,
    expires_at: str | None = None,
    texts: tuple[str | None, str | None, str | None] = (None, None, None),
    flags: tuple[bool, bool] | None = None,
) -> bytes:
    """``encode_record`` from plain values, for a writer that never builds a
    ``ListRecord``: ``key`` is (account, list, subject), times are already formatted,
    ``texts`` are (event_id, delivery_id, notes) and ``flags`` a domain rule's (send,
    collection) blocks."""
    account_id, list_name, subject = key
    out: dict[str, Any] = {
        "account_id": account_id,
        "list": list_name,
        "subject": subject,
        "version": version,
        "active": active,
    }
    if reason is not None:
        out["reason"] = reason
        out["category"] = _CATEGORY_VALUES[reason]
    if since is not None:
        out["since"] = since
    if expires_at is not None:
        out["expires_at"] = expires_at
    for name, value in zip(_OPTIONAL_TEXT, texts, strict=True):
        if value is not None:
            out[name] = value
    if flags is not None:
        out["send_block"], out["collection_block"] = flags
    return orjson.dumps(out)


MAX_VERSION = (1 << 63) - 1
"""A version is a signed 64-bit integer: a compact view and the worker's state hold it so."""


def decode_record(key: bytes, value: bytes | None) -> tuple[ListKey, ListRecord | None]:
    """A record as read from the topic; ``None`` for a tombstone (the key is gone)."""
    list_key = decode_key(key)
    if value is None:
        return list_key, None
    obj = _loads(value, None)
    if type(obj) is not dict:
        raise SchemaError("a suppressions value is a JSON object")
    for field, expected in (
        ("account_id", list_key.account_id),
        ("list", list_key.list.value),
        ("subject", list_key.subject),
    ):
        if obj.get(field, expected) != expected:
            raise SchemaError(f"{field} disagrees with the record's key", path=field)
    version = obj.get("version")
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise SchemaError("version must be an integer from 1 to 2**63 - 1", path="version")
    active = obj.get("active")
    if type(active) is not bool:
        raise SchemaError("active must be a boolean", path="active")
    return list_key, ListRecord(
        key=list_key,
        version=version,
        active=active,
        reason=_reason(obj.get("reason")),
        since=_time(obj, "since"),
        expires_at=_time(obj, "expires_at"),
        event_id=_text(obj, "event_id"),
        delivery_id=_text(obj, "delivery_id"),
        notes=_text(obj, "notes"),
        send_block=_flag(obj, "send_block"),
        collection_block=_flag(obj, "collection_block"),
    )


def encode_rejected(
    event: CustomerEvent,
    original: bytes,
    *,
    rule: str,
    pattern: str | None,
    rejected_at: datetime,
) -> bytes:
    """The audit record of a customer event the collection gate dropped.

    ``original`` is the event's value as read (it parsed, so it is a JSON object); it is
    spliced in unchanged rather than decoded and re-encoded.
    """
    body = original.strip()
    if not body.startswith(b"{"):
        raise ValueError("the original of a rejected event is a JSON object")
    head = orjson.dumps(
        {
            "rule": rule,
            "pattern": pattern,
            "account_id": event.account_id,
            "event_id": event.event_id,
        }
    )
    tail = orjson.dumps({"rejected_at": format_timestamp(rejected_at)})
    return head[:-1] + b',"event":' + body + b"," + tail[1:]


def encode_dlq(  # noqa: PLR0917 - the positional order is the documented contract
    topic: str,
    partition: int,
    offset: int,
    error: InputError,
    original: bytes | None,
    key: bytes | None,
    failed_at: datetime,
    *,
    max_original: int = MAX_DLQ_ORIGINAL_BYTES,
) -> bytes:
    """A dead-letter record: where the input was, why it was refused, and its bytes.

    A null value (a tombstone on an input topic) is kept as empty bytes. An original
    longer than ``max_original`` is cut and says so; topic, partition and offset still
    point at the whole record.
    """
    data = original or b""
    err = {"code": error.code, "message": error.message[:_MAX_ERROR_MESSAGE]}
    if error.path is not None:
        err["path"] = error.path[:_MAX_ERROR_PATH]
    out: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "error": err,
        "original": _b64(data[:max_original]),
        "original_key": None if key is None else _b64(key),
        "failed_at": format_timestamp(failed_at),
    }
    if len(data) > max_original:
        out["original_truncated"] = True
        out["original_size"] = len(data)
    return orjson.dumps(out)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _loads(raw: bytes, path: str | None) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadJson(f"not JSON: {error}", path=path) from None


def _reason(value: object) -> Reason | None:
    if value is None:
        return None
    reason = _REASONS.get(value) if type(value) is int else None
    if reason is None:
        raise SchemaError(f"unknown reason code {str(value)[:20]}", path="reason")
    return reason


def _time(obj: dict[str, Any], name: str) -> datetime | None:
    value = obj.get(name)
    return None if value is None else parse_timestamp(value, name)


def _text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None or type(value) is str:
        return value
    raise SchemaError(f"{name} must be a string", path=name)


def _flag(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name, False)
    if type(value) is not bool:
        raise SchemaError(f"{name} must be a boolean", path=name)
    return value
