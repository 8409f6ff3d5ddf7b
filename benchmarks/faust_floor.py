"""The bare faust floor: what one faust agent costs per event before any of our logic.

The keyed stage cannot be cheaper than a faust agent that only decodes its records, so
its figure means something only beside that floor, measured in the same run on the same
broker, tuning and input. Two floors:

- ``decode``: the agent decodes each JSON value and does nothing else;
- ``table``: it also does one table get and one set (a RocksDB write and a changelog
  record), the least a stateful stage does per event.

The parent side (``run_floor``) starts this file as a child process, loads its input topic
and measures the child's CPU from the first produced record until its consumer group has
committed the last one, exactly as ``bench_worker`` measures the keyed stage.

    python benchmarks/faust_floor.py decode|table     # the child; settings from the env
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.kafka.producing import produce_retrying  # noqa: E402
from workers.settings import Settings  # noqa: E402

__all__ = ["FLOOR_TOPIC", "committed_lag", "run_floor"]

FLOOR_TOPIC = "floor-in"
MODES = ("decode", "table")
_READY = "floor.ready"


def _app(settings: Settings, mode: str) -> Any:
    """A faust app with the keyed stage's options (workers/stream/app.py) and one agent."""
    import faust
    import orjson

    from workers.kafka.faust_tuning import shorten_fetch_wait

    shorten_fetch_wait()
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store="rocksdb://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        processing_guarantee=settings.processing_guarantee,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        producer_linger_ms=20,
        producer_max_batch_size=262144,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=4096,
        table_standby_replicas=0,
    )
    source = app.topic(
        settings.topic(FLOOR_TOPIC), key_serializer="raw", value_serializer="raw", **raw
    )
    table = app.Table("floor", partitions=settings.partitions, **raw)

    async def decode(stream: Any) -> None:
        async for event in stream.events():
            orjson.loads(event.value)

    async def get_set(stream: Any) -> None:
        async for event in stream.events():
            orjson.loads(event.value)
            table.get(event.key)
            table[event.key] = event.value

    app.agent(source, name="floor")(decode if mode == "decode" else get_set)

    async def ready() -> None:
        (settings.data_dir / _READY).write_text("1")

    app.task(ready)

    return app


def _child(mode: str) -> None:
    from faust.worker import Worker

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = _app(settings, mode)
    Worker(
        app, loglevel=logging.WARNING, quiet=True, redirect_stdouts=False
    ).execute_from_commandline()


def committed_lag(bootstrap: str, group: str, topics: Iterable[str], partitions: int) -> int:
    """Records on ``topics`` not yet committed by ``group`` (a missing commit counts all)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-lag", "log_level": 0})
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        request = [ConsumerGroupTopicPartitions(group, tps)]
        result = admin.list_consumer_group_offsets(request)[group].result(timeout=10)
        committed = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}
        lag = 0
        for tp in tps:
            high = consumer.get_watermark_offsets(tp, timeout=5)[1]
            lag += max(0, high - max(committed.get((tp.topic, tp.partition), -1), 0))
        return lag
    finally:
        consumer.close()


def _wait_drained(bootstrap: str, group: str, topic: str, partitions: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while committed_lag(bootstrap, group, [topic], partitions) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the faust floor ({group}) did not drain {topic} in time")
        time.sleep(0.25)


def run_floor(
    settings: Settings, mode: str, records: list[tuple[bytes, bytes]], log_path: Path
) -> dict[str, Any]:
    """Start the floor child, produce ``records`` (key, value) and time until committed.

    Returns the child's CPU seconds over that window and events per CPU second.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    topic = settings.topic(FLOOR_TOPIC)
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    for future in admin.create_topics([NewTopic(topic, settings.partitions, 1)]).values():
        future.result(timeout=30)
    env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), mode],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (settings.data_dir / _READY).exists():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the faust floor did not start; see {log_path}")
            time.sleep(0.2)
        time.sleep(3.0)  # its group settles, its fetches start (as SETTLE_S for the worker)
        proc = psutil.Process(child.pid)
        cpu_before = sum(proc.cpu_times()[:2])
        started = time.monotonic()
        producer = Producer(
            {"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 20, "log_level": 0}
        )
        for key, value in records:
            produce_retrying(producer, topic, value, key)
        producer.flush(120)
        _wait_drained(settings.bootstrap_servers, settings.app_id, topic, settings.partitions, 600)
        seconds = time.monotonic() - started
        cpu = sum(proc.cpu_times()[:2]) - cpu_before
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    n = len(records)
    return {
        "mode": mode,
        "events": n,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "us_per_event": round(1e6 * cpu / n, 1),
        "events_per_cpu_s": round(n / max(cpu, 1e-6)),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in MODES:
        sys.exit(f"usage: faust_floor.py {'|'.join(MODES)}")
    _child(sys.argv[1])
