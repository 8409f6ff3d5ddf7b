"""The front stage: the collection gate and the routers on a confluent-kafka loop.

Nothing before the keyed tables needs state, so this stage runs as a plain
consume -> decide -> produce loop in a thread of the worker's child process (librdkafka
does the network I/O in native threads), not through faust's per-message machinery: measured on
this project's benchmark it passes several times more events per second. Delivery events
and commands are re-keyed onto the ops topics with the Java-compatible murmur2
partitioner, the one aiokafka (and so faust) uses, so the faust agents and their tables
see every key on one partition whoever wrote it.

Address-level records go out in bundles (``bundles``): one ops record for the delivery
events and commands of one read that share a partition, so the keyed stage pays faust's
per-record cost once per bundle, not once per event or import row.

Offsets are committed only after the produced records were acknowledged: at least once.
Records go out as they are routed; every ``COMMIT_EVERY_S`` the stage waits for their
acknowledgements and commits, so a sync commit and a flush are paid per interval, not
per batch (each costs a round trip and broker CPU). A crash replays what came after the
last commit; the keyed stage drops repeated event ids and re-publishes the same
versions, and accepted events carry their event id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
    murmur2,
)
from suppressor_client.consuming import consume_ready
from suppressor_client.feed import SuppressionFeed
from suppressor_client.types import DomainRule

from workers import metrics
from workers.kafka.producing import produce_retrying
from workers.kafka.topics import (
    ACCOUNT_OPS,
    ADDRESS_OPS,
    CUSTOMER_EVENTS,
    INPUTS,
    admin_client,
    create_missing,
    ops_specs,
    ops_topic,
    partition_count,
)
from workers.settings import Settings
from workers.stream.bundles import Bundler, Record
from workers.stream.metric_batch import MetricBatch
from workers.stream.routing import Out, route

__all__ = ["DeliveryFailed", "FrontStage"]

log = logging.getLogger(__name__)
_BATCH = 2000
_LAG_EVERY_S = 5.0
COMMIT_EVERY_S = 0.5
METADATA_WAIT_S = 30.0
"""How long ``start`` waits for the ops topic's partitions to show in the metadata."""


class DeliveryFailed(RuntimeError):
    """A produced record was not delivered: the stage stops without committing, and its
    supervisor starts it again from the last committed offsets."""


class FrontStage:
    """One consumer of the input topics (group ``<app_id>-front``) and one producer."""

    def __init__(self, settings: Settings, rules: SuppressionFeed) -> None:
        self.settings = settings
        self.rules = rules
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bundler: Bundler | None = None  # once the ops topic's partitions are known
        self._undelivered: list[str] = []
        self._metrics = MetricBatch(metrics.PROCESSING_LATENCY)  # applied once per read
        self._names = {settings.topic(t): t for t in INPUTS}
        self._out = {
            ADDRESS_OPS: ops_topic(settings, ADDRESS_OPS),
            ACCOUNT_OPS: ops_topic(settings, ACCOUNT_OPS),
        }
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"{settings.app_id}-front",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(settings.session_timeout.total_seconds() * 1000),
                "fetch.wait.max.ms": 20,
                "fetch.min.bytes": 65536,  # fewer, fuller fetches: less broker CPU under load
                "enable.auto.offset.store": False,  # stored once routed, see _store
                "log_level": 3,
            }
        )
        self.producer = Producer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "partitioner": "murmur2_random",  # what aiokafka (faust) uses for keyed records
                "linger.ms": 5,
                "enable.idempotence": True,
                "log_level": 3,
            }
        )

    def start(self) -> None:
        """Create the ops topics if needed, then run the loop in a thread."""
        create_missing(admin_client(self.settings), ops_specs(self.settings))
        count = self._partition_count(self._out[ADDRESS_OPS])
        self._bundler = Bundler(lambda key: int(murmur2(key, count)))
        self._thread = threading.Thread(target=self._run, name="front-stage", daemon=True)
        self._thread.start()

    def _partition_count(self, topic: str) -> int:
        """The ops topic's partition count; ``RuntimeError`` after ``METADATA_WAIT_S``, so
        the start fails loudly and the supervisor starts the stage again."""
        return partition_count(self.producer, topic, METADATA_WAIT_S)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _rules(self, account_id: str) -> Mapping[str, DomainRule] | None:
        lists = self.rules.view.account_lists(account_id)
        return lists.domain_rules if lists is not None else None

    def _target(self, logical: str) -> str:
        return self._out.get(logical) or self.settings.topic(logical)

    def _run(self) -> None:
        while not self.rules.ready and not self._stop.is_set():
            time.sleep(0.05)  # domain rules first, or blocked domains would slip through
        self.consumer.subscribe(
            list(self._names), on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        last_lag = last_commit = time.monotonic()
        pending = False  # handled since the last commit
        try:
            while not self._stop.is_set():
                messages = consume_ready(self.consumer, _BATCH, wait=0.1)
                if messages:
                    self._handle(messages)
                    pending = True
                self.producer.poll(0)  # serve delivery reports: a failure stops the stage now
                self._check_delivered()
                if pending and time.monotonic() - last_commit >= COMMIT_EVERY_S:
                    pending = not self._commit()
                    last_commit = time.monotonic()
                if time.monotonic() - last_lag > _LAG_EVERY_S:
                    self._report_lag()
                    last_lag = time.monotonic()
            metrics.FRONT_READY.set(0)
            self._commit()
        except Exception:  # DeliveryFailed, or a bug: logged, never a thread that dies unseen
            log.exception("front stage stopped")
            metrics.FRONT_READY.set(0)
            return  # no commit, no clean close: the group hands the partitions on
        self.consumer.close()

    def _handle(self, messages: list[Message]) -> None:
        now = datetime.now(UTC)
        wall = time.time()
        handled: dict[tuple[str, int], int] = {}
        batch = self._metrics
        for msg in messages:
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("front stage read error: %s", error)
                continue
            prefixed = msg.topic() or ""
            topic = self._names[prefixed]
            routed = route(
                topic,
                msg.partition() or 0,
                msg.offset() or 0,
                msg.key(),
                msg.value(),
                rules=self._rules,
                max_bytes=self.settings.max_record_bytes,
                now=now,
                prefixed_topic=prefixed,
            )
            target = self._target(routed.out.topic)
            for out_key, out_value in self._bundled(routed.out, routed.more):
                produce_retrying(self.producer, target, out_value, out_key, self._on_delivery)
            batch.inc(metrics.EVENTS_IN, topic, routed.kind)
            if routed.outcome.startswith("dlq:"):
                batch.inc(metrics.DLQ_RECORDS, topic, routed.outcome[4:])
            elif topic == CUSTOMER_EVENTS:
                outcome, _, rule = routed.outcome.partition(":")
                batch.inc(metrics.GATE_DECISIONS, outcome, rule or "none")
            _kind, ts = msg.timestamp()
            if ts > 0:
                batch.observe(topic, max(0.0, wall - ts / 1000))
            handled[prefixed, msg.partition() or 0] = msg.offset() or 0
        if self._bundler is not None:
            ops = self._out[ADDRESS_OPS]
            for out_key, out_value in self._bundler.drain():
                produce_retrying(self.producer, ops, out_value, out_key, self._on_delivery)
        batch.flush()
        self._store(handled)

    def _bundled(
        self, out: Out, more: Sequence[Record] = ()
    ) -> Sequence[tuple[bytes | None, bytes]]:
        """The records to send now for ``out`` (and an ``import.rows``' ``more``, which go
        where ``out`` goes): address-level records wait in a bundle."""
        if self._bundler is None or out.topic != ADDRESS_OPS or out.key is None:
            return [(out.key, out.value), *more]
        return self._bundler.add_many([(out.key, out.value), *more])

    def _store(self, handled: dict[tuple[str, int], int]) -> None:
        """Mark records as handled: a commit covers only these, whenever it happens.

        Offsets are not stored when a record is handed over (``enable.auto.offset.store``
        is off), so a commit in a rebalance callback, which can run inside any consume
        call, never covers a record read but not yet routed.
        """
        if not handled:
            return
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in handled.items()]
        try:
            self.consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:  # a partition revoked meanwhile: its new owner replays
            log.debug("front stage offsets not stored: %s", exc)

    def _on_delivery(self, error: KafkaError | None, _msg: Message) -> None:
        if error is not None:  # librdkafka gave up after its retries (message.timeout.ms)
            self._undelivered.append(str(error))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _check_delivered(self) -> None:
        if self._undelivered:
            raise DeliveryFailed(
                f"{len(self._undelivered)} records not delivered ({self._undelivered[:3]}); "
                "stopping without committing"
            )

    def _commit(self) -> bool:
        """Commit what was handled, once everything it produced is acknowledged.

        A record that could not be delivered stops the stage before anything more is
        committed: the records after the last commit are read and routed again. Returns
        whether the offsets are committed (or there was nothing to commit).
        """
        remaining = self.producer.flush(30)
        self._check_delivered()
        if remaining:
            log.error("front stage: %d records not acknowledged; not committing", remaining)
            return False
        try:
            self.consumer.commit(asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError._NO_OFFSET:
                return True  # nothing handled since the last commit
            log.warning("front stage commit failed, retried at the next interval: %s", exc)
            return False
        return True

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        metrics.FRONT_READY.set(1 if partitions else 0)

    def _on_revoke(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        metrics.FRONT_READY.set(0)
        self._commit()

    def _report_lag(self) -> None:
        lag: dict[str, int] = {}
        try:
            for tp in self.consumer.position(self.consumer.assignment()):
                _low, high = self.consumer.get_watermark_offsets(tp, timeout=1, cached=True)
                if tp.offset >= 0:
                    name = self._names.get(tp.topic or "", tp.topic or "")
                    lag[name] = lag.get(name, 0) + max(0, high - tp.offset)
        except Exception as exc:
            log.debug("front stage lag not measured: %s", exc)
            return
        metrics.set_lag(lag)
