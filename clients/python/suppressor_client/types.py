"""Core value types shared by every pure domain module.

Everything here is a frozen value: the worker, the sender client and the tools pass
these around, and only the edges (``events``, ``records``) turn them into bytes.
Times are timezone-aware UTC ``datetime`` values taken from the records themselves;
no pure module (here or in ``workers.domain``) reads the clock; only the client's I/O
modules (``feed``, ``sender``) do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

__all__ = [
    "PLATFORM_ACCOUNT",
    "CATEGORY_OF",
    "REASON_TEXT",
    "Reason",
    "Category",
    "Outcome",
    "Stream",
    "Source",
    "DeliveryType",
    "CommandType",
    "ListName",
    "SUPPRESSION_LISTS",
    "Suppression",
    "DomainRule",
    "ListEntry",
    "ListChange",
    "BounceDetails",
    "DeliveryEvent",
    "CustomerEvent",
    "Command",
    "ListKey",
    "ListRecord",
]

PLATFORM_ACCOUNT = "*"
"""The account id of platform-wide entries (reason 99), which apply to every account."""


class Reason(IntEnum):
    """Reason codes of SPEC §6: every suppression and every decision names one."""

    NONEXISTENT = 1
    MANUAL = 2
    ABUSE = 3
    UNSUBSCRIBE = 4
    BOUNCE_LIMIT = 5
    FEEDBACK_LOOP = 6
    LIST_UNSUBSCRIBE = 7
    TEMPORARY = 8
    NONEXISTENT_LEGACY = 10
    SHARED = 99


REASON_TEXT: dict[Reason, str] = {
    Reason.NONEXISTENT: "non-existent mailbox",
    Reason.MANUAL: "manual intervention",
    Reason.ABUSE: "abuse notification",
    Reason.UNSUBSCRIBE: "unsubscribe",
    Reason.BOUNCE_LIMIT: "bounce limit reached",
    Reason.FEEDBACK_LOOP: "feedback loop (spam complaint)",
    Reason.LIST_UNSUBSCRIBE: "List-Unsubscribe header",
    Reason.TEMPORARY: "temporary blacklist",
    Reason.NONEXISTENT_LEGACY: "non-existent mailbox (legacy code)",
    Reason.SHARED: "shared (platform-wide) blacklist",
}
"""What each reason code means (SPEC §6), for people reading a decision."""


class Category(StrEnum):
    """The four suppression categories; the transactional stream honours only two."""

    BOUNCE = "bounce"
    BLOCK = "block"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"


CATEGORY_OF: dict[Reason, Category] = {
    Reason.NONEXISTENT: Category.BOUNCE,
    Reason.MANUAL: Category.BLOCK,
    Reason.ABUSE: Category.COMPLAINT,
    Reason.UNSUBSCRIBE: Category.UNSUBSCRIBE,
    Reason.BOUNCE_LIMIT: Category.BOUNCE,
    Reason.FEEDBACK_LOOP: Category.COMPLAINT,
    Reason.LIST_UNSUBSCRIBE: Category.UNSUBSCRIBE,
    Reason.TEMPORARY: Category.BOUNCE,
    Reason.NONEXISTENT_LEGACY: Category.BOUNCE,
    Reason.SHARED: Category.BLOCK,
}


class Outcome(StrEnum):
    """What a bounce (or a provider's report riding on one) means for the ladder."""

    NONEXISTENT = "nonexistent"
    CONDITION = "condition"
    POLICY = "policy"
    UNKNOWN = "unknown"
    IGNORED = "ignored"  # auto-replies, delivery notices: not bounces at all
    COMPLAINT = "complaint"  # a provider reported a spam complaint through the bounce feed
    UNSUBSCRIBE = "unsubscribe"  # a provider reported an unsubscribe through the bounce feed


class Stream(StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class Source(StrEnum):
    """Where a customer event came from; ``import`` is never collection-blocked."""

    STOREFRONT = "storefront"
    POPUP = "popup"
    API = "api"
    IMPORT = "import"


class DeliveryType(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    ABUSE = "abuse"
    UNSUBSCRIBE = "unsubscribe"
    LIST_UNSUBSCRIBE = "list_unsubscribe"
    DELIVERED = "delivered"


class CommandType(StrEnum):
    """Control-plane commands on ``suppression-commands`` (CLI and HTTP API)."""

    ACCOUNT_CREATE = "account.create"
    DOMAIN_RULE_SET = "domain.rule.set"  # send_block / collection_block flags
    DOMAIN_RULE_REMOVE = "domain.rule.remove"
    DOMAIN_ALLOW_ADD = "domain.allow.add"
    DOMAIN_ALLOW_REMOVE = "domain.allow.remove"
    ADDRESS_BLOCK = "address.block"
    ADDRESS_UNBLOCK = "address.unblock"
    ADDRESS_ALLOW = "address.allow"  # overrides domain rules for this address
    ADDRESS_DISALLOW = "address.disallow"
    ALLOWLIST_ADD = "allowlist.add"  # recipient allowlist: never suppressed
    ALLOWLIST_REMOVE = "allowlist.remove"
    IMPORT_ROW = "import.row"  # one row of a bulk block-list import
    URI_ADD = "uri.add"
    URI_REMOVE = "uri.remove"


class ListName(StrEnum):
    """The lists a sender needs (SPEC §3); a record's key is (account, list, subject).

    The four suppression lists are named after their category, so an address can
    stand on several at once (an unsubscribe and a hard bounce) and the
    transactional stream can honour only ``bounce`` and ``block``.
    """

    BOUNCE = "bounce"
    BLOCK = "block"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    ADDRESS_ALLOW = "address-allow"
    RECIPIENT_ALLOW = "recipient-allow"
    DOMAIN_RULE = "domain-rule"
    DOMAIN_ALLOW = "domain-allow"
    URI_PATTERN = "uri-pattern"


SUPPRESSION_LISTS: dict[Category, ListName] = {
    Category.BOUNCE: ListName.BOUNCE,
    Category.BLOCK: ListName.BLOCK,
    Category.COMPLAINT: ListName.COMPLAINT,
    Category.UNSUBSCRIBE: ListName.UNSUBSCRIBE,
}


@dataclass(frozen=True, slots=True)
class Suppression:
    """One address suppression entry: what a sender needs to deny, and why."""

    reason: Reason
    since: datetime
    expires_at: datetime | None = None  # set on temporary entries (reason 8) only
    event_id: str | None = None
    delivery_id: str | None = None
    notes: str | None = None

    @property
    def category(self) -> Category:
        return CATEGORY_OF[self.reason]

    def active_at(self, now: datetime | None) -> bool:
        """A temporary entry stops denying once ``expires_at`` has passed."""
        return self.expires_at is None or now is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class DomainRule:
    """Per-account (or platform-wide) rule on a domain pattern (SPEC §5)."""

    send_block: bool
    collection_block: bool
    reason: Reason = Reason.MANUAL  # SHARED (99) for platform-wide rules
    since: datetime | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ListEntry:
    """An entry of the domain allow list or the URI allowlist."""

    since: datetime
    notes: str | None = None
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListChange:
    """A list changed: ``subject`` on ``list`` is (re)set to ``payload``, or released.

    The one type the ladder, the account rules and publishing share. ``payload`` is what a
    record of the list carries (None for the address allow lists, which carry nothing);
    ``active`` False releases the subject (published as ``active: false``, then a tombstone).
    """

    list: ListName
    subject: str
    payload: Suppression | DomainRule | ListEntry | None = None
    active: bool = True

    @classmethod
    def release(cls, list_name: ListName, subject: str) -> ListChange:
        return cls(list_name, subject, None, active=False)


@dataclass(frozen=True, slots=True)
class BounceDetails:
    """What the MTA or the provider said about a bounce; every field optional."""

    smtp_status: str | None = None  # enhanced code, "5.1.1"
    smtp_code: int | None = None  # basic reply code, 550
    diagnostic: str | None = None  # the remote server's text
    provider: str | None = None  # ses, sendgrid, mailgun, postmark, sparkpost
    provider_type: str | None = None
    provider_subtype: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """A parsed record of ``delivery-events``; ``email`` is already normalised."""

    event_id: str
    account_id: str
    occurred_at: datetime
    type: DeliveryType
    email: str
    delivery_id: str | None = None
    stream: Stream = Stream.MARKETING
    bounce: BounceDetails | None = None
    feedback_type: str | None = None  # ARF Feedback-Type of a complaint


@dataclass(frozen=True, slots=True)
class CustomerEvent:
    """A parsed record of ``customer-events``; only what the collection gate needs."""

    event_id: str
    account_id: str
    occurred_at: datetime
    type: str  # subscribe, order, profile_update, ... (free text)
    source: Source
    email: str


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed record of ``suppression-commands``.

    Which optional fields a command needs depends on its type (``schemas/`` says so);
    ``email`` and ``domain`` are normalised, ``domain`` may be a ``*.`` wildcard.
    """

    event_id: str
    account_id: str  # "*" for platform-wide entries
    occurred_at: datetime
    type: CommandType
    email: str | None = None
    domain: str | None = None
    send_block: bool = False
    collection_block: bool = False
    pattern: str | None = None  # URI allowlist regular expression
    reason: Reason | None = None  # import rows: MANUAL by default, NONEXISTENT_LEGACY accepted
    notes: str | None = None
    delivery_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListKey:
    """The compaction key of the ``suppressions`` topic."""

    account_id: str
    list: ListName
    subject: str  # normalised address, domain pattern or URI pattern


@dataclass(frozen=True, slots=True)
class ListRecord:
    """One value on the ``suppressions`` topic.

    ``active`` False is the explicit release that precedes the tombstone. ``version``
    only grows per key, so a reader drops anything not newer than what it holds.
    Suppression fields are set for the four suppression lists, ``send_block`` and
    ``collection_block`` for ``domain-rule``; the rest carry ``since`` and ``notes``.
    """

    key: ListKey
    version: int
    active: bool
    reason: Reason | None = None
    since: datetime | None = None
    expires_at: datetime | None = None
    event_id: str | None = None
    delivery_id: str | None = None
    notes: str | None = None
    send_block: bool = False
    collection_block: bool = False

    @property
    def category(self) -> Category | None:
        return CATEGORY_OF[self.reason] if self.reason is not None else None
