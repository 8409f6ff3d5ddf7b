"""The foundation against the real broker: topics, a worker round trip, a broker that dies."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from confluent_kafka import KafkaException

from tests.kafka_helpers import BrokerGone, produce, read_topic
from workers.devkit.loadgen import customer_event
from workers.devkit.local_broker import LocalBroker
from workers.devkit.net_ports import free_port_pair
from workers.devkit.worker_process import WorkerProcess
from workers.kafka.topics import (
    ACCEPTED,
    CUSTOMER_EVENTS,
    SUPPRESSIONS,
    TopicMismatch,
    admin_client,
    ensure_ops_topics,
    ensure_topics,
    ops_specs,
)
from workers.kafka.topics import topic_specs as specs
from workers.settings import Settings
from workers.stream.process import _ops_topics_ready

pytestmark = pytest.mark.broker


def test_topics_command_is_idempotent_and_compacts_suppressions(settings: Settings) -> None:
    """Creating topics twice creates them once; suppressions is compacted, DLQs exist."""
    first = ensure_topics(settings, say=lambda _l: None)
    second = ensure_topics(settings, say=lambda _l: None)
    names = {s.name for s in specs(settings)}
    assert set(first.created) == names
    assert second.created == [] and set(second.found) == names
    from confluent_kafka.admin import ConfigResource

    resource = ConfigResource(ConfigResource.Type.TOPIC, settings.topic(SUPPRESSIONS))
    admin = admin_client(settings)  # keep a reference: the future dies with its client
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    assert config["cleanup.policy"].value == "compact"
    assert {settings.topic(f"{t}.dlq") for t in (CUSTOMER_EVENTS, "delivery-events")} <= names


def test_worker_forwards_a_customer_event_to_accepted(
    start_worker: Callable[..., WorkerProcess], topics: Settings
) -> None:
    """A customer event produced to the real broker comes out unchanged on the accepted topic,
    and the keyed stage joined its group with its ops topics in the metadata."""
    worker = start_worker()
    event = orjson.dumps(customer_event("acct-1", "Jane.Doe@Example.COM", "storefront"))
    produce(topics.bootstrap_servers, topics.topic(CUSTOMER_EVENTS), [(b"k1", event)])
    records = read_topic(
        topics.bootstrap_servers,
        topics.topic(ACCEPTED),
        until=lambda rs: len(rs) >= 1,
        timeout=60,
    )
    assert [(r.key, r.value) for r in records] == [(b"k1", event)]
    # else faust's assignor leaves the ops topics unassigned until its next metadata refresh
    assert "Ignoring missing topic" not in worker.log_tail(10_000)


def test_the_ops_topics_are_made_ready_once(settings: Settings) -> None:
    """``ensure_ops_topics`` leaves both ops topics in the metadata with every partition led;
    a second call (a restarted worker) finds them and changes nothing."""
    ensure_ops_topics(settings)
    ensure_ops_topics(settings)
    found = admin_client(settings).list_topics(timeout=10).topics
    for spec in ops_specs(settings):
        partitions = found[spec.name].partitions
        assert len(partitions) == settings.partitions
        assert all(p.leader >= 0 for p in partitions.values())


def test_ops_topics_the_cluster_cannot_match_stop_the_start_with_why(settings: Settings) -> None:
    """Ops topics with other partitions than the settings say, or a replication the
    cluster cannot have, raise at once: waiting would never help."""
    ensure_ops_topics(settings)  # two partitions
    with pytest.raises(TopicMismatch, match="has 2 partitions, the settings say 4"):
        ensure_ops_topics(settings.with_(partitions=4))
    with pytest.raises(KafkaException, match=r"(?i)replication"):
        _ops_topics_ready(settings.with_(app_id=f"{settings.app_id}-r3", replication=3))


def test_broker_life_cycle_reuse_death_and_fast_restart(tmp_path: Path) -> None:
    """A second start reuses the running broker; killed, it makes a wait fail with
    BrokerGone rather than hang; started again over its stale pid file it is back in
    seconds, since the jars are cached."""
    lines: list[str] = []
    private = Settings.from_env(
        local_kafka_port=free_port_pair(),
        cache_dir=LocalBroker.from_settings(Settings.from_env()).cache_dir,
    )
    broker = LocalBroker.from_settings(private, say=lines.append)
    bootstrap = broker.start()
    try:
        started = time.monotonic()
        assert broker.start() == bootstrap
        assert time.monotonic() - started < 5
        assert any("reusing it" in line for line in lines)
        settings = private.with_(bootstrap_servers=bootstrap, topic_prefix="gone.", partitions=1)
        ensure_topics(settings, say=lambda _l: None)
        pid = broker.running_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokerGone, match="went away"):
            read_topic(bootstrap, settings.topic(ACCEPTED), until=lambda rs: False, timeout=5)
        started = time.monotonic()
        assert broker.start() == bootstrap
        assert time.monotonic() - started < 60
        assert any("stale pid file" in line for line in lines)
        assert ensure_topics(settings, say=lambda _l: None).created == []  # data survived
    finally:
        broker.stop()
