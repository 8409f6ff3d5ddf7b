"""The stored forms of the keyed stage's states: addresses in binary, accounts in JSON.

Kept apart from the states themselves so the rules read without the codec, and so the
stored form can change in one place. Every field is written, so a state read back
equals the state written (``tests/domain/test_state_codec.py``).

An address record (``encode_address``) is struct-packed and versioned, so that it stays
a few hundred bytes whatever the history (docs/design.md, "The stored address state"):

    header   version (1), flags (1), the key of the ladder's tip: time in µs (8), the
             mark's order (1), tag (8)
    strings  count (1), then each: length (2) and UTF-8 bytes (or, flagged in the
             length, the bytes of a lowercase hex string: ids of the platform's shape
             take half); fields below refer to a string by its index + 1 (1 byte, 0 =
             none), so an id shared by the history and an entry is written once
    body     address, listed entries, base rung, history, optional fields by a flag
             byte, seen hashes (8 each), versions (list, subject, version), the last
             ops record applied (partition, offset, place in a bundle)

The header alone answers ``address_tip``, what the common delivery needs. A record
written before this form (JSON, first byte ``{``) still loads: the changelog of a
rolling upgrade holds them.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

import orjson
from suppressor_client.types import DomainRule, ListEntry, ListName, Reason, Suppression

from workers.domain.accounts import AccountState
from workers.domain.ladder_state import AddressState, HistoryItem, Mark, Rung, Toggle, id_hash
from workers.domain.micros import from_micros, to_micros

__all__ = [
    "ADDRESS_FORMAT",
    "StoredAddress",
    "account_from_dict",
    "account_to_dict",
    "address_tip",
    "decode_address",
    "encode_address",
    "encode_first_entry",
]

_T = TypeVar("_T")
_U = TypeVar("_U")

ADDRESS_FORMAT = 1
"""The first byte of a binary address record; a JSON record starts with ``{``."""

_NO_TIME = -(2**63)
_struct = cache(struct.Struct)  # one compiled format per format string
_HEADER = _struct(">BBqBQ")
_LENGTH = _struct(">H")  # of a string table entry
_SUPPRESSION = ">BqqBBB"  # reason, since, expires_at, event, delivery, notes
_TOGGLE = ">?qB"
_APPLIED = ">HqI"
_MARKS = (Mark.DELIVERED, Mark.BOUNCE)
_LISTS = tuple(ListName)
_LIST_NUMBER = {name.value: n for n, name in enumerate(_LISTS)}  # a version slot's list
# header flags
_CLIMBING, _TIP = 1, 2
# optional fields of the body, by bit
_OPTIONAL = ("climbed", "unblocked_at", "expired_through", "allowlist", "address_allow")
_PRESENT = attrgetter(*_OPTIONAL)
_APPLIED_BIT = 1 << len(_OPTIONAL)
_HEX = 0x8000  # a string table entry's length flag: the bytes of a lowercase hex string
_LOWER_HEX = re.compile("[0-9a-f]+")
# optional fields of a rung
_LAST, _TEMPORARY, _PERMANENT, _THROUGH = 1, 2, 4, 8

Versions = dict[str, int]


@dataclass(frozen=True, slots=True)
class StoredAddress:
    """What the address table holds per key: the state, the versions published from it,
    and the position of the last ops record applied to it (None: unknown): its partition,
    offset and place in its bundle (``workers/stream/bundles.py``; 0 for a record alone)."""

    state: AddressState
    versions: Versions
    applied: tuple[int, int, int] | None = None


class _Writer:
    """Collects the body (its formats and values, packed once at the end: one ``pack`` a
    field cost more than the rest of the encoding) and the string table it refers to."""

    def __init__(self) -> None:
        self.formats: list[str] = [">"]
        self.values: list[Any] = []
        self.strings: dict[str, int] = {}

    def ref(self, value: str | None) -> int:
        if value is None:
            return 0
        index = self.strings.setdefault(value, len(self.strings))
        if index >= 255:
            raise ValueError("an address state refers to more than 255 strings")
        return index + 1

    def pack(self, fmt: str, *values: Any) -> None:
        """Append big-endian fields (``fmt`` starts with ``>``; no padding between them)."""
        self.formats.append(fmt[1:])
        self.values += values

    def body(self) -> bytes:
        return struct.pack("".join(self.formats), *self.values)

    def time(self, value: datetime | None) -> int:
        return _NO_TIME if value is None else to_micros(value)

    def suppression(self, s: Suppression) -> None:
        expires = self.time(s.expires_at)
        refs = self.ref(s.event_id), self.ref(s.delivery_id), self.ref(s.notes)
        self.pack(_SUPPRESSION, int(s.reason), to_micros(s.since), expires, *refs)

    def item(self, i: HistoryItem) -> None:
        """A bounce by its ids (its tag is their hash), a delivery by its tag."""
        mark = _MARKS.index(i.mark)
        if i.event_id is None:
            self.pack(">qBBQ", to_micros(i.occurred_at), mark, 0, i.tag)
        else:
            refs = self.ref(i.event_id), self.ref(i.delivery_id)
            self.pack(">qBBB", to_micros(i.occurred_at), mark, *refs)

    def rung(self, r: Rung) -> None:
        flags = (
            (r.last_counted is not None and _LAST)
            | (r.temporary is not None and _TEMPORARY)
            | (r.permanent is not None and _PERMANENT)
            | (r.through is not None and _THROUGH)
        )
        self.pack(">BH", flags, r.streak)
        if r.last_counted is not None:
            self.pack(">q", to_micros(r.last_counted))
        for entry in (r.temporary, r.permanent):
            if entry is not None:
                self.suppression(entry)
        if r.through is not None:  # a horizon: its key alone
            t = r.through
            self.pack(">qBQ", to_micros(t.occurred_at), _MARKS.index(t.mark), t.tag)

    def toggle(self, t: Toggle) -> None:
        self.pack(_TOGGLE, t.on, to_micros(t.at), self.ref(t.event_id))


def _string(text: str) -> bytes:
    """One entry of the string table: lowercase hex (the platform's ids) as its bytes."""
    if len(text) % 2 == 0 and _LOWER_HEX.fullmatch(text):
        raw = bytes.fromhex(text)
        return _LENGTH.pack(_HEX | len(raw)) + raw
    raw = text.encode()
    if len(raw) >= _HEX:
        raise ValueError("a string of an address state is too long to store")
    return _LENGTH.pack(len(raw)) + raw


def encode_address(
    state: AddressState,
    versions: Mapping[str, int],
    applied: tuple[int, int, int] | None = None,
) -> bytes:
    """The binary record of one (account, address) for the worker's RocksDB table."""
    w = _Writer()
    w.pack(">BB", w.ref(state.address), len(state.listed))
    for s in state.listed:
        w.suppression(s)
    w.rung(state.base)
    w.pack(">B", len(state.history))
    for i in state.history:
        w.item(i)
    present = _PRESENT(state)
    flags = _APPLIED_BIT if applied is not None else 0
    for n, value in enumerate(present):
        if value is not None:
            flags |= 1 << n
    w.pack(">B", flags)
    climbed, unblocked, expired, allowlist, allow = present
    if climbed is not None:
        w.suppression(climbed)
    for moment in (unblocked, expired):
        if moment is not None:
            w.pack(">q", to_micros(moment))
    for toggle in (allowlist, allow):
        if toggle is not None:
            w.toggle(toggle)
    seen = state.seen
    w.pack(f">B{len(seen)}QB", len(seen), *seen, len(versions))
    for slot, version in versions.items():
        name, _, subject = slot.partition("/")
        w.pack(">BBI", _LIST_NUMBER[name], w.ref(subject), version)
    if applied is not None:
        w.pack(_APPLIED, *applied)
    tip = state.tip
    header = _HEADER.pack(
        ADDRESS_FORMAT,
        (_CLIMBING if state.climbing else 0) | (_TIP if tip is not None else 0),
        *((to_micros(tip.occurred_at), *tip.key[1:]) if tip is not None else (0, 0, 0)),
    )
    strings = w.strings
    return b"".join((header, bytes((len(strings),)), *map(_string, strings), w.body()))


_NOTHING_YET = _HEADER.pack(ADDRESS_FORMAT, 0, 0, 0, 0)  # no ladder event, no streak
_FIRST = _struct(">BBBqqBBBBHBBBBBBI")  # a first entry's body (``encode_first_entry``)
_FIRST_APPLIED = _struct(_FIRST.format + _APPLIED[1:])  # and the position it was read at


def encode_first_entry(
    address: str,
    entry: tuple[int, int, str | None, str | None, str | None],
    list_name: str,
    applied: tuple[int, int, int] | None,
) -> bytes:
    """``encode_address`` of a state holding one listed entry and nothing else, with
    version 1 of the record of list ``list_name`` (the list's value) for the address: the
    state of an import row on an address nothing had happened to, built from no objects.

    ``entry`` is the entry's reason (its number), time in µs, event id, delivery id and
    notes; it never expires. ``tests/stream/test_first_entry.py`` holds the two equal.
    """
    reason, since, event_id, delivery_id, notes = entry
    strings = {address: 0}  # what each text refers to: its place in the table, plus one
    event = 0 if event_id is None else strings.setdefault(event_id, len(strings)) + 1
    delivery = 0 if delivery_id is None else strings.setdefault(delivery_id, len(strings)) + 1
    note = 0 if notes is None else strings.setdefault(notes, len(strings)) + 1
    fields = (reason, since, _NO_TIME, event, delivery, note, 0, 0, 0)
    if applied is None:
        body = _FIRST.pack(1, 1, *fields, 0, 0, 1, _LIST_NUMBER[list_name], 1, 1)
    else:
        body = _FIRST_APPLIED.pack(
            1, 1, *fields, _APPLIED_BIT, 0, 1, _LIST_NUMBER[list_name], 1, 1, *applied
        )
    return b"".join((_NOTHING_YET, bytes((len(strings),)), *map(_string, strings), body))


def address_tip(data: bytes) -> tuple[tuple[int, int, int] | None, bool]:
    """The key of a stored address's latest ladder event (``HistoryItem.key``, its time
    in microseconds) and whether a streak runs, from the header alone: what
    ``ladder.inert_at`` needs for the common delivery."""
    if data[:1] == b"{":
        state = _address_from_legacy(orjson.loads(data)["state"])
        tip = state.tip
        key = (to_micros(tip.occurred_at), *tip.key[1:]) if tip is not None else None
        return key, state.climbing
    _format, flags, micros, order, tag = _HEADER.unpack_from(data)
    return ((micros, order, tag) if flags & _TIP else None), bool(flags & _CLIMBING)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, _HEADER.size
        count = self.take(">B")[0]
        self.strings: list[str | None] = [None]
        for _ in range(count):
            (head,) = self.take(">H")
            length = head & ~_HEX
            raw = data[self.at : self.at + length]
            self.strings.append(raw.hex() if head & _HEX else raw.decode())
            self.at += length

    def take(self, fmt: str) -> tuple[Any, ...]:
        unpacker = _struct(fmt)
        values = unpacker.unpack_from(self.data, self.at)
        self.at += unpacker.size
        return values

    def text(self, ref: int) -> str:
        value = self.strings[ref]
        if value is None:
            raise ValueError("a required string is missing from an address record")
        return value

    def time(self) -> datetime:
        return from_micros(self.take(">q")[0])

    def suppression(self) -> Suppression:
        reason, since, expires, event_id, delivery_id, notes = self.take(_SUPPRESSION)
        expires_at = None if expires == _NO_TIME else from_micros(expires)
        s = self.strings
        ids = s[event_id], s[delivery_id], s[notes]
        return Suppression(Reason(reason), from_micros(since), expires_at, *ids)

    def item(self) -> HistoryItem:
        micros, mark, event_ref = self.take(">qBB")
        if event_ref == 0:
            return HistoryItem(from_micros(micros), _MARKS[mark], self.take(">Q")[0])
        event_id = self.text(event_ref)
        delivery_id = self.strings[self.take(">B")[0]]
        return HistoryItem(
            from_micros(micros), _MARKS[mark], id_hash(event_id), event_id, delivery_id
        )

    def rung(self) -> Rung:
        flags, streak = self.take(">BH")
        last = self.time() if flags & _LAST else None
        temporary = self.suppression() if flags & _TEMPORARY else None
        permanent = self.suppression() if flags & _PERMANENT else None
        through = None
        if flags & _THROUGH:
            micros, mark, tag = self.take(">qBQ")
            through = HistoryItem(from_micros(micros), _MARKS[mark], tag)
        return Rung(streak, last, temporary, permanent, through)

    def toggle(self) -> Toggle:
        on, micros, event_ref = self.take(_TOGGLE)
        return Toggle(on, from_micros(micros), self.text(event_ref))


def decode_address(data: bytes) -> StoredAddress:
    """The inverse of ``encode_address``; a JSON record (the form before it) loads too."""
    if data[:1] == b"{":
        legacy: dict[str, Any] = orjson.loads(data)
        return StoredAddress(_address_from_legacy(legacy["state"]), legacy["versions"])
    if data[0] != ADDRESS_FORMAT:
        raise ValueError(f"unknown address record format {data[0]}")
    r = _Reader(data)
    address = r.text(r.take(">B")[0])
    listed = tuple(r.suppression() for _ in range(r.take(">B")[0]))
    base = r.rung()
    history = tuple(r.item() for _ in range(r.take(">B")[0]))
    (flags,) = r.take(">B")
    climbed = r.suppression() if flags & 1 else None
    unblocked = r.time() if flags & 2 else None
    expired = r.time() if flags & 4 else None
    allowlist = r.toggle() if flags & 8 else None
    allow = r.toggle() if flags & 16 else None
    (count,) = r.take(">B")
    seen = r.take(f">{count}Q")
    versions: Versions = {}
    for _ in range(r.take(">B")[0]):
        name, subject, version = r.take(">BBI")
        versions[f"{_LISTS[name].value}/{r.text(subject)}"] = version
    applied = r.take(_APPLIED) if flags & _APPLIED_BIT else None
    state = AddressState(
        address=address,
        listed=listed,
        base=base,
        history=history,
        climbed=climbed,
        climbing=bool(data[1] & _CLIMBING),
        unblocked_at=unblocked,
        expired_through=expired,
        allowlist=allowlist,
        address_allow=allow,
        seen=seen,
    )
    return StoredAddress(state, versions, (applied[0], applied[1], applied[2]) if applied else None)


# --- the JSON form before ADDRESS_FORMAT (read only) -------------------------------


def _address_from_legacy(data: Mapping[str, Any]) -> AddressState:
    """A state stored as JSON: ids become hashes where the binary form keeps hashes, and
    the history is ordered by the key it has now (ties by the id's hash)."""
    base = _rung_in(data["base"])
    if base.through is not None:
        base = replace(base, through=base.through.bare)
    history = sorted((_item_in(i) for i in data["history"]), key=lambda i: i.key)
    return AddressState(
        address=data["address"],
        listed=tuple(_suppression_in(s) for s in data["listed"]),
        base=base,
        history=tuple(history),
        climbed=_opt(_suppression_in, data["climbed"]),
        climbing=data.get("climbing", True),  # stored before it existed: assume a streak
        unblocked_at=_opt(_time_in, data["unblocked_at"]),
        expired_through=_opt(_time_in, data["expired_through"]),
        allowlist=_opt(_toggle_in, data["allowlist"]),
        address_allow=_opt(_toggle_in, data["address_allow"]),
        seen=tuple(id_hash(event_id) for event_id in data["seen"]),
    )


def account_to_dict(state: AccountState) -> dict[str, Any]:
    """A JSON-safe dict of one account's lists for the worker's table."""
    return {
        "account_id": state.account_id,
        "created_at": _opt(_time_out, state.created_at),
        "rules": [[p, _rule_out(r)] for p, r in state.rules],
        "allow": [[p, _entry_out(e)] for p, e in state.allow],
        "uris": [[p, _entry_out(e)] for p, e in state.uris],
        "seen": list(state.seen),
    }


def account_from_dict(data: Mapping[str, Any]) -> AccountState:
    """The inverse of ``account_to_dict``."""
    return AccountState(
        account_id=data["account_id"],
        created_at=_opt(_time_in, data["created_at"]),
        rules=tuple((p, _rule_in(r)) for p, r in data["rules"]),
        allow=tuple((p, _entry_in(e)) for p, e in data["allow"]),
        uris=tuple((p, _entry_in(e)) for p, e in data["uris"]),
        seen=tuple(data["seen"]),
    )


def _opt(convert: Callable[[_T], _U], value: _T | None) -> _U | None:
    return None if value is None else convert(value)


def _time_out(value: datetime) -> str:
    return value.isoformat()


def _time_in(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _suppression_in(d: Mapping[str, Any]) -> Suppression:
    return Suppression(
        reason=Reason(d["reason"]),
        since=_time_in(d["since"]),
        expires_at=_opt(_time_in, d["expires_at"]),
        event_id=d["event_id"],
        delivery_id=d["delivery_id"],
        notes=d["notes"],
    )


def _item_in(d: Mapping[str, Any]) -> HistoryItem:
    mark, event_id = Mark(d["mark"]), d["event_id"]
    return HistoryItem.of(_time_in(d["occurred_at"]), mark, event_id, d["delivery_id"])


def _rung_in(d: Mapping[str, Any]) -> Rung:
    return Rung(
        streak=d["streak"],
        last_counted=_opt(_time_in, d["last_counted"]),
        temporary=_opt(_suppression_in, d["temporary"]),
        permanent=_opt(_suppression_in, d["permanent"]),
        through=_opt(_item_in, d["through"]),
    )


def _toggle_in(d: Mapping[str, Any]) -> Toggle:
    return Toggle(on=d["on"], at=_time_in(d["at"]), event_id=d["event_id"])


def _rule_out(rule: DomainRule) -> dict[str, Any]:
    return {
        "send_block": rule.send_block,
        "collection_block": rule.collection_block,
        "reason": int(rule.reason),
        "since": _opt(_time_out, rule.since),
        "notes": rule.notes,
    }


def _rule_in(data: Mapping[str, Any]) -> DomainRule:
    return DomainRule(
        send_block=data["send_block"],
        collection_block=data["collection_block"],
        reason=Reason(data["reason"]),
        since=_opt(_time_in, data["since"]),
        notes=data["notes"],
    )


def _entry_out(entry: ListEntry) -> dict[str, Any]:
    return {"since": _time_out(entry.since), "notes": entry.notes, "event_id": entry.event_id}


def _entry_in(data: Mapping[str, Any]) -> ListEntry:
    return ListEntry(since=_time_in(data["since"]), notes=data["notes"], event_id=data["event_id"])
