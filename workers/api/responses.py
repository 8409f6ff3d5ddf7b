"""Response declarations the routes share, so every route documents its errors one way."""

from __future__ import annotations

from typing import Any

from workers.api.models import ErrorBody, WriteResponse

__all__ = ["ERRORS", "WRITE_RESPONSES"]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no API key, or not a valid one"},
    403: {"model": ErrorBody, "description": "the key belongs to another account"},
    413: {"model": ErrorBody, "description": "the body or a list in it is over its bound"},
    422: {"model": ErrorBody, "description": "malformed request (code names the problem)"},
}
"""Errors every account route may answer with, all in the one JSON shape."""

WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "written, and visible to readers"},
    202: {
        "model": WriteResponse,
        "description": "written, not yet visible after the bounded wait (visible: false)",
    },
    503: {"model": ErrorBody, "description": "the broker did not take the command"},
}
