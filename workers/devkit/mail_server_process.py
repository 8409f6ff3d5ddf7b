"""A ``suppressor mail serve`` child process, started and watched until it answers SMTP.

Used by the demo, the integration tests and the benchmark, so all three judge readiness
the same way: the server's 220 greeting on its port.
"""

from __future__ import annotations

import socket

from workers.devkit.child_process import ChildExited, ChildProcess

__all__ = ["MailServerExited", "MailServerProcess", "smtp_answers"]


class MailServerExited(ChildExited):
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


class MailServerProcess(ChildProcess):
    """One SMTP server process with its own settings and log file."""

    args = ("mail", "serve")
    name = "mail server"
    exited = MailServerExited
    poll_seconds = 0.1

    def start(self, timeout: float = 30.0) -> MailServerProcess:
        return super().start(timeout)

    def ready(self) -> bool:
        """Whether it greets on its port; raises ``MailServerExited`` when it has ended."""
        self.check_running()
        return smtp_answers(self.settings.mail_host, self.settings.mail_port)
