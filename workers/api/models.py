"""Request and response bodies of the HTTP API (they are also its OpenAPI schemas).

Requests forbid unknown fields, so a typo (``emails`` for ``email``) is a 422 rather
than a silently ignored field. Bounds are declared here once; the OpenAPI document
shows them and validation enforces them (a list over its bound is a 413).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from suppressor_client.types import Stream
from suppressor_client.uri import MAX_BODY_BYTES, MAX_PATTERN_LENGTH

from workers.domain.files import MAX_NOTES

__all__ = [
    "MAX_CHECK",
    "MAX_FILTER",
    "AddressRequest",
    "CheckRequest",
    "CheckResponse",
    "CheckResult",
    "DomainAllowRequest",
    "DomainRuleOut",
    "DomainRuleRequest",
    "DomainsResponse",
    "ErrorBody",
    "FilterRequest",
    "FilterResponse",
    "HealthResponse",
    "ImportResponse",
    "PresentRowOut",
    "StreamedImportResponse",
    "InvalidRowOut",
    "UriCheckRequest",
    "UriCheckResponse",
    "UriPatternRequest",
    "UriPatternsResponse",
    "WriteResponse",
]

MAX_CHECK = 1000
MAX_FILTER = 100_000

Address = Annotated[str, Field(min_length=1, max_length=320, examples=["jane@example.com"])]
Domain = Annotated[str, Field(min_length=1, max_length=260, examples=["example.com"])]
Notes = Annotated[str | None, Field(default=None, max_length=MAX_NOTES)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_address"])
    message: str


class ErrorBody(BaseModel):
    """Every error response: a stable machine-readable code and a human message."""

    error: ErrorDetail


class CheckRequest(_Request):
    addresses: list[Address] = Field(min_length=1, max_length=MAX_CHECK)
    stream: Stream = Stream.MARKETING


class CheckResult(BaseModel):
    """One decision (SPEC §7): the rule that gave it and the reason code behind it."""

    address: str
    allowed: bool
    rule: str = Field(examples=["suppressed"])
    reason: int | None = Field(default=None, examples=[2])
    reason_text: str | None = Field(default=None, examples=["manual intervention"])


class CheckResponse(BaseModel):
    results: list[CheckResult]


class FilterRequest(_Request):
    addresses: list[Address] = Field(min_length=1, max_length=MAX_FILTER)
    stream: Stream = Stream.MARKETING


class FilterResponse(BaseModel):
    """The allowed addresses in input order; the excluded ones counted by reason (seed 004)."""

    total: int
    allowed: list[str]
    excluded: int
    excluded_by_reason: dict[str, int] = Field(examples=[{"suppressed 2 (manual intervention)": 3}])
    invalid: list[str]


class WriteResponse(BaseModel):
    """A command accepted onto ``suppression-commands``; ``visible`` once readers see it."""

    event_id: str
    visible: bool
    waited_s: float


class AddressRequest(_Request):
    email: Address
    notes: Notes = None


class DomainRuleRequest(_Request):
    domain: Domain = Field(description="an exact domain or a *. wildcard")
    send_block: StrictBool = True
    collection_block: StrictBool = False
    notes: Notes = None


class DomainAllowRequest(_Request):
    domain: Domain
    notes: Notes = None


class DomainRuleOut(BaseModel):
    domain: str
    send_block: bool
    collection_block: bool
    reason: int
    notes: str | None


class DomainsResponse(BaseModel):
    """The account's domain rules and domain allow list (on when non-empty)."""

    rules: list[DomainRuleOut]
    allow: list[str]


class UriPatternRequest(_Request):
    pattern: str = Field(
        min_length=1, max_length=MAX_PATTERN_LENGTH, examples=[r"^https://shop\.example\.com/"]
    )
    notes: Notes = None


class UriPatternsResponse(BaseModel):
    """The URI allowlist is on exactly when it holds a pattern."""

    enabled: bool
    patterns: list[str]


class UriCheckRequest(_Request):
    body: str = Field(max_length=MAX_BODY_BYTES)
    html: StrictBool = True


class UriCheckResponse(BaseModel):
    allowed: bool
    offending: list[str]


class InvalidRowOut(BaseModel):
    line: int
    raw: str
    code: str
    message: str


class PresentRowOut(BaseModel):
    line: int
    email: str


class ImportResponse(BaseModel):
    """The import report (SPEC §8) and whether the added rows are visible yet."""

    added: int
    already_present: int
    invalid: int
    invalid_rows: list[InvalidRowOut]
    already_present_rows: list[PresentRowOut] = Field(
        description="rows already on the list, or earlier in the file: line and address"
    )
    not_visible: list[int] = Field(description="lines of added rows not yet visible to readers")


class StreamedImportResponse(BaseModel):
    """The streamed import's report: counts, capped row lists, and how many rows are visible."""

    added: int
    already_present: int
    invalid: int
    visible: int = Field(description="added rows visible to readers when the wait ended")
    not_visible: int = Field(description="added rows not yet visible (they will apply)")
    invalid_rows: list[InvalidRowOut] = Field(description="the first invalid rows, in file order")
    invalid_rows_omitted: int = Field(description="invalid rows past the cap, counted only")
    already_present_rows: list[PresentRowOut] = Field(
        description="the first rows already on the list, or earlier in the file"
    )
    already_present_rows_omitted: int = Field(description="such rows past the cap, counted only")


class HealthResponse(BaseModel):
    ready: bool
    lag: int | None
    seconds_since_record: float | None
