"""A block-list import of any size as a pipeline in bounded memory (issue 15, item 5).

``list_tools.import_rows`` takes a parsed file; this takes the rows as a stream
(``workers.domain.file_stream``) and never holds the file: rows are checked against the
sender view and queued in batches on the writer's producer, whose bounded local queue
makes the reader wait when the broker falls behind (the backpressure; every ack is
awaited before the final wait), and only what the report needs is kept: the counts,
and the line numbers of invalid and already-present rows up to a cap (the rest counted).

Two things grow with the file, both smaller than the view the rows end up in: one
64-bit hash per new address, 16 to 32 bytes each in a ``SeenSet`` (a repeat later in the file
is already present, as in ``files.build_report``), and one checkpoint per batch for the
final wait. The worker reads the commands of one account in order (one key) and routes
each row to the ``address-ops`` partition of its address, whose keyed stage may be
another worker, lagging or restoring, and its record goes to one of the ``suppressions``
partitions. So a batch counts as visible once its last row *of each lane* shows in the
view (``row_lanes``: the row's ops partition and its record's ``suppressions``
partition; without lanes, once its last row shows: right for one healthy worker and a
topic of one partition only).

The rows go out as ``import.rows`` commands of up to a thousand rows each, the run's id
as their event id: a row's own event id is the run's id and its line, and each batch
carries one ``occurred_at`` (no random bytes or clock read per row). A row is encoded
straight from what the file's row rules checked, not built as a dict for the writer to
check again: the worker's parser runs on the envelope and first row of each batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from confluent_kafka import murmur2
from suppressor_client.records import encode_key_fields, format_timestamp
from suppressor_client.types import (
    CATEGORY_OF,
    SUPPRESSION_LISTS,
    Command,
    CommandType,
    ListName,
)
from suppressor_client.view import AddressEntry, ListView

from workers.client.commands import effect_visible
from workers.client.sender import SenderClient, Staleness
from workers.domain.events import IMPORT_ROWS, load_object, parse_import_rows
from workers.domain.file_stream import SeenSet
from workers.domain.files import ImportRow, InvalidRow
from workers.kafka.topics import (
    ADDRESS_OPS,
    SUPPRESSIONS,
    admin_client,
    ops_topic,
    partition_count,
)
from workers.settings import Settings
from workers.stream.handlers import address_key

__all__ = [
    "BATCH_ROWS",
    "IMPORT_LISTS",
    "MAX_VIEW_LAG",
    "RECORD_BYTES",
    "RECORD_ROWS",
    "REPORT_ROWS",
    "ImportClient",
    "ImportWriter",
    "OwnRows",
    "StreamedImport",
    "import_client",
    "import_stream",
    "Lane",
    "record_bound",
    "row_lanes",
]

BATCH_ROWS = 5_000  # rows a batch: validated, then queued on the producer together
REPORT_ROWS = 1_000  # line numbers kept per kind (invalid, already present); more are counted
MAX_VIEW_LAG = 20_000
"""Records the view may trail the topic by before the next batch waits: librdkafka holds
the records the view has not decoded yet (up to 64 MB), and the reading loop competes
with the view's thread for the interpreter, so the view trails while rows are read."""
RECORD_ROWS = 1_000
RECORD_BYTES = 60_000
"""An ``import.rows`` record holds at most this many rows and bytes (the worker refuses
input records over 64 KiB by default): one record, one produce and one parse for up to a
thousand rows, where each ``import.row`` was a record of its own."""


def record_bound(settings: Settings) -> int:
    """The bytes an ``import.rows`` record may take under these settings' input bound
    (``SUPPRESSOR_MAX_RECORD_BYTES``, which the worker's settings share)."""
    return min(RECORD_BYTES, settings.max_record_bytes)


IMPORT_LISTS = frozenset({ListName.BLOCK, ListName.BOUNCE, ListName.RECIPIENT_ALLOW})
"""What an import reads: the lists a row goes to (``_present``), and the recipient
allowlist that makes a block a visible no-op (``commands._blocked``)."""


_EVENT_ID = b'"event_id":"'


class OwnRows:
    """Which records of ``suppressions`` an import's view skips undecoded: its own rows'.

    The view tells already-present rows by the lists' state from before the import (a
    repeat within the file is caught by the ``SeenSet``), and tells a batch visible by
    the rows it awaits; every other record of the import's own rows would only be
    decoded and held (~15 µs of the view's thread and ~70 bytes a row). Those are the
    records whose event id carries the run's id (``_row_encoder``): ``"event_id":"`` with
    its quotes unescaped occurs in a value only as that field, as JSON escapes a quote
    within a string. A record of any other event id (another writer's, an entry that
    stood before) is kept.
    """

    def __init__(self) -> None:
        self._marker = b""  # no run yet: nothing skipped
        self._awaited: set[bytes] = set()

    def start_run(self) -> str:
        """The run's id, whose rows are skipped from now on; once only: the records skipped
        are gone from the view, so a second import through it would take its rows for
        new ones (use a new client for each import)."""
        if self._marker:
            raise RuntimeError("this view already skipped an import's rows: one import a client")
        run = uuid.uuid4().hex
        self._awaited = set()
        self._marker = _EVENT_ID + run.encode() + b":"
        return run

    def awaited(self, event_id: str) -> None:
        """Keep the records of this row: call before it is written."""
        self._awaited.add(event_id.encode())

    def __call__(self, _key: bytes | None, value: bytes | None) -> bool:
        """Whether the feed may drop this record: the run's, and not awaited."""
        marker = self._marker
        if value is None or not marker:
            return False
        at = value.find(marker)
        if at < 0:
            return False
        start = at + len(_EVENT_ID)
        return value[start : value.find(b'"', start)] not in self._awaited


FETCH_MIN_BYTES = 64 * 1024
"""The import's view takes the topic in fetches of 64 KiB (or 50 ms): the worker writes
the import's rows as they come, and many small batches each woke the view's thread (and
took the interpreter from the reading loop) for a few dozen records."""


class ImportClient(SenderClient):
    """The sender client of an import, with the filter of its own rows (``own_rows``)."""

    def __init__(self, settings: Settings) -> None:
        self.own_rows = OwnRows()
        super().__init__(settings, compact=True, lists=IMPORT_LISTS, skip=self.own_rows,
                         fetch_min_bytes=FETCH_MIN_BYTES)  # fmt: skip


def import_client(settings: Settings) -> ImportClient:
    """The sender view an import checks rows against and waits on, not started.

    A ``CompactView`` (under 100 bytes an entry instead of ~290) of ``IMPORT_LISTS`` only
    that skips the import's own rows but the awaited ones (``OwnRows``); never with a
    snapshot file, which would then hold a view without the other lists and rows. Large
    blocks get mappings of their own in this process from here on (``_map_large_blocks``).
    """
    _map_large_blocks()
    return ImportClient(settings.with_(snapshot_path=""))


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_OWN_MAPPING = 128 * 1024  # glibc's initial threshold, kept from then on


def _map_large_blocks() -> None:
    """Give every block of 128 KiB or more a mapping of its own (glibc; elsewhere a no-op).

    The view's arrays grow by ``realloc`` while the import's rows come back into it. glibc
    raises its threshold as mapped blocks are freed, so they soon grow in the shared
    heap, where each move leaves a hole of the old size: about 22 MB at a million rows,
    all of it in the peak. A mapping grows in place (``mremap``) and goes back whole.
    """
    with contextlib.suppress(OSError, AttributeError):  # no C library to ask, or not glibc
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, _OWN_MAPPING)


@dataclass(slots=True)
class StreamedImport:
    """What a streamed import did: counts, capped row lists, and how many rows are visible."""

    added: int = 0
    already_present: int = 0
    invalid: int = 0
    visible: int = 0
    invalid_rows: list[InvalidRow] = field(default_factory=list)
    present_rows: list[ImportRow] = field(default_factory=list)
    cap: int = REPORT_ROWS

    @property
    def not_visible(self) -> int:
        """Rows written whose effect did not show before the wait ran out."""
        return self.added - self.visible

    def note_invalid(self, row: InvalidRow) -> None:
        self.invalid += 1
        if len(self.invalid_rows) < self.cap:
            self.invalid_rows.append(row)

    def note_present(self, row: ImportRow) -> None:
        self.already_present += 1
        if len(self.present_rows) < self.cap:
            self.present_rows.append(row)

    def as_dict(self) -> dict[str, Any]:
        """The same keys as ``ImportReport.as_dict``, plus visibility and what the caps left out."""
        return {
            "added": self.added,
            "already_present": self.already_present,
            "invalid": self.invalid,
            "visible": self.visible,
            "not_visible": self.not_visible,
            "invalid_rows": [
                {"line": r.line, "raw": r.raw, "code": r.code, "message": r.message}
                for r in self.invalid_rows
            ],
            "invalid_rows_omitted": self.invalid - len(self.invalid_rows),
            "already_present_rows": [{"line": r.line, "email": r.email} for r in self.present_rows],
            "already_present_rows_omitted": self.already_present - len(self.present_rows),
        }


Progress = Callable[[int], None]


class _Feed(Protocol):
    @property
    def view(self) -> ListView: ...

    def staleness(self) -> Staleness: ...

    def wait_until(self, condition: Callable[[ListView], bool], timeout: float) -> bool: ...


class ImportWriter(Protocol):
    """What the import needs of a ``CommandWriter``: checked writes and the view they land in."""

    @property
    def client(self) -> _Feed: ...

    def send_checked(self, key: bytes, records: Iterable[bytes]) -> None: ...

    def settle(self, timeout: float = ...) -> None: ...

    def check(self) -> None: ...


def import_stream(
    writer: ImportWriter,
    account: str,
    items: Iterable[ImportRow | InvalidRow],
    *,
    wait: float | None = 300.0,
    batch_rows: int = BATCH_ROWS,
    cap: int = REPORT_ROWS,
    on_rows: Progress | None = None,
    on_visible: Progress | None = None,
    partition_of: Callable[[ImportRow], Lane] | None = None,
    record_bytes: int = RECORD_BYTES,
    window: int | None = None,
) -> StreamedImport:
    """Import streamed rows into ``account``'s block list; ``wait`` bounds the final wait.

    ``on_rows(n)`` reports n more rows read and dealt with (written, present or invalid),
    ``on_visible(n)`` n more written rows visible to senders; ``partition_of(row)`` the
    lane of a row (``row_lanes``), so each batch waits for its last row of every lane (a
    row the recipient allowlist makes a no-op publishes nothing: never the one waited
    on); ``record_bytes`` bounds each ``import.rows`` record (``record_bound``).
    ``window`` (with a ``wait``) bounds the rows written and not yet visible: a batch
    waits until it fits, so an import never queues more than that many rows ahead of the
    bounces and commands that share the worker's partitions (``settings.import_window_rows``;
    a window under ``batch_rows`` sends each batch once the last one showed). A window
    not freed within ``wait`` stops the holding (the worker is down or far behind): the
    rest is written and the final wait only looks once, so the import waits ``wait`` in
    all for a worker that does not come.
    Raises ``InputError`` for
    an account the worker refuses (before any row is written), what
    ``CommandWriter.send_checked`` and ``settle`` raise, and what the stream raises
    (``TooLarge``, ``BadEncoding``); rows of earlier batches are then already written.
    """
    client = writer.client
    view = client.view
    key = account.encode()
    own = client.own_rows if isinstance(client, ImportClient) else None
    run = own.start_run() if own is not None else uuid.uuid4().hex
    report = StreamedImport(cap=cap)
    seen = SeenSet()
    shown = _Shown(on_visible, window if wait is not None else None, wait or 0.0)
    batch: list[ImportRow] = []
    lasts: dict[Lane, ImportRow] = {}  # lane -> the batch's last row of it
    handled = 0

    def flush() -> None:
        nonlocal handled
        if batch:
            _keep_up(writer.client)
            shown.hold(writer, report.added + len(batch))
            moment = datetime.now(UTC)
            encoded = _records(account, run, batch, format_timestamp(moment), record_bytes)
            awaited = tuple(
                _row_command(account, run, row, moment)
                for row in (lasts.values() if lasts else (batch[-1],))
            )
            if own is not None:
                for command in awaited:
                    own.awaited(command.event_id)
            shown.checkpoints.append((awaited, len(batch)))
            writer.send_checked(key, encoded)
            report.added += len(batch)
            batch.clear()
            lasts.clear()
        if on_rows is not None and handled:
            on_rows(handled)
        handled = 0

    for item in items:
        handled += 1
        if isinstance(item, InvalidRow):
            report.note_invalid(item)
        else:
            digest = hash(item.email)
            entries = view.address_entries(account, item.email)  # none, for nearly every row
            if digest in seen or (entries and _present(entries, item)):
                report.note_present(item)
            else:
                seen.add(digest)
                batch.append(item)
                if partition_of is not None and not (entries and _allowlisted(entries)):
                    lasts[partition_of(item)] = item
        if len(batch) >= batch_rows or handled >= batch_rows:
            flush()
    flush()
    writer.settle()
    if wait is not None and shown.checkpoints:
        # a hold that ran out already waited ``wait`` for a worker that did not come: look
        # once, not for another ``wait``
        client.wait_until(shown.advance, 0.0 if shown.ran_out else wait)
        report.visible = shown.rows
    return report


def _records(
    account: str, run: str, rows: list[ImportRow], occurred_at: str, max_bytes: int
) -> list[bytes]:
    """A batch's rows as the ``import.rows`` commands of the run, in order, each within
    ``RECORD_ROWS`` rows and ``max_bytes`` bytes (a row larger alone still goes alone: the
    worker says why).

    A row from ``workers.domain.files`` is already what the worker accepts (the address
    normalised by the same function, notes within the same bound, reason 2 or 10), so
    each row is written as it is; the worker's parser runs here on the envelope and the
    first row of the batch before any of it is written (an account it refuses), and
    tests/service pin that it agrees with the file's rules on every row.
    """
    head = orjson.dumps(
        {"type": IMPORT_ROWS, "account_id": account, "event_id": run,
         "occurred_at": occurred_at, "rows": []}
    )[:-2]  # fmt: skip
    cells = [orjson.dumps([row.line, row.email, int(row.reason), row.notes]) for row in rows]
    parse_import_rows(load_object(head + cells[0] + b"]}"))
    records: list[bytes] = []
    chunk: list[bytes] = []
    size = len(head)
    for cell in cells:
        if chunk and (len(chunk) >= RECORD_ROWS or size + len(cell) + 3 > max_bytes):
            records.append(head + b",".join(chunk) + b"]}")
            chunk, size = [], len(head)
        chunk.append(cell)
        size += len(cell) + 1
    records.append(head + b",".join(chunk) + b"]}")
    return records


def _row_command(account: str, run: str, row: ImportRow, moment: datetime) -> Command:
    """The ``import.row`` a row of the run stands for, as the keyed stage takes it."""
    return Command(
        event_id=f"{run}:{row.line}",
        account_id=account,
        occurred_at=moment,
        type=CommandType.IMPORT_ROW,
        email=row.email,
        reason=row.reason,
        notes=row.notes,
    )


def _keep_up(client: _Feed) -> None:
    """Wait (a minute at most) while the view trails the topic by more than ``MAX_VIEW_LAG``."""
    if client.staleness().lag > MAX_VIEW_LAG:
        client.wait_until(lambda _view: client.staleness().lag <= MAX_VIEW_LAG // 2, 60.0)


def _present(entries: Iterable[AddressEntry], row: ImportRow) -> bool:
    """The address is already on the list its row would go to (block, or bounce for 10)."""
    name = SUPPRESSION_LISTS[CATEGORY_OF[row.reason]]
    return any(e.active and e.list is name for e in entries)


def _allowlisted(entries: Iterable[AddressEntry]) -> bool:
    """On the recipient allowlist: the worker takes its block as a no-op (SPEC §6)."""
    return any(e.active and e.list is ListName.RECIPIENT_ALLOW for e in entries)


class _Shown:
    """The import's batches in order, walked as each one's awaited rows show in the view."""

    def __init__(self, on_visible: Progress | None, window: int | None, wait: float) -> None:
        self.checkpoints: list[tuple[tuple[Command, ...], int]] = []  # (awaited, rows)
        self.on_visible = on_visible
        self.rows = 0  # of the batches walked: visible
        self.window = window  # None: no holding asked
        self.wait = wait
        self.ran_out = False  # a hold did not free within the wait: no more holding
        self._position = 0

    def hold(self, writer: ImportWriter, written: int) -> None:
        """Wait until no more than the window of ``written`` rows (those sent and the
        batch about to be) would be not visible; one that does not free within the wait
        ends the holding. What the writer's records met is raised meanwhile
        (``ImportWriter.check``): a broker that refuses them does not look like a slow
        worker."""
        window = self.window
        if window is None or self.ran_out:
            return

        def room(view: ListView) -> bool:
            writer.check()
            return self.advance(view) or written - self.rows <= window

        self.ran_out = not writer.client.wait_until(room, self.wait)

    def advance(self, view: ListView) -> bool:
        """Walk the batches now visible; whether all written so far are."""
        checkpoints = self.checkpoints
        while self._position < len(checkpoints) and all(
            effect_visible(view, command) for command in checkpoints[self._position][0]
        ):
            rows = checkpoints[self._position][1]
            self.rows += rows
            self._position += 1
            if self.on_visible is not None:
                self.on_visible(rows)
        return self._position == len(checkpoints)


Lane = tuple[int, int]
"""Where a row's effect travels: its ``address-ops`` partition and its record's
``suppressions`` partition."""


def row_lanes(settings: Settings, account: str) -> Callable[[ImportRow], Lane] | None:
    """The lane of an ``account`` row: the ``address-ops`` partition the front stage routes
    it to (murmur2 of the address key) and the ``suppressions`` partition its record lands
    on (murmur2 of the record's key, as the keyed stage's producer picks it). The rows of
    one lane show in the order they were written, one keyed stage applying them in order
    and one producer keeping their records in order; across lanes in any order, so a
    batch waits for its last row of each lane. None when a topic cannot be read (the
    import then waits for each batch's last row only)."""
    admin = admin_client(settings)
    try:
        topics = ops_topic(settings, ADDRESS_OPS), settings.topic(SUPPRESSIONS)
        ops, out = (partition_count(admin, t, 0.0, min_request=10.0) for t in topics)
    except RuntimeError:
        return None

    def lane(row: ImportRow) -> Lane:
        target = SUPPRESSION_LISTS[CATEGORY_OF[row.reason]].value
        return (
            int(murmur2(address_key(account, row.email), ops)),
            int(murmur2(encode_key_fields(account, target, row.email), out)),
        )

    return lane
