"""The load generator's pacing: it waits only when a millisecond or more ahead."""

from __future__ import annotations

import time

from workers.devkit.loadgen import pace


class Polls:
    """Counts ``poll`` calls: pacing serves delivery reports before it sleeps."""

    def __init__(self) -> None:
        self.polls = 0

    def poll(self, _timeout: float) -> int:
        self.polls += 1
        return 0


def test_ahead_of_the_rate_it_serves_reports_and_waits() -> None:
    producer = Polls()
    pace(producer, time.monotonic(), sent=1, rate=200.0)  # type: ignore[arg-type]
    assert producer.polls == 1


def test_on_or_behind_the_rate_it_goes_straight_on() -> None:
    producer = Polls()
    pace(producer, time.monotonic() - 1.0, sent=100, rate=200.0)  # type: ignore[arg-type]
    pace(producer, time.monotonic(), sent=1, rate=1e7)  # type: ignore[arg-type]
    assert producer.polls == 0
