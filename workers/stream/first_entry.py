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

from functools import lru_cache
from typing import NamedTuple

import orjson
from suppressor_client.records import encode_fields, encode_key_fields, format_timestamp
from suppressor_client.types import (
    CATEGORY_OF,
    PLATFORM_ACCOUNT,
    SUPPRESSION_LISTS,
    CommandType,
    Reason,
)

from workers.domain.ladder import block_reason
from workers.domain.micros import from_micros
from workers.domain.state_codec import encode_first_entry
from workers.stream.ops_codec import ADDRESS_COMMAND

__all__ = ["FirstEntry", "first_entry"]

_BLOCKS = (CommandType.ADDRESS_BLOCK, CommandType.IMPORT_ROW)
_GIVEN = (None, *(int(r) for r in Reason))
_ENTRY = {
    (kind.value, given, platform): (
        int(reason := block_reason(kind, None if given is None else Reason(given),
                                   PLATFORM_ACCOUNT if platform else "")),
        CATEGORY_OF[reason].value,
        SUPPRESSION_LISTS[CATEGORY_OF[reason]].value,
        str(int(reason)),
    )
    for kind in _BLOCKS
    for given in _GIVEN
    for platform in (False, True)
}  # fmt: skip
"""(type, reason given, on the platform account) -> the entry's reason number, category,
list and the reason as a metric label, by ``ladder.block_reason``: read once, an enum's
``value`` costs a call."""
_TEXT = (str, type(None))


@lru_cache(maxsize=1024)
def _since(micros: int) -> str:
    """An entry's time as its record writes it: the rows of an import share one time, and
    formatting a ``datetime`` costs more than the rest of the record."""
    return format_timestamp(from_micros(micros))  # out of range: OverflowError, as elsewhere


class FirstEntry(NamedTuple):
    """What the keyed stage writes and sends for the record."""

    stored: bytes  # the address state
    key: bytes  # the ``suppressions`` record's key and value
    value: bytes
    counts: list[tuple[bytes, int]]  # entry counter deltas (workers.stream.counts)
    list_name: str  # the record's list and reason, for the metrics
    reason_label: str


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
    listed = (
        _ENTRY.get((type_value, given, account_id == PLATFORM_ACCOUNT))
        if type(type_value) is str and (given is None or type(given) is int)
        else None
    )
    if (
        listed is None
        or type(event_id) is not str
        or type(micros) is not int
        or type(notes) not in _TEXT
        or type(delivery_id) not in _TEXT
    ):
        return None
    since = _since(micros)
    number, category, list_name, label = listed
    entry = (number, micros, event_id, delivery_id, notes)
    domain = address.rpartition("@")[2].encode()
    return FirstEntry(
        stored=encode_first_entry(address, entry, list_name, position),
        key=encode_key_fields(account_id, list_name, address),
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
        reason_label=label,
    )
