"""The row type of the diagnostic-text tables, and what each kind of phrase is evidence of.

The phrase tables (``classify_phrases_en``, ``classify_phrases_eu``, ``classify_phrases_asia``)
are data: one ``Phrase`` a line, each saying which MTA family, provider or RFC it comes
from, so a reader can check a row against its source. ``classify_text`` compiles them
once into a single RE2 set and scans a diagnostic in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Kind", "Phrase"]


class Kind(StrEnum):
    """What a phrase says about a bounce (CLASSIFICATION.md, "Text that overrides the code")."""

    SENDER = "sender"  # about the sender or the session, never the recipient: policy
    POLICY = "policy"  # spam, reputation, authentication, relaying, rate, content: policy
    FULL = "full"  # mailbox full / over quota: condition
    DISABLED = "disabled"  # account disabled, locked, frozen, suspended: condition
    MAILBOX_MISSING = "mailbox_missing"  # the user does not exist: nonexistent (class 5 or no code)
    DOMAIN_MISSING = "domain_missing"  # the domain does not exist: nonexistent (5.4.4 needs it)
    DIRECTORY_REJECT = "directory_reject"  # Office 365's 5.4.1 "access denied": only with 5.4.1
    TRANSIENT = "transient"  # "try again later", "timed out": vetoes nonexistent
    AUTO_REPLY = "auto_reply"  # vacation / out-of-office: not a bounce
    DELIVERED = "delivered"  # a successful-delivery notice: not a bounce
    DELAYED = "delayed"  # a delay warning ("will be retried"): not a failure yet
    WRAPPER = "wrapper"  # a provider's friendly frame around the reason: removed before reading
    ORIGINAL = "original"  # the returned copy of the message starts: nothing after it counts


@dataclass(frozen=True, slots=True)
class Phrase:
    """One row: lower-case text found in the collapsed diagnostic, and where it comes from.

    ``regex`` rows are RE2 syntax (no backtracking, linear time); the others are literal.
    """

    kind: Kind
    text: str
    source: str
    regex: bool = False
