"""``suppressor classify``: bounce and complaint events as JSON lines in, one verdict per line out.

A support engineer pastes a provider's webhook payloads (or a day of MTA bounces) and
sees what the worker would decide and why, without a broker. A bad line is reported on
its own output line and the run goes on, so one typo does not hide a thousand verdicts.

Input lines are delivery events as on the ``delivery-events`` topic, the bounce fields
(``smtp_status``, ``smtp_code``, ``diagnostic``, ``provider``, ``provider_type``,
``provider_subtype``) at the top level and checked as the worker checks them. A missing
``type`` reads as ``bounce``; other fields, a nested ``bounce`` object included, are ignored.

A line may also be a provider's raw webhook payload (an SES notification or its SNS
envelope, a SendGrid or SparkPost batch, a Mailgun or Postmark body): it is mapped as
the webhook routes map it, and each event it holds gets its own output line (with
``provider``, ``type`` and ``email``). A line that is neither, such as an object with no
delivery-event field at all, is an error line (``not_understood``), never ``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO, TypeVar

import orjson
from suppressor_client.errors import BadJson, InputError, SchemaError, TooLarge
from suppressor_client.values import json_type

from workers.domain.classify import Classification, classify, classify_feedback
from workers.domain.events import bounce_details
from workers.ingest.webhooks.detect import map_any
from workers.ingest.webhooks.mapping import Mapped

__all__ = ["MAX_LINE_LENGTH", "run_classify"]

MAX_LINE_LENGTH = 1_000_000
"""Characters per input line; a longer line is refused, not parsed."""

_T = TypeVar("_T", int, str)

_EVENT_FIELDS = frozenset(
    {
        "type",
        "smtp_status",
        "smtp_code",
        "diagnostic",
        "provider",
        "provider_type",
        "provider_subtype",
        "feedback_type",
    }
)
"""A line with none of these is not a delivery event (it may be a provider payload)."""
_TYPE_OUTCOMES = {
    "unsubscribe": ("unsubscribe", "type:unsubscribe"),
    "list_unsubscribe": ("unsubscribe", "type:list_unsubscribe"),
    "delivered": ("ignored", "type:delivered"),
    "abuse": ("complaint", "type:abuse"),
}
"""Event types that are not classified by evidence: what the worker makes of them."""


class NotUnderstoodLine(InputError):
    """Neither a delivery event nor a payload of a provider we know."""

    code = "not_understood"


def run_classify(lines: Iterable[str], out: TextIO) -> int:
    """Classify each non-blank line; 0 when every line was understood, else 1."""
    status = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows = _classify_line(line, number)
        except InputError as error:
            rows = [{"line": number, "error": error.as_dict()}]
            status = 1
        for row in rows:
            out.write(orjson.dumps(row).decode("utf-8"))
            out.write("\n")
    return status


def _classify_line(line: str, number: int) -> list[dict[str, object]]:
    """The output rows of one line: one, or one per event of a provider payload."""
    value = _load(line)
    mapped = map_any(value)
    if mapped is not None:
        return _provider_rows(number, *mapped)
    if not isinstance(value, dict):
        raise SchemaError(f"a record is a JSON object, not {json_type(value)}", path="")
    _expect(value, "event_id", str)
    if not _EVENT_FIELDS & value.keys():
        raise NotUnderstoodLine(
            "neither a delivery event (no type, smtp_status, smtp_code, diagnostic, provider "
            "or feedback_type field) nor a webhook payload of SES, SendGrid, Mailgun, Postmark "
            "or SparkPost; paste the provider's body as it was posted, one per line"
        )
    result = _classify_record(value)
    payload: dict[str, object] = {
        "line": number,
        "outcome": result.outcome.value,
        "evidence": list(result.evidence),
    }
    event_id = value.get("event_id")
    if isinstance(event_id, str):
        payload["event_id"] = event_id
    return [payload]


def _provider_rows(number: int, provider: str, mapped: Mapped) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for event in mapped.events:
        kind = str(event["type"])
        if kind in _TYPE_OUTCOMES:
            outcome, evidence = _TYPE_OUTCOMES[kind]
            verdict: tuple[str, list[str]] = (outcome, [evidence])
        else:
            result = _classify_record(event)
            verdict = (result.outcome.value, list(result.evidence))
        rows.append(
            {
                "line": number,
                "provider": provider,
                "type": kind,
                "email": event["email"],
                "outcome": verdict[0],
                "evidence": verdict[1],
                "event_id": event["event_id"],
            }
        )
    rows.extend(
        {
            "line": number,
            "provider": provider,
            "type": kind,
            "outcome": "ignored",
            "evidence": [f"provider:{provider}:{kind} (not a delivery event)"],
        }
        for kind in mapped.skipped
    )
    return rows


def _load(line: str) -> object:
    if len(line) > MAX_LINE_LENGTH:
        raise TooLarge(f"line is longer than {MAX_LINE_LENGTH} characters")
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise BadJson(f"not valid JSON: {error}") from error


def _classify_record(record: Mapping[str, Any]) -> Classification:
    kind = _expect(record, "type", str) or "bounce"
    if kind == "complaint":
        return classify_feedback(_expect(record, "feedback_type", str))
    if kind != "bounce":
        raise SchemaError(
            f"type {kind!r} is not classified (only 'bounce' and 'complaint')", path="type"
        )
    return classify(bounce_details(dict(record)))


def _expect(fields: Mapping[str, object], name: str, kind: type[_T]) -> _T | None:
    """The field's value when it has the expected JSON type; absent and null are None."""
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    expected = "an integer" if kind is int else "a string"
    raise SchemaError(f"expected {expected} or null, got {json_type(value)}", path=name)
