"""RFC 3464 / RFC 6533 delivery status notifications: the fields of every block, and the
recipient reports they make (``dsn_reports``).

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
from datetime import datetime
from email.message import Message

from workers.ingest.mail import mta_rules as rules
from workers.ingest.mail.context import (
    MAX_DIAGNOSTIC,
    MessageContext,
    address,
    notification_text,
    report,
)
from workers.ingest.mail.mime import (
    decode_bytes,
    decode_header_value,
    parse_date,
    part_bytes,
    part_charset,
    unfold,
)
from workers.ingest.mail.reports import Kind, MailReport
from workers.ingest.mail.textbounce import TextRecipient, codes_in, identify, read_recipients

__all__ = [
    "DsnFields",
    "delivery_status",
    "dsn_reports",
    "reply_code",
    "status_code",
    "status_comment",
    "typed_value",
]

_BLOCK_SPLIT = re.compile(r"\r?\n[ \t]*\r?\n")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d])")
_STATUS_COMMENT = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\s*\((.+)\)\s*$", re.DOTALL)
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
    text = decode_bytes(part_bytes(part), part_charset(part) or "utf-8")
    return [DsnFields(b) for b in _fields_of_text(text)]


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


def status_comment(value: str | None) -> str | None:
    """The words an MTA writes beside the status (``5.0.0 (recipient reached disk quota)``).

    RFC 3464 §2.3.4 allows a comment after the status code; Sun/Oracle Messaging Server
    (PMDF) puts its only reason there when it writes no Diagnostic-Code.
    """
    if not value:
        return None
    match = _STATUS_COMMENT.search(value)
    if match is None:
        return None
    text = " ".join(match[1].split()).strip()
    return text[:MAX_DIAGNOSTIC] or None


def reply_code(text: str | None) -> int | None:
    """The basic reply code at the start of a diagnostic (``550 5.1.1 ...`` -> 550)."""
    if not text:
        return None
    match = _REPLY.match(text)
    return int(match[1]) if match else None


# --- reports ---------------------------------------------------------------------------

_ACTIONS = {
    "failed": Kind.BOUNCE,
    "delayed": Kind.DELAYED,
    "delivered": Kind.DELIVERED,
    "relayed": Kind.RELAYED,
    "expanded": Kind.EXPANDED,
}
_STATUS_CLASS_KIND = {"5": Kind.BOUNCE, "4": Kind.DELAYED, "2": Kind.DELIVERED}


def dsn_reports(part: Message, context: MessageContext, parts: list[Message]) -> list[MailReport]:
    """One report per recipient block of a delivery-status part (none if it has no block)."""
    blocks = delivery_status(part)
    if not blocks:
        return []
    head, recipients = _split_blocks(blocks)
    reporting = typed_value(head.get("reporting-mta")) if head else None
    arrival = parse_date(head.get("arrival-date")) if head else None
    envelope_id = typed_value(head.get("original-envelope-id")) if head else None
    if not recipients:
        return []
    text_cache: dict[str, tuple[str, dict[str, TextRecipient]]] = {}
    reports = []
    for number, block in enumerate(recipients, start=1):
        reports.append(
            _dsn_recipient(
                number,
                block,
                context,
                parts=parts,
                reporting=reporting,
                arrival=arrival,
                envelope_id=envelope_id,
                text_cache=text_cache,
            )
        )
    return reports


def _split_blocks(blocks: list[DsnFields]) -> tuple[DsnFields | None, list[DsnFields]]:
    recipient_fields = ("final-recipient", "original-recipient", "action", "status")
    head: DsnFields | None = None
    recipients = []
    for block in blocks:
        if any(block.get(name) for name in recipient_fields):
            recipients.append(block)
        elif head is None:
            head = block
    return head, recipients


def _dsn_recipient(
    number: int,
    block: DsnFields,
    context: MessageContext,
    *,
    parts: list[Message],
    reporting: str | None,
    arrival: datetime | None,
    envelope_id: str | None,
    text_cache: dict[str, tuple[str, dict[str, TextRecipient]]],
) -> MailReport:
    final = typed_value(block.get("final-recipient"))
    original = typed_value(block.get("original-recipient"))
    actual = typed_value(block.get("x-actual-recipient"))
    email = address(final) or address(actual) or address(original)
    action_raw = (block.get("action") or "").strip().lower()
    action = action_raw.split()[0] if action_raw else ""
    status = status_code(block.get("status"))
    diagnostic = typed_value(block.get("diagnostic-code"))
    if diagnostic is not None:
        diagnostic = diagnostic[:MAX_DIAGNOSTIC]
    else:
        diagnostic = status_comment(block.get("status"))
    kind = _ACTIONS.get(action)
    if kind is None:
        kind = _STATUS_CLASS_KIND.get((status or "5")[0], Kind.BOUNCE)
    text_status, code = codes_in(diagnostic)
    if status is None:
        status = text_status
    code = reply_code(diagnostic) or code
    remote = typed_value(block.get("remote-mta"))
    when = parse_date(block.get("last-attempt-date")) or arrival or context.date
    facts = f"Action: {action_raw or '-'}; Status: {block.get('status') or '-'}"
    if diagnostic:
        facts += f"; Diagnostic-Code: {diagnostic}"
    evidence = f"dsn block {number}: {facts}"
    if email is None:
        shown = final or actual or original or "-"
        why = f"dsn block {number}: no valid recipient (Final-Recipient: {shown})"
        return report(
            context,
            None,
            Kind.UNPARSED,
            why,
            action=action or None,
            reporting_mta=reporting,
            envelope_id=envelope_id,
            mta_family="dsn",
        )
    if kind is Kind.BOUNCE and diagnostic is None:
        text = _text_for(email, parts, text_cache)
        if text is not None:
            diagnostic, text_status2, text_code, family_name = text
            status = status or text_status2
            code = code or text_code
            evidence += f"; words from the {family_name} text: {diagnostic}"
    return report(
        context,
        email,
        kind,
        evidence,
        smtp_status=status,
        smtp_code=code if code is None or 200 <= code <= 599 else None,
        diagnostic=diagnostic,
        remote_mta=remote.lower() if remote else None,
        action=action or None,
        original_recipient=address(original),
        mta_family="dsn",
        reporting_mta=reporting.lower() if reporting else None,
        envelope_id=envelope_id,
        occurred_at=when,
    )


def _text_for(
    email: str,
    parts: list[Message],
    cache: dict[str, tuple[str, dict[str, TextRecipient]]],
) -> tuple[str, str | None, int | None, str] | None:
    """A DSN recipient without Diagnostic-Code: the words its human-readable part has for it."""
    if "found" not in cache:
        text = notification_text(parts)
        family = identify(" ".join(text.lower().split()), {}) or rules.GENERIC
        named = {r.email: r for r in read_recipients(text, family) if r.email is not None}
        cache["found"] = (family.name, named)
    family_name, found = cache["found"]
    recipient = found.get(email)
    if recipient is None or not recipient.diagnostic:
        return None
    return recipient.diagnostic, recipient.smtp_status, recipient.smtp_code, family_name
