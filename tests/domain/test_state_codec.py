"""The address table's record: compact whatever the history, and the JSON form still loads."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.types import Category, DeliveryType, ListName, Outcome, Suppression

from tests.domain.ladder_helpers import Input, bounce, delivered, delivery, micros, run
from workers.domain.ladder import step
from workers.domain.ladder_state import Mark, id_hash
from workers.domain.state_codec import (
    ADDRESS_FORMAT,
    address_tip,
    decode_address,
    encode_address,
)
from workers.settings import Settings

CONFIG = Settings().ladder()
DAY = timedelta(days=1)
LEGACY_T0 = datetime(2026, 1, 1, tzinfo=UTC)

# Written by the keyed stage before the binary form (history_limit 2, so the base has a
# horizon): condition bounces on days 0, 10 and 20, a delivery on day 1, a complaint on 21.
LEGACY = (
    b'{"state":{"address":"jane@example.com","listed":[{"reason":6,"since":"2026-01-22T00:00:00'
    b'+00:00","expires_at":null,"event_id":"ev-4","delivery_id":"dlv-4","notes":null}],"base":{'
    b'"streak":0,"last_counted":"2026-01-01T00:00:00+00:00","temporary":{"reason":8,"since":"20'
    b'26-01-01T00:00:00+00:00","expires_at":"2026-01-08T00:00:00+00:00","event_id":"ev-0","deli'
    b'very_id":"dlv-0","notes":null},"permanent":null,"through":{"occurred_at":"2026-01-02T00:00'
    b':00+00:00","mark":"delivered","event_id":"ev-1","delivery_id":"dlv-1"}},"history":[{"occu'
    b'rred_at":"2026-01-11T00:00:00+00:00","mark":"bounce","event_id":"ev-2","delivery_id":"dlv'
    b'-2"},{"occurred_at":"2026-01-21T00:00:00+00:00","mark":"bounce","event_id":"ev-3","delive'
    b'ry_id":"dlv-3"}],"climbed":{"reason":8,"since":"2026-01-21T00:00:00+00:00","expires_at":"'
    b'2026-02-04T00:00:00+00:00","event_id":"ev-3","delivery_id":"dlv-3","notes":null},"climbin'
    b'g":true,"unblocked_at":null,"expired_through":null,"allowlist":null,"address_allow":null,'
    b'"seen":["ev-0","ev-1","ev-2","ev-3","ev-4"]},"versions":{"bounce/jane@example.com":3,"com'
    b'plaint/jane@example.com":1}}'
)


def test_a_record_of_the_json_form_still_loads_and_goes_on() -> None:
    """A rolling upgrade reads the changelog's JSON records: the same lists, the same
    versions, its ids recognised, and the ladder climbs on from where it stood."""
    stored = decode_address(LEGACY)
    state = stored.state
    assert stored.versions == {"bounce/jane@example.com": 3, "complaint/jane@example.com": 1}
    assert stored.applied is None
    assert state.climbed is not None and state.climbed.event_id == "ev-3"
    assert state.climbed.expires_at == LEGACY_T0 + 34 * DAY  # 2nd bounce: 14 days
    assert state.listed_in(Category.COMPLAINT) is not None
    assert state.climbing and id_hash("ev-2") in state.seen
    assert state.tip is not None
    assert address_tip(LEGACY) == ((micros(state.tip.occurred_at), 1, state.tip.tag), True)
    assert state.base.through is not None and state.base.through.event_id is None
    replay = replace(bounce("ev-3", 0)[0], occurred_at=LEGACY_T0 + 20 * DAY)
    assert step(state, replay, CONFIG, Outcome.CONDITION) == (state, [])
    later = LEGACY_T0 + 40 * DAY
    after, effects = step(
        state, replace(bounce("ev-5", 0)[0], occurred_at=later), CONFIG, Outcome.CONDITION
    )
    [change] = effects
    assert change.list is ListName.BOUNCE and isinstance(change.payload, Suppression)
    assert change.payload.expires_at == later + 28 * DAY  # the 3rd consecutive bounce
    record = encode_address(after, stored.versions)
    assert record[0] == ADDRESS_FORMAT and decode_address(record).state == after


def test_an_unknown_format_is_refused() -> None:
    """A record of a later format is not misread as this one."""
    record = bytearray(encode_address(run([bounce("b1", 0)])[0], {}))
    record[0] = ADDRESS_FORMAT + 1
    with pytest.raises(ValueError, match="format"):
        decode_address(bytes(record))


@given(st.lists(st.sampled_from(["b", "d", "n", "c"]), max_size=30), st.randoms())
def test_the_header_alone_gives_the_tip(kinds: list[str], rnd: random.Random) -> None:
    """``address_tip`` reads what ``ladder.inert_at`` needs without decoding the body."""
    make = {
        "b": lambda i, t: bounce(f"e{i}", t),
        "d": lambda i, t: delivered(f"e{i}", t),
        "n": lambda i, t: bounce(f"e{i}", t, Outcome.NONEXISTENT),
        "c": lambda i, t: delivery(DeliveryType.COMPLAINT, f"e{i}", t),
    }
    state, _ = run([make[k](i, rnd.uniform(0, 200)) for i, k in enumerate(kinds)])
    key, climbing = address_tip(encode_address(state, {}))
    assert climbing == state.climbing
    tip = state.tip
    assert key == ((micros(tip.occurred_at), *tip.key[1:]) if tip else None)


def _uuid_hex(rnd: random.Random) -> str:
    return f"{rnd.getrandbits(128):032x}"


BOUNCE_OUTCOMES = [Outcome.CONDITION, Outcome.NONEXISTENT, Outcome.POLICY, None]


@st.composite
def histories(draw: st.DrawFn) -> list[Input]:
    """1,000 deliveries and 10 bounces of any class at any times, in any arrival order,
    with ids of the platform's shape (32 hex digits; delivery ids ``dlv-`` + 12)."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    span = draw(st.sampled_from([20.0, 200.0, 2000.0]))
    weights = draw(st.sampled_from([(1, 0, 0, 0), (4, 1, 1, 1), (1, 1, 0, 0)]))
    kinds = [DeliveryType.BOUNCE] * 10 + [DeliveryType.DELIVERED] * 1000
    inputs: list[Input] = []
    for kind in kinds:
        outcome = rnd.choices(BOUNCE_OUTCOMES, weights)[0] if kind is DeliveryType.BOUNCE else None
        event, _ = delivery(kind, _uuid_hex(rnd), rnd.uniform(0, span))
        inputs.append((replace(event, delivery_id=f"dlv-{_uuid_hex(rnd)[:12]}"), outcome))
    if draw(st.booleans()):
        inputs.sort(key=lambda item: item[0].occurred_at)  # in order, else shuffled
    else:
        rnd.shuffle(inputs)
    return inputs


@settings(max_examples=30, deadline=None)
@given(histories())
def test_an_address_stays_within_512_bytes_whatever_the_history(inputs: list[Input]) -> None:
    """The issue's bound: after 1,000 deliveries and 10 bounces, whatever their times and
    arrival order, the stored record (with its versions and applied offset) is <= 512 B."""
    state, effects = run(inputs)
    versions = {f"{c.list.value}/{c.subject}": 9 for c in effects}
    record = encode_address(state, versions, (3, 2**40, 299))
    assert len(record) <= 512
    assert decode_address(record).state == state
    assert len(state.history) <= CONFIG.history_limit
    assert all(i.event_id is None for i in state.history if i.mark is Mark.DELIVERED)
