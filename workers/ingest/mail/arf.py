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

from workers.ingest.mail.mime import decode_bytes, decode_header_value, unfold
from workers.ingest.mail.mta_rules import REDACTED_LOCAL_PARTS

__all__ = ["FEEDBACK_TOKEN", "FeedbackFields", "feedback_fields", "redacted"]

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
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        data = (payload if isinstance(payload, str) else "").encode("utf-8", "surrogateescape")
    last: tuple[str, int] | None = None
    for line in decode_bytes(data, "utf-8").splitlines()[:500]:
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
