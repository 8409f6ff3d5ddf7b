"""Which provider's raw webhook payload a JSON value is, by the shape each one documents.

``suppressor classify`` takes pasted payloads as well as delivery events: this tells
them apart without any configuration and maps them as the routes do (no signature is
checked: the tool runs offline on what a person pasted). A value that matches no
provider's shape gives None, so the caller can say it was not understood instead of
guessing.
"""

from __future__ import annotations

from typing import Any

import orjson

from workers.ingest.webhooks import mailgun, postmark, sendgrid, ses, sparkpost
from workers.ingest.webhooks.mapping import Mapped, NotUnderstood, Routing

__all__ = ["CLASSIFY_ROUTING", "map_any"]

CLASSIFY_ROUTING = Routing(fallback_account="classify")
"""Pasted payloads rarely name an account; the tool does not need one."""


def _is_sendgrid(item: object) -> bool:
    return isinstance(item, dict) and "event" in item and ("sg_event_id" in item or "email" in item)


def _is_sparkpost(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("msys"), dict)


def _ses_body(value: dict[str, Any]) -> tuple[object, str] | None:
    """The SES notification of an SNS envelope (or of a bare SES body), and its message id."""
    if value.get("Type") == "Notification" and isinstance(value.get("Message"), str):
        try:
            return orjson.loads(value["Message"]), str(value.get("MessageId", "pasted"))
        except orjson.JSONDecodeError:
            raise NotUnderstood("the SNS Message is not JSON", path="Message") from None
    if ("notificationType" in value or "eventType" in value) and "mail" in value:
        return value, "pasted"
    return None


def map_any(value: object, routing: Routing = CLASSIFY_ROUTING) -> tuple[str, Mapped] | None:
    """(provider, its events) when ``value`` has a provider's shape; None otherwise.

    Raises ``NotUnderstood`` for a value that has a provider's shape but breaks its rules.
    """
    if isinstance(value, list) and value:
        if all(_is_sparkpost(item) for item in value):
            return "sparkpost", sparkpost.map_sparkpost(value, routing)
        if all(_is_sendgrid(item) for item in value):
            return "sendgrid", sendgrid.map_sendgrid(value, routing)
        return None
    if not isinstance(value, dict):
        return None
    found = _ses_body(value)
    if found is not None:
        return "ses", ses.map_ses(found[0], found[1], routing)
    if isinstance(value.get("event-data"), dict):
        return "mailgun", mailgun.map_mailgun(value, routing)
    if "RecordType" in value:
        return "postmark", postmark.map_postmark(value, routing)
    if _is_sparkpost(value):
        return "sparkpost", sparkpost.map_sparkpost([value], routing)
    if "sg_event_id" in value and "event" in value:
        return "sendgrid", sendgrid.map_sendgrid(value, routing)
    return None
