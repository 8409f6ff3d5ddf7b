"""An address's first entry, straight to bytes: what nearly every import row does.

An import row or a manual block for an address with no stored state always ends the
same way: a state holding that one entry, version 1 of its list's record, one entry
count up. ``handlers.handle_address`` gets there through the ladder's frozen states and
the codecs' record objects, which cost the keyed stage most of its time on an import
(docs/performance.md); ``first_entry`` writes the same bytes from the ops record's
fields (``tests/stream/test_first_entry.py`` holds the two equal on generated commands).
Any other record, or a field of a shape it does not expect, it leaves to
``handle_address`` (None), which also says what is wrong with it.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson
from suppressor_client.records import encode_fields, format_timestamp
from suppressor_client.types import CATEGORY_OF, SUPPRESSION_LISTS, CommandType, Reason

from workers.domain.ladder import block_reason
from workers.domain.micros import from_micros
from workers.domain.state_codec import encode_first_entry
from workers.stream.ops_codec import ADDRESS_COMMAND

__all__ = ["FirstEntry", "first_entry"]

_BLOCKS = {t.value: t for t in (CommandType.ADDRESS_BLOCK, CommandType.IMPORT_ROW)}
_REASONS = {int(r): r for r in Reason}
_LISTED = {
    r: (int(r), CATEGORY_OF[r].value, SUPPRESSION_LISTS[CATEGORY_OF[r]].value) for r in Reason
}
"""A reason's number, category and list, read once (an enum's ``value`` costs a call)."""
_TEXT = (str, type(None))


class FirstEntry(NamedTuple):
    """What the keyed stage writes and sends for the record."""

    stored: bytes  # the address state
    key: bytes  # the ``suppressions`` record's key and value
    value: bytes
    counts: list[tuple[bytes, int]]  # entry counter deltas (workers.stream.counts)
    list_name: str  # the record's list and reason, for the metrics
    reason: int


def first_entry(
    op: bytes, account_id: str, address: str, position: tuple[int, int, int] | None
) -> FirstEntry | None:
    """The result of an address command ``op`` on (account, address) with no stored
    state, read at ``position``: for a block or an import row, else None."""
    if op[:1] != ADDRESS_COMMAND or not address:
        return None
    fields = orjson.loads(op[1:])
    if type(fields) is not list or len(fields) != 6:
        return None
    type_value, event_id, micros, given, notes, delivery_id = fields
    kind = _BLOCKS.get(type_value) if type(type_value) is str else None
    if (
        kind is None
        or type(event_id) is not str
        or type(micros) is not int
        or not (given is None or (type(given) is int and given in _REASONS))
        or type(notes) not in _TEXT
        or type(delivery_id) not in _TEXT
    ):
        return None
    reason = block_reason(kind, _REASONS[given] if given is not None else None, account_id)
    since = format_timestamp(
        from_micros(micros)
    )  # out of range: OverflowError, as on the general path
    number, category, list_name = _LISTED[reason]
    entry = (number, micros, event_id, delivery_id, notes)
    domain = address.rpartition("@")[2].encode()
    return FirstEntry(
        stored=encode_first_entry(address, entry, list_name, position),
        key=orjson.dumps([account_id, list_name, address]),
        value=encode_fields(
            (account_id, list_name, address),
            version=1,
            active=True,
            reason=number,
            since=since,
            texts=(event_id, delivery_id, notes),
        ),
        counts=[(b"c|%d|%b|%b" % (number, category.encode(), domain), 1)],
        list_name=list_name,
        reason=number,
    )
