"""Metric updates gathered per commit reach Prometheus whole at the flush, and only then."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from workers.stream.metric_batch import MetricBatch


def _metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    changes = Counter("t_changes_total", "changes", ["list", "op"], registry=registry)
    latency = Histogram("t_latency_seconds", "latency", ["topic"], registry=registry)
    return registry, changes, latency


def test_counters_are_applied_at_the_flush_with_every_increment() -> None:
    """Nothing shows before the flush; after it, each label set has the sum of its increments."""
    registry, changes, latency = _metrics()
    batch = MetricBatch(latency)
    for _ in range(5):
        batch.inc(changes, "bounce", "upsert")
    batch.inc(changes, "bounce", "release", amount=2)
    assert registry.get_sample_value("t_changes_total", {"list": "bounce", "op": "upsert"}) is None
    batch.flush()
    assert registry.get_sample_value("t_changes_total", {"list": "bounce", "op": "upsert"}) == 5
    assert registry.get_sample_value("t_changes_total", {"list": "bounce", "op": "release"}) == 2
    batch.flush()  # a second flush adds nothing
    assert registry.get_sample_value("t_changes_total", {"list": "bounce", "op": "upsert"}) == 5


def test_latency_is_sampled_to_a_bounded_number_of_observations_per_interval() -> None:
    """Few events are all observed; many are sampled down to the bound, values kept."""
    registry, _changes, latency = _metrics()
    batch = MetricBatch(latency, latency_samples=8)
    batch.observe("delivery-events", 0.01)
    batch.observe("delivery-events", 0.02)
    batch.flush()
    count = registry.get_sample_value("t_latency_seconds_count", {"topic": "delivery-events"})
    assert count == 2
    for i in range(1000):
        batch.observe("delivery-events", 0.5 + i / 10_000)
    batch.flush()
    count = registry.get_sample_value("t_latency_seconds_count", {"topic": "delivery-events"})
    total = registry.get_sample_value("t_latency_seconds_sum", {"topic": "delivery-events"})
    assert count == 2 + 8
    assert total is not None and 0.03 + 8 * 0.5 <= total <= 0.03 + 8 * 0.6
