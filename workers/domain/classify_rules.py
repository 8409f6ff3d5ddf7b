"""The tables of CLASSIFICATION.md as data; ``classify.py`` is the engine that reads them.

Each row is one line, so adding a provider's classification or a code is a one-line
change that a reader can check against the document. Rows marked "beyond
CLASSIFICATION.md" are decisions taken where the document is silent; each says why.
The diagnostic phrases live in ``classify_phrases_*`` (one module per language group);
this module says what each kind of phrase decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from suppressor_client.types import Outcome

from workers.domain.classify_phrases import Kind

__all__ = [
    "ALL_OUTCOMES",
    "BASIC_CODE_RULES",
    "BASIC_CLASS_DEFAULT",
    "BY_EVIDENCE",
    "DELAY_KINDS",
    "FEEDBACK_RULES",
    "FEEDBACK_DEFAULT",
    "IGNORED_KINDS",
    "MISSING_KINDS",
    "NONEXISTENT_VETO_KINDS",
    "PROVIDER_ALIASES",
    "PROVIDER_TABLES",
    "STATUS_RULES",
    "STATUS_TEXT_GATES",
    "TEXT_RULES",
    "ByEvidence",
    "ProviderRule",
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
# The phrases themselves are in classify_phrases_en / _eu / _asia, one row a line with
# its source; these rows say what each kind of phrase decides, and in which order.

TEXT_RULES: tuple[tuple[Kind, Outcome], ...] = (
    (Kind.SENDER, P),  # about the sender: policy whatever the code (a 5.1.x says nothing)
    (Kind.POLICY, P),  # spam, reputation, authentication, relaying, rate, size
    (Kind.FULL, C),  # mailbox full / over quota
    (Kind.DISABLED, C),  # account disabled, locked, frozen, suspended
)
"""Tried in order, whatever the code: policy first, so mixed evidence never lists an address."""

IGNORED_KINDS: tuple[Kind, ...] = (Kind.AUTO_REPLY, Kind.DELIVERED)
"""Not bounces (RFC 3834 auto-replies, delivery notices): ignored unless a 4xx/5xx is given."""

DELAY_KINDS: tuple[Kind, ...] = (Kind.DELAYED,)
"""Delay warnings: ignored unless the class is 5 (the final DSN decides, not the warning)."""

MISSING_KINDS: tuple[Kind, ...] = (Kind.MAILBOX_MISSING, Kind.DOMAIN_MISSING)
"""Nonexistent when the class is 5, or when there is no code at all, and nothing vetoes it."""

NONEXISTENT_VETO_KINDS: tuple[Kind, ...] = (Kind.TRANSIENT,)
"""Mixed evidence: "host not found, try again" beside a missing-domain phrase is unknown."""

STATUS_TEXT_GATES: dict[str, tuple[Kind, ...]] = {
    # 5.4.4 "unable to route": nonexistent only when the text says the domain is missing
    "5.4.4": (Kind.DOMAIN_MISSING,),
    # Office 365 Directory-Based Edge Blocking sends "Recipient address rejected: Access
    # denied" as 5.4.1; the same words after Postfix's prefix (554 5.7.1) are an access
    # table's policy, so they count only with this code (beyond CLASSIFICATION.md)
    "5.4.1": (Kind.MAILBOX_MISSING, Kind.DOMAIN_MISSING, Kind.DIRECTORY_REJECT),
}
"""Codes whose text must be of these kinds (not ``MISSING_KINDS``) to be nonexistent."""

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
