"""What every provider mapping shares: routing rules, the event builder and its errors.

A provider module turns one decoded webhook payload into delivery events as they go on
``delivery-events`` (SPEC §2), with no I/O and no clock: time comes from the payload.
Each event is checked with the worker's own parser (``parse_delivery_event``) before it
leaves here, so the route never produces what the worker would dead-letter.

Which account an event belongs to comes from the URL (``/webhooks/{provider}/{account}``)
or from the message's metadata under a configured field name; when both are present
they must agree (``AccountMismatch``), since the URL's credentials vouch for one account.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from suppressor_client.errors import InputError
from suppressor_client.records import format_timestamp

from workers.domain.events import parse_delivery_event

__all__ = [
    "AccountMismatch",
    "Mapped",
    "NotUnderstood",
    "Routing",
    "build_event",
    "enhanced_status",
    "event_id",
    "from_epoch",
    "object_field",
    "reply_code",
    "text_field",
]

_MAX_EVENT_ID = 200
_ENHANCED = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_REPLY = re.compile(r"(?<!\d)([245]\d\d)(?!\d)")
_STREAMS = frozenset({"marketing", "transactional"})


class NotUnderstood(InputError):
    """A payload (or a part of it) that is not what the provider documents: 400 and the DLQ."""

    code = "webhook_payload"


class AccountMismatch(InputError):
    """The message names another account than the one whose credentials sent it: 403."""

    code = "account_mismatch"


@dataclass(frozen=True, slots=True)
class Routing:
    """Where account, delivery id and stream come from, for one call.

    ``account`` is the URL's account (None on ``/webhooks/{provider}``); the ``*_field``
    names are looked up in the message's metadata; ``fallback_account`` stands in when
    neither names an account (``suppressor classify`` only: a route leaves it None).
    """

    account: str | None = None
    account_field: str = "account_id"
    delivery_field: str = "delivery_id"
    stream_field: str = "stream"
    fallback_account: str | None = None

    def account_of(self, metadata: Mapping[str, Any]) -> str:
        """The event's account: metadata and URL must agree; one of them must name it."""
        named = metadata.get(self.account_field)
        named = named if isinstance(named, str) and named else None
        if self.account is not None:
            if named is not None and named != self.account:
                raise AccountMismatch(
                    f"the message's {self.account_field} is another account than the URL's",
                    path=self.account_field,
                )
            return self.account
        if named is not None:
            return named
        if self.fallback_account is not None:
            return self.fallback_account
        raise NotUnderstood(
            f"no account: call /webhooks/<provider>/<account> or put the account in the "
            f"message's metadata as {self.account_field!r}",
            path=self.account_field,
        )

    def delivery_of(self, metadata: Mapping[str, Any], native: object) -> str | None:
        """The platform's delivery id from metadata, else the provider's own message id."""
        named = metadata.get(self.delivery_field)
        if isinstance(named, str) and named:
            return named
        return native if isinstance(native, str) and native else None

    def stream_of(self, metadata: Mapping[str, Any]) -> str:
        """The metadata's stream when it names one, else ``marketing`` (SPEC §2's default)."""
        named = metadata.get(self.stream_field)
        return named if isinstance(named, str) and named in _STREAMS else "marketing"


@dataclass(frozen=True, slots=True)
class Mapped:
    """One payload's delivery events (encoded, validated) and the count of kinds we skip."""

    events: tuple[dict[str, Any], ...] = ()
    skipped: tuple[str, ...] = field(default=())  # provider event kinds not mapped (open, click)

    @staticmethod
    def join(parts: list[Mapped]) -> Mapped:
        """Many parts as one (linear: a SendGrid batch may hold thousands of events)."""
        return Mapped(
            tuple(e for part in parts for e in part.events),
            tuple(k for part in parts for k in part.skipped),
        )


def event_id(provider: str, *parts: str) -> str:
    """An event id from the provider's own ids: a retried call gives the same id."""
    text = ":".join((provider, *parts))
    if len(text) <= _MAX_EVENT_ID:
        return text
    digest = hashlib.sha256(":".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{provider}:{digest}"


def from_epoch(value: object, path: str) -> str:
    """Unix seconds (a number or a string of digits, as providers send them) as RFC 3339."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not 0 < number < 32_503_680_000:  # before the year 3000
        raise NotUnderstood(f"{path} is not a Unix time: {str(value)[:40]!r}", path=path)
    return format_timestamp(datetime.fromtimestamp(number, UTC))


def object_field(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    """An optional object field (metadata, headers, status): ``{}`` when absent or not one."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def text_field(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    """A string field of the payload; a missing required one is ``NotUnderstood``."""
    value = obj.get(key)
    if isinstance(value, str) and value:
        return value
    if value is None and not required:
        return ""
    raise NotUnderstood(f"{path} must be a non-empty string", path=path)


def enhanced_status(text: object) -> str | None:
    """The first enhanced status code (RFC 3463) in a provider's text, if any."""
    if not isinstance(text, str):
        return None
    found = _ENHANCED.search(text)
    return found.group(1) if found else None


def reply_code(value: object) -> int | None:
    """A basic SMTP reply code (200-599) from a number or the start of a text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 200 <= value <= 599 else None  # Mailgun's 605 etc. are its own
    if isinstance(value, str):
        found = _REPLY.search(value[:40])
        return int(found.group(1)) if found else None
    return None


def build_event(
    *,
    kind: str,
    event_id: str,
    account_id: str,
    occurred_at: str,
    email: object,
    delivery_id: str | None,
    stream: str = "marketing",
    path: str = "",
    **details: Any,
) -> dict[str, Any]:
    """A delivery event, checked as the worker checks it; a refusal names the payload path."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "account_id": account_id,
        "occurred_at": occurred_at,
        "type": kind,
        "email": email,
        "stream": stream,
    }
    if delivery_id is not None:
        event["delivery_id"] = delivery_id[:_MAX_EVENT_ID]
    event.update({k: v for k, v in details.items() if v is not None and v != ""})
    if isinstance(event.get("diagnostic"), str):
        event["diagnostic"] = event["diagnostic"][:10_000]
    try:
        parse_delivery_event(orjson.dumps(event))
    except InputError as error:
        where = f"{path}: " if path else ""
        raise NotUnderstood(f"{where}{error.message}", path=path or error.path) from None
    return event
