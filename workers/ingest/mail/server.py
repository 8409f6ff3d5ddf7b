"""``suppressor mail serve``: an SMTP server for the bounce domains (aiosmtpd).

- Mail only for the configured bounce domains: any other RCPT domain is refused with
  ``550 5.7.1 relay denied`` (it is never a relay). A recipient of the VERP template's
  shape whose tag does not verify is refused with ``550 5.7.1`` as forged.
- Bounded message size (SIZE extension, ``552`` above it) and connections (``421`` above
  the bound); STARTTLS when a certificate and key are configured.
- ``250`` only after Kafka acknowledged every record the message made (events and/or its
  DLQ record); else ``451 4.3.0`` so the sending MTA retries: nothing is lost, and a
  retried message gives the same event ids. The wait for the acks (room in the producer
  queue included) is bounded by ``SUPPRESSOR_MAIL_ACK_TIMEOUT``.
- Parsing (up to the size bound) and queueing the records on the producer block, so
  both run in a pool of threads, one per connection the gate admits; the wait for the
  acks holds no thread (the loop awaits it), so a thread is busy only while a message is
  parsed or the producer's queue is full, and the bound counts from DATA, a wait for a
  thread included: the event loop keeps serving every other connection meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from workers import metrics
from workers.ingest.mail.config import bounce_domains, mail_config
from workers.ingest.mail.kafka_sink import KafkaSink
from workers.ingest.mail.pipeline import Processed, process_message
from workers.ingest.mail.resolve import MailConfig
from workers.settings import Settings, SettingsError

__all__ = ["BounceHandler", "MailServer", "tls_context"]

log = logging.getLogger("suppressor.mail")


class _Gate:
    """Counts open connections against a bound."""

    def __init__(self, limit: int) -> None:
        self.limit, self.open = limit, 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.open >= self.limit:
                return False
            self.open += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.open = max(0, self.open - 1)


class _BoundedSMTP(SMTP):
    """aiosmtpd's SMTP session, refusing connections beyond the gate's bound with 421."""

    def __init__(self, handler: Any, *, gate: _Gate, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate, self._counted, self._refused = gate, False, False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._counted and not self._refused:  # not the STARTTLS re-entry
            if not self._gate.enter():
                self._refused = True
                metrics.MAIL_REFUSED.labels("too_many_connections").inc()
                write = getattr(transport, "write", None)
                if write is not None:
                    write(b"421 4.7.0 Too many connections, try again later\r\n")
                transport.close()
                return
            self._counted = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self._counted:
            self._counted = False
            self._gate.leave()
        super().connection_lost(error)


class BounceHandler:
    """The aiosmtpd handler: RCPT checks, then parse, produce, and answer after the ack.

    The blocking work runs in ``pool``; the handler only awaits it.
    """

    def __init__(
        self,
        config: MailConfig,
        domains: frozenset[str],
        sink: KafkaSink,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.config, self.domains, self.sink, self.pool = config, domains, sink, pool

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        domain = address.rpartition("@")[2].strip().lower().rstrip(".")
        if domain not in self.domains:
            metrics.MAIL_REFUSED.labels("relay").inc()
            return "550 5.7.1 Relay denied: this server takes mail for its bounce domains only"
        if self.config.verp is not None:
            found = self.config.verp.match(address)
            if found is not None and not found.valid:
                metrics.MAIL_REFUSED.labels("forged_verp").inc()
                return "550 5.7.1 Forged bounce address: its VERP tag does not verify"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        deadline = time.monotonic() + self.sink.timeout  # from DATA on: a wait for a thread counts
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        metrics.MAIL_RECEIVED.inc()
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        loop = asyncio.get_running_loop()
        processed = await loop.run_in_executor(
            self.pool, self._parse, raw, peer, tuple(envelope.rcpt_tos)
        )
        try:  # the thread only queues the records (a full queue waits until the deadline)
            acked = await loop.run_in_executor(
                self.pool, partial(self.sink.send, processed.records, deadline=deadline)
            )
            await asyncio.wait_for(
                asyncio.wrap_future(acked), timeout=max(0.0, deadline - time.monotonic())
            )
        except Exception as exc:  # broker down, timed out, refused: the sender retries
            metrics.MAIL_REFUSED.labels("kafka_unavailable").inc()
            log.warning("451 for a message from %s: Kafka did not acknowledge: %s", peer, exc)
            return "451 4.3.0 Temporary failure: events not stored, try again later"
        for resolution in processed.resolutions:
            metrics.MAIL_REPORTS.labels(resolution.kind, resolution.outcome).inc()
        if processed.understood:
            metrics.MAIL_PARSED.inc()
        else:
            first = next(r.error for r in processed.resolutions if r.error is not None)
            metrics.MAIL_UNRESOLVED.labels(first["code"]).inc()
        return f"250 2.0.0 OK: {processed.events} events stored"

    def _parse(self, raw: bytes, peer: str, recipients: tuple[str, ...]) -> Processed:
        """Runs in the pool: parsing a message of up to the size bound is CPU work."""
        return process_message(
            raw, f"smtp:{peer}", self.config, now=datetime.now(UTC),
            envelope_recipients=recipients,
        )  # fmt: skip


class _Controller(Controller):
    def __init__(self, handler: BounceHandler, gate: _Gate, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._gate = gate

    def factory(self) -> SMTP:
        return _BoundedSMTP(self.handler, gate=self._gate, **self.SMTP_kwargs)


def tls_context(cert: str, key: str) -> ssl.SSLContext | None:
    """A server context for STARTTLS, or None when no certificate is configured."""
    if not cert.strip() and not key.strip():
        return None
    if not cert.strip() or not key.strip():
        raise SettingsError(
            "STARTTLS needs both SUPPRESSOR_MAIL_TLS_CERT and SUPPRESSOR_MAIL_TLS_KEY"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(f"cannot load the STARTTLS certificate {cert}: {exc}") from exc
    return context


class MailServer:
    """The SMTP server with its Kafka sink, started and stopped as one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = mail_config(settings)
        self.domains = bounce_domains(settings)
        if not self.domains:
            raise SettingsError(
                "no bounce domain: set SUPPRESSOR_MAIL_DOMAINS or SUPPRESSOR_MAIL_VERP_TEMPLATE"
            )
        self.tls = tls_context(settings.mail_tls_cert, settings.mail_tls_key)
        ack = settings.mail_ack_timeout.total_seconds()
        self.sink = KafkaSink(settings, timeout=ack)
        self.pool = ThreadPoolExecutor(settings.mail_max_connections, "mail-data")
        self.handler = BounceHandler(self.config, self.domains, self.sink, self.pool)
        self.gate = _Gate(settings.mail_max_connections)
        self.controller = _Controller(
            self.handler,
            self.gate,
            hostname=settings.mail_host,
            port=settings.mail_port,
            data_size_limit=settings.mail_max_bytes,
            tls_context=self.tls,
            require_starttls=False,
            enable_SMTPUTF8=True,
            ident="suppressor bounce server",
        )

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self.pool.shutdown(wait=True)
        self.sink.close()
