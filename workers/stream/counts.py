"""Entry counts per partition, kept in a RocksDB table so the gauges survive restarts.

The address agent adds the deltas of each change (faust writes them to the partition of
the record being handled); the gauge timer sums every active partition. One key per
``c|<reason>|<category>|<domain>``, so each change costs one write.
"""

from __future__ import annotations

from collections.abc import Iterable

from workers.kafka.faust_store import BytesTable, active_dbs

__all__ = ["add", "totals"]


def add(table: BytesTable, deltas: Iterable[tuple[bytes, int]]) -> None:
    """Apply counter deltas (call inside the agent that handles the record)."""
    for key, delta in deltas:
        value = int(table.get(key) or b"0") + delta
        if value:
            table[key] = b"%d" % value
        elif key in table:
            del table[key]


def totals(table: BytesTable) -> dict[str, int]:
    """Every counter summed over this worker's active partitions."""
    out: dict[str, int] = {}
    for db in active_dbs(table):
        for key, value in db.items():
            if key[:2] == b"c|" and value.lstrip(b"-").isdigit():
                name = key.decode()
                out[name] = out.get(name, 0) + int(value)
    return out
