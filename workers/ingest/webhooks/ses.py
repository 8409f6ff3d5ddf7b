"""Amazon SES notifications (inside an SNS message) as delivery events.

SES speaks two dialects with one body shape: the notification format (``notificationType``,
the identity's feedback notifications) and event publishing (``eventType``, configuration
sets). Both carry ``mail`` (the message: ``messageId``, ``destination``, and for event
publishing ``tags``, each a list of values) and one object named after the kind.

Sources: SES Developer Guide, "Amazon SNS notification contents for Amazon SES" (bounce
types, ``bouncedRecipients[]`` with ``status`` / ``diagnosticCode``, complaint
``complaintFeedbackType``, delivery ``recipients``) and "Contents of event data that Amazon
SES publishes to Amazon SNS" (``Subscription`` with ``newTopicPreferences.unsubscribeAll``).
The SNS envelope and its signature are ``sns.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from workers.ingest.webhooks.mapping import (
    Mapped,
    NotUnderstood,
    Routing,
    build_event,
    enhanced_status,
    event_id,
    reply_code,
    text_field,
)

__all__ = ["KINDS", "SKIPPED", "map_ses"]

_Mapper = Callable[[dict[str, Any], dict[str, Any], str, Routing], list[dict[str, Any]]]


def _tags(mail: Mapping[str, Any]) -> dict[str, Any]:
    """Event publishing's ``mail.tags`` (name -> [value]) as name -> first value."""
    tags = mail.get("tags")
    if not isinstance(tags, dict):
        return {}
    out: dict[str, Any] = {}
    for name, values in tags.items():
        if isinstance(values, list) and values and isinstance(values[0], str):
            out[name] = values[0]
        elif isinstance(values, str):
            out[name] = values
    return out


def _part(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    part = body.get(name)
    if not isinstance(part, dict):
        raise NotUnderstood(f"{name} must be an object", path=name)
    return part


def _list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list) or not value:
        raise NotUnderstood(f"{path} must be a non-empty array", path=path)
    return value


def _common(mail: dict[str, Any], routing: Routing) -> tuple[str, str | None, str, str]:
    tags = _tags(mail)
    message_id = text_field(mail, "messageId", "mail.messageId")
    return (
        routing.account_of(tags),
        routing.delivery_of(tags, message_id),
        routing.stream_of(tags),
        message_id,
    )


def _bounce(body: dict[str, Any], mail: dict[str, Any], sns_id: str, routing: Routing) -> list[Any]:
    bounce = _part(body, "bounce")
    account, delivery, stream, _ = _common(mail, routing)
    when = text_field(bounce, "timestamp", "bounce.timestamp")
    events = []
    for index, rcpt in enumerate(_list(bounce, "bouncedRecipients", "bounce.bouncedRecipients")):
        path = f"bounce.bouncedRecipients[{index}]"
        if not isinstance(rcpt, dict):
            raise NotUnderstood(f"{path} must be an object", path=path)
        email = text_field(rcpt, "emailAddress", f"{path}.emailAddress")
        diagnostic = rcpt.get("diagnosticCode")
        status = rcpt.get("status") if isinstance(rcpt.get("status"), str) else None
        events.append(
            build_event(
                kind="bounce",
                event_id=event_id("ses", sns_id, email),
                account_id=account,
                occurred_at=when,
                email=email,
                delivery_id=delivery,
                stream=stream,
                path=path,
                smtp_status=enhanced_status(status) or enhanced_status(diagnostic),
                smtp_code=reply_code(_after_type(diagnostic)),
                diagnostic=diagnostic if isinstance(diagnostic, str) else None,
                provider="ses",
                provider_type=bounce.get("bounceType"),
                provider_subtype=bounce.get("bounceSubType"),
            )
        )
    return events


def _after_type(diagnostic: object) -> object:
    """``smtp; 550 5.1.1 ...`` -> ``550 5.1.1 ...`` (RFC 3464 diagnostic-type prefix)."""
    if isinstance(diagnostic, str) and ";" in diagnostic[:12]:
        return diagnostic.split(";", 1)[1].strip()
    return diagnostic


def _complaint(
    body: dict[str, Any], mail: dict[str, Any], sns_id: str, routing: Routing
) -> list[Any]:
    complaint = _part(body, "complaint")
    account, delivery, stream, _ = _common(mail, routing)
    when = text_field(complaint, "timestamp", "complaint.timestamp")
    feedback = complaint.get("complaintFeedbackType")
    events = []
    recipients = _list(complaint, "complainedRecipients", "complaint.complainedRecipients")
    for index, rcpt in enumerate(recipients):
        path = f"complaint.complainedRecipients[{index}]"
        if not isinstance(rcpt, dict):
            raise NotUnderstood(f"{path} must be an object", path=path)
        email = text_field(rcpt, "emailAddress", f"{path}.emailAddress")
        events.append(
            build_event(
                kind="complaint",
                event_id=event_id("ses", sns_id, email),
                account_id=account,
                occurred_at=when,
                email=email,
                delivery_id=delivery,
                stream=stream,
                path=path,
                feedback_type=feedback if isinstance(feedback, str) else None,
            )
        )
    return events


def _delivery(
    body: dict[str, Any], mail: dict[str, Any], sns_id: str, routing: Routing
) -> list[Any]:
    delivery_part = _part(body, "delivery")
    account, delivery, stream, _ = _common(mail, routing)
    when = text_field(delivery_part, "timestamp", "delivery.timestamp")
    return [
        build_event(
            kind="delivered",
            event_id=event_id("ses", sns_id, str(email)),
            account_id=account,
            occurred_at=when,
            email=email,
            delivery_id=delivery,
            stream=stream,
            path=f"delivery.recipients[{index}]",
        )
        for index, email in enumerate(_list(delivery_part, "recipients", "delivery.recipients"))
    ]


def _subscription(
    body: dict[str, Any], mail: dict[str, Any], sns_id: str, routing: Routing
) -> list[Any]:
    """Unsubscribe-all from SES's own list management; a one-click header makes it reason 7.

    A per-topic opt-out is not an unsubscribe from the account's mail (our lists are per
    account), so it maps to nothing.
    """
    sub = _part(body, "subscription")
    new = sub.get("newTopicPreferences")
    if not (isinstance(new, dict) and new.get("unsubscribeAll") is True):
        return []
    account, delivery, stream, _ = _common(mail, routing)
    when = text_field(sub, "timestamp", "subscription.timestamp")
    kind = "list_unsubscribe" if sub.get("source") == "UnsubscribeHeader" else "unsubscribe"
    return [
        build_event(
            kind=kind,
            event_id=event_id("ses", sns_id, str(email)),
            account_id=account,
            occurred_at=when,
            email=email,
            delivery_id=delivery,
            stream=stream,
            path=f"mail.destination[{index}]",
        )
        for index, email in enumerate(_list(mail, "destination", "mail.destination"))
    ]


KINDS: dict[str, _Mapper] = {
    "Bounce": _bounce,  # notification format and event publishing alike
    "Complaint": _complaint,  # ibid.
    "Delivery": _delivery,  # ibid.
    "Subscription": _subscription,  # event publishing only (list management)
}
"""SES event kind -> how its recipients become delivery events."""

SKIPPED = frozenset(
    {
        "Send",  # event publishing: accepted by SES, says nothing about the recipient
        "Reject",  # SES refused to send (virus): the sender's problem
        "Open",  # engagement
        "Click",  # engagement
        "RenderingFailure",  # template error: the sender's problem
        "DeliveryDelay",  # SES still retries; the bounce (if any) comes later
        "AmazonSnsSubscriptionSucceeded",  # the notification format's set-up notice
        "Received",  # inbound mail
    }
)
"""Kinds SES documents that carry nothing for the lists: answered 2xx, counted, not mapped."""


def map_ses(body: object, sns_message_id: str, routing: Routing) -> Mapped:
    """One SES notification (the SNS ``Message``, decoded) as delivery events."""
    if not isinstance(body, dict):
        raise NotUnderstood("the SES notification must be a JSON object")
    kind = body.get("eventType", body.get("notificationType"))
    if not isinstance(kind, str):
        raise NotUnderstood("neither eventType nor notificationType names the kind", path="")
    if kind in SKIPPED:
        return Mapped(skipped=(kind,))
    mapper = KINDS.get(kind)
    if mapper is None:
        raise NotUnderstood(f"unknown SES event kind {kind[:40]!r}", path="eventType")
    mail = body.get("mail")
    if not isinstance(mail, dict):
        raise NotUnderstood("mail must be an object", path="mail")
    events = mapper(body, mail, sns_message_id, routing)
    return Mapped(events=tuple(events), skipped=() if events else (kind,))
