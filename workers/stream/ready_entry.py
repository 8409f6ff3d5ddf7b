"""An import row's first entry made by the front stage, ready for the keyed stage to store.

The keyed stage is one interpreter thread, and on an import it was the bound: most of
its time a row went into ``first_entry``, whose result depends only on the row, as long
as its address has no stored state. So the front stage (its own process, with a core to
spare on an import) runs ``first_entry`` on each row of an ``import.rows`` command and
sends the result beside the row's ops record, as one item of kind ``r``:

    b"r" lengths (">IHHIHBB") op stored key value count_key list_name reason_label

The keyed stage looks the address up as before: with no state it stores the ready
entry, its position set (``state_codec.place_first_entry``); with a state it applies
``op``, the row's own ops record, on the general path, which is what it did for every
row before. The bytes stored and sent are the same either way
(``tests/stream/test_ready_entry.py``).
"""

from __future__ import annotations

import struct

from workers.domain.state_codec import place_first_entry
from workers.stream.first_entry import FirstEntry, first_entry

__all__ = ["READY", "placed", "ready_item", "split_ready"]

READY = b"r"
_LENGTHS = struct.Struct(">IHHIHBB")


def ready_item(op: bytes, account_id: str, address: str) -> bytes:
    """The ops item for an address command ``op``: its ready first entry beside it, or
    ``op`` alone where ``first_entry`` does not apply."""
    entry = first_entry(op, account_id, address, None)
    if entry is None:
        return op
    stored, key, value = entry.stored, entry.key, entry.value
    [(count_key, _one)] = entry.counts
    list_name, label = entry.list_name.encode(), entry.reason_label.encode()
    lengths = _LENGTHS.pack(
        len(op), len(stored), len(key), len(value), len(count_key), len(list_name), len(label)
    )
    return b"".join((READY, lengths, op, stored, key, value, count_key, list_name, label))


def split_ready(item: bytes) -> tuple[bytes, FirstEntry]:
    """The ops record and the ready first entry (without its position) of an ``r`` item;
    ``ValueError`` for a torn one."""
    if item[:1] != READY or len(item) < 1 + _LENGTHS.size:
        raise ValueError("not a ready first-entry item")
    sizes = _LENGTHS.unpack_from(item, 1)
    if 1 + _LENGTHS.size + sum(sizes) != len(item):
        raise ValueError("torn ready first-entry item")
    fields, at = [], 1 + _LENGTHS.size
    for size in sizes:
        fields.append(item[at : at + size])
        at += size
    op, stored, key, value, count_key, list_name, label = fields
    return op, FirstEntry(stored, key, value, [(count_key, 1)], list_name.decode(), label.decode())


def placed(entry: FirstEntry, position: tuple[int, int, int]) -> bytes:
    """The state to store for a ready entry read at ``position``."""
    return place_first_entry(entry.stored, position)
