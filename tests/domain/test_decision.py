"""The send decision (SPEC §7): each rule, their order, stream exceptions, totality."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from suppressor_client.addresses import normalize_address
from suppressor_client.decision import RULES, Decision, decide, decide_many, normalize_fast
from suppressor_client.errors import InvalidAddress
from suppressor_client.types import ListName, ListRecord, Reason, Stream

from tests.list_helpers import T0, domain_rule, record, suppression, view_of

A = "acme"
JANE = "jane@example.com"

# One record per rule, each reaching jane@example.com for account acme.
LAYERS: dict[str, ListRecord] = {
    "recipient_allowlist": record(A, ListName.RECIPIENT_ALLOW, JANE),
    "suppressed": suppression(A, JANE, Reason.MANUAL),
    "address_allow": record(A, ListName.ADDRESS_ALLOW, JANE),
    "domain_allow_list": record(A, ListName.DOMAIN_ALLOW, "gmail.com"),
    "domain_block": domain_rule(A, "example.com"),
    "platform_domain_block": domain_rule("*", "example.com"),
}
ORDER = list(LAYERS)
ALLOWING = {"recipient_allowlist", "address_allow"}


@pytest.mark.parametrize(
    ("rule", "allowed", "reason"),
    [
        ("recipient_allowlist", True, None),
        ("suppressed", False, Reason.MANUAL),
        ("address_allow", True, None),
        ("domain_allow_list", False, None),
        ("domain_block", False, Reason.MANUAL),
        ("platform_domain_block", False, Reason.SHARED),
    ],
)
def test_each_rule_alone(rule: str, allowed: bool, reason: Reason | None) -> None:
    """Each rule on its own gives its answer, names itself and its reason code."""
    assert decide(view_of(LAYERS[rule]), A, JANE, Stream.MARKETING) == Decision(
        allowed, rule, reason
    )


def test_no_entry_is_default_allow() -> None:
    """An address nothing speaks about is allowed by the default rule."""
    assert decide(view_of(), A, JANE) == Decision(True, "default", None)


@pytest.mark.parametrize(
    ("first", "second"),
    [(ORDER[i], ORDER[j]) for i in range(len(ORDER)) for j in range(i + 1, len(ORDER))],
)
def test_every_precedence_pair(first: str, second: str) -> None:
    """With two rules in play, the one earlier in SPEC §7 decides."""
    view = view_of(LAYERS[first], LAYERS[second])
    assert decide(view, A, JANE).rule == first


def test_all_layers_at_once_then_peeled() -> None:
    """Removing the deciding rule one at a time walks down the order to the default."""
    view = view_of(*LAYERS.values())
    for rule in ORDER:
        decision = decide(view, A, JANE)
        assert decision.rule == rule
        assert decision.allowed == (rule in ALLOWING)
        view.apply(LAYERS[rule].key, None)
    assert decide(view, A, JANE).rule == "default"


@pytest.mark.parametrize(
    ("reason", "transactional_denies"),
    [
        (Reason.NONEXISTENT, True),
        (Reason.MANUAL, True),
        (Reason.BOUNCE_LIMIT, True),
        (Reason.TEMPORARY, True),
        (Reason.NONEXISTENT_LEGACY, True),
        (Reason.SHARED, True),
        (Reason.ABUSE, False),
        (Reason.FEEDBACK_LOOP, False),
        (Reason.UNSUBSCRIBE, False),
        (Reason.LIST_UNSUBSCRIBE, False),
    ],
)
def test_transactional_honours_only_bounce_and_block(
    reason: Reason, transactional_denies: bool
) -> None:
    """Marketing honours every category; transactional only bounce and block (seed 002)."""
    view = view_of(suppression(A, JANE, reason))
    assert decide(view, A, JANE, Stream.MARKETING) == Decision(False, "suppressed", reason)
    transactional = decide(view, A, JANE, Stream.TRANSACTIONAL)
    assert transactional.allowed != transactional_denies
    assert transactional.rule == ("suppressed" if transactional_denies else "default")


def test_transactional_unsubscribe_falls_through_to_domain_rules() -> None:
    """A waived unsubscribe does not skip the later rules: a domain block still denies."""
    view = view_of(suppression(A, JANE, Reason.UNSUBSCRIBE), LAYERS["domain_block"])
    assert decide(view, A, JANE, "transactional").rule == "domain_block"


def test_stream_names_and_unknown_streams() -> None:
    """Stream names match in any case; an unknown stream gets the stricter marketing rules."""
    view = view_of(suppression(A, JANE, Reason.UNSUBSCRIBE))
    assert decide(view, A, JANE, " Transactional ").allowed
    assert decide(view, A, JANE, "TRANSACTIONAL").allowed
    assert not decide(view, A, JANE, "marketing").allowed
    assert decide(view, A, JANE, "transactionl") == Decision(
        False, "suppressed", Reason.UNSUBSCRIBE
    )
    assert not decide(view, A, JANE, "").allowed


def test_several_suppressions_name_block_first() -> None:
    """With entries in several categories, block is named before bounce, complaint, unsubscribe."""
    view = view_of(
        suppression(A, JANE, Reason.UNSUBSCRIBE),
        suppression(A, JANE, Reason.FEEDBACK_LOOP),
        suppression(A, JANE, Reason.NONEXISTENT),
    )
    assert decide(view, A, JANE).reason == Reason.NONEXISTENT
    view.apply(suppression(A, JANE, Reason.MANUAL).key, suppression(A, JANE, Reason.MANUAL))
    assert decide(view, A, JANE).reason == Reason.MANUAL


def test_expired_temporary_entry_no_longer_denies() -> None:
    """A reason-8 entry denies until expires_at and not at or after it; no now means active."""
    expires = T0 + timedelta(days=7)
    view = view_of(suppression(A, JANE, Reason.TEMPORARY, expires_at=expires))
    assert not decide(view, A, JANE, now=expires - timedelta(seconds=1)).allowed
    assert decide(view, A, JANE, now=expires) == Decision(True, "default", None)
    assert decide(view, A, JANE, now=expires + timedelta(days=1)).allowed
    assert not decide(view, A, JANE).allowed


def test_expired_entry_does_not_hide_a_permanent_one() -> None:
    """An expired temporary entry beside an active block still gives a denial."""
    view = view_of(
        suppression(A, JANE, Reason.TEMPORARY, expires_at=T0),
        suppression(A, JANE, Reason.MANUAL),
    )
    assert decide(view, A, JANE, now=T0 + timedelta(days=1)).reason == Reason.MANUAL


def test_released_entry_does_not_deny() -> None:
    """An explicit release (active false) makes the address sendable again."""
    view = view_of(
        suppression(A, JANE, Reason.NONEXISTENT),
        record(A, ListName.BOUNCE, JANE, 2, active=False),
    )
    assert decide(view, A, JANE).rule == "default"


def test_platform_address_suppression_applies_to_every_account() -> None:
    """A platform shared-blacklist address (account '*', reason 99) is denied for every account."""
    view = view_of(suppression("*", JANE, Reason.SHARED))
    for account in ("acme", "shop", "*"):
        assert decide(view, account, JANE, Stream.TRANSACTIONAL) == Decision(
            False, "suppressed", Reason.SHARED
        )


def test_account_suppression_named_before_platform() -> None:
    """With both, the account's own suppression is the one named."""
    view = view_of(suppression("*", JANE, Reason.SHARED), suppression(A, JANE, Reason.UNSUBSCRIBE))
    assert decide(view, A, JANE).reason == Reason.UNSUBSCRIBE
    assert decide(view, A, JANE, Stream.TRANSACTIONAL).reason == Reason.SHARED


def test_allow_lists_are_per_account() -> None:
    """One account's allowlist and address allow do not reach another account."""
    view = view_of(
        suppression("*", JANE, Reason.SHARED),
        record("shop", ListName.RECIPIENT_ALLOW, JANE),
        record("*", ListName.RECIPIENT_ALLOW, JANE),
        domain_rule(A, "example.com"),
        record("shop", ListName.ADDRESS_ALLOW, JANE),
    )
    assert decide(view, "shop", JANE).rule == "recipient_allowlist"
    assert decide(view, A, JANE).rule == "suppressed"


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("x@mail.example.com", "domain_block"),
        ("x@a.b.example.com", "domain_block"),
        ("x@example.com", "default"),
        ("x@example.org", "default"),
    ],
)
def test_wildcard_domain_block(address: str, rule: str) -> None:
    """'*.example.com' blocks every subdomain and not the apex."""
    assert decide(view_of(domain_rule(A, "*.example.com")), A, address).rule == rule


def test_collection_only_rule_does_not_block_sending() -> None:
    """A collection-only rule leaves sending alone and does not mask a platform block."""
    view = view_of(domain_rule(A, "example.com", send=False, collection=True))
    assert decide(view, A, JANE).rule == "default"
    view.apply(domain_rule("*", "example.com").key, domain_rule("*", "example.com"))
    assert decide(view, A, JANE).rule == "platform_domain_block"


def test_domain_allow_list_with_wildcard_and_other_accounts() -> None:
    """Allow-listing '*.corp.com' admits its subdomains only, and only for that account."""
    view = view_of(record(A, ListName.DOMAIN_ALLOW, "*.corp.com"))
    assert decide(view, A, "x@eu.corp.com").allowed
    assert decide(view, A, "x@corp.com").rule == "domain_allow_list"
    assert decide(view, "shop", "x@corp.com").rule == "default"


def test_address_allow_overrides_domain_allow_list_and_blocks() -> None:
    """An address allow skips every domain rule for that address only (seed 001)."""
    view = view_of(
        record(A, ListName.DOMAIN_ALLOW, "gmail.com"),
        domain_rule(A, "abc.com"),
        domain_rule("*", "abc.com"),
        record(A, ListName.ADDRESS_ALLOW, "john@abc.com"),
    )
    assert decide(view, A, "john@abc.com").rule == "address_allow"
    assert decide(view, A, "mary@abc.com").rule == "domain_allow_list"


def test_address_is_normalised() -> None:
    """Case, spaces and Unicode domains are normalised before lookup."""
    view = view_of(suppression(A, "jane@xn--bcher-kva.de", Reason.MANUAL))
    for spelling in ("jane@xn--bcher-kva.de", " JANE@Bücher.DE ", "Jane@XN--BCHER-KVA.de"):
        assert decide(view, A, spelling).rule == "suppressed"


@pytest.mark.parametrize(
    "address", ["", "jane", "a@b@c.com", "jane@", "@x.com", "x@-a.com", "x@a..b"]
)
def test_invalid_address_denied(address: str) -> None:
    """An address that does not normalise is denied with rule invalid_address."""
    assert decide(view_of(), A, address) == Decision(False, "invalid_address", None)


def test_decide_many_matches_decide() -> None:
    """decide_many gives, in order, what decide gives one at a time."""
    view = view_of(*LAYERS.values())
    addresses = [JANE, "x@gmail.com", "bad", "y@example.com", "z@other.org"]
    for stream in (Stream.MARKETING, "transactional"):
        assert decide_many(view, A, addresses, stream) == [
            decide(view, A, a, stream) for a in addresses
        ]


def test_every_rule_name_is_declared() -> None:
    """RULES lists exactly the rule names design.md gives."""
    assert set(RULES) == {*ORDER, "default", "invalid_address"}


BUSY_VIEW = view_of(
    *LAYERS.values(),
    suppression(A, "u@x.com", Reason.UNSUBSCRIBE),
    suppression("*", "v@x.com", Reason.SHARED),
    domain_rule("*", "*.co.uk"),
)


@given(st.text(max_size=80), st.text(max_size=8), st.text(max_size=16))
def test_decide_is_total(address: str, account: str, stream: str) -> None:
    """decide never raises for arbitrary strings and always names a known rule."""
    decision = decide(BUSY_VIEW, account, address, stream)
    assert decision.rule in RULES


ADDRESSES = st.emails() | st.text(max_size=40).map(lambda t: t + "@example.com")


@given(ADDRESSES, st.sampled_from([Stream.MARKETING, Stream.TRANSACTIONAL]))
def test_recipient_allowlisted_address_is_always_allowed(address: str, stream: Stream) -> None:
    """Whatever else stands against an address, its account's recipient allowlist wins."""
    normal = normalize_fast(address)
    if normal is None:
        return
    view = view_of(
        *LAYERS.values(),
        record(A, ListName.RECIPIENT_ALLOW, normal),
        suppression(A, normal, Reason.NONEXISTENT),
        suppression("*", normal, Reason.SHARED),
        domain_rule("*", normal.rpartition("@")[2]),
    )
    assert decide(view, A, address, stream) == Decision(True, "recipient_allowlist", None)


@given(
    st.from_regex(r"[a-z0-9.+_'-]{1,20}@([a-z0-9-]{1,12}\.){1,3}[a-z0-9-]{1,8}", fullmatch=True)
    | st.from_regex(
        r"[ \t]{0,2}[A-Za-z0-9.+_'-]{1,20}@([A-Za-z0-9-]{1,12}\.){1,3}[A-Za-z0-9-]{1,8}[ \n]{0,2}",
        fullmatch=True,
    )
    | st.text(max_size=60)
)
def test_fast_path_agrees_with_full_normalisation(address: str) -> None:
    """normalize_fast returns what normalize_address returns, or None when it refuses."""
    try:
        expected: str | None = normalize_address(address)
    except InvalidAddress:
        expected = None
    assert normalize_fast(address) == expected
