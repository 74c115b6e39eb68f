"""Returns through the real path: intake -> Kafka -> returns -> HTTP decisions -> csc.returns.v1.

A quality complaint logged in intake opens a return case; Marketing, QC and
the Warehouse take it through the whole-batch return (4.3.2) to a
dispositioned PNPR (4.3.3), and every step comes out on csc.returns.v1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from csc_contracts import EVENT_TYPES
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, read_topic, wait_until

pytestmark = pytest.mark.integration

RECEIPT = {"quantity": 40, "location": "WH-A returns bay 2", "lot": "L2026-11-0001"}
BOARD = [
    {"name": "Wang Fang", "department": "quality"},
    {"name": "Li Wei", "department": "marketing"},
    {"name": "Chen Jie", "department": "production"},
]


def returns_events(stack: Stack, case_id: str, at_least: int) -> list[tuple[str, dict[str, Any]]]:
    def events() -> list[tuple[str, dict[str, Any]]] | None:
        found = []
        for r in read_topic(stack.bootstrap, stack.topics.events("returns")):
            body = json.loads(r.value)
            if body["case_id"] == case_id:
                ce_type = dict(r.headers)["ce_type"].decode()
                EVENT_TYPES[ce_type].model_validate(body)
                found.append((ce_type.split(".")[2], body))
        return found if len(found) >= at_least else None

    return wait_until(events, what=f"{at_least} returns events of {case_id}")


def test_4_3_2_whole_batch_return_from_a_quality_complaint_to_a_dispositioned_pnpr(
    stack: Stack,
) -> None:
    intake = stack.start("intake")
    returns = stack.start("returns")
    case = intake_client(stack, intake).post("/complaints", json=complaint(1)).json()
    case_id = case["case_id"]
    wait_until(
        lambda: read(f"{returns.url}/cases/{case_id}").status_code == 200,
        what="returns' case opened from the complaint",
    )

    def post(path: str, body: dict[str, Any], department: str, key: str) -> httpx.Response:
        headers = {**stack.auth(department), "Idempotency-Key": key}
        return httpx.post(f"{returns.url}{path}", json=body, headers=headers, timeout=30)

    def step(path: str, body: dict[str, Any], department: str) -> dict[str, Any]:
        key = f"{case_id}:{path}:{body.get('disposition', '')}"
        response = post(f"/cases/{case_id}/{path}", body, department, key)
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())

    def refused(path: str, body: dict[str, Any], department: str, clause: str) -> None:
        response = post(f"/cases/{case_id}/{path}", body, department, f"refused:{path}")
        assert response.status_code == 409, response.text
        assert response.json()["clause"] == clause

    request = {"case_id": case_id, "delivery": "DN-1107", "lot": "L2026-11-0001",
               "quantity": 40, "reason": "cracked housings"}  # fmt: skip
    first = post("/returns", request, "marketing", "return-1")
    assert first.status_code == 201, first.text
    retry = post("/returns", request, "marketing", "return-1")
    assert retry.status_code == 200 and retry.json()["timeline"] == first.json()["timeline"]

    step("quality-confirmation-request", {"note": "line 3"}, "marketing")
    refused("receipt", RECEIPT, "warehouse", "4.3.2.2")  # before QC confirmed
    step("quality-confirmation", {"finding": "moulding cracks, lot-wide"}, "quality")
    step("receipt-authorization", {}, "marketing")
    refused("samples", {"condition": "x", "sample_count": 1, "sample_ids": ["S1"]},
            "quality", "4.3.2.3")  # fmt: skip
    refused("receipt", {**RECEIPT, "quantity": 41}, "warehouse", "4.3.2.2")
    step("receipt", RECEIPT, "warehouse")
    step("samples", {"condition": "as reported", "sample_count": 2, "sample_ids": ["S1", "S2"]},
         "quality")  # fmt: skip
    step("pnpr/identification", {"tag": "NC-0042"}, "quality")
    step("pnpr/isolation", {"location": "Q-1 quarantine cage"}, "warehouse")
    step("pnpr/report", {"description": "Housing cracks at the gate"}, "quality")
    decision = [{"disposition": "rework", "quantity": 30}, {"disposition": "scrap", "quantity": 10}]
    step("pnpr/review", {"board": BOARD, "decision": decision}, "quality")
    assert read(f"{returns.url}/quarantine").json()[0]["location"] == "Q-1 quarantine cage"
    step("pnpr/dispositions", {"disposition": "rework", "quantity": 30}, "production")
    last = step("pnpr/dispositions", {"disposition": "scrap", "quantity": 10}, "warehouse")
    assert last["status"] == "dispositioned"
    assert read(f"{returns.url}/quarantine").json() == []

    events = returns_events(stack, case_id, 13)
    assert [name for name, _ in events] == [
        "ReturnCaseOpened",
        "ReturnRequested",
        "ReturnConfirmationRequested",
        "ReturnConfirmedByQuality",
        "ReturnReceiptAuthorized",
        "ReturnReceived",
        "ReturnSamplesTaken",
        "NonconformingProductIdentified",
        "NonconformingProductIsolated",
        "NonconformanceReported",
        "NonconformanceReviewed",
        "NonconformanceDispositioned",
        "NonconformanceDispositioned",
    ]
    bodies = dict(events)
    assert bodies["ReturnCaseOpened"]["opened_by_type"] == "csc.intake.ComplaintLogged.v1"
    reported = bodies["NonconformanceReported"]
    assert (reported["quantity"], reported["lot"], reported["clause"]) == (
        40,
        RECEIPT["lot"],
        "4.3.3",
    )
    assert reported["actor"] == {"user": "quality.user", "department": "quality"}
    assert len({body["event_id"] for _, body in events}) == 13  # the retry published nothing
    assert events[-1][1]["complete"] is True and events[-1][1]["remaining"] == 0

    for kind, media in (("pdf", "application/pdf"), ("xlsx", "spreadsheetml")):
        document = read(f"{returns.url}/cases/{case_id}/pnpr.{kind}")
        assert document.status_code == 200 and media in document.headers["content-type"]


def _replay(stack: Stack, wipe: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csc_returns", "replay", *(["--wipe"] if wipe else [])],
        env={**os.environ, **stack.env("returns")},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_replay_from_offset_zero_rebuilds_the_same_cases_and_keeps_the_decisions(
    stack: Stack,
) -> None:
    intake = stack.start("intake")
    returns = stack.start("returns")
    marketing = intake_client(stack, intake)
    for n in range(12):
        category = ("quality", "service", "delivery")[n % 3]
        assert marketing.post("/complaints", json=complaint(n, category=category)).is_success
    feedback = complaint(20)
    feedback.pop("category")
    marketing.post("/register-entries", json={**feedback, "kind": "quality_problem"})
    wait_until(lambda: len(read(f"{returns.url}/cases").json()) == 5, what="5 cases")
    live = read(f"{returns.url}/digest").json()
    returns.stop()

    # Without decisions the store is exactly what csc.intake.v1 gives.
    replayed = _replay(stack)
    assert replayed.returncode == 0, replayed.stderr
    result = json.loads(replayed.stdout.strip().splitlines()[-1])
    # The customer, then each complaint or feedback and its notification of Engineering.
    assert result["records"] == 1 + 13 * 2
    assert result["digest"] == live["digest"]
    returns = stack.restart(returns)
    assert read(f"{returns.url}/digest").json()["digest"] == live["digest"]

    # A decision lives in returns' store (and on csc.returns.v1), not on csc.intake.v1: a
    # wiped store gets it back from returns' journal, and the digest with it.
    case_id = read(f"{returns.url}/cases").json()[0]["case_id"]
    request = {"case_id": case_id, "delivery": "DN-1", "lot": "L1", "quantity": 5, "reason": "x"}
    requested = httpx.post(f"{returns.url}/returns", json=request, headers=stack.auth("marketing"))
    assert requested.status_code == 201, requested.text
    returns_events(stack, case_id, 2)
    decided = read(f"{returns.url}/digest").json()
    wait_until(
        lambda: read(f"{returns.url}/readyz").json()["relay"]["position"] == decided["position"],
        what="returns' relay to journal the decision",
    )
    returns.stop()
    rebuilt = _replay(stack)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout.strip().splitlines()[-1])["digest"] == decided["digest"]
    kept = _replay(stack, wipe=False)  # every record already applied: nothing changes
    assert json.loads(kept.stdout.strip().splitlines()[-1])["digest"] == decided["digest"]
    returns = stack.restart(returns)
    assert read(f"{returns.url}/cases/{case_id}").json()["status"] == "return_requested"
