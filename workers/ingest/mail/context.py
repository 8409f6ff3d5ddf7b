"""What every report of one message shares: the ``MessageContext``, and the helpers that
read a message's parts (its content types, its notification text, its returned original)."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message
from functools import cached_property
from typing import Any

from suppressor_client.addresses import normalize_address
from suppressor_client.errors import InvalidAddress

from workers.ingest.mail import mta_rules as rules
from workers.ingest.mail.mime import Headers, parse_date, part_text
from workers.ingest.mail.reports import Kind, MailReport
from workers.ingest.mail.textbounce import notification_part

__all__ = [
    "MAX_DIAGNOSTIC",
    "MAX_EVIDENCE",
    "MessageContext",
    "address",
    "content_type",
    "message_context",
    "message_key",
    "notification_text",
    "report",
]

MAX_DIAGNOSTIC = 10_000  # the delivery-event schema's bound
MAX_ORIGINAL_HEADERS = 200
MAX_EVIDENCE = 400
_VERP_HEADERS = ("x-original-to", "delivered-to", "envelope-to", "x-envelope-to", "to")
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/table)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_NO_SUBJECT = ""


def message_key(message_id: str | None, raw: bytes) -> str:
    """A stable name of one message: its Message-ID, else the hash of its bytes."""
    if message_id:
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class MessageContext:
    """Message-level facts shared by every report of one message."""

    msg: Message
    headers: Headers
    raw: bytes
    key: str
    message_id: str | None
    subject: str
    sender: str
    date: datetime | None
    original: Headers | None  # the returned original's headers
    own_addresses: tuple[str, ...]  # the bounce's and the original's own, raw
    template: MailReport  # the message-level fields, set on every report

    @cached_property
    def exclude(self) -> frozenset[str]:
        """Addresses that are never the failed recipient: sender, VERP path, the bounce's To."""
        return frozenset(e for e in (address(a) for a in self.own_addresses) if e is not None)


def content_type(part: Message) -> str:
    """A part's content type; text/plain for one that cannot say."""
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def message_context(
    msg: Message, raw: bytes, parts: list[Message], types: list[str]
) -> MessageContext:
    headers = Headers(msg)
    message_id = message_id_of(headers.get("message-id"))
    key = message_key(message_id, raw)
    original = original_headers(parts, types)
    kept = original if original is not None else Headers(None)
    candidates: list[str] = []
    for name in _VERP_HEADERS:
        candidates.extend(headers.addresses(name))
    exclude = set(headers.addresses("from", "to", "reply-to", "return-path"))
    original_id = None
    if original is not None:
        original_id = message_id_of(kept.get("message-id"))
        candidates.extend(kept.addresses("return-path"))
        exclude.update(kept.addresses("from", "sender", "return-path", "reply-to"))
    verp = tuple(dict.fromkeys(c for c in candidates if "@" in c))
    exclude.update(verp)
    date = parse_date(headers.get("date"))
    template = MailReport(
        email=None,
        kind=Kind.UNPARSED,
        message_id=message_id,
        message_key=key,
        original_message_id=original_id,
        occurred_at=date,
        verp_candidates=verp,
        original_headers=tuple(kept.items()[:MAX_ORIGINAL_HEADERS]),
    )
    return MessageContext(
        msg=msg,
        headers=headers,
        raw=raw,
        key=key,
        message_id=message_id,
        subject=headers.get("subject") or _NO_SUBJECT,
        sender=headers.get("from") or "",
        date=date,
        original=original,
        own_addresses=tuple(exclude),
        template=template,
    )


def message_id_of(value: str | None) -> str | None:
    """A Message-ID header value as kept on reports (bounded), or None."""
    if not value:
        return None
    text = value.strip()
    return text[:200] if text else None


_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
     "message/global-headers"}
)  # fmt: skip


def original_headers(parts: list[Message], types: list[str]) -> Headers | None:
    """The returned original's headers: an enclosed part, else a copy quoted inline."""
    for part, ctype in zip(parts[1:], types[1:], strict=True):
        if ctype not in _ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return Headers(payload[0])
        found = Headers.from_text(part_text(part).lstrip("\n"))
        if found:
            return found
    for part, ctype in zip(parts, types, strict=True):
        if ctype != "text/plain" or part.is_multipart():
            continue
        quoted = _quoted_original(part_text(part))
        if quoted is not None:
            return quoted
    return None


def _quoted_original(text: str) -> Headers | None:
    """The headers of a copy of the original quoted after a text bounce's marker line."""
    lower = text.lower()
    for marker in rules.ORIGINAL_MARKERS:
        at = lower.find(marker)
        if at < 0:
            continue
        line_end = text.find("\n", at)
        if line_end < 0:
            return None
        found = Headers.from_text(text[line_end + 1 :].lstrip("\n"))
        return found or None
    return None


def report(
    context: MessageContext, email: str | None, kind: Kind, evidence: str, **fields: Any
) -> MailReport:
    """One report of this message: its own fields over the message-level ones."""
    return replace(
        context.template, email=email, kind=kind.value, evidence=evidence[:MAX_EVIDENCE], **fields
    )


def address(raw: str | None) -> str | None:
    """The normalised address in ``raw`` (``<a@x>``, ``mailto:a@x``), or None if invalid."""
    if not raw:
        return None
    candidate = raw.strip().strip("<>").strip()
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[7:]
    try:
        return normalize_address(candidate)
    except InvalidAddress:
        return None


def notification_text(parts: list[Message]) -> str:
    """The human-readable notification: text/plain parts, else text/html as text."""
    plain: list[str] = []
    rich: list[str] = []
    for part in parts:
        ctype = content_type(part)
        if part.is_multipart():
            continue
        if _attachment(part):
            continue
        if ctype == "text/plain":
            plain.append(part_text(part))
        elif ctype == "text/html":
            rich.append(_html_text(part_text(part)))
    text = "\n".join(plain) if plain else "\n".join(rich)
    return notification_part(text)


def _attachment(part: Message) -> bool:
    try:
        disposition = (part.get("content-disposition") or "").lower()
    except Exception:
        return False
    return disposition.startswith("attachment")


def _html_text(markup: str) -> str:
    text = _SCRIPT.sub(" ", markup)
    text = _BLOCK_TAGS.sub("\n", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)
