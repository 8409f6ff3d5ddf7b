"""One raw mail -> its reports' resolutions and the Kafka records they make. Pure.

Shared by ``suppressor mail parse`` (which prints), ``mail ingest`` and ``mail serve``
(which produce): events go to ``delivery-events`` keyed by (account, address) as the
worker keys its address table; a message with any report that cannot become an event
(unparsed, unresolved, forged) also goes whole to ``bounce-mail.dlq``, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from workers.ingest.mail.dlq import encode_mail_dlq
from workers.ingest.mail.parse import parse_message
from workers.ingest.mail.reports import Kind, MailReport
from workers.ingest.mail.resolve import MailConfig, Resolution, resolve
from workers.kafka.topics import BOUNCE_MAIL_DLQ, DELIVERY_EVENTS

__all__ = ["DELIVERY_EVENTS", "BOUNCE_MAIL_DLQ", "Outgoing", "Processed", "output_line",
           "process_message"]  # fmt: skip

_KEY_SEP = "\x1f"  # the worker's address key separator (workers/stream/handlers.address_key)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record to produce; ``topic`` is the product's name, without the settings' prefix."""

    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Processed:
    """What one message gave."""

    source: str
    resolutions: tuple[Resolution, ...]
    records: tuple[Outgoing, ...]

    @property
    def understood(self) -> bool:
        """Every report became an event or was rightly ignored (nothing for the DLQ)."""
        return not any(r.dead_letter for r in self.resolutions)

    @property
    def events(self) -> int:
        return sum(1 for r in self.records if r.topic == DELIVERY_EVENTS)


def process_message(
    raw: bytes,
    source: str,
    config: MailConfig,
    *,
    now: datetime,
    envelope_recipients: Sequence[str] = (),
) -> Processed:
    """Parse, resolve and encode one message; a failure of our own dead-letters it whole."""
    reports = parse_message(raw)
    try:
        resolutions = tuple(
            resolve(report, config, now=now, envelope_recipients=envelope_recipients)
            for report in reports
        )
    except Exception as exc:  # a bug of ours must not lose the mail (nor 5xx the sender)
        report = MailReport(email=None, kind=Kind.UNPARSED, message_key=reports[0].message_key,
                            message_id=reports[0].message_id,
                            evidence=f"internal error: {type(exc).__name__}: {exc}")  # fmt: skip
        resolutions = (
            Resolution(report, Kind.UNPARSED.value, None, None, None, None, "unknown", (), None,
                       {"code": "internal_error", "message": report.evidence}),
        )  # fmt: skip
    records: list[Outgoing] = []
    for resolution in resolutions:
        event = resolution.event
        if event is not None:
            key = f"{event['account_id']}{_KEY_SEP}{event['email']}".encode()
            records.append(Outgoing(DELIVERY_EVENTS, key, orjson.dumps(event)))
    failed = [r for r in resolutions if r.error is not None]
    if failed:
        first = failed[0].error or {}
        message = "; ".join(
            f"{r.error['code']}: {r.error['message']}" for r in failed if r.error is not None
        )
        value = encode_mail_dlq(
            raw,
            source=source,
            code=first.get("code", "unparsed"),
            message=message,
            message_id=reports[0].message_id,
            failed_at=now,
            recipients=[r.email for r in failed if r.email],
        )
        records.append(Outgoing(BOUNCE_MAIL_DLQ, reports[0].message_key.encode()[:1000], value))
    return Processed(source, resolutions, tuple(records))


def output_line(source: str, resolution: Resolution) -> dict[str, Any]:
    """One JSON line of ``suppressor mail parse``: the contract operators and checks read."""
    report = resolution.report
    return {
        "source": source,
        "email": resolution.email,
        "kind": resolution.kind,
        "outcome": resolution.outcome,
        "evidence": report.evidence,
        "classification": list(resolution.classification),
        "account_id": resolution.account_id,
        "account_from": resolution.account_from,
        "delivery_id": resolution.delivery_id,
        "smtp_status": report.smtp_status,
        "smtp_code": report.smtp_code,
        "diagnostic": report.diagnostic,
        "remote_mta": report.remote_mta,
        "feedback_type": report.feedback_type,
        "mta_family": report.mta_family,
        "message_id": report.message_id,
        "event": resolution.event,
        "error": resolution.error,
    }
