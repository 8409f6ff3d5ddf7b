"""Values in records and events: RFC 3339 times, and bounded words for what a value was.

Shared by the sender's record codec and the worker's event parser, so both read a time
the same way and an error message never grows with hostile input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from suppressor_client.errors import SchemaError

__all__ = ["brief", "json_type", "parse_timestamp"]

_TIMESTAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_JSON_TYPES = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def parse_timestamp(value: object, path: str = "occurred_at") -> datetime:
    """An RFC 3339 date-time with ``Z`` or an offset, as an aware UTC ``datetime``.

    ``datetime.fromisoformat`` alone accepts much more than RFC 3339 (dates alone, naive
    times, week dates), hence the pattern first.
    """
    if type(value) is not str:
        raise SchemaError(f"{path} must be an RFC 3339 string, not {json_type(value)}", path=path)
    if len(value) > 40 or _TIMESTAMP.fullmatch(value) is None:
        raise SchemaError(
            f"{path} is not an RFC 3339 date-time with a Z or an offset: {brief(value)}", path=path
        )
    try:
        return datetime.fromisoformat(value.upper()).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise SchemaError(f"{path} is not a valid date-time: {error}", path=path) from None


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def brief(value: object, limit: int = 80) -> str:
    """A bounded ``repr``: hostile input must not bloat a DLQ record."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
