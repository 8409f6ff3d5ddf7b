"""One adjustment to faust-streaming that its settings do not expose.

faust-streaming 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms=1500``
hard-coded. With records arriving steadily on several partitions, fetches then wait
up to that long, and the keyed stage answers in seconds while idle. Measured with
``benchmarks/bench_worker.py`` (500 bounces/s): keyed-stage p50 1.45 s with 1500 ms,
0.16 s with 100 ms. The patch sets the attribute aiokafka reads when it starts its
fetcher, right after faust creates the consumer.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver

__all__ = ["FETCH_MAX_WAIT_MS", "shorten_fetch_wait"]

FETCH_MAX_WAIT_MS = 100
_PATCHED = "_suppressor_fetch_wait"


def shorten_fetch_wait() -> None:
    """Make faust's worker consumer wait at most ``FETCH_MAX_WAIT_MS`` per fetch (idempotent)."""
    thread_class: Any = driver.AIOKafkaConsumerThread
    if getattr(thread_class, _PATCHED, False):
        return
    original = thread_class._create_worker_consumer

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    thread_class._create_worker_consumer = create
    setattr(thread_class, _PATCHED, True)
