"""Worker benchmark: throughput against a pass-through baseline, latency, memory, scaling.

All figures come from one run on one machine, so their ratios are fair:

1. pass-through baseline: confluent-kafka consume -> produce, no logic, one process;
2. the worker's logic alone on the same mix, in one process, without Kafka: a ceiling;
3. one worker: sustained input events/s over a mix of customer and delivery events,
   with the CPU each process used (and deliveries per CPU second of the keyed stage);
4. two workers in one consumer group against one, on the same load;
5. end-to-end latency from producing a bounce to its record on `suppressions`, at a
   steady input rate (default 5,000 events/s, then 1,000 and 3,000), p50 / p99, with
   the front stage's hop on its own;
6. resident memory of the worker after the load;
7. the keyed stage on a real platform's delivery mix (``workers.devkit.mixes``: 90%
   deliveries, Zipf-drawn recipients), in delivery events per keyed-stage CPU second,
   beside the bare faust floor (decode only; + one table get and set) measured on the
   same records in the same run, with one and two workers, and the old mix beside it;
8. deliveries to distinct never-bounced addresses: keys the address table gained.

    python benchmarks/bench_worker.py            # full run (a few minutes)
    python benchmarks/bench_worker.py --quick    # small smoke run
    python benchmarks/bench_worker.py --only keyed   # parts 7 and 8 alone (printed and written)

It starts a fresh private broker (the local Kafka, on a free port, removed afterwards),
so leftovers of other runs cost it nothing; `--shared-broker` uses the one at
KAFKA_BOOTSTRAP_SERVERS instead. Results are printed and written to
benchmarks/results/worker.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from suppressor_client.records import decode_key  # noqa: E402

from benchmarks import keyed_stage  # noqa: E402
from workers.devkit import loadgen  # noqa: E402
from workers.devkit.local_broker import LocalBroker, broker_answers  # noqa: E402
from workers.devkit.net_ports import free_port, free_port_pair  # noqa: E402
from workers.devkit.worker_process import WorkerProcess  # noqa: E402
from workers.kafka.producing import produce_retrying  # noqa: E402
from workers.kafka.topics import (  # noqa: E402
    ADDRESS_OPS,
    COMMANDS,
    CUSTOMER_EVENTS,
    DELIVERY_EVENTS,
    SUPPRESSIONS,
    ensure_topics,
    ops_topic,
)
from workers.settings import Settings  # noqa: E402
from workers.stream import handlers  # noqa: E402
from workers.stream.bundles import BUNDLE, decode_bundle  # noqa: E402
from workers.stream.routing import route  # noqa: E402

PARTITIONS = 4
SETTLE_S = 3.0  # after the last worker is ready: its group settles, its fetches start
WARM_UP_S = 3.0  # untimed load before a latency window
PASSTHROUGH_EVENTS = 1_000_000  # a few seconds: long enough to time steadily


def say(text: str) -> None:
    print(text, flush=True)


def namespace(base: Settings, name: str, workdir: Path) -> Settings:
    tag = f"{name}{uuid.uuid4().hex[:6]}"
    settings = base.with_(
        topic_prefix=f"bench.{tag}.",
        app_id=f"bench-{tag}",
        partitions=PARTITIONS,
        data_dir=workdir / tag,
        metrics_port=free_port(),
    )
    ensure_topics(settings, say=lambda _l: None)
    return settings


def mixed_input(n: int) -> Iterator[tuple[str, bytes]]:
    """Half customer events, half delivery events, interleaved."""
    customers = loadgen.mixed_customer_events(n // 2)
    deliveries = loadgen.mixed_deliveries(n - n // 2, accounts=20, addresses=100_000)
    for c, d in zip(customers, deliveries, strict=False):
        yield CUSTOMER_EVENTS, orjson.dumps(c)
        yield DELIVERY_EVENTS, orjson.dumps(d)


def preload(settings: Settings, n: int) -> None:
    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 20, "log_level": 0}
    )
    for topic, value in mixed_input(n):
        produce_retrying(producer, settings.topic(topic), value)
    producer.flush(120)


def group_lag(settings: Settings, admin: AdminClient, consumer: Consumer) -> int:
    """Records not committed yet: inputs by the front stage's group, ops topics by faust's."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    groups = {
        f"{settings.app_id}-front": [
            settings.topic(CUSTOMER_EVENTS),
            settings.topic(DELIVERY_EVENTS),
            settings.topic(COMMANDS),
        ],
        settings.app_id: [f"{settings.app_id}-address-ops", f"{settings.app_id}-account-ops"],
    }
    lag = 0
    for group, topics in groups.items():
        tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        request = [ConsumerGroupTopicPartitions(group, tps)]
        result = admin.list_consumer_group_offsets(request)[group].result(timeout=10)
        committed = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}
        for tp in tps:
            try:
                high = consumer.get_watermark_offsets(tp, timeout=5)[1]
            except Exception:
                continue
            lag += max(0, high - max(committed.get((tp.topic, tp.partition), -1), 0))
    return lag


def drain_time(settings: Settings, started: float, timeout: float = 600) -> float:
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": "bench-lag", "log_level": 0}
    )
    try:
        while time.monotonic() - started < timeout:
            if group_lag(settings, admin, consumer) == 0:
                return time.monotonic() - started
            time.sleep(0.25)
        raise TimeoutError("the workers did not drain the load in time")
    finally:
        consumer.close()


def broker_process(bootstrap: str) -> psutil.Process | None:
    """The process listening on the broker's port, if it runs on this machine."""
    port = int(bootstrap.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    return None


class CpuShares:
    """CPU used by each process of the run over a window, in % of one core (200 = both)."""

    def __init__(self, settings: Settings, workers: list[WorkerProcess]) -> None:
        self.procs: dict[str, psutil.Process] = {"load": psutil.Process()}
        broker = broker_process(settings.bootstrap_servers)
        if broker is not None:
            self.procs["broker"] = broker
        for n, worker in enumerate(workers, start=1):
            suffix = f" {n}" if len(workers) > 1 else ""
            keyed = psutil.Process(worker.proc.pid if worker.proc else 0)
            self.procs[f"keyed stage{suffix}"] = keyed
            for child in keyed.children(recursive=True):
                if "resource_tracker" not in " ".join(child.cmdline()):
                    self.procs[f"front stage{suffix}"] = child
        for proc in self.procs.values():
            proc.cpu_percent()
        psutil.cpu_percent()

    def read(self) -> dict[str, float]:
        """Per process, their sum, and the whole machine (kernel and other processes too)."""
        shares = {name: round(proc.cpu_percent(), 1) for name, proc in self.procs.items()}
        machine = psutil.cpu_percent() * (psutil.cpu_count() or 1)
        return {**shares, "total": round(sum(shares.values()), 1), "machine": round(machine, 1)}


def bench_workers(base: Settings, workdir: Path, n: int, workers: int) -> dict[str, Any]:
    """Start the workers, then produce n events and time until the group committed them all.

    The clock starts at the first produced event, after the workers are ready, so
    start-up and recovery are not counted: this is the sustained rate.
    """
    settings = namespace(base, f"w{workers}", workdir)
    procs = [
        WorkerProcess(
            settings.with_(metrics_port=free_port()), workdir / f"{settings.app_id}-{i}.log"
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start(timeout=120)
    try:
        time.sleep(SETTLE_S)
        started = time.monotonic()
        cpu = CpuShares(settings, procs)
        preload(settings, n)
        seconds = drain_time(settings, started)
        cpu_percent = cpu.read()
        rss = [p.rss_bytes() for p in procs]
    finally:
        for proc in procs:
            proc.stop()
    return {
        "events": n,
        "seconds": round(seconds, 2),
        "events_per_s": round(n / seconds),
        "rss_mib": [round(r / 2**20) for r in rss],
        "cpu_percent": cpu_percent,
        "deliveries_per_keyed_cpu_s": round((n - n // 2) / keyed_cpu_seconds(cpu_percent, seconds)),
    }


def keyed_cpu_seconds(cpu_percent: dict[str, float], seconds: float) -> float:
    """CPU time the keyed stages used: how efficient they stay when more workers share
    the load, whatever the number of free cores."""
    share = sum(v for name, v in cpu_percent.items() if name.startswith("keyed stage"))
    return max(share, 1.0) / 100 * seconds


def _passthrough(bootstrap: str, src: str, dst: str, n: int, out: Any) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"pt-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "log_level": 0,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "log_level": 0})
    consumer.subscribe([src])
    seen = 0
    started: float | None = None
    while seen < n:
        for msg in consumer.consume(1000, timeout=0.5):
            if msg.error() is not None:
                continue
            if started is None:
                started = time.monotonic()
            produce_retrying(producer, dst, msg.value() or b"", msg.key())
            seen += 1
        producer.poll(0)
    producer.flush(60)
    consumer.close()
    out.put(time.monotonic() - (started or time.monotonic()))


def bench_logic(n: int) -> dict[str, Any]:
    """The worker's own logic on the same mix, in one process, with no Kafka at all.

    Routing (parse, gate) for every event and the address handler with a dict for a
    table for every delivery: the most a one-process Python worker could pass if reading,
    writing and tables cost nothing. It bounds what any plumbing can reach.
    """
    records = list(mixed_input(n))
    config = Settings().ladder()  # the default ladder
    table: dict[bytes, bytes] = {}
    now = datetime.now(UTC)
    started = time.perf_counter()
    for offset, (topic, value) in enumerate(records):
        routed = route(
            topic, 0, offset, None, value,
            rules=lambda _account: None, max_bytes=65536, now=now, prefixed_topic=topic,
        )  # fmt: skip
        out = routed.out
        if out.topic == ADDRESS_OPS and out.key is not None:
            account_id, address = handlers.split_address_key(out.key)
            held = table.get(out.key)
            result = handlers.handle_address(
                held, out.value, account_id, address, config, position=(0, offset, 0)
            )
            if result is not None and result.stored is not None:  # else: changes nothing
                table[out.key] = result.stored
    seconds = time.perf_counter() - started
    return {"events": n, "seconds": round(seconds, 2), "events_per_s": round(n / seconds)}


def bench_passthrough(base: Settings, workdir: Path, n: int) -> dict[str, Any]:
    """n customer events (the mix's first 20,000, repeated) through consume -> produce."""
    settings = namespace(base, "pt", workdir)
    sample = [value for topic, value in mixed_input(40_000) if topic == CUSTOMER_EVENTS]
    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 20, "log_level": 0}
    )
    src, dst = settings.topic(CUSTOMER_EVENTS), settings.topic("customer-events.accepted")
    for i in range(n):
        produce_retrying(producer, src, sample[i % len(sample)])
    producer.flush(120)
    queue: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(
        target=_passthrough, args=(settings.bootstrap_servers, src, dst, n, queue)
    )
    proc.start()
    seconds = queue.get(timeout=600)
    proc.join()
    return {"events": n, "seconds": round(seconds, 2), "events_per_s": round(n / seconds)}


def paced_load(
    producer: Producer, settings: Settings, rate: int, seconds: float, *, every: int, tag: str
) -> tuple[dict[str, float], float]:
    """Customer events at ``rate``/s with one bounce of a fresh address in ``every``.

    Returns when each bounced address was sent (wall clock) and the rate achieved.
    """
    sent: dict[str, float] = {}
    total = int(rate * seconds)
    customers = loadgen.mixed_customer_events(total)
    started = time.monotonic()
    for i in range(total):
        if i % every == 0:
            address = f"{tag}{i}@latency.example"
            event = loadgen.bounce("lat", address, "nonexistent")
            topic = settings.topic(DELIVERY_EVENTS)
            sent[address] = time.time()
        else:
            event = next(customers)
            topic = settings.topic(CUSTOMER_EVENTS)
        produce_retrying(producer, topic, orjson.dumps(event))
        loadgen.pace(producer, started, i + 1, rate)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(30)
    return sent, total / (time.monotonic() - started)


def bench_latency(
    base: Settings, workdir: Path, rate: int, seconds: int, every: int = 10
) -> dict[str, Any]:
    """Steady input at ``rate``/s; one in ``every`` is a bounce of a fresh address (the rest
    customer events), timed from its production to its record on suppressions.

    The measured topics stamp records when the broker appends them, so each figure
    includes the producers' linger and the broker's write, not only the processing.

    The worker first gets WARM_UP_S of the same load, untimed: the timed window measures
    a running worker, not the first use of its code paths and connections.
    """
    settings = namespace(base, "lat", workdir)
    worker = WorkerProcess(settings, workdir / f"{settings.app_id}.log").start(timeout=120)
    try:
        stamp_on_append(settings, [settings.topic(SUPPRESSIONS), ops_topic(settings, ADDRESS_OPS)])
        time.sleep(SETTLE_S)
        producer = Producer(
            {"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 5, "log_level": 0}
        )
        paced_load(producer, settings, rate, WARM_UP_S, every=every, tag="warm")
        time.sleep(SETTLE_S)
        cpu = CpuShares(settings, [worker])
        sent, achieved = paced_load(producer, settings, rate, seconds, every=every, tag="lat")
        cpu_percent = cpu.read()
        latencies = read_latencies(settings, sent)
        rss = worker.rss_bytes()
    finally:
        worker.stop()
    ordered = sorted(latencies["end_to_end"])
    front = sorted(latencies["front"])
    if len(ordered) < len(sent):
        raise RuntimeError(f"{len(sent) - len(ordered)} of {len(sent)} bounces never came out")
    return {
        "target_rate": rate,
        "achieved_rate": round(achieved),
        "bounces": len(sent),
        "matched": len(ordered),
        **percentiles(ordered),
        "front_stage_hop": {"matched": len(front), **percentiles(front)},
        "worker_rss_mib": round(rss / 2**20),
        "cpu_percent": cpu_percent,
    }


def percentiles(ordered: list[float]) -> dict[str, float | None]:
    def ms(i: int) -> float | None:
        return round(1000 * ordered[i], 1) if ordered else None

    n = len(ordered)
    return {"p50_ms": ms(n // 2), "p99_ms": ms(int(0.99 * (n - 1))), "max_ms": ms(n - 1)}


def stamp_on_append(settings: Settings, topics: list[str]) -> None:
    """Have the broker stamp these topics' records when it appends them."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers, "log_level": 0})
    entry = ConfigEntry(
        "message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET
    )
    resources = [ConfigResource(ResourceType.TOPIC, t, incremental_configs=[entry]) for t in topics]
    for future in admin.incremental_alter_configs(resources).values():
        future.result(timeout=30)


def read_latencies(settings: Settings, sent: dict[str, float]) -> dict[str, list[float]]:
    """Seconds from each bounce's production to its record on the address-ops topic (the
    front stage's hop) and on ``suppressions`` (end to end), by the records' timestamps."""
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers, "group.id": "lat", "log_level": 0}
    )
    ops = ops_topic(settings, ADDRESS_OPS)
    topics = [settings.topic(SUPPRESSIONS), ops]
    consumer.assign([TopicPartition(t, p, 0) for t in topics for p in range(settings.partitions)])
    seen: dict[str, dict[str, float]] = {t: {} for t in topics}
    deadline = time.monotonic() + 60
    while any(len(got) < len(sent) for got in seen.values()) and time.monotonic() < deadline:
        for msg in consumer.consume(1000, timeout=0.5):
            if msg.error() is not None or msg.key() is None:
                continue
            key, topic, value = msg.key() or b"", msg.topic() or "", msg.value() or b""
            if topic != ops:
                subjects = [decode_key(key).subject]
            else:  # a bundle's items were all appended with it
                items = decode_bundle(value) if value[:1] == BUNDLE else [(key, value)]
                subjects = [k.partition(b"\x1f")[2].decode() for k, _v in items]
            got = seen[topic]
            for subject in subjects:
                if subject in sent and subject not in got:
                    got[subject] = msg.timestamp()[1] / 1000 - sent[subject]
    consumer.close()
    return {"end_to_end": list(seen[topics[0]].values()), "front": list(seen[ops].values())}


def print_table(results: dict[str, Any]) -> None:
    one = results["one_worker"]["events_per_s"]
    say("")
    say("| figure | value |")
    say("|---|---|")
    say(f"| pass-through (confluent-kafka) | {results['passthrough']['events_per_s']} events/s |")
    say(f"| one worker | {one} events/s |")
    say(f"| worker / pass-through | {results['ratios']['worker_vs_passthrough']} |")
    say(f"| logic alone, no Kafka | {results['logic_only']['events_per_s']} events/s |")
    say(f"| logic alone / pass-through | {results['ratios']['logic_only_vs_passthrough']} |")
    say(f"| worker / logic alone | {results['ratios']['worker_vs_logic_only']} |")
    say(f"| two workers | {results['two_workers']['events_per_s']} events/s |")
    say(f"| two / one worker | {results['ratios']['two_vs_one_worker']} |")
    for name in ("one_worker", "two_workers"):
        per_cpu = results[name]["deliveries_per_keyed_cpu_s"]
        say(f"| {name.replace('_', ' ')}: deliveries per keyed-stage CPU second | {per_cpu} |")
    for point in results.get("latency_sweep", []):
        say(f"| latency at {point['achieved_rate']}/s | p50 {point['p50_ms']} ms, "
            f"p99 {point['p99_ms']} ms |")  # fmt: skip
    lat = results["latency"]
    say(f"| latency at {lat['achieved_rate']}/s | p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms |")
    say(f"| worker RSS after the latency run | {lat['worker_rss_mib']} MiB |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--every", type=int, default=10, help="one bounce in EVERY events")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument(
        "--only",
        choices=["latency", "passthrough", "keyed"],
        help="run one part only (printed, not written; keyed: written to --keyed-out)",
    )
    parser.add_argument("--realistic", type=int, default=60_000, help="events of the keyed parts")
    parser.add_argument(
        "--distinct", type=int, default=200_000, help="distinct deliveries (0: skip that part)"
    )
    parser.add_argument(
        "--keyed-out", type=Path, default=ROOT / "benchmarks" / "results" / "keyed_stage.json"
    )
    parser.add_argument(
        "--shared-broker",
        action="store_true",
        help="use the broker at KAFKA_BOOTSTRAP_SERVERS instead of a fresh private one",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "worker.json")
    args = parser.parse_args()
    if args.quick:
        args.events, args.seconds, args.realistic, args.distinct = 6000, 5, 6000, 6000
    base = Settings.from_env()
    local = None
    if args.shared_broker and broker_answers(base.bootstrap_servers):
        say(f"using the broker at {base.bootstrap_servers}")
    else:  # a fresh broker holds only this run's topics
        local = LocalBroker.from_settings(base.with_(local_kafka_port=free_port_pair()), say=say)
        base = base.with_(bootstrap_servers=local.start())
    try:
        results = run(args, base)
    finally:
        if local is not None:
            local.stop()
            shutil.rmtree(local.run_dir, ignore_errors=True)
    if results is not None:
        print_table(results)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        say(f"written to {args.out}")
    return 0


def write_keyed(args: argparse.Namespace, results: dict[str, Any], keyed: dict[str, Any]) -> None:
    """The keyed stage's figures, with the machine's load when they were taken."""
    load = [round(x, 2) for x in psutil.getloadavg()]
    keyed = {"when": results["when"], "cpus": results["cpus"], "load_average": load, **keyed}
    args.keyed_out.parent.mkdir(parents=True, exist_ok=True)
    args.keyed_out.write_text(json.dumps(keyed, indent=2) + "\n")
    say(f"written to {args.keyed_out}")


def run(args: argparse.Namespace, base: Settings) -> dict[str, Any] | None:
    """Every part of the benchmark in one run; only a full run returns results to write."""
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": multiprocessing.cpu_count(),
        "partitions": PARTITIONS,
    }
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        workdir = Path(tmp)
        say("warming up the broker (its JIT compiles the hot paths under a first load) ...")
        bench_latency(base, workdir, 3000, 10)
        if args.only == "passthrough":
            say(f"  {bench_passthrough(base, workdir, PASSTHROUGH_EVENTS)}")
            return None
        if args.only == "latency":
            say(f"  {bench_latency(base, workdir, args.rate, args.seconds, args.every)}")
            return None
        keyed = keyed_stage.run_keyed(base, workdir, args.realistic, args.distinct, say)
        keyed_stage.print_keyed(keyed, say)
        write_keyed(args, results, keyed)
        if args.only == "keyed":
            return None
        say(f"the worker's logic alone (no Kafka) over {args.events} events ...")
        results["logic_only"] = bench_logic(args.events)
        say(f"  {results['logic_only']}")
        say(f"pass-through baseline over {PASSTHROUGH_EVENTS} events ...")
        results["passthrough"] = bench_passthrough(base, workdir, PASSTHROUGH_EVENTS)
        say(f"  {results['passthrough']}")
        say(f"one worker over {args.events} events ...")
        results["one_worker"] = bench_workers(base, workdir, args.events, 1)
        say(f"  {results['one_worker']}")
        say(f"two workers over {args.events} events ...")
        results["two_workers"] = bench_workers(base, workdir, args.events, 2)
        say(f"  {results['two_workers']}")
        say(f"latency at {args.rate} events/s for {args.seconds}s ...")
        results["latency"] = bench_latency(base, workdir, args.rate, args.seconds, args.every)
        say(f"  {results['latency']}")
        results["latency_sweep"] = []
        for rate in (1000, 3000):
            say(f"latency at {rate} events/s for {args.seconds}s ...")
            point = bench_latency(base, workdir, rate, args.seconds, args.every)
            results["latency_sweep"].append(point)
            say(f"  {point}")
    one = results["one_worker"]["events_per_s"]
    results["ratios"] = {
        "worker_vs_passthrough": round(one / results["passthrough"]["events_per_s"], 3),
        "logic_only_vs_passthrough": round(
            results["logic_only"]["events_per_s"] / results["passthrough"]["events_per_s"], 3
        ),
        "worker_vs_logic_only": round(one / results["logic_only"]["events_per_s"], 3),
        "two_vs_one_worker": round(results["two_workers"]["events_per_s"] / one, 3),
    }
    return results


if __name__ == "__main__":
    sys.exit(main())
