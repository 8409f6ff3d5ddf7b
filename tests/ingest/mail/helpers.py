"""Fixture access for the mail tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    """The raw bytes of one fixture message."""
    return (FIXTURES / name).read_bytes()
