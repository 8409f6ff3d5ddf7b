"""Records of ``bounce-mail.dlq``: a mail that could not be turned into events. Pure.

A record keeps the whole raw message (base64), where it came from, the machine-readable
error and the message's id, so an operator can read it, fix the configuration (a missing
account header, a default account) and ingest it again.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson

from workers.kafka.topics import BOUNCE_MAIL_DLQ_MAX_BYTES

__all__ = ["encode_mail_dlq"]


_ROOM = 64 * 1024  # for the JSON around the base64


def encode_mail_dlq(
    raw: bytes,
    *,
    source: str,
    code: str,
    message: str,
    message_id: str | None,
    failed_at: datetime,
    recipients: list[str] | None = None,
) -> bytes:
    """One DLQ record as JSON bytes."""
    limit = (BOUNCE_MAIL_DLQ_MAX_BYTES - _ROOM) * 3 // 4
    original = raw if len(raw) <= limit else raw[:limit]
    record: dict[str, object] = {
        "source": source[:1000],
        "error": {"code": code[:64], "message": message[:2000]},
        "message_id": message_id,
        "original": base64.b64encode(original).decode("ascii"),
        "original_size": len(raw),
        "failed_at": failed_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    if recipients:
        record["recipients"] = recipients[:100]
    if len(original) < len(raw):
        record["original_truncated"] = True
    return orjson.dumps(record)
