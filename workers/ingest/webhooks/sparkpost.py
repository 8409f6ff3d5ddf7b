"""SparkPost event webhook batches (``[{"msys": {"<class>_event": {...}}}]``) as delivery events.

Source: SparkPost API docs, "Events" and "Webhooks" (message events ``bounce`` with
``bounce_class``, ``out_of_band``, ``spam_complaint`` with ``fbtype``, ``delivery``;
unsubscribe events ``list_unsubscribe``, ``link_unsubscribe``; each with ``event_id``,
``timestamp``, ``rcpt_to``, ``message_id``, ``rcpt_meta``, and for bounces ``raw_reason``
and ``error_code``). A webhook's test call is ``[{"msys": {}}]``: nothing to map.
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

__all__ = ["KINDS", "map_sparkpost"]

KINDS: dict[str, str] = {
    "bounce": "bounce",  # bounce_class -> provider_subtype
    "out_of_band": "bounce",  # a bounce after the remote MTA accepted the message
    "spam_complaint": "complaint",
    "list_unsubscribe": "list_unsubscribe",  # the List-Unsubscribe header (RFC 2369 / 8058)
    "link_unsubscribe": "unsubscribe",  # an unsubscribe link in the body
    "delivery": "delivered",
}
"""SparkPost event ``type`` -> delivery event type; every other type is skipped (counted)."""


def _when(value: object, path: str) -> str:
    """SparkPost sends Unix seconds as a string; some event streams send RFC 3339."""
    if isinstance(value, str) and "T" in value:
        return value
    return from_epoch(value, path)


def _one(event: dict[str, Any], path: str, routing: Routing) -> Mapped:
    kind = text_field(event, "type", f"{path}.type")
    ours = KINDS.get(kind)
    if ours is None:
        return Mapped(skipped=(kind,))
    found = event.get("rcpt_meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    details: dict[str, Any] = {}
    if ours == "bounce":
        reason = event.get("raw_reason") or event.get("reason")
        bounce_class = event.get("bounce_class")
        details = {
            "provider": "sparkpost",
            "provider_type": kind,
            "provider_subtype": str(bounce_class) if bounce_class is not None else None,
            "smtp_status": enhanced_status(reason),
            "smtp_code": reply_code(event.get("error_code")) or reply_code(reason),
            "diagnostic": reason if isinstance(reason, str) else None,
        }
    elif ours == "complaint":
        fbtype = event.get("fbtype")
        details = {"feedback_type": fbtype if isinstance(fbtype, str) else None}
    built = build_event(
        kind=ours,
        event_id=event_id("sparkpost", text_field(event, "event_id", f"{path}.event_id")),
        account_id=routing.account_of(meta),
        occurred_at=_when(event.get("timestamp"), f"{path}.timestamp"),
        email=event.get("rcpt_to"),
        delivery_id=routing.delivery_of(meta, event.get("message_id")),
        stream=routing.stream_of(meta),
        path=path,
        **details,
    )
    return Mapped(events=(built,))


def map_sparkpost(body: object, routing: Routing) -> Mapped:
    """A SparkPost batch as delivery events; an empty ``msys`` (the test call) maps to nothing."""
    if not isinstance(body, list):
        raise NotUnderstood("a SparkPost batch is a JSON array of {msys: ...} objects")
    parts: list[Mapped] = []
    for index, item in enumerate(body):
        msys = item.get("msys") if isinstance(item, dict) else None
        if not isinstance(msys, dict):
            raise NotUnderstood(f"[{index}] must be an object with msys", path=f"[{index}].msys")
        for name, event in msys.items():
            path = f"[{index}].msys.{name}"
            if not isinstance(event, dict):
                raise NotUnderstood(f"{path} must be an object", path=path)
            parts.append(_one(event, path, routing))
    return Mapped.join(parts)
