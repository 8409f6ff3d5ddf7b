"""``/unsubscribe/{token}``: RFC 8058 one-click unsubscribe, and the page a person sees.

A mailbox provider POSTs ``List-Unsubscribe=One-Click`` (form-encoded or multipart) with
no cookie and no login: the signed token is the whole authority. That produces a
``list_unsubscribe`` delivery event (reason 7) and answers 200 once Kafka has it. A GET
is a person who clicked the link (or a link scanner, which must not unsubscribe anyone):
it shows a small page whose button sends the same POST. Any bad token, whatever the
cause, gets the same 400 page, which names no address. Pages are ``no-store`` and send
no referrer, since the URL holds the token.
"""

from __future__ import annotations

import html
from collections.abc import AsyncGenerator
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from suppressor_client.records import format_timestamp

from workers import metrics
from workers.api.routes_webhooks import TooLarge, read_bounded
from workers.api.webhook_service import WebhookService, webhook_service
from workers.ingest.webhooks.mapping import NotUnderstood, build_event
from workers.ingest.webhooks.unsubscribe import BadToken, Claims, read_token, token_event_id
from workers.kafka.producing import ProduceFailed

__all__ = ["router"]

router = APIRouter(tags=["unsubscribe"])

_MAX_BODY = 4096
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
Token = Annotated[str, Path(max_length=2048, description="the signed token of the link")]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
<h1>{title}</h1><p>{text}</p>{form}</body></html>
"""
_FORM = (
    '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
    '<button type="submit">Unsubscribe</button></form>'
)


def _page(status: int, title: str, text: str, form: str = "") -> HTMLResponse:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


_INVALID = ("Link not valid", "This unsubscribe link is not valid. Use the link in a newer email.")


def _claims(service: WebhookService, token: str) -> Claims | None:
    today = service.clock().date()
    try:
        return read_token(
            service.unsubscribe_keys, token, today, service.settings.unsubscribe_max_age
        )
    except BadToken:
        return None


@router.get("/unsubscribe/{token}", response_class=HTMLResponse, summary="The confirmation page")
def unsubscribe_page(request: Request, token: Token) -> HTMLResponse:
    """A page with one button; opening it (a person, or a link scanner) changes nothing."""
    service = webhook_service(request)
    if _claims(service, token) is None:
        metrics.UNSUBSCRIBE_CALLS.labels("GET", "bad_token").inc()
        return _page(400, *_INVALID)
    metrics.UNSUBSCRIBE_CALLS.labels("GET", "shown").inc()
    return _page(200, "Unsubscribe", "Stop receiving these emails at this address?", _FORM)


async def _one_click(request: Request, body: bytes) -> bool:
    """Whether the body says ``List-Unsubscribe=One-Click`` (RFC 8058 §3.1)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":

        async def stream() -> AsyncGenerator[bytes, None]:
            yield body

        parser = MultiPartParser(Headers(raw=request.headers.raw), stream(), max_files=0)
        try:
            form = await parser.parse()
        except MultiPartException:
            return False
        return form.get("List-Unsubscribe") == "One-Click"
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # more fields than a one-click body has
        return False
    return fields.get("List-Unsubscribe") == ["One-Click"]


_ONE_CLICK_BODY = {
    "requestBody": {
        "required": True,
        "description": "RFC 8058: the single field List-Unsubscribe=One-Click",
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}},
                    "required": ["List-Unsubscribe"],
                }
            }
            for media in ("application/x-www-form-urlencoded", "multipart/form-data")
        },
    }
}


@router.post(
    "/unsubscribe/{token}",
    response_class=HTMLResponse,
    summary="One-click unsubscribe",
    openapi_extra=_ONE_CLICK_BODY,
    responses={400: {"description": "not a valid link, or not a one-click request"}},
)
async def unsubscribe_one_click(request: Request, token: Token) -> HTMLResponse:
    """RFC 8058: ``List-Unsubscribe=One-Click`` -> a list_unsubscribe event (reason 7), 200."""
    service = webhook_service(request)
    claims = _claims(service, token)
    if claims is None:
        metrics.UNSUBSCRIBE_CALLS.labels("POST", "bad_token").inc()
        return _page(400, *_INVALID)
    try:
        body = await read_bounded(request, _MAX_BODY)
    except TooLarge:
        return _page(413, "Request too large", "The request body is too large.")
    if not await _one_click(request, body):
        metrics.UNSUBSCRIBE_CALLS.labels("POST", "not_one_click").inc()
        return _page(400, "Not a one-click request", "Send List-Unsubscribe=One-Click.")
    try:
        event = build_event(
            kind="list_unsubscribe",
            event_id=token_event_id(token),
            account_id=claims.account_id,
            occurred_at=format_timestamp(service.clock()),
            email=claims.email,
            delivery_id=claims.delivery_id or f"one-click:{claims.issued.isoformat()}",
            stream=claims.stream,
        )
    except NotUnderstood:  # a token we signed with claims the worker refuses: say nothing more
        metrics.UNSUBSCRIBE_CALLS.labels("POST", "bad_token").inc()
        return _page(400, *_INVALID)
    try:
        await run_in_threadpool(service.sink.publish, [event])
    except ProduceFailed:
        metrics.UNSUBSCRIBE_CALLS.labels("POST", "broker_unavailable").inc()
        return _page(503, "Try again", "We could not record this just now. Please try again.")
    metrics.UNSUBSCRIBE_CALLS.labels("POST", "unsubscribed").inc()
    return _page(200, "Unsubscribed", "You will not receive these emails any more.")
