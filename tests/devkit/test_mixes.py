"""The realistic delivery mix has the shape the keyed-stage benchmark claims for it."""

from __future__ import annotations

from collections import Counter

import orjson

from workers.devkit.loadgen import BOUNCES
from workers.devkit.mixes import REALISTIC, distinct_deliveries, realistic_deliveries
from workers.domain.classify import classify_delivery
from workers.domain.events import parse_delivery_event


def test_the_mix_table_covers_every_bounce_class_and_sums_to_one() -> None:
    """The shares add up to 1 and every bounce class of the load generator has a row."""
    assert abs(sum(kind.share for kind in REALISTIC) - 1.0) < 1e-9
    assert {kind.bounce for kind in REALISTIC if kind.bounce} == set(BOUNCES)


def test_realistic_deliveries_are_mostly_deliveries_to_recipients_mailed_often() -> None:
    """About 90% are deliveries, ~7% bounces, ~3% complaints and unsubscribes; most events
    go to recipients mailed many times, over several accounts; each event is valid input."""
    events = list(realistic_deliveries(20_000, population=10_000))
    types = Counter(e["type"] for e in events)
    assert 0.88 < types["delivered"] / len(events) < 0.92
    assert 0.055 < types["bounce"] / len(events) < 0.085
    others = types["complaint"] + types["unsubscribe"] + types["list_unsubscribe"]
    assert 0.02 < others / len(events) < 0.04
    per_recipient = Counter((e["account_id"], e["email"]) for e in events)
    often = sum(n for n in per_recipient.values() if n >= 10)
    assert often / len(events) > 0.5
    assert len({e["account_id"] for e in events}) >= 4
    outcomes = Counter()
    for event in events[:3000]:
        parsed = parse_delivery_event(orjson.dumps(event))
        if parsed.type.value == "bounce":
            classification = classify_delivery(parsed)
            assert classification is not None
            outcomes[classification.outcome.value] += 1
    assert set(outcomes) == set(BOUNCES)


def test_a_mix_is_the_same_for_the_same_seed_and_distinct_deliveries_never_repeat() -> None:
    """Two draws with one seed give the same events (ids too); distinct addresses never repeat."""
    first = [e["event_id"] for e in realistic_deliveries(500, seed=3)]
    assert first == [e["event_id"] for e in realistic_deliveries(500, seed=3)]
    assert len(set(first)) == 500
    addresses = [e["email"] for e in distinct_deliveries(5000)]
    assert len(set(addresses)) == 5000
