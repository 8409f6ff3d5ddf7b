"""Postmark webhooks (one record per call, ``RecordType``) as delivery events.

Source: Postmark developer docs, "Bounce webhook" (``ID``, ``Type``, ``TypeCode``,
``MessageID``, ``Email``, ``BouncedAt``, ``Details``, ``Metadata``), "Bounce types"
(the TypeCode table), "Spam complaint webhook", "Delivery webhook" (``Recipient``,
``DeliveredAt``) and "Subscription change webhook" (``SuppressSending``,
``SuppressionReason`` HardBounce / SpamComplaint / ManualSuppression, ``ChangedAt``).
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
    object_field,
    reply_code,
    text_field,
)

__all__ = ["TYPE_CODES", "TYPE_KINDS", "map_postmark"]

TYPE_CODES: dict[int, str] = {
    1: "HardBounce",
    2: "Transient",
    16: "Unsubscribe",
    32: "Subscribe",
    64: "AutoResponder",
    128: "AddressChange",
    256: "DnsError",
    512: "SpamNotification",
    1024: "OpenRelayTest",
    2048: "Unknown",
    4096: "SoftBounce",
    8192: "VirusNotification",
    16384: "ChallengeVerification",
    100000: "BadEmailAddress",
    100001: "SpamComplaint",
    100002: "ManuallyDeactivated",
    100003: "Unconfirmed",
    100006: "Blocked",
    100007: "SMTPApiError",
    100008: "InboundError",
    100009: "DMARCPolicy",
    100010: "TemplateRenderingFailed",
}
"""Postmark bounce ``TypeCode`` -> ``Type`` ("Bounce types"), for records without a Type."""

TYPE_KINDS: dict[str, str] = {
    "SpamComplaint": "complaint",  # a complaint riding on the bounce feed
    "Unsubscribe": "unsubscribe",  # ibid.
}
"""Bounce ``Type`` values that are not bounces; every other Type is a bounce."""

_SUPPRESSION_KINDS: dict[str, str | None] = {
    "ManualSuppression": "unsubscribe",  # the recipient's (or the user's) own no
    "HardBounce": None,  # the Bounce webhook carries the evidence
    "SpamComplaint": None,  # the SpamComplaint webhook carries it
}
"""SubscriptionChange ``SuppressionReason`` (when SuppressSending) -> event type, or nothing."""


def _bounce(record: dict[str, Any], routing: Routing, complaint: bool) -> Mapped:
    code = record.get("TypeCode")
    kind_name = record.get("Type")
    if not isinstance(kind_name, str) or not kind_name:
        kind_name = TYPE_CODES.get(code, "") if isinstance(code, int) else ""
    if not kind_name:
        raise NotUnderstood("a Postmark bounce names its Type or TypeCode", path="Type")
    ours = "complaint" if complaint else TYPE_KINDS.get(kind_name, "bounce")
    native = record.get("ID")
    if not isinstance(native, int | str) or isinstance(native, bool):
        raise NotUnderstood("ID must be the bounce's id", path="ID")
    details: dict[str, Any] = {}
    text = record.get("Details") if isinstance(record.get("Details"), str) else None
    if ours == "bounce":
        details = {
            "provider": "postmark",
            "provider_type": kind_name,
            "smtp_status": enhanced_status(text),
            "smtp_code": reply_code(text),
            "diagnostic": text or record.get("Description"),
        }
    metadata = object_field(record, "Metadata")
    return Mapped(
        events=(
            build_event(
                kind=ours,
                event_id=event_id("postmark", ours, str(native)),
                account_id=routing.account_of(metadata),
                occurred_at=text_field(record, "BouncedAt", "BouncedAt"),
                email=record.get("Email"),
                delivery_id=routing.delivery_of(metadata, record.get("MessageID")),
                stream=routing.stream_of(metadata),
                **details,
            ),
        )
    )


def _delivery(record: dict[str, Any], routing: Routing) -> Mapped:
    metadata = object_field(record, "Metadata")
    message = text_field(record, "MessageID", "MessageID")
    email = text_field(record, "Recipient", "Recipient")
    event = build_event(
        kind="delivered",
        event_id=event_id("postmark", "delivery", message, email),
        account_id=routing.account_of(metadata),
        occurred_at=text_field(record, "DeliveredAt", "DeliveredAt"),
        email=email,
        delivery_id=routing.delivery_of(metadata, message),
        stream=routing.stream_of(metadata),
    )
    return Mapped(events=(event,))


def _subscription(record: dict[str, Any], routing: Routing) -> Mapped:
    if record.get("SuppressSending") is not True:  # a reactivation: we keep our own lists
        return Mapped(skipped=("SubscriptionChange",))
    reason = record.get("SuppressionReason")
    ours = _SUPPRESSION_KINDS.get(reason) if isinstance(reason, str) else "unsubscribe"
    if ours is None:
        return Mapped(skipped=(f"SubscriptionChange/{reason}",))
    metadata = object_field(record, "Metadata")
    email = text_field(record, "Recipient", "Recipient")
    changed = text_field(record, "ChangedAt", "ChangedAt")
    message = record.get("MessageID")
    event = build_event(
        kind=ours,
        event_id=event_id("postmark", "subscription", email, changed),
        account_id=routing.account_of(metadata),
        occurred_at=changed,
        email=email,
        delivery_id=routing.delivery_of(metadata, message),
        stream=routing.stream_of(metadata),
    )
    return Mapped(events=(event,))


def map_postmark(body: object, routing: Routing) -> Mapped:
    """One Postmark webhook record as delivery events."""
    if not isinstance(body, dict):
        raise NotUnderstood("a Postmark webhook is a JSON object")
    kind = text_field(body, "RecordType", "RecordType")
    if kind == "Bounce":
        return _bounce(body, routing, complaint=False)
    if kind == "SpamComplaint":
        return _bounce(body, routing, complaint=True)
    if kind == "Delivery":
        return _delivery(body, routing)
    if kind == "SubscriptionChange":
        return _subscription(body, routing)
    if kind in {"Open", "Click", "Inbound"}:
        return Mapped(skipped=(kind,))
    raise NotUnderstood(f"unknown Postmark RecordType {kind[:40]!r}", path="RecordType")
