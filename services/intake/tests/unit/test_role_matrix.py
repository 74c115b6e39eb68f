"""Who may record what: every write endpoint x every department.

Only the departments the procedure names succeed; the others get 403 naming
who may, and nothing is recorded. Auditors read everything and write nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from intake_http import MARKETING, Clock, auth, complaint_body, customer_body, feedback_body

from csc_contracts import PERSON_DEPARTMENTS, Department
from csc_intake.permissions import WRITES

Prepare = Callable[[TestClient, Clock], tuple[str, str, dict[str, Any]]]


def _case(client: TestClient, **overrides: Any) -> str:
    response = client.post("/complaints", json=complaint_body(**overrides), headers=MARKETING)
    return str(response.json()["case_id"])


def _record(client: TestClient) -> str:
    body = {"kind": "daily", "customer_code": "OEM-001", "site": "Wuhan plant 2",
            "work_date": "2026-11-23"}  # fmt: skip
    response = client.post("/field-service-records", json=body, headers=auth("after_sales"))
    return str(response.json()["record_id"])


def _next_month(client: TestClient, clock: Clock) -> str:
    case = _case(client)
    clock.now = datetime(2026, 12, 2, tzinfo=UTC)
    return case


ENDPOINTS: dict[str, Prepare] = {
    "register_customer": lambda c, k: ("post", "/customers", customer_body(code="NEW-1")),
    "update_customer": lambda c, k: (
        "put", "/customers/OEM-001", {"name": "Renamed", "oem": True}),
    "log_contact": lambda c, k: (
        "post", "/customers/OEM-001/contacts", {"channel": "phone", "summary": "hello"}),
    "record_survey": lambda c, k: (
        "post", "/customers/OEM-001/satisfaction-surveys", {"year": 2026, "scores": {"q": 3}}),
    "register_feedback": lambda c, k: ("post", "/register-entries", feedback_body()),
    "log_complaint": lambda c, k: ("post", "/complaints", complaint_body()),
    "report_important": lambda c, k: (
        "post", f"/register-entries/{_case(c)}/important", {"reason": "line stop"}),
    "acknowledge_important": lambda c, k: (
        "post",
        f"/register-entries/{_case(c, important_reason='line stop')}/important/acknowledgement",
        {}),
    "send_reply": lambda c, k: (
        "post", f"/register-entries/{_case(c)}/replies", {"channel": "phone", "summary": "ok"}),
    "require_on_site": lambda c, k: (
        "post", f"/register-entries/{_case(c)}/on-site-requests",
        {"reason": "not_solved_by_phone"}),
    "complete_visit": lambda c, k: (
        "post", f"/register-entries/{_required(c)}/on-site-visits",
        {"arrived_at": "2026-11-24T08:59:00Z", "engineers": ["x"], "diagnosis": "d",
         "solution": "s"}),
    "determine_misuse": lambda c, k: (
        "post", f"/register-entries/{_case(c)}/misuse", {"finding": "wrong tool"}),
    "dispatch_technician": lambda c, k: (
        "post", f"/register-entries/{_misused(c)}/technician-dispatches",
        {"technician": "t", "purpose": "train"}),
    "assess_quality_impact": lambda c, k: (
        "post", f"/register-entries/{_case(c)}/quality-impact",
        {"lines_stopped": 0, "quantity_affected": 3, "remedial_measure": "rework_on_site"}),
    "record_follow_up": lambda c, k: (
        "post", f"/register-entries/{_next_month(c, k)}/follow-ups",
        {"result": "done", "closed": True}),
    "record_field_service": lambda c, k: (
        "post", "/field-service-records",
        {"kind": "daily", "customer_code": "OEM-001", "site": "Wuhan plant 2",
         "work_date": "2026-11-22", "engineer": "e1"}),
    "record_visit": lambda c, k: (
        "post", "/field-service-records",
        {"kind": "visit", "customer_code": "OEM-001", "site": "Wuhan plant 2",
         "work_date": "2026-11-22", "engineer": "e2", "survey": "fine"}),
}  # fmt: skip


def _required(client: TestClient) -> str:
    case = _case(client, received_at="2026-11-24T08:00:00Z")
    client.post(f"/register-entries/{case}/on-site-requests",
                json={"reason": "quality_problem", "requested_at": "2026-11-24T08:30:00Z"},
                headers=MARKETING)  # fmt: skip
    return case


def _misused(client: TestClient) -> str:
    case = _case(client)
    client.post(f"/register-entries/{case}/misuse", json={"finding": "f"},
                headers=auth("quality"))  # fmt: skip
    return case


def test_every_write_action_has_an_endpoint_here() -> None:
    assert set(ENDPOINTS) == set(WRITES)


# Every department a person belongs to; a token naming `system` is refused before (401).
@pytest.mark.parametrize("department", [d.value for d in PERSON_DEPARTMENTS])
@pytest.mark.parametrize("action", sorted(WRITES))
def test_role_matrix(
    client: TestClient, clock: Clock, customer: dict[str, Any], action: str, department: str
) -> None:
    method, path, body = ENDPOINTS[action](client, clock)
    before = client.get("/digest", headers=MARKETING).json()
    response = client.request(method, path, json=body, headers=auth(department))
    allowed, clause = WRITES[action]
    if Department(department) in allowed:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["detail"].startswith(f"{clause}: ")
        assert department in response.json()["detail"]
        assert client.get("/digest", headers=MARKETING).json() == before
    assert Department.AUDITOR not in allowed
