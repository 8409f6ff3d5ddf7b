"""The worker's start: the ops topics are waited for while the broker is away, not forever
on what waiting cannot fix."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from workers.settings import Settings
from workers.stream import process


def test_a_broker_that_is_away_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Transport errors and topics not yet in the metadata are tried again until ready."""
    failures: list[Exception] = [
        KafkaException(KafkaError(KafkaError._TRANSPORT)),
        TimeoutError("topics not visible after 30s"),
    ]
    calls: list[Settings] = []

    def ensure(settings: Settings) -> None:
        calls.append(settings)
        if failures:
            raise failures.pop(0)

    monkeypatch.setattr(process, "ensure_ops_topics", ensure)
    process._ops_topics_ready(Settings.from_env({}), retry_s=0)
    assert len(calls) == 3


def test_an_error_waiting_cannot_fix_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def ensure(_settings: Settings) -> None:
        raise KafkaException(KafkaError(KafkaError.INVALID_REPLICATION_FACTOR))

    monkeypatch.setattr(process, "ensure_ops_topics", ensure)
    with pytest.raises(KafkaException):
        process._ops_topics_ready(Settings.from_env({}), retry_s=0)
