"""Route dependencies: the account in the path, the key that opened it, the client and writer.

The ``Guard`` middleware has already refused wrong keys before routing; ``authorized``
checks again from what the guard recorded (defence in depth, and a route added outside
the account prefix by mistake fails closed) and declares both key schemes, so the
OpenAPI document shows how to authenticate.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import APIKeyHeader, HTTPBearer

from workers.api.auth import may_access
from workers.api.errors import ApiError
from workers.api.models import ErrorBody, WriteResponse
from workers.api.protocols import Reader, Writer, WriteResultLike
from workers.api.responses import ERRORS

__all__ = [
    "AccountId",
    "IMPORT_WAIT",
    "ReaderDep",
    "WriterDep",
    "WRITE_WAIT",
    "authorized",
    "reader",
    "reading_router",
    "ready_reader",
    "write",
    "writer",
]

WRITE_WAIT = 5.0
"""Seconds a write waits for its effect to be visible before answering 202 (visible false)."""
IMPORT_WAIT = 60.0
"""The same for a whole import (up to 100,000 rows)."""

AccountId = Annotated[
    str,
    Path(
        pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9._:-]{0,127})$",
        description="the account; '*' is the platform account (administrator key only)",
    ),
]

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")


def authorized(
    request: Request,
    account_id: AccountId,
    _bearer_key: Annotated[Any, Depends(_bearer)] = None,
    _header_key: Annotated[Any, Depends(_api_key)] = None,
) -> str:
    """The account whose key opened the request; refuses anything the guard did not pass."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, str):
        raise ApiError(401, "unauthorized", "an API key is required")
    if not may_access(principal, account_id):
        raise ApiError(403, "forbidden", "this API key does not open that account's lists")
    return principal


def reader(request: Request) -> Reader:
    found: Reader = request.app.state.reader
    return found


def ready_reader(request: Request) -> Reader:
    """The client, once its view has caught up: an answer from a half-read topic could be wrong."""
    found = reader(request)
    if not found.ready:
        raise ApiError(503, "not_ready", "the list view is still loading; retry shortly")
    return found


def writer(request: Request) -> Writer:
    found: Writer = request.app.state.writer
    return found


def write(
    out: Writer, response: Response, command: dict[str, Any], wait: float = WRITE_WAIT
) -> WriteResponse:
    """Submit one command; 200 once readers see it, 202 (``visible`` false) after ``wait``."""
    result: WriteResultLike = out.submit(command, wait=wait)
    if not result.visible:
        response.status_code = 202
    return WriteResponse(event_id=result.event_id, visible=result.visible, waited_s=result.waited_s)


ReaderDep = Annotated[Reader, Depends(ready_reader)]
WriterDep = Annotated[Writer, Depends(writer)]


def reading_router() -> APIRouter:
    """A router of account routes that read the view: key checked, 503 while it loads."""
    return APIRouter(
        prefix="/v1/accounts/{account_id}",
        dependencies=[Depends(authorized)],
        responses={**ERRORS, 503: {"model": ErrorBody, "description": "the view is still loading"}},
    )
