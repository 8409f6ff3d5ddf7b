"""From list changes to versioned records of the ``suppressions`` topic (pure).

Each (account, list, subject) key carries a version that only grows: the counters live
in the worker's table next to the state that produced them, so a replay after a crash
computes the same versions again and a reader drops what it already has. A release is
published as an inactive record with the next version, then a tombstone (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields

from suppressor_client.types import (
    DomainRule,
    ListChange,
    ListEntry,
    ListKey,
    ListName,
    ListRecord,
    Suppression,
)

__all__ = ["Outgoing", "Versions", "publish", "republish", "slot", "slots_of"]

Versions = dict[str, int]
"""Last published version per slot (``list/subject``) of one state (an address or an account)."""

Outgoing = tuple[ListKey, ListRecord | None]
"""One record to send: ``None`` is the tombstone that follows a release."""


def slot(list_name: ListName, subject: str) -> str:
    """The key of one (list, subject) in ``Versions``; ``slots_of`` reads it back."""
    return f"{list_name.value}/{subject}"


def slots_of(versions: Mapping[str, int]) -> list[tuple[ListName, str]]:
    """The (list, subject) pairs ever published from one state."""
    pairs = []
    for key in versions:
        name, _, subject = key.partition("/")
        pairs.append((ListName(name), subject))
    return pairs


_FIELD_NAMES = {t: tuple(f.name for f in fields(t)) for t in (Suppression, DomainRule, ListEntry)}
"""The fields of each payload type, read once (``dataclasses.fields`` per record costs)."""


def _record(key: ListKey, version: int, change: ListChange) -> ListRecord:
    """The record of one change: every field of its payload is a field of ``ListRecord``."""
    if not change.active:
        return ListRecord(key=key, version=version, active=False)
    payload = change.payload
    names = () if payload is None else _FIELD_NAMES[type(payload)]
    values = {name: getattr(payload, name) for name in names}
    return ListRecord(key=key, version=version, active=True, **values)


def _records(key: ListKey, version: int, change: ListChange) -> list[Outgoing]:
    """The record, and the tombstone after it when the change is a release."""
    record: list[Outgoing] = [(key, _record(key, version, change))]
    return record if change.active else [*record, (key, None)]


def publish(
    account_id: str, changes: Iterable[ListChange], versions: Mapping[str, int]
) -> tuple[Versions, list[Outgoing]]:
    """Version each change; returns the new counters and the records in sending order."""
    counters = dict(versions)
    out: list[Outgoing] = []
    for change in changes:
        key = slot(change.list, change.subject)
        counters[key] = version = counters.get(key, 0) + 1
        out += _records(ListKey(account_id, change.list, change.subject), version, change)
    return counters, out


def republish(
    account_id: str, changes: Iterable[ListChange], versions: Mapping[str, int]
) -> list[Outgoing]:
    """The current records again, at their current versions, after a duplicate input.

    A replay after a crash may find the state already updated while the records it
    caused were never sent; sending them again at the same version is harmless to a
    reader that has them and repairs one that does not. Never-published subjects are skipped.
    """
    out: list[Outgoing] = []
    for change in changes:
        version = versions.get(slot(change.list, change.subject))
        if version is not None:
            out += _records(ListKey(account_id, change.list, change.subject), version, change)
    return out
