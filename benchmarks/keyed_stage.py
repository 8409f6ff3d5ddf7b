"""The keyed stage on a real platform's mix, beside the bare faust floor, in one run.

Used by ``bench_worker.py``. Every figure here is CPU per event of one process (the
keyed stage, or the floor's only process), from the first produced record until its
consumer group committed the last one: on a shared two-core machine events/s depend on
who else runs, CPU per event much less.

- ``bench_realistic``: ``mixes.realistic_deliveries`` through N workers (delivery events
  only, keyed by account and address), delivery events per keyed-stage CPU second;
- ``bench_floors``: the same records through the two bare faust agents;
- ``bench_distinct``: deliveries to addresses never mailed, no bounce: how many keys the
  address table and its changelog gained.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import orjson
import psutil
from confluent_kafka import Consumer, Producer, TopicPartition

from benchmarks.faust_floor import committed_lag, run_floor
from workers.devkit.mixes import distinct_deliveries, realistic_deliveries
from workers.devkit.net_ports import free_port
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.producing import produce_retrying
from workers.kafka.topics import (
    ACCOUNT_OPS,
    ADDRESS_OPS,
    ADDRESS_TABLE,
    COMMANDS,
    CUSTOMER_EVENTS,
    DELIVERY_EVENTS,
    changelog_topic,
    ensure_topics,
    ops_topic,
    wait_visible,
)
from workers.settings import Settings

__all__ = ["bench_distinct", "bench_floors", "bench_realistic", "keyed_records"]

SETTLE_S = 3.0
PARTITIONS = 4  # as bench_worker


def keyed_records(events: Any) -> list[tuple[bytes, bytes]]:
    """(key, JSON value) pairs, keyed by account and address as producers are asked to."""
    return [(f"{e['account_id']}\x1f{e['email']}".encode(), orjson.dumps(e)) for e in events]


def _namespace(base: Settings, name: str, workdir: Path) -> Settings:
    tag = f"{name}{uuid.uuid4().hex[:6]}"
    settings = base.with_(
        topic_prefix=f"bench.{tag}.",
        app_id=f"bench-{tag}",
        partitions=PARTITIONS,
        data_dir=workdir / tag,
        metrics_port=free_port(),
    )
    ensure_topics(settings, say=lambda _l: None)
    wait_visible(settings)
    return settings


def _lag(settings: Settings) -> int:
    """Records the front stage's and the keyed stage's groups have not committed yet."""
    bootstrap, n = settings.bootstrap_servers, settings.partitions
    inputs = [settings.topic(t) for t in (CUSTOMER_EVENTS, DELIVERY_EVENTS, COMMANDS)]
    ops = [ops_topic(settings, ADDRESS_OPS), ops_topic(settings, ACCOUNT_OPS)]
    return committed_lag(bootstrap, f"{settings.app_id}-front", inputs, n) + committed_lag(
        bootstrap, settings.app_id, ops, n
    )


def _produce(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 20, "log_level": 0}
    )
    topic = settings.topic(DELIVERY_EVENTS)
    for key, value in records:
        produce_retrying(producer, topic, value, key)
    producer.flush(120)


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _front_pid(keyed: int) -> int:
    """The front stage: the worker's child process that is not multiprocessing's helper."""
    for child in psutil.Process(keyed).children(recursive=True):
        if "resource_tracker" not in " ".join(child.cmdline()):
            return int(child.pid)
    raise RuntimeError("the worker has no front-stage child process")


def _run_workers(
    base: Settings, workdir: Path, name: str, records: list[tuple[bytes, bytes]], workers: int
) -> tuple[Settings, dict[str, Any], list[WorkerProcess]]:
    """Start ``workers`` workers, produce ``records``, wait until committed; leave them running."""
    settings = _namespace(base, name, workdir)
    procs = [
        WorkerProcess(settings.with_(metrics_port=free_port()), workdir / f"{name}-{i}.log")
        for i in range(workers)
    ]
    try:
        return settings, _drive(settings, procs, records), procs
    except BaseException:  # interrupted or failed: leave no worker behind
        for proc in procs:
            proc.stop()
        raise


def _drive(
    settings: Settings, procs: list[WorkerProcess], records: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """Start the workers, produce the records, time until committed; CPU of each stage."""
    for proc in procs:
        proc.start(timeout=120)
    time.sleep(SETTLE_S)
    pids = [p.proc.pid for p in procs if p.proc is not None]
    fronts = [_front_pid(pid) for pid in pids]
    before = [_cpu(pid) for pid in pids]
    front_before = [_cpu(pid) for pid in fronts]
    started = time.monotonic()
    _produce(settings, records)
    deadline = started + 900
    while _lag(settings) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not drain the load in time")
        time.sleep(0.25)
    seconds = time.monotonic() - started
    cpu = sum(_cpu(pid) - b for pid, b in zip(pids, before, strict=True))
    front_cpu = sum(_cpu(pid) - b for pid, b in zip(fronts, front_before, strict=True))
    n = len(records)
    return {
        "workers": len(procs),
        "events": n,
        "seconds": round(seconds, 2),
        "keyed_cpu_seconds": round(cpu, 2),
        "us_per_event": round(1e6 * cpu / n, 1),
        "events_per_keyed_cpu_s": round(n / max(cpu, 1e-6)),
        "front_cpu_seconds": round(front_cpu, 2),
        "events_per_front_cpu_s": round(n / max(front_cpu, 1e-6)),
        "rss_mib": [round(p.rss_bytes() / 2**20) for p in procs],
    }


def bench_realistic(
    base: Settings, workdir: Path, records: list[tuple[bytes, bytes]], workers: int
) -> dict[str, Any]:
    """Delivery events of the realistic mix per keyed-stage CPU second, with N workers."""
    _settings, figures, procs = _run_workers(base, workdir, f"real{workers}w", records, workers)
    for proc in procs:
        proc.stop()
    return figures


def bench_floors(
    base: Settings, workdir: Path, records: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """The two bare faust agents over the same records (see ``faust_floor``)."""
    out: dict[str, Any] = {}
    for mode in ("decode", "table"):
        settings = base.with_(
            topic_prefix=f"bench.floor{mode}{uuid.uuid4().hex[:6]}.",
            app_id=f"bench-floor-{mode}-{uuid.uuid4().hex[:6]}",
            data_dir=workdir / f"floor-{mode}",
            partitions=PARTITIONS,
        )
        out[mode] = run_floor(settings, mode, records, workdir / f"floor-{mode}.log")
    return out


def _changelog_records(settings: Settings) -> int:
    """Records written to the address table's changelog so far (sum of end offsets)."""
    topic = changelog_topic(settings, ADDRESS_TABLE)
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": "bench-cl", "log_level": 0}
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or not metadata.partitions:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
            for p in metadata.partitions
        )
    finally:
        consumer.close()


def _table_keys(worker: WorkerProcess, deadline_s: float = 15.0) -> int:
    """The worker's own gauge of the address table's keys (RocksDB's estimate)."""
    pattern = re.compile(rf'suppressor_table_keys\{{table="{ADDRESS_TABLE}"\}} ([0-9.e+]+)')
    deadline = time.monotonic() + deadline_s
    value = -1
    while time.monotonic() < deadline:
        url = f"http://127.0.0.1:{worker.settings.metrics_port}/metrics"
        with urlopen(url, timeout=5) as response:
            match = pattern.search(response.read().decode())
        if match:
            value = int(float(match.group(1)))
        time.sleep(1.0)  # the gauge is refreshed every 5 s: take the latest after a while
    return value


def bench_distinct(base: Settings, workdir: Path, n: int) -> dict[str, Any]:
    """``n`` deliveries to distinct addresses, no bounce: keys the address table gained."""
    records = keyed_records(distinct_deliveries(n))
    settings, figures, procs = _run_workers(base, workdir, "distinct", records, 1)
    try:
        figures["address_table_keys"] = _table_keys(procs[0], deadline_s=7.0)
        figures["address_changelog_records"] = _changelog_records(settings)
    finally:
        for proc in procs:
            proc.stop()
    return figures


def realistic_records(n: int) -> list[tuple[bytes, bytes]]:
    """The realistic mix, keyed, ready to produce."""
    return keyed_records(realistic_deliveries(n))


def run_keyed(base: Settings, workdir: Path, n: int, distinct: int, say: Any) -> dict[str, Any]:
    """Parts 7 and 8 of ``bench_worker``: every figure of the keyed stage in one run."""
    from workers.devkit.loadgen import mixed_deliveries

    records = realistic_records(n)
    out: dict[str, Any] = {"mix": "realistic (workers.devkit.mixes.REALISTIC)", "events": n}
    say(f"bare faust floor over the realistic mix ({n} events) ...")
    out["floor"] = bench_floors(base, workdir, records)
    say(f"  {out['floor']}")
    for workers in (1, 2):
        say(f"keyed stage, {workers} worker(s), realistic mix ({n} delivery events) ...")
        out[f"realistic_{workers}w"] = bench_realistic(base, workdir, records, workers)
        say(f"  {out[f'realistic_{workers}w']}")
    say(f"keyed stage, 1 worker, the old mix ({n} delivery events) ...")
    old = keyed_records(mixed_deliveries(n, accounts=20, addresses=100_000))
    out["old_mix_1w"] = bench_realistic(base, workdir, old, 1)
    say(f"  {out['old_mix_1w']}")
    if distinct:
        say(f"{distinct} deliveries to distinct addresses, no bounce ...")
        out["distinct"] = bench_distinct(base, workdir, distinct)
        say(f"  {out['distinct']}")
    out["state_size"] = state_size()
    say(f"  per-address state: {out['state_size']}")
    one = out["realistic_1w"]["events_per_keyed_cpu_s"]
    out["ratios"] = {
        "vs_decode_floor": round(one / out["floor"]["decode"]["events_per_cpu_s"], 3),
        "vs_table_floor": round(one / out["floor"]["table"]["events_per_cpu_s"], 3),
        "two_vs_one_cpu_per_event": round(
            out["realistic_2w"]["us_per_event"] / out["realistic_1w"]["us_per_event"], 3
        ),
        "realistic_vs_old_mix": round(one / out["old_mix_1w"]["events_per_keyed_cpu_s"], 3),
    }
    return out


def print_keyed(keyed: dict[str, Any], say: Any) -> None:
    """The keyed stage's table: the headline figure, the floors and their ratios."""
    floor, ratios = keyed["floor"], keyed["ratios"]
    say("")
    say("| keyed stage (delivery events only) | us per event | events per CPU-s |")
    say("|---|---|---|")
    for name, row in (
        ("faust floor: decode only", floor["decode"]),
        ("faust floor: + one table get and set", floor["table"]),
    ):
        say(f"| {name} | {row['us_per_event']} | {row['events_per_cpu_s']} |")
    for name, key in (
        ("keyed stage, realistic mix, 1 worker", "realistic_1w"),
        ("keyed stage, realistic mix, 2 workers", "realistic_2w"),
        ("keyed stage, old mix, 1 worker", "old_mix_1w"),
    ):
        row = keyed[key]
        say(f"| {name} | {row['us_per_event']} | {row['events_per_keyed_cpu_s']} |")
    say(f"| realistic / decode-only floor | {ratios['vs_decode_floor']} | |")
    say(f"| realistic / table floor | {ratios['vs_table_floor']} | |")
    say(f"| CPU per event, two workers / one | {ratios['two_vs_one_cpu_per_event']} | |")
    size = keyed["state_size"]
    say(f"| state after {size['deliveries']} deliveries, {size['bounces']} bounces | "
        f"{size['stored_bytes']} bytes | |")  # fmt: skip
    if "distinct" in keyed:
        d = keyed["distinct"]
        keys = d["address_table_keys"]
        say(f"| {d['events']} distinct deliveries: address-table keys | {keys} | |")
        say(f"| ... address changelog records | {d['address_changelog_records']} | |")


def state_size(deliveries: int = 1000, bounces: int = 10) -> dict[str, Any]:
    """Stored bytes of one address after ``deliveries`` deliveries and ``bounces`` condition
    bounces spread among them (one every deliveries/bounces), through the real handler,
    each at its own ops offset (the record keeps the last one applied)."""
    from datetime import UTC, datetime, timedelta

    from workers.devkit.loadgen import bounce, delivery
    from workers.stream import handlers
    from workers.stream.routing import route

    config = Settings().ladder()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stored: bytes | None = None
    every = max(1, deliveries // max(bounces, 1))
    offset = 0
    for i in range(deliveries):
        when = start + timedelta(hours=6 * i)
        events = [delivery("a", "hot@example.com", "delivered", when=when)]
        if i % every == every - 1 and i // every < bounces:
            events.append(bounce("a", "hot@example.com", "condition", when=when))
        for event in events:
            op = route(
                "delivery-events", 0, 0, None, orjson.dumps(event),
                rules=lambda _a: None, max_bytes=65536, now=when, prefixed_topic="d",
            ).out.value  # fmt: skip
            offset += 1
            result = handlers.handle_address(
                stored, op, "a", "hot@example.com", config, position=(0, offset, 0)
            )
            if result is not None and result.stored is not None:
                stored = result.stored
    return {"deliveries": deliveries, "bounces": bounces, "stored_bytes": len(stored or b"")}
