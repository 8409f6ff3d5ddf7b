"""A large CLI import through a real worker: streamed, batched, and every row visible."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from workers.cli.main import app
from workers.client import CommandWriter, SenderClient
from workers.devkit.worker_process import WorkerProcess
from workers.domain.files import ImportRow, csv_rows
from workers.service.import_stream import import_client, import_stream, row_lanes
from workers.service.list_tools import import_rows
from workers.settings import Settings

pytestmark = pytest.mark.broker

ROWS = 20_000


def test_cli_imports_20000_rows_and_reports_lines(
    topics: Settings, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """20,000 rows with bad, repeated and present rows: counts and lines reported, all visible.

    The import's view holds the block, bounce and recipient-allow lists only: an address
    on the address allow list is still a new block, and an allowlisted last row (the final
    checkpoint, a no-op for the worker) still counts as visible.
    """
    start_worker()
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(app, list(args), env=topics.to_env())
        assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
        return result

    run("address", "block", "user7@example.com", "-a", "acme")
    run("allowlist", "add", "kept@example.com", "-a", "acme")
    run("address", "allow", "past@example.com", "-a", "acme")
    lines = ["email;notes"]
    lines += [f'user{n}@example.com;"row {n}"' for n in range(ROWS)]
    lines[101] = "not-an-address"  # line 102 of the file
    lines.append("USER5@example.com")  # line 20,002: a repeat of line 7
    lines.append("past@example.com")  # allowed past domain rules, not blocked: a new block
    lines.append("kept@example.com")  # the last row: the allowlist makes its block a no-op
    csv = tmp_path / "big.csv"
    csv.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    out = run("import", str(csv), "-a", "acme", "--timeout", "120").stdout
    added = ROWS - 2 + 2  # user100 is invalid, user7 was blocked before; past and kept are new
    assert f"{added} added, 2 already present, 1 invalid; {added} visible" in out
    assert "line 102: invalid_address" in out
    assert "line 9: already present: user7@example.com" in out
    assert f"line {ROWS + 2}: already present: user5@example.com" in out

    stats = orjson.loads(run("stats", "-a", "acme").stdout)
    assert stats["block"] == ROWS  # every imported row but kept, and the one blocked before


def test_the_imports_view_holds_the_prior_state_and_the_awaited_rows_only(
    topics: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Through a real worker: the import's view decodes the lists as they stood (a row
    already blocked is reported) and the rows its batches wait on, not its other own rows,
    while every row is visible to a sender that reads everything; the file is read no
    further ahead of what shows than the import's window."""
    start_worker()
    rows = 3_000
    with SenderClient(topics) as sender:
        writer = CommandWriter(topics, sender)
        result = writer.submit({"type": "address.block", "account_id": "acme",
                                "email": "user7@example.com"}, wait=60)  # fmt: skip
        writer.close()
        assert result.visible
        client = import_client(topics).start(timeout=30)
        writer = CommandWriter(topics, client)
        try:
            assert client.wait_ready(30)
            lines = [f"user{n}@example.com" for n in range(rows)]
            lanes = row_lanes(topics, "acme")
            assert lanes is not None, "the worker's ops and suppressions topics are readable"
            read, shown, ahead = 0, 0, []

            def on_rows(n: int) -> None:
                nonlocal read
                read += n
                ahead.append(read - shown)

            def on_visible(n: int) -> None:
                nonlocal shown
                shown += n

            report = import_stream(
                writer,
                "acme",
                csv_rows(lines, max_rows=rows),
                wait=120,
                batch_rows=500,
                partition_of=lanes,
                window=1_000,
                on_rows=on_rows,
                on_visible=on_visible,
            )
            partitions = topics.partitions
            decoded = client.records_read
        finally:
            writer.close()
            client.stop()
        assert (report.added, report.visible) == (rows - 1, rows - 1)
        assert [(r.line, r.email) for r in report.present_rows] == [(8, "user7@example.com")]
        # the one before, and each batch's awaited rows: its last of each lane (ops partition,
        # suppressions partition)
        assert 1 < decoded <= 1 + partitions * partitions * 6
        # rows showed while the file was read: never more than the window (and the
        # present row, read and not written) were read ahead of them
        assert max(ahead) <= 1_000 + 1 < rows - 1
        assert sender.wait_until(lambda view: view.stats()["block"] == rows, 60)


def _windowed_import(
    topics: Settings, rows: int, window: int, wait: float
) -> tuple[list[int], int, int]:
    """``POST /import``'s path (``list_tools.import_rows``: an ``import.row`` command a
    row) through a real broker: at each write, the rows written and not yet seen once it
    is done; the rows seen and the rows the outcome calls not visible."""
    with SenderClient(topics) as client:
        writer = CommandWriter(topics, client)
        produced, shown, ahead = 0, 0, []
        produce = writer._produce

        def counted(records: list[tuple[bytes, bytes]]) -> None:
            nonlocal produced
            produced += len(records)
            ahead.append(produced - shown)
            produce(records)

        def on_visible(n: int) -> None:
            nonlocal shown
            shown += n

        writer._produce = counted  # type: ignore[method-assign]
        try:
            parsed = list(csv_rows([f"one{n}@example.com" for n in range(rows)], max_rows=rows))
            outcome = import_rows(
                writer, "acme", [r for r in parsed if isinstance(r, ImportRow)], [],
                wait=wait, progress=on_visible, window=window,
            )  # fmt: skip
        finally:
            writer.close()
    assert produced == rows
    return ahead, shown, len(outcome.not_visible)


def test_an_import_of_one_command_a_row_keeps_to_its_window(
    topics: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Every row shows, and no more than the window were ever written ahead of them."""
    start_worker()
    ahead, shown, late = _windowed_import(topics, 2_000, 400, wait=120)
    assert (shown, late) == (2_000, 0)
    assert len(ahead) > 1 and max(ahead) <= 400


def test_an_import_whose_window_never_frees_writes_every_row_once_the_wait_is_over(
    topics: Settings,
) -> None:
    """No worker: the window fills (two writes of half of it), its hold waits out the
    wait, then the rest goes in one write (nothing lost), every row reported not visible."""
    ahead, shown, late = _windowed_import(topics, 2_000, 400, wait=1.0)
    assert (shown, late) == (0, 2_000)
    assert ahead == [200, 400, 2_000]
