"""The account-level rules: one transition per command type, each list change it makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
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
from suppressor_client.uri import InvalidPattern

from tests.list_helpers import DEFAULT_POOL
from workers.domain.accounts import ACCOUNT_COMMANDS, AccountState, MissingField, current, step
from workers.domain.state_codec import account_from_dict, account_to_dict

T0 = datetime(2024, 3, 1, tzinfo=UTC)
A = "acme"
_ids = iter(range(1_000_000))


def cmd(kind: CommandType, account: str = A, minutes: int = 0, **fields: object) -> Command:
    return Command(
        event_id=f"e{next(_ids)}",
        account_id=account,
        occurred_at=T0 + timedelta(minutes=minutes),
        type=kind,
        **fields,  # type: ignore[arg-type]
    )


def run(*commands: Command, state: AccountState | None = None) -> tuple[AccountState, list]:
    state = state or AccountState(account_id=A)
    changes: list[ListChange] = []
    for c in commands:
        state, made = step(state, c, DEFAULT_POOL)
        changes += made
    return state, changes


def test_every_account_command_type_has_a_transition() -> None:
    """The table names exactly the seven account-level commands of the module docstring."""
    assert set(ACCOUNT_COMMANDS) == {
        CommandType.ACCOUNT_CREATE,
        CommandType.DOMAIN_RULE_SET,
        CommandType.DOMAIN_RULE_REMOVE,
        CommandType.DOMAIN_ALLOW_ADD,
        CommandType.DOMAIN_ALLOW_REMOVE,
        CommandType.URI_ADD,
        CommandType.URI_REMOVE,
    }


def test_create_writes_the_pool_once_and_keeps_rules_already_set() -> None:
    """account.create adds the pool stamped with its time; an earlier rule on a pool domain wins."""
    own = cmd(CommandType.DOMAIN_RULE_SET, domain="allegro.pl", collection_block=True)
    state, changes = run(own, cmd(CommandType.ACCOUNT_CREATE, minutes=1))
    rules = dict(state.rules)
    assert set(rules) == set(DEFAULT_POOL)
    assert rules["allegro.pl"].collection_block and not rules["allegro.pl"].send_block
    assert rules["allegro.com"].since == T0 + timedelta(minutes=1)
    assert [c.subject for c in changes].count("allegro.pl") == 1  # the create did not touch it
    again, more = run(cmd(CommandType.ACCOUNT_CREATE, minutes=2), state=state)
    assert again.rules == state.rules and more == []


def test_the_platform_account_gets_no_pool() -> None:
    """The pool is for new accounts; ``*`` holds only platform-wide rules."""
    state, changes = run(
        cmd(CommandType.ACCOUNT_CREATE, account=PLATFORM_ACCOUNT),
        state=AccountState(account_id=PLATFORM_ACCOUNT),
    )
    assert state.rules == () and changes == []


def test_rule_set_records_the_reason_of_whose_rule_it_is() -> None:
    """An account's rule carries reason 2; a platform-wide one reason 99 (SPEC §5)."""
    _, [mine] = run(cmd(CommandType.DOMAIN_RULE_SET, domain="x.example", send_block=True))
    assert mine == ListChange(
        ListName.DOMAIN_RULE,
        "x.example",
        DomainRule(send_block=True, collection_block=False, reason=Reason.MANUAL, since=T0),
    )
    _, [shared] = run(
        cmd(
            CommandType.DOMAIN_RULE_SET,
            account=PLATFORM_ACCOUNT,
            domain="x.example",
            send_block=True,
        ),
        state=AccountState(account_id=PLATFORM_ACCOUNT),
    )
    assert isinstance(shared.payload, DomainRule) and shared.payload.reason is Reason.SHARED


def test_a_rule_with_no_mechanism_and_a_removal_both_release_the_domain() -> None:
    """Setting neither flag is a removal; each removal is a release change."""
    state, _ = run(cmd(CommandType.DOMAIN_RULE_SET, domain="x.example", send_block=True))
    _, cleared = run(cmd(CommandType.DOMAIN_RULE_SET, domain="x.example"), state=state)
    _, removed = run(cmd(CommandType.DOMAIN_RULE_REMOVE, domain="x.example"), state=state)
    assert cleared == removed == [ListChange.release(ListName.DOMAIN_RULE, "x.example")]


def test_allow_add_keeps_the_first_date_and_remove_releases() -> None:
    """Adding a listed domain again changes nothing; removing it is a release."""
    first = cmd(CommandType.DOMAIN_ALLOW_ADD, domain="ok.example", notes="partner")
    state, [added] = run(first)
    assert added.payload == ListEntry(since=T0, notes="partner", event_id=first.event_id)
    same, none = run(cmd(CommandType.DOMAIN_ALLOW_ADD, domain="ok.example", minutes=5), state=state)
    assert none == [] and same.allow == state.allow
    _, [gone] = run(cmd(CommandType.DOMAIN_ALLOW_REMOVE, domain="ok.example"), state=state)
    assert gone == ListChange.release(ListName.DOMAIN_ALLOW, "ok.example")


def test_uri_patterns_are_checked_and_kept_by_their_text() -> None:
    """A valid anchored pattern is listed; an unanchored one is refused with the reason."""
    state, [added] = run(cmd(CommandType.URI_ADD, pattern="^https://shop\\.example/"))
    assert added.list is ListName.URI_PATTERN and added.active
    _, [gone] = run(cmd(CommandType.URI_REMOVE, pattern="^https://shop\\.example/"), state=state)
    assert not gone.active
    with pytest.raises(InvalidPattern, match="anchored"):
        run(cmd(CommandType.URI_ADD, pattern="shop\\.example"))


def test_a_command_without_its_field_is_refused() -> None:
    """A rule without a domain is an input error naming the field (the worker dead-letters it)."""
    with pytest.raises(MissingField) as caught:
        run(cmd(CommandType.DOMAIN_RULE_SET, send_block=True))
    assert caught.value.path == "domain"


def test_an_address_command_is_not_an_account_command() -> None:
    """The front stage routes address commands elsewhere; here they are a programming error."""
    with pytest.raises(ValueError, match="not an account-level command"):
        run(cmd(CommandType.ADDRESS_BLOCK, email="a@example.com"))


def test_the_same_event_twice_changes_nothing_and_current_republishes() -> None:
    """A repeated event id is a no-op; ``current`` gives the entries it touched, as they stand."""
    once = cmd(CommandType.DOMAIN_RULE_SET, domain="x.example", send_block=True)
    state, _ = run(once)
    again, changes = step(state, once, DEFAULT_POOL)
    assert again is state and changes == []
    [held] = current(state, once)
    assert held.subject == "x.example" and held.active
    removal = cmd(CommandType.DOMAIN_RULE_REMOVE, domain="x.example")
    after, _ = run(removal, state=state)
    assert current(after, removal) == [ListChange.release(ListName.DOMAIN_RULE, "x.example")]


def test_an_account_state_survives_its_stored_form() -> None:
    """Every list and the seen ids come back from the table's JSON unchanged."""
    state, _ = run(
        cmd(CommandType.ACCOUNT_CREATE),
        cmd(CommandType.DOMAIN_ALLOW_ADD, domain="ok.example", notes="n"),
        cmd(CommandType.URI_ADD, pattern="^https://a\\.example/"),
    )
    assert account_from_dict(account_to_dict(state)) == state
