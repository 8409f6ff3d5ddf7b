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

from suppressor_client.errors import InputError
from suppressor_client.lists import pool_rules
from suppressor_client.types import (
    PLATFORM_ACCOUNT,
    Command,
    CommandType,
    DomainRule,
    ListChange,
    ListEntry,
    ListName,
    Reason,
)
from suppressor_client.uri import compile_pattern

__all__ = [
    "ACCOUNT_COMMANDS",
    "AccountState",
    "MissingField",
    "current",
    "step",
]

SEEN_IDS_LIMIT = 64


class MissingField(InputError):
    """A command lacks a field its type needs."""

    code = "missing_field"


Payload = DomainRule | ListEntry


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


def _change(name: ListName, subject: str, payload: Payload | None) -> ListChange:
    """Set ``subject`` to ``payload``; no payload means the subject left the list."""
    return ListChange(name, subject, payload, active=payload is not None)


def _changes(before: AccountState, after: AccountState) -> list[ListChange]:
    old, new = before.lists(), after.lists()
    changes: list[ListChange] = []
    for name in (ListName.DOMAIN_RULE, ListName.DOMAIN_ALLOW, ListName.URI_PATTERN):
        for subject in sorted(old[name].keys() | new[name].keys()):
            if old[name].get(subject) != new[name].get(subject):
                changes.append(_change(name, subject, new[name].get(subject)))
    return changes


def step(
    state: AccountState, cmd: Command, pool: Mapping[str, DomainRule]
) -> tuple[AccountState, list[ListChange]]:
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


def current(state: AccountState, cmd: Command) -> list[ListChange]:
    """The present entries a command touches, for republishing after a duplicate."""
    lists = state.lists()
    if cmd.type is CommandType.ACCOUNT_CREATE:
        return [ListChange(ListName.DOMAIN_RULE, p, r) for p, r in state.rules]
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
    return [_change(name, subject, lists[name].get(subject))]
