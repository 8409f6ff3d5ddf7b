"""A ``suppressor`` subcommand as a child process: started, watched until ready, stopped.

The worker and the SMTP server are both run this way by the demo, the integration tests
and the benchmarks; each says only how to start it and how to tell it is ready.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

from workers.settings import Settings

__all__ = ["ChildExited", "ChildProcess"]


class ChildExited(RuntimeError):
    """The process ended while it was expected to run; the message has its log tail."""


class ChildProcess:
    """One ``python -m workers <args>`` process with its own settings and log file."""

    args: tuple[str, ...] = ()
    name = "process"
    exited: type[ChildExited] = ChildExited
    poll_seconds = 0.2

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def ready(self) -> bool:
        """Whether the process serves; raises ``exited`` when it has ended."""
        raise NotImplementedError

    def start(self, timeout: float = 90.0) -> Self:
        """Start the process and wait until it is ready; raises TimeoutError or ``exited``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env(), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workers", *self.args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the {self.name} was not ready after {timeout:.0f}s; "
                    f"log tail:\n{self.log_tail()}"
                )
            time.sleep(self.poll_seconds)
        return self

    def check_running(self) -> None:
        """Raise ``exited`` with the log tail if the process is not running."""
        if self.proc is None or self.proc.poll() is not None:
            raise self.exited(f"the {self.name} exited; log tail:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def kill(self) -> None:
        """SIGKILL to every process of the group: the hardest crash, no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (it flushes what it holds), then SIGKILL if it does not end in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
