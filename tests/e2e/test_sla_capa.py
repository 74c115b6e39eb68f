"""QC's first contact (4.4.3) and CAPAs (att. 4) through the real path.

intake -> Kafka -> capa opens the investigation -> csc.capa.v1 -> sla starts
the qc_contact clock -> QC records the contact at capa -> csc.capa.v1 -> sla
meets the clock -> csc.sla.v1. An investigation closed unconfirmed before any
contact meets its clock too; the team convened opens a CAPA in sla's monthly report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from csc_contracts import EVENT_TYPES
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, read_topic, wait_until

pytestmark = pytest.mark.integration

TEAM = {
    "leader": {"name": "Wang Fang", "department": "quality"},
    "members": [
        {"name": "Li Wei", "department": "marketing", "role": "customer contact"},
        {"name": "Sun Li", "department": "development", "role": "design"},
        {"name": "Chen Jie", "department": "engineering", "role": "process engineer"},
        {"name": "Zhou Min", "department": "production", "role": "line 3 lead"},
    ],
}


def topic_events(stack: Stack, service: str, case_id: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for r in read_topic(stack.bootstrap, stack.topics.events(service)):
        body = json.loads(r.value)
        if body["case_id"] == case_id:
            ce_type = dict(r.headers)["ce_type"].decode()
            EVENT_TYPES[ce_type].model_validate(body)  # every record keeps the contract
            found.append((ce_type.split(".")[2], body))
    return found


def qc_clock_events(stack: Stack, case_id: str, at_least: int) -> list[tuple[str, dict[str, Any]]]:
    def events() -> list[tuple[str, dict[str, Any]]] | None:
        found = [e for e in topic_events(stack, "sla", case_id) if e[1]["clock"] == "qc_contact"]
        return found if len(found) >= at_least else None

    return wait_until(events, what=f"{at_least} qc_contact events of {case_id} on csc.sla.v1")


def qc_clock(sla_url: str, case_id: str, status: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for row in read(f"{sla_url}/clocks").json():
            if row["case_id"] == case_id and row["clock"] == "qc_contact":
                return dict(row) if row["status"] == status else None
        return None

    return wait_until(found, what=f"sla's qc_contact clock of {case_id} to be {status}")


def as_quality(stack: Stack, capa_url: str, case_id: str, path: str, body: dict[str, Any]) -> None:
    response = httpx.post(
        f"{capa_url}/investigations/{case_id}/{path}",
        json=body,
        headers={**stack.auth("quality"), "Idempotency-Key": f"{case_id}:{path}"},
        timeout=30,
    )
    assert response.status_code == 201, (path, response.text)


def test_4_4_3_qc_contact_clock_from_investigation_to_contact(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2")
    marketing = intake_client(stack, intake)
    logged = marketing.post("/complaints", json=complaint(1)).json()
    case_id = logged["case_id"]

    # capa opens QC's investigation; sla starts the clock from it (GET /clocks).
    running = qc_clock(sla.url, case_id, "running")
    assert running["clause"] == "4.4.3"
    assert running["customer_class"] == "oem" and running["target_hours"] == 8
    received = datetime.fromisoformat(logged["received_at"])
    assert datetime.fromisoformat(running["started_at"]) == received  # the customer's report
    opened = [body for name, body in topic_events(stack, "capa", case_id)
              if name == "InvestigationOpened"]  # fmt: skip
    assert len(opened) == 1 and running["started_by_event"] == opened[0]["event_id"]

    # QC calls the customer and records it at capa: the clock is met at that call.
    as_quality(stack, capa.url, case_id, "contacts",
               {"contact": "Mr. Zhao, SQE", "means": "phone",
                "summary": "Cracks at the gate on 40 units"})  # fmt: skip
    met = qc_clock(sla.url, case_id, "met")
    (contact,) = [body for name, body in topic_events(stack, "capa", case_id)
                  if name == "CustomerContactedByQuality"]  # fmt: skip
    assert datetime.fromisoformat(met["met_at"]) == datetime.fromisoformat(contact["contacted_at"])
    assert met["within_target"] is True

    events = qc_clock_events(stack, case_id, 2)
    assert [name for name, _ in events] == ["ClockStarted", "ClockMet"]
    started, done = events[0][1], events[1][1]
    assert started["clause"] == "4.4.3" and started["clock_id"] == running["clock_id"]
    assert done["clock_id"] == running["clock_id"] and done["within_target"] is True

    # Confirmed and the team convened (4.4.4): a CAPA opened this month (att. 4).
    as_quality(stack, capa.url, case_id, "confirmation", {"finding": "Cracks confirmed"})
    as_quality(stack, capa.url, case_id, "team", TEAM)
    month = f"{datetime.now(UTC):%Y-%m}"

    def counted() -> dict[str, Any] | None:
        report = read(f"{sla.url}/reports/monthly/{month}").json()
        return dict(report["capa"]) if report["capa"]["opened"] else None

    assert wait_until(counted, what="the CAPA in sla's monthly report") == {
        "opened": 1, "closed": 0, "open_at_month_end": 1, "overdue": 0,
    }  # fmt: skip


def test_4_4_3_an_investigation_closed_before_any_contact_meets_the_clock(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    sla = stack.start("sla", CSC_SLA_TICK_SECONDS="0.2")
    case_id = intake_client(stack, intake).post("/complaints", json=complaint(2)).json()["case_id"]
    qc_clock(sla.url, case_id, "running")
    as_quality(stack, capa.url, case_id, "non-confirmation",
               {"reason": "Both samples conform to drawing CN-220 rev C"})  # fmt: skip
    met = qc_clock(sla.url, case_id, "met")
    (closing,) = [body for name, body in topic_events(stack, "capa", case_id)
                  if name == "ComplaintNotConfirmed"]  # fmt: skip
    assert datetime.fromisoformat(met["met_at"]) == datetime.fromisoformat(closing["occurred_at"])
    assert [name for name, _ in qc_clock_events(stack, case_id, 2)] == [
        "ClockStarted", "ClockMet",
    ]  # fmt: skip
