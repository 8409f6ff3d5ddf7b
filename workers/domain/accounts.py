"""Per-account lists kept by the worker: domain rules, domain allow list, URI patterns.

The account-level twin of ``ladder``: ``step(state, command, pool)`` applies one
control-plane command and returns the new state with the list changes it makes. The
commands of one account arrive in order (the worker keys them by account), so the last
command wins; the same event id twice changes nothing. ``account.create`` writes the
default domain pool, leaving any rule the account already set as it is.

Transitions, by command type:

| command              | lists changed                                    |
|----------------------|--------------------------------------------------|
| account.create       | domain-rule += pool rules not already set (once) |
| domain.rule.set      | domain-rule[domain] = flags (none set: removed)  |
| domain.rule.remove   | domain-rule[domain] removed                      |
| domain.allow.add     | domain-allow[domain] set                         |
| domain.allow.remove  | domain-allow[domain] removed                     |
| uri.add              | uri-pattern[pattern] set (re2, anchored)         |
| uri.remove           | uri-pattern[pattern] removed                     |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from workers.domain.errors import InputError
from workers.domain.lists import pool_rules
from workers.domain.types import (
    PLATFORM_ACCOUNT,
    Command,
    CommandType,
    DomainRule,
    ListName,
    Reason,
)
from workers.domain.uri import compile_pattern

__all__ = [
    "ACCOUNT_COMMANDS",
    "AccountState",
    "Change",
    "ListEntry",
    "MissingField",
    "current",
    "step",
]

SEEN_IDS_LIMIT = 64


class MissingField(InputError):
    """A command lacks a field its type needs."""

    code = "missing_field"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """An entry of the domain allow list or the URI allowlist."""

    since: datetime
    notes: str | None = None
    event_id: str | None = None


Payload = DomainRule | ListEntry


@dataclass(frozen=True, slots=True)
class Change:
    """One list change: ``payload`` None is a release of ``subject`` from ``list``."""

    list: ListName
    subject: str
    payload: Payload | None


@dataclass(frozen=True, slots=True)
class AccountState:
    """The account-level lists of one account (sorted tuples, so equal states are equal)."""

    account_id: str = ""
    created_at: datetime | None = None
    rules: tuple[tuple[str, DomainRule], ...] = ()
    allow: tuple[tuple[str, ListEntry], ...] = ()
    uris: tuple[tuple[str, ListEntry], ...] = ()
    seen: tuple[str, ...] = ()

    def lists(self) -> dict[ListName, dict[str, Payload]]:
        return {
            ListName.DOMAIN_RULE: dict(self.rules),
            ListName.DOMAIN_ALLOW: dict(self.allow),
            ListName.URI_PATTERN: dict(self.uris),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the worker's table."""
        return {
            "account_id": self.account_id,
            "created_at": _time_out(self.created_at),
            "rules": [[p, _rule_out(r)] for p, r in self.rules],
            "allow": [[p, _entry_out(e)] for p, e in self.allow],
            "uris": [[p, _entry_out(e)] for p, e in self.uris],
            "seen": list(self.seen),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccountState:
        return cls(
            account_id=data["account_id"],
            created_at=_time_in(data["created_at"]),
            rules=tuple((p, _rule_in(r)) for p, r in data["rules"]),
            allow=tuple((p, _entry_in(e)) for p, e in data["allow"]),
            uris=tuple((p, _entry_in(e)) for p, e in data["uris"]),
            seen=tuple(data["seen"]),
        )


def _time_out(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time_in(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _rule_out(rule: DomainRule) -> dict[str, Any]:
    return {
        "send_block": rule.send_block,
        "collection_block": rule.collection_block,
        "reason": int(rule.reason),
        "since": _time_out(rule.since),
        "notes": rule.notes,
    }


def _rule_in(data: Mapping[str, Any]) -> DomainRule:
    return DomainRule(
        send_block=data["send_block"],
        collection_block=data["collection_block"],
        reason=Reason(data["reason"]),
        since=_time_in(data["since"]),
        notes=data["notes"],
    )


def _entry_out(entry: ListEntry) -> dict[str, Any]:
    return {"since": _time_out(entry.since), "notes": entry.notes, "event_id": entry.event_id}


def _entry_in(data: Mapping[str, Any]) -> ListEntry:
    since = _time_in(data["since"])
    assert since is not None
    return ListEntry(since=since, notes=data["notes"], event_id=data["event_id"])


def _need(value: str | None, cmd: Command, name: str) -> str:
    if not value:
        raise MissingField(f"{cmd.type.value} needs {name}", path=name)
    return value


def _put(
    items: tuple[tuple[str, Any], ...], key: str, value: Any | None
) -> tuple[tuple[str, Any], ...]:
    held = dict(items)
    if value is None:
        held.pop(key, None)
    else:
        held[key] = value
    return tuple(sorted(held.items()))


def _create(state: AccountState, cmd: Command, pool: Mapping[str, DomainRule]) -> AccountState:
    if state.created_at is not None or cmd.account_id == PLATFORM_ACCOUNT:
        return state
    rules = dict(state.rules)
    for pattern, rule in pool_rules(pool, cmd.occurred_at).items():
        rules.setdefault(pattern, rule)
    return replace(state, created_at=cmd.occurred_at, rules=tuple(sorted(rules.items())))


def _rule_set(state: AccountState, cmd: Command, _pool: Mapping[str, DomainRule]) -> AccountState:
    domain = _need(cmd.domain, cmd, "domain")
    rule: DomainRule | None = None
    if cmd.send_block or cmd.collection_block:
        platform = cmd.account_id == PLATFORM_ACCOUNT
        rule = DomainRule(
            send_block=cmd.send_block,
            collection_block=cmd.collection_block,
            reason=Reason.SHARED if platform else Reason.MANUAL,
            since=cmd.occurred_at,
            notes=cmd.notes,
        )
    return replace(state, rules=_put(state.rules, domain, rule))


def _rule_remove(
    state: AccountState, cmd: Command, _pool: Mapping[str, DomainRule]
) -> AccountState:
    return replace(state, rules=_put(state.rules, _need(cmd.domain, cmd, "domain"), None))


def _entry(cmd: Command) -> ListEntry:
    return ListEntry(since=cmd.occurred_at, notes=cmd.notes, event_id=cmd.event_id)


def _allow_add(state: AccountState, cmd: Command, _pool: Mapping[str, DomainRule]) -> AccountState:
    domain = _need(cmd.domain, cmd, "domain")
    if dict(state.allow).get(domain) is not None:
        return state  # already on the list: keep its original date
    return replace(state, allow=_put(state.allow, domain, _entry(cmd)))


def _allow_remove(
    state: AccountState, cmd: Command, _pool: Mapping[str, DomainRule]
) -> AccountState:
    return replace(state, allow=_put(state.allow, _need(cmd.domain, cmd, "domain"), None))


def _uri_add(state: AccountState, cmd: Command, _pool: Mapping[str, DomainRule]) -> AccountState:
    pattern = compile_pattern(_need(cmd.pattern, cmd, "pattern")).text
    if dict(state.uris).get(pattern) is not None:
        return state
    return replace(state, uris=_put(state.uris, pattern, _entry(cmd)))


def _uri_remove(state: AccountState, cmd: Command, _pool: Mapping[str, DomainRule]) -> AccountState:
    return replace(state, uris=_put(state.uris, _need(cmd.pattern, cmd, "pattern"), None))


_Transition = Callable[[AccountState, Command, Mapping[str, DomainRule]], AccountState]

ACCOUNT_COMMANDS: Mapping[CommandType, _Transition] = {
    CommandType.ACCOUNT_CREATE: _create,
    CommandType.DOMAIN_RULE_SET: _rule_set,
    CommandType.DOMAIN_RULE_REMOVE: _rule_remove,
    CommandType.DOMAIN_ALLOW_ADD: _allow_add,
    CommandType.DOMAIN_ALLOW_REMOVE: _allow_remove,
    CommandType.URI_ADD: _uri_add,
    CommandType.URI_REMOVE: _uri_remove,
}
"""The account-level commands and their transitions; the rest are address-level."""


def _changes(before: AccountState, after: AccountState) -> list[Change]:
    old, new = before.lists(), after.lists()
    changes: list[Change] = []
    for name in (ListName.DOMAIN_RULE, ListName.DOMAIN_ALLOW, ListName.URI_PATTERN):
        for subject in sorted(old[name].keys() | new[name].keys()):
            if old[name].get(subject) != new[name].get(subject):
                changes.append(Change(name, subject, new[name].get(subject)))
    return changes


def step(
    state: AccountState, cmd: Command, pool: Mapping[str, DomainRule]
) -> tuple[AccountState, list[Change]]:
    """Apply one account-level command; raises ``InputError`` for a command it cannot take."""
    transition = ACCOUNT_COMMANDS.get(cmd.type)
    if transition is None:
        raise ValueError(f"{cmd.type.value} is not an account-level command")
    if cmd.event_id in state.seen:
        return state, []
    before = replace(state, account_id=cmd.account_id)
    after = transition(before, cmd, pool)
    after = replace(after, seen=(*state.seen, cmd.event_id)[-SEEN_IDS_LIMIT:])
    return after, _changes(before, after)


def current(state: AccountState, cmd: Command) -> list[Change]:
    """The present entries a command touches, for republishing after a duplicate."""
    lists = state.lists()
    if cmd.type is CommandType.ACCOUNT_CREATE:
        return [Change(ListName.DOMAIN_RULE, p, r) for p, r in state.rules]
    name = (
        ListName.URI_PATTERN
        if cmd.type in (CommandType.URI_ADD, CommandType.URI_REMOVE)
        else ListName.DOMAIN_ALLOW
        if cmd.type in (CommandType.DOMAIN_ALLOW_ADD, CommandType.DOMAIN_ALLOW_REMOVE)
        else ListName.DOMAIN_RULE
    )
    subject = cmd.pattern if name is ListName.URI_PATTERN else cmd.domain
    if subject is None:
        return []
    return [Change(name, subject, lists[name].get(subject))]
