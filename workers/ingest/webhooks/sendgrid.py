"""SendGrid Event Webhook batches (a JSON array of events) as delivery events.

Source: Twilio SendGrid docs, "Event Webhook Reference" (delivery events ``bounce`` with
``type`` bounce or blocked and ``bounce_classification``, ``dropped``, ``delivered``;
engagement events ``spamreport``, ``unsubscribe``, ``group_unsubscribe``; every event
has ``email``, ``timestamp`` (Unix seconds), ``sg_event_id``, ``sg_message_id``; custom
arguments of the message appear as top-level fields of each event).
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
    reply_code,
    text_field,
)

__all__ = ["KINDS", "SKIPPED", "map_sendgrid"]

KINDS: dict[str, str] = {
    "bounce": "bounce",  # type=bounce or type=blocked; provider_type says which
    "dropped": "bounce",  # SendGrid's own suppression: classified unknown (no new evidence)
    "spamreport": "complaint",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",  # an unsubscribe group: still the recipient's no
    "delivered": "delivered",
}
"""SendGrid ``event`` -> delivery event type."""

SKIPPED = frozenset({"processed", "deferred", "open", "click", "group_resubscribe"})
"""Kinds SendGrid documents that change no list: answered 2xx, counted, not mapped."""


def _one(item: object, index: int, routing: Routing) -> Mapped:
    path = f"[{index}]"
    if not isinstance(item, dict):
        raise NotUnderstood(f"{path} must be an object", path=path)
    kind = text_field(item, "event", f"{path}.event")
    if kind in SKIPPED:
        return Mapped(skipped=(kind,))
    ours = KINDS.get(kind)
    if ours is None:
        raise NotUnderstood(f"{path}: unknown SendGrid event {kind[:40]!r}", path=f"{path}.event")
    native = text_field(item, "sg_event_id", f"{path}.sg_event_id")
    message = item.get("sg_message_id") or item.get("smtp-id")
    details: dict[str, Any] = {}
    if ours == "bounce":
        reason = item.get("reason")
        details = {
            "provider": "sendgrid",
            "provider_type": "blocked" if item.get("type") == "blocked" else kind,
            "provider_subtype": item.get("bounce_classification"),
            "smtp_status": enhanced_status(item.get("status")) or enhanced_status(reason),
            "smtp_code": reply_code(reason),
            "diagnostic": reason if isinstance(reason, str) else None,
        }
    elif ours == "complaint":
        details = {"feedback_type": "abuse"}  # a spam report is the recipient's abuse report
    event = build_event(
        kind=ours,
        event_id=event_id("sendgrid", native),
        account_id=routing.account_of(item),
        occurred_at=from_epoch(item.get("timestamp"), f"{path}.timestamp"),
        email=item.get("email"),
        delivery_id=routing.delivery_of(item, message),
        stream=routing.stream_of(item),
        path=path,
        **details,
    )
    return Mapped(events=(event,))


def map_sendgrid(body: object, routing: Routing) -> Mapped:
    """A SendGrid batch (a JSON array; a single object is read as a batch of one)."""
    items = [body] if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise NotUnderstood("a SendGrid batch is a JSON array of events")
    return Mapped.join([_one(item, index, routing) for index, item in enumerate(items)])
