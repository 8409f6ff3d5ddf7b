"""Sieve ``reject`` answers: an MDN whose disposition is ``deleted`` is a refusal, not a receipt.

RFC 5429 §2.1 has a Sieve ``reject`` (Dovecot's LDA, Cyrus) answer with a message
disposition notification (RFC 8098) that reads ``Disposition: automatic-action/
MDN-sent-automatically; deleted`` and a human part saying why (often "Quota exceeded").
A read receipt says ``displayed``; only ``deleted`` is read here, as a bounce of the
notification's Final-Recipient, with the human part's words as diagnostic.
"""

from __future__ import annotations

from email.message import Message

from workers.ingest.mail.context import MessageContext, address, notification_text, report
from workers.ingest.mail.dsn import delivery_status, typed_value
from workers.ingest.mail.reports import Kind, MailReport
from workers.ingest.mail.textbounce import codes_in, notification_part

__all__ = ["sieve_rejects"]

_MAX_WORDS = 1_000


def sieve_rejects(
    mdn_parts: list[Message], parts: list[Message], context: MessageContext
) -> list[MailReport]:
    """One bounce per ``deleted`` disposition naming a valid Final-Recipient (else none)."""
    out: list[MailReport] = []
    for part in mdn_parts:
        for fields in delivery_status(part):
            disposition = (fields.get("disposition") or "").lower()
            if not disposition.startswith("automatic-action") or "deleted" not in disposition:
                continue
            email = address(typed_value(fields.get("final-recipient")))
            if email is None or email in context.exclude:
                continue
            words = " ".join(notification_part(notification_text(parts)).split())[:_MAX_WORDS]
            status, code = codes_in(words)
            out.append(
                report(
                    context,
                    email,
                    Kind.BOUNCE,
                    f"sieve reject (MDN Disposition: {disposition}): {words}",
                    smtp_status=status,
                    smtp_code=code,
                    diagnostic=words or None,
                    mta_family="sieve-reject",
                )
            )
    return out
