"""The list tools of ``suppressor``: check, filter, import, export and the list commands.

Every command reads the ``suppressions`` topic into a sender view first (as a sender
does), and every write returns once its effect is visible in that view, so what the
command says is what senders see. Exit codes: 0 done, 1 failed (the message says why),
2 bad usage or settings, 3 written but not visible in time (is a worker running?).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import typer
from suppressor_client.errors import InputError
from suppressor_client.records import format_timestamp
from suppressor_client.types import PLATFORM_ACCOUNT, REASON_TEXT, CommandType, Stream

from workers.cli.common import fail, load_settings
from workers.client.commands import CommandError, CommandWriter
from workers.client.sender import FeedError, SenderClient
from workers.domain.file_stream import stream_import_csv, stream_manual
from workers.service import account_state
from workers.service import list_tools as lists
from workers.service.import_stream import (
    StreamedImport,
    import_client,
    import_stream,
    record_bound,
    row_lanes,
)
from workers.settings import Settings

__all__ = ["register"]

TIMED_OUT = 3

domain_app = typer.Typer(help="Domain rules (send / collection block) and the domain allow list.")
address_app = typer.Typer(help="Block, unblock or allow one address.")
allowlist_app = typer.Typer(
    help="The recipient allowlist: never suppressed. One address at a time, by design."
)
uri_app = typer.Typer(help="The URI allowlist: anchored re2 patterns links must match.")
account_app = typer.Typer(help="Accounts.")

_ACCOUNT = typer.Option(..., "--account", "-a", help="Account id ('*' for platform-wide).")
_STREAM = typer.Option(Stream.MARKETING, "--stream", "-s", help="Message stream.")
_TIMEOUT = typer.Option(
    30.0, "--timeout", help="Seconds to wait for the view, and for a change to show."
)
_NOTES = typer.Option(None, "--notes", help="Free text kept with the entry.")


@contextmanager
def _writer(client: SenderClient) -> Iterator[CommandWriter]:
    """A command writer whose refusals become the tool's error messages and exit codes."""
    writer = CommandWriter(client.settings, client)
    try:
        yield writer
    except InputError as exc:
        raise fail(f"{exc.code}: {exc.message}") from exc
    except CommandError as exc:
        raise fail(str(exc)) from exc
    finally:
        writer.close()


@contextmanager
def _client(
    timeout: float,
    *,
    keep_details: bool = True,
    build: Callable[[Settings], SenderClient] | None = None,
) -> Iterator[SenderClient]:
    """A sender view of the topic (``build``'s, else a full one), caught up; fails clearly
    without broker or topic."""
    from confluent_kafka import KafkaException

    settings = load_settings()
    client = (
        build(settings) if build is not None else SenderClient(settings, keep_details=keep_details)
    )
    try:
        client.start(timeout=min(timeout, 15.0))
    except FeedError as exc:
        raise fail(str(exc)) from exc
    except KafkaException as exc:
        raise fail(
            f"no Kafka broker answers at {settings.bootstrap_servers} ({exc}); "
            "is it running? (suppressor broker start)"
        ) from exc
    try:
        if not client.wait_ready(timeout):
            lag = client.staleness().lag
            raise fail(f"the view did not catch up within {timeout:.0f}s ({lag} records behind)")
        yield client
    finally:
        client.stop()


def _write(command: dict[str, Any], timeout: float, done: str) -> None:
    """Submit one command and wait until senders see it; say so with its normalised subject."""
    with _client(timeout) as client, _writer(client) as writer:
        result = writer.submit(command, wait=timeout)
    if not result.visible:
        raise fail(
            f"timed out after {timeout:.0f}s: the command {result.event_id} was written but its "
            "effect is not visible yet (is a worker running?)",
            TIMED_OUT,
        )
    parsed = result.command
    subject = parsed and (parsed.email or parsed.domain or parsed.pattern or parsed.account_id)
    typer.echo(f"{subject}: {done} (visible after {result.waited_s:.2f}s)")


def _one(addresses: list[str], what: str) -> str:
    if len(addresses) != 1:
        raise fail(
            f"{what} takes exactly one address at a time, by design (SPEC §6: no bulk updates, "
            f"a guard against importing a suppression list into it); got {len(addresses)}",
            2,
        )
    return addresses[0]


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc


# --- reading -----------------------------------------------------------------------------


_ADDRESSES = typer.Argument(..., help="Addresses to check.")
_OUTPUT = typer.Option(None, "--output", "-o", help="File to write (default stdout).")
_ONE_ADDRESS = typer.Argument(..., metavar="EMAIL", help="One address.")


def check(
    addresses: list[str] = _ADDRESSES,
    account: str = _ACCOUNT,
    stream: Stream = _STREAM,
    as_json: bool = typer.Option(False, "--json", help="One JSON object a line."),
    timeout: float = _TIMEOUT,
) -> None:
    """May the account send to these addresses? The decision, the rule and the reason."""
    with _client(timeout, keep_details=False) as client:
        results = lists.check(client, account, addresses, stream)
    for r in results:
        if as_json:
            typer.echo(orjson.dumps(r.as_dict()).decode())
            continue
        reason = "" if r.reason is None else f"  reason {int(r.reason)} ({REASON_TEXT[r.reason]})"
        typer.echo(f"{r.address}  {'allowed' if r.allowed else 'denied'}  {r.rule}{reason}")


def filter_(
    *,
    file: str = typer.Argument("-", help="One address a line, or a CSV with --column; - is stdin."),
    account: str = _ACCOUNT,
    stream: Stream = _STREAM,
    column: str | None = typer.Option(
        None, "--column", "-c", help="CSV column with the address: a number from 1, or a name."
    ),
    delimiter: str = typer.Option(";", "--delimiter", help="CSV separator (with --column)."),
    timeout: float = _TIMEOUT,
) -> None:
    """Filter a target group: allowed addresses to stdout, excluded counts by reason to stderr."""
    try:
        lines = lists.read_text(_read(file))
        addresses = list(lists.column_values(lines, column, delimiter)) if column else lines
    except UnicodeDecodeError as exc:
        raise fail(f"{file} is not UTF-8 (byte {exc.start})") from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    with _client(timeout, keep_details=False) as client:
        result = lists.filter_addresses(client, account, addresses, stream)
    out = sys.stdout
    for start in range(0, len(result.allowed), 10_000):
        out.write("\n".join(result.allowed[start : start + 10_000]) + "\n")
    out.flush()
    typer.echo(
        f"{result.total} addresses: {len(result.allowed)} allowed, "
        f"{result.total - len(result.allowed)} excluded",
        err=True,
    )
    for label, count in result.excluded.most_common():
        typer.echo(f"  {count:>9}  {label}", err=True)


def export(
    account: str = _ACCOUNT,
    output: Path | None = _OUTPUT,
    timeout: float = _TIMEOUT,
) -> None:
    """Every suppression entry of the account as CSV (every SPEC §8 field)."""
    with _client(timeout) as client:
        csv_lines = lists.export_rows(client, account)
        if output is None:
            sys.stdout.writelines(csv_lines)
            return
        try:
            with output.open("w", encoding="utf-8", newline="") as handle:
                handle.writelines(csv_lines)
        except OSError as exc:
            raise fail(f"cannot write {output}: {exc.strerror}") from exc


def stats(
    account: str | None = typer.Option(None, "--account", "-a", help="One account (default all)."),
    timeout: float = _TIMEOUT,
) -> None:
    """Active entries per list, and how fresh the view is, as JSON."""
    with _client(timeout, keep_details=False) as client:
        typer.echo(orjson.dumps(lists.stats(client, account), option=orjson.OPT_INDENT_2).decode())


# --- import ------------------------------------------------------------------------------


def import_(
    file: str = typer.Argument(..., help="The file to import; - is stdin."),
    account: str = _ACCOUNT,
    manual: bool = typer.Option(
        False, "--manual", help="One address a line (manual entry) instead of the CSV format."
    ),
    notes: str | None = typer.Option(None, "--notes", help="Notes for every row (--manual)."),
    timeout: float = typer.Option(
        300.0,
        "--timeout",
        help="Seconds to wait for written rows to show: while the window is full, and after "
        "the last row.",
    ),
) -> None:
    """Import a block list (SPEC §8): added / already present / invalid rows with line numbers.

    The file is streamed (any length up to ``MAX_STREAM_ROWS`` rows) and written in
    batches as it is read, never more than ``SUPPRESSOR_IMPORT_WINDOW_ROWS`` rows ahead of
    what senders see (bounces on the same worker do not queue behind the whole file), so
    the progress bar's rate and ETA are the import's own.
    """
    if notes and not manual:
        raise fail("--notes goes with --manual; a CSV carries notes in its second column", 2)
    with _opened(file) as (stream, size):
        read = _Counted(stream)
        try:
            items = stream_manual(read, notes) if manual else stream_import_csv(read)
            with (
                _client(timeout, build=import_client) as client,
                _writer(client) as writer,
                _import_bar(size) as bar,
            ):
                report = import_stream(
                    writer,
                    account,
                    items,
                    wait=timeout,
                    on_rows=lambda n: bar.rows(n, read.size),
                    on_visible=bar.visible,
                    partition_of=row_lanes(client.settings, account),
                    record_bytes=record_bound(client.settings),
                    window=client.settings.import_window_rows,
                )
        except InputError as exc:
            raise fail(
                f"{exc.code}: {exc.message} (rows before it were imported; fix the file and "
                "import it again: rows already present are skipped)"
            ) from exc
    _print_report(report)
    if report.not_visible:
        raise fail(
            f"timed out after {timeout:.0f}s: {report.not_visible} rows written but not "
            "visible yet (is a worker running?)",
            TIMED_OUT,
        )


def _print_report(report: StreamedImport) -> None:
    typer.echo(
        f"{report.added} added, {report.already_present} already present, "
        f"{report.invalid} invalid; {report.visible} visible"
    )
    for bad in report.invalid_rows:
        typer.echo(f"  line {bad.line}: {bad.code}: {bad.message}: {bad.raw[:80]}")
    if report.invalid > len(report.invalid_rows):
        typer.echo(f"  ... and {report.invalid - len(report.invalid_rows)} more invalid rows")
    for row in report.present_rows:
        typer.echo(f"  line {row.line}: already present: {row.email}")
    if report.already_present > len(report.present_rows):
        more = report.already_present - len(report.present_rows)
        typer.echo(f"  ... and {more} more already present rows")


@contextmanager
def _opened(path: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """The file (or stdin) as a binary stream, with its size when it has one."""
    if path == "-":
        yield sys.stdin.buffer, None
        return
    try:
        stream = Path(path).open("rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc
    with stream:
        yield stream, os.fstat(stream.fileno()).st_size


class _Counted:
    """A binary stream as 1 MiB chunks, counting the bytes read (the progress bar's position)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._stream.read(1 << 20):
            self.size += len(chunk)
            yield chunk


class _ImportBar:
    """The import's progress: bytes read (for the ETA), rows read, rows/s, rows visible."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task
        self._rows = 0
        self._visible = 0
        self._started = time.monotonic()

    def rows(self, n: int, position: int) -> None:
        self._rows += n
        self._show(position)

    def visible(self, n: int) -> None:
        self._visible += n
        self._show(None)

    def _show(self, position: int | None) -> None:
        rate = self._rows / max(time.monotonic() - self._started, 1e-6)
        fields = {
            "rows": f"{self._rows:,}",
            "rate": f"{rate:,.0f}",
            "shown": f"{self._visible:,}",
        }
        if position is None:
            self._bar.update(self._task, **fields)
        else:
            self._bar.update(self._task, completed=position, **fields)


@contextmanager
def _import_bar(size: int | None) -> Iterator[_ImportBar]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows  {task.fields[rate]} rows/s"),
        TextColumn("{task.fields[shown]} visible"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("importing", total=size, rows="0", rate="-", shown="0")
        yield _ImportBar(bar, task)


# --- writes --------------------------------------------------------------------------------


@domain_app.command("block")
def domain_block(
    *,
    domain: str = typer.Argument(..., help="A domain, or *.domain for every subdomain."),
    account: str = _ACCOUNT,
    send: bool = typer.Option(True, "--send/--no-send", help="Block sending to it."),
    collection: bool = typer.Option(
        False, "--collection/--no-collection", help="Drop storefront, pop-up and API events."
    ),
    notes: str | None = _NOTES,
    timeout: float = _TIMEOUT,
) -> None:
    """Set the domain's rule (send block by default; --collection adds the collection block)."""
    cmd = lists.make_command(
        CommandType.DOMAIN_RULE_SET,
        account,
        domain=domain,
        send_block=send,
        collection_block=collection,
        notes=notes,
    )
    _write(cmd, timeout, f"blocked (send={send}, collection={collection})")


def _simple(kind: CommandType, field: str, done: str) -> Callable[..., None]:
    """A write command taking one subject argument (domain, address or pattern)."""

    def command(
        subject: str = typer.Argument(..., metavar=field.upper(), help=f"The {field}."),
        account: str = _ACCOUNT,
        notes: str | None = _NOTES,
        timeout: float = _TIMEOUT,
    ) -> None:
        said = done
        if kind is CommandType.ADDRESS_BLOCK and account == PLATFORM_ACCOUNT:
            said = "blocked platform-wide (reason 99)"
        _write(lists.make_command(kind, account, **{field: subject}, notes=notes), timeout, said)

    command.__doc__ = f"{done.capitalize()}: {kind.value} for one {field}."
    return command


for _app, _name, _kind, _field, _done in (
    (domain_app, "unblock", CommandType.DOMAIN_RULE_REMOVE, "domain", "rule removed"),
    (domain_app, "allow", CommandType.DOMAIN_ALLOW_ADD, "domain", "on the domain allow list"),
    (
        domain_app,
        "disallow",
        CommandType.DOMAIN_ALLOW_REMOVE,
        "domain",
        "off the domain allow list",
    ),
    (address_app, "block", CommandType.ADDRESS_BLOCK, "email", "blocked (reason 2)"),
    (address_app, "unblock", CommandType.ADDRESS_UNBLOCK, "email", "unblocked"),
    (address_app, "allow", CommandType.ADDRESS_ALLOW, "email", "allowed past domain rules"),
    (address_app, "disallow", CommandType.ADDRESS_DISALLOW, "email", "address allow removed"),
    (uri_app, "add", CommandType.URI_ADD, "pattern", "added to the URI allowlist"),
    (uri_app, "remove", CommandType.URI_REMOVE, "pattern", "removed from the URI allowlist"),
):
    _app.command(_name)(_simple(_kind, _field, _done))


def _allowlist(kind: CommandType, done: str) -> Callable[..., None]:
    def command(
        addresses: list[str] = _ONE_ADDRESS,
        account: str = _ACCOUNT,
        notes: str | None = _NOTES,
        timeout: float = _TIMEOUT,
    ) -> None:
        address = _one(addresses, f"allowlist {kind.value.split('.')[1]}")
        cmd = lists.make_command(kind, account, email=address, notes=notes)
        _write(cmd, timeout, done)

    command.__doc__ = f"{done.capitalize()} (one address at a time, by design)."
    return command


allowlist_app.command("add")(_allowlist(CommandType.ALLOWLIST_ADD, "on the recipient allowlist"))
allowlist_app.command("remove")(
    _allowlist(CommandType.ALLOWLIST_REMOVE, "off the recipient allowlist")
)


@account_app.command("create")
def account_create(
    account: str = typer.Argument(..., help="The new account's id."),
    timeout: float = _TIMEOUT,
) -> None:
    """Create an account: it starts with the default domain pool.

    An account that exists is said at once and nothing is written (the worker would take
    the create as a no-op, which shows nothing to wait for): one that holds lists, or one
    the keyed stage created whose lists were all removed since (``account_state``).
    """
    with _client(timeout, keep_details=False) as client:
        held = client.view.account_lists(account)
        settings = client.settings
    if held is not None and not held.is_empty():
        typer.echo(
            f"{account}: already exists ({len(held.domain_rules)} domain rules, "
            f"{len(held.domain_allow)} allowed domains); nothing written"
        )
        return
    created = account_state.created_at(settings, account, timeout=min(timeout, 10.0))
    if created is not None:
        typer.echo(
            f"{account}: already exists (created {format_timestamp(created)}; no domain "
            "rules or allowed domains now); nothing written"
        )
        return
    _write(lists.make_command(CommandType.ACCOUNT_CREATE, account), timeout, "created")


@domain_app.command("list")
def domain_list(account: str = _ACCOUNT, timeout: float = _TIMEOUT) -> None:
    """The account's domain rules and domain allow list."""
    with _client(timeout, keep_details=False) as client:
        held = lists.domain_lists(client, account)
    for rule in held["rules"]:
        flags = "+".join(f for f in ("send", "collection") if rule[f"{f}_block"])
        typer.echo(f"rule   {rule['domain']}  {flags}  reason {rule['reason']}")
    for pattern in held["allow"]:
        typer.echo(f"allow  {pattern}")


@uri_app.command("list")
def uri_list(account: str = _ACCOUNT, timeout: float = _TIMEOUT) -> None:
    """The account's URI allowlist patterns."""
    with _client(timeout, keep_details=False) as client:
        for pattern in lists.uri_patterns(client, account):
            typer.echo(pattern)


@uri_app.command("check")
def uri_check(
    file: str = typer.Argument(..., help="A message body (text or HTML); - is stdin."),
    account: str = _ACCOUNT,
    html: bool | None = typer.Option(None, "--html/--text", help="Body kind (default: guess)."),
    timeout: float = _TIMEOUT,
) -> None:
    """Check a body's links against the URI allowlist; exit 1 when a link is not allowed."""
    body = _read(file).decode("utf-8", "replace")
    with _client(timeout, keep_details=False) as client:
        try:
            verdict = lists.check_uri(client, account, body, html)
        except InputError as exc:
            raise fail(f"{exc.code}: {exc.message}") from exc
    if verdict.allowed:
        typer.echo("allowed")
        return
    typer.echo(f"rejected: {len(verdict.offending)} links match no pattern")
    for link in verdict.offending:
        typer.echo(f"  {link}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the list tools to the ``suppressor`` command."""
    app.command()(check)
    app.command("filter")(filter_)
    app.command("import")(import_)
    app.command()(export)
    app.command()(stats)
    for name, sub in (
        ("domain", domain_app),
        ("address", address_app),
        ("allowlist", allowlist_app),
        ("uri", uri_app),
        ("account", account_app),
    ):
        app.add_typer(sub, name=name)
