"""Grafana dashboards and alert rules: what Grafana and Prometheus need to load them."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from tests.ops.ops_files import (
    ALERTS,
    GRAFANA,
    alert_rules,
    dashboards,
    exported_series,
    flat_panels,
    load_yaml,
    metric_names,
    panel_queries,
    require_binary,
)

DATASOURCE = "${datasource}"
BOARDS = dashboards()


def test_there_are_the_operations_and_the_lists_dashboards() -> None:
    """Both dashboards of the issue exist, with distinct uids Grafana accepts (<= 40 chars)."""
    uids = [board["uid"] for board in BOARDS.values()]
    assert set(uids) == {"suppressor-operations", "suppressor-lists"}
    assert all(0 < len(uid) <= 40 for uid in uids)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_has_title_schema_version_and_datasource_variable(name: str) -> None:
    """A provisioned dashboard needs a title and schemaVersion, and picks its datasource by a
    `datasource` variable of type datasource (Prometheus), never by a fixed uid."""
    board = BOARDS[name]
    assert board["title"].strip()
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    variables = {var["name"]: var for var in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for var in variables.values():
        if "datasource" in var:
            assert var["datasource"]["uid"] == DATASOURCE, var["name"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panel_ids_are_unique_and_every_panel_has_targets(name: str) -> None:
    """No two panels share an id; every panel that is not a row has at least one target, each
    with a refId unique within the panel, an expression, and the datasource variable."""
    panels = list(flat_panels(BOARDS[name]))
    duplicates = [pid for pid, n in Counter(p["id"] for p in panels).items() if n > 1]
    assert not duplicates, f"duplicate panel ids: {duplicates}"
    for panel in panels:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys(), panel["title"]
        if panel["type"] == "row":
            continue
        targets = panel.get("targets", [])
        assert targets, f"panel {panel['title']!r} has no targets"
        assert panel["datasource"]["uid"] == DATASOURCE, panel["title"]
        refs = [t["refId"] for t in targets]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in targets:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == DATASOURCE, panel["title"]


def test_every_query_and_rule_uses_only_metrics_the_worker_exports() -> None:
    """Each metric a panel or alert selects is one workers/metrics.py defines (or `up`), so a
    renamed metric breaks this test rather than a dashboard in production."""
    known = exported_series()
    exprs = [q.expr for board in BOARDS.values() for q in panel_queries(board)]
    exprs += [rule.expr for rule in alert_rules()]
    used = set().union(*(metric_names(e) for e in exprs))
    assert used, "no metric names found in the queries"
    assert used <= known, f"unknown metrics: {sorted(used - known)}"


def test_the_issue_panels_are_there() -> None:
    """The operations and lists dashboards chart what the issue lists, by the right labels,
    and the bounce mail server's health, throughput, dead letters and refusals."""
    queries = [q.expr for board in BOARDS.values() for q in panel_queries(board)]
    wanted = [
        "sum by (topic) (rate(suppressor_events_in_total",
        "sum by (outcome, rule) (rate(suppressor_customer_events_total",
        "sum by (topic, error) (rate(suppressor_dlq_records_total",
        "histogram_quantile(0.5, ",
        "histogram_quantile(0.99, ",
        "suppressor_consumer_lag_records",
        "suppressor_worker_ready",
        "sum by (table) (suppressor_table_keys",
        "suppressor_expiries_total",
        "sum by (reason) (suppressor_entries",
        "sum by (category) (suppressor_entries",
        "topk($topn, sum by (domain) (suppressor_entries_by_domain",
        'sum(up{job=~"$mail_job"})',
        "sum(rate(suppressor_mail_received_total",
        "sum by (reason) (rate(suppressor_mail_refused_total",
        "sum by (error) (rate(suppressor_mail_unresolved_total",
    ]
    missing = [w for w in wanted if not any(w in q for q in queries)]
    assert not missing, missing


def test_provisioning_points_grafana_at_the_dashboards_and_prometheus() -> None:
    """The datasource file provisions a default Prometheus; the dashboard provider loads files."""
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (only,) = datasource["datasources"]
    assert only["type"] == "prometheus" and only["isDefault"] is True and only["uid"]
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "suppressor.yml")
    (files,) = provider["providers"]
    assert files["type"] == "file" and files["options"]["path"].startswith("/")


def test_every_alert_has_severity_summary_and_what_to_do() -> None:
    """Each alert of the issue exists with a severity, a summary and a description of what to do."""
    rules = {rule.name: rule for rule in alert_rules()}
    assert {
        "SuppressorWorkerDown",
        "SuppressorConsumerLagGrowing",
        "SuppressorDlqRateHigh",
        "SuppressorLatencyP99High",
        "SuppressorExpiriesStalled",
        "SuppressorMailServerDown",
        "SuppressorMailNotStored",
    } <= rules.keys()
    assert 'reason="kafka_unavailable"' in rules["SuppressorMailNotStored"].expr
    assert "> 1" in rules["SuppressorLatencyP99High"].expr  # the 1-second service level
    expiry = rules["SuppressorExpiriesStalled"].expr
    assert "suppressor_entries_due" in expiry and "suppressor_expiries_total" in expiry
    for rule in rules.values():
        assert rule.labels.get("severity") in {"page", "warn"}, rule.name
        assert rule.annotations.get("summary", "").strip(), rule.name
        assert len(rule.annotations.get("description", "")) > 80, rule.name


def test_promtool_accepts_the_alert_rules() -> None:
    """`promtool check rules` (Debian's prometheus package) passes on the alert rules."""
    promtool = require_binary("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout
