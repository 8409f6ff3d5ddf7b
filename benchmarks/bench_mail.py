"""Mail benchmark: bounce messages parsed per second on one core, and SMTP messages
accepted per second end to end (smtplib -> ``suppressor mail serve`` -> Kafka ack -> 250).

1. parsing alone (``parse_message``), one core, no I/O: over the test fixtures (every MTA
   family, charsets, complaints, auto-replies) and over generated Postfix-style DSNs;
2. the whole pipeline without Kafka (``process_message``: parse, resolve, classify, the
   event's JSON and its schema check);
3. SMTP end to end: several smtplib clients, each sending messages over one connection,
   against the server process on loopback, every 250 given only after the broker
   acknowledged the events; then the events on ``delivery-events`` are counted.

    python benchmarks/bench_mail.py            # full run (about a minute)
    python benchmarks/bench_mail.py --quick    # small smoke run

It starts a fresh private broker (the local Kafka on a free port, removed afterwards);
``--shared-broker`` uses the one at KAFKA_BOOTSTRAP_SERVERS. Results are printed and
written to benchmarks/results/mail.json. Target: >= 2,000 messages parsed per second.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import shutil
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from tests.kafka_helpers import read_topic  # noqa: E402
from workers.devkit.local_broker import LocalBroker, broker_answers  # noqa: E402
from workers.devkit.mail_server_process import MailServerProcess  # noqa: E402
from workers.devkit.net_ports import free_port, free_port_pair  # noqa: E402
from workers.ingest.mail.parse import parse_message  # noqa: E402
from workers.ingest.mail.pipeline import process_message  # noqa: E402
from workers.ingest.mail.resolve import MailConfig  # noqa: E402
from workers.ingest.mail.samples import arf_complaint, dsn_bounce  # noqa: E402
from workers.ingest.mail.verp import VerpTemplate  # noqa: E402
from workers.kafka.topics import DELIVERY_EVENTS, ensure_topics  # noqa: E402
from workers.settings import Settings  # noqa: E402

FIXTURES = ROOT / "tests" / "ingest" / "mail" / "fixtures"
RESULTS = ROOT / "benchmarks" / "results" / "mail.json"
TEMPLATE = "b+{account}.{delivery}.{tag}@bounces.bench.example"
SECRET = "bench-secret"
TARGET_PARSED_PER_S = 2000
RUNS = 5


def say(text: str) -> None:
    print(text, flush=True)


def _generated(n: int, verp: VerpTemplate) -> list[bytes]:
    """Postfix-style DSNs and ARF reports, each for another recipient and delivery."""
    out = []
    for i in range(n):
        path = verp.build(f"account-{i % 50}", f"d-{i}")
        if i % 10 == 9:
            out.append(arf_complaint(path, f"reader{i}@example.net"))
        else:
            status, words = [("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User "
                              "unknown"), ("4.2.2", "452 4.2.2 Mailbox full"),
                             ("5.7.1", "550 5.7.1 Message rejected as spam")][i % 3]  # fmt: skip
            out.append(dsn_bounce(path, f"user{i}@example.net", status=status, diagnostic=words))
    return out


def _rate(messages: list[bytes], work: Callable[[bytes], object]) -> dict[str, float]:
    """Messages per second over ``messages``, median and best of RUNS runs: per second of
    this process's CPU time (one core, fair on a shared machine) and per wall second."""
    cpu_rates, wall_rates = [], []
    for _ in range(RUNS):
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for raw in messages:
            work(raw)
        cpu_rates.append(len(messages) / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(len(messages) / (time.perf_counter() - wall))
    return {
        "per_cpu_s_median": round(statistics.median(cpu_rates), 1),
        "per_cpu_s_best": round(max(cpu_rates), 1),
        "per_wall_s_median": round(statistics.median(wall_rates), 1),
    }


def bench_parse(n: int) -> dict[str, Any]:
    verp = VerpTemplate.parse(TEMPLATE, SECRET)
    fixtures = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    mix = (fixtures * (n // len(fixtures) + 1))[:n]
    generated = _generated(n, verp)
    config = MailConfig(verp=verp, default_account="bench")
    now = datetime.now(UTC)
    return {
        "fixtures": {
            "messages": len(mix),
            "distinct": len(fixtures),
            "mean_bytes": round(sum(map(len, fixtures)) / len(fixtures)),
            **_rate(mix, parse_message),
        },
        "generated_dsn_and_arf": {
            "messages": len(generated),
            "mean_bytes": round(sum(map(len, generated)) / len(generated)),
            **_rate(generated, parse_message),
        },
        "pipeline_without_kafka": {
            "messages": len(generated),
            **_rate(generated, lambda raw: process_message(raw, "bench", config, now=now)),
        },
    }


def bench_smtp(base: Settings, workdir: Path, n: int, clients: int) -> dict[str, Any]:
    verp = VerpTemplate.parse(TEMPLATE, SECRET)
    settings = base.with_(
        topic_prefix=f"benchmail{int(time.time())}.",
        partitions=4,
        mail_port=free_port(),
        mail_metrics_port=free_port(),
        mail_verp_template=TEMPLATE,
        mail_verp_secret=SECRET,
        mail_max_connections=clients + 4,
        mail_ack_timeout=timedelta(seconds=30),
    )
    ensure_topics(settings, say=lambda _l: None)
    messages = [(verp.build(f"account-{i % 50}", f"d-{i}"), i) for i in range(n)]
    server = MailServerProcess(settings, workdir / "mail.log").start()
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(share: list[tuple[str, int]]) -> None:
        with smtplib.SMTP(settings.mail_host, settings.mail_port, timeout=120) as smtp:
            for path, i in share:
                raw = dsn_bounce(path, f"user{i}@example.net")
                started = time.perf_counter()
                try:
                    smtp.sendmail("", [path], raw)
                except smtplib.SMTPException as exc:
                    with lock:
                        errors.append(str(exc))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)

    try:
        shares = [messages[k::clients] for k in range(clients)]
        threads = [threading.Thread(target=client, args=(share,)) for share in shares]
        cpu_before = sum(process.cpu_times()[:2])
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        server_cpu = sum(process.cpu_times()[:2]) - cpu_before
    finally:
        server.stop()
    stored = read_topic(settings.bootstrap_servers, settings.topic(DELIVERY_EVENTS),
                        until=lambda rs: len(rs) >= len(latencies), timeout=120)  # fmt: skip
    ordered = sorted(latencies)
    return {
        "messages": n,
        "clients": clients,
        "accepted": len(latencies),
        "refused": len(errors),
        "events_on_topic": len(stored),
        "seconds": round(seconds, 2),
        "accepted_per_s": round(len(latencies) / seconds, 1),
        "server_cpu_seconds": round(server_cpu, 2),
        "server_cpu_ms_per_message": round(1000 * server_cpu / max(len(latencies), 1), 2),
        "accepted_per_server_cpu_s": round(len(latencies) / max(server_cpu, 1e-9), 1),
        "machine_load_1m": round(os.getloadavg()[0], 2),
        "latency_ms": {
            "p50": round(1000 * ordered[len(ordered) // 2], 2) if ordered else None,
            "p99": round(1000 * ordered[int(len(ordered) * 0.99)], 2) if ordered else None,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="messages per parse run")
    parser.add_argument("--smtp-messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parse-only", action="store_true", help="skip the SMTP part")
    parser.add_argument("--shared-broker", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.smtp_messages = 500, 200
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": multiprocessing.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
        "targets": {"parsed_per_s": TARGET_PARSED_PER_S},
    }
    say(f"parsing {args.messages} messages per run, {RUNS} runs, one core ...")
    results["parse"] = bench_parse(args.messages)
    say(f"  {results['parse']}")
    if args.parse_only:
        say(json.dumps(results["parse"], indent=2))
        return 0
    base = Settings.from_env()
    local = None
    if args.shared_broker and broker_answers(base.bootstrap_servers):
        say(f"using the broker at {base.bootstrap_servers}")
    else:
        local = LocalBroker.from_settings(base.with_(local_kafka_port=free_port_pair()), say=say)
        base = base.with_(bootstrap_servers=local.start())
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
            say("warming up the broker and the server ...")
            bench_smtp(base, Path(tmp), min(200, args.smtp_messages), args.clients)
            say(f"SMTP end to end: {args.smtp_messages} messages over {args.clients} clients ...")
            results["smtp"] = bench_smtp(base, Path(tmp), args.smtp_messages, args.clients)
            say(f"  {results['smtp']}")
    finally:
        if local is not None:
            local.stop()
            shutil.rmtree(local.run_dir, ignore_errors=True)
    parsed = results["parse"]["fixtures"]["per_cpu_s_median"]
    results["met"] = {"parsed_per_s": parsed >= TARGET_PARSED_PER_S}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    say(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
