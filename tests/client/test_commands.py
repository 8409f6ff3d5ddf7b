"""effect_visible per command type, command preparation, and the faust-free client import."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from suppressor_client.errors import InputError
from suppressor_client.types import Command, CommandType, ListName, ListRecord, Reason

from tests.list_helpers import DEFAULT_POOL, T0, domain_rule, record, suppression, view_of
from workers.client.commands import VISIBLE, _prepare, effect_visible

A = "acme"
JANE = "jane@example.com"
AT = T0 + timedelta(hours=1)


def cmd(kind: CommandType, **fields: object) -> Command:
    """A parsed command of ``kind`` for account acme at time AT."""
    return Command(event_id="e1", account_id=A, occurred_at=AT, type=kind, **fields)  # type: ignore[arg-type]


def allow(name: ListName, subject: str = JANE, **fields: object) -> ListRecord:
    """An active record on an address- or domain-level list of acme."""
    return record(A, name, subject, **fields)


# (command, records before which it is not visible, records after which it is)
CASES: list[tuple[Command, list[ListRecord], list[ListRecord]]] = [
    (
        cmd(CommandType.ACCOUNT_CREATE),
        [domain_rule(A, "allegro.pl")],
        [domain_rule(A, p) for p in DEFAULT_POOL],
    ),
    (
        cmd(
            CommandType.DOMAIN_RULE_SET,
            domain="spam.example",
            send_block=True,
            collection_block=True,
        ),
        [domain_rule(A, "spam.example", send=True, collection=False)],
        [domain_rule(A, "spam.example", send=True, collection=True)],
    ),
    (
        cmd(CommandType.DOMAIN_RULE_REMOVE, domain="spam.example"),
        [domain_rule(A, "spam.example")],
        [],
    ),
    (
        cmd(CommandType.DOMAIN_ALLOW_ADD, domain="ok.example"),
        [allow(ListName.DOMAIN_ALLOW, "other.example")],
        [allow(ListName.DOMAIN_ALLOW, "ok.example")],
    ),
    (
        cmd(CommandType.DOMAIN_ALLOW_REMOVE, domain="ok.example"),
        [allow(ListName.DOMAIN_ALLOW, "ok.example")],
        [],
    ),
    (
        cmd(CommandType.ADDRESS_BLOCK, email=JANE),
        [suppression(A, JANE, Reason.UNSUBSCRIBE)],
        [suppression(A, JANE, Reason.MANUAL)],
    ),
    (
        cmd(CommandType.IMPORT_ROW, email=JANE, reason=Reason.NONEXISTENT_LEGACY),
        [suppression(A, JANE, Reason.MANUAL)],
        [suppression(A, JANE, Reason.NONEXISTENT_LEGACY)],
    ),
    (
        cmd(CommandType.ADDRESS_UNBLOCK, email=JANE),
        [suppression(A, JANE, Reason.FEEDBACK_LOOP)],
        [suppression(A, JANE, Reason.FEEDBACK_LOOP, since=AT + timedelta(seconds=1))],
    ),
    (
        cmd(CommandType.ADDRESS_ALLOW, email=JANE),
        [allow(ListName.RECIPIENT_ALLOW)],
        [allow(ListName.ADDRESS_ALLOW)],
    ),
    (
        cmd(CommandType.ADDRESS_DISALLOW, email=JANE),
        [allow(ListName.ADDRESS_ALLOW)],
        [allow(ListName.RECIPIENT_ALLOW)],
    ),
    (
        cmd(CommandType.ALLOWLIST_ADD, email=JANE),
        [allow(ListName.ADDRESS_ALLOW)],
        [allow(ListName.RECIPIENT_ALLOW)],
    ),
    (
        cmd(CommandType.ALLOWLIST_REMOVE, email=JANE),
        [allow(ListName.RECIPIENT_ALLOW)],
        [],
    ),
    (
        cmd(CommandType.URI_ADD, pattern="^https://shop\\.example/"),
        [allow(ListName.URI_PATTERN, "^https://other\\.example/")],
        [allow(ListName.URI_PATTERN, "^https://shop\\.example/")],
    ),
    (
        cmd(CommandType.URI_REMOVE, pattern="^https://shop\\.example/"),
        [allow(ListName.URI_PATTERN, "^https://shop\\.example/")],
        [],
    ),
]


def test_every_command_type_has_a_visibility_rule_and_a_case() -> None:
    """No command type is left without a predicate, nor without a test case here."""
    assert set(VISIBLE) == set(CommandType)
    assert {c.type for c, _before, _after in CASES} == set(CommandType)


@pytest.mark.parametrize(
    ("command", "before", "after"), CASES, ids=lambda v: getattr(v, "type", "")
)
def test_effect_visible_once_the_view_shows_the_command(
    command: Command, before: list[ListRecord], after: list[ListRecord]
) -> None:
    """Before the worker's records the effect is not visible; with them it is."""
    assert not effect_visible(view_of(*before), command, DEFAULT_POOL)
    assert effect_visible(view_of(*after), command, DEFAULT_POOL)


def test_effect_visible_reads_only_the_commands_account() -> None:
    """Another account's block does not make this account's block visible."""
    view = view_of(suppression("other", JANE, Reason.MANUAL))
    assert not effect_visible(view, cmd(CommandType.ADDRESS_BLOCK, email=JANE))


def test_block_of_an_allowlisted_address_counts_as_visible() -> None:
    """The worker ignores a block of an allowlisted address, so the writer need not wait."""
    view = view_of(allow(ListName.RECIPIENT_ALLOW))
    assert effect_visible(view, cmd(CommandType.ADDRESS_BLOCK, email=JANE))


def test_released_entry_is_not_visible_as_a_block() -> None:
    """A released block (inactive record) does not count as the address being blocked."""
    released = suppression(A, JANE, Reason.MANUAL, version=2, active=False)
    assert not effect_visible(view_of(released), cmd(CommandType.ADDRESS_BLOCK, email=JANE))
    assert effect_visible(view_of(released), cmd(CommandType.ADDRESS_UNBLOCK, email=JANE))


def test_account_create_with_an_empty_pool_is_visible_at_once() -> None:
    """With no default pool the worker writes nothing, so there is nothing to wait for."""
    assert effect_visible(view_of(), cmd(CommandType.ACCOUNT_CREATE), {})


def test_prepare_fills_ids_and_normalises() -> None:
    """A command without event id or time gets both; the address comes back normalised."""
    raw, parsed = _prepare({"type": "address.block", "account_id": A, "email": " Jane@Example.COM"})
    assert parsed.email == JANE
    assert len(parsed.event_id) == 32
    assert b'"occurred_at"' in raw


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "address.block", "account_id": A, "email": "nope"}, "invalid_address"),
        ({"type": "no.such", "account_id": A}, "unknown_type"),
        ({"type": "domain.rule.set", "account_id": A, "domain": "x.example"}, "schema"),
        ({"type": "uri.add", "account_id": A, "pattern": "shop"}, "invalid_pattern"),
    ],
)
def test_prepare_refuses_what_the_worker_would_refuse(body: dict[str, object], code: str) -> None:
    """A bad command raises the worker's own InputError before anything is produced."""
    with pytest.raises(InputError) as caught:
        _prepare(body)
    assert caught.value.code == code


def test_importing_the_client_does_not_import_faust() -> None:
    """A sender process that imports the client library stays free of faust."""
    code = (
        "import sys, workers.client, workers.service.list_tools;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('faust', 'mode', 'aiokafka')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
