"""Times as whole microseconds since the Unix epoch: how the worker's own records hold them.

The ops records and the stored address states carry a time as one integer, which is
exact (a ``datetime`` has microseconds, no finer) and cheap to write and read back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["from_micros", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)  # built once: ``timedelta(...)`` parses its keywords


def to_micros(moment: datetime) -> int:
    """Microseconds from the epoch to an aware ``moment``."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC time ``micros`` after the epoch (OverflowError past year 9999)."""
    return _EPOCH + _MICROSECOND * micros
