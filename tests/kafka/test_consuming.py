"""``consume_ready``'s order of calls, with a scripted stand-in for the client (the real
broker is in tests/integration/test_consuming.py)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, KafkaException
from suppressor_client.consuming import consume_ready


class Scripted:
    """Answers each ``consume`` call with the next scripted list, or raises it."""

    def __init__(self, *answers: list[str] | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[int, float]] = []

    def consume(self, num_messages: int, timeout: float) -> list[str]:
        self.calls.append((num_messages, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _run(consumer: Scripted, limit: int = 100) -> Any:
    return consume_ready(consumer, limit, wait=0.5)  # type: ignore[arg-type]


def test_what_is_held_comes_back_without_waiting() -> None:
    consumer = Scripted(["a", "b"])
    assert _run(consumer) == ["a", "b"]
    assert consumer.calls == [(100, 0)]


def test_with_nothing_held_it_waits_for_one_then_takes_the_rest() -> None:
    consumer = Scripted([], ["a"], ["b", "c"])
    assert _run(consumer) == ["a", "b", "c"]
    assert consumer.calls == [(100, 0), (1, 0.5), (99, 0)]


def test_an_error_after_the_first_record_keeps_the_first_record() -> None:
    consumer = Scripted([], ["a"], KafkaException(KafkaError(KafkaError._TRANSPORT)))
    assert _run(consumer) == ["a"]


def test_a_limit_of_one_never_asks_for_zero() -> None:
    consumer = Scripted([], ["a"])
    assert _run(consumer, limit=1) == ["a"]
    assert consumer.calls == [(1, 0), (1, 0.5)]
