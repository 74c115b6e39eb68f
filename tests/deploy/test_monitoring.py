"""deploy/base/monitoring: the alert rules pass promtool and fire when they should, and
every metric the rules and the dashboard name is one the services expose.

promtool comes from Debian's `prometheus` package (`./dev test` installs it); without it
these tests skip, unless CSC_REQUIRE_DEPLOY_TOOLS=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from csc_contracts import SERVICES
from csc_messaging.metrics import METRIC_NAMES
from deploy.deploy_tools import DEPLOY, REPO, missing_tool, render

MONITORING = DEPLOY / "base" / "monitoring"
RULES_TEST = Path(__file__).with_name("rules.test.yaml")
# Metrics of Prometheus itself that the rules may name.
PROMETHEUS_OWN = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
PROCESSES = [*(f"csc-{s}" for s in SERVICES), "csc-console"]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing_tool("promtool is not installed (Debian's prometheus package)")
    return found


def rule_groups() -> dict[str, Any]:
    resource = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert resource["kind"] == "PrometheusRule"
    spec: dict[str, Any] = resource["spec"]
    return spec


def rule_expressions() -> list[str]:
    return [rule["expr"] for group in rule_groups()["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    board: dict[str, Any] = json.loads((MONITORING / "dashboard.json").read_text())
    return board


def dashboard_expressions() -> list[str]:
    board = dashboard()
    exprs = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            exprs.append(query["query"])
    return exprs


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not functions, label
    names, keywords, durations or strings (enough for the rules and panels here)."""
    values = re.fullmatch(r"label_values\((.*),\s*\w+\)", expr.strip())
    if values:  # a dashboard variable: the labels' values of a series selector
        expr = values.group(1)
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    without_matchers = re.sub(r"\{[^}]*\}", "", without_strings)
    without_groupings = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
                               "", without_matchers)  # fmt: skip
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_groupings)
    names = set()
    for match in re.finditer(r"(?<![\w:.])[a-zA-Z_:][\w:]*", without_ranges):
        token = match.group(0)
        rest = without_ranges[match.end() :].lstrip()
        if rest.startswith("("):
            continue  # a function or aggregation
        if token in {"and", "or", "unless", "offset", "bool"}:
            continue
        names.add(token)
    return names


def exposed(name: str) -> bool:
    if name in METRIC_NAMES or name in PROMETHEUS_OWN:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and METRIC_NAMES.get(base) == "histogram":
            return True
    return False


def test_the_rules_pass_promtool_check(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(rule_groups()))
    result = subprocess.run(
        [promtool(), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_on_their_series(tmp_path: Path) -> None:
    """rules.test.yaml: the relay-stuck alert fires after 5 minutes of a stalled relay (and
    of an unpublished event older than 5 minutes), not before; consumer lag, readiness."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    shutil.copy(RULES_TEST, tmp_path / RULES_TEST.name)
    result = subprocess.run(
        [promtool(), "test", "rules", RULES_TEST.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_test_would_catch_a_rule_that_never_fires(tmp_path: Path) -> None:
    groups = rule_groups()
    for group in groups["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "CscRelayNotPublishing":
                rule["expr"] = rule["expr"].replace("== 1", "== 2").replace("> 300", "> 3000")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(groups))
    shutil.copy(RULES_TEST, tmp_path / RULES_TEST.name)
    result = subprocess.run(
        [promtool(), "test", "rules", RULES_TEST.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, result.stdout


def test_every_alert_has_a_runbook_a_description_and_a_severity() -> None:
    for group in rule_groups()["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
            for key in ("summary", "description", "runbook"):
                assert rule["annotations"].get(key, "").strip(), (rule["alert"], key)
    alerts = {rule["alert"] for group in rule_groups()["groups"] for rule in group["rules"]}
    assert {
        "CscRelayNotPublishing",
        "CscConsumerLagging",
        "CscDeadLettersGrowing",
        "CscBreachRateHigh",
        "CscNotReady",
    } <= alerts


def test_the_name_parser_finds_the_metrics_of_an_expression() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (service, le) (rate(csc_a_bucket{x="y"}[5m]))) '
        "> 2 * sum(rate(csc_b_total[7d] offset 1d)) and on (pod) up"
    )
    assert metric_names(expr) == {"csc_a_bucket", "csc_b_total", "up"}


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_metric_named_is_one_the_services_expose(source: str) -> None:
    exprs = rule_expressions() if source == "rules" else dashboard_expressions()
    assert exprs
    named: set[str] = set()
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        named |= names
    unknown = sorted(n for n in named if not exposed(n))
    assert not unknown, f"{source} name metrics no service exposes: {unknown}"


def test_every_listed_metric_is_registered_in_the_code() -> None:
    """METRIC_NAMES against the sources: each name (a counter without its ``_total``, which
    prometheus-client adds) is a string some service or csc_messaging registers.
    (tests/e2e/test_metrics.py compares the list with what running services expose.)"""
    sources = [
        *(REPO / "shared" / "messaging" / "src").rglob("*.py"),
        *(REPO / "services").glob("*/src/**/*.py"),
    ]
    text = "\n".join(p.read_text() for p in sources)
    literals = set(re.findall(r'"(csc_[a-z0-9_]+)"', text))
    for name, kind in METRIC_NAMES.items():
        written = name.removesuffix("_total") if kind == "counter" else name
        # Listed once in METRIC_NAMES itself, and registered somewhere else too.
        assert text.count(f'"{written}"') >= (2 if written == name else 1), name
        assert written in literals, name


def test_each_process_is_scraped_and_alerted_on() -> None:
    resources = render("prod")
    monitors = {r["metadata"]["name"]: r for r in resources if r["kind"] == "PodMonitor"}
    deployments = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Deployment"}
    assert set(monitors) == set(deployments) == set(PROCESSES)
    for name, monitor in monitors.items():
        pod = deployments[name]["spec"]["template"]
        labels = pod["metadata"]["labels"]
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert all(labels.get(k) == v for k, v in selector.items()), name
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert endpoint["port"] in ports, name
            assert endpoint["path"] == "/metrics"
    scrape = [r for r in resources if r["metadata"]["name"] == "csc-prometheus-scrape"]
    assert scrape and scrape[0]["kind"] == "NetworkPolicy"
    (rule,) = [r for r in resources if r["kind"] == "PrometheusRule"]
    assert rule["spec"] == rule_groups()
    (board,) = [r for r in resources if r["metadata"]["name"] == "csc-grafana-dashboard"]
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["csc-overview.json"]) == dashboard()
