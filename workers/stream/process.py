"""The worker's processes: the faust keyed stage here, the front stage as a supervised child."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from faust.worker import Worker
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from suppressor_client.feed import SuppressionFeed
from suppressor_client.types import ListName

from workers import metrics
from workers.kafka.topics import SUPPRESSIONS, ensure_ops_topics
from workers.settings import Settings
from workers.stream.app import SuppressorApp
from workers.stream.front import FrontStage

__all__ = ["front_main", "serve"]

log = logging.getLogger(__name__)

KEYED_SWITCH_INTERVAL_S = 0.05
"""How long the keyed stage's agent thread keeps the interpreter lock while faust's
consumer thread waits for it (Python's default: 5 ms). On a busy machine each hand-over
waited for that thread to be scheduled; a 1,000,000-row import, 0.05 against the
default, interleaved: 19,309 and 18,046 rows/s to visible against 16,822 and 17,373
(keyed stage 42.3 / 46.0 against 50.0 / 48.3 ms of CPU a 1,000 rows, docs/performance.md)."""


class _ReadyWorker(Worker):
    """A faust worker that reports readiness once recovery finished and processing runs."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        metrics.WORKER_READY.set(1)

    async def on_stop(self) -> None:
        metrics.WORKER_READY.set(0)
        await super().on_stop()


class FrontSupervisor:
    """Keeps one front-stage child process running for as long as this process runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self.child: BaseProcess | None = None
        self.restarts = 0

    def ensure_running(self) -> None:
        if self.child is not None and self.child.is_alive():
            return
        if self.child is not None:
            mark_process_dead(self.child.pid)  # type: ignore[no-untyped-call]
            self.restarts += 1
            log.error("front stage exited (code %s); starting it again", self.child.exitcode)
        self.child = self._context.Process(
            target=front_main, args=(self.settings, os.getpid()), name="front-stage", daemon=True
        )
        self.child.start()

    def stop(self) -> None:
        if self.child is not None and self.child.is_alive():
            self.child.terminate()
            self.child.join(timeout=30)


def serve(settings: Settings) -> None:
    """Serve metrics, start the front stage and run the faust worker until stopped."""
    sys.setswitchinterval(KEYED_SWITCH_INTERVAL_S)
    if settings.metrics_port:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)
    _ops_topics_ready(settings)
    suppressor = SuppressorApp(settings)
    front = FrontSupervisor(settings)

    async def supervise() -> None:
        front.ensure_running()

    suppressor.faust.timer(1.0, name="front-supervisor")(supervise)
    worker = _ReadyWorker(
        suppressor.faust,
        loglevel=logging.getLevelName(settings.log_level.upper()),
        quiet=True,
        redirect_stdouts=False,
    )
    try:
        worker.execute_from_commandline()
    finally:
        front.stop()


_BROKER_AWAY = {
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_CONTROLLER,
}
"""What a broker that is down, starting or electing answers: worth waiting for."""


def _ops_topics_ready(settings: Settings, retry_s: float = 2.0) -> None:
    """The ops topics exist and show in the metadata before faust joins its group
    (``ensure_ops_topics``). A broker that does not answer yet, or topics not yet in its
    metadata, are waited for, and said; anything else (a replication the cluster cannot
    have, a topic with other partitions: ``TopicMismatch``) stops the worker with why."""
    while True:
        try:
            ensure_ops_topics(settings)
            return
        except (KafkaException, TimeoutError) as exc:
            if isinstance(exc, KafkaException) and exc.args[0].code() not in _BROKER_AWAY:
                raise
            log.warning(
                "the ops topics are not ready at %s (%s); is the broker up? trying again",
                settings.bootstrap_servers,
                exc,
            )
            time.sleep(retry_s)


RULES_FETCH_MIN_BYTES = 64 * 1024
"""The front stage's domain-rule feed reads all of ``suppressions`` to keep a few rules:
in fetches of 64 KiB (or 50 ms, a rule's delay at most), not one small batch of an
import's records per wake-up of its thread, which shares the interpreter with the stage."""


def front_main(settings: Settings, parent_pid: int) -> None:
    """Entry of the front-stage child: run until stopped or until the parent is gone."""
    logging.basicConfig(
        level=logging.getLevelName(settings.log_level.upper()),
        format="[%(asctime)s] [%(process)d] [%(levelname)s] front: %(message)s",
    )
    stopping = False

    def on_term(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    rules = SuppressionFeed(
        settings.bootstrap_servers,
        settings.topic(SUPPRESSIONS),
        lists=(ListName.DOMAIN_RULE,),
        on_error=lambda msg: log.warning("domain-rule feed: %s", msg),
        fetch_min_bytes=RULES_FETCH_MIN_BYTES,
    )
    rules.start()
    stage = FrontStage(settings, rules)
    stage.start()
    log.info("front stage running (pid %d)", os.getpid())
    try:
        while not stopping and os.getppid() == parent_pid and stage.running:
            time.sleep(0.5)
    finally:
        stage.stop()
        rules.stop()
    if not stopping and os.getppid() == parent_pid:
        raise SystemExit(1)  # the stage died: the supervisor starts a new one
