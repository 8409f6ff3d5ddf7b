"""Reading a bounce's diagnostic text: which kinds of phrase it holds, in one pass.

Every phrase row of every language is compiled once into a single RE2 set, so a
diagnostic is scanned once whatever the number of rows (linear time, no backtracking;
the text is untrusted). Two kinds of row change the text itself, and the rest is scanned
again: a wrapper (a provider's friendly frame around the reason) is cut out, and the
returned copy of the original message (its headers say "spf=pass", its body anything)
is cut off where its marker starts. Neither is evidence; the server's reason is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import re2

from workers.domain.classify_phrases import Kind, Phrase
from workers.domain.classify_phrases_asia import PHRASES_ASIA
from workers.domain.classify_phrases_en import PHRASES_EN
from workers.domain.classify_phrases_eu import PHRASES_EU

__all__ = ["ALL_PHRASES", "EMPTY", "Findings", "phrases_of", "scan"]

ALL_PHRASES: tuple[Phrase, ...] = (*PHRASES_EN, *PHRASES_EU, *PHRASES_ASIA)
"""Every row, English first: the first row of a kind that matches is the evidence."""

_SEPARATOR = " | "  # what a cut-out wrapper leaves, so its neighbours do not join up


@dataclass(frozen=True, slots=True)
class Findings:
    """The first phrase found of each kind (the evidence), table order deciding ties, and
    the text they were found in: wrappers cut out, the returned copy cut off."""

    first: Mapping[Kind, str]
    text: str

    def get(self, kind: Kind) -> str | None:
        """The phrase of this kind that was found, if any."""
        return self.first.get(kind)

    def first_of(self, kinds: tuple[Kind, ...]) -> str | None:
        """The phrase of the first of these kinds that was found, if any."""
        for kind in kinds:
            phrase = self.first.get(kind)
            if phrase is not None:
                return phrase
        return None


EMPTY = Findings(MappingProxyType({}), "")


def phrases_of(kind: Kind) -> tuple[Phrase, ...]:
    """Every row of one kind, for tests and documentation."""
    return tuple(row for row in ALL_PHRASES if row.kind is kind)


def scan(text: str) -> Findings:
    """What kinds of phrase the lower-cased, whitespace-collapsed ``text`` holds."""
    if not text:
        return EMPTY
    hits = _SET.Match(text)
    if not hits:
        return Findings(EMPTY.first, text)
    kinds = {ALL_PHRASES[index].kind for index in hits}
    if Kind.ORIGINAL in kinds or Kind.WRAPPER in kinds:
        text = _unwrap(_cut_original(text, hits), hits).strip(_SEPARATOR)
        hits = _SET.Match(text) or []
    first: dict[Kind, str] = {}
    for index in sorted(hits):
        row = ALL_PHRASES[index]
        if row.kind not in _TEXT_EDITS and row.kind not in first:
            first[row.kind] = _matched_text(index, text)
    return Findings(MappingProxyType(first), text)


_TEXT_EDITS = frozenset({Kind.WRAPPER, Kind.ORIGINAL})


def _pattern(row: Phrase) -> str:
    return row.text if row.regex else re2.escape(row.text)


def _compile_set(rows: tuple[Phrase, ...]) -> re2.Set:
    compiled = re2.Set.SearchSet()
    for row in rows:
        compiled.Add(_pattern(row))
    compiled.Compile()
    return compiled


_SET = _compile_set(ALL_PHRASES)


@cache
def _regex(index: int) -> re2._Regexp:
    return re2.compile(_pattern(ALL_PHRASES[index]))


def _cut_original(text: str, hits: list[int]) -> str:
    """The text before the first marker of a returned copy (a marker at the very start
    is a header block the producer passed whole, so it is skipped)."""
    starts = [
        position
        for index in hits
        if ALL_PHRASES[index].kind is Kind.ORIGINAL and (position := _position(index, text)) > 0
    ]
    return text[: min(starts)] if starts else text


def _position(index: int, text: str) -> int:
    row = ALL_PHRASES[index]
    if not row.regex:
        return text.find(row.text)
    match = _regex(index).search(text)
    return -1 if match is None else int(match.start())


def _unwrap(text: str, hits: list[int]) -> str:
    for index in hits:
        row = ALL_PHRASES[index]
        if row.kind is not Kind.WRAPPER:
            continue
        if row.regex:
            text = _regex(index).sub(_SEPARATOR, text)
        else:
            text = text.replace(row.text, _SEPARATOR)
    return text


def _matched_text(index: int, text: str) -> str:
    """A literal row's own text; for a regex row, what it matched (readable evidence)."""
    row = ALL_PHRASES[index]
    if not row.regex:
        return row.text
    match = _regex(index).search(text)
    return row.text if match is None else match.group(0).strip()
