"""Streamed block-list import benchmark (issue 15, item 5): rows/s and peak memory.

A CSV of N generated rows (1% invalid, 1% repeats of earlier rows) is written to a
temporary file, then imported into a fresh account through one running worker with the
same pipeline ``suppressor import`` uses (``workers.domain.file_stream`` into
``workers.service.import_stream``), in this process. Figures:

- rows/s to produced: every row read, checked against the sender view and its command
  acknowledged by the broker;
- rows/s to visible: until the last added row shows in the sender view (bounded by the
  worker's keyed stage, a few thousand events/s on a small machine);
- peak RSS of this process (the sender view of the account's new entries included), and
  the worker's RSS at the end (both stages);
- bounce -> ``suppressions`` while the import runs: a hard bounce of a fresh address of
  another account every ``PROBE_INTERVAL_S``, those sent until the last row was written
  timed from their production to their record (broker append times): what the import
  costs the real-time traffic that shares the worker (SPEC §9: p99 under 1 s);
- CPU seconds of this process (the importer alone: the worker is its child) and of the
  worker (both stages, and each: the keyed stage is the worker's own process, the front
  stage its child) during the import, per 1,000 rows: the figure to compare on a shared
  machine, where wall time is noise.

    python benchmarks/bench_import.py                  # 200,000 rows
    python benchmarks/bench_import.py --rows 1000000

Uses KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092); the benchmark's topics are
deleted afterwards. Writes benchmarks/results/import.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_worker import percentiles, read_latencies, stamp_on_append  # noqa: E402
from workers.client.commands import CommandWriter  # noqa: E402
from workers.devkit import loadgen  # noqa: E402
from workers.devkit.net_ports import free_port  # noqa: E402
from workers.devkit.worker_process import WorkerProcess  # noqa: E402
from workers.domain.file_stream import stream_import_csv  # noqa: E402
from workers.kafka.topics import (  # noqa: E402
    ADDRESS_OPS,
    DELIVERY_EVENTS,
    SUPPRESSIONS,
    ensure_topics,
    ops_topic,
)
from workers.service.import_stream import import_client, import_stream, row_lanes  # noqa: E402
from workers.settings import Settings  # noqa: E402

PROBE_INTERVAL_S = 0.05


def say(text: str) -> None:
    print(text, flush=True)


class BounceProbe:
    """Hard bounces of fresh addresses of another account, one every ``PROBE_INTERVAL_S``
    from ``start`` to ``stop``, in a thread: ``sent`` maps each address to when it was sent."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sent: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bounce-probe", daemon=True)

    def start(self) -> BounceProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        producer = Producer(
            {"bootstrap.servers": self.settings.bootstrap_servers, "linger.ms": 5, "log_level": 0}
        )
        topic = self.settings.topic(DELIVERY_EVENTS)
        i = 0
        while not self._stop.wait(PROBE_INTERVAL_S):
            address = f"probe{i}@latency.example"
            event = loadgen.bounce("probe", address, "nonexistent")
            self.sent[address] = time.time()
            producer.produce(topic, orjson.dumps(event))
            producer.poll(0)
            i += 1
        producer.flush(30)


def write_csv(path: Path, rows: int) -> None:
    """``rows`` rows a line each, written 10,000 at a time (never held whole)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("email;notes\r\n")
        for start in range(0, rows, 10_000):
            out.write(
                "".join(
                    f"bad address {n}\r\n"
                    if n % 100 == 1
                    else f"user{n - 50 if n % 100 == 2 and n > 50 else n}@bench.example;"
                    f'"row {n}"\r\n'
                    for n in range(start, min(start + 10_000, rows))
                )
            )


def delete_topics(settings: Settings) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    names = [n for n in admin.list_topics(timeout=10).topics if n.startswith(settings.topic_prefix)]
    for future in admin.delete_topics(names).values() if names else ():
        with contextlib.suppress(Exception):  # best effort: the topics are the bench's own
            future.result(30)


def own_cpu_seconds(process: psutil.Process) -> float:
    """User and system CPU of this process alone: the worker is its child, not its own work."""
    times = process.cpu_times()
    return times.user + times.system


def _tree_sum(process: psutil.Process, read: Callable[[psutil.Process], float]) -> float:
    """``read`` summed over a process and its children (one that ended counts nothing)."""
    total = 0.0
    for proc in (process, *process.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += read(proc)
    return total


def bounce_figures(settings: Settings, sent: dict[str, float], until: float) -> dict[str, Any]:
    """Latencies of the probe's bounces sent while rows were still being written (not
    those of the final wait, which meet an ops queue the import no longer fills)."""
    during = {address: at for address, at in sent.items() if at <= until}
    bounces = sorted(read_latencies(settings, during)["end_to_end"])
    if len(bounces) < len(during):
        raise RuntimeError(f"{len(during) - len(bounces)} of {len(during)} bounces never came out")
    return {"sent": len(during), "matched": len(bounces), **percentiles(bounces)}


def cpu_seconds(process: psutil.Process) -> float:
    """User and system CPU of a process and its children (the worker's front stage)."""
    return _tree_sum(process, own_cpu_seconds)


def worker_rss(process: psutil.Process) -> int:
    """Resident memory of the worker and its children."""
    return int(_tree_sum(process, lambda p: p.memory_info().rss))


def chunks(path: Path) -> Any:
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            yield chunk


def run(rows: int, wait: float, workdir: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings.from_env().with_(
        topic_prefix=f"bench.import.{tag}.",
        app_id=f"bench-import-{tag}",
        data_dir=workdir / "worker",
        metrics_port=free_port(),
    )
    ensure_topics(settings, say=lambda _l: None)
    csv = workdir / "rows.csv"
    write_csv(csv, rows)
    say(f"{rows:,} rows, {csv.stat().st_size / 1e6:.1f} MB; starting a worker")
    worker = WorkerProcess(settings, workdir / "worker.log").start(timeout=120)
    stamp_on_append(settings, [settings.topic(SUPPRESSIONS), ops_topic(settings, ADDRESS_OPS)])
    assert worker.proc is not None
    worker_ps = psutil.Process(worker.proc.pid)
    this_ps = psutil.Process()
    client = import_client(settings).start(timeout=30)
    writer = CommandWriter(settings, client)
    try:
        client.wait_ready(60)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        handled = 0
        produced_at = produced_wall = 0.0
        cpu_before = own_cpu_seconds(this_ps), cpu_seconds(worker_ps), own_cpu_seconds(worker_ps)
        load_before = os.getloadavg()
        started = time.monotonic()

        def on_rows(n: int) -> None:
            nonlocal handled, produced_at, produced_wall
            handled += n
            produced_at, produced_wall = time.monotonic(), time.time()

        probe = BounceProbe(settings).start()
        try:
            report = import_stream(
                writer, "bench", stream_import_csv(chunks(csv)), wait=wait, on_rows=on_rows,
                partition_of=row_lanes(settings, "bench"), window=settings.import_window_rows,
            )  # fmt: skip
            visible_at = time.monotonic()
        finally:
            probe.stop()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        importer_cpu = own_cpu_seconds(this_ps) - cpu_before[0]
        worker_cpu = cpu_seconds(worker_ps) - cpu_before[1]
        keyed_cpu = own_cpu_seconds(worker_ps) - cpu_before[2]  # the front stage is its child
        worker_mem = worker_rss(worker_ps)
        load = os.getloadavg()
        bounces = bounce_figures(settings, probe.sent, produced_wall)
    finally:
        writer.close()
        client.stop()
        worker.stop()
        delete_topics(settings)
    produce_s = produced_at - started
    visible_s = visible_at - started
    return {
        "rows": rows,
        "added": report.added,
        "already_present": report.already_present,
        "invalid": report.invalid,
        "visible": report.visible,
        "seconds_to_produced": round(produce_s, 2),
        "rows_per_s_to_produced": round(handled / produce_s),
        "seconds_to_visible": round(visible_s, 2),
        "rows_per_s_to_visible": round(report.visible / visible_s),
        "peak_rss_mb": round(peak / 1e6, 1),
        "rss_before_import_mb": round(rss_before / 1e6, 1),
        "worker_rss_at_end_mb": round(worker_mem / 1e6, 1),
        "importer_cpu_s": round(importer_cpu, 1),
        "worker_cpu_s": round(worker_cpu, 1),
        "importer_cpu_ms_per_1000_rows": round(importer_cpu / rows * 1e6, 1),
        "worker_cpu_ms_per_1000_rows": round(worker_cpu / rows * 1e6, 1),
        "keyed_stage_cpu_ms_per_1000_rows": round(keyed_cpu / rows * 1e6, 1),
        "front_stage_cpu_ms_per_1000_rows": round((worker_cpu - keyed_cpu) / rows * 1e6, 1),
        "bounces_during_import": bounces,
        "window_rows": settings.import_window_rows,
        "load_average_at_start": [round(x, 2) for x in load_before],
        "load_average_at_end": [round(x, 2) for x in load],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--wait", type=float, default=600.0, help="bound of the visible wait")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "import.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        figures = run(args.rows, args.wait, Path(tmp))
    command = " ".join(["python", "benchmarks/bench_import.py", *sys.argv[1:]])
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "cores": os.cpu_count(),
        **figures,
    }
    for key, value in figures.items():
        say(f"  {key}: {value}")
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
