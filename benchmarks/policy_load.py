"""Load for the Postfix policy service: Postfix's own request/response loop, many connections.

Each connection sends one RCPT request, waits for its answer, and sends the next, as a
Postfix smtpd process does; ``connections`` of them run at once. Used by
``bench_client.py``; prints nothing itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

__all__ = ["run_load"]


def _request(account: str, recipient: str) -> bytes:
    return (
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
        f"sender=news@{account}.example\nrecipient={recipient}\nsasl_username={account}\n"
        "client_address=192.0.2.10\nclient_name=mx.example\nqueue_id=8045F2AB23\n"
        "recipient_count=0\nsize=12345\n\n"
    ).encode()


async def _connection(
    port: int, requests: Sequence[bytes], latencies: list[float], answers: list[bytes]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in requests:
        started = time.perf_counter()
        writer.write(request)
        answers.append(await reader.readuntil(b"\n\n"))
        latencies.append(time.perf_counter() - started)
    writer.close()


async def _load(
    port: int, account: str, recipients: Sequence[str], connections: int
) -> tuple[float, list[float], list[bytes]]:
    shares = [
        [_request(account, r) for r in recipients[i::connections]] for i in range(connections)
    ]
    latencies: list[float] = []
    answers: list[bytes] = []
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, s, latencies, answers) for s in shares))
    return time.perf_counter() - started, latencies, answers


def run_load(
    port: int, account: str, recipients: Sequence[str], connections: int
) -> tuple[float, list[float], list[bytes]]:
    """(seconds, per-request latencies in seconds, answers) for one request per recipient."""
    return asyncio.run(_load(port, account, recipients, connections))
