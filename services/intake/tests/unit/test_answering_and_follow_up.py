"""Answering the customer (4.2), the quality complaint's impact (4.4.2), follow-up (4.6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from intake_http import MARKETING, Clock, auth, complaint_body, feedback_body

pytestmark = pytest.mark.usefixtures("customer")
AFTER_SALES = auth("after_sales", "zhao.liu")
QUALITY = auth("quality", "qian.qc")


def new_case(client: TestClient, **overrides: object) -> str:
    response = client.post("/complaints", json=complaint_body(**overrides), headers=MARKETING)
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def test_4_2_1_reply(client: TestClient) -> None:
    case = new_case(client, received_at="2026-11-24T08:15:00Z")
    response = client.post(
        f"/register-entries/{case}/replies",
        json={"replied_at": "2026-11-24T08:45:00Z", "channel": "phone", "summary": "QC will call"},
        headers=AFTER_SALES,
    )
    assert response.status_code == 201, response.text
    assert response.json()["replies"][0]["replied_at"] == "2026-11-24T08:45:00+00:00"


def test_4_2_2_the_on_site_request_s_details_are_in_its_public_event(client: TestClient) -> None:
    # Its ``details`` is a text; a field service record's are a dict spread into fields.
    case = new_case(client)
    body = {"reason": "quality_problem", "details": "cracks need a look"}
    response = client.post(f"/register-entries/{case}/on-site-requests", json=body,
                           headers=MARKETING)  # fmt: skip
    assert response.status_code == 201, response.text
    history = client.get(f"/register-entries/{case}/history", headers=MARKETING)
    assert history.status_code == 200, history.text
    assert history.json()[-1]["event"] == "OnSiteServiceRequired"
    assert history.json()[-1]["fields"]["details"] == "cracks need a look"


def test_4_2_1_a_reply_before_the_call_is_refused(client: TestClient) -> None:
    case = new_case(client, received_at="2026-11-24T08:15:00Z")
    response = client.post(
        f"/register-entries/{case}/replies",
        json={"replied_at": "2026-11-24T08:00:00Z", "channel": "phone", "summary": "?"},
        headers=AFTER_SALES,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "replied_at"]


def test_4_2_2_on_site_service_then_the_visit(client: TestClient) -> None:
    case = new_case(client, received_at="2026-11-24T08:15:00Z")
    early = client.post(
        f"/register-entries/{case}/on-site-visits",
        json={"arrived_at": "2026-11-24T08:50:00Z", "engineers": ["zhao.liu"],
              "diagnosis": "d", "solution": "s"},
        headers=AFTER_SALES,
    )  # fmt: skip
    assert early.status_code == 409  # a visit before its request
    assert early.json()["clause"] == "4.2.2"

    required = client.post(
        f"/register-entries/{case}/on-site-requests",
        # Decided at 08:20, entered at 09:00: the visit at 08:50 came after the decision.
        json={
            "reason": "quality_problem",
            "details": "cracks need a look",
            "requested_at": "2026-11-24T08:20:00Z",
        },
        headers=MARKETING,
    )
    assert required.status_code == 201, required.text
    visit = client.post(
        f"/register-entries/{case}/on-site-visits",
        json={"arrived_at": "2026-11-24T08:50:00Z", "engineers": ["zhao.liu", "qian.qc"],
              "diagnosis": "Mould flash at gate 2", "solution": "Sorted stock; 40 swapped"},
        headers=AFTER_SALES,
    )  # fmt: skip
    assert visit.status_code == 201, visit.text
    on_site = visit.json()["on_site"]
    assert on_site["reason"] == "quality_problem"
    assert on_site["visits"][0]["engineers"] == ["zhao.liu", "qian.qc"]


def test_4_2_3_misuse_then_a_technician_anyway(client: TestClient) -> None:
    case = new_case(client, category="service")
    too_soon = client.post(
        f"/register-entries/{case}/technician-dispatches",
        json={"technician": "sun.tech", "purpose": "train the line"},
        headers=AFTER_SALES,
    )
    assert too_soon.status_code == 409
    misuse = client.post(
        f"/register-entries/{case}/misuse",
        json={"finding": "Connectors crimped with the wrong tool"},
        headers=QUALITY,
    )
    assert misuse.status_code == 201, misuse.text
    assert misuse.json()["misuse"]["responsibility"] == "customer"
    sent = client.post(
        f"/register-entries/{case}/technician-dispatches",
        json={"technician": "sun.tech", "purpose": "show the right crimping tool"},
        headers=AFTER_SALES,
    )
    assert sent.status_code == 201
    assert sent.json()["technicians"][0]["technician"] == "sun.tech"


def test_4_4_2_impact_and_remedy_then_qc_is_notified(client: TestClient) -> None:
    case = new_case(client)
    response = client.post(
        f"/register-entries/{case}/quality-impact",
        json={"lines_stopped": 1, "quantity_affected": 40, "remedial_measure": "swap_units",
              "remedial_details": "40 good units by tonight"},
        headers=MARKETING,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["quality_impact"]["remedial_measure"] == "swap_units"
    assert entry["quality_notified"]["by"]["user"] == "li.wei"


def test_4_4_2_only_quality_complaints_have_an_impact_assessment(client: TestClient) -> None:
    case = new_case(client, category="delivery")
    response = client.post(
        f"/register-entries/{case}/quality-impact",
        json={"lines_stopped": 0, "quantity_affected": 0, "remedial_measure": "other"},
        headers=MARKETING,
    )
    assert response.status_code == 409
    assert "delivery" in response.json()["detail"]


def test_4_6_follow_up_of_last_months_feedback(client: TestClient, clock: Clock) -> None:
    entry = client.post(
        "/register-entries", json=feedback_body(kind="suggestion"), headers=MARKETING
    ).json()
    case = entry["case_id"]
    body = {"result": "Customer satisfied with the new packaging", "closed": True}
    this_month = client.post(f"/register-entries/{case}/follow-ups", json=body, headers=AFTER_SALES)
    assert this_month.status_code == 409
    assert this_month.json()["clause"] == "4.6"

    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    followed = client.post(f"/register-entries/{case}/follow-ups", json=body, headers=AFTER_SALES)
    assert followed.status_code == 201, followed.text
    assert followed.json()["follow_ups"][0]["month"] == "2026-11"
    assert followed.json()["status"] == "closed"
    closed = client.get("/register-entries?status=closed", headers=MARKETING).json()
    assert [e["case_id"] for e in closed] == [case]


def test_retried_sub_commands_record_nothing_twice(client: TestClient) -> None:
    case = new_case(client)
    headers = {**AFTER_SALES, "Idempotency-Key": "reply-1"}
    body = {"channel": "email", "summary": "Received, investigating"}
    first = client.post(f"/register-entries/{case}/replies", json=body, headers=headers)
    again = client.post(f"/register-entries/{case}/replies", json=body, headers=headers)
    assert first.json() == again.json()
    assert len(again.json()["replies"]) == 1


def test_unknown_case_is_404(client: TestClient) -> None:
    response = client.post(
        "/register-entries/00000000-0000-4000-8000-000000000000/replies",
        json={"channel": "phone", "summary": "x"},
        headers=AFTER_SALES,
    )
    assert response.status_code == 404
