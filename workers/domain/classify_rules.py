"""The tables of CLASSIFICATION.md as data; ``classify.py`` is the engine that reads them.

Each row is one line, so adding a provider's classification or a server's phrase is a
one-line change that a reader can check against the document. Rows marked "beyond
CLASSIFICATION.md" are decisions taken where the document is silent; each says why.
Phrases are lower-case substrings of the diagnostic text after its whitespace is
collapsed to single spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.domain.types import Outcome

__all__ = [
    "ALL_OUTCOMES",
    "AUTO_REPLY_PHRASES",
    "BASIC_CODE_RULES",
    "BASIC_CLASS_DEFAULT",
    "BY_EVIDENCE",
    "CONDITION_PHRASES",
    "DELIVERY_NOTICE_PHRASES",
    "DOMAIN_MISSING_PHRASES",
    "FEEDBACK_RULES",
    "FEEDBACK_DEFAULT",
    "NONEXISTENT_PHRASES",
    "POLICY_PHRASES",
    "PROVIDER_ALIASES",
    "PROVIDER_TABLES",
    "SENDER_PHRASES",
    "STATUS_RULES",
    "STATUS_TEXT_GATES",
    "TEXT_RULES",
    "ByEvidence",
    "ProviderRule",
    "TextRule",
]

N = Outcome.NONEXISTENT
C = Outcome.CONDITION
P = Outcome.POLICY
U = Outcome.UNKNOWN
IGNORED = Outcome.IGNORED
COMPLAINT = Outcome.COMPLAINT
UNSUBSCRIBE = Outcome.UNSUBSCRIBE

ALL_OUTCOMES: frozenset[Outcome] = frozenset(Outcome)

# --- Diagnostic text ----------------------------------------------------------------

NONEXISTENT_PHRASES: tuple[str, ...] = (
    "user unknown",
    "no such user",
    "mailbox not found",
    "does not exist",
    "unknown recipient",
    "recipient address rejected: access denied",  # Office 365 sends this as 5.4.1
    "address rejected",
    "invalid recipient",
    "account has been deleted",
    # beyond CLASSIFICATION.md: unambiguous spellings of the same statement
    "unknown user",
    "user not found",
    "recipient not found",
    "no such mailbox",
    "no such recipient",
    "this user doesn't have a",  # Yahoo: "This user doesn't have a yahoo.com account"
)
"""Nonexistent when the class is 5 (and the code is not gated below)."""

DOMAIN_MISSING_PHRASES: tuple[str, ...] = (
    "nxdomain",
    "host not found",
    "no mx",
    "no a record",
    "domain not found",
    "domain does not exist",
    "no such domain",
    "non-existent domain",
    "nonexistent domain",
    "name or service not known",
)
"""The text that says the recipient's domain does not exist (5.4.4 needs it)."""

SENDER_PHRASES: tuple[str, ...] = (
    "sender address rejected",
    "sender verify failed",
    "from address",
    "mail from",
    "domain of sender",
    # beyond CLASSIFICATION.md
    "sender domain",
    "sender rejected",
)
"""About the sender: policy whatever the code (a 5.1.x here says nothing of the recipient)."""

CONDITION_PHRASES: tuple[str, ...] = (
    "mailbox full",
    "over quota",
    "quota exceeded",
    "insufficient storage",
    "account disabled",
    "account suspended",
    "inactive",
    "temporarily deactivated",
    # beyond CLASSIFICATION.md: Gmail's and Yahoo's spellings of the same states
    "mailbox is full",
    "exceeded storage",
    "account is disabled",
    "mailbox disabled",
    "mailbox is disabled",
    "account has been suspended",
)

POLICY_PHRASES: tuple[str, ...] = (
    "spam",
    "unsolicited",  # Gmail 550 5.7.1 "likely unsolicited mail": a spam block
    "blocked",
    "blacklist",
    "blocklist",
    "reputation",
    "spamhaus",
    "policy",
    "dmarc",
    "spf",
    "dkim",
    "rate limit",
    "too many",
    # beyond CLASSIFICATION.md
    "too fast",  # Gmail 4.2.1 "receiving mail too fast": a rate limit, not a mailbox state
    "at a rate that",  # Gmail 4.2.1 "receiving mail at a rate that prevents ..."
    "ratelimit",
    "rate-limit",
    "dnsbl",
    "relay access denied",
    "relaying denied",
    "relay not permitted",
    "unauthenticated",
    "greylist",
    "graylist",
    "virus",
    "phishing",
)


@dataclass(frozen=True, slots=True)
class TextRule:
    """Phrases that decide the outcome whatever the code, tried in table order."""

    name: str
    outcome: Outcome
    phrases: tuple[str, ...]


TEXT_RULES: tuple[TextRule, ...] = (
    TextRule("sender", P, SENDER_PHRASES),
    TextRule("policy", P, POLICY_PHRASES),
    TextRule("condition", C, CONDITION_PHRASES),
)
"""Policy first: when evidence is mixed the worker must not list the address."""

AUTO_REPLY_PHRASES: tuple[str, ...] = (
    "out of office",
    "out of the office",
    "vacation",
    "auto-reply",
    "autoreply",
    "auto reply",
    "automatic reply",
    "automated reply",
    "autoresponder",
    "auto-responder",
    "auto-submitted: auto-replied",
)
"""Not a bounce: ignored unless the event also carries a 4xx/5xx code."""

DELIVERY_NOTICE_PHRASES: tuple[str, ...] = (
    "successfully delivered",
    "delivered successfully",
    "delivery succeeded",
    "recipients succeeded",
    "has been delivered",
    "was delivered",
    "delivery has been relayed",
)
"""Successful-delivery notices: not bounces (same condition as auto-replies)."""

# --- Enhanced status codes (RFC 3463) -------------------------------------------------

STATUS_RULES: dict[str, Outcome] = {
    # exact codes first
    "5.1.1": N,  # bad mailbox
    "5.1.3": N,  # bad mailbox syntax
    "5.1.2": N,  # destination domain does not exist
    "5.1.6": N,  # mailbox moved, no forwarding address
    "5.1.10": N,  # null MX (RFC 7505)
    "5.7.17": N,  # mailbox owner changed (RFC 7293)
    "5.7.18": N,  # domain owner changed (RFC 7293)
    "5.4.4": U,  # unable to route: nonexistent only with STATUS_TEXT_GATES text
    "5.2.1": C,  # mailbox disabled
    "4.2.1": P,  # beyond CLASSIFICATION.md: Gmail's "receiving mail too fast"
    "5.7.13": C,  # user account disabled
    # any class: "x.subject.detail"
    "x.2.2": C,  # mailbox full (a 552 on RCPT reads as 452)
    "x.2.0": C,  # other mailbox status
    "x.1.7": P,  # bad sender mailbox syntax
    "x.1.8": P,  # bad sender system address
    "x.2.3": P,  # message too big for the mailbox
    "x.3.4": P,  # message too big for the system
    "x.7.16": P,  # message too big (RFC 7372)
    "x.4.7": U,  # delivery time expired
    # any class, whole subject: "x.subject"
    "x.3": P,  # mail system
    "x.4": P,  # network and routing (5.4.4 above)
    "x.5": P,  # mail delivery protocol
    "x.6": P,  # message content or media
    "x.7": P,  # security, spam, reputation, SPF/DKIM/DMARC, TLS (13, 17, 18 above)
}
"""Lookup order: ``c.s.d``, ``x.s.d``, ``x.s``. A nonexistent row read with class 4 is unknown.

Codes not listed (x.0.0, x.1.0, x.1.4, x.2.4…) decide nothing: the text decides, else the
basic reply code, else unknown.
"""

STATUS_TEXT_GATES: dict[str, tuple[str, ...]] = {
    "5.4.4": DOMAIN_MISSING_PHRASES,
}
"""Codes for which only these phrases (not the general list) make a bounce nonexistent."""

# --- Basic reply codes (weakest) ----------------------------------------------------

BASIC_CODE_RULES: dict[int, Outcome] = {
    # beyond CLASSIFICATION.md: the document leaves these to us
    421: U,  # service not available: the remote server's state, not the mailbox's
    450: U,  # mailbox unavailable (busy, greylisting): transient
    451: U,  # local error in processing
    452: C,  # insufficient storage
    454: P,  # TLS / authentication not available
    455: P,  # server unable to accommodate parameters
    500: P,  # syntax error: protocol
    501: P,
    502: P,
    503: P,
    504: P,
    521: U,  # host does not accept mail (RFC 7504): the whole host, maybe temporarily
    530: P,  # authentication required
    534: P,
    535: P,
    538: P,
    550: U,  # mailbox unavailable: as often a policy block as a dead address
    551: U,  # user not local
    552: C,  # exceeded storage allocation: reads as 452
    553: U,  # mailbox name not allowed: often a policy reason too
    554: U,  # transaction failed: spam blocks and dead addresses alike
    555: P,  # MAIL FROM / RCPT TO parameters not recognised
    556: N,  # domain does not accept mail (RFC 7504, null MX): as 5.1.10
}
BASIC_CLASS_DEFAULT: dict[int, Outcome] = {2: IGNORED, 4: U, 5: U}
"""Codes not in the table, by class; a 2xx is a delivery notice."""

# --- Provider fields (strongest) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ByEvidence:
    """Decide by status code and text; outcomes outside ``allowed`` become ``fallback``.

    ``assumed_class`` stands in for the SMTP class when the event carries no code
    (a provider's "permanent" lets "user unknown" text count as class 5).
    """

    allowed: frozenset[Outcome] = ALL_OUTCOMES
    fallback: Outcome = U
    assumed_class: int | None = None


ProviderRule = Outcome | ByEvidence

BY_EVIDENCE = ByEvidence()
PERMANENT = ByEvidence(assumed_class=5)
TEMPORARY = ByEvidence(frozenset({C, P, U, IGNORED}), U, 4)
POLICY_OR_UNKNOWN = ByEvidence(frozenset({P, U, IGNORED}), U, 4)
SOFT_BOUNCE = ByEvidence(frozenset({C, P, IGNORED}), P, 4)

# (provider_type, provider_subtype, rule), spelled as the provider spells them. "*" is
# any value; matching ignores case, spaces and punctuation. Lookup order: (type,
# subtype), (*, subtype), (type, *), (*, type), (*, *); (*, type) lets a SparkPost
# bounce class arrive in either field. No row, or no type and subtype: BY_EVIDENCE.
PROVIDER_TABLES: dict[str, tuple[tuple[str, str, ProviderRule], ...]] = {
    "ses": (
        ("Permanent", "NoEmail", N),
        ("Permanent", "General", PERMANENT),
        ("Permanent", "Suppressed", U),  # SES's own list: no new evidence
        ("Permanent", "OnAccountSuppressionList", U),
        ("Permanent", "*", PERMANENT),
        ("Transient", "MailboxFull", C),
        ("Transient", "MessageTooLarge", P),
        ("Transient", "ContentRejected", P),
        ("Transient", "AttachmentRejected", P),
        ("Transient", "*", POLICY_OR_UNKNOWN),
        ("Undetermined", "*", POLICY_OR_UNKNOWN),
    ),
    "sendgrid": (
        ("bounce", "Invalid Address", N),
        ("bounce", "Mailbox Unavailable", C),
        ("bounce", "Technical Failure", P),
        ("bounce", "Content", P),
        ("bounce", "Reputation", P),
        ("bounce", "Frequency or Volume Too High", P),
        ("bounce", "Unclassified", P),
        ("bounce", "*", BY_EVIDENCE),
        ("blocked", "*", P),
        ("deferred", "*", TEMPORARY),
        ("dropped", "*", U),  # SendGrid's own suppression: no new evidence
        ("spamreport", "*", COMPLAINT),
        ("unsubscribe", "*", UNSUBSCRIBE),
        ("group_unsubscribe", "*", UNSUBSCRIBE),
        ("delivered", "*", IGNORED),
    ),
    "postmark": (
        ("HardBounce", "*", N),
        ("BadEmailAddress", "*", N),
        ("AddressChange", "*", N),
        ("SoftBounce", "*", SOFT_BOUNCE),  # condition when full / over quota, else policy
        ("AutoResponder", "*", IGNORED),
        ("SpamComplaint", "*", COMPLAINT),
        ("Unsubscribe", "*", UNSUBSCRIBE),
        ("SpamNotification", "*", P),
        ("Blocked", "*", P),
        ("DMARCPolicy", "*", P),
        ("DnsError", "*", P),
        ("Transient", "*", P),
        ("*", "*", P),  # "and the rest"
    ),
    "mailgun": (
        ("failed", "permanent", PERMANENT),
        ("failed", "temporary", TEMPORARY),  # condition only for mailbox codes / text
        ("failed", "*", BY_EVIDENCE),
        ("complained", "*", COMPLAINT),
        ("unsubscribed", "*", UNSUBSCRIBE),
        ("delivered", "*", IGNORED),
    ),
    "sparkpost": (
        ("*", "10", N),  # invalid recipient
        ("*", "30", N),  # generic bounce: no RCPT
        ("*", "22", C),  # mailbox full
        ("*", "90", UNSUBSCRIBE),  # unsubscribe
        ("*", "1", U),  # undetermined
        ("*", "20", U),  # soft bounce
        ("*", "21", U),  # DNS failure
        ("*", "23", P),  # too large
        ("*", "24", U),  # timeout
        ("*", "25", P),  # admin failure
        ("*", "26", U),  # smart send suppression
        ("*", "40", U),  # generic bounce
        ("*", "50", P),  # mail block
        ("*", "51", P),  # spam block
        ("*", "52", P),  # spam content
        ("*", "53", P),  # prohibited attachment
        ("*", "54", P),  # relaying denied
        ("*", "60", IGNORED),  # auto-reply
        ("*", "70", U),  # transient failure
        ("*", "80", IGNORED),  # subscribe
        ("*", "100", IGNORED),  # challenge-response
        ("bounce", "*", POLICY_OR_UNKNOWN),  # "others -> policy or unknown"
        ("out_of_band", "*", POLICY_OR_UNKNOWN),
        ("spam_complaint", "*", COMPLAINT),
        ("list_unsubscribe", "*", UNSUBSCRIBE),
        ("link_unsubscribe", "*", UNSUBSCRIBE),
        ("delivery", "*", IGNORED),
    ),
}

PROVIDER_ALIASES: dict[str, str] = {
    "amazonses": "ses",
    "awsses": "ses",
}
"""Other spellings of a provider's name, after lower-casing and dropping punctuation."""

# --- Feedback-loop reports (ARF, RFC 5965) ------------------------------------------

FEEDBACK_RULES: dict[str, Outcome] = {
    "abuse": COMPLAINT,
    "fraud": COMPLAINT,
    "virus": COMPLAINT,
    "other": COMPLAINT,
    "not-spam": IGNORED,  # the recipient says it is not spam: no listing
    "auth-failure": IGNORED,  # RFC 6591: about the sender's authentication, not the recipient
    "opt-out": UNSUBSCRIBE,  # non-standard, but unambiguous
    "optout": UNSUBSCRIBE,
}
FEEDBACK_DEFAULT = COMPLAINT
"""A missing or unregistered type reads as ``other`` (RFC 5965 §7.3): a complaint."""
