"""Every refusal of the HTTP API is JSON: ``{"error": {"code": ..., "message": ...}}``.

Callers are scripts as often as people, so the shape never changes with the cause: the
framework's own errors (404, 405, validation) are reshaped into it, and the domain's
typed ``InputError`` keeps its machine-readable code. A list over its bound is a 413
like an oversized body, since the remedy is the same (send less per request).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from suppressor_client.errors import InputError, TooLarge

__all__ = ["ApiError", "error_body", "error_response", "install_error_handlers"]

_CODE_OF_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "not_ready",
}
# pydantic error types that get their own code (and, for a list over its bound, 413)
_VALIDATION_CODES: dict[str, tuple[int, str]] = {
    "json_invalid": (422, "bad_json"),
    "too_long": (413, "too_large"),
}
_MAX_DETAILS = 20


class ApiError(Exception):
    """A refusal raised by a route; the handlers turn it into the JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape of the API."""
    return {"error": {"code": code, "message": message, **extra}}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, **(extra or {})), status_code=status, headers=headers
    )


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: Sequence[Any] = exc.errors()
    details = [
        {"path": _location(e.get("loc", ())), "message": str(e.get("msg", "")), "type": e["type"]}
        for e in errors[:_MAX_DETAILS]
    ]
    first = details[0] if details else {"path": "", "message": "invalid request", "type": ""}
    status, code = _VALIDATION_CODES.get(first["type"], (422, "invalid_request"))
    message = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
    return error_response(status, code, message, extra={"details": details})


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=exc.headers)


def _api(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


def _input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    status = 413 if isinstance(exc, TooLarge) else 422
    extra = {"path": exc.path} if exc.path is not None else {}
    return error_response(status, exc.code, exc.message, extra=extra)


def _internal(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(500, "internal", "the server failed; the request may be retried")


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure to the JSON error body."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(InputError, _input)
    app.add_exception_handler(Exception, _internal)
