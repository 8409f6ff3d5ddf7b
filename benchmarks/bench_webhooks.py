"""Webhook benchmark: events accepted per second end to end, and call -> suppressions latency.

A real ``suppressor api`` process (uvicorn, the production app built from settings) and a
real worker run against a fresh private broker (the local Kafka on a free port, removed
afterwards), as ``bench_worker.py`` does, so other users of a shared broker do not
colour the figures; ``--shared-broker`` uses KAFKA_BOOTSTRAP_SERVERS instead.
Client threads post signed SendGrid batches (100 ``bounce``/Invalid Address events each,
every address new, so each event makes one record on ``suppressions``):

1. throughput: as fast as the clients can, N batches; events whose call answered 2xx
   (Kafka acknowledged them) per second of wall time;
2. how long the worker took to list every address of step 1 (it runs during step 1);
3. latency, once the worker has caught up: batches paced at a steady event rate; for
   every event, from the start of its call to the broker timestamp of its record on
   ``suppressions`` (p50, p99).

    python benchmarks/bench_webhooks.py            # 300 batches, then 200 events/s for 20 s
    python benchmarks/bench_webhooks.py --quick    # a small smoke run

Writes benchmarks/results/webhooks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
from confluent_kafka import Consumer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ingest.webhooks.signing import SendGridSigner  # noqa: E402
from workers.devkit.local_broker import LocalBroker  # noqa: E402
from workers.devkit.net_ports import free_port, free_port_pair  # noqa: E402
from workers.devkit.worker_process import WorkerProcess  # noqa: E402
from workers.kafka.topics import SUPPRESSIONS, ensure_topics  # noqa: E402
from workers.settings import Settings  # noqa: E402

BATCH = 100
RESULTS = ROOT / "benchmarks" / "results" / "webhooks.json"


def batch_body(tag: str, number: int) -> tuple[bytes, list[str]]:
    """A SendGrid batch of BATCH bounces, each for a new address."""
    now = int(time.time())
    events = []
    for i in range(BATCH):
        address = f"b{tag}-{number}-{i}@bench.example"
        events.append(
            {
                "email": address,
                "timestamp": now,
                "event": "bounce",
                "type": "bounce",
                "bounce_classification": "Invalid Address",
                "status": "5.1.1",
                "reason": "550 5.1.1 user unknown",
                "sg_event_id": f"{tag}-{number}-{i}",
                "sg_message_id": f"m-{tag}-{number}-{i}",
            }
        )
    return orjson.dumps(events), [e["email"] for e in events]


def start_api(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "api"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    url = f"http://{settings.api_host}:{settings.api_port}/healthz"
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code in (200, 503):
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise TimeoutError(f"the API did not answer; log:\n{log.read_text()[-2000:]}")


class Poster:
    """Client threads posting signed batches; remembers each address's call start time."""

    def __init__(self, base: str, signer: SendGridSigner, threads: int) -> None:
        self.url = f"{base}/webhooks/sendgrid/bench"
        self.signer = signer
        self.threads = threads
        self.sent_at: dict[str, float] = {}
        self.accepted = 0
        self.refused: list[str] = []
        self.lock = threading.Lock()

    def post(
        self, client: httpx.Client, body: bytes, headers: dict[str, str], addresses: list[str]
    ) -> None:
        started = time.time()
        answer = client.post(self.url, content=body, headers=headers)
        with self.lock:
            if answer.status_code == 200:
                self.accepted += len(addresses)
                for address in addresses:
                    self.sent_at[address] = started
            else:
                self.refused.append(f"{answer.status_code} {answer.text[:200]}")

    def run(self, bodies: list[tuple[bytes, list[str]]], rate: float | None = None) -> float:
        """Post every body over ``threads`` threads (paced at ``rate`` events/s if given).

        Bodies are signed before the clock starts, so the clients spend the timed part
        on HTTP only.
        """
        queue = [
            (index, (body, self.signer.headers(body), addresses))
            for index, (body, addresses) in enumerate(bodies)
        ]
        lock = threading.Lock()
        start = time.monotonic()

        def worker() -> None:
            with httpx.Client(timeout=30) as client:
                while True:
                    with lock:
                        if not queue:
                            return
                        index, (body, headers, addresses) = queue.pop(0)
                    if rate is not None:
                        due = start + index * BATCH / rate
                        pause = due - time.monotonic()
                        if pause > 0:
                            time.sleep(pause)
                    self.post(client, body, headers, addresses)

        threads = [threading.Thread(target=worker) for _ in range(self.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - start


def record_times(settings: Settings, wanted: set[str], timeout: float) -> dict[str, float]:
    """Broker timestamps (s) of the first suppressions record of each wanted address."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    topic = settings.topic(SUPPRESSIONS)
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < len(wanted) and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=2000, timeout=0.5):
                if msg.error() is not None or msg.key() is None:
                    continue
                subject = orjson.loads(msg.key())[2]
                if subject in wanted and subject not in found:
                    found[subject] = msg.timestamp()[1] / 1000.0
    finally:
        consumer.close()
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def warm_up(settings: Settings, signer: SendGridSigner, tag: str, base: str) -> float:
    """Post small batches until the worker lists one (a fresh group may take a while)."""
    started = time.monotonic()
    for attempt in range(4):
        warm = Poster(base, signer, 1)
        warm.run([batch_body(f"{tag}w{attempt}", 0)])
        if record_times(settings, set(warm.sent_at), timeout=15):
            return time.monotonic() - started
    raise TimeoutError("the worker listed nothing during the warm-up")


def measure(
    args: argparse.Namespace,
    *,
    settings: Settings,
    signer: SendGridSigner,
    tag: str,
    base: str,
    api_pid: int,
) -> dict[str, Any]:
    """The three phases against a running API and worker; the figures as a dict."""
    warmed_after = warm_up(settings, signer, tag, base)
    print(f"warm-up: the worker listed a first batch after {warmed_after:.1f}s")
    poster = Poster(base, signer, args.threads)
    bodies = [batch_body(tag, n) for n in range(args.batches)]
    api_cpu = psutil.Process(api_pid)
    cpu_before = sum(api_cpu.cpu_times()[:2])
    elapsed = poster.run(bodies)
    api_seconds = sum(api_cpu.cpu_times()[:2]) - cpu_before
    throughput = poster.accepted / elapsed
    print(f"throughput: {poster.accepted} events in {elapsed:.2f}s = {throughput:,.0f}/s")
    api_share = api_seconds / elapsed * 100
    per_event = api_seconds / max(1, poster.accepted) * 1e6
    print(f"the API process used {api_share:.0f}% of a core ({per_event:.0f} us per event)")

    drained = record_times(settings, set(poster.sent_at), timeout=60)
    drain = max(drained.values()) - min(poster.sent_at.values()) if drained else 0.0
    print(f"the worker listed all {len(drained)} addresses {drain:.1f}s after the first call")

    paced = Poster(base, signer, max(2, args.threads // 2))
    count = max(1, int(args.rate * args.seconds / BATCH))
    paced_bodies = [batch_body(tag + "p", n) for n in range(count)]
    paced.run(paced_bodies, rate=args.rate)
    times = record_times(settings, set(paced.sent_at), timeout=60)
    latencies = [times[a] - paced.sent_at[a] for a in times]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"latency at {args.rate:,.0f} events/s: p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms ({len(latencies)} of {paced.accepted} records seen)"
    )
    result: dict[str, Any] = {
        "what": "SendGrid batches of 100 bounces through suppressor api into the worker",
        "batch_size": BATCH,
        "client_threads": args.threads,
        "throughput_events_per_s": round(throughput),
        "throughput_events": poster.accepted,
        "throughput_seconds": round(elapsed, 2),
        "refused_calls": len(poster.refused) + len(paced.refused),
        "worker_listed_all_after_s": round(drain, 1),
        "api_cpu_percent_of_a_core": round(api_share),
        "api_cpu_us_per_event": round(per_event),
        "latency_rate_events_per_s": args.rate,
        "latency_p50_ms": round(p50 * 1000, 1),
        "latency_p99_ms": round(p99 * 1000, 1),
        "latency_records_seen": len(latencies),
        "latency_events_accepted": paced.accepted,
        "target": ">= 5,000 events/s with batches of 100",
    }
    if poster.refused:
        print("refused:", poster.refused[:3])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of the latency run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shared-broker", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.seconds = 30, 5.0

    base_settings = Settings.from_env()
    local = None
    if not args.shared_broker:
        port = free_port_pair()
        local = LocalBroker.from_settings(base_settings.with_(local_kafka_port=port), say=print)
        base_settings = base_settings.with_(bootstrap_servers=local.start())
    try:
        return run(args, base_settings)
    finally:
        if local is not None:
            local.stop()
            shutil.rmtree(local.run_dir, ignore_errors=True)


def run(args: argparse.Namespace, base_settings: Settings) -> int:
    """Topics, a worker and the API on ``base_settings``' broker; then the measurements."""
    signer = SendGridSigner()
    tag = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    settings = base_settings.with_(
        topic_prefix=f"bw{tag}.",
        app_id=f"suppressor-bw{tag}",
        data_dir=work / "worker",
        metrics_port=free_port(),
        api_port=free_port(),
        webhook_sendgrid_keys=f"bench={signer.public}",
    )
    ensure_topics(settings, say=lambda _line: None)
    worker = WorkerProcess(settings, work / "worker.log").start()
    api = start_api(settings, work / "api.log")
    base = f"http://{settings.api_host}:{settings.api_port}"
    try:
        result = measure(
            args, settings=settings, signer=signer, tag=tag, base=base, api_pid=api.pid
        )
        if not args.quick:
            RESULTS.write_text(json.dumps(result, indent=2) + "\n")
            print(f"wrote {RESULTS.relative_to(ROOT)}")
    finally:
        api.terminate()
        api.wait(10)
        worker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
