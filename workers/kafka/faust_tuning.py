"""Adjustments to faust-streaming's consumer that its settings do not expose.

faust-streaming 0.15 creates its aiokafka consumer with ``fetch_max_wait_ms=1500``
hard-coded and aiokafka's ``fetch_min_bytes=1``:

- with records arriving steadily on several partitions, fetches wait up to 1.5 s, and
  the keyed stage answers in seconds while idle. Measured with
  ``benchmarks/bench_worker.py`` (500 bounces/s): keyed-stage p50 1.45 s with 1500 ms,
  0.16 s with 100 ms;
- with one byte as the minimum, a busy broker answers each fetch with the few records
  that arrived since the last one, so the fetch rate follows the record rate and the
  requests cost the broker CPU that the worker shares on a small machine. Asking for
  64 KiB (the wait bounds the delay) cut the broker's CPU at 5,000 events/s.

The patch sets the attributes aiokafka reads when it starts its fetcher, right after
faust creates the consumer.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver

__all__ = ["FETCH_MAX_WAIT_MS", "FETCH_MIN_BYTES", "shorten_fetch_wait"]

FETCH_MAX_WAIT_MS = 50
FETCH_MIN_BYTES = 65536
_PATCHED = "_suppressor_fetch_wait"


def shorten_fetch_wait() -> None:
    """Make faust's worker consumer fetch in batches, waiting at most ``FETCH_MAX_WAIT_MS``."""
    thread_class: Any = driver.AIOKafkaConsumerThread
    if getattr(thread_class, _PATCHED, False):
        return
    original = thread_class._create_worker_consumer

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        consumer._fetch_min_bytes = FETCH_MIN_BYTES
        return consumer

    thread_class._create_worker_consumer = create
    setattr(thread_class, _PATCHED, True)
