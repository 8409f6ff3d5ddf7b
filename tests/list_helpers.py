"""Factories for ListRecords and ListViews shared by the view and decision tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from suppressor_client.lists import parse_pool
from suppressor_client.types import (
    CATEGORY_OF,
    SUPPRESSION_LISTS,
    ListKey,
    ListName,
    ListRecord,
    Reason,
)
from suppressor_client.view import ListView

from workers.settings import Settings

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def record(
    account: str,
    name: ListName,
    subject: str,
    version: int = 1,
    *,
    active: bool = True,
    **fields: Any,
) -> ListRecord:
    """A record for (account, list, subject) with ``since`` defaulting to T0."""
    fields.setdefault("since", T0)
    return ListRecord(ListKey(account, name, subject), version, active, **fields)


def suppression(
    account: str, address: str, reason: Reason, version: int = 1, **fields: Any
) -> ListRecord:
    """An address suppression on the list its reason's category names."""
    return record(
        account, SUPPRESSION_LISTS[CATEGORY_OF[reason]], address, version, reason=reason, **fields
    )


def domain_rule(
    account: str, pattern: str, *, send: bool = True, collection: bool = False, **fields: Any
) -> ListRecord:
    """A domain rule record; platform rules get reason 99 unless told otherwise."""
    fields.setdefault("reason", Reason.SHARED if account == "*" else Reason.MANUAL)
    return record(
        account,
        ListName.DOMAIN_RULE,
        pattern,
        send_block=send,
        collection_block=collection,
        **fields,
    )


def view_of(*records: ListRecord, keep_details: bool = True) -> ListView:
    """A view with the records applied in order."""
    view = ListView(keep_details=keep_details)
    for item in records:
        view.apply(item.key, item)
    return view


DEFAULT_POOL = parse_pool(Settings().default_domain_pool)
"""The default pool a new account starts with, as the settings give it."""
