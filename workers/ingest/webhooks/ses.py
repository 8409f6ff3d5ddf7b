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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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


def _each(obj: Mapping[str, Any], name: str, key: str) -> Iterator[tuple[str, Any]]:
    """Each item of the non-empty array ``obj[key]`` with its payload path (``name.key[i]``)."""
    path = f"{name}.{key}"
    value = obj.get(key)
    if not isinstance(value, list) or not value:
        raise NotUnderstood(f"{path} must be a non-empty array", path=path)
    for index, item in enumerate(value):
        yield f"{path}[{index}]", item


def _recipients(
    obj: Mapping[str, Any], name: str, key: str
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each recipient object of ``obj[key]``: its path, the object and its ``emailAddress``."""
    for path, rcpt in _each(obj, name, key):
        if not isinstance(rcpt, dict):
            raise NotUnderstood(f"{path} must be an object", path=path)
        yield path, rcpt, text_field(rcpt, "emailAddress", f"{path}.emailAddress")


@dataclass(frozen=True, slots=True)
class _Notification:
    """What every event of one notification shares: the SNS id, the routing, the time."""

    sns_id: str
    account: str
    delivery: str | None
    stream: str
    when: str

    @classmethod
    def of(
        cls, mail: dict[str, Any], sns_id: str, routing: Routing, part: dict[str, Any], name: str
    ) -> _Notification:
        """The routing from ``mail``'s tags and id, the time from ``part``'s ``timestamp``."""
        tags = _tags(mail)
        message_id = text_field(mail, "messageId", "mail.messageId")
        return cls(
            sns_id,
            routing.account_of(tags),
            routing.delivery_of(tags, message_id),
            routing.stream_of(tags),
            text_field(part, "timestamp", f"{name}.timestamp"),
        )

    def event(self, kind: str, email: object, path: str, **details: Any) -> dict[str, Any]:
        """One recipient's delivery event (its id: the SNS message id and the address)."""
        return build_event(
            kind=kind,
            event_id=event_id("ses", self.sns_id, str(email)),
            account_id=self.account,
            occurred_at=self.when,
            email=email,
            delivery_id=self.delivery,
            stream=self.stream,
            path=path,
            **details,
        )


def _bounce(body: dict[str, Any], mail: dict[str, Any], sns_id: str, routing: Routing) -> list[Any]:
    bounce = _part(body, "bounce")
    notification = _Notification.of(mail, sns_id, routing, bounce, "bounce")
    events = []
    for path, rcpt, email in _recipients(bounce, "bounce", "bouncedRecipients"):
        diagnostic = rcpt.get("diagnosticCode")
        status = rcpt.get("status") if isinstance(rcpt.get("status"), str) else None
        events.append(
            notification.event(
                "bounce",
                email,
                path,
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
    notification = _Notification.of(mail, sns_id, routing, complaint, "complaint")
    feedback = complaint.get("complaintFeedbackType")
    return [
        notification.event(
            "complaint",
            email,
            path,
            feedback_type=feedback if isinstance(feedback, str) else None,
        )
        for path, _rcpt, email in _recipients(complaint, "complaint", "complainedRecipients")
    ]


def _delivery(
    body: dict[str, Any], mail: dict[str, Any], sns_id: str, routing: Routing
) -> list[Any]:
    delivery = _part(body, "delivery")
    notification = _Notification.of(mail, sns_id, routing, delivery, "delivery")
    return [
        notification.event("delivered", email, path)
        for path, email in _each(delivery, "delivery", "recipients")
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
    notification = _Notification.of(mail, sns_id, routing, sub, "subscription")
    kind = "list_unsubscribe" if sub.get("source") == "UnsubscribeHeader" else "unsubscribe"
    return [
        notification.event(kind, email, path) for path, email in _each(mail, "mail", "destination")
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
