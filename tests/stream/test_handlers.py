"""The keyed stage's handlers without a broker: replays after a crash re-send, never change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from suppressor_client.types import ListName

from workers.devkit.loadgen import bounce, command, delivery
from workers.domain.state_codec import decode_address
from workers.settings import Settings
from workers.stream import handlers
from workers.stream.ops_codec import decode_delivery

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


def _op(raw_event: dict[str, object]) -> bytes:
    """The ops record the front stage sends for an input delivery event."""
    from workers.stream.routing import route

    routed = route(
        "delivery-events", 0, 0, None, orjson.dumps(raw_event),
        rules=lambda _a: None, max_bytes=65536, now=T0, prefixed_topic="delivery-events",
    )  # fmt: skip
    return routed.out.value


def test_a_delivery_that_finds_no_streak_writes_and_sends_nothing() -> None:
    """A delivery to an address with no state, or with no streak running, returns None: the
    agent writes no table and sends nothing (docs/design.md, deliveries that change nothing)."""
    when = T0 + timedelta(days=1)
    fresh = _op(delivery("a", "x@gmail.com", "delivered", when=when))
    assert handlers.handle_address(None, fresh, "a", "x@gmail.com", CONFIG) is None
    listed = handlers.handle_address(
        None, _op(bounce("a", "x@gmail.com", "nonexistent", when=T0)), "a", "x@gmail.com", CONFIG
    )
    assert listed is not None
    assert handlers.handle_address(listed.stored, fresh, "a", "x@gmail.com", CONFIG) is None


def test_a_delivery_during_a_streak_is_applied() -> None:
    """A delivery after a counted condition bounce ends the streak: the state is written."""
    climbing = handlers.handle_address(
        None, _op(bounce("a", "x@gmail.com", "condition", when=T0)), "a", "x@gmail.com", CONFIG
    )
    assert climbing is not None
    ended = handlers.handle_address(
        climbing.stored,
        _op(delivery("a", "x@gmail.com", "delivered", when=T0 + timedelta(days=1))),
        "a",
        "x@gmail.com",
        CONFIG,
    )
    assert ended is not None and ended.stored != climbing.stored and ended.out == []


def test_the_compact_form_gives_what_the_original_json_gave() -> None:
    """The front stage's compact record and the original JSON (an older front stage's
    records still on the ops topic) give the same state and the same records."""
    for outcome in ("nonexistent", "condition", "policy", "unknown"):
        event = bounce("a", "x@gmail.com", outcome, when=T0)
        legacy = handlers.DELIVERY + orjson.dumps(event)
        old = handlers.handle_address(None, legacy, "a", "x@gmail.com", CONFIG)
        new = handlers.handle_address(None, _op(event), "a", "x@gmail.com", CONFIG)
        assert old is not None and new is not None
        assert (new.stored, new.out, new.outcome) == (old.stored, old.out, old.outcome)


def test_a_record_replayed_from_the_ops_topic_is_known_by_its_offset() -> None:
    """After a crash the keyed stage reads again from its committed offset: a record at or
    before the last one applied to the key re-sends the current records, even when its
    id is held nowhere any more (its bounce folded out of the bounded history); the same
    record at a new offset (a front-stage replay) changes nothing and sends nothing."""
    first = _op(bounce("a", "x@gmail.com", "condition", when=T0))
    placed = handlers.handle_address(None, first, "a", "x@gmail.com", CONFIG, position=(1, 10, 0))
    assert placed is not None and placed.stored is not None and not placed.duplicate
    stored = placed.stored
    for n in range(1, CONFIG.history_limit + 2):  # later bounces fold the first one away
        later = _op(bounce("a", "x@gmail.com", "condition", when=T0 + timedelta(days=40 * n)))
        step = handlers.handle_address(
            stored, later, "a", "x@gmail.com", CONFIG, position=(1, 10 + n, 0)
        )
        assert step is not None and step.stored is not None and not step.duplicate
        stored = step.stored
    first_id = decode_delivery(first, "a")[0].event_id
    assert all(i.event_id != first_id for i in decode_address(stored).state.history)
    replayed = handlers.handle_address(
        stored, first, "a", "x@gmail.com", CONFIG, position=(1, 10, 0)
    )
    assert replayed is not None and replayed.duplicate and replayed.stored == stored
    assert [key.list for key, _record in replayed.out] == [ListName.BOUNCE]
    again = handlers.handle_address(stored, first, "a", "x@gmail.com", CONFIG, position=(1, 99, 0))
    assert again is not None and not again.duplicate and again.out == []
    moved = handlers.handle_address(stored, first, "a", "x@gmail.com", CONFIG, position=(2, 10, 0))
    assert moved is not None and not moved.duplicate and moved.out == []


def test_a_bounce_whose_outcome_lists_nothing_writes_nothing() -> None:
    """A policy or unknown bounce changes no state: nothing stored or sent, even for an
    address that has a state, and its outcome is still reported for the metrics."""
    listed = handlers.handle_address(None, _bounce("nonexistent", T0), "a", "x@gmail.com", CONFIG)
    assert listed is not None
    for stored in (None, listed.stored):
        for outcome in ("policy", "unknown"):
            op = _op(bounce("a", "x@gmail.com", outcome, when=T0))
            result = handlers.handle_address(stored, op, "a", "x@gmail.com", CONFIG)
            assert result is not None and result.stored is None and result.out == []
            assert result.outcome is not None and result.outcome.value == outcome


def test_a_stored_json_record_is_read_and_written_back_in_binary() -> None:
    """A rolling upgrade: the table (and its changelog) still holds JSON records; the next
    record of the key reads one and stores the binary form, with the same versions."""
    from tests.domain.test_state_codec import LEGACY

    complaint = _op(delivery("jane", "jane@example.com", "complaint", when=T0))
    result = handlers.handle_address(LEGACY, complaint, "acme", "jane@example.com", CONFIG)
    assert result is not None and result.stored[:1] != b"{"
    held = decode_address(result.stored)
    assert held.versions["bounce/jane@example.com"] == 3
    legacy = decode_address(LEGACY).state
    assert held.state.climbed == legacy.climbed and held.state.history == legacy.history


def test_items_of_one_bundle_are_told_apart_by_their_place() -> None:
    """Two commands of one address in one bundle share the record's offset: each applies
    by its place in the bundle, and the bundle replayed after a crash applies neither."""
    block = handlers.COMMAND + orjson.dumps(command("a", "address.block", email="x@gmail.com"))
    allow = handlers.COMMAND + orjson.dumps(command("a", "address.allow", email="x@gmail.com"))
    first = handlers.handle_address(None, block, "a", "x@gmail.com", CONFIG, position=(0, 7, 0))
    assert first is not None and first.stored is not None and not first.duplicate
    second = handlers.handle_address(
        first.stored, allow, "a", "x@gmail.com", CONFIG, position=(0, 7, 1)
    )
    assert second is not None and second.stored is not None and not second.duplicate
    assert [key.list for key, _record in second.out] == [ListName.ADDRESS_ALLOW]
    for place, op in enumerate((block, allow)):
        again = handlers.handle_address(
            second.stored, op, "a", "x@gmail.com", CONFIG, position=(0, 7, place)
        )
        assert again is not None and again.duplicate and again.stored == second.stored
