"""``suppressor mail parse|ingest|serve``: the typer sub-app ``mail`` of the CLI.

``parse PATH...`` prints one JSON line per recipient report (at least ``source``,
``email``, ``kind``, ``outcome``, ``evidence`` and ``event``) and exits 0, or 1 when some
message could not be turned into events (unparsed, unresolved, forged). ``ingest PATH...``
does the same and produces the events and dead letters; ``serve`` runs the SMTP server.
"""

from __future__ import annotations

import signal
import sys
import threading

import typer

from workers.cli.common import fail, load_settings
from workers.ingest.mail.config import mail_config
from workers.ingest.mail.resolve import MailConfig
from workers.settings import Settings, SettingsError

__all__ = ["mail_app"]

mail_app = typer.Typer(
    help="Bounce and complaint mail: parse files, ingest them into Kafka, or serve SMTP.",
    no_args_is_help=True,
)

_PATHS = typer.Argument(
    ..., help="Message files, mbox files or Maildir folders; '-' reads one message from stdin."
)


def _config(settings: Settings) -> MailConfig:
    try:
        return mail_config(settings)
    except SettingsError as exc:
        raise fail(str(exc), 2) from exc


@mail_app.command("parse")
def parse(paths: list[str] = _PATHS) -> None:
    """One JSON line per recipient report of each message; no broker needed."""
    from workers.ingest.mail.run import run_parse
    from workers.ingest.mail.sources import SourceError, read_sources

    config = _config(load_settings())
    try:
        status = run_parse(read_sources(paths), config, sys.stdout)
    except SourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(status)


@mail_app.command("ingest")
def ingest(
    paths: list[str] = _PATHS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the progress and summary."),
) -> None:
    """Parse, then produce the events to delivery-events and the rest to bounce-mail.dlq."""
    import time

    from workers.ingest.mail.kafka_sink import KafkaSink
    from workers.ingest.mail.pipeline import Processed
    from workers.ingest.mail.run import run_ingest
    from workers.ingest.mail.sources import SourceError, count_messages, read_sources

    settings = load_settings()
    config = _config(settings)
    sink = KafkaSink(settings, timeout=settings.mail_ack_timeout.total_seconds())
    pending = []

    def send(processed: Processed) -> None:
        pending.append(sink.send(processed.records))

    started = time.monotonic()
    try:
        summary = run_ingest(
            read_sources(paths),
            config,
            send,
            out=None if quiet else sys.stdout,
            err=sys.stderr,
            total=count_messages(paths),
        )
    except SourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        sink.close(timeout=settings.mail_ack_timeout.total_seconds() + 5)
    summary.failed = sum(1 for f in pending if not f.done() or f.exception() is not None)
    for line in summary.lines(time.monotonic() - started):
        typer.echo(line, err=True)
    raise typer.Exit(1 if summary.failed or summary.dead_lettered else 0)


@mail_app.command("serve")
def serve() -> None:
    """Serve SMTP for the bounce domains; 250 only once Kafka has the events, else 451."""
    import logging

    from workers.ingest.mail.server import MailServer

    settings = load_settings()
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    # aiosmtpd logs every connection at INFO; keep its own log for debugging.
    logging.getLogger("mail.log").setLevel(max(level, logging.WARNING))
    try:
        server = MailServer(settings)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if settings.mail_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.mail_metrics_port, addr="0.0.0.0")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_args: stop.set())
    try:
        server.start()
    except OSError as exc:
        typer.echo(f"error: cannot listen on {settings.mail_host}:{settings.mail_port}: {exc}",
                   err=True)  # fmt: skip
        raise typer.Exit(1) from exc
    domains = ", ".join(sorted(server.domains))
    tls = "STARTTLS on" if server.tls is not None else "no STARTTLS"
    typer.echo(f"SMTP on {settings.mail_host}:{settings.mail_port} for {domains} ({tls}); "
               f"events to {settings.topic('delivery-events')}", err=True)  # fmt: skip
    try:
        stop.wait()
    finally:
        server.stop()
