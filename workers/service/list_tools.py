"""The list tools of SPEC §8, shared by the ``suppressor`` command and the HTTP API.

Reads go to a sender view (a ``SenderClient`` or a bare ``ListView``), writes go through
a ``CommandWriter``; nothing here prints, so the CLI and the API present the same
results their own way. ``now`` defaults to the clock: an expired temporary entry no
longer denies.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress
from typing import Any, Protocol

import numpy as np
from suppressor_client.decision import Decision, decide_indexed, decide_many
from suppressor_client.types import (
    CATEGORY_OF,
    REASON_TEXT,
    SUPPRESSION_LISTS,
    CommandType,
    ListName,
    ListRecord,
    Reason,
    Stream,
)
from suppressor_client.uri import UriCheck, check_body
from suppressor_client.view import ListView

from workers.client.commands import CommandWriter
from workers.domain.files import (
    ExportRow,
    ImportReport,
    ImportRow,
    InvalidRow,
    build_report,
    export_csv,
)

__all__ = [
    "CheckResult",
    "FilterResult",
    "HasView",
    "ImportOutcome",
    "check",
    "check_uri",
    "column_values",
    "domain_lists",
    "exclusion_label",
    "export_rows",
    "filter_addresses",
    "import_rows",
    "make_command",
    "read_text",
    "stats",
    "uri_patterns",
]


_SUPPRESSION_LISTS = frozenset(SUPPRESSION_LISTS.values())


class HasView(Protocol):
    """Anything holding a sender view (``SenderClient``); its ``lock`` guards iteration."""

    @property
    def view(self) -> ListView: ...


Source = ListView | HasView


def _view(source: Source) -> ListView:
    return source if isinstance(source, ListView) else source.view


def _locked(source: Source) -> AbstractContextManager[Any]:
    """The client's lock while iterating its view (a live feed changes it), else nothing."""
    lock = getattr(source, "lock", None)
    return lock if isinstance(lock, AbstractContextManager) else nullcontext()


# --- check and filter -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The decision on one address as given, with the rule and reason behind it."""

    address: str
    allowed: bool
    rule: str
    reason: Reason | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "allowed": self.allowed,
            "rule": self.rule,
            "reason": None if self.reason is None else int(self.reason),
            "reason_text": None if self.reason is None else REASON_TEXT[self.reason],
        }


def check(
    source: Source,
    account: str,
    addresses: Iterable[str],
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> list[CheckResult]:
    """SPEC §7 for each address (seed 004: the single check before an opt-in mail)."""
    given = list(addresses)
    decisions = decide_many(_view(source), account, given, stream, now or datetime.now(UTC))
    return [
        CheckResult(a, d.allowed, d.rule, d.reason) for a, d in zip(given, decisions, strict=True)
    ]


def exclusion_label(decision: Decision) -> str:
    """How a filter report names a denial: the rule, and the reason code when there is one."""
    if decision.reason is None:
        return decision.rule
    return f"{decision.rule} {int(decision.reason)} ({REASON_TEXT[decision.reason]})"


@dataclass(frozen=True, slots=True)
class FilterResult:
    """A target group filtered: who may be sent to, and how many were excluded, by reason."""

    allowed: list[str]
    excluded: Counter[str]
    invalid: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.allowed) + sum(self.excluded.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "allowed": len(self.allowed),
            "excluded": sum(self.excluded.values()),
            "excluded_by_reason": dict(self.excluded.most_common()),
        }


def filter_addresses(
    source: Source,
    account: str,
    addresses: Iterable[str],
    stream: Stream | str = Stream.MARKETING,
    now: datetime | None = None,
) -> FilterResult:
    """The batch filter of seed 004: blank lines skipped, addresses kept as given (trimmed).

    Works on ``decide_indexed``'s positions, not on a decision per address: numpy
    selects the allowed and counts each distinct decision, and only those are looked at
    in Python.
    """
    given = list(filter(None, map(str.strip, addresses)))
    when = now or datetime.now(UTC)
    decisions, index = decide_indexed(_view(source), account, given, stream, when)
    allows = np.array([d.allowed for d in decisions], bool)
    allowed = list(compress(given, allows[index].tolist()))
    counts = np.bincount(index, minlength=len(decisions)).tolist()
    denied = [k for k, d in enumerate(decisions) if counts[k] and not d.allowed]
    denied.sort(key=lambda k: int(np.argmax(index == k)))  # in order of first occurrence
    excluded: Counter[str] = Counter()
    for k in denied:
        excluded[exclusion_label(decisions[k])] += counts[k]
    invalid = [k for k in denied if decisions[k].rule == _INVALID_RULE]
    rejected = list(compress(given, np.isin(index, invalid).tolist())) if invalid else []
    return FilterResult(allowed, excluded, rejected)


_INVALID_RULE = "invalid_address"


def column_values(lines: Iterable[str], column: str, delimiter: str = ";") -> Iterator[str]:
    """One column of a CSV: ``column`` is a 1-based number, or a header name (first row).

    Raises ``ValueError`` when a named column is not in the header.
    """
    rows = csv.reader(lines, delimiter=delimiter)
    if column.isdigit():
        index = int(column) - 1
        if index < 0:
            raise ValueError("column numbers start at 1")
    else:
        header = next(rows, [])
        names = [cell.strip().lower() for cell in header]
        if column.strip().lower() not in names:
            raise ValueError(f"no column {column!r} in the header: {', '.join(header)[:200]}")
        index = names.index(column.strip().lower())
    for row in rows:
        if len(row) > index:
            yield row[index]


# --- import and export ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """The import report, plus the added rows whose effect was not seen before the wait ran out."""

    report: ImportReport
    not_visible: tuple[ImportRow, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = self.report.as_dict()
        out["not_visible"] = [r.line for r in self.not_visible]
        return out


def _target(row: ImportRow) -> ListName:
    return SUPPRESSION_LISTS[CATEGORY_OF[row.reason]]


def import_rows(
    writer: CommandWriter,
    account: str,
    rows: Iterable[ImportRow],
    invalid: Iterable[InvalidRow],
    *,
    wait: float | None = 120.0,
    progress: Callable[[int], None] | None = None,
    window: int | None = None,
) -> ImportOutcome:
    """Block every new address of a parsed file (``workers.domain.files``), one command a row.

    An address already on the list its row would go to (block, or bounce for the legacy
    reason 10) is reported already present and not written again; ``progress`` counts
    rows done: the already present ones at once, then each written row once it is seen;
    ``window`` bounds the rows written and not yet visible (``CommandWriter.submit_many``).
    """
    view = writer.client.view
    given = list(rows)
    target = {row.email: _target(row) for row in reversed(given)}  # first row of an address

    def present(email: str) -> bool:
        name = target[email]
        return any(e.active and e.list is name for e in view.address_entries(account, email))

    report = build_report(given, invalid, present)
    if progress is not None and report.already_present:
        progress(len(report.already_present))  # done already: nothing to write for them
    commands = [
        make_command(
            CommandType.IMPORT_ROW, account, email=r.email, notes=r.notes, reason=int(r.reason)
        )
        for r in report.added
    ]
    results = (
        writer.submit_many(commands, wait=wait, progress=progress, window=window)
        if commands
        else []
    )
    late = tuple(
        r
        for r, res in zip(report.added, results, strict=True)
        if wait is not None and not res.visible
    )
    return ImportOutcome(report, late)


def export_rows(source: Source, account: str) -> Iterator[str]:
    """Every suppression entry of an account as CSV lines (SPEC §8 fields), header first."""
    view = _view(source)
    with _locked(source):
        records: list[tuple[str, ListRecord]] = [
            (subject, record)
            for name, subject, record in view.entries_of(account)
            if name in _SUPPRESSION_LISTS
        ]
    records.sort(key=lambda item: (item[0], item[1].key.list.value))
    return export_csv(ExportRow.of(subject, record) for subject, record in records)


# --- domain-level lists, URI check, stats -------------------------------------------------


def domain_lists(source: Source, account: str) -> dict[str, Any]:
    """The account's domain rules and domain allow list, sorted, for listing."""
    lists = _view(source).account_lists(account)
    rules = sorted(lists.domain_rules.items()) if lists is not None else []
    return {
        "rules": [
            {
                "domain": pattern,
                "send_block": rule.send_block,
                "collection_block": rule.collection_block,
                "reason": int(rule.reason),
                "notes": rule.notes,
            }
            for pattern, rule in rules
        ],
        "allow": sorted(lists.domain_allow) if lists is not None else [],
    }


def uri_patterns(source: Source, account: str) -> list[str]:
    lists = _view(source).account_lists(account)
    return sorted(lists.uri_patterns) if lists is not None else []


def check_uri(source: Source, account: str, body: str, html: bool | None = None) -> UriCheck:
    """A message body against the account's URI allowlist; ``html`` None guesses from a tag.

    Raises ``TooLarge`` for a body beyond the bounds of ``suppressor_client.uri``.
    """
    if html is None:
        head = body[:4096].lower()
        html = "<html" in head or "<a " in head or "<body" in head or "<!doctype" in head
    return check_body(_view(source).uri_allowlist(account), body, html)


def stats(source: Source, account: str | None = None) -> dict[str, Any]:
    """Active entries per list: of every account, or of one (with its domain-level lists)."""
    view = _view(source)
    if account is None:
        out: dict[str, Any] = dict(view.stats())
    else:
        with _locked(source):
            counts = Counter(name.value for name, _s, _r in view.entries_of(account))
        out = {name.value: counts.get(name.value, 0) for name in ListName}
    staleness = getattr(source, "staleness", None)
    if callable(staleness):
        state = staleness()
        out["view"] = {
            "ready": state.ready,
            "lag": state.lag,
            "seconds_since_record": state.seconds_since_record,
        }
    return out


def make_command(kind: CommandType, account: str, **fields: Any) -> dict[str, Any]:
    """A command body for ``CommandWriter.submit``; fields that are None are left out."""
    body: dict[str, Any] = {"type": kind.value, "account_id": account}
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def read_text(data: bytes) -> list[str]:
    """Lines of a target-group file (UTF-8, BOM dropped, any line ending)."""
    return io.StringIO(data.decode("utf-8-sig"), newline=None).read().splitlines()
