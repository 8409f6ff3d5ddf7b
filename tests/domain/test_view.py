"""ListView: version order, releases, tombstones, domain-level lists, stats and export."""

from __future__ import annotations

import sys
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.types import DomainRule, ListKey, ListName, ListRecord, Reason
from suppressor_client.view import AddressEntry, ListView

from tests.list_helpers import T0, domain_rule, record, suppression, view_of

JANE = "jane@example.com"


def test_apply_holds_an_address_entry() -> None:
    """An active suppression is readable by account and address with its reason."""
    view = view_of(suppression("acme", JANE, Reason.NONEXISTENT, delivery_id="d1"))
    (entry,) = view.address_entries("acme", JANE)
    assert (entry.list, entry.version, entry.active, entry.reason) == (
        ListName.BOUNCE,
        1,
        True,
        Reason.NONEXISTENT,
    )
    assert view.address_entries("other", JANE) == ()
    assert view.address_entries("acme", "john@example.com") == ()


def test_stale_and_repeated_records_are_ignored() -> None:
    """A record whose version is not higher than the held one changes nothing."""
    view = ListView()
    newer = suppression("acme", JANE, Reason.UNSUBSCRIBE, version=5)
    assert view.apply(newer.key, newer)
    assert not view.apply(newer.key, newer)
    older = suppression("acme", JANE, Reason.LIST_UNSUBSCRIBE, version=4)
    assert not view.apply(older.key, older)
    assert view.address_entries("acme", JANE)[0].reason == Reason.UNSUBSCRIBE
    later = suppression("acme", JANE, Reason.LIST_UNSUBSCRIBE, version=6)
    assert view.apply(later.key, later)
    assert view.address_entries("acme", JANE)[0].reason == Reason.LIST_UNSUBSCRIBE


def test_release_keeps_version_and_tombstone_forgets_it() -> None:
    """An inactive record deactivates but blocks stale replays; a tombstone removes the key."""
    active = suppression("acme", JANE, Reason.MANUAL, version=3)
    release = record("acme", ListName.BLOCK, JANE, 4, active=False)
    view = view_of(active, release)
    (entry,) = view.address_entries("acme", JANE)
    assert not entry.active and entry.version == 4
    assert not view.apply(active.key, active)  # a replay of the old block stays released
    assert view.apply(release.key, None)
    assert view.address_entries("acme", JANE) == ()
    assert view.apply(active.key, active)  # after the tombstone, the key starts afresh
    assert not view.apply(ListKey("acme", ListName.BLOCK, "nobody@x.com"), None)


def test_one_address_on_several_lists() -> None:
    """An address can be on bounce and unsubscribe at once; removing one keeps the other."""
    bounce = suppression("acme", JANE, Reason.NONEXISTENT)
    unsub = suppression("acme", JANE, Reason.UNSUBSCRIBE)
    allow = record("acme", ListName.ADDRESS_ALLOW, JANE)
    view = view_of(bounce, unsub, allow)
    assert {e.list for e in view.address_entries("acme", JANE)} == {
        ListName.BOUNCE,
        ListName.UNSUBSCRIBE,
        ListName.ADDRESS_ALLOW,
    }
    view.apply(bounce.key, None)
    view.apply(allow.key, None)
    assert [e.list for e in view.address_entries("acme", JANE)] == [ListName.UNSUBSCRIBE]
    view.apply(unsub.key, None)
    assert view.address_entries("acme", JANE) == ()
    assert view.accounts() == []


def test_domain_rules_and_allow_list_materialise() -> None:
    """Domain rule records become DomainRules; domain-allow records fill the allow set."""
    view = view_of(
        domain_rule("acme", "*.bots.net", send=True, collection=True, notes="spam"),
        record("acme", ListName.DOMAIN_ALLOW, "gmail.com"),
        domain_rule("*", "mailinator.com"),
    )
    lists = view.account_lists("acme")
    assert lists is not None
    assert lists.domain_rules == {
        "*.bots.net": DomainRule(True, True, Reason.MANUAL, T0, "spam"),
    }
    assert lists.domain_allow == {"gmail.com"}
    platform = view.account_lists("*")
    assert platform is not None and platform.domain_rules["mailinator.com"].reason == Reason.SHARED


def test_domain_rule_update_and_release() -> None:
    """A newer rule replaces the flags; a release removes the rule and drops an empty holder."""
    view = view_of(domain_rule("acme", "x.com", send=True))
    view.apply(
        ListKey("acme", ListName.DOMAIN_RULE, "x.com"),
        domain_rule("acme", "x.com", send=False, collection=True, version=2),
    )
    lists = view.account_lists("acme")
    assert lists is not None
    assert lists.domain_rules["x.com"].collection_block
    assert not lists.domain_rules["x.com"].send_block
    release = record("acme", ListName.DOMAIN_RULE, "x.com", 3, active=False)
    assert view.apply(release.key, release)
    assert view.account_lists("acme") is None
    assert not view.apply(release.key, release)
    stale = domain_rule("acme", "x.com", version=2)
    assert not view.apply(stale.key, stale)


def test_uri_allowlist_compiles_and_follows_changes() -> None:
    """URI pattern records compile into the account's allowlist; a new pattern is seen at once."""
    first = record("acme", ListName.URI_PATTERN, r"^https://a\.com/")
    view = view_of(first)
    assert view.uri_allowlist("acme").allows("https://a.com/x")
    assert not view.uri_allowlist("acme").allows("https://b.com/x")
    second = record("acme", ListName.URI_PATTERN, r"^https://b\.com/")
    view.apply(second.key, second)
    assert view.uri_allowlist("acme").allows("https://b.com/x")
    view.apply(first.key, None)
    view.apply(second.key, None)
    assert not view.uri_allowlist("acme").enabled


def test_uri_allowlist_skips_patterns_that_do_not_compile() -> None:
    """A stored pattern that is not valid any more is left out, so its links are rejected."""
    view = view_of(
        record("acme", ListName.URI_PATTERN, "unanchored"),
        record("acme", ListName.URI_PATTERN, r"^https://a\.com/"),
    )
    allowlist = view.uri_allowlist("acme")
    assert [p.text for p in allowlist.patterns] == [r"^https://a\.com/"]
    assert not allowlist.allows("unanchored")


def test_stats_count_active_entries_per_list() -> None:
    """stats() counts active entries per list and accounts holding anything."""
    view = view_of(
        suppression("acme", JANE, Reason.NONEXISTENT),
        suppression("acme", "john@example.com", Reason.TEMPORARY),
        suppression("shop", JANE, Reason.UNSUBSCRIBE),
        record("shop", ListName.RECIPIENT_ALLOW, "qa@shop.com"),
        domain_rule("*", "allegro.pl"),
        record("acme", ListName.BOUNCE, JANE, 2, active=False),
    )
    stats = view.stats()
    assert stats["bounce"] == 1
    assert stats["unsubscribe"] == 1
    assert stats["recipient-allow"] == 1
    assert stats["domain-rule"] == 1
    assert stats["block"] == 0
    assert stats["accounts"] == 3


def test_entries_of_exports_active_records_with_details() -> None:
    """Export yields every active entry as a record, details included, releases left out."""
    bounce = suppression(
        "acme",
        JANE,
        Reason.TEMPORARY,
        expires_at=T0 + timedelta(days=7),
        event_id="e1",
        delivery_id="d1",
    )
    rule = domain_rule("acme", "x.com")
    view = view_of(
        bounce,
        rule,
        suppression("acme", "john@example.com", Reason.MANUAL, notes="asked by phone"),
        record("acme", ListName.BLOCK, "john@example.com", 2, active=False),
        suppression("other", JANE, Reason.MANUAL),
    )
    exported = {(name, subject): rec for name, subject, rec in view.entries_of("acme")}
    assert exported == {(ListName.BOUNCE, JANE): bounce, (ListName.DOMAIN_RULE, "x.com"): rule}


def test_lean_view_drops_details_but_decides_the_same() -> None:
    """keep_details=False keeps reason, since and expiry but not ids or notes."""
    full = suppression("acme", JANE, Reason.MANUAL, event_id="e1", delivery_id="d1", notes="n")
    view = view_of(full, keep_details=False)
    (entry,) = view.address_entries("acme", JANE)
    assert entry == AddressEntry(ListName.BLOCK, 1, True, Reason.MANUAL, T0, None, None)
    (_, _, exported) = next(view.entries_of("acme"))
    assert (exported.event_id, exported.notes, exported.reason) == (None, None, Reason.MANUAL)


def test_account_ids_are_interned() -> None:
    """Account ids from many records share one string object in the view."""
    view = ListView()
    for i in range(3):
        account = "".join(["ac", "me"])  # a fresh string object each time
        item = suppression(account, f"u{i}@example.com", Reason.MANUAL)
        view.apply(item.key, item)
    held = [name for name in view.accounts() if name == "acme"]
    assert len(held) == 1
    assert held[0] is sys.intern("acme")


OPS = st.lists(
    st.tuples(
        st.sampled_from([ListName.BOUNCE, ListName.UNSUBSCRIBE, ListName.DOMAIN_RULE]),
        st.sampled_from(["a@x.com", "b@x.com"]),
        st.integers(min_value=0, max_value=6),  # 0 = tombstone
        st.booleans(),
    ),
    max_size=30,
)


@given(OPS)
def test_view_equals_a_naive_model(ops: list[tuple[ListName, str, int, bool]]) -> None:
    """After any sequence of records and tombstones, the view holds what a dict model says."""
    view = ListView()
    model: dict[ListKey, ListRecord] = {}
    for name, subject, version, active in ops:
        key = ListKey("acme", name, subject)
        rec = (
            None
            if version == 0
            else ListRecord(key, version, active, reason=Reason.MANUAL, since=T0)
        )
        held = model.get(key)
        expected = held is not None if rec is None else held is None or rec.version > held.version
        assert view.apply(key, rec) == expected
        if expected:
            if rec is None:
                del model[key]
            else:
                model[key] = rec
    exported = {ListKey("acme", n, s): r.version for n, s, r in view.entries_of("acme")}
    assert exported == {k: r.version for k, r in model.items() if r.active}
    counted = view.stats()
    for name in (ListName.BOUNCE, ListName.UNSUBSCRIBE, ListName.DOMAIN_RULE):
        assert counted[name.value] == sum(
            1 for k, r in model.items() if k.list is name and r.active
        )
