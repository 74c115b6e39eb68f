"""Each service's /metrics, read as Prometheus would, after real requests over real Kafka."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from csc_devkit.localkafka import LocalKafka
from csc_devkit.processes import free_port
from csc_messaging.metrics import METRIC_NAMES
from e2e.conftest import new_stack
from e2e.support import complaint, intake_client, wait_until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample of ``url``/metrics, keyed by name and labels."""
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The one sample of ``name`` whose labels include ``labels``; None if there is none."""
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    assert len(found) <= 1, f"{name} {labels} matches {len(found)} samples"
    return found[0] if found else None


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def test_a_complaint_is_counted_applied_and_its_clock_open(stack: Any) -> None:
    intake = stack.start("intake")
    sla = stack.start("sla")
    marketing = intake_client(stack, intake)
    posted = marketing.post("/complaints", json=complaint(1))
    assert posted.status_code == 201, posted.text
    events = stack.topics.events("intake")

    # sla applied the customer and the complaint, and the reply clock runs.
    def clock_open() -> Samples | None:
        samples = scrape(sla.url)
        running = value(samples, "csc_sla_clocks", clock="reply", state="running")
        return samples if running == 1 else None

    at_sla = wait_until(clock_open, timeout=60, what="sla's reply clock in its metrics")
    applied = value(
        at_sla, "csc_consumer_records_total", service="sla", topic=events, outcome="applied"
    )
    assert applied is not None and applied >= 2, at_sla  # the customer and the complaint
    assert value(at_sla, "csc_consumer_records_total", topic=events, outcome="dead_lettered") == 0
    assert value(at_sla, "csc_sla_clocks", clock="on_site", state="running") == 0
    assert value(at_sla, "csc_sla_breaches_total", service="sla", clock="reply") == 0
    assert value(at_sla, "csc_sla_escalations_total", service="sla", clock="qc_contact") == 0

    # Caught up: no partition behind (a transaction's commit marker counts until the
    # consumer's next fetch moves past it).
    def caught_up() -> Samples | None:
        samples = scrape(sla.url)
        lag = [v for (n, ls), v in samples.items() if n == "csc_consumer_lag_records"]
        return samples if lag and all(v == 0 for v in lag) else None

    wait_until(caught_up, timeout=30, what="sla's consumer lag at 0 on every partition")
    commits = value(at_sla, "csc_store_commit_duration_seconds_count", service="sla")
    assert commits is not None and commits >= 1

    at_intake = scrape(intake.url)
    complaints = value(
        at_intake,
        "csc_http_request_duration_seconds_count",
        service="intake",
        method="POST",
        route="/complaints",
        status="201",
    )
    assert complaints == 1, at_intake
    # The template, not the path: one series for every customer.
    assert not [ls for n, ls in at_intake if ("route", "/customers/OEM-001") in ls]
    relay = {
        name: value(at_intake, name, service="intake")
        for name in ("csc_relay_running", "csc_relay_stalled", "csc_relay_held_events")
    }
    assert relay == {
        "csc_relay_running": 1,
        "csc_relay_stalled": 0,
        "csc_relay_held_events": 0,
    }, at_intake
    published = value(at_intake, "csc_relay_published_total", service="intake")
    assert published is not None and published >= 2
    assert value(at_intake, "csc_relay_lag_events", service="intake") == 0
    assert value(at_intake, "csc_relay_oldest_unpublished_age_seconds", service="intake") == 0
    intake_commits = value(at_intake, "csc_store_commit_duration_seconds_count", service="intake")
    assert intake_commits is not None and intake_commits >= 2

    # What each exposes is what METRIC_NAMES (the rules' and the dashboard's check) lists.
    csc = {n for n in names(at_intake) | names(at_sla) if n.startswith("csc_")}
    listed = set()
    for name, kind in METRIC_NAMES.items():
        listed.add(name)
        if kind == "histogram":
            listed |= {f"{name}_bucket", f"{name}_count", f"{name}_sum", f"{name}_created"}
        if kind == "counter":
            listed.add(name.removesuffix("_total") + "_created")
    assert csc <= listed, csc - listed


@pytest.mark.skipif(
    bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")), reason="stops a broker of its own"
)
def test_a_stopped_broker_shows_as_a_stalled_relay(
    tmp_path: Path, store_env: dict[str, str]
) -> None:
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    bootstrap = broker.start()
    try:
        with new_stack(bootstrap, store_env, tmp_path / "stack") as stack:
            intake = stack.start("intake")
            marketing = intake_client(stack, intake)
            assert marketing.get("/readyz").status_code == 200
            before = scrape(intake.url)
            assert value(before, "csc_relay_stalled", service="intake") == 0
            assert value(before, "csc_ready", service="intake") == 1
            broker.stop()

            # Recorded while Kafka is away: stored, not published.
            during = marketing.post("/complaints", json=complaint(2))
            assert during.status_code == 201, during.text

            def stuck() -> Samples | None:
                samples = scrape(intake.url)
                stalled = value(samples, "csc_relay_stalled", service="intake") == 1
                return samples if stalled else None

            down = wait_until(stuck, timeout=90, what="the relay-stalled metric")
            since = value(down, "csc_relay_seconds_since_progress", service="intake")
            assert since is not None and since > 15, down
            lag = value(down, "csc_relay_lag_events", service="intake")
            assert lag is not None and lag >= 1, down
            age = value(down, "csc_relay_oldest_unpublished_age_seconds", service="intake")
            assert age is not None and age > 0, down
            ready = marketing.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert "relay" in ready.json()["problems"]
            assert value(scrape(intake.url), "csc_ready", service="intake") == 0

            broker.start()

            def published() -> Samples | None:
                samples = scrape(intake.url)
                lag = value(samples, "csc_relay_lag_events", service="intake")
                stalled = value(samples, "csc_relay_stalled", service="intake")
                return samples if lag == 0 and stalled == 0 else None

            after = wait_until(published, timeout=120, what="the relay to catch up")
            assert value(after, "csc_relay_oldest_unpublished_age_seconds", service="intake") == 0
            wait_until(
                lambda: marketing.get("/readyz").status_code == 200,
                timeout=60,
                what="/readyz to be ready again",
            )
            assert value(scrape(intake.url), "csc_ready", service="intake") == 1
    finally:
        broker.stop()
