"""Writes control-plane commands and waits until their effect is visible (read your writes).

A command is validated with the worker's own parser before it is produced, so a bad one
fails at once with the same ``InputError`` the worker would put on its DLQ. After the
broker has it, the writer waits on the sender view until ``effect_visible`` holds: the
view then shows what the command asked for, so a person who blocks an address and
checks it next sees it blocked.

``effect_visible`` reads the *state* the command asks for, not the event id, so it works
on a view without details and for commands the worker takes as no-ops: blocking an
address already blocked (the earliest block stays), or one on the recipient allowlist
(ignored by design, SPEC §6), is visible at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from confluent_kafka import KafkaError, Producer
from suppressor_client.lists import parse_pool
from suppressor_client.records import format_timestamp
from suppressor_client.types import (
    CATEGORY_OF,
    SUPPRESSION_LISTS,
    Command,
    CommandType,
    DomainRule,
    ListName,
    Reason,
)
from suppressor_client.uri import compile_pattern
from suppressor_client.view import ListView

from workers.client.sender import SenderClient
from workers.domain.events import parse_command
from workers.kafka.producing import ProduceFailed, produce_acknowledged, produce_retrying
from workers.kafka.topics import COMMANDS
from workers.settings import Settings

__all__ = [
    "VISIBLE",
    "CommandError",
    "CommandWriter",
    "SubmitsOne",
    "WriteResult",
    "effect_visible",
]


class CommandError(RuntimeError):
    """The broker did not take a command (gone, topic missing); the message says which."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """One command written: its id, whether its effect became visible, and how long that took."""

    event_id: str
    visible: bool
    waited_s: float
    command: Command | None = None  # as the worker reads it: subject normalised


# --- what "visible" means, per command type ---------------------------------------------

_Predicate = Callable[[ListView, Command, Mapping[str, DomainRule]], bool]


def _active(view: ListView, cmd: Command, name: ListName) -> bool:
    return any(
        e.active and e.list is name for e in view.address_entries(cmd.account_id, cmd.email or "")
    )


def _listed(name: ListName) -> _Predicate:
    return lambda view, cmd, _pool: _active(view, cmd, name)


def _unlisted(name: ListName) -> _Predicate:
    return lambda view, cmd, _pool: not _active(view, cmd, name)


def _blocked(view: ListView, cmd: Command, _pool: Mapping[str, DomainRule]) -> bool:
    """The entry's list holds the address, or the recipient allowlist made the block a no-op."""
    reason = cmd.reason if cmd.reason is not None else Reason.MANUAL
    target = SUPPRESSION_LISTS[CATEGORY_OF[reason]]
    return _active(view, cmd, target) or _active(view, cmd, ListName.RECIPIENT_ALLOW)


def _unblocked(view: ListView, cmd: Command, _pool: Mapping[str, DomainRule]) -> bool:
    """No suppression from at or before the unblock is left (later ones may stand)."""
    suppressions = frozenset(SUPPRESSION_LISTS.values())
    return not any(
        e.active and e.list in suppressions and (e.since is None or e.since <= cmd.occurred_at)
        for e in view.address_entries(cmd.account_id, cmd.email or "")
    )


def _rule(view: ListView, cmd: Command) -> DomainRule | None:
    lists = view.account_lists(cmd.account_id)
    return lists.domain_rules.get(cmd.domain or "") if lists is not None else None


def _rule_set(view: ListView, cmd: Command, _pool: Mapping[str, DomainRule]) -> bool:
    rule = _rule(view, cmd)
    return (
        rule is not None
        and rule.send_block == cmd.send_block
        and rule.collection_block == cmd.collection_block
    )


def _rule_removed(view: ListView, cmd: Command, _pool: Mapping[str, DomainRule]) -> bool:
    return _rule(view, cmd) is None


def _domain_allowed(view: ListView, cmd: Command) -> bool:
    lists = view.account_lists(cmd.account_id)
    return lists is not None and (cmd.domain or "") in lists.domain_allow


def _uri_listed(view: ListView, cmd: Command) -> bool:
    lists = view.account_lists(cmd.account_id)
    return lists is not None and (cmd.pattern or "") in lists.uri_patterns


def _created(view: ListView, cmd: Command, pool: Mapping[str, DomainRule]) -> bool:
    """Every pool domain carries a rule (an account created earlier may have changed them)."""
    lists = view.account_lists(cmd.account_id)
    rules = lists.domain_rules if lists is not None else {}
    return all(pattern in rules for pattern in pool)


VISIBLE: Mapping[CommandType, _Predicate] = {
    CommandType.ACCOUNT_CREATE: _created,
    CommandType.DOMAIN_RULE_SET: _rule_set,
    CommandType.DOMAIN_RULE_REMOVE: _rule_removed,
    CommandType.DOMAIN_ALLOW_ADD: lambda view, cmd, _pool: _domain_allowed(view, cmd),
    CommandType.DOMAIN_ALLOW_REMOVE: lambda view, cmd, _pool: not _domain_allowed(view, cmd),
    CommandType.ADDRESS_BLOCK: _blocked,
    CommandType.IMPORT_ROW: _blocked,
    CommandType.ADDRESS_UNBLOCK: _unblocked,
    CommandType.ADDRESS_ALLOW: _listed(ListName.ADDRESS_ALLOW),
    CommandType.ADDRESS_DISALLOW: _unlisted(ListName.ADDRESS_ALLOW),
    CommandType.ALLOWLIST_ADD: _listed(ListName.RECIPIENT_ALLOW),
    CommandType.ALLOWLIST_REMOVE: _unlisted(ListName.RECIPIENT_ALLOW),
    CommandType.URI_ADD: lambda view, cmd, _pool: _uri_listed(view, cmd),
    CommandType.URI_REMOVE: lambda view, cmd, _pool: not _uri_listed(view, cmd),
}
"""Per command type: does the view already show what the command asks for?"""


def effect_visible(
    view: ListView, command: Command, pool: Mapping[str, DomainRule] | None = None
) -> bool:
    """Whether ``view`` reflects ``command``; ``pool`` is the default pool (account.create)."""
    return VISIBLE[command.type](view, command, pool or {})


# --- the writer ---------------------------------------------------------------------------


def _prepare(command: Mapping[str, Any]) -> tuple[bytes, Command]:
    """Fill ``event_id`` and ``occurred_at`` when missing, encode, validate as the worker does."""
    body = dict(command)
    if "event_id" not in body:  # not setdefault: its default would cost a urandom call each time
        body["event_id"] = uuid.uuid4().hex
    if "occurred_at" not in body:
        body["occurred_at"] = format_timestamp(datetime.now(UTC))
    raw = orjson.dumps(body)
    parsed = parse_command(raw)
    if parsed.type is CommandType.URI_ADD:
        compile_pattern(parsed.pattern or "")  # the worker refuses what does not compile
    return raw, parsed


class _SubmitsMany(Protocol):
    def submit_many(
        self, commands: Iterable[Mapping[str, Any]], *, wait: float | None
    ) -> list[WriteResult]: ...


class SubmitsOne:
    """``submit`` as one command through ``submit_many``, written once for every writer.

    The command writer and an in-memory stand-in differ only in how they write a batch.
    """

    def submit(
        self: _SubmitsMany, command: Mapping[str, Any], *, wait: float | None = 10.0
    ) -> WriteResult:
        """Write one command; with ``wait``, return once its effect is visible (or time out).

        Raises ``InputError`` for a command the worker would refuse, ``CommandError``
        when the broker does not take it.
        """
        return self.submit_many([command], wait=wait)[0]


class _Walk:
    """Written commands walked in order as their effects show (each check a dict lookup)."""

    def __init__(
        self,
        parsed: list[Command],
        pool: Mapping[str, DomainRule],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.parsed = parsed
        self.pool = pool
        self.progress = progress
        self.seen_at: list[float | None] = [None] * len(parsed)
        self.position = 0  # the commands before it showed

    def advance(self, view: ListView) -> bool:
        """Walk the commands now visible; whether all of them are."""
        parsed, first = self.parsed, self.position
        position = first
        while position < len(parsed) and effect_visible(view, parsed[position], self.pool):
            self.seen_at[position] = time.monotonic()
            position += 1
        self.position = position
        if self.progress is not None and position > first:
            self.progress(position - first)
        return position == len(parsed)


class CommandWriter(SubmitsOne):
    """Writes commands to suppression-commands and waits until their effect is visible."""

    def __init__(
        self,
        settings: Settings,
        client: SenderClient,
        *,
        pool: Mapping[str, DomainRule] | None = None,
    ) -> None:
        self.client = client
        self.topic = settings.topic(COMMANDS)
        self._bootstrap = settings.bootstrap_servers
        self._pool = pool if pool is not None else parse_pool(settings.default_domain_pool)
        self._producer = Producer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.timeout.ms": 30_000,
                # in flight at most: a long import waits for acks here (its backpressure)
                # instead of holding ~100 MB of queued commands when the broker is slower
                "queue.buffering.max.messages": 50_000,
                "log_level": 0,
            }
        )
        self._failures: list[str] = []  # delivery errors of ``send_checked``, for ``settle``

    def submit_many(
        self,
        commands: Iterable[Mapping[str, Any]],
        *,
        wait: float | None = 60.0,
        progress: Callable[[int], None] | None = None,
        window: int | None = None,
    ) -> list[WriteResult]:
        """Write commands in order; ``progress(n)`` reports n more done (visible, or written).

        Every command is validated before the first is produced, so a bad one writes none.
        With ``wait`` and ``window``, no more than ``window`` written commands are not yet
        visible at a time (an import's rows: what other traffic on the worker's partitions
        would queue behind, ``settings.import_window_rows``); a window not freed by the
        deadline ends the holding, and the rest is written at once.
        """
        prepared = [_prepare(c) for c in commands]
        started = time.monotonic()
        records = [(c.account_id.encode(), raw) for raw, c in prepared]
        parsed = [c for _raw, c in prepared]
        if wait is None:
            self._produce(records)
            if progress is not None and parsed:
                progress(len(parsed))
            return [WriteResult(c.event_id, False, 0.0, c) for c in parsed]
        deadline = started + wait
        walk = _Walk(parsed, self._pool, progress)
        written = 0
        if window is not None:
            step = max(1, window // 2)
            while written + step < len(records):
                self._produce(records[written : written + step])
                written += step
                # room for the next step: at most ``window`` written and not visible after it
                if not self._hold(walk, written + step - window, deadline):
                    break
        self._produce(records[written:])
        self._hold(walk, len(parsed), deadline)
        for index in range(walk.position, len(parsed)):  # time is up: which did show anyway?
            if effect_visible(self.client.view, parsed[index], self._pool):
                walk.seen_at[index] = time.monotonic()
        return [
            WriteResult(c.event_id, at is not None, (at or time.monotonic()) - started, c)
            for c, at in zip(parsed, walk.seen_at, strict=True)
        ]

    def _hold(self, walk: _Walk, position: int, deadline: float) -> bool:
        """Wait until the commands before ``position`` showed; whether they did in time."""
        if not self.client.wait_ready(max(0.0, deadline - time.monotonic())):
            return False
        return self.client.wait_until(
            lambda view: walk.advance(view) or walk.position >= position,
            max(0.0, deadline - time.monotonic()),
        )

    def send_checked(self, key: bytes, records: Iterable[bytes]) -> None:
        """Queue encoded commands under one key without waiting for the broker (a long import).

        The caller has checked them as the worker's parser would (an import's
        ``import.rows`` records are checked by the file's row rules,
        ``workers.service.import_stream``), so each costs only its produce. A full local
        queue waits for room: that is the backpressure, and the next batch is built while
        this one is in flight. ``settle`` waits for every ack and raises what failed.
        """
        producer, topic, delivered = self._producer, self.topic, self._delivered
        for raw in records:
            produce_retrying(producer, topic, raw, key, delivered)
        producer.poll(0)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the broker acknowledged everything ``send_checked`` queued."""
        left = self._producer.flush(timeout)
        self._raise_failure(f"{left} records not acknowledged after {timeout}s" if left else None)

    def check(self) -> None:
        """Raise what ``send_checked``'s records met so far, without waiting for the rest."""
        self._producer.poll(0)
        self._raise_failure(None)

    def _raise_failure(self, otherwise: str | None) -> None:
        failure = self._failures[0] if self._failures else otherwise
        self._failures.clear()
        if failure is not None:
            raise CommandError(f"could not write to {self.topic} at {self._bootstrap}: {failure}")

    def _delivered(self, err: KafkaError | None, _msg: object) -> None:
        if err is not None and len(self._failures) < 10:
            self._failures.append(str(err))

    def _produce(self, records: list[tuple[bytes, bytes]]) -> None:
        try:
            produce_acknowledged(self._producer, self.topic, records, timeout=30.0)
        except ProduceFailed as error:
            raise CommandError(
                f"could not write to {self.topic} at {self._bootstrap}: {error}"
            ) from None

    def close(self) -> None:
        self._producer.flush(10.0)
