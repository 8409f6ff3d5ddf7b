"""The record a webhook body becomes on ``webhooks.dlq`` when the route cannot understand it.

Like the input topics' DLQ records (``schemas/dlq-record.schema.json``) it keeps the
reason and the original bytes, but a webhook body has no topic position: it says which
provider and which URL account it came to instead, and its content type, so an
operator can replay it by hand (``curl --data-binary``) once the mapping is fixed.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from suppressor_client.errors import InputError
from suppressor_client.records import MAX_DLQ_ORIGINAL_BYTES, format_timestamp

__all__ = ["MAX_RECORD_BYTES", "encode_webhook_dlq"]

_MAX_MESSAGE = 2000
MAX_RECORD_BYTES = 1_000_000
"""The webhook sink's ``message.max.bytes`` (librdkafka's default, under the broker's
1 MiB): every record of ``encode_webhook_dlq`` stays below it, since the original is kept
to its first ``MAX_DLQ_ORIGINAL_BYTES`` (512 KiB, ~700 KB in base64) and every other
field is cut short."""


def encode_webhook_dlq(
    *,
    provider: str,
    account: str | None,
    error: InputError,
    body: bytes,
    content_type: str | None,
    failed_at: datetime,
) -> bytes:
    """The DLQ record: provider, URL account, error, original (base64, cut beyond the bound)."""
    err = {"code": error.code, "message": error.message[:_MAX_MESSAGE]}
    if error.path:
        err["path"] = error.path[:200]
    out: dict[str, Any] = {
        "source": "webhook",
        "provider": provider,
        "account_id": account,
        "error": err,
        "content_type": (content_type or "")[:200],
        "original": base64.b64encode(body[:MAX_DLQ_ORIGINAL_BYTES]).decode("ascii"),
        "original_size": len(body),
        "failed_at": format_timestamp(failed_at),
    }
    if len(body) > MAX_DLQ_ORIGINAL_BYTES:
        out["original_truncated"] = True
    return orjson.dumps(out)
