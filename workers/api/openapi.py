"""The checked-in OpenAPI document, generated from the app.

``docs/openapi.json`` is written by ``suppressor openapi`` and a test fails when it
differs from what the app serves, so the published contract never drifts from the code.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI

__all__ = ["DOCUMENT_PATH", "document_text", "write_document"]

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def document_text(app: FastAPI) -> str:
    """The app's OpenAPI document as checked in: sorted keys, two-space indent, final newline."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_document(app: FastAPI, path: Path = DOCUMENT_PATH) -> Path:
    path.write_text(document_text(app), encoding="utf-8")
    return path
