"""Free TCP ports on loopback, for the metrics endpoints and private brokers of tests,
benchmarks and the demo."""

from __future__ import annotations

import random
import socket

__all__ = ["free_port", "free_port_pair"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port P where P and P + 1 (the controller's) are both free, for a private broker.

    Chosen below Linux's ephemeral range (32768 and up), where the client connections of
    a busy machine take their local ports and could take P + 1 before the broker binds it.
    """
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if all(_bindable(host, p) for p in (port, port + 1)):
            return port
    raise OSError("no two adjacent free ports between 20000 and 32000 for a broker")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
