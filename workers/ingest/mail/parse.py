"""A raw mail (bytes) -> one ``MailReport`` per recipient: ``parse_message``. Pure; never raises.

In order, the first that applies decides:

1. an ARF feedback report (``message/feedback-report``): one complaint per reported
   recipient (Original-Rcpt-To, else the returned original's To, else none: resolution
   may still read the VERP return path);
2. a DSN (``message/delivery-status``, RFC 3464 / 6533): one report per recipient block,
   its kind from ``Action`` (failed: bounce; delayed, delivered, relayed, expanded);
3. a read receipt (``message/disposition-notification``): ignored;
4. a text bounce of a known MTA family (``mta_rules.FAMILIES``), or a delay warning;
5. an auto-reply (RFC 3834 headers, then subject and body wording): ignored;
6. a bounce by its sender or subject alone, read with the generic recipient patterns;
7. a bounce relayed inside another message (a forwarded NDR): that bounce, read again;
8. otherwise one ``unparsed`` report saying why.

Every report of a message carries its message-level facts (ids, dates, VERP candidates,
the returned original's headers) for account resolution (``resolve``).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message
from functools import cached_property
from typing import Any

from workers.domain.addresses import normalize_address
from workers.domain.errors import InvalidAddress
from workers.ingest.mail import mta_rules as rules
from workers.ingest.mail.arf import FEEDBACK_TOKEN, feedback_fields, redacted
from workers.ingest.mail.dsn import DsnFields, delivery_status, reply_code, status_code, typed_value
from workers.ingest.mail.mime import (
    Headers,
    enclosed,
    iter_parts,
    load,
    parse_date,
    part_text,
)
from workers.ingest.mail.reports import Kind, MailReport
from workers.ingest.mail.textbounce import (
    TextRecipient,
    codes_in,
    identify,
    is_delay,
    looks_like_bounce,
    notification_part,
    read_recipients,
)

__all__ = ["MAX_RAW_BYTES", "message_key", "parse_message"]

MAX_RAW_BYTES = 50 * 1024 * 1024
"""Larger input is not parsed at all (one ``unparsed`` report): the server bounds it lower."""

MAX_DIAGNOSTIC = 10_000  # the delivery-event schema's bound
MAX_ORIGINAL_HEADERS = 200
MAX_EVIDENCE = 400
_RELAY_DEPTH = 2

_ACTIONS = {
    "failed": Kind.BOUNCE,
    "delayed": Kind.DELAYED,
    "delivered": Kind.DELIVERED,
    "relayed": Kind.RELAYED,
    "expanded": Kind.EXPANDED,
}
_STATUS_CLASS_KIND = {"5": Kind.BOUNCE, "4": Kind.DELAYED, "2": Kind.DELIVERED}
_VERP_HEADERS = ("x-original-to", "delivered-to", "envelope-to", "x-envelope-to", "to")
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/table)\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_NO_SUBJECT = ""
_FAMILY_HEADER_NAMES = tuple(sorted({name for f in rules.FAMILIES for name, _ in f.headers}))
_DSN_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "text/delivery-status"}
)
_MDN_TYPES = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)


def message_key(message_id: str | None, raw: bytes) -> str:
    """A stable name of one message: its Message-ID, else the hash of its bytes."""
    if message_id:
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_message(raw: bytes) -> list[MailReport]:
    """Every recipient report of one raw message; at least one, whatever the bytes."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        return [_unparsed("input is not bytes", message_key(None, b""))]
    data = bytes(raw)
    if len(data) > MAX_RAW_BYTES:
        return [
            _unparsed(
                f"message of {len(data)} bytes is over {MAX_RAW_BYTES}", message_key(None, data)
            )
        ]
    try:
        reports = _parse(data, depth=0)
    except Exception as exc:  # the parser's own bug must not lose the message
        return [_unparsed(f"parser error: {type(exc).__name__}: {exc}", message_key(None, data))]
    return reports or [_unparsed("no report", message_key(None, data))]


def _unparsed(why: str, key: str) -> MailReport:
    return MailReport(email=None, kind=Kind.UNPARSED, evidence=why[:MAX_EVIDENCE], message_key=key)


@dataclass(frozen=True)
class _Context:
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
        return frozenset(e for e in (_address(a) for a in self.own_addresses) if e is not None)


def _parse(raw: bytes, depth: int) -> list[MailReport]:
    msg = load(raw)
    parts = list(iter_parts(msg))
    types = [_ctype(p) for p in parts]
    context = _context(msg, raw, parts, types)
    for part, ctype in zip(parts, types, strict=True):
        if ctype == "message/feedback-report":
            return _arf(part, context)
    dsn_failures: list[MailReport] = []  # blocks without a valid recipient: the text may help
    for part, ctype in zip(parts, types, strict=True):
        if ctype in _DSN_TYPES:
            reports = _dsn(part, context, parts)
            if any(r.kind != Kind.UNPARSED for r in reports):
                return reports
            dsn_failures.extend(reports)
    if any(ctype in _MDN_TYPES for ctype in types):
        return [_report(context, None, Kind.RECEIPT, "read receipt (disposition notification)")]
    text = _notification_text(parts)
    lower = " ".join(text.lower().split())  # markers match across line breaks
    lower_subject = " ".join(context.subject.lower().split())
    family = identify(lower + "\n" + lower_subject, _family_headers(context.headers))
    if family is not None:
        reports = _text_bounce(text, family, context, lower=lower, lower_subject=lower_subject)
        if reports:
            return reports
    auto = _auto_reply(msg, context, lower)
    if auto is not None:
        return [auto]
    why = looks_like_bounce(context.sender, context.subject)
    if why is not None:
        reports = _text_bounce(
            text, rules.GENERIC, context, lower=lower, lower_subject=lower_subject, why=why
        )
        if reports:
            return reports
    if depth < _RELAY_DEPTH:
        relayed = _relayed(parts, depth, None if family is None else family.name)
        if relayed:
            return relayed
    if family is not None or why is not None:
        lone = _lone_recipient(context, text, (family or rules.GENERIC).name)
        if lone:
            return lone
    if dsn_failures:
        return dsn_failures
    if why is not None:
        reason = f"a bounce by its {why}, but no recipient found"
    elif family is not None:
        reason = f"{family.name} markers, but no recipient found"
    else:
        reason = "not a bounce, a feedback report or an auto-reply"
    return [_report(context, None, Kind.UNPARSED, reason)]


def _ctype(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _context(msg: Message, raw: bytes, parts: list[Message], types: list[str]) -> _Context:
    headers = Headers(msg)
    message_id = _message_id(headers.get("message-id"))
    key = message_key(message_id, raw)
    original = _original(parts, types)
    kept = original if original is not None else Headers(None)
    candidates: list[str] = []
    for name in _VERP_HEADERS:
        candidates.extend(headers.addresses(name))
    exclude = set(headers.addresses("from", "to", "reply-to", "return-path"))
    original_id = None
    if original is not None:
        original_id = _message_id(kept.get("message-id"))
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
    return _Context(
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


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    return text[:200] if text else None


_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers",
     "message/global-headers"}
)  # fmt: skip


def _original(parts: list[Message], types: list[str]) -> Headers | None:
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


def _family_headers(headers: Headers) -> dict[str, str]:
    """The (lower-cased) values of the headers that MTA family rows look at."""
    out = {}
    for name in _FAMILY_HEADER_NAMES:
        value = headers.get(name)
        if value is not None:
            out[name] = value.lower()
    return out


def _report(
    context: _Context, email: str | None, kind: Kind, evidence: str, **fields: Any
) -> MailReport:
    return replace(
        context.template, email=email, kind=kind.value, evidence=evidence[:MAX_EVIDENCE], **fields
    )


def _address(raw: str | None) -> str | None:
    if not raw:
        return None
    candidate = raw.strip().strip("<>").strip()
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[7:]
    try:
        return normalize_address(candidate)
    except InvalidAddress:
        return None


# --- DSN ------------------------------------------------------------------------------


def _dsn(part: Message, context: _Context, parts: list[Message]) -> list[MailReport]:
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
    context: _Context,
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
    email = _address(final) or _address(actual) or _address(original)
    action_raw = (block.get("action") or "").strip().lower()
    action = action_raw.split()[0] if action_raw else ""
    status = status_code(block.get("status"))
    diagnostic = typed_value(block.get("diagnostic-code"))
    if diagnostic is not None:
        diagnostic = diagnostic[:MAX_DIAGNOSTIC]
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
        return _report(
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
    return _report(
        context,
        email,
        kind,
        evidence,
        smtp_status=status,
        smtp_code=code if code is None or 200 <= code <= 599 else None,
        diagnostic=diagnostic,
        remote_mta=remote.lower() if remote else None,
        action=action or None,
        original_recipient=_address(original),
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
        text = _notification_text(parts)
        family = identify(" ".join(text.lower().split()), {}) or rules.GENERIC
        cache["found"] = (family.name, {r.email: r for r in read_recipients(text, family)})
    family_name, found = cache["found"]
    recipient = found.get(email)
    if recipient is None or not recipient.diagnostic:
        return None
    return recipient.diagnostic, recipient.smtp_status, recipient.smtp_code, family_name


# --- ARF ------------------------------------------------------------------------------


def _arf(part: Message, context: _Context) -> list[MailReport]:
    fields = feedback_fields(part)
    raw_type = (fields.first("feedback-type") or "").strip().lower()
    feedback_type = raw_type if FEEDBACK_TOKEN.fullmatch(raw_type) else None
    when = parse_date(fields.first("arrival-date") or fields.first("received-date")) or context.date
    reporting = typed_value(fields.first("reporting-mta"))
    mail_from = fields.first("original-mail-from")
    verp = list(context.template.verp_candidates)
    if mail_from and "@" in mail_from:
        verp.insert(0, mail_from.strip().strip("<>"))
    common: dict[str, Any] = {
        "feedback_type": feedback_type,
        "mta_family": "arf",
        "reporting_mta": reporting.lower() if reporting else None,
        "occurred_at": when,
        "verp_candidates": tuple(dict.fromkeys(verp)),
    }
    shown_type = raw_type or "(missing)"
    reports: list[MailReport] = []
    masked: list[str] = []
    for value in fields.all("original-rcpt-to"):
        raw_address = value.strip().strip("<>")
        email = None if redacted(raw_address) else _address(raw_address)
        if email is None:
            masked.append(raw_address)
            continue
        reports.append(_report(context, email, Kind.COMPLAINT,
                               f"arf Feedback-Type: {shown_type}; Original-Rcpt-To: {raw_address}",
                               original_recipient=email, **common))  # fmt: skip
    if reports:
        return reports
    if context.original is not None:
        to = [a for a in context.original.addresses("to") if not redacted(a)]
        valid = [e for e in (_address(a) for a in to) if e is not None]
        if len(valid) == 1:
            return [_report(context, valid[0], Kind.COMPLAINT,
                            f"arf Feedback-Type: {shown_type}; recipient from the original's To",
                            **common)]  # fmt: skip
    why = f"arf Feedback-Type: {shown_type}; recipient redacted or missing"
    if masked:
        why += f" (Original-Rcpt-To: {masked[0]})"
    return [_report(context, None, Kind.COMPLAINT, why, **common)]


# --- text bounces ---------------------------------------------------------------------


def _notification_text(parts: list[Message]) -> str:
    """The human-readable notification: text/plain parts, else text/html as text."""
    plain: list[str] = []
    rich: list[str] = []
    for part in parts:
        ctype = _ctype(part)
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


def _text_bounce(
    text: str,
    family: rules.MtaFamily,
    context: _Context,
    *,
    lower: str,
    lower_subject: str,
    why: str | None = None,
) -> list[MailReport]:
    delay = is_delay(lower, lower_subject)
    recipients = read_recipients(text, family, context.exclude)
    if not recipients and family is not rules.GENERIC:
        recipients = read_recipients(text, rules.GENERIC, context.exclude)
    kind = Kind.DELAYED if delay else Kind.BOUNCE
    label = family.name if why is None else f"{family.name} ({why})"
    reports = []
    for recipient in recipients:
        evidence = f"{label} text" + (f", delay warning {delay!r}" if delay else "")
        if recipient.diagnostic:
            evidence += f": {recipient.diagnostic}"
        reports.append(
            _report(
                context,
                recipient.email,
                kind,
                evidence,
                smtp_status=recipient.smtp_status,
                smtp_code=recipient.smtp_code,
                diagnostic=recipient.diagnostic,
                remote_mta=recipient.remote_mta,
                mta_family=family.name,
            )
        )
    return reports


def _lone_recipient(context: _Context, text: str, label: str) -> list[MailReport]:
    """A bounce with no recipient line: the one To of the returned original, if it has one."""
    original = context.original
    if original is None or _looks_like_bounce_message(original):
        return []
    to = [e for e in (_address(a) for a in original.addresses("to")) if e]
    if len(to) != 1 or to[0] in context.exclude:
        return []
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    diagnostic = " ".join(lines[:12])[:2000] or None
    status, code = codes_in(diagnostic)
    lower = " ".join(text.lower().split())
    kind = Kind.DELAYED if is_delay(lower, context.subject.lower()) else Kind.BOUNCE
    return [
        _report(
            context,
            to[0],
            kind,
            f"{label} text, recipient from the returned original's To: {diagnostic or ''}",
            smtp_status=status,
            smtp_code=code,
            diagnostic=diagnostic,
            mta_family=label,
        )
    ]


def _looks_like_bounce_message(headers: Headers) -> bool:
    """Whether an enclosed message is itself a bounce (a forwarded NDR), not an original."""
    if (headers.get("content-type") or "").lower().startswith("multipart/report"):
        return True
    return looks_like_bounce(headers.get("from") or "", headers.get("subject") or "") is not None


# --- auto-replies ---------------------------------------------------------------------


def _auto_reply(msg: Message, context: _Context, lower_text: str) -> MailReport | None:
    evidence = None
    for name, values in rules.AUTO_REPLY_HEADERS:
        value = (context.headers.get(name) or "").strip().lower()
        if not value:
            continue
        if values and any(v in value for v in values):
            evidence = f"header {name}: {value}"
            break
        if not values and value not in ("no", "false", "0"):
            evidence = f"header {name}: {value}"
            break
    if evidence is None:
        subject = context.subject.lower()
        marker = next((m for m in rules.AUTO_REPLY_SUBJECTS if m in subject), None)
        if marker is not None:
            evidence = f"subject {marker!r}"
    if evidence is None:
        marker = next((m for m in rules.AUTO_REPLY_PHRASES if m in lower_text[:5000]), None)
        if marker is not None:
            evidence = f"text {marker!r}"
    if evidence is None:
        return None
    senders = [e for e in (_address(a) for a in context.headers.addresses("from")) if e]
    sender = senders[0] if senders else None
    return _report(
        context, sender, Kind.AUTO_REPLY, f"auto-reply: {evidence}", mta_family="auto-reply"
    )


# --- relayed bounces ------------------------------------------------------------------


def _relayed(parts: list[Message], depth: int, via: str | None) -> list[MailReport]:
    """A bounce forwarded inside another message (an ESP's or a person's forward)."""
    for part in parts[1:]:
        if _ctype(part) not in ("message/rfc822", "message/global"):
            continue
        inner = enclosed(part)
        if inner is None:
            continue
        try:
            raw = inner.as_bytes()
        except Exception:
            continue
        reports = _parse(raw, depth + 1)
        if any(r.kind != Kind.UNPARSED for r in reports):
            label = "relayed" if via is None else f"relayed by {via}"
            return [replace(r, evidence=f"{label}: {r.evidence}"[:MAX_EVIDENCE]) for r in reports]
    return []
