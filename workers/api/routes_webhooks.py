"""``POST /webhooks/{provider}`` and ``/webhooks/{provider}/{account}``: provider events in.

The routes live on the HTTP API rather than in a separate service: they need the same
process shape (an ASGI app behind the same TLS terminator, the same error body, the same
OpenAPI document and health check), and the provider URLs sit beside the list API that
account managers already reach. Their credentials are the providers' own (signatures,
Basic auth), never the list API's keys, so the ``Guard`` in front of ``/v1/accounts``
does not apply; the body bound is checked here before anything is parsed.

A call is answered 2xx only after Kafka acknowledged every event it produced (5xx, and
the provider retries, otherwise); a body we cannot understand from a proven sender is
answered 400 and kept on ``webhooks.dlq``; bad credentials are 401/403 and produce nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from workers import metrics
from workers.api.errors import error_response
from workers.api.models import ErrorBody
from workers.api.webhook_service import webhook_service
from workers.ingest.webhooks.dead_letter import encode_webhook_dlq
from workers.ingest.webhooks.intake import PROVIDERS, Verdict
from workers.kafka.producing import ProduceFailed

__all__ = ["WebhookAnswer", "read_bounded", "router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])

WebhookAccount = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="the account whose webhook credentials this URL uses",
    ),
]


class WebhookAnswer(BaseModel):
    """A call taken: how many events went to Kafka, how many provider events were not mapped."""

    outcome: str
    events: int
    skipped: int


class TooLarge(Exception):
    """The body passed its bound while it was read."""


async def read_bounded(request: Request, limit: int) -> bytes:
    """The body; ``TooLarge`` from its Content-Length, or as soon as it passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "not this provider's payload (kept on webhooks.dlq)",
    },
    401: {"model": ErrorBody, "description": "no credentials or signature"},
    403: {"model": ErrorBody, "description": "bad signature or credentials, or another account"},
    413: {"model": ErrorBody, "description": "the body is over SUPPRESSOR_WEBHOOK_MAX_BODY_BYTES"},
    502: {"model": ErrorBody, "description": "SNS did not take our subscription confirmation"},
    503: {"model": ErrorBody, "description": "Kafka did not acknowledge: the provider retries"},
}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "the provider's own webhook body, as it sends it",
        "content": {
            "application/json": {"schema": {"type": ["object", "array"]}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def _answer(provider: str, outcome: str, started: float, response: JSONResponse) -> JSONResponse:
    metrics.WEBHOOK_CALLS.labels(provider, outcome).inc()
    metrics.WEBHOOK_SECONDS.labels(provider).observe(time.monotonic() - started)
    return response


def _error(provider: str, started: float, status: int, code: str, message: str) -> JSONResponse:
    return _answer(provider, code, started, error_response(status, code, message))


def _refusal(provider: str, verdict: Verdict, started: float) -> JSONResponse:
    assert verdict.error is not None
    code = verdict.error.code
    return _answer(
        provider,
        verdict.outcome,
        started,
        error_response(verdict.status, code, verdict.error.message, extra=_path(verdict)),
    )


def _path(verdict: Verdict) -> dict[str, str]:
    return {"path": verdict.error.path} if verdict.error and verdict.error.path else {}


async def _handle(request: Request, provider: str, account: str | None) -> JSONResponse:
    started = time.monotonic()
    service = webhook_service(request)
    try:
        body = await read_bounded(request, service.settings.webhook_max_body_bytes)
    except TooLarge:
        limit = service.settings.webhook_max_body_bytes
        return _error(provider, started, 413, "too_large", f"the body is over {limit} bytes")
    now = service.clock()
    headers = {k.lower(): v for k, v in request.headers.items()}
    # In a thread: SES calls may fetch an SNS signing certificate (the first time per URL),
    # and mapping a body of up to the bound is CPU work; the event loop keeps serving.
    verdict = await run_in_threadpool(service.intake.handle, provider, account, body, headers, now)
    try:
        if verdict.dead_letter and verdict.error is not None:
            record = encode_webhook_dlq(
                provider=provider,
                account=account,
                error=verdict.error,
                body=body,
                content_type=headers.get("content-type"),
                failed_at=now,
            )
            await run_in_threadpool(service.sink.dead_letter, record, provider.encode())
        if verdict.status != 200:
            return _refusal(provider, verdict, started)
        if verdict.confirm_url is not None:
            try:
                status = await run_in_threadpool(service.confirm, verdict.confirm_url)
            except OSError as error:  # SNS unreachable: it re-sends the confirmation
                status = 0
                log.warning("SNS subscription confirmation failed: %s", error)
            log.info("SNS subscription confirmation for %s answered %s", provider, status)
            if status != 200:
                message = f"the SNS SubscribeURL answered {status or 'nothing'}"
                return _error(provider, started, 502, "confirm_failed", message)
        if verdict.outcome == "unsubscribed_topic":
            log.info("SNS unsubscribe confirmation received (account %s)", account or "*")
        if verdict.events:
            await run_in_threadpool(service.sink.publish, verdict.events)
    except ProduceFailed as error:
        message = f"the events were not stored ({error}); retry"
        return _error(provider, started, 503, "broker_unavailable", message)
    if verdict.replay_token is not None:
        service.intake.replays.remember(verdict.replay_token, now)
    for event in verdict.events:
        metrics.WEBHOOK_EVENTS.labels(provider, event["type"]).inc()
    answer = WebhookAnswer(
        outcome=verdict.outcome, events=len(verdict.events), skipped=len(verdict.skipped)
    )
    return _answer(provider, verdict.outcome, started, JSONResponse(answer.model_dump()))


def _register(provider: str) -> None:
    name = {"ses": "Amazon SES (SNS)"}.get(provider, provider.capitalize())

    async def provider_wide(request: Request) -> JSONResponse:
        return await _handle(request, provider, None)

    async def per_account(request: Request, account: WebhookAccount) -> JSONResponse:
        return await _handle(request, provider, account)

    common: dict[str, Any] = {
        "response_model": WebhookAnswer,
        "responses": _RESPONSES,
        "openapi_extra": _BODY,
    }
    router.post(
        f"/webhooks/{provider}",
        summary=f"{name} events, account from the message's metadata",
        operation_id=f"webhook_{provider}",
        **common,
    )(provider_wide)
    router.post(
        f"/webhooks/{provider}/{{account}}",
        summary=f"{name} events for one account, with that account's credentials",
        operation_id=f"webhook_{provider}_account",
        **common,
    )(per_account)


for _provider in PROVIDERS:
    _register(_provider)
