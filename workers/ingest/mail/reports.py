"""What parsing one mail says about one recipient: a frozen ``MailReport``.

A message gives one report per recipient it names (a DSN may name several), and at least
one report in any case: a message that cannot be understood gives one ``unparsed`` report
saying why, so nothing is dropped without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["BOUNCE_KINDS", "IGNORED_KINDS", "Kind", "MailReport"]


class Kind(StrEnum):
    """What happened to the recipient, as the message says it."""

    BOUNCE = "bounce"  # delivery failed (DSN Action: failed, or a text bounce)
    COMPLAINT = "complaint"  # an ARF feedback report (RFC 5965), whatever its Feedback-Type
    DELAYED = "delayed"  # DSN Action: delayed, or a "still trying" warning: not a bounce
    DELIVERED = "delivered"  # DSN Action: delivered
    RELAYED = "relayed"  # DSN Action: relayed (to a system that sends no DSN)
    EXPANDED = "expanded"  # DSN Action: expanded (an alias or list)
    AUTO_REPLY = "auto_reply"  # vacation, out of office, other RFC 3834 auto-replies
    RECEIPT = "receipt"  # a read receipt (RFC 8098 disposition notification)
    UNPARSED = "unparsed"  # the message could not be understood (``evidence`` says why)
    # Set by account resolution (``resolve``), never by the parser:
    UNRESOLVED = "unresolved"  # understood, but no account, recipient or valid address
    FORGED = "forged"  # the VERP return path's tag does not verify: refused


BOUNCE_KINDS = frozenset({Kind.BOUNCE, Kind.COMPLAINT, Kind.DELIVERED})
"""Kinds that become a delivery event once the account is known."""

IGNORED_KINDS = frozenset(
    {Kind.DELAYED, Kind.RELAYED, Kind.EXPANDED, Kind.AUTO_REPLY, Kind.RECEIPT}
)
"""Kinds that are not bounces: no event, outcome ``ignored``, the address is never listed."""


@dataclass(frozen=True, slots=True)
class MailReport:
    """One recipient of one message, with what the message says about it and where.

    ``evidence`` says where the facts come from ("dsn block 2: Action: failed ...",
    "exim text: ...", "header Auto-Submitted: auto-replied"), for an operator to audit.
    The message-level fields (ids, dates, return paths, the original's headers) are the
    same on every report of a message; account resolution reads them.
    """

    email: str | None
    kind: str
    smtp_status: str | None = None  # enhanced status, "5.1.1"
    smtp_code: int | None = None  # basic reply code, 550
    diagnostic: str | None = None  # the server's words
    remote_mta: str | None = None
    feedback_type: str | None = None  # ARF Feedback-Type, lower-cased
    evidence: str = ""
    action: str | None = None  # DSN Action as written (failed, delayed, ...)
    original_recipient: str | None = None  # DSN Original-Recipient / ARF Original-Rcpt-To
    mta_family: str | None = None  # which recogniser read it: dsn, arf, postfix, exim, ...
    reporting_mta: str | None = None
    message_id: str | None = None  # the bounce's own Message-ID
    message_key: str = ""  # Message-ID, else "sha256:<hex of the raw bytes>": stable per message
    original_message_id: str | None = None
    envelope_id: str | None = None  # DSN Original-Envelope-Id (the sender's ENVID)
    occurred_at: datetime | None = None  # Last-Attempt-Date, Arrival-Date or Date
    verp_candidates: tuple[str, ...] = ()  # addresses that may be the VERP return path
    original_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Headers of the returned original message (lower-case names, raw values), for the
    account and delivery headers."""

    def original_header(self, name: str) -> str | None:
        """The first value of one header of the returned original message, decoded."""
        from workers.ingest.mail.mime import decode_header_value

        wanted = name.strip().lower()
        for key, value in self.original_headers:
            if key == wanted:
                return decode_header_value(value)
        return None
