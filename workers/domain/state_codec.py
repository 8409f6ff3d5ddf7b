"""The JSON-safe form of the keyed stage's stored states (address and account).

Kept apart from the states themselves so the rules read without the codec, and so the
stored form can change in one place. Times are ISO 8601; every field is written, so a
state read back equals the state written (``tests/domain/test_state_codec.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from suppressor_client.types import DomainRule, ListEntry, Reason, Suppression

from workers.domain.accounts import AccountState
from workers.domain.ladder_state import AddressState, HistoryItem, Mark, Rung, Toggle

__all__ = [
    "account_from_dict",
    "account_to_dict",
    "address_from_dict",
    "address_to_dict",
    "ladder_tip",
]

_T = TypeVar("_T")
_U = TypeVar("_U")


def address_to_dict(state: AddressState) -> dict[str, Any]:
    """A JSON-safe dict of one (account, address) state for the worker's RocksDB table."""
    return {
        "address": state.address,
        "listed": [_suppression_out(s) for s in state.listed],
        "base": _rung_out(state.base),
        "history": [_item_out(i) for i in state.history],
        "climbed": _opt(_suppression_out, state.climbed),
        "climbing": state.climbing,
        "unblocked_at": _opt(_time_out, state.unblocked_at),
        "expired_through": _opt(_time_out, state.expired_through),
        "allowlist": _opt(_toggle_out, state.allowlist),
        "address_allow": _opt(_toggle_out, state.address_allow),
        "seen": list(state.seen),
    }


def address_from_dict(data: Mapping[str, Any]) -> AddressState:
    """The inverse of ``address_to_dict``."""
    return AddressState(
        address=data["address"],
        listed=tuple(_suppression_in(s) for s in data["listed"]),
        base=_rung_in(data["base"]),
        history=tuple(_item_in(i) for i in data["history"]),
        climbed=_opt(_suppression_in, data["climbed"]),
        climbing=data.get("climbing", True),  # stored before it existed: assume a streak
        unblocked_at=_opt(_time_in, data["unblocked_at"]),
        expired_through=_opt(_time_in, data["expired_through"]),
        allowlist=_opt(_toggle_in, data["allowlist"]),
        address_allow=_opt(_toggle_in, data["address_allow"]),
        seen=tuple(data["seen"]),
    )


def ladder_tip(data: Mapping[str, Any]) -> tuple[HistoryItem | None, bool]:
    """The latest ladder event of a stored address state and whether a streak runs, read
    without decoding the rest (what ``ladder.inert_at`` needs)."""
    history = data["history"]
    latest = history[-1] if history else data["base"]["through"]
    return _opt(_item_in, latest), data.get("climbing", True)


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


def _suppression_out(s: Suppression) -> dict[str, Any]:
    return {
        "reason": int(s.reason),
        "since": _time_out(s.since),
        "expires_at": _opt(_time_out, s.expires_at),
        "event_id": s.event_id,
        "delivery_id": s.delivery_id,
        "notes": s.notes,
    }


def _suppression_in(d: Mapping[str, Any]) -> Suppression:
    return Suppression(
        reason=Reason(d["reason"]),
        since=_time_in(d["since"]),
        expires_at=_opt(_time_in, d["expires_at"]),
        event_id=d["event_id"],
        delivery_id=d["delivery_id"],
        notes=d["notes"],
    )


def _item_out(i: HistoryItem) -> dict[str, Any]:
    return {
        "occurred_at": _time_out(i.occurred_at),
        "mark": i.mark.value,
        "event_id": i.event_id,
        "delivery_id": i.delivery_id,
    }


def _item_in(d: Mapping[str, Any]) -> HistoryItem:
    return HistoryItem(_time_in(d["occurred_at"]), Mark(d["mark"]), d["event_id"], d["delivery_id"])


def _rung_out(r: Rung) -> dict[str, Any]:
    return {
        "streak": r.streak,
        "last_counted": _opt(_time_out, r.last_counted),
        "temporary": _opt(_suppression_out, r.temporary),
        "permanent": _opt(_suppression_out, r.permanent),
        "through": _opt(_item_out, r.through),
    }


def _rung_in(d: Mapping[str, Any]) -> Rung:
    return Rung(
        streak=d["streak"],
        last_counted=_opt(_time_in, d["last_counted"]),
        temporary=_opt(_suppression_in, d["temporary"]),
        permanent=_opt(_suppression_in, d["permanent"]),
        through=_opt(_item_in, d["through"]),
    )


def _toggle_out(t: Toggle) -> dict[str, Any]:
    return {"on": t.on, "at": _time_out(t.at), "event_id": t.event_id}


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
