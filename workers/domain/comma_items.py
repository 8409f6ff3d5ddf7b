"""The items of a comma-separated setting, numbered so an error can name the bad one.

Key and secret settings (API keys, webhook secrets, unsubscribe keys) are lists of
``name=value`` or ``name:value`` pairs separated by commas. Their parsers must never echo
a secret, so they name a bad pair by its number; the numbering and the skipping of empty
items (a trailing comma) are the same for all of them and live here once.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["numbered_items"]


def numbered_items(text: str) -> Iterator[tuple[int, str]]:
    """Each non-empty item of ``text``, stripped, with its place from 1 (empty ones counted)."""
    for number, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if item:
            yield number, item
