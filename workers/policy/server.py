"""``suppressor policy``: the Postfix policy service and a local HTTP ``decide``, on one view.

One asyncio loop serves both. The policy side is an ``asyncio.Protocol`` (no stream
reader or writer, no task per connection: a request costs one callback): it collects
bytes up to the empty line that ends a request, bounded by ``MAX_REQUEST``, answers
each complete request from the sender view (``protocol.answer``) in the same callback,
pipelined ones in order, and keeps the connection, as Postfix expects. Connections are
bounded: past ``max_connections`` a new one is closed at once (Postfix then applies its
``default_action``, a temporary failure by default) rather than queued without limit;
an oversized or malformed request closes its connection. A client that does not read
its answers stops being read (the transport's write buffer is bounded).

The HTTP side is for MTAs that do not speak the Postfix protocol:
``GET /decide?account=&address=&stream=`` answers ``{"allowed", "rule", "reason"}``
(503 while the view loads), served by uvicorn in the same loop, bound to loopback by
default. The view is a ``SenderClient`` (``compact=True``: the snapshot applies).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from suppressor_client.decision import Decision

from workers.policy.protocol import (
    MAX_LINE,
    MAX_REQUEST,
    PolicyConfig,
    ProtocolError,
    answer,
    parse_request,
)

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
        self._idle: dict[asyncio.Transport, float] = {}  # connection -> waiting since

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (port 0: any free one); the port bound."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
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
            for transport, since in list(self._idle.items()):
                if since < limit:
                    transport.close()

    def _answer(self, block: bytes) -> bytes:
        """The answer to one request (without its empty line); ``ProtocolError`` if broken."""
        attrs = parse_request(block)
        self.counts.requests += 1
        return answer(attrs, self._config, self._decide())


class _Connection(asyncio.Protocol):
    """One policy client: bytes in, an answer out per complete request."""

    def __init__(self, server: PolicyServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        server = self._server
        if server._open >= server._max:
            server.counts.refused += 1
            transport.close()
            return
        server._open += 1
        server.counts.connections += 1
        self._transport = transport
        server._idle[transport] = asyncio.get_running_loop().time()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        buffer = self._buffer
        scanned = max(len(buffer) - 1, 0)  # an empty line may straddle two reads
        buffer += data
        answers = []
        start = 0
        while (end := buffer.find(b"\n\n", max(start, scanned))) >= 0:
            if end - start > MAX_REQUEST:
                break
            try:
                answers.append(self._server._answer(bytes(buffer[start:end])))
            except ProtocolError:
                self._refuse(transport, answers)
                return
            start = end + 2
        del buffer[:start]
        if len(buffer) > MAX_REQUEST or (
            len(buffer) > MAX_LINE and len(buffer) - buffer.rfind(b"\n") - 1 > MAX_LINE
        ):  # a request, or the line being read, past its bound: not worth waiting for its end
            self._refuse(transport, answers)
            return
        if answers:
            transport.write(b"".join(answers))
            self._server._idle[transport] = asyncio.get_running_loop().time()

    def _refuse(self, transport: asyncio.Transport, answers: list[bytes]) -> None:
        """Close on a broken request, after the answers to the good ones before it (a
        pipelining client has them; ``close`` sends what is buffered first)."""
        self._server.counts.protocol_errors += 1
        if answers:
            transport.write(b"".join(answers))
        transport.close()

    def pause_writing(self) -> None:
        """The client is not reading its answers: stop reading its requests."""
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._server._open -= 1
            self._server._idle.pop(self._transport, None)
            self._transport = None


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
