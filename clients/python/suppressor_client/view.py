"""ListView: the materialised ``suppressions`` topic a sender decides from (design.md).

A sender holds millions of address entries, so each one is a compact tuple
(``AddressEntry``) in one dict per account keyed by the address, with the account ids
interned and a lone entry stored bare rather than inside a one-item tuple. Event and
delivery ids and notes cost more than the rest of an entry together; a view built
with ``keep_details=False`` (a sender that only decides) drops them, a view for export
keeps them. Domain-level lists are few and small; they live in one ``AccountLists``
per account, beside the records themselves for versions and export.

Records apply in version order per key: one that is not newer than what the view holds
is ignored; an inactive record (the release) removes the entry but keeps its version;
a tombstone (``None``) forgets the key and its version.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np

from suppressor_client.batches import Ints
from suppressor_client.lists import AccountLists
from suppressor_client.types import DomainRule, ListKey, ListName, ListRecord, Reason
from suppressor_client.uri import (
    InvalidPattern,
    UriAllowlist,
    UriPattern,
    compile_allowlist,
    compile_pattern,
)

__all__ = [
    "DOMAIN_LISTS",
    "ENTRY_ACTIVE",
    "LIST_CODE_OF",
    "ENTRY_COMPLEX",
    "ENTRY_NONE",
    "LIST_CODES",
    "AddressEntry",
    "ListView",
]


DOMAIN_LISTS: frozenset[ListName] = frozenset(
    {ListName.DOMAIN_RULE, ListName.DOMAIN_ALLOW, ListName.URI_PATTERN}
)

LIST_CODES: tuple[ListName, ...] = (
    ListName.BOUNCE,
    ListName.BLOCK,
    ListName.COMPLAINT,
    ListName.UNSUBSCRIBE,
    ListName.ADDRESS_ALLOW,
    ListName.RECIPIENT_ALLOW,
)
"""The address lists by number: an entry code's low nibble (and a CompactView snapshot's)."""

# Entry codes (``ListView.entry_codes``): what a decision needs of an address's entries as
# one int, so a batch reads no tuples or datetimes. A single entry without an end is
# ``(list number | ENTRY_ACTIVE if active | reason << 8) + 1``; anything else is read whole.
ENTRY_NONE = 0  # no entry held
ENTRY_COMPLEX = -1  # several entries, or one with an end: read ``address_entries``
ENTRY_ACTIVE = 0x10
LIST_CODE_OF = {name: code for code, name in enumerate(LIST_CODES)}
"""Each list's number in ``LIST_CODES`` (the low nibble of an entry's flags)."""


class AddressEntry(NamedTuple):
    """One address-level entry: what a decision reads, plus what an export prints."""

    list: ListName
    version: int
    active: bool
    reason: Reason | None
    since: datetime | None
    expires_at: datetime | None
    details: tuple[str | None, str | None, str | None] | None  # event, delivery, notes


_Held = AddressEntry | tuple[AddressEntry, ...]
_NO_ENTRIES: tuple[AddressEntry, ...] = ()


class ListView:
    """Every list of every account a sender follows, updated record by record."""

    __slots__ = ("_accounts", "_addresses", "_counts", "_domain_records", "_keep", "_uri",
                 "domain_answers")  # fmt: skip

    def __init__(self, *, keep_details: bool = True) -> None:
        self._keep = keep_details
        self._addresses: dict[str, dict[str, _Held]] = {}
        self._accounts: dict[str, AccountLists] = {}
        self._domain_records: dict[str, dict[tuple[ListName, str], ListRecord]] = {}
        self._uri: dict[str, UriAllowlist] = {}
        self._counts: Counter[ListName] = Counter()
        # A cache for the decision's domain steps by (account, domain). A new, empty one
        # replaces it after each change of a domain-level list, so a reader still holding
        # the old one writes only into that, never a stale answer into the new one.
        self.domain_answers: dict[tuple[str, str], Any] = {}

    # --- reading (the decision's hot path) ---------------------------------------

    def address_entries(self, account_id: str, address: str) -> tuple[AddressEntry, ...]:
        """The entries (active or released) held for a normalised address."""
        held = self._addresses.get(account_id)
        found = held.get(address) if held is not None else None
        if found is None:
            return _NO_ENTRIES
        return _as_tuple(found)

    def entry_codes(self, account_id: str, addresses: Sequence[str]) -> Ints:
        """The entry code of each normalised address (see ``ENTRY_NONE``), in order: an
        array, which the batch decision combines and looks up without a Python step each."""
        held = self._addresses.get(account_id)
        if held is None:
            return np.full(len(addresses), ENTRY_NONE, np.int64)
        return np.fromiter(map(_entry_code, map(held.get, addresses)), np.int64, len(addresses))

    def entry_code(self, account_id: str, address: str) -> int:
        """``entry_codes`` for one address."""
        held = self._addresses.get(account_id)
        return ENTRY_NONE if held is None else _entry_code(held.get(address))

    def account_lists(self, account_id: str) -> AccountLists | None:
        """The domain rules, domain allow list and URI patterns of an account, if any."""
        return self._accounts.get(account_id)

    def uri_allowlist(self, account_id: str) -> UriAllowlist:
        """The account's URI patterns compiled into one set (cached until they change).

        A pattern that no longer compiles is left out, so links it would allow are
        rejected: the check fails closed.
        """
        cached = self._uri.get(account_id)
        if cached is None:
            lists = self._accounts.get(account_id)
            texts = lists.uri_patterns if lists is not None else {}
            cached = compile_allowlist(p for p in map(_try_compile, texts) if p is not None)
            self._uri[account_id] = cached
        return cached

    def version_of(self, key: ListKey) -> int | None:
        """The version held for a key (a released entry keeps it until its tombstone)."""
        if key.list in DOMAIN_LISTS:
            record = self._domain_records.get(key.account_id, {}).get((key.list, key.subject))
            return record.version if record is not None else None
        entry = next((e for e in self.address_entries(key.account_id, key.subject)
                      if e.list is key.list), None)  # fmt: skip
        return entry.version if entry is not None else None

    # --- writing -----------------------------------------------------------------

    def apply(self, key: ListKey, record: ListRecord | None) -> bool:
        """Apply one record (``None`` is a tombstone); whether anything changed."""
        if key.list in DOMAIN_LISTS:
            return self._apply_domain(key, record)
        return self._apply_address(key, record)

    def _apply_address(self, key: ListKey, record: ListRecord | None) -> bool:
        held = self._addresses.get(key.account_id)
        current = held.get(key.subject) if held is not None else None
        entries = _NO_ENTRIES if current is None else _as_tuple(current)
        old = next((e for e in entries if e.list is key.list), None)
        if not _newer_than_held(record, old.version if old is not None else None):
            return False
        self._count(key.list, old is not None and old.active, record is not None and record.active)
        rest = tuple(e for e in entries if e.list is not key.list)
        if record is not None:
            rest = (*rest, self._entry(key.list, record))
        if held is None:
            held = self._addresses[sys.intern(key.account_id)] = {}
        if not rest:
            del held[key.subject]
            if not held:
                del self._addresses[key.account_id]
        else:
            held[key.subject] = rest[0] if len(rest) == 1 else rest
        return True

    def _entry(self, name: ListName, record: ListRecord) -> AddressEntry:
        details = None
        if self._keep and record.active and (record.event_id or record.delivery_id or record.notes):
            details = (record.event_id, record.delivery_id, record.notes)
        return AddressEntry(
            name,
            record.version,
            record.active,
            record.reason,
            record.since,
            record.expires_at,
            details,
        )

    def _apply_domain(self, key: ListKey, record: ListRecord | None) -> bool:
        records = self._domain_records.get(key.account_id)
        old = records.get((key.list, key.subject)) if records is not None else None
        if not _newer_than_held(record, old.version if old is not None else None):
            return False
        self._count(key.list, old is not None and old.active, record is not None and record.active)
        account = sys.intern(key.account_id)
        if records is None:
            records = self._domain_records[account] = {}
        lists = self._accounts.get(account)
        if lists is None:
            lists = self._accounts[account] = AccountLists()
        _unset(lists, key)
        if record is None:
            del records[(key.list, key.subject)]
        else:
            records[(key.list, key.subject)] = record
            if record.active:
                _set(lists, key, record)
        if not records:
            del self._domain_records[account]
        if lists.is_empty():
            del self._accounts[account]
        if key.list is ListName.URI_PATTERN:
            self._uri.pop(account, None)
        self.domain_answers = {}  # after the change: see __init__
        return True

    def _count(self, name: ListName, was_active: bool, is_active: bool) -> None:
        self._counts[name] += int(is_active) - int(was_active)

    # --- export and metrics --------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Active entries per list, and how many accounts hold anything."""
        out = {name.value: self._counts[name] for name in ListName}
        out["accounts"] = len(self._addresses.keys() | self._domain_records.keys())
        return out

    def entries_of(self, account_id: str) -> Iterator[tuple[ListName, str, ListRecord]]:
        """Every active entry of an account, as records (for export)."""
        for subject, held in self._addresses.get(account_id, {}).items():
            for entry in _as_tuple(held):
                if entry.active:
                    yield entry.list, subject, _record(account_id, subject, entry)
        for (name, subject), record in self._domain_records.get(account_id, {}).items():
            if record.active:
                yield name, subject, record

    def accounts(self) -> list[str]:
        """Every account that holds any entry (the platform account included)."""
        return sorted(self._addresses.keys() | self._domain_records.keys())


def _newer_than_held(record: ListRecord | None, held: int | None) -> bool:
    """The one rule for every key: a record applies only when its version is newer than
    the held one; a tombstone only when something is held."""
    if record is None:
        return held is not None
    return held is None or record.version > held


def _entry_code(held: _Held | None) -> int:
    if held is None:
        return ENTRY_NONE
    if not isinstance(held, AddressEntry) or held.expires_at is not None:
        return ENTRY_COMPLEX
    flags = LIST_CODE_OF[held.list] | (ENTRY_ACTIVE if held.active else 0)
    return (flags | (0 if held.reason is None else int(held.reason)) << 8) + 1


def _as_tuple(held: _Held) -> tuple[AddressEntry, ...]:
    return (held,) if isinstance(held, AddressEntry) else held


def _record(account_id: str, subject: str, entry: AddressEntry) -> ListRecord:
    event_id, delivery_id, notes = entry.details or (None, None, None)
    return ListRecord(
        key=ListKey(account_id, entry.list, subject),
        version=entry.version,
        active=entry.active,
        reason=entry.reason,
        since=entry.since,
        expires_at=entry.expires_at,
        event_id=event_id,
        delivery_id=delivery_id,
        notes=notes,
    )


def _set(lists: AccountLists, key: ListKey, record: ListRecord) -> None:
    if key.list is ListName.DOMAIN_RULE:
        lists.domain_rules[key.subject] = DomainRule(
            send_block=record.send_block,
            collection_block=record.collection_block,
            reason=record.reason if record.reason is not None else Reason.MANUAL,
            since=record.since,
            notes=record.notes,
        )
    elif key.list is ListName.DOMAIN_ALLOW:
        lists.domain_allow.add(key.subject)
    else:
        lists.uri_patterns[key.subject] = record.notes


def _unset(lists: AccountLists, key: ListKey) -> None:
    if key.list is ListName.DOMAIN_RULE:
        lists.domain_rules.pop(key.subject, None)
    elif key.list is ListName.DOMAIN_ALLOW:
        lists.domain_allow.discard(key.subject)
    else:
        lists.uri_patterns.pop(key.subject, None)


def _try_compile(text: str) -> UriPattern | None:
    try:
        return compile_pattern(text)
    except InvalidPattern:
        return None
