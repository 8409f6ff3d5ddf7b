"""How a parallel cold start deals partitions into shares (no broker needed)."""

from __future__ import annotations

from suppressor_client.feed import _shares


def test_shares_hold_about_as_many_records_each() -> None:
    """The largest partitions first, each to the share with the fewest records."""
    assert _shares({0: 10, 1: 10, 2: 10, 3: 10}, 2) == [[0, 2], [1, 3]]
    assert _shares({0: 100, 1: 30, 2: 40, 3: 20}, 2) == [[0], [1, 2, 3]]
    assert _shares({0: 5, 1: 5, 2: 5}, 3) == [[0], [1], [2]]


def test_shares_without_records_stay_with_the_feed() -> None:
    """No process is started for empty partitions or for more shares than partitions."""
    assert _shares({0: 0, 1: 7, 2: 0, 3: 9}, 3) == [[0, 2, 3], [1]]
    assert _shares({0: 4}, 2) == [[0]]
    assert _shares({0: 0, 1: 0}, 2) == [[0, 1]]
