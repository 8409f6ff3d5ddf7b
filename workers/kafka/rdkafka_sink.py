"""Table changelogs and output records through librdkafka, flushed before every commit.

faust sends each changelog record and each output through aiokafka, and wakes its
producer buffer once per record; measured here that costs more than our whole rule
(ENGINE-NOTES: ~3,300 events per CPU second with one table write and one output through
aiokafka, ~8,500 with both through confluent-kafka). ``RdKafkaSink`` is one
confluent-kafka producer for both, with the delivery guarantee kept as it was:

- at least once: faust commits the input offsets only after ``FlushBeforeCommit`` (a faust
  sensor, the public hook that runs at the start of every commit, before faust picks the
  offsets to commit) has flushed the sink and seen every record acknowledged; a record
  that failed makes the commit fail, so the input is processed again after a restart;
- recovery: a changelog record is the same bytes on the same partition as faust's own,
  and once it is acknowledged its offset is stored in the table's RocksDB folder as
  faust's callback does, so a restart reads the changelog from the right place. The
  offsets are stored once per partition at each flush (the highest acknowledged), not
  once per record: a RocksDB write per record saved, and an offset that lags only makes
  a recovery read a little more of the changelog again;
- outputs are keyed with the Java-compatible murmur2 partitioner, the one aiokafka uses,
  so a key's records stay on one partition of the compacted topic.

Only the at-least-once guarantee is supported (faust's transactions would not cover this
producer). ``route_changelog`` replaces one faust method per table: this module and
``faust_store`` are the only places that touch faust internals, and
``tests/kafka/test_rdkafka_sink.py`` fails when a faust upgrade moves them.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from faust import Sensor
from faust.types import TP

__all__ = ["DeliveryFailed", "FlushBeforeCommit", "RdKafkaSink", "route_changelog"]

_POLL_EVERY = 1000  # serve delivery callbacks now and then between commits


class DeliveryFailed(RuntimeError):
    """A changelog or output record was not acknowledged: the commit must not happen."""


class RdKafkaSink:
    """One librdkafka producer for the keyed stage's changelogs and outputs."""

    def __init__(self, bootstrap: str, *, linger_ms: int = 20, flush_timeout_s: float = 60.0):
        """``linger_ms`` 20 (was 5): at 5 librdkafka woke its broker thread (a ``write`` to
        its wakeup pipe) for most records of an import, ~12 % of the agent's thread; at 20
        an import row cost the keyed stage ~120 µs of CPU instead of ~140, and bounce ->
        ``suppressions`` stayed at p99 124 ms (``bench_worker.py --only latency``, load 2)."""
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,  # acks=all, no duplicates or reordering on retry
                "linger.ms": linger_ms,
                "partitioner": "murmur2_random",  # what aiokafka (faust) uses for keyed records
                "queue.buffering.max.messages": 1_000_000,
                "log_level": 0,
            }
        )
        self.flush_timeout_s = flush_timeout_s
        self.failures: list[str] = []
        self._since_poll = 0
        self._after_flush: list[Callable[[], None]] = []

    def after_flush(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after every flush that saw everything acknowledged."""
        self._after_flush.append(callback)

    def _failed(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self.failures.append(str(err))

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
    ) -> None:
        """Queue one record (``partition`` None: by key); waits for room when the queue is full."""
        callback = on_delivery or self._failed
        while True:
            try:
                if partition is None:
                    self.producer.produce(topic, value, key, on_delivery=callback)
                else:
                    self.producer.produce(topic, value, key, partition, on_delivery=callback)
                break
            except BufferError:
                self.producer.poll(0.05)
        self._since_poll += 1
        if self._since_poll >= _POLL_EVERY:
            self._since_poll = 0
            self.producer.poll(0)

    def flush(self) -> None:
        """Wait until every queued record is acknowledged; raise if any was not."""
        remaining = self.producer.flush(self.flush_timeout_s)
        if remaining:
            raise DeliveryFailed(f"{remaining} records not acknowledged in time")
        if self.failures:
            # Kept, not cleared: faust commits again while it stops after this error, and that
            # flush must fail too, or it would commit past the records that were lost.
            raise DeliveryFailed(f"records were not delivered: {self.failures[:3]}")
        for callback in self._after_flush:
            callback()


class FlushBeforeCommit(Sensor):
    """A faust sensor: flush the sink when a commit starts, before offsets are chosen.

    With no sink (faust's own producer carries everything) it runs ``before_flush`` when a
    commit starts and ``after_commit`` once faust has finished it: only then has faust's
    producer delivered (or, with transactions, committed) what was written at its start.
    """

    def __init__(
        self,
        sink: RdKafkaSink | None,
        before_flush: Callable[[], None] | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.sink = sink
        self.before_flush = before_flush
        self.after_commit = after_commit

    def on_commit_initiated(self, consumer: Any) -> Any:
        if self.before_flush is not None:
            self.before_flush()  # e.g. apply the metrics gathered since the last commit
        if self.sink is not None:
            self.sink.flush()
        return None

    def on_commit_completed(self, consumer: Any, state: Any) -> None:
        if self.after_commit is not None:
            self.after_commit()


def route_changelog(table: Any, sink: RdKafkaSink) -> None:
    """Send ``table``'s changelog records through ``sink`` instead of faust's producer.

    The table must hold raw bytes (key and value types ``bytes``); a deletion is a
    tombstone. Acknowledged records move the table's persisted changelog offset, as
    faust's own ``_on_changelog_sent`` does in at-least-once mode, at the next flush.
    """
    topic: str = table.changelog_topic.get_topic_name()
    data = table.data
    acknowledged: dict[int, int] = {}  # partition -> highest acknowledged offset

    def persist() -> None:
        for partition, offset in acknowledged.items():
            data.set_persisted_offset(TP(topic, partition), offset)
        acknowledged.clear()

    def delivered(err: KafkaError | None, msg: Message) -> None:
        """One callback for every changelog record of the table, not a new closure each."""
        if err is not None:
            sink.failures.append(str(err))
        else:
            partition, offset = msg.partition(), msg.offset()
            if partition is not None and offset is not None:
                acknowledged[partition] = max(offset, acknowledged.get(partition, -1))

    sent: dict[int, SimpleNamespace] = {}  # partition -> what faust reads of a send's future

    def send_changelog(
        partition: int | None, key: Any, value: Any, *_serializers: Any, **_kw: Any
    ) -> Any:
        if partition is None:
            raise ValueError("a changelog record needs the partition of its event")
        sink.produce(topic, key, value, partition, delivered)
        # faust's on_key_set reads the final partition from the returned future's message
        future = sent.get(partition)
        if future is None:
            future = sent[partition] = SimpleNamespace(message=SimpleNamespace(partition=partition))
        return future

    table.send_changelog = send_changelog
    sink.after_flush(persist)
