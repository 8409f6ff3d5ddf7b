"""A ``suppressor worker`` child process: started, watched until ready, killed or stopped.

Used by the demo, the integration tests and the benchmarks, so all three judge
readiness the same way: the worker's own ``suppressor_worker_ready`` gauge.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import psutil

from workers.settings import Settings

__all__ = ["WorkerExited", "WorkerProcess"]


class WorkerExited(RuntimeError):
    """The worker process ended while it was expected to run; the message has its log tail."""


class WorkerProcess:
    """One worker process with its own settings and log file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        """Start the process and wait until it is ready; raises TimeoutError or WorkerExited."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env(), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "workers", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the worker was not ready after {timeout:.0f}s; log tail:\n{self.log_tail()}"
                )
            time.sleep(0.2)
        return self

    def ready(self) -> bool:
        """Whether both stages say they run: tables recovered, front stage assigned."""
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerExited(f"the worker exited; log tail:\n{self.log_tail()}")
        url = f"http://127.0.0.1:{self.settings.metrics_port}/metrics"
        try:
            with urlopen(url, timeout=1) as response:
                body: bytes = response.read()
        except OSError:
            return False
        return b"suppressor_worker_ready 1.0" in body and b"suppressor_front_ready 1.0" in body

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def rss_bytes(self) -> int:
        """Resident memory of the worker process."""
        if self.proc is None:
            return 0
        info: int = psutil.Process(self.proc.pid).memory_info().rss
        return info

    def kill(self) -> None:
        """SIGKILL to every process of the worker: the hardest crash, no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
