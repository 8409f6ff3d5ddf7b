"""Producing into a full local queue: the wait for room is bounded when a deadline is given."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer

from workers.devkit.net_ports import free_port
from workers.kafka.producing import ProduceFailed, produce_retrying


def test_a_full_queue_raises_at_the_deadline_instead_of_waiting_for_ever() -> None:
    """With nothing listening, a one-record queue stays full: the second produce gives up
    once its deadline passed, with ProduceFailed, rather than polling until room appears."""
    producer = Producer(
        {
            "bootstrap.servers": f"127.0.0.1:{free_port()}",  # nothing listens there
            "queue.buffering.max.messages": 1,
            "message.timeout.ms": 60_000,
            "log_level": 0,
        }
    )
    produce_retrying(producer, "t", b"first")
    with pytest.raises(ProduceFailed, match="queue stayed full"):
        produce_retrying(producer, "t", b"second", deadline=time.monotonic() + 0.3)
    assert len(producer) == 1  # the second record was never queued
    producer.purge()
