"""The policy server over a real socket: Postfix's request/response loop, bounds, HTTP decide."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from suppressor_client.decision import Decision, decide
from suppressor_client.types import ListKey, ListName, ListRecord, Reason
from suppressor_client.view import ListView

from workers.policy import server as server_module
from workers.policy.protocol import MAX_LINE, MAX_REQUEST, PolicyConfig
from workers.policy.server import Decide, PolicyServer, http_app

BLOCKED = "jane@example.com"


def _view() -> ListView:
    view = ListView()
    key = ListKey("acme", ListName.BLOCK, BLOCKED)
    view.apply(key, ListRecord(key, 1, True, reason=Reason.MANUAL))
    return view


def _decider(view: ListView) -> Callable[[], Decide | None]:
    def current(account: str, address: str, stream: str) -> Decision:
        return decide(view, account, address, stream)

    return lambda: current


def _request(recipient: str, login: str = "acme") -> bytes:
    return (
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
        f"sender=news@shop.example\nrecipient={recipient}\nsasl_username={login}\n"
        "client_address=192.0.2.1\nqueue_id=8045F2AB23\n\n"
    ).encode()


async def _exchange(port: int, *requests: bytes) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    for request in requests:
        writer.write(request)
        await writer.drain()
        out.append(await reader.readuntil(b"\n\n"))
    writer.close()
    return out


def test_one_connection_serves_many_requests() -> None:
    """Postfix keeps the connection: each request gets its answer, in order, on one socket."""

    async def run() -> list[bytes]:
        server = PolicyServer(_decider(_view()), PolicyConfig())
        port = await server.start("127.0.0.1", 0)
        try:
            requests = [_request(BLOCKED), _request("ann@example.com")]
            requests += [_request("JANE@example.com"), _request(BLOCKED, "beta")]
            return await _exchange(port, *requests)
        finally:
            await server.close()

    answers = asyncio.run(run())
    assert answers[0] == (
        b"action=REJECT 5.7.1 recipient suppressed: suppressed, reason 2 "
        b"(manual intervention) (suppressor policy)\n\n"
    )
    assert answers[1] == b"action=DUNNO\n\n"
    assert answers[2] == answers[0]  # the recipient is normalised before the lookup
    assert answers[3] == b"action=DUNNO\n\n"  # another account's list does not apply


def test_bounds_close_oversized_requests_and_extra_connections() -> None:
    """A request past MAX_REQUEST closes its connection; one past max_connections is refused."""

    async def run() -> tuple[bytes, bytes, int, int]:
        server = PolicyServer(_decider(_view()), PolicyConfig(), max_connections=1)
        port = await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"a=" + b"x" * (MAX_REQUEST + 10))
            await writer.drain()
            oversized = await reader.read()  # closed without an answer
            first_r, first_w = await asyncio.open_connection("127.0.0.1", port)
            first_w.write(_request("ann@example.com"))
            await first_r.readuntil(b"\n\n")  # the one slot is taken now
            second_r, _second_w = await asyncio.open_connection("127.0.0.1", port)
            refused = await second_r.read()
            first_w.close()
            return oversized, refused, server.counts.protocol_errors, server.counts.refused
        finally:
            await server.close()

    oversized, refused, errors, refusals = asyncio.run(run())
    assert (oversized, refused, errors, refusals) == (b"", b"", 1, 1)


def test_http_decide_answers_json() -> None:
    """GET /decide names the decision; a missing address is 400, a loading view 503."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=http_app(_decider(_view()), "marketing"))
        loading = httpx.ASGITransport(app=http_app(lambda: None, "marketing"))
        async with httpx.AsyncClient(transport=transport, base_url="http://policy") as client:
            ok = await client.get("/decide", params={"account": "acme", "address": BLOCKED})
            bad = await client.get("/decide", params={"account": "acme"})
        async with httpx.AsyncClient(transport=loading, base_url="http://policy") as client:
            busy = await client.get("/decide", params={"account": "acme", "address": BLOCKED})
        return [ok, bad, busy]

    ok, bad, busy = asyncio.run(run())
    assert ok.json() == {"allowed": False, "rule": "suppressed", "reason": 2}
    assert (bad.status_code, busy.status_code) == (400, 503)


def test_idle_connections_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection that sends nothing past the idle limit is closed by the sweeper."""
    monkeypatch.setattr(server_module, "_IDLE_SECONDS", 0.2)

    async def run() -> bytes:
        server = PolicyServer(_decider(_view()), PolicyConfig())
        port = await server.start("127.0.0.1", 0)
        try:
            reader, _writer = await asyncio.open_connection("127.0.0.1", port)
            return await asyncio.wait_for(reader.read(), 5)  # b"" once the server closed it
        finally:
            await server.close()

    assert asyncio.run(run()) == b""


def test_pipelined_and_split_requests_are_answered_in_order() -> None:
    """Two requests in one write get two answers in order; one split mid-way, even inside
    its empty line, is answered once it is whole."""

    async def run() -> tuple[bytes, bytes]:
        server = PolicyServer(_decider(_view()), PolicyConfig())
        port = await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(BLOCKED) + _request("ann@example.com"))
            both = await reader.readuntil(b"\n\n") + await reader.readuntil(b"\n\n")
            split = _request(BLOCKED)
            for part in (split[:20], split[20:-1], split[-1:]):
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(0.05)
            one = await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)
            writer.close()
            return both, one
        finally:
            await server.close()

    both, one = asyncio.run(run())
    first, second, _rest = both.split(b"\n\n")
    assert first.startswith(b"action=REJECT 5.7.1")
    assert second == b"action=DUNNO"
    assert one.startswith(b"action=REJECT 5.7.1")


def test_a_broken_request_closes_after_the_answers_before_it() -> None:
    """Pipelined requests then a malformed one in one write: the good ones are answered,
    in order, and only then is the connection closed."""

    async def run() -> tuple[bytes, int]:
        server = PolicyServer(_decider(_view()), PolicyConfig())
        port = await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(BLOCKED) + _request("ann@example.com") + b"no equals sign\n\n")
            await writer.drain()
            got = await asyncio.wait_for(reader.read(), 5)  # up to the close
            writer.close()
            return got, server.counts.protocol_errors
        finally:
            await server.close()

    got, errors = asyncio.run(run())
    first, second, rest = got.split(b"\n\n")
    assert first.startswith(b"action=REJECT 5.7.1") and second == b"action=DUNNO"
    assert (rest, errors) == (b"", 1)


def test_a_line_past_its_bound_closes_the_connection_before_the_request_ends() -> None:
    """A line of 3,000 bytes with no end yet (well under MAX_REQUEST): closed at once,
    after the answer to the request before it; a request of many short lines is not."""

    async def run() -> tuple[bytes, bytes, int]:
        server = PolicyServer(_decider(_view()), PolicyConfig())
        port = await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request("ann@example.com") + b"recipient=" + b"x" * (MAX_LINE + 952))
            await writer.drain()
            closed = await asyncio.wait_for(reader.read(), 5)  # the answer, then b"" at close
            ok_r, ok_w = await asyncio.open_connection("127.0.0.1", port)
            many = b"".join(b"x%d=%s\n" % (n, b"y" * 100) for n in range(30))  # 3 KB of lines
            ok_w.write(many + _request("ann@example.com"))
            answered = await asyncio.wait_for(ok_r.readuntil(b"\n\n"), 5)
            ok_w.close()
            return closed, answered, server.counts.protocol_errors
        finally:
            await server.close()

    closed, answered, errors = asyncio.run(run())
    assert closed == b"action=DUNNO\n\n"
    assert answered == b"action=DUNNO\n\n"
    assert errors == 1
