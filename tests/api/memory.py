"""An in-memory sender client and command writer for API tests that need no broker.

``MemoryLists`` is both: a command it is given runs through the worker's own pure
handlers (``workers.stream.handlers``) and the records they would publish are applied
to a ``ListView`` at once, so a write is visible to the next read exactly as the real
worker and feed would make it. ``hold_writes`` keeps commands from applying, to see
the API's 202 answer.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from suppressor_client.lists import parse_pool
from suppressor_client.records import format_timestamp
from suppressor_client.sender import ViewDecisions
from suppressor_client.view import ListView

from workers.client.commands import SubmitsOne, WriteResult
from workers.client.sender import Staleness
from workers.domain.events import MAX_RECORD_BYTES, parse_command, parse_command_record
from workers.kafka.topics import ADDRESS_OPS, COMMANDS
from workers.settings import Settings
from workers.stream.handlers import handle_account, handle_address, split_address_key
from workers.stream.publishing import Outgoing
from workers.stream.routing import route

__all__ = ["MemoryLists"]


class MemoryLists(ViewDecisions, SubmitsOne):
    """A ``Reader`` and a ``Writer`` over one in-memory view."""

    def __init__(self) -> None:
        self.view = ListView()
        self.lock = threading.Condition()
        self.ready = True
        self.hold_writes = False
        self.client = self  # what ``workers.service.list_tools.import_rows`` reads the view from
        self.commands: list[dict[str, Any]] = []
        self._config = Settings().ladder()
        self._pool = parse_pool(Settings().default_domain_pool)
        self._addresses: dict[bytes, bytes] = {}
        self._accounts: dict[str, bytes] = {}

    def staleness(self) -> Staleness:
        return Staleness(0, 0.5, self.ready)

    def wait_until(self, condition: Callable[[ListView], bool], timeout: float) -> bool:
        """Writes apply at once (unless held): the condition holds now or not before a release."""
        return condition(self.view)

    def submit_many(
        self,
        commands: Iterable[Mapping[str, Any]],
        *,
        wait: float | None = 60.0,
        progress: Callable[[int], None] | None = None,
        window: int | None = None,  # nothing to hold: every write applies at once
    ) -> list[WriteResult]:
        results = []
        for given in commands:
            body = {"event_id": uuid.uuid4().hex, "occurred_at": _now(), **given}
            raw = orjson.dumps(body)
            cmd = parse_command(raw)  # refuses what the real writer refuses
            self.commands.append(body)
            if not self.hold_writes:
                self._apply(cmd.account_id.encode(), raw)
            results.append(WriteResult(cmd.event_id, not self.hold_writes, 0.0, cmd))
            if progress is not None:
                progress(1)
        return results

    def send_checked(self, key: bytes, records: Iterable[bytes]) -> None:
        """Like the real writer's: applied at once (unless held), no ack to wait for."""
        for raw in records:
            parsed = parse_command_record(raw)  # a stand-in still refuses what the worker refuses
            assert parsed.account_id.encode() == key, "the key is the command's account"
            self.commands.append(orjson.loads(raw))
            if not self.hold_writes:
                self._apply(key, raw)

    def settle(self, timeout: float = 30.0) -> None:
        """Nothing is in flight: every command applied (or was held) as it was sent."""

    def check(self) -> None:
        """Nothing can have failed: there is no broker."""

    def _apply(self, key: bytes, raw: bytes) -> None:
        """What the worker does with a command: the front stage's routing, then the keyed
        stage's handler of each ops record."""
        now = datetime.now(UTC)
        routed = route(COMMANDS, 0, 0, key, raw, rules=lambda _account: None,
                       max_bytes=MAX_RECORD_BYTES, now=now, prefixed_topic=COMMANDS)  # fmt: skip
        assert routed.outcome == "routed", routed.outcome
        out: list[Outgoing] = []
        first = routed.out
        if first.topic == ADDRESS_OPS:
            for op_key, op in [(first.key, first.value), *routed.more]:
                assert op_key is not None
                account_id, email = split_address_key(op_key)
                stored = self._addresses.get(op_key)
                done = handle_address(stored, op, account_id, email, self._config)
                if done is None or done.stored is None:  # changes nothing: no record
                    continue
                self._addresses[op_key] = done.stored
                out += done.out
        else:
            account_id = key.decode()
            result = handle_account(self._accounts.get(account_id), first.value, self._pool)
            self._accounts[account_id] = result.stored
            out += result.out
        with self.lock:
            for list_key, record in out:
                self.view.apply(list_key, record)


def _now() -> str:
    return format_timestamp(datetime.now(UTC))
