"""Routes that read an account's lists: from the sender view, never from the worker.

Every answer comes from the local ``ListView`` kept from the ``suppressions`` topic,
through the same ``workers.service.list_tools`` functions the ``suppressor`` command uses;
until the view has caught up with the topic these routes answer 503 ``not_ready``
rather than a confident "allowed" from a half-read list. The CSV import lives here
too: it reads the view to sort rows into added and already present.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from suppressor_client.types import Stream

from workers.api.deps import IMPORT_WAIT, AccountId, ReaderDep, WriterDep, reading_router
from workers.api.models import (
    MAX_CHECK,
    CheckRequest,
    CheckResponse,
    DomainsResponse,
    FilterRequest,
    FilterResponse,
    ImportResponse,
    UriCheckRequest,
    UriCheckResponse,
    UriPatternsResponse,
)
from workers.api.protocols import Reader
from workers.domain.files import MAX_IMPORT_BYTES, parse_import_csv, parse_manual
from workers.service import list_tools as lists

__all__ = ["router"]

router = reading_router()


def _results(source: Reader, account_id: str, addresses: list[str], stream: Stream) -> Any:
    return {"results": [r.as_dict() for r in lists.check(source, account_id, addresses, stream)]}


@router.get("/check", tags=["check"], response_model=CheckResponse)
def check_get(
    account_id: AccountId,
    source: ReaderDep,
    address: Annotated[list[str], Query(min_length=1, max_length=MAX_CHECK)],
    stream: Stream = Stream.MARKETING,
) -> Any:
    """May this account send this stream to these addresses (``?address=`` repeated)?"""
    return _results(source, account_id, address, stream)


@router.post("/check", tags=["check"], response_model=CheckResponse)
def check_post(account_id: AccountId, body: CheckRequest, source: ReaderDep) -> Any:
    """The single check before an opt-in mail, for up to 1000 addresses (SPEC §7)."""
    return _results(source, account_id, body.addresses, body.stream)


@router.post("/filter", tags=["check"], response_model=FilterResponse)
def filter_group(account_id: AccountId, body: FilterRequest, source: ReaderDep) -> Any:
    """Filter a target group: the allowed addresses, and the excluded counted by reason."""
    result = lists.filter_addresses(source, account_id, body.addresses, body.stream)
    return {**result.as_dict(), "allowed": result.allowed, "invalid": result.invalid}


@router.get(
    "/export",
    tags=["files"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "every suppression entry"}},
)
def export(account_id: AccountId, source: ReaderDep) -> StreamingResponse:
    """Every suppression entry of the account as ``;``-separated CSV with SPEC §8's fields."""
    name = account_id if account_id != "*" else "platform"
    return StreamingResponse(
        lists.export_rows(source, account_id),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="suppressions-{name}.csv"'},
    )


@router.post("/import", tags=["files"], response_model=ImportResponse)
def import_file(
    *,
    account_id: AccountId,
    request: Request,
    source: ReaderDep,
    out: WriterDep,
    response: Response,
    file: Annotated[UploadFile, File(description="UTF-8 text, at most 10 MiB")],
    format: Annotated[Literal["csv", "manual"], Form()] = "csv",
    notes: Annotated[str | None, Form(max_length=1000)] = None,
) -> Any:
    """Import a block list: CSV (``address;"notes";reason``) or one address a line.

    The report says how many rows were added, already present and invalid, with the line
    number, text and reason of every invalid row. 202 when some added rows were not yet
    visible to readers after the bounded wait (``not_visible`` lists their lines).
    """
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if format == "csv":
        rows, invalid = parse_import_csv(data)
    else:
        rows, invalid = parse_manual(data, notes)
    window = request.app.state.settings.import_window_rows
    outcome = lists.import_rows(out, account_id, rows, invalid, wait=IMPORT_WAIT, window=window)  # type: ignore[arg-type]
    if outcome.not_visible:
        response.status_code = 202
    return outcome.as_dict()


@router.get("/domains", tags=["domains"], response_model=DomainsResponse)
def domains(account_id: AccountId, source: ReaderDep) -> Any:
    """The account's domain rules and its domain allow list."""
    return lists.domain_lists(source, account_id)


@router.get("/uri-patterns", tags=["uri"], response_model=UriPatternsResponse)
def uri_patterns(account_id: AccountId, source: ReaderDep) -> Any:
    """The account's URI allowlist (on when it holds a pattern)."""
    patterns = lists.uri_patterns(source, account_id)
    return {"enabled": bool(patterns), "patterns": patterns}


@router.post("/uri-patterns/check", tags=["uri"], response_model=UriCheckResponse)
def uri_check(account_id: AccountId, body: UriCheckRequest, source: ReaderDep) -> Any:
    """Check a message body: rejected when any link matches no pattern (SPEC §7)."""
    verdict = lists.check_uri(source, account_id, body.body, body.html)
    return {"allowed": verdict.allowed, "offending": verdict.offending}


@router.get("/stats", tags=["stats"])
def stats(account_id: AccountId, source: ReaderDep) -> dict[str, Any]:
    """Active entries of the account per list, and the freshness of the view."""
    return lists.stats(source, account_id)
