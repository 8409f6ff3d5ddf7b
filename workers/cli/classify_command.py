"""``suppressor classify``: bounce and complaint events as JSON lines in, one verdict per line out.

A support engineer pastes a provider's webhook payloads (or a day of MTA bounces) and
sees what the worker would decide and why, without a broker. A bad line is reported on
its own output line and the run goes on, so one typo does not hide a thousand verdicts.

Input lines are delivery events as on the ``delivery-events`` topic, the bounce fields
(``smtp_status``, ``smtp_code``, ``diagnostic``, ``provider``, ``provider_type``,
``provider_subtype``) at the top level and checked as the worker checks them. A missing
``type`` reads as ``bounce``; other fields, a nested ``bounce`` object included, are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO, TypeVar

import orjson

from workers.domain.classify import Classification, classify, classify_feedback
from workers.domain.errors import InputError, SchemaError
from workers.domain.events import bounce_details, json_type, load_object

__all__ = ["MAX_LINE_LENGTH", "run_classify"]

MAX_LINE_LENGTH = 1_000_000
"""Characters per input line; a longer line is refused, not parsed."""

_T = TypeVar("_T", int, str)


def run_classify(lines: Iterable[str], out: TextIO) -> int:
    """Classify each non-blank line; 0 when every line was understood, else 1."""
    status = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        payload: dict[str, object] = {"line": number}
        try:
            record = _parse(line)
            result = _classify_record(record)
        except InputError as error:
            payload["error"] = error.as_dict()
            status = 1
        else:
            payload["outcome"] = result.outcome.value
            payload["evidence"] = list(result.evidence)
            event_id = record.get("event_id")
            if isinstance(event_id, str):
                payload["event_id"] = event_id
        out.write(orjson.dumps(payload).decode("utf-8"))
        out.write("\n")
    return status


def _parse(line: str) -> dict[str, object]:
    record: dict[str, object] = load_object(line, MAX_LINE_LENGTH, root_path="")
    _expect(record, "event_id", str)
    return record


def _classify_record(record: dict[str, object]) -> Classification:
    kind = _expect(record, "type", str) or "bounce"
    if kind == "complaint":
        return classify_feedback(_expect(record, "feedback_type", str))
    if kind != "bounce":
        raise SchemaError(
            f"type {kind!r} is not classified (only 'bounce' and 'complaint')", path="type"
        )
    return classify(bounce_details(record))


def _expect(fields: Mapping[str, object], name: str, kind: type[_T]) -> _T | None:
    """The field's value when it has the expected JSON type; absent and null are None."""
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    expected = "an integer" if kind is int else "a string"
    raise SchemaError(f"expected {expected} or null, got {json_type(value)}", path=name)
