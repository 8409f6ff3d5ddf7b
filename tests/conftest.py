"""Shared fixtures: a real Kafka broker, per-test topic names, and worker processes.

The broker comes from ``KAFKA_BOOTSTRAP_SERVERS`` when set; else the project's local
KRaft broker (Java and Maven, no Docker); else, where a Docker engine answers,
testcontainers. Every test gets its own topic prefix and app id, so tests never see
each other's records.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.kafka_helpers import BrokerGone
from workers.devkit.local_broker import BrokerError, LocalBroker, broker_answers
from workers.devkit.net_ports import free_port
from workers.devkit.worker_process import WorkerExited, WorkerProcess
from workers.kafka.topics import ensure_topics
from workers.settings import Settings

# How fast Hypothesis draws inputs depends on the machine's load, not on the code:
# a busy two-core machine must not fail a property that holds. CI (``.ci/run`` sets
# HYPOTHESIS_DERANDOMIZE) draws the same examples on every run, so its verdict is the code's;
# other runs draw new ones (and find what the fixed draw never tries).
hypothesis_settings.register_profile(
    "project", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
hypothesis_settings.register_profile(
    "ci", hypothesis_settings.get_profile("project"), derandomize=True, database=None
)
hypothesis_settings.load_profile("ci" if os.environ.get("HYPOTHESIS_DERANDOMIZE") else "project")


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


@pytest.fixture(scope="session")
def test_topic_prefixes(kafka_bootstrap: str) -> Iterator[list[str]]:
    """Prefixes of the topics this session's tests create; they are deleted at its end,
    so a long-lived dev broker does not pile up partitions from run after run (they
    cost it start-up time and idle CPU)."""
    prefixes: list[str] = []
    yield prefixes
    if not prefixes:
        return
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap, "log_level": 0})
    try:
        names = list(admin.list_topics(timeout=10).topics)
    except Exception:  # the broker is gone (a test may have stopped it): nothing to tidy
        return
    ours = [name for name in names if name.startswith(tuple(prefixes))]
    for start in range(0, len(ours), 500):
        futures = admin.delete_topics(ours[start : start + 500], operation_timeout=30)
        for future in futures.values():
            with contextlib.suppress(Exception):  # best effort: never fail the session here
                future.result(timeout=60)


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path, test_topic_prefixes: list[str]) -> Settings:
    """Settings private to one test: its own topics, consumer group and table files."""
    tag = uuid.uuid4().hex[:10]
    test_topic_prefixes.extend([f"t{tag}.", f"suppressor-t{tag}-"])
    return Settings.from_env(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{tag}.",
        app_id=f"suppressor-t{tag}",
        partitions=2,
        data_dir=tmp_path / "worker-data",
        metrics_port=free_port(),
    )


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """The test's topics, created on the real broker."""
    ensure_topics(settings, say=lambda _line: None)
    return settings


@pytest.fixture
def start_worker(topics: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes on the test's topics; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def start(name: str = "w1", **overrides: Any) -> WorkerProcess:
        settings = topics.with_(metrics_port=free_port(), **overrides)
        worker = WorkerProcess(settings, tmp_path / f"{name}.log")
        started.append(worker)
        try:
            return worker.start()
        except (TimeoutError, WorkerExited) as exc:
            if not broker_answers(topics.bootstrap_servers):
                raise BrokerGone(f"the broker went away while a worker started: {exc}") from exc
            raise

    yield start
    for worker in started:
        worker.stop()
