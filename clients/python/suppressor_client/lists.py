"""Domain rules, the default pool and the collection gate (SPEC §5, seeds 000 and 001).

A domain rule is a block, never an exception: a domain is send-blocked when ANY rule
that matches it (exact or ``*.parent``, the account's or the platform's) says so, and
collection-blocked likewise. So a lookup asks for a mechanism and returns the first
rule that carries it, most specific pattern first, the account's rules before the
platform's (the account's own entry is what its managers can act on; the platform's
reason 99 is named only when the account has no rule of its own).

``AccountLists`` is a small *mutable* slotted holder of one account's domain-level
lists. A sender keeps one per account and updates it record by record while reading
it; copy-on-write would make loading a platform list of many thousand rules
quadratic, and each read is a single dict or set lookup, which is atomic under the GIL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from suppressor_client.addresses import domain_candidates, domain_of, normalize_domain_pattern
from suppressor_client.errors import InputError
from suppressor_client.types import CustomerEvent, DomainRule, Source

__all__ = [
    "AccountLists",
    "GateDecision",
    "InvalidPool",
    "Mechanism",
    "RuleMatch",
    "domain_allowed",
    "domain_rule_for",
    "gate",
    "parse_pool",
    "pool_rules",
]


class InvalidPool(InputError):
    """A default-pool setting that cannot be read."""

    code = "invalid_pool"


class Mechanism(StrEnum):
    """The two mechanisms of seed 000, spelled as in the pool setting."""

    SEND = "send"
    COLLECTION = "collection"


_FLAG_OF: dict[Mechanism, str] = {
    Mechanism.SEND: "send_block",
    Mechanism.COLLECTION: "collection_block",
}

# Sources whose events the collection gate may drop; ``import`` is never dropped (seed 000).
COLLECTION_GATED: frozenset[Source] = frozenset({Source.STOREFRONT, Source.POPUP, Source.API})

POOL_NOTE = "default pool"

# Every send decision walks a domain's candidates; the distinct domains are few.
_candidates = lru_cache(maxsize=1 << 16)(domain_candidates)


def parse_pool(text: str) -> dict[str, DomainRule]:
    """Read ``domain:mech[+mech],...`` (commas or newlines) into rules keyed by pattern.

    Raises ``InvalidPool`` naming the bad item; an empty text is an empty pool.
    """
    pool: dict[str, DomainRule] = {}
    items = [item.strip() for item in text.replace("\n", ",").split(",")]
    for position, item in enumerate(items, start=1):
        if not item:
            continue
        domain, sep, mechs = item.partition(":")
        if not sep or not mechs.strip():
            raise InvalidPool(f"pool item {position} {item!r} needs 'domain:send|collection'")
        try:
            pattern = normalize_domain_pattern(domain)
        except InputError as error:
            raise InvalidPool(f"pool item {position}: {error.message}") from error
        flags: set[Mechanism] = set()
        for word in mechs.split("+"):
            try:
                flags.add(Mechanism(word.strip().lower()))
            except ValueError:
                raise InvalidPool(
                    f"pool item {position}: unknown mechanism {word.strip()!r} "
                    "(expected 'send' or 'collection')"
                ) from None
        if pattern in pool:
            raise InvalidPool(f"pool item {position}: {pattern} is listed twice")
        pool[pattern] = DomainRule(
            send_block=Mechanism.SEND in flags,
            collection_block=Mechanism.COLLECTION in flags,
            notes=POOL_NOTE,
        )
    return pool


def pool_rules(pool: Mapping[str, DomainRule], since: datetime) -> dict[str, DomainRule]:
    """The rules an ``account.create`` writes: the pool, stamped with the creation time."""
    return {pattern: replace(rule, since=since) for pattern, rule in pool.items()}


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """The rule that applies to a domain, the pattern it sits on, and whose it is."""

    rule: DomainRule
    pattern: str
    is_platform: bool


def domain_rule_for(
    account_rules: Mapping[str, DomainRule] | None,
    platform_rules: Mapping[str, DomainRule] | None,
    domain: str,
    mechanism: Mechanism | None = None,
) -> RuleMatch | None:
    """The first rule matching ``domain`` (that carries ``mechanism``, if given).

    Most specific pattern first; all the account's candidates before the platform's.
    ``domain`` must be normalised.
    """
    flag = _FLAG_OF[mechanism] if mechanism is not None else None
    candidates: tuple[str, ...] | None = None
    for rules, is_platform in ((account_rules, False), (platform_rules, True)):
        if not rules:
            continue
        if candidates is None:
            candidates = _candidates(domain)
        for pattern in candidates:
            rule = rules.get(pattern)
            if rule is not None and (flag is None or getattr(rule, flag)):
                return RuleMatch(rule, pattern, is_platform)
    return None


def domain_allowed(allow: set[str] | frozenset[str], domain: str) -> bool:
    """Whether a domain passes an account's domain allow list (seed 001).

    An empty list means allow-listing is off, so every domain passes.
    """
    if not allow:
        return True
    return any(pattern in allow for pattern in _candidates(domain))


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The collection gate's answer; ``rule`` and ``pattern`` say what dropped the event."""

    accepted: bool
    rule: str | None = None
    pattern: str | None = None


_ACCEPTED = GateDecision(True)
_GATE_RULE = {False: "collection_block", True: "platform_collection_block"}


def gate(
    event: CustomerEvent,
    account_rules: Mapping[str, DomainRule] | None,
    platform_rules: Mapping[str, DomainRule] | None,
) -> GateDecision:
    """Drop storefront, popup and API events for collection-blocked domains (seed 000).

    Imports always pass; the domain allow list plays no part in collection.
    """
    if event.source not in COLLECTION_GATED:
        return _ACCEPTED
    match = domain_rule_for(
        account_rules, platform_rules, domain_of(event.email), Mechanism.COLLECTION
    )
    if match is None:
        return _ACCEPTED
    return GateDecision(False, _GATE_RULE[match.is_platform], match.pattern)


class AccountLists:
    """One account's domain-level lists, as a sender holds them (mutable; see module doc).

    ``domain_rules`` maps a pattern to its rule, ``domain_allow`` holds the allow-listed
    patterns, ``uri_patterns`` maps a URI pattern to its notes.
    """

    __slots__ = ("domain_allow", "domain_rules", "uri_patterns")

    def __init__(self) -> None:
        self.domain_rules: dict[str, DomainRule] = {}
        self.domain_allow: set[str] = set()
        self.uri_patterns: dict[str, str | None] = {}

    def is_empty(self) -> bool:
        """Whether the account holds no domain-level entry (the holder can be dropped)."""
        return not (self.domain_rules or self.domain_allow or self.uri_patterns)
