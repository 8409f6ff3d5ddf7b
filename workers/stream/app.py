"""The faust app: topics, tables, agents and the expiry timer. Plumbing only.

Data flow (SPEC §1-3):

    customer-events ──gate──> customer-events.accepted | .rejected | .dlq
    delivery-events ──route──┐
    suppression-commands ─route─┬──> <app>-address-ops (key: account+address) ──> address table ─┐
                                └──> <app>-account-ops (key: account) ──> account table ──────────┤
    expiry timer (reads the expiry index) ──> <app>-address-ops ticks                              │
                                                                   suppressions (compacted) <─────┘

Every record a keyed agent handles reaches it through a repartition topic keyed by what
its table is keyed by, so the state of one key lives on exactly one partition whatever
key the producer used. The gate needs only domain rules: it reads them from the
``suppressions`` topic itself (a ``SuppressionFeed`` holding the domain-rule lists), so no
customer event waits on a remote call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from workers import metrics
from workers.client.feed import SuppressionFeed
from workers.domain.accounts import ACCOUNT_COMMANDS
from workers.domain.errors import InputError, TooLarge
from workers.domain.events import parse_command, parse_customer_event, parse_delivery_event
from workers.domain.ladder_state import LadderConfig
from workers.domain.lists import gate, parse_pool
from workers.domain.records import encode_dlq, encode_key, encode_record, encode_rejected
from workers.domain.types import PLATFORM_ACCOUNT, ListName
from workers.settings import Settings
from workers.stream import counts, expiry, handlers
from workers.stream.publishing import Outgoing
from workers.tools.topics import (
    ACCEPTED,
    COMMANDS,
    CUSTOMER_EVENTS,
    DELIVERY_EVENTS,
    REJECTED,
    SUPPRESSIONS,
    dlq_of,
)

__all__ = ["SuppressorApp", "build_app"]

log = logging.getLogger(__name__)

_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def _now() -> datetime:
    return datetime.now(UTC)


class SuppressorApp:
    """Builds and holds the faust app for one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = LadderConfig(steps=settings.ladder_steps, quiet_period=settings.quiet_period)
        self.pool = parse_pool(settings.default_domain_pool)
        n = settings.partitions
        app = self.faust = faust.App(
            settings.app_id,
            broker=f"kafka://{settings.bootstrap_servers}",
            store="rocksdb://",
            datadir=str(settings.data_dir),
            topic_partitions=n,
            topic_replication_factor=settings.replication,
            processing_guarantee=settings.processing_guarantee,
            consumer_auto_offset_reset="earliest",
            web_enabled=False,
            web_port=settings.web_port,
            producer_linger_ms=2,
            broker_commit_interval=1.0,
            stream_buffer_maxsize=4096,
            table_standby_replicas=0,
            broker_session_timeout=settings.session_timeout.total_seconds(),
            broker_heartbeat_interval=max(1.0, settings.session_timeout.total_seconds() / 4),
        )
        t = settings.topic
        self.customer_in = app.topic(t(CUSTOMER_EVENTS), **_RAW)
        self.delivery_in = app.topic(t(DELIVERY_EVENTS), **_RAW)
        self.commands_in = app.topic(t(COMMANDS), **_RAW)
        self.accepted = app.topic(t(ACCEPTED), **_RAW)
        self.rejected = app.topic(t(REJECTED), **_RAW)
        self.suppressions = app.topic(t(SUPPRESSIONS), **_RAW)
        self.dlq = {
            name: app.topic(t(dlq_of(name)), **_RAW)
            for name in (CUSTOMER_EVENTS, DELIVERY_EVENTS, COMMANDS)
        }
        internal: dict[str, Any] = {"partitions": n, "internal": True, **_RAW}
        self.address_ops = app.topic(f"{settings.app_id}-address-ops", **internal)
        self.account_ops = app.topic(f"{settings.app_id}-account-ops", **internal)
        table: dict[str, Any] = {"partitions": n, "key_type": bytes, "value_type": bytes}
        self.address_table = app.Table("address-state", **table)
        self.account_table = app.Table("account-state", **table)
        self.expiry_index = app.Table("expiry-index", **table)
        self.counts = app.Table("entry-counts", **table)
        self.expiry = expiry.ExpiryIndex(self.expiry_index)
        self.rules = SuppressionFeed(
            settings.bootstrap_servers,
            t(SUPPRESSIONS),
            lists=(ListName.DOMAIN_RULE,),
            on_error=lambda msg: log.warning("domain-rule feed: %s", msg),
        )
        app.agent(self.customer_in, name="gate")(self._gate)
        app.agent(self.delivery_in, name="route-deliveries")(self._route_deliveries)
        app.agent(self.commands_in, name="route-commands")(self._route_commands)
        app.agent(self.address_ops, name="addresses")(self._addresses)
        app.agent(self.account_ops, name="accounts")(self._accounts)
        app.timer(settings.expiry_interval.total_seconds(), name="expire")(self._expire_due)
        app.timer(5.0, name="gauges")(self._gauges)

    # --- helpers --------------------------------------------------------------------

    async def _too_large_or_none(self, topic: str, event: EventT[bytes]) -> bool:
        """Send an oversized record to the DLQ; True when it was."""
        value = event.value
        if value is not None and len(value) > self.settings.max_record_bytes:
            error = TooLarge(
                f"record of {len(value)} bytes exceeds {self.settings.max_record_bytes} bytes"
            )
            await self._to_dlq(topic, event, error)
            return True
        return False

    async def _to_dlq(self, topic: str, event: EventT[bytes], error: InputError) -> None:
        msg = event.message
        await self.dlq[topic].send(
            key=event.key,
            value=encode_dlq(
                self.settings.topic(topic),
                msg.partition,
                msg.offset,
                error,
                event.value or b"",
                event.key,
                _now(),
            ),
        )
        metrics.DLQ_RECORDS.labels(topic, error.code).inc()

    async def _send_out(self, out: list[Outgoing]) -> None:
        for key, record in out:
            value = encode_record(record) if record is not None else None
            await self.suppressions.send(key=encode_key(key), value=value)
            if record is not None:
                reason = str(int(record.reason)) if record.reason is not None else "none"
                op = "upsert" if record.active else "release"
                metrics.SUPPRESSION_CHANGES.labels(key.list.value, op, reason).inc()

    @staticmethod
    def _observe(topic: str, event: EventT[bytes]) -> None:
        ts = event.message.timestamp
        if ts:
            metrics.PROCESSING_LATENCY.labels(topic).observe(max(0.0, time.time() - ts))

    # --- agents ---------------------------------------------------------------------

    async def _gate(self, stream: faust.StreamT[bytes]) -> None:
        # Domain rules first, or events for blocked domains would slip through at start-up.
        await asyncio.get_running_loop().run_in_executor(None, self.rules.start)
        while not self.rules.ready:
            await asyncio.sleep(0.05)
        async for event in stream.events():
            if await self._too_large_or_none(CUSTOMER_EVENTS, event):
                continue
            try:
                parsed = parse_customer_event(event.value)
            except InputError as exc:
                await self._to_dlq(CUSTOMER_EVENTS, event, exc)
                continue
            metrics.EVENTS_IN.labels(CUSTOMER_EVENTS, parsed.source.value).inc()
            account = self.rules.view.account_lists(parsed.account_id)
            platform = self.rules.view.account_lists(PLATFORM_ACCOUNT)
            decision = gate(
                parsed,
                account.domain_rules if account else None,
                platform.domain_rules if platform else None,
            )
            if decision.accepted:
                await self.accepted.send(key=event.key, value=event.value)
                metrics.CUSTOMER_EVENTS.labels("accepted", "none").inc()
            else:
                rejected = encode_rejected(
                    parsed,
                    event.value or b"",
                    rule=decision.rule or "collection_block",
                    pattern=decision.pattern,
                    rejected_at=_now(),
                )
                await self.rejected.send(key=event.key, value=rejected)
                metrics.CUSTOMER_EVENTS.labels("rejected", decision.rule or "none").inc()
            self._observe(CUSTOMER_EVENTS, event)

    async def _route_deliveries(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if await self._too_large_or_none(DELIVERY_EVENTS, event):
                continue
            try:
                parsed = parse_delivery_event(event.value)
            except InputError as exc:
                await self._to_dlq(DELIVERY_EVENTS, event, exc)
                continue
            metrics.EVENTS_IN.labels(DELIVERY_EVENTS, parsed.type.value).inc()
            await self.address_ops.send(
                key=handlers.address_key(parsed.account_id, parsed.email),
                value=handlers.DELIVERY + (event.value or b""),
            )

    async def _route_commands(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if await self._too_large_or_none(COMMANDS, event):
                continue
            try:
                cmd = parse_command(event.value)
            except InputError as exc:
                await self._to_dlq(COMMANDS, event, exc)
                continue
            metrics.EVENTS_IN.labels(COMMANDS, cmd.type.value).inc()
            value = handlers.COMMAND + (event.value or b"")
            if cmd.type in ACCOUNT_COMMANDS:
                await self.account_ops.send(key=cmd.account_id.encode(), value=value)
            elif cmd.email is not None:
                key = handlers.address_key(cmd.account_id, cmd.email)
                await self.address_ops.send(key=key, value=value)

    async def _addresses(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            account_id, address = handlers.split_address_key(event.key)
            try:
                result = handlers.handle_address(
                    self.address_table.get(event.key), event.value, account_id, address, self.config
                )
            except InputError as exc:  # validated before routing; kept for safety
                log.error("address op refused for key %r: %s", event.key, exc)
                continue
            self.address_table[event.key] = result.stored
            self.expiry.move(event.key, result.expiry_before, result.expiry_after)
            counts.add(self.counts, result.counts)
            await self._send_out(result.out)
            if result.outcome is not None and result.step is not None:
                metrics.LADDER_TRANSITIONS.labels(result.outcome.value, result.step).inc()
            if event.value[:1] == handlers.EXPIRE:
                released = sum(1 for _k, r in result.out if r is not None and not r.active)
                metrics.EXPIRIES.inc(released)
            else:
                self._observe("address-ops", event)

    async def _accounts(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                result = handlers.handle_account(
                    self.account_table.get(event.key), event.value, self.pool
                )
            except InputError as exc:
                await self._to_dlq(COMMANDS, event, exc)
                continue
            self.account_table[event.key] = result.stored
            await self._send_out(result.out)

    # --- timers ---------------------------------------------------------------------

    async def _expire_due(self) -> None:
        """Ask the owner of every key whose entry expired to release it (via its partition)."""
        now = _now()
        count, due = self.expiry.due(now)
        metrics.ENTRIES_DUE.set(count)
        for key in due:
            await self.address_ops.send(key=key, value=handlers.expire_tick(now))

    async def _gauges(self) -> None:
        """Table sizes, entry counts and lag: read from RocksDB and the consumer, cheaply."""
        for name, table in (
            ("address-state", self.address_table),
            ("account-state", self.account_table),
            ("expiry-index", self.expiry_index),
        ):
            metrics.TABLE_KEYS.labels(name).set(expiry.count_keys(table))
        totals = counts.totals(self.counts)
        metrics.set_entries(totals)
        self._lag()

    def _topic_label(self, topic: str) -> str:
        """A topic name without the deployment's prefix or app id: a bounded label value."""
        name = topic.removeprefix(self.settings.topic_prefix)
        return name.removeprefix(f"{self.settings.app_id}-")

    def _lag(self) -> None:
        consumer = self.faust.consumer
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            committed = getattr(consumer, "_committed_offset", {}).get(tp)  # no public API
            if highwater is None or committed is None:
                continue
            name = self._topic_label(tp.topic)
            lag[name] = lag.get(name, 0) + max(0, highwater - committed)
        for name, value in lag.items():
            metrics.CONSUMER_LAG.labels(name).set(value)


def build_app(settings: Settings) -> SuppressorApp:
    return SuppressorApp(settings)
