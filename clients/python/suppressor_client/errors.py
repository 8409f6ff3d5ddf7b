"""Typed refusals of input, each with a machine-readable code for DLQ records and APIs."""

from __future__ import annotations

__all__ = [
    "InputError",
    "InternalError",
    "InvalidAddress",
    "InvalidDomain",
    "SchemaError",
    "BadJson",
    "TooLarge",
    "as_input_error",
]


class InputError(ValueError):
    """Input the product refuses; ``code`` is stable and machine-readable."""

    code = "invalid_input"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def as_dict(self) -> dict[str, str]:
        """The error as it goes on a DLQ record or into an API error body."""
        out = {"code": self.code, "message": self.message}
        if self.path is not None:
            out["path"] = self.path
        return out


class InvalidAddress(InputError):
    code = "invalid_address"


class InvalidDomain(InputError):
    code = "invalid_domain"


class SchemaError(InputError):
    code = "schema"


class BadJson(InputError):
    code = "bad_json"


class TooLarge(InputError):
    code = "too_large"


class InternalError(InputError):
    """Input that made the worker itself fail: dead-lettered, so one record never stalls it."""

    code = "internal_error"


def as_input_error(exc: Exception) -> InputError:
    """``exc`` itself when it refuses input, else an ``InternalError`` that names it."""
    return exc if isinstance(exc, InputError) else InternalError(f"{type(exc).__name__}: {exc}")
