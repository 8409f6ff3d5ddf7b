"""The streamed block-list import: a request body of any length up to a setting.

``POST /import`` takes a multipart upload of at most 10 MiB and answers with every row;
this route takes the file itself as the body (``text/csv`` or ``text/plain``), read in
chunks as it arrives and fed to the same pipeline as ``suppressor import``
(``workers.service.import_stream``), so a million-row file costs bounded memory. The
body is bounded by ``SUPPRESSOR_IMPORT_STREAM_MAX_BYTES`` (413 past it, rows before it
are written); the answer is 200 when every added row is visible, else 202.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, Literal, cast

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import Query, Request, Response

from workers.api.deps import IMPORT_WAIT, AccountId, ReaderDep, WriterDep, reading_router
from workers.api.models import StreamedImportResponse
from workers.domain.file_stream import stream_import_csv, stream_manual
from workers.domain.files import MAX_NOTES
from workers.service.import_stream import (
    ImportWriter,
    StreamedImport,
    import_stream,
    record_bound,
    row_lanes,
)
from workers.settings import Settings

__all__ = ["router"]

router = reading_router()


@router.post(
    "/import/stream",
    tags=["files"],
    response_model=StreamedImportResponse,
    responses={202: {"model": StreamedImportResponse, "description": "some rows not visible yet"}},
)
async def import_streamed(
    *,
    account_id: AccountId,
    request: Request,
    source: ReaderDep,
    out: WriterDep,
    response: Response,
    format: Annotated[Literal["csv", "manual"], Query()] = "csv",
    notes: Annotated[str | None, Query(max_length=MAX_NOTES)] = None,
) -> Any:
    """Import a block list sent as the request body (CSV, or ``format=manual``: one a line).

    The same rules and report as ``POST /import``, for files of any size: the first
    1,000 invalid and already-present rows with their line numbers (the rest counted),
    and how many added rows were visible to readers when the bounded wait ended.
    """
    settings: Settings = request.app.state.settings
    limit = settings.import_stream_max_bytes
    body = request.stream()

    def run() -> StreamedImport:
        chunks = _pulled(body)
        items = (
            stream_manual(chunks, notes, max_bytes=limit)
            if format == "manual"
            else stream_import_csv(chunks, max_bytes=limit)
        )
        # the real CommandWriter and the tests' in-memory one both carry their view
        return import_stream(
            cast(ImportWriter, out), account_id, items, wait=IMPORT_WAIT,
            partition_of=row_lanes(settings, account_id),
            record_bytes=record_bound(settings), window=settings.import_window_rows,
        )  # fmt: skip

    report = await anyio.to_thread.run_sync(run)
    if report.not_visible:
        response.status_code = 202
    return report.as_dict()


def _pulled(body: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body's chunks, read from a worker thread on the event loop."""

    async def pull() -> bytes:
        return await body.__anext__()

    while True:
        try:
            chunk = anyio.from_thread.run(pull)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk
