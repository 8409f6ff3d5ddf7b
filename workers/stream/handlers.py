"""What the keyed agents do with one record, as pure functions over bytes.

The agents read the stored bytes of a key from a table, call a handler here, write the
new bytes back and send what it returns: so everything between decode and emit is
tested without a broker. Internal records (on the worker's repartition topics) are a
delivery event or an address command in its compact form (``ops_codec``: parsed, and
classified, by the front stage), an account command's original bytes behind a one-byte
kind tag (an address command's too, from an older front stage), or an expiry tick.

A delivery that finds no streak changes nothing (``ladder.inert``): ``handle_address``
returns None for it, and the agent writes nothing and sends nothing. For an address with
no stored state that is known from the record's first byte, before decoding anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from suppressor_client.types import (
    SUPPRESSION_LISTS,
    DeliveryEvent,
    DomainRule,
    ListChange,
    ListName,
    Outcome,
    Reason,
    Suppression,
)
from suppressor_client.values import parse_timestamp

from workers.domain import accounts, ladder
from workers.domain.classify import classify_delivery
from workers.domain.events import parse_command, parse_delivery_event
from workers.domain.ladder_state import AddressState, LadderConfig, entries
from workers.domain.state_codec import (
    account_from_dict,
    account_to_dict,
    address_tip,
    decode_address,
    encode_address,
)
from workers.stream.ops_codec import (
    ADDRESS_COMMAND,
    DELIVERED,
    LADDER,
    decode_command,
    decode_delivery,
    delivered_at,
)
from workers.stream.publishing import Outgoing, Versions, publish, republish, slots_of

__all__ = [
    "account_created_at",
    "DELIVERY",
    "COMMAND",
    "EXPIRE",
    "AddressResult",
    "AccountResult",
    "address_key",
    "entry_counts",
    "split_address_key",
    "handle_address",
    "handle_account",
    "expire_tick",
]

DELIVERY = b"d"
COMMAND = b"c"
EXPIRE = b"x"
_SEP = "\x1f"


def address_key(account_id: str, address: str) -> bytes:
    """The key of the address table and the address repartition topic."""
    return f"{account_id}{_SEP}{address}".encode()


def split_address_key(key: bytes) -> tuple[str, str]:
    account_id, _, address = key.decode().partition(_SEP)
    return account_id, address


def expire_tick(now: datetime) -> bytes:
    """An internal record asking the owner of a key to release what expired by ``now``."""
    return EXPIRE + now.isoformat().encode()


@dataclass(frozen=True, slots=True)
class AddressResult:
    stored: bytes | None  # None: nothing to write or send (``ladder.changes_nothing``)
    out: list[Outgoing]
    expiry_before: datetime | None
    expiry_after: datetime | None
    outcome: Outcome | None  # classification of a bounce or complaint, for metrics
    ladder_move: str | None  # "temporary", "permanent" or "none" for a bounce, else None
    duplicate: bool
    counts: list[tuple[bytes, int]]  # entry counter deltas, see workers.stream.counts


def _dump(state_dict: dict[str, Any], versions: Versions) -> bytes:
    return orjson.dumps({"state": state_dict, "versions": versions})


def _current(held: Mapping[ListName, Suppression | None], versions: Versions) -> list[ListChange]:
    """Every published (list, subject) of the state as it stands, for republishing."""
    return [
        ListChange(name, subject, held.get(name), active=name in held)
        for name, subject in slots_of(versions)
    ]


def _count_deltas(
    old: Mapping[ListName, Suppression | None],
    new: Mapping[ListName, Suppression | None],
    address: str,
) -> list[tuple[bytes, int]]:
    """Counter deltas (by reason and category, and by domain) between two states' entries."""
    deltas: list[tuple[bytes, int]] = []
    domain = address.rpartition("@")[2].encode()
    for name in SUPPRESSION_LISTS.values():
        was, now = old.get(name), new.get(name)
        if was == now or (was is not None and now is not None and was.reason == now.reason):
            continue
        for entry, sign in ((was, -1), (now, 1)):
            if entry is not None:
                category = entry.category.value.encode()
                deltas.append((b"c|%d|%b|%b" % (entry.reason, category, domain), sign))
    return deltas


def entry_counts(key: bytes, stored: bytes) -> list[tuple[bytes, int]]:
    """The entry counters of one stored address state, counted from nothing (a recount)."""
    _account_id, address = split_address_key(key)
    state = decode_address(stored).state
    return _count_deltas({}, entries(state), state.address or address)


def _ladder_move(out: list[Outgoing]) -> str:
    for key, record in out:
        if key.list is ListName.BOUNCE and record is not None and record.active:
            return "temporary" if record.reason is Reason.TEMPORARY else "permanent"
    return "none"


def _expiry(held: Mapping[ListName, Suppression | None]) -> datetime | None:
    """When ``expire`` is due next for these entries (``ladder.next_expiry`` of a state)."""
    bounce = held.get(ListName.BOUNCE)
    return bounce.expires_at if bounce is not None else None


Position = tuple[int, int, int]
"""Where an internal record was read: ops partition, offset, and its place in a bundle."""


def _replayed(applied: Position | None, position: Position | None) -> bool:
    """Whether the record at ``position`` was applied already: the state remembers the
    last one applied to it, and one key's records reach it in offset order (the items of
    a bundle in their order)."""
    if applied is None or position is None:
        return False
    return position[0] == applied[0] and position[1:] <= applied[1:]


def handle_address(
    stored: bytes | None,
    op: bytes,
    account_id: str,
    address: str,
    config: LadderConfig,
    *,
    position: Position | None = None,
) -> AddressResult | None:
    """Apply one internal record (read at ``position``, when known) to the state of
    (account, address).

    None: the record changes nothing (a delivery that finds no streak), so there is
    nothing to store and nothing to send; a result with no ``stored`` says the same of a
    bounce whose outcome lists nothing, with the outcome for the metrics.
    """
    kind = op[:1]
    outcome: Outcome | None = None
    event: ladder.LadderInput | None = None
    if kind == DELIVERED:  # the common case: decided from the stored record's header alone
        if stored is None or ladder.inert_at(*address_tip(stored), *delivered_at(op)):
            return None
        event, outcome = decode_delivery(op, account_id)
    elif kind == LADDER:
        event, outcome = decode_delivery(op, account_id)
    elif kind == DELIVERY:  # the original JSON, as a front stage before issue 12 sent it
        event = parse_delivery_event(op[1:])
        classification = classify_delivery(event)
        outcome = classification.outcome if classification is not None else None
    elif kind == ADDRESS_COMMAND:  # validated and normalised by the front stage
        event = decode_command(op, account_id, address)
    elif kind == COMMAND:  # the original JSON, as a front stage before the compact form sent it
        event = parse_command(op[1:])
    elif kind != EXPIRE:
        raise ValueError(f"unknown internal record kind {kind!r}")
    if event is not None and ladder.changes_nothing(event, outcome):  # no state read either
        return AddressResult(
            stored=None,
            out=[],
            expiry_before=None,
            expiry_after=None,
            outcome=outcome,
            ladder_move="none",
            duplicate=False,
            counts=[],
        )
    held = decode_address(stored) if stored is not None else None
    state = held.state if held is not None else AddressState.empty(address)
    versions = held.versions if held is not None else {}
    if event is not None and ladder.inert(state, event):
        return None
    applied = held.applied if held is not None else None
    if _replayed(applied, position):
        current = entries(state)
        stepped = ladder.Stepped(state, [], current, current)
    else:
        applied = position or applied
        if event is None:
            stepped = ladder.expire_entries(state, parse_timestamp(op[1:].decode()))
        else:
            stepped = ladder.step_entries(state, event, config, outcome)
    # A repeated event id or ops record, or a tick that finds nothing left to release (a
    # replay after a crash may find the state already updated): send the current records.
    new = stepped.state
    duplicate = new is state
    if duplicate:
        out = republish(account_id, _current(stepped.before, versions), versions)
    else:
        versions, out = publish(account_id, stepped.changes, versions)
    delivery = isinstance(event, DeliveryEvent)
    move = _ladder_move(out) if delivery and outcome is not None else None
    return AddressResult(
        stored=encode_address(new, versions, applied),
        out=out,
        expiry_before=_expiry(stepped.before),
        expiry_after=_expiry(stepped.after),
        outcome=outcome if delivery else None,
        ladder_move=move,
        duplicate=duplicate,
        counts=[] if duplicate else _count_deltas(stepped.before, stepped.after, new.address),
    )


@dataclass(frozen=True, slots=True)
class AccountResult:
    stored: bytes
    out: list[Outgoing]
    duplicate: bool


def _stored_account(stored: bytes) -> tuple[accounts.AccountState, dict[str, Any]]:
    """A stored account state and the versions it published."""
    data: dict[str, Any] = orjson.loads(stored)
    return account_from_dict(data["state"]), data["versions"]


def account_created_at(stored: bytes) -> datetime | None:
    """When a stored account state says its account was created (None: never)."""
    return _stored_account(stored)[0].created_at


def handle_account(
    stored: bytes | None, op: bytes, pool: Mapping[str, DomainRule]
) -> AccountResult:
    """Apply one account-level command (internal record) to the state of its account."""
    if op[:1] != COMMAND:
        raise ValueError(f"unknown internal record kind {op[:1]!r}")
    cmd = parse_command(op[1:])
    versions: dict[str, Any]
    if stored is None:
        state, versions = accounts.AccountState(account_id=cmd.account_id), {}
    else:
        state, versions = _stored_account(stored)
    new, changes = accounts.step(state, cmd, pool)
    if new is state:
        out = republish(cmd.account_id, accounts.current(state, cmd), versions)
        return AccountResult(
            stored=_dump(account_to_dict(state), versions), out=out, duplicate=True
        )
    versions, out = publish(cmd.account_id, changes, versions)
    return AccountResult(stored=_dump(account_to_dict(new), versions), out=out, duplicate=False)
