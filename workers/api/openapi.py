"""The OpenAPI document: shared response declarations, and the checked-in copy.

``docs/openapi.json`` is generated from the app (``write_document``) and a test fails
when it differs from what the app serves, so the published contract never drifts from
the code. Regenerate it with ``python -m workers.api.openapi``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from workers.api.models import ErrorBody, WriteResponse

__all__ = ["DOCUMENT_PATH", "ERRORS", "WRITE_RESPONSES", "document_text", "write_document"]

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

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


def document_text(app: FastAPI) -> str:
    """The app's OpenAPI document as checked in: sorted keys, two-space indent, final newline."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_document(app: FastAPI, path: Path = DOCUMENT_PATH) -> Path:
    path.write_text(document_text(app), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    from workers.api.app import create_app
    from workers.settings import Settings

    print(write_document(create_app(Settings())))  # nothing starts until the app serves
