"""RFC 3464 / RFC 6533 delivery status notifications: the fields of every block.

A ``message/delivery-status`` body is one block of per-message fields (Reporting-MTA,
Arrival-Date, Original-Envelope-Id ...) and one block per recipient (Final-Recipient,
Original-Recipient, Action, Status, Diagnostic-Code, Remote-MTA, Last-Attempt-Date), each
an RFC 822 header block separated by blank lines. Python parses it into a list of
``Message`` objects when it can; otherwise the text is split here, so a DSN with a
transfer encoding or a wrong content type still reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from workers.ingest.mail.mime import decode_bytes, decode_header_value, unfold

__all__ = ["DsnFields", "delivery_status", "typed_value", "status_code", "reply_code"]

_BLOCK_SPLIT = re.compile(r"\r?\n[ \t]*\r?\n")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d])")
_REPLY = re.compile(r"^\s*(?:#\s*)?([245]\d\d)(?![\d.])")
_MAX_BLOCKS = 500


@dataclass(frozen=True, slots=True)
class DsnFields:
    """One block of a DSN: field names lower-cased, values unfolded, first value kept."""

    fields: dict[str, str]

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if value else None


def _fields_of_message(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in msg.items():
        name = key.strip().lower()
        if name not in out:
            out[name] = decode_header_value(str(value))
    return out


def _fields_of_text(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for chunk in _BLOCK_SPLIT.split(text.strip())[:_MAX_BLOCKS]:
        fields: dict[str, str] = {}
        last: str | None = None
        for line in chunk.splitlines():
            if line[:1] in (" ", "\t") and last is not None:
                fields[last] = unfold(fields[last] + " " + line.strip())
                continue
            match = _FIELD.match(line)
            if match is None:
                last = None
                continue
            name = match[1].lower()
            if name in fields:
                last = None
                continue
            fields[name] = match[2].strip()
            last = name
        if fields:
            blocks.append(fields)
    return blocks


def delivery_status(part: Message) -> list[DsnFields]:
    """The blocks of a delivery-status part: the per-message block first, then recipients."""
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list) and payload and all(isinstance(p, Message) for p in payload):
        inner = payload[0]
        # The raw body, 8-bit bytes kept as surrogates (get_payload() would replace them).
        body = getattr(inner, "_payload", None) if len(payload) == 1 else None
        if isinstance(inner, Message) and isinstance(body, str) and body.strip():
            # message/global-delivery-status: Python reads it as one message whose body
            # holds the recipient blocks.
            head = _fields_of_message(inner)
            rest = _fields_of_text(decode_bytes(body.encode("utf-8", "surrogateescape")))
            return [DsnFields(b) for b in (head, *rest) if b]
        blocks = [_fields_of_message(p) for p in payload[:_MAX_BLOCKS] if isinstance(p, Message)]
        return [DsnFields(b) for b in blocks if b]
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        data = (payload if isinstance(payload, str) else "").encode("utf-8", "surrogateescape")
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return [DsnFields(b) for b in _fields_of_text(decode_bytes(data, charset or "utf-8"))]


def typed_value(value: str | None) -> str | None:
    """``rfc822; jane@example.com`` -> ``jane@example.com`` (the type is dropped)."""
    if value is None:
        return None
    _type, sep, rest = value.partition(";")
    text = rest if sep else value
    text = text.strip().strip("<>").strip()
    return text or None


def status_code(value: str | None) -> str | None:
    """The enhanced status of a Status field (``5.1.1 (bad mailbox)`` -> ``5.1.1``)."""
    if not value:
        return None
    match = _STATUS.search(value)
    if match is None:
        return None
    return f"{match[1]}.{int(match[2])}.{int(match[3])}"


def reply_code(text: str | None) -> int | None:
    """The basic reply code at the start of a diagnostic (``550 5.1.1 ...`` -> 550)."""
    if not text:
        return None
    match = _REPLY.match(text)
    return int(match[1]) if match else None
