"""The numbered items of a comma-separated setting."""

from __future__ import annotations

from workers.domain.comma_items import numbered_items


def test_items_are_stripped_and_empty_ones_skipped_but_counted() -> None:
    """Blank items (a doubled or trailing comma) yield nothing but keep the numbers of the rest."""
    assert list(numbered_items(" a=1 ,, b=2,")) == [(1, "a=1"), (3, "b=2")]


def test_an_empty_setting_has_no_items() -> None:
    """An empty or all-blank setting yields no item at all."""
    assert list(numbered_items("")) == []
    assert list(numbered_items(" , ")) == []
