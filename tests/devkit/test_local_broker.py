"""The local broker's guard rails, without starting Java: stale pid files and busy ports."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from workers.devkit.local_broker import BrokerError, LocalBroker
from workers.devkit.net_ports import free_port_pair


def _broker(tmp_path: Path, port: int, lines: list[str]) -> LocalBroker:
    return LocalBroker("3.9.1", port, tmp_path, say=lines.append)


def test_a_stale_pid_file_is_reported_and_removed(tmp_path: Path) -> None:
    """A pid file naming no live process reads as stopped, and stop() says it removed it."""
    lines: list[str] = []
    broker = _broker(tmp_path, 1, lines)
    broker.pid_file.parent.mkdir(parents=True)
    broker.pid_file.write_text("999999999\n")
    assert broker.running_pid() is None
    assert broker.status() == "stopped"
    assert broker.stop() is False
    assert not broker.pid_file.exists()
    assert any("stale pid file" in line for line in lines)


def test_a_port_in_use_gives_a_clear_message(tmp_path: Path) -> None:
    """Starting on a port another process listens on fails at once, saying what to do."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        broker = _broker(tmp_path, port, [])
        with pytest.raises(BrokerError, match=r"in use.*SUPPRESSOR_LOCAL_KAFKA_PORT"):
            broker.start()
    assert not broker.lib_dir.exists()  # refused before fetching anything


def test_a_port_pair_for_a_private_broker_is_free_and_outside_the_ephemeral_range() -> None:
    """The broker binds P and the controller P + 1: both must be free."""
    port = free_port_pair()
    assert 20000 <= port < 32000
    for p in (port, port + 1):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", p))  # raises if taken
