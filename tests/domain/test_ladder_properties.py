"""Property tests of the address state machine: idempotence, order, bounds, round trips."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.types import (
    CommandType,
    DeliveryEvent,
    DeliveryType,
    ListName,
    Outcome,
    Reason,
)

from tests.domain.ladder_helpers import (
    Input,
    apply_effects,
    at,
    command,
    delivery,
    run,
    suppressions,
)
from workers.domain.ladder import AddressState, entries, expire
from workers.domain.ladder_state import Mark
from workers.domain.state_codec import decode_address, encode_address
from workers.settings import Settings

DELIVERY_KINDS = list(DeliveryType)
ORDERED_COMMANDS = [  # commands whose result does not depend on arrival order
    CommandType.ADDRESS_BLOCK,
    CommandType.ADDRESS_UNBLOCK,
    CommandType.ADDRESS_ALLOW,
    CommandType.ADDRESS_DISALLOW,
    CommandType.IMPORT_ROW,
]
SUPPRESSING_COMMANDS = [CommandType.ADDRESS_BLOCK, CommandType.IMPORT_ROW]
SPREAD = st.integers(min_value=0, max_value=400 * 4).map(lambda q: q / 4)  # quarter days
DENSE = st.integers(min_value=0, max_value=12).map(float)  # many ties and overlapping blocks
outcomes = st.one_of(st.none(), st.sampled_from(list(Outcome)))
import_reasons = st.sampled_from([None, Reason.MANUAL, Reason.NONEXISTENT_LEGACY])


@st.composite
def delivery_events(
    draw: st.DrawFn,
    kinds: list[DeliveryType] = DELIVERY_KINDS,
    times: st.SearchStrategy[float] = SPREAD,
) -> Input:
    """Any delivery event; condition bounces are drawn often so the ladder gets climbed."""
    kind = draw(st.sampled_from(kinds))
    if kind is DeliveryType.BOUNCE:
        outcome = draw(st.one_of(st.just(Outcome.CONDITION), outcomes))
    else:
        outcome = draw(outcomes)
    return delivery(kind, "?", draw(times), outcome)


@st.composite
def commands(
    draw: st.DrawFn,
    kinds: list[CommandType] = ORDERED_COMMANDS,
    times: st.SearchStrategy[float] = SPREAD,
) -> Input:
    """Any address-level command whose result does not depend on arrival order."""
    kind = draw(st.sampled_from(kinds))
    reason = draw(import_reasons) if kind is CommandType.IMPORT_ROW else None
    return command(kind, "?", draw(times), reason=reason, notes=draw(st.none() | st.just("n")))


def with_ids(inputs: list[Input], prefix: str = "e") -> list[Input]:
    """Give every input a distinct event id (the strategies leave a placeholder)."""
    out: list[Input] = []
    for i, (event, outcome) in enumerate(inputs):
        event_id = f"{prefix}{i}"
        if isinstance(event, DeliveryEvent):
            out.append((replace(event, event_id=event_id, delivery_id=f"d-{event_id}"), outcome))
        else:
            out.append((replace(event, event_id=event_id), outcome))
    return out


def inputs(
    max_size: int = 25, commands_too: bool = True, times: st.SearchStrategy[float] = SPREAD
) -> st.SearchStrategy[list[Input]]:
    """Lists of inputs with distinct ids, short enough to stay within the default bounds."""
    one = delivery_events(times=times)
    if commands_too:
        one = st.one_of(one, commands(times=times))
    return st.lists(one, max_size=max_size).map(with_ids)


def _key(item: Input) -> tuple[object, int, str]:
    event = item[0]
    delivered = isinstance(event, DeliveryEvent) and event.type is DeliveryType.DELIVERED
    return (event.occurred_at, 0 if delivered else 1, event.event_id)


def deliveries_after_older_bounces(arrival: list[Input]) -> list[Input]:
    """The arrival order with each delivery held back until every condition bounce older
    than it has arrived: the orders in which the ladder is order-independent, since a
    delivery that finds no streak is not recorded (docs/design.md, "Deliveries that
    change nothing")."""
    out: list[Input] = []
    held: list[Input] = []
    bounces = [i for i in arrival if isinstance(i[0], DeliveryEvent) and i[1] is Outcome.CONDITION]
    pending = {id(i) for i in bounces}
    for item in arrival:
        event = item[0]
        if isinstance(event, DeliveryEvent) and event.type is DeliveryType.DELIVERED:
            held.append(item)
        else:
            out.append(item)
            pending.discard(id(item))
        ready = [d for d in held if all(_key(b) > _key(d) for b in bounces if id(b) in pending)]
        out.extend(ready)
        held = [d for d in held if d not in ready]
    return out + held


@given(st.one_of(inputs(), inputs(times=DENSE)), st.data())
def test_the_same_event_twice_equals_once(events: list[Input], data: st.DataObject) -> None:
    """Replaying any events (anywhere in the stream) leaves the lists as if seen once, in every
    arrival order where deliveries come after the condition bounces older than them; and
    the state itself too (but for the window of seen ids, which holds the latest arrivals:
    a replay older than the window is applied again and changes nothing else) unless a
    dropped delivery is replayed after a bounce at its very instant (then it is recorded,
    before that bounce, where it changes nothing)."""
    events = deliveries_after_older_bounces(events)
    once, _ = run(events)
    replays = data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    positions = data.draw(st.lists(st.integers(0, len(events)), min_size=len(replays)))
    stream = list(events)
    for replay, pos in zip(replays, positions, strict=False):
        stream.insert(max(pos, stream.index(replay) + 1), replay)
    twice, _ = run(stream)
    assert entries(twice) == entries(once)
    assert (twice.climbed, twice.climbing) == (once.climbed, once.climbing)
    ties = {
        e.occurred_at
        for e, _ in events
        if not isinstance(e, DeliveryEvent) or e.type is not DeliveryType.DELIVERED
    }
    if not any(isinstance(e, DeliveryEvent) and e.occurred_at in ties for e, _ in replays):
        assert replace(twice, seen=()) == replace(once, seen=())


@given(st.one_of(inputs(), inputs(times=DENSE)), st.randoms(use_true_random=False))
def test_any_permutation_gives_the_same_lists(events: list[Input], rnd: random.Random) -> None:
    """The final lists depend only on the set of events, not on their arrival order, for
    every order in which each delivery arrives after the condition bounces older than it
    (exactly while the history holds them all)."""
    events = deliveries_after_older_bounces(events)
    shuffled = list(events)
    rnd.shuffle(shuffled)
    shuffled = deliveries_after_older_bounces(shuffled)
    size = max(1, len(events))
    roomy = replace(Settings().ladder(), candidates_limit=size, history_limit=size)
    first, _ = run(events, roomy)  # within every bound: exact
    second, _ = run(shuffled, roomy)
    assert entries(second) == entries(first)
    assert second.climbed == first.climbed
    # Default bounds: an entry may be a later one, and a ladder event that arrives behind
    # the history's horizon is too late to be placed (a shallower streak; see
    # test_a_bounce_behind_the_horizon_of_the_default_history), but no list goes missing.
    first, _ = run(events)
    second, _ = run(shuffled)
    assert entries(second).keys() == entries(first).keys()


@given(st.one_of(inputs(), inputs(times=DENSE)), st.randoms(use_true_random=False))
def test_effects_always_rebuild_the_lists(events: list[Input], rnd: random.Random) -> None:
    """Whatever the order, a subscriber applying the effects holds exactly the state's lists."""
    rnd.shuffle(events)
    state, effects = run(events)
    assert apply_effects({}, effects) == entries(state)


@given(st.lists(st.one_of(delivery_events(), commands(SUPPRESSING_COMMANDS))).map(with_ids))
def test_only_condition_bounces_climb(events: list[Input]) -> None:
    """Without condition bounces no temporary or bounce-limit entry ever appears."""
    events = [(e, o) for e, o in events if o is not Outcome.CONDITION]
    state, effects = run(events)
    published = [getattr(e, "entry", None) for e in effects]
    reasons = {s.reason for s in published if s is not None}
    assert not reasons & {Reason.TEMPORARY, Reason.BOUNCE_LIMIT}
    assert all(i.mark is Mark.DELIVERED for i in state.history)
    bounce_entry = entries(state).get(ListName.BOUNCE)
    assert bounce_entry is None or bounce_entry.reason in {1, 10}


@given(
    inputs(commands_too=False),
    st.lists(commands(SUPPRESSING_COMMANDS)).map(lambda m: with_ids(m, "m")),
)
def test_an_allowlisted_address_is_never_suppressed(
    events: list[Input], manual: list[Input]
) -> None:
    """After ALLOWLIST_ADD nothing (events, blocks, imports) lists the address."""
    state, _ = run([command(CommandType.ALLOWLIST_ADD, "allow", 0), *events, *manual])
    assert suppressions(state) == {}
    assert ListName.RECIPIENT_ALLOW in entries(state)


@settings(max_examples=25)
@given(st.lists(st.one_of(delivery_events(), commands()), min_size=150, max_size=300))
def test_state_stays_bounded(events: list[Input]) -> None:
    """With small limits, history, seen ids and kept entries never exceed them, whatever comes."""
    config = replace(Settings().ladder(), history_limit=4, seen_ids_limit=5, candidates_limit=1)
    state = AddressState.empty()
    for event, outcome in with_ids(events):
        state, _ = run([(event, outcome)], config, state)
        assert len(state.history) <= 4
        assert len(state.seen) <= 5
        assert len(state.listed) <= 4 * 2


def test_thousands_of_events_keep_the_state_small() -> None:
    """Ten thousand mixed events with default limits still give a state of a few kilobytes."""
    rnd = random.Random(7)
    config = Settings().ladder()
    kinds = list(DeliveryType)
    stream = []
    for i in range(10_000):
        kind = rnd.choice(kinds)
        outcome = rnd.choice([Outcome.CONDITION, Outcome.POLICY, None])
        stream.append(delivery(kind, f"e{i}", rnd.uniform(0, 3650), outcome))
    state, _ = run(stream, config)
    assert len(state.history) <= config.history_limit
    assert len(state.seen) <= config.seen_ids_limit
    assert len(encode_address(state, {})) < 1024


@given(inputs(), st.sampled_from([None, 5.0, 50.0, 500.0]))
def test_the_stored_record_round_trips(events: list[Input], expired_through: float | None) -> None:
    """Any reachable state survives the binary record unchanged."""
    state, _ = run([command(CommandType.ADDRESS_ALLOW, "allow", 1), *events])
    if expired_through is not None:
        state, _ = expire(state, at(expired_through), Settings().ladder())
    versions = {f"bounce/{state.address}": 3, f"block/{state.address}": 1}
    stored = decode_address(encode_address(state, versions, (2, 17, 3)))
    assert (stored.state, stored.versions, stored.applied) == (state, versions, (2, 17, 3))
