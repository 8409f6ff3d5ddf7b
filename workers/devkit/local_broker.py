"""A real single-node Apache Kafka broker (KRaft) for laptops, CI and tests, without Docker.

The broker's jars come from Maven Central (``deploy/kafka/pom.xml``) into the git-ignored
cache; storage is formatted once; the broker runs as a detached ``java`` process whose
pid file lets a second ``start`` reuse it and ``stop`` end it. Readiness means the broker
answered a metadata request, not that the port is open.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from workers.settings import Settings

__all__ = [
    "BrokerError",
    "LocalBroker",
    "broker_answers",
    "main",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POM = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
LOG4J = PROJECT_ROOT / "deploy" / "kafka" / "log4j.properties"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class BrokerError(RuntimeError):
    """The local broker cannot be fetched, started or stopped; the message says what to do."""


def broker_answers(bootstrap: str, timeout: float = 3.0) -> bool:
    """Whether a Kafka broker at ``bootstrap`` answers a metadata request in time."""
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000), "log_level": 0}
    )
    try:
        admin.list_topics(timeout=timeout)
    except Exception:
        return False
    return True


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


@dataclass(frozen=True)
class LocalBroker:
    """The files and ports of one local broker, all derived from the settings."""

    version: str
    port: int
    cache_dir: Path
    host: str = "127.0.0.1"
    say: Callable[[str], None] = print

    @classmethod
    def from_settings(cls, settings: Settings, say: Callable[[str], None] = print) -> LocalBroker:
        cache = settings.cache_dir
        if not cache.is_absolute():
            cache = PROJECT_ROOT / cache
        return cls(settings.local_kafka_version, settings.local_kafka_port, cache, say=say)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def lib_dir(self) -> Path:
        return self.cache_dir / "kafka" / self.version / "lib"

    @property
    def run_dir(self) -> Path:
        return self.cache_dir / "kafka" / "run" / str(self.port)

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / "broker.log"

    # --- jars -----------------------------------------------------------------------

    def jars_ready(self) -> bool:
        return (self.lib_dir / f"kafka_2.13-{self.version}.jar").is_file()

    def fetch(self) -> None:
        """Resolve the broker's jars through Maven into the cache (once per version)."""
        if self.jars_ready():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven (mvn) is not on PATH: install it (apt-get install maven) "
                "or point KAFKA_BOOTSTRAP_SERVERS at a running broker."
            )
        if shutil.which("java") is None:
            raise BrokerError(
                "Java is not on PATH: install a JDK 17 (apt-get install openjdk-17-jre)."
            )
        self.say(
            f"fetching Apache Kafka {self.version} jars from Maven Central into {self.lib_dir} ..."
        )
        partial = self.lib_dir.with_name("lib.partial")
        shutil.rmtree(partial, ignore_errors=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-Dkafka.version={self.version}", f"-DoutputDirectory={partial}",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise BrokerError(
                "Maven could not resolve the Kafka jars; its last lines:\n  "
                + "\n  ".join(tail)
                + "\nCheck that Maven Central is reachable, then run again."
            )
        partial.rename(self.lib_dir)
        self.say(f"fetched {len(list(self.lib_dir.glob('*.jar')))} jars")

    # --- process ----------------------------------------------------------------------

    def running_pid(self) -> int | None:
        """The pid of our broker if its pid file names a live process, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _java_cmd(self, main_class: str, *args: str) -> list[str]:
        return [
            "java", "-Xms256m", "-Xmx768m", "-XX:+UseG1GC",
            f"-Dlog4j.configuration=file:{LOG4J}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp", f"{self.lib_dir}/*", main_class, *args,
        ]  # fmt: skip

    def _write_config(self) -> Path:
        data = self.run_dir / "data"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.retention.hours": "24",
            "log.cleaner.backoff.ms": "1000",
            "delete.topic.enable": "true",
        }
        config = self.run_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return config

    def _format(self, config: Path) -> None:
        if (self.run_dir / "data" / "meta.properties").is_file():
            return
        cluster_id = str(uuid.uuid4().hex[:22])
        cmd = self._java_cmd(
            "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)
        )
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed:\n{result.stdout}{result.stderr}")

    def start(self) -> str:
        """Start the broker (or reuse the running one) and return its bootstrap address."""
        pid = self.running_pid()
        if pid is not None:
            if broker_answers(self.bootstrap):
                self.say(
                    f"local broker already running (pid {pid}) at {self.bootstrap}: reusing it"
                )
                return self.bootstrap
            self.say(f"local broker pid {pid} is alive but not answering yet; waiting for it")
            self._wait_ready(pid)
            return self.bootstrap
        if self.pid_file.exists():
            self.say(f"removing stale pid file {self.pid_file} (no such process)")
            self.pid_file.unlink()
        for port in (self.port, self.controller_port):
            if _port_open(self.host, port):
                raise BrokerError(
                    f"port {self.host}:{port} is in use by a process this tool did not start. "
                    "Stop it, set SUPPRESSOR_LOCAL_KAFKA_PORT to a free port, or, if it is a "
                    f"Kafka broker you want to use, set KAFKA_BOOTSTRAP_SERVERS={self.host}:{port}."
                )
        self.fetch()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format(config)
        out = (self.run_dir / "broker.out").open("ab")
        proc = subprocess.Popen(
            self._java_cmd("kafka.Kafka", str(config)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid_file.write_text(f"{proc.pid}\n")
        self.say(f"started local Kafka {self.version} broker (pid {proc.pid}) at {self.bootstrap}")
        self._wait_ready(proc.pid)
        return self.bootstrap

    def _wait_ready(self, pid: int) -> None:
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT_S:
            if not _pid_alive(pid):
                tail = self._log_tail()
                raise BrokerError(
                    f"the broker process exited during start-up; last log lines:\n{tail}"
                )
            if broker_answers(self.bootstrap, timeout=2.0):
                self.say(
                    f"broker answers metadata requests after {time.monotonic() - started:.1f}s"
                )
                return
            time.sleep(0.5)
        raise BrokerError(
            f"the broker did not answer within {START_TIMEOUT_S:.0f}s; see {self.log_file}:\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        for path in (self.log_file, self.run_dir / "broker.out"):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()
                if text:
                    return "\n".join(text[-lines:])
        return "(no log written)"

    def stop(self) -> bool:
        """Stop our broker (SIGTERM, then SIGKILL); returns whether one was running."""
        pid = self.running_pid()
        if pid is None:
            if self.pid_file.exists():
                self.pid_file.unlink()
                self.say("removed stale pid file; no broker was running")
            else:
                self.say("no local broker is running")
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.2)
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
            self.say(f"broker pid {pid} did not stop in {STOP_TIMEOUT_S:.0f}s: killed")
        else:
            self.say(f"stopped local broker (pid {pid})")
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> str:
        pid = self.running_pid()
        if pid is None:
            return "stopped"
        answering = "answering" if broker_answers(self.bootstrap) else "not answering"
        return f"running (pid {pid}) at {self.bootstrap}, {answering}"


def main(argv: list[str] | None = None) -> int:
    """``python -m workers.devkit.local_broker fetch|start|stop|status``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in {"fetch", "start", "stop", "status"}:
        print("usage: local_broker fetch|start|stop|status", file=sys.stderr)
        return 2
    broker = LocalBroker.from_settings(Settings.from_env())
    try:
        if args[0] == "fetch":
            broker.fetch()
            print(f"jars ready in {broker.lib_dir}")
        elif args[0] == "start":
            broker.start()
        elif args[0] == "stop":
            broker.stop()
        else:
            print(broker.status())
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
