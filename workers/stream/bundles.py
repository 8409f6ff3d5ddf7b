"""Address-level records travel to the keyed stage in bundles: one ops record, many items.

A faust agent pays about as much per record as our rules cost (ENGINE-NOTES: ~90 µs to
decode one record), so a delivery event or an import row sent as one ops record each
spent most of the keyed stage's time in that machinery. The front stage therefore
gathers the address-level records of what it reads at once (delivery events and
commands alike), per partition of ``address-ops``, into one record:

    b"b" (u32 key length, key, u32 value length, value)*

Every item is the ops record it would have been alone (its key, and its kind byte and
body), so the keyed stage applies the items one by one, in order, as if they had come
separately; each keeps its own event id and its place in the bundle, so a bundle
replayed after a crash changes nothing twice. All items of a bundle have keys on one
partition, and the bundle is keyed by its first item's key, so it lands on that
partition: the tables of every item are written where their keys live. Order per key
holds because every record the front stage sends to a partition goes through that
partition's one bundle (the keyed stage's own expiry ticks go alone: a tick is judged by
its time, not its place).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

__all__ = ["BUNDLE", "Bundler", "Record", "decode_bundle", "encode_bundle"]

BUNDLE = b"b"
_LEN = struct.Struct(">I")

Record = tuple[bytes, bytes]
"""An ops record: key and value."""


def encode_bundle(items: list[Record]) -> bytes:
    """One bundle record's value from its items (keys and values)."""
    parts = [BUNDLE]
    for key, value in items:
        parts += (_LEN.pack(len(key)), key, _LEN.pack(len(value)), value)
    return b"".join(parts)


def decode_bundle(value: bytes) -> list[Record]:
    """The items of a bundle record, in order; ``ValueError`` for a torn one."""
    if value[:1] != BUNDLE:
        raise ValueError("not a bundle record")
    unpack, items = _LEN.unpack_from, []
    position, end = 1, len(value)
    while position < end:
        key_at = position + 4
        if key_at > end:
            raise ValueError("torn bundle record")
        value_at = key_at + unpack(value, position)[0] + 4
        if value_at > end:
            raise ValueError("torn bundle record")
        position = value_at + unpack(value, value_at - 4)[0]
        if position > end:
            raise ValueError("torn bundle record")
        items.append((value[key_at : value_at - 4], value[value_at:position]))
    return items


class Bundler:
    """Gathers ops records per partition and hands out what is ready to send, in order.

    ``partition_of(key)`` must be the partitioner the producer uses for the ops topic,
    so a bundle's items share the partition its key puts it on. A bundle of one item is
    sent as the plain record.
    """

    def __init__(
        self, partition_of: Callable[[bytes], int], max_items: int = 500, max_bytes: int = 512_000
    ) -> None:
        self.partition_of = partition_of
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._pending: dict[int, tuple[list[Record], int]] = {}

    def add(self, key: bytes, value: bytes) -> list[Record]:
        """Bundle one record; returns a bundle when this one filled it."""
        return self.add_many([(key, value)])

    def add_many(self, records: list[Record]) -> list[Record]:
        """Bundle records in order; returns the bundles they filled."""
        ready: list[Record] = []
        pending, partition_of = self._pending, self.partition_of
        max_items, max_bytes = self.max_items, self.max_bytes
        for key, value in records:
            partition = partition_of(key)
            held = pending.get(partition)
            if held is None:
                held = pending[partition] = ([], 0)
            items, size = held
            grown = size + len(key) + len(value) + 8
            if items and grown > max_bytes:
                ready.append(self._record(items))
                items, grown = [], len(key) + len(value) + 8
            items.append((key, value))
            if len(items) >= max_items:
                ready.append(self._record(items))
                del pending[partition]
            else:
                pending[partition] = (items, grown)
        return ready

    def drain(self) -> list[Record]:
        """Every pending bundle (the end of what was read at once)."""
        ready = [self._record(items) for items, _size in self._pending.values()]
        self._pending.clear()
        return ready

    @staticmethod
    def _record(items: list[Record]) -> Record:
        return items[0] if len(items) == 1 else (items[0][0], encode_bundle(items))
