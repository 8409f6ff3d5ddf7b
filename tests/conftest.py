"""Shared fixtures: a real Kafka broker, per-test topic names, and worker processes.

The broker comes from ``KAFKA_BOOTSTRAP_SERVERS`` when set; else the project's local
KRaft broker (Java and Maven, no Docker); else, where a Docker engine answers,
testcontainers. Every test gets its own topic prefix and app id, so tests never see
each other's records.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kafka_helpers import WaitTimeout, wait_for
from workers.settings import Settings
from workers.tools.local_broker import BrokerError, LocalBroker, broker_answers
from workers.tools.topics import ensure_topics


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20)
    return result.returncode == 0


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The bootstrap address of a real broker, found or started once per test session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        if not broker_answers(given, timeout=10.0):
            pytest.fail(f"KAFKA_BOOTSTRAP_SERVERS={given} is set but no broker answers there")
        yield given
        return
    if shutil.which("java") and shutil.which("mvn"):
        broker = LocalBroker.from_settings(Settings.from_env())
        try:
            yield broker.start()
        except BrokerError as exc:
            pytest.fail(f"could not start the local Kafka broker: {exc}")
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as container:
            yield container.get_bootstrap_server()
        return
    pytest.fail(
        "no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS, install Java 17 and Maven for the "
        "local broker, or run a Docker engine"
    )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    """Settings private to one test: its own topics, consumer group and table files."""
    tag = uuid.uuid4().hex[:10]
    return Settings.from_env(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{tag}.",
        app_id=f"suppressor-t{tag}",
        partitions=2,
        data_dir=tmp_path / "worker-data",
        metrics_port=free_port(),
        web_port=free_port(),
    )


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """The test's topics, created on the real broker."""
    ensure_topics(settings, say=lambda _line: None)
    return settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process read exactly these settings."""
    return {**os.environ, **settings.to_env(), "PYTHONUNBUFFERED": "1"}


class WorkerProcess:
    """A ``suppressor worker`` child process, with its log kept for failure messages."""

    def __init__(self, settings: Settings, log_path: Path, **overrides: Any) -> None:
        self.settings = settings.with_(**overrides) if overrides else settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "worker"],
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(
                self.ready,
                timeout=timeout,
                what=f"the worker to become ready (log: {self.log_path})",
                bootstrap=self.settings.bootstrap_servers,
            )
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}\n--- worker log tail ---\n{self.log_tail()}") from exc
        return self

    def ready(self) -> bool:
        """Ready once its metrics say the worker finished start-up and holds partitions."""
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"the worker exited early:\n{self.log_tail()}")
        from urllib.request import urlopen

        try:
            with urlopen(f"http://127.0.0.1:{self.settings.metrics_port}/metrics", timeout=1) as r:
                body: str = r.read().decode()
        except OSError:
            return False
        return "suppressor_worker_ready 1.0" in body

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: the hardest crash, no shutdown hooks run."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


@pytest.fixture
def start_worker(topics: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes on the test's topics; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def start(name: str = "w1", **overrides: Any) -> WorkerProcess:
        worker = WorkerProcess(topics, tmp_path / f"{name}.log", **overrides)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
