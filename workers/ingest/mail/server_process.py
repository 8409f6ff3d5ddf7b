"""A ``suppressor mail serve`` child process, started and watched until it answers SMTP.

Used by the demo, the integration tests and the benchmark, so all three judge readiness
the same way: the server's 220 greeting on its port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from workers.settings import Settings

__all__ = ["MailServerExited", "MailServerProcess", "smtp_answers"]


class MailServerExited(RuntimeError):
    """The server process ended while it was expected to run; the message has its log tail."""


def smtp_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether an SMTP server greets with 220 on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            greeting = sock.recv(512)
            sock.sendall(b"QUIT\r\n")
    except OSError:
        return False
    return greeting.startswith(b"220")


class MailServerProcess:
    """One SMTP server process with its own settings and log file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> MailServerProcess:
        """Start it and wait for its greeting; raises TimeoutError or MailServerExited."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env(), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workers", "mail", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not smtp_answers(self.settings.mail_host, self.settings.mail_port):
            if self.proc.poll() is not None:
                raise MailServerExited(f"the mail server exited; log tail:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the mail server did not answer after {timeout:.0f}s; "
                                   f"log tail:\n{self.log_tail()}")  # fmt: skip
            time.sleep(0.1)
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the server flushes its producer), then SIGKILL if it does not end."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
