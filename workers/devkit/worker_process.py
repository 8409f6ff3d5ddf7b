"""A ``suppressor worker`` child process: started, watched until ready, killed or stopped.

Used by the demo, the integration tests and the benchmarks, so all three judge
readiness the same way: the worker's own ``suppressor_worker_ready`` gauge.
"""

from __future__ import annotations

from urllib.request import urlopen

import psutil

from workers.devkit.child_process import ChildExited, ChildProcess

__all__ = ["WorkerExited", "WorkerProcess"]


class WorkerExited(ChildExited):
    """The worker process ended while it was expected to run; the message has its log tail."""


class WorkerProcess(ChildProcess):
    """One worker process with its own settings and log file."""

    args = ("worker",)
    name = "worker"
    exited = WorkerExited

    def ready(self) -> bool:
        """Whether both stages say they run: tables recovered, front stage assigned."""
        self.check_running()
        url = f"http://127.0.0.1:{self.settings.metrics_port}/metrics"
        try:
            with urlopen(url, timeout=1) as response:
                body: bytes = response.read()
        except OSError:
            return False
        return b"suppressor_worker_ready 1.0" in body and b"suppressor_front_ready 1.0" in body

    def rss_bytes(self) -> int:
        """Resident memory of the worker process."""
        if self.proc is None:
            return 0
        info: int = psutil.Process(self.proc.pid).memory_info().rss
        return info
