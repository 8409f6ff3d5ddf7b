"""The stored state of one (account, address): small, bounded and JSON-safe.

The worker keeps one ``AddressState`` per (account, address) in a RocksDB table, so
its size must not grow with the number of events: the ladder history and the window of
seen event ids are capped by ``LadderConfig``, ids are kept as 8-byte hashes wherever
nothing publishes them, and everything else is at most a few values per suppression
category. ``workers.domain.ladder`` holds the rules that move it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from hashlib import blake2b

from suppressor_client.types import SUPPRESSION_LISTS, Category, ListChange, ListName, Suppression

__all__ = [
    "AddressState",
    "HistoryItem",
    "LadderConfig",
    "Mark",
    "Rung",
    "Toggle",
    "changes",
    "entries",
    "first_entry",
    "id_hash",
    "keep",
    "rank",
]


@dataclass(frozen=True, slots=True)
class LadderConfig:
    """Ladder durations (from the settings: ``Settings.ladder``) and the bounds on the state.

    ``steps`` are the temporary durations of the 1st, 2nd, ... consecutive condition
    bounce; the bounce after the last step is permanent (reason 5).
    """

    steps: tuple[timedelta, ...]
    quiet_period: timedelta
    history_limit: int = 4
    seen_ids_limit: int = 8
    candidates_limit: int = 1  # entries per category kept behind the first (see ``keep``)

    def __post_init__(self) -> None:
        if not self.steps or any(s <= timedelta(0) for s in self.steps):
            raise ValueError("ladder steps must be a non-empty tuple of positive durations")
        if self.quiet_period <= timedelta(0):
            raise ValueError("quiet_period must be positive")
        if self.history_limit < 1 or self.seen_ids_limit < 1 or self.candidates_limit < 0:
            raise ValueError("history_limit and seen_ids_limit must be >= 1, candidates_limit >= 0")


class Mark(StrEnum):
    """The two kinds of event the ladder folds: counted condition bounces and deliveries."""

    DELIVERED = "delivered"
    BOUNCE = "bounce"


_MARK_ORDER = {Mark.DELIVERED: 0, Mark.BOUNCE: 1}  # at one instant, the delivery goes first


def id_hash(event_id: str) -> int:
    """The 64-bit hash the state keeps of an event id it never publishes (stable everywhere)."""
    return int.from_bytes(blake2b(event_id.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One ladder-relevant event, kept so that late arrivals can be folded in time order.

    ``tag`` is the hash of its event id. A bounce keeps its ids (a counted bounce becomes
    the published entry); a delivery keeps none, since nothing of it is ever published.
    """

    occurred_at: datetime
    mark: Mark
    tag: int
    event_id: str | None = None
    delivery_id: str | None = None

    @classmethod
    def of(
        cls, occurred_at: datetime, mark: Mark, event_id: str, delivery_id: str | None = None
    ) -> HistoryItem:
        """The item of one event: a delivery's ids are not kept, only their hash."""
        if mark is Mark.DELIVERED:
            return cls(occurred_at, mark, id_hash(event_id))
        return cls(occurred_at, mark, id_hash(event_id), event_id, delivery_id)

    @property
    def bare(self) -> HistoryItem:
        """The item without its ids: all a horizon needs (``Rung.through`` of a base)."""
        return HistoryItem(self.occurred_at, self.mark, self.tag)

    @property
    def key(self) -> tuple[datetime, int, int]:
        """A total order on events: time, then kind, then the id's hash (ties must not
        depend on arrival)."""
        return (self.occurred_at, _MARK_ORDER[self.mark], self.tag)


@dataclass(frozen=True, slots=True)
class Rung:
    """Where the ladder stands after folding a time-ordered prefix of the history.

    ``through`` is the last event folded; as the base of a state it is the horizon
    before which late events can no longer be placed, kept ``bare`` there.
    """

    streak: int = 0
    last_counted: datetime | None = None
    temporary: Suppression | None = None
    permanent: Suppression | None = None
    through: HistoryItem | None = None

    @property
    def entry(self) -> Suppression | None:
        """The bounce-category entry the ladder asks for (a permanent one wins)."""
        return self.permanent or self.temporary


@dataclass(frozen=True, slots=True)
class Toggle:
    """A last-writer-wins flag: the command with the latest (occurred_at, event_id) wins."""

    on: bool
    at: datetime
    event_id: str

    def newer_than(self, other: Toggle | None) -> bool:
        return other is None or (self.at, self.event_id) > (other.at, other.event_id)


@dataclass(frozen=True, slots=True)
class AddressState:
    """Everything about one (account, address) that the rules need; see ``ladder``.

    ``listed`` holds the entries made by single events: per category the first (the one
    published) and a later one to take over after an unblock. ``base`` + ``history``
    are the ladder, whose result ``climbed`` is cached so that reading the lists needs no
    configuration; so is ``climbing`` (a streak of counted bounces runs), so that a
    delivery that changes nothing is recognised without folding the history. ``seen`` is
    a bounded window of hashed event ids (docs/design.md, "Replays and the seen window").
    """

    address: str = ""
    listed: tuple[Suppression, ...] = ()
    base: Rung = Rung()  # frozen: one empty rung serves every state
    history: tuple[HistoryItem, ...] = ()
    climbed: Suppression | None = None
    climbing: bool = False
    unblocked_at: datetime | None = None
    expired_through: datetime | None = None
    allowlist: Toggle | None = None
    address_allow: Toggle | None = None
    seen: tuple[int, ...] = ()  # ``id_hash`` of the latest event ids applied, oldest first

    @classmethod
    def empty(cls, address: str = "") -> AddressState:
        """The state of an address nothing has happened to yet."""
        return cls(address=address)

    @property
    def tip(self) -> HistoryItem | None:
        """The latest ladder event known (the last of the history, else the base's)."""
        return self.history[-1] if self.history else self.base.through

    @property
    def allowlisted(self) -> bool:
        return self.allowlist is not None and self.allowlist.on

    @property
    def address_allowed(self) -> bool:
        return self.address_allow is not None and self.address_allow.on

    def listed_in(self, category: Category) -> Suppression | None:
        """The entry single events give ``category`` (``listed`` is ranked within a category)."""
        return next((s for s in self.listed if s.category is category), None)


# --- reading the lists -------------------------------------------------------------

_CATEGORIES = tuple(Category)  # iterating an enum class is slow; these are its members
_LIST_NAMES = tuple(ListName)


def rank(entry: Suppression) -> tuple[bool, datetime, str]:
    """The order within a category: permanent before temporary, then the earliest."""
    return (entry.expires_at is not None, entry.since, entry.event_id or "")


def first_entry(a: Suppression | None, b: Suppression | None) -> Suppression | None:
    """The entry a category keeps of two (either may be missing)."""
    candidates = [s for s in (a, b) if s is not None]
    return min(candidates, key=rank) if candidates else None


def keep(listed: tuple[Suppression, ...], limit: int) -> tuple[Suppression, ...]:
    """Per category, in category order: the first entry, then the ``limit`` latest others.

    The others are the entries that take over when an unblock releases the first one;
    the latest are kept because an unblock is a decision about everything before it.
    """
    if len(listed) < 2:  # nothing to rank: a new address's first entry (an import row)
        return listed
    by_category: dict[Category, set[Suppression]] = {}
    for s in listed:
        by_category.setdefault(s.category, set()).add(s)
    kept: list[Suppression] = []
    for category in _CATEGORIES:
        if category in by_category:
            mine = sorted(by_category[category], key=rank)
            kept += mine[:1] + mine[max(1, len(mine) - limit) :]
    return tuple(kept)


def entries(state: AddressState) -> dict[ListName, Suppression | None]:
    """The current records of this address, by list (allow lists carry no entry)."""
    current: dict[ListName, Suppression | None] = {}
    listed_bounce: Suppression | None = None
    for entry in state.listed:  # ranked within a category: the first of each is its entry
        name = SUPPRESSION_LISTS[entry.category]
        if name is ListName.BOUNCE:
            listed_bounce = listed_bounce or entry
        elif name not in current:
            current[name] = entry
    bounce = first_entry(listed_bounce, state.climbed)
    if bounce is not None and not _expired(bounce, state.expired_through):
        current[ListName.BOUNCE] = bounce
    if state.address_allowed:
        current[ListName.ADDRESS_ALLOW] = None
    if state.allowlisted:
        current[ListName.RECIPIENT_ALLOW] = None
    return current


def _expired(entry: Suppression, through: datetime | None) -> bool:
    return entry.expires_at is not None and through is not None and entry.expires_at <= through


def changes(
    old: Mapping[ListName, Suppression | None],
    new: Mapping[ListName, Suppression | None],
    address: str,
) -> list[ListChange]:
    """The changes that turn the lists ``old`` (a state's ``entries``) into ``new``, in
    list order."""
    out: list[ListChange] = []
    for name in _LIST_NAMES:
        if name in new and (name not in old or old[name] != new[name]):
            out.append(ListChange(name, address, new[name]))
        elif name in old and name not in new:
            out.append(ListChange.release(name, address))
    return out
