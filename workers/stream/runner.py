"""Run one worker: the keyed stage (faust) in this process, the front stage in a child.

Two processes use both cores of a machine instead of sharing one interpreter lock:
the front stage (gate and routers, confluent-kafka) and the keyed stage (faust agents and
RocksDB tables). They publish one set of Prometheus metrics through prometheus-client's
multiprocess mode, served by this process on ``SUPPRESSOR_METRICS_PORT``.
"""

from __future__ import annotations

import os
import shutil

from workers.settings import Settings

__all__ = ["metrics_dir", "run_worker"]


def metrics_dir(settings: Settings) -> str:
    return str((settings.data_dir / "metrics").resolve())


def run_worker(settings: Settings) -> None:
    """Start metrics, build the app from the settings and run until stopped."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    directory = metrics_dir(settings)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    # prometheus-client chooses its value store when first imported: set this first.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

    from workers.stream.process import serve

    serve(settings)
