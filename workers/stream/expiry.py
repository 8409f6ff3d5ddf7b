"""The expiry index: which addresses hold a temporary entry, ordered by when it expires.

Index keys are ``<expires_at in ms, 13 digits>|<address key>`` in a RocksDB table. The
address agent writes them while it handles a record of that address, so faust puts each
index entry in the same partition as the address state: the worker that owns the
address owns its index entry, and a restarted worker has it back from the changelog.
RocksDB keeps keys sorted, so finding what is due reads only the due keys of each
active partition and stops at the first one in the future: the cost grows with the
entries expiring, not with the size of the table.
"""

from __future__ import annotations

import time
from datetime import datetime

from workers.kafka.faust_store import BytesTable, active_dbs

__all__ = ["ExpiryIndex", "index_key"]

_WIDTH = 13
_RETICK_AFTER_S = 5.0  # a tick not acted on after this long (lost in a crash) is sent again


def index_key(when: datetime, key: bytes) -> bytes:
    millis = int(when.timestamp() * 1000)
    return b"%0*d|%b" % (_WIDTH, millis, key)


class ExpiryIndex:
    """Maintained by the address agent, read by the expiry timer."""

    def __init__(self, table: BytesTable) -> None:
        self.table = table
        self._ticked: dict[bytes, tuple[float, bytes]] = {}

    def move(self, key: bytes, before: datetime | None, after: datetime | None) -> None:
        """Record that ``key`` now expires at ``after`` (call inside the address agent).

        The entry for ``after`` is written even when unchanged, and the entry a tick was
        sent for is removed when it is no longer the current one: after a crash that kept
        some changelogs and not others, the index heals on the next record of the key.
        """
        ticked = self._ticked.pop(key, None)
        if ticked is None and before is None and after is None:
            return  # nothing expires, nothing was ticked: an import row, most often
        current = index_key(after, key) if after is not None else None
        stale: set[bytes] = set()
        if before is not None:
            stale.add(index_key(before, key))
        if ticked is not None:
            stale.add(ticked[1])
        if current is not None:
            stale.discard(current)
        for old in stale:
            if old in self.table:
                del self.table[old]
        if current is not None:
            self.table[current] = b"1"

    def due(self, now: datetime) -> tuple[int, list[bytes]]:
        """How many entries are due by ``now``, and the keys to send a tick for.

        A key already ticked recently is not ticked again until its tick had time to act.
        """
        limit = b"%0*d" % (_WIDTH, int(now.timestamp() * 1000))
        clock = time.monotonic()
        count = 0
        due: list[bytes] = []
        for db in active_dbs(self.table):
            for raw in db.keys():  # noqa: SIM118 - a rocksdict handle, not a dict
                if raw[:_WIDTH] > limit or raw[_WIDTH : _WIDTH + 1] != b"|":
                    break  # sorted: the rest is later (faust's offset key sorts after digits)
                count += 1
                key = raw[_WIDTH + 1 :]
                sent = self._ticked.get(key)
                if sent is None or clock - sent[0] > _RETICK_AFTER_S:
                    self._ticked[key] = (clock, raw)
                    due.append(key)
        return count, due
