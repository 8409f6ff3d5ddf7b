"""``suppressor policy``: the Postfix policy service and a local HTTP ``decide``, on one view.

One asyncio loop serves both. The policy side reads whole requests (``readuntil`` the
empty line, bounded by ``MAX_REQUEST``), answers each from the sender view in
microseconds (``protocol.answer``) and keeps the connection, as Postfix expects.
Connections are bounded: past ``max_connections`` a new one is closed at once (Postfix
then applies its ``default_action``, a temporary failure by default) rather than
queued without limit; an oversized or malformed request closes its connection.

The HTTP side is for MTAs that do not speak the Postfix protocol:
``GET /decide?account=&address=&stream=`` answers ``{"allowed", "rule", "reason"}``
(503 while the view loads), served by uvicorn in the same loop, bound to loopback by
default. The view is a ``SenderClient`` (``compact=True``: the snapshot applies).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from suppressor_client.decision import Decision

from workers.policy.protocol import MAX_REQUEST, PolicyConfig, ProtocolError, answer, parse_request

__all__ = ["PolicyServer", "http_app"]

_IDLE_SECONDS = 600.0  # Postfix closes idle policy connections after 300 s (max_idle)

Decide = Callable[[str, str, str], Decision]


@dataclass
class _Counts:
    connections: int = 0
    refused: int = 0
    requests: int = 0
    protocol_errors: int = 0


class PolicyServer:
    """Serves Postfix policy requests from ``decide`` (None while the view loads)."""

    def __init__(
        self,
        decide: Callable[[], Decide | None],
        config: PolicyConfig,
        *,
        max_connections: int = 200,
    ) -> None:
        self._decide = decide
        self._config = config
        self._max = max_connections
        self.counts = _Counts()
        self._open = 0
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._idle: dict[asyncio.StreamWriter, float] = {}  # connection -> waiting since

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (port 0: any free one); the port bound."""
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_REQUEST)
        self._sweeper = asyncio.create_task(self._sweep())
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _sweep(self) -> None:
        """Close connections idle past ``_IDLE_SECONDS`` (one timer for all, not one a read)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_IDLE_SECONDS / 10)
            limit = loop.time() - _IDLE_SECONDS
            for writer, since in list(self._idle.items()):
                if since < limit:
                    writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= self._max:
            self.counts.refused += 1
            writer.close()
            return
        self._open += 1
        self.counts.connections += 1
        try:
            while True:
                self._idle[writer] = asyncio.get_running_loop().time()
                try:
                    block = await reader.readuntil(b"\n\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client went away (or the sweeper closed an idle one)
                except asyncio.LimitOverrunError:
                    self.counts.protocol_errors += 1
                    return
                try:
                    attrs = parse_request(block[:-2])
                except ProtocolError:
                    self.counts.protocol_errors += 1
                    return
                self.counts.requests += 1
                writer.write(answer(attrs, self._config, self._decide()))
                await writer.drain()
        finally:
            self._open -= 1
            self._idle.pop(writer, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def http_app(decide: Callable[[], Decide | None], stream: str) -> Starlette:
    """``GET /decide``: the decision as JSON; 400 without account or address, 503 loading."""

    async def decide_endpoint(request: Request) -> JSONResponse:
        account = request.query_params.get("account", "")
        address = request.query_params.get("address", "")
        if not account or not address or len(account) + len(address) > 1024:
            return JSONResponse(
                {"error": "give account and address (together under 1024 characters)"}, 400
            )
        current = decide()
        if current is None:
            return JSONResponse({"error": "the suppression lists are loading"}, 503)
        decision = current(account, address, request.query_params.get("stream", stream))
        reason = None if decision.reason is None else int(decision.reason)
        return JSONResponse({"allowed": decision.allowed, "rule": decision.rule, "reason": reason})

    return Starlette(routes=[Route("/decide", decide_endpoint, methods=["GET"])])
