"""Mailgun webhooks (one event per call: ``signature`` and ``event-data``) as delivery events.

Source: Mailgun docs, "Webhooks" and "Events" (``event-data.event`` failed with
``severity`` permanent or temporary and ``delivery-status`` {code, enhanced-code,
message, description}, complained, unsubscribed, delivered; ``id``, ``timestamp`` (Unix
seconds, fractional), ``recipient``, ``message.headers.message-id``, ``user-variables``).
"""

from __future__ import annotations

from typing import Any

from workers.ingest.webhooks.mapping import (
    Mapped,
    NotUnderstood,
    Routing,
    build_event,
    enhanced_status,
    event_id,
    from_epoch,
    object_field,
    reply_code,
    text_field,
)

__all__ = ["KINDS", "SKIPPED", "map_mailgun"]

KINDS: dict[str, str] = {
    "failed": "bounce",  # severity permanent or temporary: provider_subtype
    "complained": "complaint",
    "unsubscribed": "unsubscribe",
    "delivered": "delivered",
}
"""Mailgun ``event`` -> delivery event type."""

SKIPPED = frozenset({"accepted", "rejected", "opened", "clicked", "stored", "list_member_uploaded"})
"""Kinds Mailgun documents that change no list: answered 2xx, counted, not mapped."""


def map_mailgun(body: object, routing: Routing) -> Mapped:
    """One Mailgun webhook body (decoded JSON) as delivery events."""
    if not isinstance(body, dict) or not isinstance(body.get("event-data"), dict):
        raise NotUnderstood("a Mailgun webhook is an object with event-data", path="event-data")
    data: dict[str, Any] = body["event-data"]
    kind = text_field(data, "event", "event-data.event")
    if kind in SKIPPED:
        return Mapped(skipped=(kind,))
    ours = KINDS.get(kind)
    if ours is None:
        raise NotUnderstood(f"unknown Mailgun event {kind[:40]!r}", path="event-data.event")
    variables = object_field(data, "user-variables")
    headers = object_field(object_field(data, "message"), "headers")
    details: dict[str, Any] = {}
    if ours == "bounce":
        status = object_field(data, "delivery-status")
        text = status.get("message") or status.get("description")
        details = {
            "provider": "mailgun",
            "provider_type": kind,
            "provider_subtype": data.get("severity"),
            "smtp_code": reply_code(status.get("code")),
            "smtp_status": enhanced_status(status.get("enhanced-code")) or enhanced_status(text),
            "diagnostic": text if isinstance(text, str) else None,
        }
    event = build_event(
        kind=ours,
        event_id=event_id("mailgun", text_field(data, "id", "event-data.id")),
        account_id=routing.account_of(variables),
        occurred_at=from_epoch(data.get("timestamp"), "event-data.timestamp"),
        email=data.get("recipient"),
        delivery_id=routing.delivery_of(variables, headers.get("message-id")),
        stream=routing.stream_of(variables),
        path="event-data",
        **details,
    )
    return Mapped(events=(event,))
