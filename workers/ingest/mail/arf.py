"""RFC 5965 feedback reports (ARF): the ``message/feedback-report`` part's fields.

The part is one header block: Feedback-Type (abuse, fraud, virus, other, not-spam,
auth-failure, opt-out ...), User-Agent, Version, and the optional Original-Mail-From,
Original-Rcpt-To (repeatable), Arrival-Date, Reporting-MTA, Source-IP, Incidents.
Recipients are often redacted, so ``redacted`` says when an address is only a mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import Any

from workers.ingest.mail.context import MessageContext, address, report
from workers.ingest.mail.dsn import typed_value
from workers.ingest.mail.mime import (
    decode_bytes,
    decode_header_value,
    parse_date,
    part_bytes,
    unfold,
)
from workers.ingest.mail.mta_rules import REDACTED_LOCAL_PARTS
from workers.ingest.mail.reports import Kind, MailReport

__all__ = ["FEEDBACK_TOKEN", "FeedbackFields", "arf_reports", "feedback_fields", "redacted"]

FEEDBACK_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A Feedback-Type as the delivery-event schema accepts it."""

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")


@dataclass(frozen=True, slots=True)
class FeedbackFields:
    """The fields of a feedback report; names lower-cased, every value of each kept."""

    values: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))


def feedback_fields(part: Message) -> FeedbackFields:
    """Read the part whether Python parsed it as a header block or left it as text."""
    values: dict[str, list[str]] = {}
    try:
        payload = part.get_payload()
    except Exception:
        payload = None
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        for key, value in payload[0].items():
            values.setdefault(key.strip().lower(), []).append(decode_header_value(str(value)))
        return FeedbackFields(values)
    last: tuple[str, int] | None = None
    for line in decode_bytes(part_bytes(part), "utf-8").splitlines()[:500]:
        if line[:1] in (" ", "\t") and last is not None:
            name, index = last
            values[name][index] = unfold(values[name][index] + " " + line.strip())
            continue
        match = _FIELD.match(line)
        if match is None:
            last = None
            continue
        name = match[1].lower()
        values.setdefault(name, []).append(match[2].strip())
        last = (name, len(values[name]) - 1)
    return FeedbackFields(values)


def redacted(address: str) -> bool:
    """Whether a reported address is a mask (``xxxxx@example.com``, ``redacted``), not a person."""
    local, at, domain = address.strip().strip("<>").partition("@")
    if not at:
        return True
    lowered = local.lower()
    if REDACTED_LOCAL_PARTS.match(lowered) or "*" in local or "redacted" in lowered:
        return True
    return domain.lower() in ("redacted", "example.invalid", "redacted.invalid")


# --- reports ---------------------------------------------------------------------------


def arf_reports(part: Message, context: MessageContext) -> list[MailReport]:
    """One complaint per reported recipient, else one with the original's To, else none."""
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
        email = None if redacted(raw_address) else address(raw_address)
        if email is None:
            masked.append(raw_address)
            continue
        reports.append(report(context, email, Kind.COMPLAINT,
                               f"arf Feedback-Type: {shown_type}; Original-Rcpt-To: {raw_address}",
                               original_recipient=email, **common))  # fmt: skip
    if reports:
        return reports
    if context.original is not None:
        to = [a for a in context.original.addresses("to") if not redacted(a)]
        valid = [e for e in (address(a) for a in to) if e is not None]
        if len(valid) == 1:
            return [report(context, valid[0], Kind.COMPLAINT,
                            f"arf Feedback-Type: {shown_type}; recipient from the original's To",
                            **common)]  # fmt: skip
    why = f"arf Feedback-Type: {shown_type}; recipient redacted or missing"
    if masked:
        why += f" (Original-Rcpt-To: {masked[0]})"
    return [report(context, None, Kind.COMPLAINT, why, **common)]
