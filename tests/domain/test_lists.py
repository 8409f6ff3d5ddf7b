"""Domain rules, the default pool, rule lookup and the collection gate (SPEC §5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from suppressor_client.lists import (
    AccountLists,
    GateDecision,
    InvalidPool,
    Mechanism,
    domain_allowed,
    domain_rule_for,
    gate,
    parse_pool,
    pool_rules,
)
from suppressor_client.types import CustomerEvent, DomainRule, Reason, Source

from tests.list_helpers import DEFAULT_POOL

SINCE = datetime(2024, 5, 1, tzinfo=UTC)
SEND = DomainRule(send_block=True, collection_block=False)
COLLECT = DomainRule(send_block=False, collection_block=True)
BOTH = DomainRule(send_block=True, collection_block=True)
SHARED_SEND = DomainRule(send_block=True, collection_block=False, reason=Reason.SHARED)
SHARED_BOTH = DomainRule(send_block=True, collection_block=True, reason=Reason.SHARED)


def event(email: str, source: Source) -> CustomerEvent:
    return CustomerEvent("e1", "acme", SINCE, "subscribe", source, email)


def test_default_pool_is_the_seeds() -> None:
    """allegro.pl and allegromail.pl are send-blocked only; allegro.com both (seed 000)."""
    assert {p: (r.send_block, r.collection_block) for p, r in DEFAULT_POOL.items()} == {
        "allegro.pl": (True, False),
        "allegromail.pl": (True, False),
        "allegro.com": (True, True),
    }


def test_parse_pool_reads_mechanisms_wildcards_and_normalises() -> None:
    """Items split on commas and newlines; domains normalise; '+' joins mechanisms."""
    pool = parse_pool(" Allegro.PL:send ,\n*.Bücher.de:collection+send, @x.com:COLLECTION,")
    assert pool == {
        "allegro.pl": DomainRule(True, False, notes="default pool"),
        "*.xn--bcher-kva.de": DomainRule(True, True, notes="default pool"),
        "x.com": DomainRule(False, True, notes="default pool"),
    }


def test_parse_pool_empty_text_is_empty_pool() -> None:
    """An empty setting means new accounts start with no domain rules."""
    assert parse_pool("") == {}
    assert parse_pool(" , \n") == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("allegro.pl", "needs 'domain:send|collection'"),
        ("allegro.pl:", "needs 'domain:send|collection'"),
        ("allegro.pl:block", "unknown mechanism 'block'"),
        ("allegro.pl:send+", "unknown mechanism ''"),
        ("not a domain:send", "pool item 1"),
        ("a.pl:send,b.pl:send,a.pl:collection", "pool item 3: a.pl is listed twice"),
    ],
)
def test_parse_pool_refuses_bad_text_with_position(text: str, fragment: str) -> None:
    """Bad pool text raises InvalidPool (code invalid_pool) naming the item at fault."""
    with pytest.raises(InvalidPool) as caught:
        parse_pool(text)
    assert fragment in caught.value.message
    assert caught.value.code == "invalid_pool"


def test_pool_rules_stamp_creation_time_and_keep_flags() -> None:
    """An account.create applies every pool rule with since = the creation time."""
    rules = pool_rules(DEFAULT_POOL, SINCE)
    assert set(rules) == set(DEFAULT_POOL)
    assert all(rule.since == SINCE for rule in rules.values())
    assert rules["allegro.com"].collection_block and rules["allegro.com"].send_block
    assert DEFAULT_POOL["allegro.com"].since is None  # the pool itself is untouched


def test_rule_lookup_is_most_specific_first() -> None:
    """An exact rule beats a wildcard, and a nearer parent beats a farther one."""
    rules = {"a.b.example.com": SEND, "*.b.example.com": BOTH, "*.example.com": COLLECT}
    assert domain_rule_for(rules, None, "a.b.example.com").pattern == "a.b.example.com"  # type: ignore[union-attr]
    assert domain_rule_for(rules, None, "c.b.example.com").pattern == "*.b.example.com"  # type: ignore[union-attr]
    assert domain_rule_for(rules, None, "b.example.com").pattern == "*.example.com"  # type: ignore[union-attr]


def test_wildcard_does_not_match_apex() -> None:
    """'*.example.com' covers subdomains but not example.com itself (SPEC §4)."""
    assert domain_rule_for({"*.example.com": SEND}, None, "example.com") is None
    assert domain_rule_for({"*.example.com": SEND}, None, "mx.example.com") is not None


def test_rule_lookup_account_before_platform() -> None:
    """When both match, the account's rule is named, even if the platform's is more specific."""
    match = domain_rule_for(
        {"*.example.com": SEND}, {"a.example.com": SHARED_SEND}, "a.example.com"
    )
    assert match is not None
    assert (match.pattern, match.is_platform) == ("*.example.com", False)
    platform_only = domain_rule_for({}, {"a.example.com": SHARED_SEND}, "a.example.com")
    assert platform_only is not None and platform_only.is_platform


def test_rule_lookup_by_mechanism_skips_rules_without_it() -> None:
    """A collection-only rule does not hide a send block elsewhere: rules only ever block."""
    account = {"a.example.com": COLLECT}
    platform = {"*.example.com": SHARED_SEND}
    match = domain_rule_for(account, platform, "a.example.com", Mechanism.SEND)
    assert match is not None and match.pattern == "*.example.com" and match.is_platform
    assert domain_rule_for(account, platform, "a.example.com", Mechanism.COLLECTION).pattern == (  # type: ignore[union-attr]
        "a.example.com"
    )
    assert domain_rule_for(account, None, "a.example.com", Mechanism.SEND) is None


def test_domain_allow_list_off_when_empty_and_wildcards_match() -> None:
    """No allowed domain means allow-listing is off; '*.x' allows subdomains only (seed 001)."""
    assert domain_allowed(set(), "anything.com")
    allow = {"gmail.com", "*.corp.com"}
    assert domain_allowed(allow, "gmail.com")
    assert domain_allowed(allow, "eu.corp.com")
    assert not domain_allowed(allow, "corp.com")
    assert not domain_allowed(allow, "yahoo.com")


@pytest.mark.parametrize("source", [Source.STOREFRONT, Source.POPUP, Source.API])
def test_gate_drops_collection_blocked_sources(source: Source) -> None:
    """Storefront, popup and API events at a collection-blocked domain are rejected (seed 000)."""
    decision = gate(event("test@allegro.com", source), {"allegro.com": BOTH}, None)
    assert decision == GateDecision(False, "collection_block", "allegro.com")


def test_gate_never_blocks_imports() -> None:
    """Manual imports pass the gate whatever the rules say (seed 000)."""
    decision = gate(
        event("test@allegro.com", Source.IMPORT),
        {"allegro.com": BOTH},
        {"allegro.com": SHARED_BOTH},
    )
    assert decision.accepted and decision.rule is None


def test_gate_ignores_send_only_rules() -> None:
    """A send block alone does not stop collection: allegro.pl data is still saved."""
    assert gate(
        event("test@allegro.pl", Source.STOREFRONT),
        {"allegro.pl": SEND},
        {"allegro.pl": SHARED_SEND},
    ).accepted


def test_gate_applies_platform_collection_blocks_and_wildcards() -> None:
    """A platform-wide collection rule on '*.bots.net' drops events from its subdomains."""
    decision = gate(event("x@a.bots.net", Source.API), {}, {"*.bots.net": SHARED_BOTH})
    assert decision == GateDecision(False, "platform_collection_block", "*.bots.net")
    assert gate(event("x@bots.net", Source.API), {}, {"*.bots.net": SHARED_BOTH}).accepted


def test_gate_unaffected_by_domain_allow_list() -> None:
    """The domain allow list governs sending only; gate takes no allow list at all."""
    assert gate(event("x@elsewhere.org", Source.POPUP), {"allegro.com": BOTH}, None).accepted


def test_account_lists_empty_tracks_every_list() -> None:
    """An AccountLists holder is empty only with no rule, allowed domain or URI pattern."""
    lists = AccountLists()
    assert lists.is_empty()
    for fill in (
        lambda: lists.domain_rules.__setitem__("a.com", SEND),
        lambda: lists.domain_allow.add("a.com"),
        lambda: lists.uri_patterns.__setitem__("^https://a", None),
    ):
        fill()
        assert not lists.is_empty()
        lists.domain_rules.clear()
        lists.domain_allow.clear()
        lists.uri_patterns.clear()
