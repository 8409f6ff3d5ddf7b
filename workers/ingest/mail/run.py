"""``suppressor mail parse`` and ``mail ingest``: files, mboxes, Maildirs -> lines, events.

``parse`` prints one JSON line per recipient report and touches no broker. ``ingest``
does the same work and produces the events to ``delivery-events`` and every message it
could not turn into events to ``bounce-mail.dlq``, with a progress line (count, rate,
ETA) on stderr and a summary at the end. Event ids are deterministic, so ingesting a
mailbox twice changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TextIO

import orjson

from workers.ingest.mail.pipeline import Processed, output_line, process_message
from workers.ingest.mail.resolve import MailConfig
from workers.ingest.mail.sources import Message

__all__ = ["IngestSummary", "Progress", "run_ingest", "run_parse"]


def _write(out: TextIO, processed: Processed) -> None:
    for resolution in processed.resolutions:
        out.write(orjson.dumps(output_line(processed.source, resolution)).decode("utf-8"))
        out.write("\n")


def run_parse(
    messages: Iterable[Message],
    config: MailConfig,
    out: TextIO,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Print every report; 0 when every message was understood, else 1."""
    status = 0
    for message in messages:
        processed = process_message(message.raw, message.source, config, now=now())
        _write(out, processed)
        if not processed.understood:
            status = 1
    return status


class Progress:
    """A one-line progress display: count, rate and ETA, redrawn at most twice a second."""

    def __init__(self, err: TextIO, total: int | None, enabled: bool = True) -> None:
        self.err, self.total, self.enabled = err, total, enabled
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, done: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self._drawn < 0.5:
            return
        self._drawn = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        line = f"\r{done}"
        if self.total:
            line += f"/{self.total} messages ({100 * done / self.total:.0f}%)"
            if rate > 0 and not final:
                line += f", ETA {max(0.0, (self.total - done) / rate):.0f}s"
        else:
            line += " messages"
        line += f", {rate:.0f}/s"
        self.err.write(line + ("\n" if final else ""))
        self.err.flush()


class IngestSummary:
    """Counts of one ingest run."""

    def __init__(self) -> None:
        self.messages = 0
        self.events = 0
        self.dead_lettered = 0
        self.failed = 0  # messages whose records the broker did not acknowledge
        self.kinds: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def lines(self, seconds: float) -> list[str]:
        rate = self.messages / seconds if seconds > 0 else 0.0
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items()))
        out = [
            f"{self.messages} messages in {seconds:.1f}s ({rate:.0f}/s): {kinds or 'no reports'}",
            f"{self.events} events produced to delivery-events; "
            f"{self.dead_lettered} messages to bounce-mail.dlq",
        ]
        if self.errors:
            out.append("dead-lettered because: " + ", ".join(
                f"{code} {n}" for code, n in sorted(self.errors.items())))  # fmt: skip
        if self.failed:
            out.append(f"error: {self.failed} messages were not acknowledged by the broker")
        return out


def run_ingest(
    messages: Iterable[Message],
    config: MailConfig,
    send: Callable[[Processed], None],
    *,
    out: TextIO | None,
    err: TextIO,
    total: int | None,
    progress: bool = True,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> IngestSummary:
    """Process and send every message; ``send`` produces its records (and records failures)."""
    summary = IngestSummary()
    meter = Progress(err, total, enabled=progress)
    for message in messages:
        processed = process_message(message.raw, message.source, config, now=now())
        if out is not None:
            _write(out, processed)
        send(processed)
        summary.messages += 1
        summary.events += processed.events
        summary.kinds.update(r.kind for r in processed.resolutions)
        if not processed.understood:
            summary.dead_lettered += 1
            first = next(r.error for r in processed.resolutions if r.error is not None)
            summary.errors[first["code"]] += 1
        meter.update(summary.messages)
    meter.update(summary.messages, final=True)
    return summary
