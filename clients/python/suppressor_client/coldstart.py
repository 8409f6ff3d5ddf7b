"""One share of a parallel cold start: ``python -m suppressor_client.coldstart TASK``.

``SuppressionFeed`` starts this for each share of the partitions but its own (a new
interpreter, never a fork of a process whose librdkafka threads run). It reads its
partitions from the beginning into a ``CompactView`` with the feed's own loop, until
ready (the end offsets it found at start), and writes the view with the offsets it
reached as a snapshot file, then a small ``result.json`` (the counts and the first
errors) beside it, which tells the feed the snapshot is whole. ``TASK`` is a JSON
object: bootstrap, topic, partitions, lists (None: all) and directory. Run so, it ends
when its stdin does (the feed holds the other end): a share whose feed is gone, even
killed, neither reads on nor leaves its files behind.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson

from suppressor_client.compact_view import CompactView
from suppressor_client.feed import SuppressionFeed
from suppressor_client.snapshot import begin_snapshot
from suppressor_client.types import ListName

__all__ = ["main"]

_ERRORS_KEPT = 100


def _exit_with_the_feed(directory: str) -> None:
    """The feed holds this process's stdin open: at its end (the feed stopped or died,
    even killed) this share is of no use, so it goes, with its files."""
    while os.read(0, 4096):  # the raw descriptor: a buffered reader's lock held by this
        pass  # daemon thread would abort the interpreter's normal exit
    shutil.rmtree(directory, ignore_errors=True)
    os._exit(1)


def main(
    bootstrap: str, topic: str, partitions: list[int], lists: list[str] | None, directory: str
) -> None:
    """Read ``partitions`` into a snapshot file in ``directory`` and write ``result.json``."""
    errors: list[str] = []

    def keep(message: str) -> None:
        if len(errors) < _ERRORS_KEPT:
            errors.append(message)

    view = CompactView()
    kept = None if lists is None else [ListName(name) for name in lists]
    feed = SuppressionFeed(bootstrap, topic, view, lists=kept, on_error=keep, partitions=partitions)
    cluster_id = feed.cluster_id()
    feed.start()
    try:
        while not feed.wait_ready(1.0):
            pass  # the parent stops this process when it takes too long
        path = Path(directory) / "view.snap"
        with feed.lock, view.exported() as state:  # the arrays written in place, not copied
            begin_snapshot(path, state, topic=topic, cluster_id=cluster_id,
                           offsets=feed.positions(), now=datetime.now(UTC)).commit()  # fmt: skip
    finally:
        feed.stop()
    result = {"cluster_id": cluster_id, "records": feed.records, "skipped": feed.skipped,
              "undecodable": feed.undecodable, "errors": errors}  # fmt: skip
    done = Path(directory) / "result.tmp"
    done.write_bytes(orjson.dumps(result))
    done.rename(done.with_name("result.json"))


if __name__ == "__main__":
    task = orjson.loads(sys.argv[1])
    threading.Thread(target=_exit_with_the_feed, args=(task["directory"],), daemon=True).start()
    main(**task)
