"""From list changes to versioned records of the ``suppressions`` topic (pure).

Each (account, list, subject) key carries a version that only grows: the counters live
in the worker's table next to the state that produced them, so a replay after a crash
computes the same versions again and a reader drops what it already has. A release is
published as an inactive record with the next version, then a tombstone (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from workers.domain.accounts import Change, ListEntry
from workers.domain.ladder_state import Effect, Release
from workers.domain.types import DomainRule, ListKey, ListName, ListRecord, Suppression

__all__ = [
    "Outgoing",
    "Publish",
    "Versions",
    "from_account",
    "from_ladder",
    "publish",
    "republish",
    "slots_of",
]

Versions = dict[str, int]
"""Last published version per ``list/subject`` of one state (an address or an account)."""

Outgoing = tuple[ListKey, ListRecord | None]
"""One record to send: ``None`` is the tombstone that follows a release."""


@dataclass(frozen=True, slots=True)
class Publish:
    """A list entry to publish (``active``) or to release."""

    list: ListName
    subject: str
    payload: Suppression | DomainRule | ListEntry | None
    active: bool


def from_ladder(effects: Iterable[Effect]) -> list[Publish]:
    return [
        Publish(e.list, e.subject, None, False)
        if isinstance(e, Release)
        else Publish(e.list, e.subject, e.entry, True)
        for e in effects
    ]


def from_account(changes: Iterable[Change]) -> list[Publish]:
    return [Publish(c.list, c.subject, c.payload, c.payload is not None) for c in changes]


def _record(key: ListKey, version: int, item: Publish) -> ListRecord:
    """The record of one item: every field of its payload is a field of ``ListRecord``."""
    if not item.active:
        return ListRecord(key=key, version=version, active=False)
    payload = item.payload
    values = {} if payload is None else {f.name: getattr(payload, f.name) for f in fields(payload)}
    return ListRecord(key=key, version=version, active=True, **values)


def publish(
    account_id: str, items: Iterable[Publish], versions: Mapping[str, int]
) -> tuple[Versions, list[Outgoing]]:
    """Version each item; returns the new counters and the records in sending order."""
    counters = dict(versions)
    out: list[Outgoing] = []
    for item in items:
        slot = f"{item.list.value}/{item.subject}"
        version = counters.get(slot, 0) + 1
        counters[slot] = version
        key = ListKey(account_id, item.list, item.subject)
        out.append((key, _record(key, version, item)))
        if not item.active:
            out.append((key, None))
    return counters, out


def republish(
    account_id: str, items: Iterable[Publish], versions: Mapping[str, int]
) -> list[Outgoing]:
    """The current records again, at their current versions, after a duplicate input.

    A replay after a crash may find the state already updated while the records it
    caused were never sent; sending them again at the same version is harmless to a
    reader that has them and repairs one that does not. Never-published items are skipped.
    """
    out: list[Outgoing] = []
    for item in items:
        version = versions.get(f"{item.list.value}/{item.subject}")
        if version is None:
            continue
        key = ListKey(account_id, item.list, item.subject)
        out.append((key, _record(key, version, item)))
        if not item.active:
            out.append((key, None))
    return out


def slots_of(versions: Mapping[str, int]) -> list[tuple[ListName, str]]:
    """The (list, subject) pairs ever published from one state."""
    pairs = []
    for slot in versions:
        name, _, subject = slot.partition("/")
        pairs.append((ListName(name), subject))
    return pairs
