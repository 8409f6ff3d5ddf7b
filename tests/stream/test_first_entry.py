"""An address's first entry straight to bytes: the same bytes as the general path, always."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.records import encode_key, encode_record
from suppressor_client.types import PLATFORM_ACCOUNT, Command, CommandType, Reason

from workers.settings import Settings
from workers.stream import handlers, ops_codec
from workers.stream.first_entry import first_entry

CONFIG = Settings().ladder()
T0 = datetime(2026, 1, 1, tzinfo=UTC)

_text = st.text(min_size=1, max_size=40)
_ids = st.one_of(_text, st.from_regex(r"[0-9a-f]{2,32}", fullmatch=True), st.just("x@gmail.com"))
_positions = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 2**16 - 1), st.integers(0, 2**63 - 1), st.integers(0, 2**32 - 1)),
)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[Command, tuple[int, int, int] | None]:
    """A block or an import row of any reason, ids and notes, on any account."""
    event_id = draw(_ids)
    cmd = Command(
        event_id=event_id,
        account_id=draw(st.one_of(st.just(PLATFORM_ACCOUNT), st.just("acme"), _text)),
        occurred_at=draw(
            st.datetimes(datetime(1971, 1, 1), datetime(9999, 1, 1), timezones=st.just(UTC))
        ),
        type=draw(st.sampled_from([CommandType.ADDRESS_BLOCK, CommandType.IMPORT_ROW])),
        email=draw(st.one_of(st.just("x@gmail.com"), st.emails(), _text)),
        reason=draw(st.one_of(st.none(), st.sampled_from(list(Reason)))),
        notes=draw(st.one_of(st.none(), _text, st.just(event_id))),
        delivery_id=draw(st.one_of(st.none(), _ids, st.just(event_id))),
    )
    return cmd, draw(_positions)


@settings(max_examples=300, deadline=None)
@given(blocks())
def test_a_first_entry_is_written_as_the_general_path_writes_it(
    drawn: tuple[Command, tuple[int, int, int] | None],
) -> None:
    cmd, position = drawn
    assert cmd.email is not None
    op = ops_codec.encode_command(cmd)
    general = handlers.handle_address(
        None, op, cmd.account_id, cmd.email, CONFIG, position=position
    )
    fast = first_entry(op, cmd.account_id, cmd.email, position)
    assert general is not None and fast is not None
    [(key, record)] = general.out
    assert record is not None
    assert fast.stored == general.stored
    assert (fast.key, fast.value) == (encode_key(key), encode_record(record))
    assert fast.counts == general.counts
    assert (fast.list_name, fast.reason_label) == (key.list.value, str(int(record.reason or 0)))
    assert general.expiry_before is None and general.expiry_after is None


def test_a_platform_block_carries_reason_99_and_an_import_row_its_own_reason() -> None:
    def reason_of(account_id: str, kind: CommandType, reason: Reason | None) -> int:
        cmd = Command("e1", account_id, T0, kind, email="x@gmail.com", reason=reason)
        fast = first_entry(ops_codec.encode_command(cmd), account_id, "x@gmail.com", None)
        assert fast is not None
        return int(orjson.loads(fast.value)["reason"])

    assert reason_of(PLATFORM_ACCOUNT, CommandType.ADDRESS_BLOCK, None) == 99
    assert reason_of("acme", CommandType.ADDRESS_BLOCK, Reason.NONEXISTENT) == 2
    assert reason_of("acme", CommandType.IMPORT_ROW, Reason.NONEXISTENT) == int(Reason.NONEXISTENT)
    assert reason_of("acme", CommandType.IMPORT_ROW, Reason.TEMPORARY) == 2


def _op(fields: object) -> bytes:
    return ops_codec.ADDRESS_COMMAND + orjson.dumps(fields)


def test_anything_else_is_left_to_the_general_path() -> None:
    unblock = Command("e1", "acme", T0, CommandType.ADDRESS_UNBLOCK, email="x@gmail.com")
    block = Command("e1", "acme", T0, CommandType.ADDRESS_BLOCK, email="x@gmail.com")
    delivered = ops_codec.DELIVERED + orjson.dumps(["e1", 1, None, "x@gmail.com", "transactional"])
    others = [
        ops_codec.encode_command(unblock),
        delivered,
        handlers.expire_tick(T0),
        handlers.COMMAND + orjson.dumps({"type": "address.block"}),
        _op(["address.block", "e1", 1, None, None]),  # one field short
        _op(["address.block", 7, 1, None, None, None]),  # an event id that is no string
        _op(["address.block", "e1", 1.5, None, None, None]),
        _op(["address.block", "e1", True, None, None, None]),
        _op(["address.block", "e1", 1, 42, None, None]),  # no such reason
        _op(["address.block", "e1", 1, None, 3, None]),
        _op(["address.block", "e1", 1, None, None, ["d"]]),
        _op({"type": "address.block"}),
    ]
    for op in others:
        assert first_entry(op, "acme", "x@gmail.com", None) is None, op
    assert first_entry(ops_codec.encode_command(block), "acme", "", None) is None


def test_a_time_out_of_range_fails_as_on_the_general_path() -> None:
    op = _op(["address.block", "e1", 2**62, None, None, None])
    for apply in (
        lambda: first_entry(op, "acme", "x@gmail.com", None),
        lambda: handlers.handle_address(None, op, "acme", "x@gmail.com", CONFIG),
    ):
        try:
            apply()
        except OverflowError:
            continue
        raise AssertionError("a time past year 9999 must fail")


def test_a_later_command_on_the_address_reads_what_the_first_entry_wrote() -> None:
    block = Command("e1", "acme", T0, CommandType.ADDRESS_BLOCK, email="x@gmail.com")
    fast = first_entry(ops_codec.encode_command(block), "acme", "x@gmail.com", (0, 3, 0))
    assert fast is not None
    unblock = Command(
        "e2", "acme", T0 + timedelta(hours=1), CommandType.ADDRESS_UNBLOCK, email="x@gmail.com"
    )
    op = ops_codec.encode_command(unblock)
    released = handlers.handle_address(fast.stored, op, "acme", "x@gmail.com", CONFIG)
    assert released is not None
    [(_key, record), (_again, tombstone)] = released.out
    assert record is not None and not record.active and record.version == 2
    assert tombstone is None
