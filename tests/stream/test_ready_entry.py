"""A first entry made ready by the front stage: what the keyed stage would have made."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.types import Command

from tests.stream.test_first_entry import CONFIG, blocks
from workers.stream import handlers, ops_codec
from workers.stream.first_entry import first_entry
from workers.stream.ready_entry import READY, placed, ready_item, split_ready

_POSITIONS = st.tuples(
    st.integers(0, 2**16 - 1), st.integers(0, 2**63 - 1), st.integers(0, 2**32 - 1)
)


@settings(max_examples=200, deadline=None)
@given(blocks(), _POSITIONS)
def test_a_ready_entry_placed_is_the_first_entry_read_there(
    drawn: tuple[Command, object], position: tuple[int, int, int]
) -> None:
    """Stored state, record, counts and labels equal ``first_entry``'s at that position,
    and the ops record travels beside it unchanged."""
    cmd, _ = drawn
    assert cmd.email is not None
    op = ops_codec.encode_command(cmd)
    op_again, ready = split_ready(ready_item(op, cmd.account_id, cmd.email))
    made_here = first_entry(op, cmd.account_id, cmd.email, position)
    assert made_here is not None
    assert op_again == op
    assert placed(ready, position) == made_here.stored
    assert ready._replace(stored=made_here.stored) == made_here


@settings(max_examples=100, deadline=None)
@given(blocks())
def test_the_general_path_applies_a_ready_item_as_its_own_record(
    drawn: tuple[Command, tuple[int, int, int] | None],
) -> None:
    """On an address that has a state (and on one without), the keyed stage's general
    path gives for the ready item exactly what it gives for the row's ops record."""
    cmd, position = drawn
    assert cmd.email is not None
    op = ops_codec.encode_command(cmd)
    item = ready_item(op, cmd.account_id, cmd.email)
    earlier = handlers.handle_address(None, op, cmd.account_id, cmd.email, CONFIG)
    assert earlier is not None and earlier.stored is not None
    for stored in (None, earlier.stored):
        assert handlers.handle_address(
            stored, item, cmd.account_id, cmd.email, CONFIG, position=position
        ) == handlers.handle_address(
            stored, op, cmd.account_id, cmd.email, CONFIG, position=position
        )


def test_a_record_first_entry_cannot_take_goes_alone() -> None:
    """An unblock has no first entry: its item is its ops record, nothing beside it."""
    op = ops_codec.encode_address_command(("address.unblock", "e1", 1, None, None, None))
    assert ready_item(op, "acme", "a@x.io") == op


def test_a_torn_ready_item_is_refused() -> None:
    op = ops_codec.encode_address_command(("import.row", "e1", 1, 2, None, None))
    item = ready_item(op, "acme", "a@x.io")
    assert item[:1] == READY
    for torn in (item[:-1], item + b"x", item[:5]):
        with pytest.raises(ValueError, match="ready first-entry item"):
            split_ready(torn)
