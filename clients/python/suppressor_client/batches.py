"""Batch helpers on bytes for numpy: what a batch probe compares without a Python step each.

Byte strings held in one buffer are compared 8 bytes at a time, each word read where
it starts (numpy reads unaligned words through a view with a stride of one byte).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["KEEP", "Ints", "same_bytes", "words_of"]

Ints = npt.NDArray[np.int64]
KEEP = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)
"""KEEP[n] keeps the first n bytes of a little-endian word."""


def words_of(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """The little-endian 8-byte word starting at each byte of ``data`` (no copy)."""
    return np.ndarray((len(data) - 7,), "<u8", data, 0, (1,))


def same_bytes(
    data: npt.NDArray[np.uint8],
    starts: Ints,
    asked: npt.NDArray[np.uint8],
    firsts: Ints,
    lengths: Ints,
) -> npt.NDArray[np.bool_]:
    """Whether ``data[starts[i]:][:lengths[i]] == asked[firsts[i]:][:lengths[i]]`` for each i,
    compared 8 bytes at a time (``asked`` has 8 bytes to spare at its end, ``data`` none:
    a word that would run past its end is read ending there and shifted into place)."""
    same = np.ones(len(starts), bool)
    last = len(data) - 8
    if last < 0:  # too short for one word: a padded copy (a view this small is cheap)
        data, last = np.concatenate([data, np.zeros(8, np.uint8)]), 0
    stored_words, asked_words = words_of(data), words_of(asked)
    todo = np.flatnonzero(lengths > 0)
    done = 0
    while todo.size:
        at = starts[todo] + done
        if at.max() <= last:
            stored = stored_words[at]
        else:
            read = np.minimum(at, last)
            stored = stored_words[read] >> ((at - read) * 8).astype(np.uint64)
        keep = KEEP[np.minimum(lengths[todo] - done, 8)]
        same[todo] &= ((stored ^ asked_words[firsts[todo] + done]) & keep) == 0
        done += 8
        todo = todo[lengths[todo] > done]
    return same
