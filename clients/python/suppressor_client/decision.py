"""The send decision of SPEC §7: may this account send this stream to this address?

The steps run in the spec's order and the first that speaks wins:

1. the account's recipient allowlist: allow (``recipient_allowlist``);
2. an active address suppression, the account's or the platform's (account ``*``):
   deny (``suppressed``, with that entry's reason); on the transactional stream only
   the ``bounce`` and ``block`` categories deny. With several, the first of block,
   bounce, complaint, unsubscribe is named, the account's before the platform's;
3. the account's address allow: allow (``address_allow``), skipping domain rules;
4. the account's domain allow list, when it holds any pattern, without the domain: deny;
5. a send-blocking domain rule: the account's (``domain_block``, the rule's reason)
   else the platform's (``platform_domain_block``, reason 99);
6. allow (``default``).

Allow lists are the account's own: platform-wide entries only ever deny. A temporary
entry whose ``expires_at`` is at or before ``now`` no longer denies (with ``now`` None,
nothing is taken as expired). An address that does not normalise is denied
(``invalid_address``). A stream is a ``Stream`` or its name in any case; an unknown
name is treated as ``marketing``, the stricter stream, so a typo never waives an
unsubscribe. ``decide`` never raises for strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from suppressor_client.addresses import MAX_ADDRESS_LENGTH, domain_of, normalize_address
from suppressor_client.lists import Mechanism, domain_allowed, domain_rule_for
from suppressor_client.types import PLATFORM_ACCOUNT, ListName, Reason, Stream
from suppressor_client.view import AddressEntry, ListView

__all__ = ["RULES", "Decision", "decide", "decide_many", "normalize_fast"]

RULES = (
    "recipient_allowlist",
    "suppressed",
    "address_allow",
    "domain_allow_list",
    "domain_block",
    "platform_domain_block",
    "default",
    "invalid_address",
)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer, the rule that gave it and the reason code behind a denial."""

    allowed: bool
    rule: str
    reason: Reason | None = None


_RECIPIENT_ALLOWLIST = Decision(True, "recipient_allowlist")
_ADDRESS_ALLOW = Decision(True, "address_allow")
_DOMAIN_ALLOW_LIST = Decision(False, "domain_allow_list")
_PLATFORM_DOMAIN_BLOCK = Decision(False, "platform_domain_block", Reason.SHARED)
_DEFAULT = Decision(True, "default")
_INVALID_ADDRESS = Decision(False, "invalid_address")
_SUPPRESSED = {reason: Decision(False, "suppressed", reason) for reason in Reason}
_DOMAIN_BLOCK = {reason: Decision(False, "domain_block", reason) for reason in Reason}

# Which suppression lists deny on each stream, ranked: the first found is the one named.
_DENYING: dict[bool, dict[ListName, int]] = {
    False: {ListName.BLOCK: 0, ListName.BOUNCE: 1, ListName.COMPLAINT: 2, ListName.UNSUBSCRIBE: 3},
    True: {ListName.BLOCK: 0, ListName.BOUNCE: 1},  # transactional (seed 002)
}

# Addresses that are already in normal form: printable ASCII without upper case or
# specials, one '@', LDH labels none of which is an A-label (those need a punycode
# check), a top-level label that is not all digits, no trailing dot. Anything this
# accepts, normalize_address returns unchanged (a property test holds them together);
# the rest take the full path.
_NORMAL_FORM = re.compile(
    r"[!#-'*+\-./0-9=?^_`a-z{|}~]{1,64}"
    r"@(?:(?!xn--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?!xn--)(?![0-9]+\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def normalize_fast(address: str) -> str | None:
    """The normal form of an address, or None when it has none; never raises."""
    if type(address) is str and len(address) <= MAX_ADDRESS_LENGTH:
        if _NORMAL_FORM.fullmatch(address) is not None:
            return address
        if address.isascii():  # ASCII case and spaces: normalize_address would only do this
            folded = address.strip().lower()
            if len(folded) <= MAX_ADDRESS_LENGTH and _NORMAL_FORM.fullmatch(folded) is not None:
                return folded
    try:
        return normalize_address(address)
    except ValueError:  # InvalidAddress, and anything a hostile string might provoke
        return None


_TRANSACTIONAL_NAME = Stream.TRANSACTIONAL.value


def _transactional(stream: Stream | str) -> bool:
    if stream is Stream.MARKETING:
        return False
    if stream is Stream.TRANSACTIONAL:
        return True
    return isinstance(stream, str) and stream.strip().lower() == _TRANSACTIONAL_NAME


def decide(
    view: ListView,
    account_id: str,
    address: str,
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> Decision:
    """Whether ``account_id`` may send ``stream`` to ``address`` (SPEC §7)."""
    normal = normalize_fast(address)
    if normal is None:
        return _INVALID_ADDRESS
    return _decide(view, account_id, normal, _transactional(stream), now)


def decide_many(
    view: ListView,
    account_id: str,
    addresses: Iterable[str],
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> list[Decision]:
    """``decide`` for each address, in order (a batch filter before delivery)."""
    transactional = _transactional(stream)
    out: list[Decision] = []
    for address in addresses:
        normal = normalize_fast(address)
        if normal is None:
            out.append(_INVALID_ADDRESS)
        else:
            out.append(_decide(view, account_id, normal, transactional, now))
    return out


def _decide(
    view: ListView, account_id: str, address: str, transactional: bool, now: datetime | None
) -> Decision:
    own = view.address_entries(account_id, address)
    allowed_address = False
    for entry in own:
        if entry.active:
            if entry.list is ListName.RECIPIENT_ALLOW:
                return _RECIPIENT_ALLOWLIST
            allowed_address = allowed_address or entry.list is ListName.ADDRESS_ALLOW
    denying = _DENYING[transactional]
    hit = _suppression(own, denying, now) if own else None
    if hit is None and account_id != PLATFORM_ACCOUNT:
        shared = view.address_entries(PLATFORM_ACCOUNT, address)
        hit = _suppression(shared, denying, now) if shared else None
    if hit is not None:
        return _SUPPRESSED[hit.reason if hit.reason is not None else Reason.MANUAL]
    if allowed_address:
        return _ADDRESS_ALLOW
    lists = view.account_lists(account_id)
    domain = domain_of(address)
    if lists is not None and not domain_allowed(lists.domain_allow, domain):
        return _DOMAIN_ALLOW_LIST
    platform = view.account_lists(PLATFORM_ACCOUNT)
    if lists is None and platform is None:
        return _DEFAULT
    match = domain_rule_for(
        lists.domain_rules if lists is not None else None,
        platform.domain_rules if platform is not None else None,
        domain,
        Mechanism.SEND,
    )
    if match is None:
        return _DEFAULT
    if match.is_platform:
        return _PLATFORM_DOMAIN_BLOCK
    return _DOMAIN_BLOCK[match.rule.reason]


def _suppression(
    entries: tuple[AddressEntry, ...], denying: dict[ListName, int], now: datetime | None
) -> AddressEntry | None:
    """The highest-ranked active entry that denies on this stream, if any."""
    best: AddressEntry | None = None
    for entry in entries:
        rank = denying.get(entry.list)
        if rank is None or not entry.active:
            continue
        if entry.expires_at is not None and now is not None and entry.expires_at <= now:
            continue
        if best is None or rank < denying[best.list]:
            best = entry
    return best
