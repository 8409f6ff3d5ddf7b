"""The faust app: topics, tables, agents and the expiry timer. Plumbing only.

Data flow (SPEC §1-3):

    front stage (``front``, confluent-kafka, stateless, in a child process):
    customer-events ──gate──> customer-events.accepted | .rejected | .dlq
    delivery-events ──route──┐
    suppression-commands ─route─┬──> <app>-address-ops (key: account+address)
                                └──> <app>-account-ops (key: account)
    keyed stage (faust agents, RocksDB tables):
    <app>-address-ops ──> address table (ladder) ──┐
    <app>-account-ops ──> account table (rules) ───┼──> suppressions (compacted)
    expiry timer (reads the expiry index) ──> <app>-address-ops ticks

Every record a keyed agent handles reaches it through an ops topic keyed by what its
table is keyed by, so the state of one key lives on exactly one partition whatever key
the producer used. The gate needs only domain rules: it reads them from the
``suppressions`` topic itself (a ``SuppressionFeed`` holding the domain-rule lists), so no
customer event waits on a remote call.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT
from suppressor_client.errors import as_input_error
from suppressor_client.lists import parse_pool
from suppressor_client.records import encode_dlq, encode_key, encode_record

from workers import metrics
from workers.kafka.faust_store import PartitionWrites, committed_offset, count_keys
from workers.kafka.faust_tuning import shorten_fetch_wait
from workers.kafka.rdkafka_sink import FlushBeforeCommit, RdKafkaSink, route_changelog
from workers.kafka.topics import (
    ACCOUNT_OPS,
    ACCOUNT_TABLE,
    ADDRESS_OPS,
    ADDRESS_TABLE,
    COMMANDS,
    COUNTS_TABLE,
    DELIVERY_EVENTS,
    EXPIRY_TABLE,
    SUPPRESSIONS,
    dlq_of,
    ops_topic,
)
from workers.settings import Settings
from workers.stream import bundles, counts, expiry, handlers, ops_codec
from workers.stream.first_entry import first_entry
from workers.stream.metric_batch import MetricBatch
from workers.stream.publishing import Outgoing

__all__ = ["SuppressorApp"]

log = logging.getLogger(__name__)

_RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


_ROCKSDB: dict[str, int] = {
    "write_buffer_size": 8 << 20,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 << 20,
    "bloom_filter_size": 10,
}
"""Per table partition (16 of them at 4 partitions). faust's defaults (64 MiB write
buffers, three of them, and a 2 GiB block cache each) let a worker that writes a
million states hold ~500 MB of memtables; these keep it bounded (benchmarks/bench_import.py)."""


Sent = tuple[bytes, bytes | None, tuple[str, str, str] | None]
"""A ``suppressions`` record to send: key, value (None: a tombstone) and, for a change,
its labels of ``SUPPRESSION_CHANGES`` (list, op, reason)."""

_INPUT_OF_KIND = {
    handlers.DELIVERY: DELIVERY_EVENTS,
    ops_codec.DELIVERED: DELIVERY_EVENTS,
    ops_codec.LADDER: DELIVERY_EVENTS,
    handlers.COMMAND: COMMANDS,
    ops_codec.ADDRESS_COMMAND: COMMANDS,
    # a torn bundle (never written so) goes whole, with its deliveries too: one input, as
    # a torn record's kind cannot be known
    bundles.BUNDLE: COMMANDS,
}
"""The input each kind of ops record came from: its DLQ and its metric label (an expiry
tick, the keyed stage's own, has none)."""


def _now() -> datetime:
    return datetime.now(UTC)


class SuppressorApp:
    """Builds and holds the faust app for one set of settings."""

    def __init__(self, settings: Settings) -> None:
        shorten_fetch_wait()
        self.settings = settings
        self.config = settings.ladder()
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
            producer_linger_ms=20,
            producer_max_batch_size=262144,
            broker_commit_interval=1.0,
            stream_buffer_maxsize=4096,
            table_standby_replicas=0,
            broker_session_timeout=settings.session_timeout.total_seconds(),
            broker_heartbeat_interval=max(1.0, settings.session_timeout.total_seconds() / 4),
        )
        self.suppressions = app.topic(settings.topic(SUPPRESSIONS), **_RAW)
        self._suppressions_topic = self.suppressions.get_topic_name()
        self.dlqs = {
            name: app.topic(settings.topic(dlq_of(name)), **_RAW)
            for name in (DELIVERY_EVENTS, COMMANDS)
        }
        internal: dict[str, Any] = {"partitions": n, "internal": True, **_RAW}
        self.address_ops = app.topic(ops_topic(settings, ADDRESS_OPS), **internal)
        self.account_ops = app.topic(ops_topic(settings, ACCOUNT_OPS), **internal)
        table: dict[str, Any] = {
            "partitions": n,
            "key_type": bytes,
            "value_type": bytes,
            "options": _ROCKSDB,
        }
        self.address_table = app.Table(ADDRESS_TABLE, **table)
        self.account_table = app.Table(ACCOUNT_TABLE, **table)
        self.expiry_index = app.Table(EXPIRY_TABLE, **table)
        self.counts = app.Table(COUNTS_TABLE, **table)
        self.expiry = expiry.ExpiryIndex(self.expiry_index)
        # Changelogs and outputs through librdkafka, flushed before every commit (see
        # workers/kafka/rdkafka_sink.py); faust's transactions would not cover it.
        with_sink = settings.processing_guarantee == "at_least_once"
        self.entry_counts = counts.Counts(
            self.counts,
            self.address_table,
            handlers.entry_counts,
            ready=lambda: not app.rebalancing,
            reuse_slots=with_sink,  # the sink persists the changelog offsets at each flush
        )
        self.batch = MetricBatch(metrics.PROCESSING_LATENCY)
        self.sink: RdKafkaSink | None = None
        if with_sink:
            self.sink = RdKafkaSink(settings.bootstrap_servers)
            for stored in (self.address_table, self.account_table, self.expiry_index, self.counts):
                route_changelog(stored, self.sink)
            # after the changelogs' offsets are persisted (their callbacks come first): the
            # entry-count markers' slots rely on it (workers/stream/counts.py)
            self.sink.after_flush(self.entry_counts.flushed)
        # Without the sink faust's producer carries the counts: their markers go only once
        # faust's commit is complete, never right after the counts were handed to it.
        after_commit = self.entry_counts.flushed if self.sink is None else None
        app.sensors.add(
            FlushBeforeCommit(
                self.sink, before_flush=self._before_commit, after_commit=after_commit
            )
        )
        app.agent(self.address_ops, name="addresses")(self._addresses)
        app.agent(self.account_ops, name="accounts")(self._accounts)
        app.timer(settings.expiry_interval.total_seconds(), name="expire")(self._expire_due)
        app.timer(5.0, name="gauges")(self._gauges)

    # --- helpers --------------------------------------------------------------------

    def _before_commit(self) -> None:
        """What waits for a commit: metrics and entry counts (before the sink's flush)."""
        self.batch.flush()
        self.entry_counts.flush()

    async def _refuse(
        self, event: EventT[bytes], key: bytes | None, value: bytes, exc: Exception
    ) -> None:
        """A record the keyed stage cannot apply goes to the DLQ of the input it came from.

        Its original bytes are kept; its position is the one of the ops record (``event``)
        that carried it, alone or in a bundle.
        """
        error = as_input_error(exc)
        kind, original = value[:1], value[1:]
        source = _INPUT_OF_KIND.get(kind)
        if source is None:  # an expiry tick: nothing to dead-letter, the next tick tries again
            log.error("expiry tick for %r failed: %s", event.key, error.message)
            return
        msg = event.message
        now = _now()
        record = encode_dlq(msg.topic, msg.partition, msg.offset, error, original, key, now)
        await self.dlqs[source].send(key=key, value=record)
        metrics.DLQ_RECORDS.labels(source, error.code).inc()

    @staticmethod
    def _encode(out: list[Outgoing]) -> list[Sent]:
        sent: list[Sent] = []
        for key, record in out:
            if record is None:  # a tombstone: no change to count
                sent.append((encode_key(key), None, None))
                continue
            reason = str(int(record.reason)) if record.reason is not None else "none"
            op = "upsert" if record.active else "release"
            sent.append((encode_key(key), encode_record(record), (key.list.value, op, reason)))
        return sent

    async def _send_out(self, sent: list[Sent]) -> None:
        topic = self._suppressions_topic
        for key, value, labels in sent:
            if self.sink is not None:
                self.sink.produce(topic, key, value)
            else:
                await self.suppressions.send(key=key, value=value)
            if labels is not None:
                self.batch.inc(metrics.SUPPRESSION_CHANGES, *labels)

    def _observe(self, topic: str, event: EventT[bytes]) -> None:
        ts = event.message.timestamp
        if ts:
            self.batch.observe(topic, max(0.0, time.time() - ts))

    # --- agents ---------------------------------------------------------------------

    async def _addresses(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            value = event.value or b""
            # the states of one ops record go into RocksDB at once, when it is done
            if value[:1] != bundles.BUNDLE:
                items = [(event.key, value)]
            else:
                try:
                    items = bundles.decode_bundle(value)
                except ValueError as exc:
                    await self._refuse(event, event.key, value, exc)
                    continue
            # the states of one ops record go into RocksDB at once, when it is done (or fails)
            writes = PartitionWrites(self.address_table, event.message.partition)
            firsts = 0
            try:
                for index, (key, op) in enumerate(items):  # in order, each as if it came alone
                    # one RocksDB lookup: faust's table.get makes two (``in``, then the
                    # read), calls the table sensors and raises a KeyError when missing
                    stored = writes.get(key)
                    if stored is None and self._first_entry(event, key, op, index, writes):
                        firsts += 1
                    else:
                        await self._address(event, key, op, index, writes, stored=stored)
            finally:
                writes.write()
            if firsts:  # the items of a record share its time: one latency sample for them
                self._observe(ADDRESS_OPS, event)

    def _first_entry(
        self, event: EventT[bytes], key: bytes, op: bytes, index: int, writes: PartitionWrites
    ) -> bool:
        """An address's first entry (``first_entry``), stored and sent without an ``await``
        (the caller found no state for ``key``): what nearly every import row is. False
        leaves the record to ``_address``: it is not one, or it fails (``_address`` says
        why), or faust's producer sends the outputs. The caller samples the latency, once
        for the record's first entries."""
        sink = self.sink
        if sink is None:
            return False
        msg = event.message
        try:
            account_id, address = handlers.split_address_key(key)
            first = first_entry(op, account_id, address, (msg.partition, msg.offset, index))
        except Exception:  # a worker never crashes on input: _address refuses it
            return False
        if first is None:
            return False
        self.entry_counts.add(writes.partition, first.counts, key)  # before the state
        writes.set(key, first.stored)
        self.expiry.move(key, None, None)
        sink.produce(self._suppressions_topic, first.key, first.value)
        self.batch.inc(metrics.SUPPRESSION_CHANGES, first.list_name, "upsert", first.reason_label)
        return True

    async def _address(
        self,
        event: EventT[bytes],
        key: bytes,
        op: bytes,
        index: int,
        writes: PartitionWrites,
        *,
        stored: bytes | None,
    ) -> None:
        """One internal record of (account, address): ``event`` is the ops record carrying
        it, ``index`` its place in that record's bundle (0 for a record alone), ``writes``
        the states of that record's items so far (written to RocksDB before any ``await``
        that can yield: a commit, or the expiry timer, must find them there), ``stored``
        the key's state as ``writes`` holds it."""
        msg = event.message
        position = (msg.partition, msg.offset, index)
        result: handlers.AddressResult | None = None
        encoded: list[Sent] = []
        try:  # everything that can fail (a key that is not UTF-8 too), before anything is written
            account_id, address = handlers.split_address_key(key)
            result = handlers.handle_address(
                stored, op, account_id, address, self.config, position=position
            )
            encoded = self._encode(result.out) if result is not None else []
        except Exception as exc:  # a worker never crashes on input
            writes.write()  # the DLQ send can yield
            await self._refuse(event, key, op, exc)
            return
        if result is None:  # a delivery that changes nothing: nothing to write or send
            self._observe(ADDRESS_OPS, event)
            return
        if result.stored is not None:  # else an outcome that lists nothing: no write
            expiry = (result.expiry_before, result.expiry_after)
            await self._store(
                writes, key, stored=result.stored, counts=result.counts, expiry=expiry, sent=encoded
            )
        if result.outcome is not None and result.ladder_move is not None:
            self.batch.inc(metrics.LADDER_TRANSITIONS, result.outcome.value, result.ladder_move)
        if op[:1] == handlers.EXPIRE:
            released = sum(1 for _k, r in result.out if r is not None and not r.active)
            self.batch.inc(metrics.EXPIRIES, amount=released)
        else:
            self._observe(ADDRESS_OPS, event)

    async def _store(
        self,
        writes: PartitionWrites,
        key: bytes,
        *,
        stored: bytes,
        counts: list[tuple[bytes, int]],
        expiry: tuple[datetime | None, datetime | None],
        sent: list[Sent],
    ) -> None:
        """Write one address's new state (its expiry before and after) and send its records."""
        self.entry_counts.add(writes.partition, counts, key)  # before the state
        # straight into the partition's RocksDB and changelog: faust's ``table[key] =``
        # adds a key index, the table sensors and its serializers for every item
        writes.set(key, stored)
        self.expiry.move(key, *expiry)
        if self.sink is None:  # faust's producer sends the outputs: its sends can yield
            writes.write()
        await self._send_out(sent)

    async def _accounts(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:  # a command that parsed but cannot apply (a bad pattern) is refused here
                result = handlers.handle_account(
                    self.account_table.get(event.key), event.value, self.pool
                )
                encoded = self._encode(result.out)
            except Exception as exc:  # a worker never crashes on input
                await self._refuse(event, event.key, event.value or b"", exc)
                continue
            self.account_table[event.key] = result.stored
            await self._send_out(encoded)

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
            (ADDRESS_TABLE, self.address_table),
            (ACCOUNT_TABLE, self.account_table),
            (EXPIRY_TABLE, self.expiry_index),
        ):
            metrics.TABLE_KEYS.labels(name).set(count_keys(table))
        self.entry_counts.check()
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
            committed = committed_offset(consumer, tp)
            if highwater is None or committed is None:
                continue
            name = self._topic_label(tp.topic)
            lag[name] = lag.get(name, 0) + max(0, highwater - committed)
        metrics.set_lag(lag)
