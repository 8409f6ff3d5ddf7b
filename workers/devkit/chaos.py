"""A chaos run against a private broker: kill workers, kill the broker, wipe a store.

The delivery guarantee (at least once, idempotent versioned outputs) rests on writes that
happen before each commit: table changelogs, output records, offsets. This run proves it
under faults rather than arguing it. Under a steady load of the realistic delivery mix
(``mixes.realistic_deliveries``) it applies, in a seeded random order at random moments:

- ``worker_kills`` SIGKILLs of a random worker (the process group: both stages);
- ``broker_kills`` SIGKILLs of the broker, each followed by a restart on the same data;
- ``wipes`` kills of a worker whose RocksDB folder is then deleted before it restarts,
  so it must restore its tables from the changelogs.

When the load ends and every worker runs again, the folded ``suppressions`` topic must
equal the pure rules applied to the whole acknowledged input (``expected_lists``): the
report counts what is missing, extra or different, and every version that went back or
was published twice with different content. The broker is private (free ports, its own
folder, removed afterwards): the shared broker is never touched.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from suppressor_client.records import decode_record
from suppressor_client.types import ListKey, ListRecord, Suppression

from workers.devkit.local_broker import LocalBroker
from workers.devkit.mixes import realistic_deliveries
from workers.devkit.net_ports import free_port, free_port_pair
from workers.devkit.worker_process import WorkerExited, WorkerProcess
from workers.domain import ladder
from workers.domain.classify import classify_delivery
from workers.domain.events import parse_delivery_event
from workers.domain.ladder_state import AddressState, LadderConfig, entries
from workers.kafka.topics import DELIVERY_EVENTS, SUPPRESSIONS, ensure_topics, wait_visible
from workers.settings import Settings

__all__ = ["ChaosPlan", "ChaosReport", "expected_lists", "fold_suppressions", "run_chaos"]

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ChaosPlan:
    """What to break, how often, and under how much load."""

    worker_kills: int = 20
    broker_kills: int = 2
    wipes: int = 1
    workers: int = 2
    rate: int = 500  # delivery events per second, steady
    pause_s: tuple[float, float] = (1.0, 4.0)  # a random wait before each fault
    down_s: tuple[float, float] = (0.2, 2.0)  # how long a killed process stays down
    seed: int = 20
    population: int = 20_000


@dataclass(slots=True)
class ChaosReport:
    """What happened and what came out; ``ok`` when nothing was lost or contradicted."""

    faults: list[str] = field(default_factory=list)
    events_sent: int = 0
    events_acknowledged: int = 0
    events_failed: int = 0
    worker_exits_unasked: int = 0  # workers found dead that nobody killed (e.g. broker outage)
    expected_entries: int = 0
    published_entries: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    versions_back: int = 0
    versions_changed: int = 0
    suppressions_records: int = 0
    seconds: float = 0.0
    settle_seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        lost = self.missing + self.extra + self.different + self.events_failed
        return lost == 0 and self.versions_back == 0 and self.versions_changed == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


# --- what the rules say and what the topic says ------------------------------------


def expected_lists(
    events: Iterable[bytes], config: LadderConfig
) -> dict[ListKey, Suppression | None]:
    """The lists the pure rules give for the input, folded per (account, address)."""
    states: dict[tuple[str, str], AddressState] = {}
    for raw in events:
        event = parse_delivery_event(raw)
        key = (event.account_id, event.email)
        state = states.get(key, AddressState.empty(event.email))
        classification = classify_delivery(event)
        outcome = classification.outcome if classification else None
        states[key], _effects = ladder.step(state, event, config, outcome)
    return {
        ListKey(account, name, address): entry
        for (account, address), state in states.items()
        for name, entry in entries(state).items()
    }


def as_entry(record: ListRecord) -> Suppression | None:
    """The entry a published record carries (None for the allow lists)."""
    if record.reason is None:
        return None
    return Suppression(
        reason=record.reason,
        since=record.since or datetime.min.replace(tzinfo=UTC),
        expires_at=record.expires_at,
        event_id=record.event_id,
        delivery_id=record.delivery_id,
        notes=record.notes,
    )


@dataclass(slots=True)
class Fold:
    """What a reader of the compacted topic holds, and the version faults it saw."""

    held: dict[ListKey, ListRecord] = field(default_factory=dict)
    last: dict[ListKey, ListRecord] = field(default_factory=dict)
    records: int = 0
    versions_back: int = 0
    versions_changed: int = 0
    examples: list[str] = field(default_factory=list)

    def apply(self, key: ListKey, value: ListRecord | None) -> None:
        self.records += 1
        if value is None:
            self.held.pop(key, None)
            return
        previous = self.last.get(key)
        if previous is not None and value.version < previous.version:
            self.versions_back += 1
            self.examples.append(f"version went back on {key}")
            return
        if previous is not None and value.version == previous.version and value != previous:
            self.versions_changed += 1
            self.examples.append(f"version {value.version} of {key} changed content")
        self.last[key] = value
        if value.active:
            self.held[key] = value
        else:
            self.held.pop(key, None)


def fold_suppressions(bootstrap: str, topic: str, timeout: float = 60.0) -> Fold:
    """Read ``topic`` from the start to its current end and fold it as a reader would."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    fold = Fold()
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions}  # fmt: skip
        todo = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error() is not None or msg.key() is None:
                    continue
                key, value = decode_record(msg.key() or b"", msg.value())
                fold.apply(key, value)
                offset, partition = msg.offset() or 0, msg.partition() or 0
                if offset + 1 >= ends[partition]:
                    todo.discard(partition)
        if todo:
            raise TimeoutError(f"could not read {topic} to its end in {timeout:.0f}s")
    finally:
        consumer.close()
    return fold


def compare(expected: dict[ListKey, Suppression | None], fold: Fold, report: ChaosReport) -> None:
    got = {k: as_entry(r) for k, r in fold.held.items()}
    missing = expected.keys() - got.keys()
    extra = got.keys() - expected.keys()
    different = [k for k in expected.keys() & got.keys() if expected[k] != got[k]]
    report.expected_entries, report.published_entries = len(expected), len(got)
    report.missing, report.extra, report.different = len(missing), len(extra), len(different)
    report.versions_back, report.versions_changed = fold.versions_back, fold.versions_changed
    report.suppressions_records = fold.records
    report.examples = [
        *(f"missing {k}" for k in sorted(missing, key=str)[:3]),
        *(f"extra {k}" for k in sorted(extra, key=str)[:3]),
        *(f"different {k}: {expected[k]} != {got[k]}" for k in different[:3]),
        *fold.examples[:3],
    ]


# --- the load ----------------------------------------------------------------------


class SteadyLoad(threading.Thread):
    """Produces the realistic mix at a steady rate until stopped; keeps what was acknowledged.

    The producer is idempotent and waits out broker restarts (long message timeout), so
    an acknowledged event is on the topic exactly once.
    """

    def __init__(self, settings: Settings, plan: ChaosPlan) -> None:
        super().__init__(name="chaos-load", daemon=True)
        self.settings, self.plan = settings, plan
        self.stopping = threading.Event()
        self.acknowledged: list[bytes] = []
        self.sent = self.failed = 0

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.acknowledged.append(msg.value() or b"")
        else:
            self.failed += 1

    def run(self) -> None:
        producer = Producer(
            {
                "bootstrap.servers": self.settings.bootstrap_servers,
                "enable.idempotence": True,
                "linger.ms": 5,
                "message.timeout.ms": 300_000,
                "log_level": 0,
            }
        )
        topic = self.settings.topic(DELIVERY_EVENTS)
        start = datetime.now(UTC) - timedelta(minutes=5)
        events = realistic_deliveries(
            10**9, population=self.plan.population, seed=self.plan.seed, start=start
        )
        began = time.monotonic()
        for event in events:
            if self.stopping.is_set():
                break
            key = f"{event['account_id']}\x1f{event['email']}".encode()
            while True:
                try:
                    producer.produce(topic, orjson.dumps(event), key, on_delivery=self._on_delivery)
                    break
                except BufferError:  # the broker is down and the queue is full: wait
                    producer.poll(0.1)
            self.sent += 1
            ahead = self.sent / self.plan.rate - (time.monotonic() - began)
            producer.poll(max(0.0, ahead))
        remaining = producer.flush(300)
        self.failed += remaining


# --- the run -----------------------------------------------------------------------


def _kill_broker(broker: LocalBroker) -> None:
    pid = broker.running_pid()
    if pid is not None:
        os.killpg(pid, signal.SIGKILL)


def run_chaos(base: Settings, workdir: Path, plan: ChaosPlan, say: Say = print) -> ChaosReport:
    """Run the plan on a private broker; returns the report (the broker is removed after)."""
    rng = random.Random(plan.seed)
    report = ChaosReport()
    broker = LocalBroker.from_settings(base.with_(local_kafka_port=free_port_pair()), say=say)
    bootstrap = broker.start()
    tag = uuid.uuid4().hex[:6]
    settings = base.with_(
        bootstrap_servers=bootstrap,
        topic_prefix=f"chaos.{tag}.",
        app_id=f"chaos-{tag}",
        partitions=4,
        session_timeout=timedelta(seconds=6),
    )
    ensure_topics(settings, say=lambda _l: None)
    wait_visible(settings)
    workers = [
        WorkerProcess(
            settings.with_(metrics_port=free_port(), data_dir=workdir / f"w{i}"),
            workdir / f"w{i}.log",
        )
        for i in range(plan.workers)
    ]
    faults = ["worker"] * plan.worker_kills + ["broker"] * plan.broker_kills + ["wipe"] * plan.wipes
    rng.shuffle(faults)
    load = SteadyLoad(settings, plan)
    started = time.monotonic()
    try:
        for worker in workers:
            worker.start(timeout=120)
        load.start()
        for n, fault in enumerate(faults, start=1):
            time.sleep(rng.uniform(*plan.pause_s))
            report.worker_exits_unasked += _revive(workers)
            victim = rng.randrange(plan.workers)
            if fault == "broker":
                _kill_broker(broker)
                time.sleep(rng.uniform(*plan.down_s))
                broker.start()
                report.faults.append("broker SIGKILL + restart")
            else:
                workers[victim].kill()
                time.sleep(rng.uniform(*plan.down_s))
                if fault == "wipe":
                    shutil.rmtree(workers[victim].settings.data_dir, ignore_errors=True)
                workers[victim].start(timeout=180)
                report.faults.append(
                    f"worker {victim} SIGKILL" + (" + RocksDB wiped" * (fault == "wipe"))
                )
            say(f"  fault {n}/{len(faults)}: {report.faults[-1]} (sent {load.sent})")
        time.sleep(rng.uniform(*plan.pause_s))
        load.stopping.set()
        load.join(timeout=330)
        report.worker_exits_unasked += _revive(workers)
        report.events_sent, report.events_failed = load.sent, load.failed
        report.events_acknowledged = len(load.acknowledged)
        report.seconds = round(time.monotonic() - started, 1)
        say(f"  load ended: {report.events_acknowledged} events acknowledged; settling ...")
        expected = expected_lists(load.acknowledged, settings.ladder())
        _settle(settings, expected, report, workers)
    finally:
        for worker in workers:
            worker.stop()
        broker.stop()
        shutil.rmtree(broker.run_dir, ignore_errors=True)
    return report


def _revive(workers: list[WorkerProcess]) -> int:
    """Start again every worker that exited on its own; returns how many did."""
    revived = 0
    for worker in workers:
        try:
            worker.ready()
        except WorkerExited:
            revived += 1
            worker.start(timeout=180)
    return revived


def _settle(
    settings: Settings,
    expected: dict[ListKey, Suppression | None],
    report: ChaosReport,
    workers: list[WorkerProcess],
    timeout: float = 180.0,
) -> None:
    """Fold the topic until it equals the rules' lists (or the time is up); then compare."""
    began = time.monotonic()
    topic = settings.topic(SUPPRESSIONS)
    while True:
        fold = fold_suppressions(settings.bootstrap_servers, topic)
        compare(expected, fold, report)
        done = report.missing + report.extra + report.different == 0
        if done or time.monotonic() - began > timeout:
            break
        report.worker_exits_unasked += _revive(workers)
        time.sleep(2.0)
    report.settle_seconds = round(time.monotonic() - began, 1)
