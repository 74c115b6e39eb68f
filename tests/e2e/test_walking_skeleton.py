"""The whole shape: HTTP -> intake store -> relay -> Kafka -> consumers -> read models."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from e2e.support import complaint, intake_client, read, wait_until

pytestmark = pytest.mark.integration


def test_a_complaint_reaches_every_service(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    sla, returns, capa = stack.start("sla"), stack.start("returns"), stack.start("capa")
    marketing = intake_client(stack, intake)

    created = marketing.post("/complaints", json=complaint(1))
    assert created.status_code == 201, created.text
    case = created.json()
    case_id = case["case_id"]

    # 4.2.1: the reply clock is due 8 hours after the customer's call. (QC's first-contact
    # clock, 4.4.3, joins it once capa has opened the investigation.)
    def reply_clocks() -> list[dict[str, Any]]:
        response = read(f"{sla.url}/cases/{case_id}/clocks")
        if response.status_code != 200:
            return []
        return [c for c in response.json() if c["clock"] == "reply"]

    clocks = wait_until(reply_clocks, timeout=30, what="sla's reply clock")
    received_at = datetime.fromisoformat(case["received_at"])
    assert [datetime.fromisoformat(c["due_at"]) for c in clocks] == [
        received_at + timedelta(hours=8)
    ]

    returned = wait_until(
        lambda: (r := read(f"{returns.url}/cases/{case_id}")).status_code == 200 and r.json(),
        what="returns' case",
    )
    assert returned["customer"]["code"] == "OEM-001"
    assert returned["lot"] == "L2026-11-0001"
    investigation = wait_until(
        lambda: (r := read(f"{capa.url}/investigations/{case_id}")).status_code == 200 and r.json(),
        what="capa's investigation",
    )
    assert investigation["owner_department"] == "quality"  # 4.4.2-4.4.3: QC is notified

    # Each service keeps its own store, of the kind the run asked for.
    sqlite_files = sorted(p.name for p in stack.data_dir.glob("*.sqlite"))
    if stack.store_env["CSC_STORE"] == "sqlite":
        assert sqlite_files == ["capa.sqlite", "intake.sqlite", "returns.sqlite", "sla.sqlite"]
    else:
        assert sqlite_files == []


def test_a_delivery_complaint_starts_a_clock_but_no_quality_work(stack) -> None:  # type: ignore[no-untyped-def]
    intake = stack.start("intake")
    sla, returns, capa = stack.start("sla"), stack.start("returns"), stack.start("capa")
    marketing = intake_client(stack, intake)
    quality = marketing.post("/complaints", json=complaint(1)).json()
    delivery = marketing.post("/complaints", json=complaint(2, category="delivery")).json()

    def reply_clocks() -> int:
        return sum(c["clock"] == "reply" for c in read(f"{sla.url}/clocks").json())

    wait_until(lambda: reply_clocks() == 2, what="two reply clocks")
    wait_until(lambda: read(f"{capa.url}/investigations/{quality['case_id']}").status_code == 200)
    wait_until(lambda: read(f"{returns.url}/cases/{quality['case_id']}").status_code == 200)

    # Both consumers have read everything intake published: the customer, and per
    # complaint ComplaintLogged and EngineeringNotified.
    def handled(url: str) -> int:
        stats = read(f"{url}/ingest-stats").json()
        return sum(sum(c.values()) for topic, c in stats.items() if "intake" in topic)

    def both_done() -> bool:
        return handled(capa.url) == 5 and handled(returns.url) == 5

    wait_until(both_done, what="both consumers to read all five events")
    assert read(f"{capa.url}/investigations/{delivery['case_id']}").status_code == 404
    assert read(f"{returns.url}/cases/{delivery['case_id']}").status_code == 404


def test_events_on_kafka_are_cloudevents_keyed_by_case(stack) -> None:  # type: ignore[no-untyped-def]
    from e2e.support import read_topic

    intake = stack.start("intake")
    case = intake_client(stack, intake).post("/complaints", json=complaint(3)).json()
    records = wait_until(
        lambda: [
            r
            for r in read_topic(stack.bootstrap, stack.topics.intake)
            if r.key == case["case_id"].encode()
        ],
        what="the event on Kafka",
    )
    assert len(records) == 2  # ComplaintLogged, then EngineeringNotified (4.1.2)
    record = records[0]
    headers = dict(record.headers)
    assert record.key == case["case_id"].encode()
    assert headers["ce_type"] == b"csc.intake.ComplaintLogged.v1"
    assert headers["ce_subject"] == case["case_id"].encode()
    body = json.loads(record.value)
    assert body["case_id"] == case["case_id"]
    assert body["actor"] == {"user": "marketing.user", "department": "marketing"}
    assert body["text"] == case["text"]
    assert headers["ce_id"] == body["event_id"].encode()
