"""The keyed stage's handlers without a broker: replays after a crash re-send, never change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from suppressor_client.types import ListName

from workers.devkit.loadgen import bounce
from workers.settings import Settings
from workers.stream import handlers

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = Settings().ladder()


def _bounce(outcome: str, when: datetime) -> bytes:
    return handlers.DELIVERY + orjson.dumps(bounce("a", "x@gmail.com", outcome, when=when))


def test_a_repeated_event_re_sends_the_same_records_at_the_same_versions() -> None:
    """Replaying an event already applied publishes the current records again, unchanged."""
    op = _bounce("nonexistent", T0)
    first = handlers.handle_address(None, op, "a", "x@gmail.com", CONFIG)
    again = handlers.handle_address(first.stored, op, "a", "x@gmail.com", CONFIG)
    assert not first.duplicate and again.duplicate
    assert again.out == first.out
    assert again.stored == first.stored


def test_a_replayed_expiry_tick_re_sends_the_release_and_its_tombstone() -> None:
    """A tick replayed after a crash (state already released) sends the release again."""
    placed = handlers.handle_address(None, _bounce("condition", T0), "a", "x@gmail.com", CONFIG)
    assert placed.expiry_after == T0 + timedelta(days=7)
    tick = handlers.expire_tick(T0 + timedelta(days=8))
    released = handlers.handle_address(placed.stored, tick, "a", "x@gmail.com", CONFIG)
    [(key, record), (key_again, tombstone)] = released.out
    assert key.list is ListName.BOUNCE and record is not None and not record.active
    assert key_again == key and tombstone is None
    replayed = handlers.handle_address(released.stored, tick, "a", "x@gmail.com", CONFIG)
    assert replayed.duplicate
    assert replayed.out == released.out
