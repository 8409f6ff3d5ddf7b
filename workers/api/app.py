"""The HTTP API app: the list tools per account, behind per-account keys (SPEC §8).

``create_app(settings, client=None, writer=None)`` builds the app; tests pass their own
client and writer. Without them the app starts a ``SenderClient`` (its own view of the
``suppressions`` topic) and a ``CommandWriter`` when it starts serving and stops them
when it stops; reads answer 503 until the view has caught up. ``/healthz`` says whether
the view is ready and how stale it is (200 ready, 503 not), without a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from workers.api import (
    routes_import,
    routes_read,
    routes_unsubscribe,
    routes_webhooks,
    routes_write,
)
from workers.api.auth import KeyRing
from workers.api.errors import error_response, install_error_handlers
from workers.api.guard import Guard
from workers.api.models import HealthResponse
from workers.api.protocols import Reader, Writer
from workers.api.webhook_service import WebhookService
from workers.client.commands import CommandError
from workers.settings import Settings

__all__ = ["API_VERSION", "create_app", "serve"]

API_VERSION = "1.0.0"
_DESCRIPTION = """\
The `suppressor` list tools over HTTP, per account: check, batch filter, CSV import and
export, address and domain rules, the recipient allowlist, URI patterns and stats.

**Keys.** Send `Authorization: Bearer <key>` (or `X-API-Key: <key>`). A key opens one
account's lists only; any other account answers 403, a missing or unknown key 401.

**Writes** go to the worker as commands and answer once the change is visible to
readers (200, `visible: true`), or 202 with `visible: false` when that took longer than
the bounded wait (the change still applies).

**Errors** are always `{"error": {"code": ..., "message": ...}}`.
"""


def _broker_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    return error_response(503, "broker_unavailable", str(exc))


def create_app(
    settings: Settings,
    client: Reader | None = None,
    writer: Writer | None = None,
    webhooks: WebhookService | None = None,
) -> FastAPI:
    """The API over ``client`` (reads), ``writer`` (commands), ``webhooks``; None: from settings."""
    keys = KeyRing.parse(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start what was not given: the sender client first, the writer over it."""
        from workers.client.commands import CommandWriter
        from workers.client.sender import SenderClient

        own = SenderClient(settings).start() if client is None else None
        own_writer = None
        if writer is None:
            base = own if own is not None else client
            assert isinstance(base, SenderClient), "a writer needs a SenderClient to wait on"
            own_writer = CommandWriter(settings, base)
        app.state.reader = client if own is None else own
        app.state.writer = writer if own_writer is None else own_writer
        try:
            yield
        finally:
            if app.state.own_webhooks:
                app.state.webhooks.sink.close()
            if own_writer is not None:
                own_writer.close()
            if own is not None:
                own.stop()

    app = FastAPI(
        title="Suppressor list API",
        version=API_VERSION,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.reader = client
    app.state.writer = writer
    app.state.settings = settings
    app.state.webhooks = webhooks
    app.state.own_webhooks = False
    install_error_handlers(app)
    app.add_exception_handler(CommandError, _broker_unavailable)
    app.include_router(routes_read.router)
    app.include_router(routes_import.router)
    app.include_router(routes_write.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_unsubscribe.router)

    @app.get("/healthz", tags=["health"], response_model=HealthResponse)
    def healthz(request: Request) -> Any:
        """Ready once the view caught up with the topic; lag and quiet time say how stale."""
        reader: Reader | None = request.app.state.reader
        if reader is None:
            return JSONResponse({"ready": False, "lag": None, "seconds_since_record": None}, 503)
        state = reader.staleness()
        body = {
            "ready": state.ready,
            "lag": state.lag,
            "seconds_since_record": state.seconds_since_record,
        }
        return JSONResponse(body, status_code=200 if state.ready else 503)

    app.add_middleware(Guard, keys=keys, limits={"import/stream": settings.import_stream_max_bytes})
    return app


def serve(settings: Settings) -> None:
    """Run the API with uvicorn on ``SUPPRESSOR_API_HOST``:``SUPPRESSOR_API_PORT``.

    The keys are read and the client started before the server, so a bad key setting
    (``ValueError``) or a missing topic (``FeedError``) stops it with a clear message.
    """
    import uvicorn

    from workers.client.commands import CommandWriter
    from workers.client.sender import SenderClient

    KeyRing.parse(settings.api_keys)
    WebhookService.check(settings)
    client = SenderClient(settings).start()
    writer = CommandWriter(settings, client)
    try:
        app = create_app(settings, client=client, writer=writer)
        uvicorn.run(app, host=settings.api_host, port=settings.api_port)
    finally:
        writer.close()
        client.stop()
