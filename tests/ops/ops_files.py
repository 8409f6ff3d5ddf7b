"""The operations files (dashboards, alert rules, compose) read the way the tests need them.

Shared by the static checks and the live Prometheus test, so both judge the same queries:
every panel target of every dashboard, every alert expression, and the metric names the
worker really exports.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from workers import metrics

__all__ = [
    "ALERTS",
    "COMPOSE",
    "DASHBOARDS",
    "GRAFANA",
    "PROMETHEUS_YML",
    "ROOT",
    "AlertRule",
    "PanelQuery",
    "alert_rules",
    "dashboards",
    "exported_series",
    "flat_panels",
    "load_yaml",
    "metric_names",
    "panel_queries",
    "require_binary",
    "substitute",
]

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_YML = ROOT / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE = ROOT / "docker-compose.yml"

WINDOWS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "5m"}
"""Grafana's interval variables, as a dashboard over the last few minutes would set them."""

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_METRIC = re.compile(r"\b(suppressor_\w+|up)\b(?=\s*[{\[)])")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}"


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON under deploy/grafana/dashboards, by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def flat_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels folded inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: dict[str, Any]) -> list[PanelQuery]:
    return [
        PanelQuery(dashboard["uid"], panel["title"], target.get("refId", "?"), target["expr"])
        for panel in flat_panels(dashboard)
        if panel.get("type") != "row"
        for target in panel.get("targets", [])
    ]


def substitute(expr: str, dashboard: dict[str, Any]) -> str:
    """The query Grafana would send: interval and template variables replaced by values.

    A variable the dashboard does not define stays in place, so Prometheus refuses it.
    """
    for name, window in WINDOWS.items():
        expr = expr.replace(name, window)
    current = {
        var["name"]: str(var.get("current", {}).get("value", ""))
        for var in dashboard.get("templating", {}).get("list", [])
        if var.get("type") != "datasource"
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return current.get(name, match.group(0))

    return _VARIABLE.sub(value, expr)


def alert_rules() -> list[AlertRule]:
    return [
        AlertRule(
            rule["alert"],
            rule["expr"],
            rule.get("labels", {}),
            rule.get("annotations", {}),
        )
        for group in load_yaml(ALERTS)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (names followed by ``{``, ``[`` or ``)``)."""
    return set(_METRIC.findall(expr))


_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported_series() -> set[str]:
    """Every series name the worker exports (workers/metrics.py), plus Prometheus's ``up``."""
    names = {"up"}
    for attr in metrics.__all__:
        collector = getattr(metrics, attr)
        if not isinstance(collector, MetricWrapperBase):
            continue
        for family in collector.describe():
            names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def require_binary(name: str) -> str:
    """The path of a Prometheus tool; its absence fails the test (never skips it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not installed: .ci/run installs Debian's prometheus package "
            "(apt-get install prometheus), which brings prometheus and promtool"
        )
    return path
