"""Runs ``suppressor policy``: a compact sender view, the Postfix service and the HTTP decide.

The view is a ``SenderClient(compact=True)`` (with ``SUPPRESSOR_SNAPSHOT_PATH`` set, a
restart is ready in seconds); both servers answer from it in one asyncio loop until
interrupted, and the client writes its snapshot on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from workers.client.sender import DECISION_LISTS, SenderClient
from workers.kafka.topics import SUPPRESSIONS
from workers.policy.protocol import AccountSource, PolicyConfig, parse_account_map
from workers.policy.server import Decide, PolicyServer, http_app
from workers.settings import Settings

__all__ = ["policy_config", "run_policy", "serve"]


def policy_config(settings: Settings) -> PolicyConfig:
    """The protocol's configuration from the settings; ``ValueError`` for a bad map."""
    source = AccountSource(settings.policy_account)
    table = parse_account_map(settings.policy_account_map)
    if source is AccountSource.MAP and not table:
        raise ValueError("SUPPRESSOR_POLICY_ACCOUNT=map needs SUPPRESSOR_POLICY_ACCOUNT_MAP")
    return PolicyConfig(settings.policy_action, source, table, settings.policy_stream)


def decider(client: SenderClient) -> Callable[[], Decide | None]:
    """``client.decide`` once the view is ready, None before."""
    return lambda: client.decide if client.ready else None


async def serve(settings: Settings, client: SenderClient, say: Callable[[str], None]) -> None:
    """Serve both sides until cancelled."""
    import uvicorn

    current = decider(client)
    policy = PolicyServer(current, policy_config(settings),
                          max_connections=settings.policy_max_connections)  # fmt: skip
    port = await policy.start(settings.policy_host, settings.policy_port)
    say(f"postfix policy service on {settings.policy_host}:{port}")
    http: uvicorn.Server | None = None
    tasks: list[asyncio.Task[None]] = []
    if settings.policy_http_port:
        config = uvicorn.Config(
            http_app(current, settings.policy_stream),
            host=settings.policy_host,
            port=settings.policy_http_port,
            log_level="warning",
            limit_concurrency=settings.policy_max_connections,
        )
        http = uvicorn.Server(config)
        tasks.append(asyncio.create_task(http.serve()))
        say(f"http decide on http://{settings.policy_host}:{settings.policy_http_port}/decide")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # both end it cleanly: the snapshot is written
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        if http is not None:
            http.should_exit = True
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await policy.close()


def run_policy(settings: Settings, say: Callable[[str], None]) -> None:
    """Start the view, then serve until SIGINT or SIGTERM; the client then writes its snapshot."""
    client = SenderClient(settings, compact=True, lists=DECISION_LISTS, on_error=say)
    client.start()
    say(f"reading {settings.topic(SUPPRESSIONS)} (snapshot: {client.snapshot_status})")
    try:
        asyncio.run(serve(settings, client, say))
    finally:
        client.stop()
