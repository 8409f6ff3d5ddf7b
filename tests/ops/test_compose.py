"""docker-compose.yml checked without a Docker engine: it parses, runs real commands with
real settings, mounts files that exist, and wires Prometheus and Grafana to each other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from tests.ops.ops_files import COMPOSE, GRAFANA, PROMETHEUS_YML, ROOT, load_yaml
from workers.cli.main import app
from workers.settings import FIELDS, Settings

SPEC = load_yaml(COMPOSE)
SERVICES: dict[str, dict[str, Any]] = SPEC["services"]
OURS = {name for name, svc in SERVICES.items() if "build" in svc}
"""Services of this project's image: each builds it from the Dockerfile."""
_DEFAULT = re.compile(r"\$\{(\w+):?-([^}]*)\}")


def _cli_commands() -> set[tuple[str, ...]]:
    """Every command path of the `suppressor` CLI, e.g. ("worker",), ("broker", "start")."""
    paths: set[tuple[str, ...]] = set()

    def walk(command: Any, prefix: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)  # a group (typer vendors click)
        if subcommands is None:
            paths.add(prefix)
            return
        for name, sub in subcommands.items():
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return paths


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as compose resolves it when no shell variable is set."""
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping"
    return {k: _DEFAULT.sub(lambda m: m.group(2), str(v)) for k, v in env.items()}


def test_the_stack_has_every_part_of_the_issue() -> None:
    """Kafka (official 3.9.1 image, KRaft), the worker, the API, Prometheus and Grafana."""
    assert {"kafka", "worker", "api", "prometheus", "grafana"} <= SERVICES.keys()
    kafka = SERVICES["kafka"]
    assert kafka["image"] == f"apache/kafka:{Settings().local_kafka_version}"
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert SERVICES["prometheus"]["image"].startswith("prom/prometheus:")
    assert SERVICES["grafana"]["image"].startswith("grafana/grafana:")
    assert {"worker", "api"} <= OURS
    for name in OURS:
        assert SERVICES[name]["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_our_services_run_real_suppressor_subcommands() -> None:
    """Every service of our image runs `suppressor <subcommand>` that the CLI really has; the
    worker and API run `suppressor worker` and `suppressor api`."""
    commands = _cli_commands()
    for name in OURS:
        command = SERVICES[name]["command"]
        assert command[0] == "suppressor", name
        assert tuple(command[1:]) in commands, f"{name}: {command} is not a CLI command"
    assert SERVICES["worker"]["command"] == ["suppressor", "worker"]
    assert SERVICES["api"]["command"] == ["suppressor", "api"]


def test_official_images_keep_their_own_command() -> None:
    """Services of official images do not run a suppressor command (they keep the image's)."""
    for name, service in SERVICES.items():
        if name not in OURS:
            assert "suppressor" not in str(service.get("command", "")), name


def test_our_services_set_only_settings_variables_that_parse() -> None:
    """Every variable a service of our image sets is a Settings variable, and Settings reads the
    whole environment without an error."""
    variables = {var for var, _default, _help in FIELDS}
    for name in OURS:
        env = _environment(SERVICES[name])
        assert env.keys() <= variables, f"{name}: {sorted(env.keys() - variables)}"
        Settings.from_env(env)
    api = Settings.from_env(_environment(SERVICES["api"]))
    assert api.api_host == "0.0.0.0"
    assert f"{api.api_port}:{api.api_port}" in SERVICES["api"]["ports"]


def test_every_mounted_host_file_exists() -> None:
    """Each bind mount's host path exists in the checkout."""
    mounts = [
        (name, volume.split(":")[0])
        for name, service in SERVICES.items()
        for volume in service.get("volumes", [])
    ]
    binds = [(name, host) for name, host in mounts if host.startswith((".", "/"))]
    assert binds, "no bind mounts found"
    for name, host in binds:
        assert (ROOT / host).resolve().exists(), f"{name} mounts {host}, which does not exist"
    named = {host for _name, host in mounts if not host.startswith((".", "/"))}
    assert named <= SPEC.get("volumes", {}).keys()


def _mount_target(service: str, host: Path) -> str:
    for volume in SERVICES[service]["volumes"]:
        source, target, *_ro = volume.split(":")
        if (ROOT / source).resolve() == host:
            return str(target)
    raise AssertionError(f"{service} does not mount {host}")


def test_prometheus_grafana_and_worker_are_wired_together() -> None:
    """Prometheus scrapes the worker's and the mail server's metrics ports (one job each)
    and loads the mounted rules; Grafana's datasource is that Prometheus and its dashboard
    provider reads the mounted dashboards."""
    prom = load_yaml(PROMETHEUS_YML)
    worker = Settings.from_env(_environment(SERVICES["worker"]))
    mail = Settings.from_env(_environment(SERVICES["mail"]))
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in prom["scrape_configs"]
    }
    assert targets == {
        "suppressor-worker": [f"worker:{worker.metrics_port}"],
        "suppressor-mail": [f"mail:{mail.mail_metrics_port}"],
    }
    assert f"{mail.mail_metrics_port}:{mail.mail_metrics_port}" in SERVICES["mail"]["ports"]
    assert {"worker", "mail"} <= set(SERVICES["prometheus"]["depends_on"])
    rules = _mount_target("prometheus", PROMETHEUS_YML.parent / "alerts.yml")
    assert prom["rule_files"] == [rules]
    assert _mount_target("prometheus", PROMETHEUS_YML) == "/etc/prometheus/prometheus.yml"
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert "9090:9090" in SERVICES["prometheus"]["ports"]
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "suppressor.yml")
    path = provider["providers"][0]["options"]["path"]
    assert _mount_target("grafana", GRAFANA / "dashboards") == path
    assert _mount_target("grafana", GRAFANA / "provisioning") == "/etc/grafana/provisioning"


def test_the_mail_server_serves_smtp_for_its_bounce_domain() -> None:
    """The mail service runs `suppressor mail serve` on 0.0.0.0, publishes its SMTP port, and
    its settings give a VERP template (so a bounce domain) that parses."""
    from workers.ingest.mail.config import bounce_domains, mail_config

    mail = SERVICES["mail"]
    assert mail["command"] == ["suppressor", "mail", "serve"]
    settings = Settings.from_env(_environment(mail))
    assert settings.mail_host == "0.0.0.0"
    assert f"{settings.mail_port}:{settings.mail_port}" in mail["ports"]
    assert mail_config(settings).verp is not None
    assert bounce_domains(settings) == {"bounces.localhost"}
