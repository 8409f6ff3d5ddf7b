"""A parsed ``MailReport`` -> its account, delivery, outcome and delivery event. Pure.

The account comes from the VERP return path when the template matches one of the
message's return-path candidates (a tag that does not verify makes the report ``forged``:
refused); else from a configurable header of the returned original message; else from a
configured default account; else the report is ``unresolved`` and goes to the DLQ.

``outcome`` is what ``suppressor classify`` says: the bounce classification for a bounce,
the feedback classification for a complaint, ``ignored`` for what is not a bounce. Event
ids are derived from the message's key (Message-ID, else the hash of its bytes), the
recipient and the event type, so reading one mailbox twice yields the same events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from suppressor_client.errors import InputError
from suppressor_client.types import BounceDetails, Outcome, Stream

from workers.domain.classify import classify, classify_feedback
from workers.domain.events import parse_delivery_event
from workers.ingest.mail.reports import IGNORED_KINDS, Kind, MailReport
from workers.ingest.mail.verp import VerpTemplate

__all__ = [
    "FEEDBACK_EVENT_TYPES",
    "MailConfig",
    "Resolution",
    "event_id",
    "resolve",
]

FEEDBACK_EVENT_TYPES: dict[Outcome, str] = {
    Outcome.COMPLAINT: "complaint",  # reason 6 (feedback loop)
    Outcome.UNSUBSCRIBE: "unsubscribe",  # reason 4 (opt-out reports)
}
"""Delivery event type of a feedback report, by ``classify_feedback``'s outcome."""

ABUSE_DESK_TYPES = frozenset({"fraud", "virus"})
"""Feedback-Types that abuse desks file about a message's content (phishing, malware), not
a recipient's spam button: an ``abuse`` event (reason 3) instead of a complaint."""


@dataclass(frozen=True, slots=True)
class MailConfig:
    """The settings that resolution reads (``Settings`` values, passed in)."""

    verp: VerpTemplate | None = None
    account_header: str = "X-Suppressor-Account"
    delivery_header: str = "X-Suppressor-Delivery"
    default_account: str | None = None
    stream_header: str | None = None  # None: events name no stream


@dataclass(frozen=True, slots=True)
class Resolution:
    """One report with what it means for the product."""

    report: MailReport
    kind: str  # the report's kind, or unresolved / forged
    email: str | None
    account_id: str | None
    delivery_id: str | None
    account_from: str | None  # verp, header, default
    outcome: str
    classification: tuple[str, ...]
    event: dict[str, Any] | None
    error: dict[str, str] | None  # code and message, for the DLQ

    @property
    def dead_letter(self) -> bool:
        """Whether this report goes to the DLQ (not understood, no account, forged)."""
        return self.error is not None


def event_id(message_key: str, email: str, event_type: str) -> str:
    """Deterministic: the same message, recipient and type give the same id."""
    digest = hashlib.sha256(f"{message_key}\n{email}\n{event_type}".encode()).hexdigest()
    return f"mail-{digest[:40]}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _classification(report: MailReport) -> tuple[str, tuple[str, ...]]:
    if report.kind == Kind.BOUNCE:
        details = BounceDetails(
            smtp_status=report.smtp_status,
            smtp_code=report.smtp_code,
            diagnostic=report.diagnostic,
        )
        found = classify(details)
        return found.outcome.value, found.evidence
    if report.kind == Kind.COMPLAINT:
        found = classify_feedback(report.feedback_type)
        return found.outcome.value, found.evidence
    if report.kind in IGNORED_KINDS or report.kind == Kind.DELIVERED:
        return Outcome.IGNORED.value, (f"kind:{report.kind}",)
    return Outcome.UNKNOWN.value, (f"kind:{report.kind}",)


def resolve(
    report: MailReport,
    config: MailConfig,
    *,
    now: datetime,
    envelope_recipients: Sequence[str] = (),
) -> Resolution:
    """What one report means: account, delivery, outcome, event (or the DLQ error)."""
    outcome, evidence = _classification(report)

    def done(
        kind: str,
        email: str | None,
        *,
        account: str | None = None,
        delivery: str | None = None,
        source: str | None = None,
        event: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> Resolution:
        return Resolution(report, kind, email, account, delivery, source, outcome, evidence,
                          event, error)  # fmt: skip

    if report.kind == Kind.UNPARSED:
        return done(report.kind, None, error={"code": "unparsed", "message": report.evidence})
    if report.kind in IGNORED_KINDS:
        return done(report.kind, report.email)
    found = _verp(report, config, envelope_recipients)
    if isinstance(found, str):
        return done(Kind.FORGED.value, report.email,
                    error={"code": "forged_verp", "message": found})  # fmt: skip
    account, delivery, recipient, source = found
    if account is None:
        account = _clean(report.original_header(config.account_header))
        source = "header" if account else None
    if account is None and config.default_account:
        account, source = config.default_account, "default"
    email = report.email or _clean(recipient)
    delivery = (
        _clean(delivery)
        or _clean(report.original_header(config.delivery_header))
        or _clean(report.envelope_id)
        or _clean(report.original_message_id)
        or f"mail:{report.message_key}"[:200]
    )
    facts: dict[str, Any] = {"account": account, "delivery": delivery, "source": source}
    if account is None or email is None:
        if _no_event_wanted(report, outcome):  # not-spam, a success notice: nothing to lose
            return done(report.kind, email, **facts)
        if account is None:
            message = (
                f"no account: no VERP return path, no {config.account_header} header in the "
                "returned original and no default account"
            )
            return done(Kind.UNRESOLVED.value, email, error={"code": "no_account",
                        "message": message}, **facts)  # fmt: skip
        message = "the recipient is redacted or missing and the return path does not name it"
        return done(Kind.UNRESOLVED.value, email,
                    error={"code": "no_recipient", "message": message}, **facts)  # fmt: skip
    stream = _stream(report, config.stream_header)
    event = _event(
        report, outcome, account=account, email=email, delivery=delivery, stream=stream, now=now
    )
    if event is not None:
        try:
            parse_delivery_event(orjson.dumps(event))
        except InputError as error:
            return done(Kind.UNRESOLVED.value, email, error=error.as_dict(), **facts)
    return done(report.kind, email, event=event, **facts)


def _verp(
    report: MailReport, config: MailConfig, envelope_recipients: Sequence[str]
) -> tuple[str | None, str | None, str | None, str | None] | str:
    """(account, delivery, recipient, "verp") from the first VERP path, or why it is forged."""
    if config.verp is None:
        return None, None, None, None
    for candidate in (*envelope_recipients, *report.verp_candidates):
        found = config.verp.match(candidate)
        if found is None:
            continue
        if not found.valid:
            return f"the VERP tag of {candidate} does not verify: refused as forged"
        return found.account, found.delivery, found.recipient, "verp"
    return None, None, None, None


def _no_event_wanted(report: MailReport, outcome: str) -> bool:
    """Reports that change nothing for a recipient: never dead-lettered for a missing account."""
    if report.kind == Kind.DELIVERED:
        return True
    return report.kind == Kind.COMPLAINT and outcome == Outcome.IGNORED.value


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().strip("<>").strip()
    return text[:200] or None


def _event(
    report: MailReport,
    outcome: str,
    *,
    account: str,
    email: str,
    delivery: str,
    stream: str | None,
    now: datetime,
) -> dict[str, Any] | None:
    when = _iso(report.occurred_at or now)
    if report.kind == Kind.BOUNCE:
        event: dict[str, Any] = {"type": "bounce"}
        if report.smtp_status is not None:
            event["smtp_status"] = report.smtp_status
        if report.smtp_code is not None:
            event["smtp_code"] = report.smtp_code
        if report.diagnostic is not None:
            event["diagnostic"] = report.diagnostic[:10_000]
    elif report.kind == Kind.COMPLAINT:
        kind = FEEDBACK_EVENT_TYPES.get(Outcome(outcome))
        if kind is None:  # not-spam, auth-failure: nothing to do for the recipient
            return None
        if kind == "complaint" and report.feedback_type in ABUSE_DESK_TYPES:
            kind = "abuse"
        event = {"type": kind}
        if kind == "complaint" and report.feedback_type is not None:
            event["feedback_type"] = report.feedback_type
    elif report.kind == Kind.DELIVERED:
        event = {"type": "delivered"}
    else:
        return None
    if stream is not None:
        event["stream"] = stream
    return {
        "event_id": event_id(report.message_key, email, event["type"]),
        "account_id": account,
        "occurred_at": when,
        "email": email,
        "delivery_id": delivery,
        **event,
    }


_STREAM_NAMES = frozenset(s.value for s in Stream)


def _stream(report: MailReport, header: str | None) -> str | None:
    """The stream the returned original's header names, if it names one we know."""
    if header is None:
        return None
    value = (report.original_header(header) or "").strip().lower()
    return value if value in _STREAM_NAMES else None
