"""Run one worker process: the faust worker plus its Prometheus endpoint."""

from __future__ import annotations

import logging

from faust.worker import Worker
from prometheus_client import start_http_server

from workers import metrics
from workers.settings import Settings
from workers.stream.app import build_app

__all__ = ["run_worker"]


class _ReadyWorker(Worker):
    """A faust worker that reports readiness once recovery finished and processing runs."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        metrics.WORKER_READY.set(1)

    async def on_stop(self) -> None:
        metrics.WORKER_READY.set(0)
        await super().on_stop()


def run_worker(settings: Settings) -> None:
    """Start metrics, build the app from the settings and run until stopped."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr="0.0.0.0")
    app = build_app(settings)
    worker = _ReadyWorker(
        app.faust,
        loglevel=logging.getLevelName(settings.log_level.upper()),
        quiet=True,
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()
