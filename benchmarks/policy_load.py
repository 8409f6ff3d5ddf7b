"""Load for the Postfix policy service: Postfix's own request/response loop, many connections.

Each connection sends one RCPT request, waits for its answer, and sends the next, as a
Postfix smtpd process does. Two shapes:

- ``run_load``: every connection sends its next request as soon as it has the answer
  (closed loop): the most the service answers per second. Its latencies are mostly
  queueing: with ``connections`` requests always in flight, the mean is
  ``connections / rate`` whatever the service costs;
- ``run_paced``: requests start at a fixed rate (open loop) on whichever connection is
  free: the latency a mail server sees at that rate. A request that found every
  connection waiting for an answer counts from the moment it was due (the service's
  queue); any other from when it was sent, so the client's own timer (the selector
  wakes in whole milliseconds) is not charged to the service.

The client is one thread on non-blocking sockets and ``selectors`` (no asyncio): about
a fifth of what an asyncio stream client costs per request, which matters when it
shares the machine's cores with the service it measures. Used by ``bench_client.py``;
prints nothing itself.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["run_load", "run_paced"]

_TICK = 0.001  # the selector's wait while paced requests are not due yet (epoll: whole ms)


def _request(account: str, recipient: str) -> bytes:
    return (
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
        f"sender=news@{account}.example\nrecipient={recipient}\nsasl_username={account}\n"
        "client_address=192.0.2.10\nclient_name=mx.example\nqueue_id=8045F2AB23\n"
        "recipient_count=0\nsize=12345\n\n"
    ).encode()


@dataclass
class _Conn:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    since: float = 0.0  # when the request in flight was due (paced) or sent


@dataclass
class _Run:
    """The connections, the requests still to send, and what came back."""

    requests: list[bytes]
    latencies: list[float] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)
    sent: int = 0

    def send(self, conn: _Conn, since: float) -> None:
        conn.since = since
        conn.sock.sendall(self.requests[self.sent])
        self.sent += 1


def _connect(port: int, count: int, selector: selectors.BaseSelector) -> list[_Conn]:
    conns = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        conn = _Conn(sock)
        selector.register(sock, selectors.EVENT_READ, conn)
        conns.append(conn)
    return conns


def _receive(conn: _Conn, run: _Run) -> bool:
    """Read what arrived; whether the answer in flight is complete (the connection free)."""
    chunk = conn.sock.recv(65536)
    if not chunk:
        raise ConnectionError("the policy service closed a connection")
    conn.buffer += chunk
    end = conn.buffer.find(b"\n\n")
    if end < 0:
        return False
    run.latencies.append(time.perf_counter() - conn.since)
    run.answers.append(bytes(conn.buffer[: end + 2]))
    del conn.buffer[: end + 2]
    return True


def _ready(
    selector: selectors.BaseSelector, wait: float
) -> list[tuple[selectors.SelectorKey, int]]:
    """The connections with something to read; ``TimeoutError`` after a long silence."""
    events = selector.select(wait)
    if not events and wait >= 1.0:
        raise TimeoutError(f"the policy service sent nothing for {wait:.0f} s")
    return events


def _close(conns: list[_Conn], selector: selectors.BaseSelector) -> None:
    for conn in conns:
        selector.unregister(conn.sock)
        conn.sock.close()
    selector.close()


def run_load(
    port: int, account: str, recipients: Sequence[str], connections: int
) -> tuple[float, list[float], list[bytes]]:
    """(seconds, per-request latencies in seconds, answers) for one request per recipient,
    each connection sending its next request as soon as it has the answer."""
    run = _Run([_request(account, r) for r in recipients])
    selector = selectors.DefaultSelector()
    conns = _connect(port, min(connections, len(run.requests)), selector)
    started = time.perf_counter()
    try:
        for conn in conns:
            run.send(conn, time.perf_counter())
        while len(run.answers) < len(run.requests):
            for key, _events in _ready(selector, 5.0):
                conn = key.data
                if _receive(conn, run) and run.sent < len(run.requests):
                    run.send(conn, time.perf_counter())
    finally:
        _close(conns, selector)
    return time.perf_counter() - started, run.latencies, run.answers


def run_paced(
    port: int, account: str, recipients: Sequence[str], connections: int, rate: float
) -> tuple[float, list[float], list[bytes]]:
    """As ``run_load``, but request k is due ``k / rate`` seconds after the start and sent
    on the first free connection; its latency counts from when it was due if no
    connection was free then, else from when it was sent."""
    run = _Run([_request(account, r) for r in recipients])
    selector = selectors.DefaultSelector()
    conns = _connect(port, connections, selector)
    free = list(conns)
    started = time.perf_counter()
    stalled = 0.0  # the last moment a due request found no free connection
    try:
        while len(run.answers) < len(run.requests):
            # answers first: what arrived while this client was not running frees connections
            pending = run.sent < len(run.requests)
            due_now = free and pending and started + run.sent / rate <= time.perf_counter()
            for key, _events in _ready(selector, 0.0 if due_now else _TICK if pending else 5.0):
                if _receive(key.data, run):
                    free.append(key.data)
            now = time.perf_counter()
            while run.sent < len(run.requests):
                due = started + run.sent / rate
                if due > now:
                    break
                if not free:
                    stalled = now
                    break
                run.send(free.pop(), due if due <= stalled else time.perf_counter())
    finally:
        _close(conns, selector)
    return time.perf_counter() - started, run.latencies, run.answers
