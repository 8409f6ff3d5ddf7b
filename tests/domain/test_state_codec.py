"""The address table's record: compact whatever the history, and the JSON form still loads."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.types import (
    Category,
    CommandType,
    DeliveryType,
    ListName,
    Outcome,
    Reason,
    Suppression,
)

from tests.domain.ladder_helpers import Input, bounce, command, delivered, delivery, micros, run
from workers.domain.ladder import step
from workers.domain.ladder_state import Mark, Toggle, id_hash
from workers.domain.state_codec import (
    ADDRESS_FORMAT,
    StoredAddress,
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


# The bytes the codec wrote when these tests were last changed: a record already in the
# changelog must decode, and the same state must keep giving the same changelog record.
EVERY_FIELD = bytes.fromhex(
    "0103000648da9af3c000014b1eafc318f6dedf0b00106a616e65406578616d706c652e636f6d000465762d34"
    "0005646c762d34000465762d300005646c762d30000465762d320005646c762d32000465762d330005646c76"
    "2d3380100123456789abcdef0123456789abcdef0007616c6c6f772d31010106000648eeb8cb200080000000"
    "000000000203000b00000006474846204000080006474846204000000647d51703e0000405000006475c63f7"
    "a000003350297f6e9c1a5d0200064811708a0000010607000648da9af3c0000108093f08000648da9af3c000"
    "000649f43cbb00000809000006477081cf00000006475c63f7a00700000647849fa660000a01000647484620"
    "40000b058243739b549880f53350297f6e9c1a5d53735d3a303f48c74b1eafc318f6dedfb76f0a53fbd3262f"
    "02000100000003020100000001000300000100000000000000012b"
)
IMPORT_ROW = bytes.fromhex(
    "010000000000000000000000000000000000000300106a616e65406578616d706c652e636f6d002334643261"
    "316637633965386236613564336332623161306639653864376336623a31370006726f772031370101020006"
    "0dd7102120008000000000000000020003000000002000010101000000010002000000000001e24000000011"
)


def test_the_stored_bytes_stay_the_same() -> None:
    """Every optional field set (the JSON record's state with an unblock, an expiry and
    both toggles), and an import row's first entry (the state of most keys): the bytes of
    a release before a change to the codec."""
    stored = decode_address(LEGACY)
    state = replace(
        stored.state,
        unblocked_at=LEGACY_T0 + 2 * DAY,
        expired_through=LEGACY_T0 + DAY + timedelta(microseconds=7),
        allowlist=Toggle(False, LEGACY_T0 + 3 * DAY, "0123456789abcdef0123456789abcdef"),
        address_allow=Toggle(True, LEGACY_T0, "allow-1"),
    )
    assert encode_address(state, stored.versions, (3, 2**40, 299)) == EVERY_FIELD
    assert decode_address(EVERY_FIELD) == StoredAddress(state, stored.versions, (3, 2**40, 299))
    row_id = "4d2a1f7c9e8b6a5d3c2b1a0f9e8d7c6b:17"
    row = command(CommandType.IMPORT_ROW, row_id, 0, reason=Reason.MANUAL, notes="row 17")
    imported, effects = run([row])
    versions = {f"{c.list.value}/{c.subject}": 1 for c in effects}
    assert encode_address(imported, versions, (2, 123456, 17)) == IMPORT_ROW


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
