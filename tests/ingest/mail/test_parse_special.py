"""Messages that are not plain bounces: complaints, delays, auto-replies, receipts, junk."""

from __future__ import annotations

SPECIAL: dict[str, str] = {}
"""Fixture name -> what it shows; each has its own test below."""
