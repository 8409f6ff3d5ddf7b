"""The streamed import's own encoding: what the file's row rules accept, the worker accepts.

``import_stream`` encodes each row itself instead of running the worker's parser on every
one; these tests pin that the two agree on every row a file can hold.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppressor_client.compact_view import CompactView
from suppressor_client.errors import InputError
from suppressor_client.records import encode_record
from suppressor_client.types import ListKey, ListName, ListRecord, Reason
from suppressor_client.view import ListView

from tests.api.memory import MemoryLists
from workers.client.commands import CommandError
from workers.client.sender import Staleness
from workers.domain.events import MAX_RECORD_BYTES, parse_import_rows
from workers.domain.files import ImportRow, csv_rows
from workers.service.import_stream import (
    RECORD_BYTES,
    RECORD_ROWS,
    OwnRows,
    import_client,
    import_stream,
    record_bound,
    row_lanes,
)
from workers.settings import Settings

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"))
_LOCAL = st.sampled_from(["jane", "J.Doe+tag", "ünï", "a" * 64, "a" * 65, "", "x y", "o'neil"])
_DOMAIN = st.sampled_from(
    ["example.com", "EXAMPLE.com.", "bücher.example", "xn--bcher-kva.example", "-bad.example",
     "a." + "b" * 240 + ".example", "localhost", ""]
)  # fmt: skip
_ADDRESS = st.one_of(
    st.builds(lambda local, domain: f" {local}@{domain} ", _LOCAL, _DOMAIN),
    _TEXT.filter(lambda t: ";" not in t and '"' not in t),
)
_NOTES = st.one_of(_TEXT, st.text(min_size=995, max_size=1005))
_REASON = st.sampled_from(["", "2", "10", " 10 ", "99", "3"])


def _line(address: str, notes: str, reason: str) -> str:
    return f'{address};"{notes.replace(chr(34), chr(34) * 2)}";{reason}'


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_ADDRESS, _NOTES, _REASON), min_size=1, max_size=12))
def test_every_row_the_file_accepts_is_a_command_the_worker_reads_unchanged(
    cells: list[tuple[str, str, str]],
) -> None:
    """Each added row's record parses with the worker's parser into the row's own fields."""
    lines = ["email;notes;reason", *(_line(*c) for c in cells)]
    rows = [r for r in csv_rows(lines, max_rows=100) if isinstance(r, ImportRow)]
    lists = MemoryLists()  # its writer runs the worker's parser on every record it is given
    report = import_stream(lists, "acme", csv_rows(lines, max_rows=100), wait=None, batch_rows=5)
    written = [row for body in lists.commands for row in parse_import_rows(body).rows]
    first = {r.email: r for r in reversed(rows)}  # a repeat of an address is already present
    assert {body["type"] for body in lists.commands} <= {"import.rows"}
    assert report.added + report.already_present + report.invalid == len(cells)
    assert report.added == len(written) == len(first)
    assert len({event_id for event_id, *_ in written}) == len(written)
    for event_id, email, reason, notes in written:
        row = first[email]
        assert (email, notes, reason) == (row.email, row.notes, int(row.reason))
        assert event_id.endswith(f":{row.line}")
    assert all(parse_import_rows(body).account_id == "acme" for body in lists.commands)


def test_a_batch_goes_out_in_records_within_the_workers_bounds() -> None:
    """Rows fill records up to ``RECORD_ROWS`` rows and ``RECORD_BYTES`` bytes, in file order,
    and every row of the batch is in one of them."""
    lists = MemoryLists()
    notes = "n" * 900  # about 70 rows to a record by bytes
    lines = [f"u{n}@example.com;{notes if n >= 2500 else ''}" for n in range(3000)]
    report = import_stream(lists, "acme", csv_rows(lines, max_rows=5000), wait=None)
    sizes = [len(orjson.dumps(body)) for body in lists.commands]
    counts = [len(body["rows"]) for body in lists.commands]
    assert report.added == sum(counts) == 3000
    assert counts[:2] == [RECORD_ROWS, RECORD_ROWS]
    assert len(counts) > 5  # the rows with long notes split by bytes
    assert max(sizes) <= RECORD_BYTES < MAX_RECORD_BYTES
    assert [row[0] for body in lists.commands for row in body["rows"]] == list(range(1, 3001))


def test_an_account_the_worker_refuses_writes_nothing() -> None:
    """The worker's parser runs on a batch's first row before any of it is written."""
    lists = MemoryLists()
    rows = csv_rows(["a@example.com", "b@example.com;;10"], max_rows=10)
    with pytest.raises(InputError, match="account_id"):
        import_stream(lists, "no spaces", rows, wait=None)
    assert lists.commands == []


class _Trailing(MemoryLists):
    """A view that trails the topic by 30,000 records until a wait lets it catch up."""

    def __init__(self) -> None:
        super().__init__()
        self.lag = 30_000
        self.events: list[str] = []

    def staleness(self) -> Staleness:
        return Staleness(self.lag, 0.1, True)

    def wait_until(self, condition: Callable[[ListView], bool], timeout: float) -> bool:
        self.events.append("wait")
        self.lag = 0
        return condition(self.view)

    def send_checked(self, key: bytes, records: Iterable[bytes]) -> None:
        self.events.append("send")
        super().send_checked(key, records)


def test_a_batch_waits_while_the_view_trails_the_topic() -> None:
    """librdkafka holds what the view has not decoded: no batch is written while it trails."""
    lists = _Trailing()
    rows = csv_rows([f"u{n}@example.com" for n in range(10)], max_rows=10)
    report = import_stream(lists, "acme", rows, wait=None, batch_rows=4)
    assert report.added == 10
    assert lists.events == ["wait", "send", "send", "send"]


def test_the_import_view_is_compact_and_never_snapshotted(tmp_path: Path) -> None:
    """A filtered view must not replace a sender's snapshot, even where one is configured."""
    settings = Settings().with_(snapshot_path=str(tmp_path / "view.snapshot"))
    client = import_client(settings)
    assert isinstance(client.view, CompactView)
    with pytest.raises(ValueError, match="no snapshot file"):
        client.save_snapshot()
    assert not (tmp_path / "view.snapshot").exists()


def _record(event_id: str | None, notes: str | None = None) -> bytes:
    key = ListKey("acme", ListName.BLOCK, "jane@example.com")
    return encode_record(ListRecord(key, 1, True, reason=Reason.MANUAL, event_id=event_id,
                                    notes=notes))  # fmt: skip


def test_an_imports_view_skips_its_own_rows_but_the_awaited_ones() -> None:
    """Records of the run's rows are skipped undecoded, but not the rows a batch waits on,
    nor any other event id, tombstone, or a note that quotes the run's event id."""
    own = OwnRows()
    assert not own(b"k", _record("anything:1"))  # no run yet
    run = own.start_run()
    own.awaited(f"{run}:7")
    assert own(b"k", _record(f"{run}:6"))
    assert not own(b"k", _record(f"{run}:7"))
    assert not own(b"k", _record(f"{run}x:6"))
    assert not own(b"k", _record(None, notes=f'"event_id":"{run}:6"'))
    assert not own(b"k", _record(f"{uuid.uuid4().hex}:6"))
    assert not own(b"k", None)
    # the rows skipped are gone from the view: a second import would take them for new
    with pytest.raises(RuntimeError, match="one import a client"):
        own.start_run()


class _LaggingPartition(MemoryLists):
    """A worker that owns ops partition 1 lags: its rows are written but never applied."""

    def send_checked(self, key: bytes, records: Iterable[bytes]) -> None:
        for raw in records:
            body = orjson.loads(raw)
            slow = [row for row in body["rows"] if _partition(row[1]) == 1]
            self.commands.append({**body, "rows": slow})
            rest = [row for row in body["rows"] if _partition(row[1]) != 1]
            if rest:
                super().send_checked(key, [orjson.dumps({**body, "rows": rest})])


def _partition(email: str) -> int:
    return 1 if email.startswith("slow") else 0


def _lane(row: ImportRow) -> tuple[int, int]:
    return _partition(row.email), 0


@pytest.mark.parametrize(("partition_of", "visible"), [(_lane, 0), (None, 3)])
def test_a_batch_is_visible_only_once_its_last_row_of_every_lane_shows(
    partition_of: Callable[[ImportRow], tuple[int, int]] | None, visible: int
) -> None:
    """The batch's last row shows, but a row on a lagging partition does not: with the
    lanes the batch is not counted visible (without them, it is, wrongly)."""
    lists = _LaggingPartition()
    rows = csv_rows(["slow@example.com", "a@example.com", "b@example.com"], max_rows=10)
    report = import_stream(lists, "acme", rows, wait=0.1, partition_of=partition_of)
    assert report.added == 3
    assert report.visible == visible


def test_a_row_the_allowlist_makes_a_no_op_is_never_the_one_a_batch_waits_on() -> None:
    """Its block publishes nothing, so it shows at once: waiting on it would count the
    lane's earlier rows visible before they are."""
    lists = _LaggingPartition()
    lists.submit_many([{"type": "allowlist.add", "account_id": "acme",
                        "email": "slow-kept@example.com"}])  # fmt: skip
    rows = csv_rows(["slow@example.com", "slow-kept@example.com"], max_rows=10)
    report = import_stream(lists, "acme", rows, wait=0.1, partition_of=_lane)
    assert (report.added, report.visible) == (2, 0)


def test_a_rows_lane_is_where_the_front_stage_and_the_keyed_stage_send_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ops partition of the address key and the suppressions partition of the record's
    key, by the murmur2 partitioner both producers use."""
    from confluent_kafka import murmur2
    from suppressor_client.records import encode_key
    from suppressor_client.types import ListKey

    from workers.service import import_stream as module
    from workers.stream.handlers import address_key

    settings = Settings()
    counts = {f"{settings.app_id}-address-ops": 6, settings.topic("suppressions"): 5}
    monkeypatch.setattr(module, "admin_client", lambda _settings: None)
    monkeypatch.setattr(module, "partition_count", lambda _c, topic, *_a, **_k: counts[topic])
    lane = row_lanes(settings, "acme")
    assert lane is not None
    for row in (ImportRow(2, "a@x.io"), ImportRow(3, "b@x.io", reason=Reason.NONEXISTENT_LEGACY)):
        target = ListName.BLOCK if row.reason is Reason.MANUAL else ListName.BOUNCE
        assert lane(row) == (
            murmur2(address_key("acme", row.email), 6),
            murmur2(encode_key(ListKey("acme", target, row.email)), 5),
        )


class _BehindWorker(MemoryLists):
    """A worker that applies the rows written only while the import waits on it, one
    record a check; it notes how many rows were written and not applied after each
    write, and each wait's timeout. ``refused``: the broker refused the first record."""

    def __init__(self, *, stuck: bool = False, refused: bool = False) -> None:
        super().__init__()
        self.stuck = stuck
        self.refused = refused
        self.queued: list[bytes] = []
        self.behind_after_send: list[int] = []
        self.timeouts: list[float] = []

    def _behind(self) -> int:
        return sum(len(orjson.loads(raw)["rows"]) for raw in self.queued)

    def send_checked(self, key: bytes, records: Iterable[bytes]) -> None:
        self.queued += records
        self.behind_after_send.append(self._behind())

    def check(self) -> None:
        if self.refused and self.queued:
            raise CommandError("could not write to suppression-commands: refused")

    def wait_until(self, condition: Callable[[ListView], bool], timeout: float) -> bool:
        self.timeouts.append(timeout)
        while not condition(self.view):
            if self.stuck or not self.queued:
                return False
            super().send_checked(b"acme", [self.queued.pop(0)])
        return True


def _import(worker: _BehindWorker, rows: int, *, wait: float, window: int, **kw: Any) -> Any:
    lines = [f"u{n}@example.com" for n in range(rows)]
    return import_stream(worker, "acme", csv_rows(lines, max_rows=rows), wait=wait,
                         batch_rows=5, window=window, **kw)  # fmt: skip


def test_an_import_writes_no_more_than_its_window_ahead_of_what_shows() -> None:
    """Bounces share the worker's partitions with the import's rows: a batch waits until
    it fits in ``window`` rows written and not visible, so they never queue behind the file."""
    worker = _BehindWorker()
    seen: list[int] = []
    report = _import(worker, 100, wait=5.0, window=20, on_visible=seen.append)
    assert (report.added, report.visible) == (100, 100)
    assert len(worker.behind_after_send) == 20
    assert max(worker.behind_after_send) == 20  # held at the window, never past it
    assert sum(seen) == 100 and len(seen) == 20  # each batch shown as it became visible


def test_a_window_smaller_than_a_batch_sends_each_batch_once_the_last_one_shows() -> None:
    worker = _BehindWorker()
    report = _import(worker, 30, wait=5.0, window=2)
    assert (report.added, report.visible) == (30, 30)
    assert worker.behind_after_send == [5] * 6


def test_an_import_whose_window_does_not_free_writes_the_rest_and_says_what_shows() -> None:
    """A worker that is down: the first full window waits ``wait`` once, then the rest is
    written (nothing lost, nothing waited on again, the final wait only looks) and the
    report counts none visible."""
    worker = _BehindWorker(stuck=True)
    report = _import(worker, 100, wait=0.01, window=20)
    assert (report.added, report.visible, report.not_visible) == (100, 0, 100)
    assert worker._behind() == 100
    # four batches fit the window, the fifth's hold runs out, no later batch is held, and
    # the final wait looks once
    assert worker.timeouts == [0.01] * 5 + [0.0]


def test_records_the_broker_refuses_stop_the_import_at_the_next_hold() -> None:
    """Not a slow worker: the hold raises what the writer's records met instead of
    waiting out ``wait`` and writing the rest of the file."""
    worker = _BehindWorker(stuck=True, refused=True)
    with pytest.raises(CommandError, match="refused"):
        _import(worker, 100, wait=60.0, window=20)
    assert worker._behind() == 5


_HEAP_PROBE = """
import ctypes, sys
if sys.argv[1] == "import":
    from workers.service.import_stream import import_client
    from workers.settings import Settings
    import_client(Settings())
freed = bytearray(8 << 20)
del freed  # a mapped block freed: glibc now puts blocks up to 8 MB in its heap
block = bytearray(1 << 20)
at = ctypes.addressof((ctypes.c_char * len(block)).from_buffer(block))
for line in open("/proc/self/maps"):
    low, high = (int(x, 16) for x in line.split()[0].split("-"))
    if low <= at < high:
        print("heap" if line.rstrip().endswith("[heap]") else "own")
"""


def test_the_import_process_maps_large_blocks_on_their_own() -> None:
    """After ``import_client``, a 1 MB block (an array of the view growing) gets its own
    mapping even once glibc would have put it in the shared heap, where its moves leave
    holes that count in the import's peak memory."""
    ran = [
        subprocess.run([sys.executable, "-c", _HEAP_PROBE, mode], capture_output=True,
                       text=True, check=True, cwd=Path(__file__).parents[2]).stdout.strip()
        for mode in ("plain", "import")
    ]  # fmt: skip
    assert ran == ["heap", "own"]


def test_records_keep_within_the_input_bound_the_settings_give() -> None:
    """A deployment with a smaller input bound gets smaller records, never refused ones."""
    bound = record_bound(Settings().with_(max_record_bytes=5_000))
    assert bound == 5_000
    assert record_bound(Settings()) == RECORD_BYTES
    lists = MemoryLists()
    lines = [f"u{n}@example.com;note {n}" for n in range(2_000)]
    report = import_stream(lists, "acme", csv_rows(lines, max_rows=5000), wait=None,
                           record_bytes=bound)  # fmt: skip
    assert report.added == 2_000
    assert len(lists.commands) > 10
    assert max(len(orjson.dumps(body)) for body in lists.commands) <= bound
