"""The Register over HTTP (4.1.1-4.1.3, 4.4.1): commands, validation, read side."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from intake_http import MARKETING, auth, complaint_body, feedback_body

pytestmark = pytest.mark.usefixtures("customer")


def test_4_4_1_complaint_is_recorded_in_the_register(client: TestClient) -> None:
    created = client.post("/complaints", json=complaint_body(), headers=MARKETING)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["entry_type"] == "complaint"
    assert entry["category"] == "quality"
    assert entry["customer"] == {
        "code": "OEM-001",
        "name": "Dongfeng Motor",
        "oem": True,
        "timezone": "Asia/Shanghai",
    }
    assert entry["recorded_by"] == {"user": "li.wei", "department": "marketing"}
    assert client.get(f"/register-entries/{entry['case_id']}", headers=MARKETING).json() == entry
    listed = client.get("/complaints", headers=MARKETING).json()
    assert [e["case_id"] for e in listed] == [entry["case_id"]]


@pytest.mark.parametrize("channel", ["letter", "phone", "fax", "visit", "email", "web"])
def test_4_1_1_every_channel_is_accepted(client: TestClient, channel: str) -> None:
    response = client.post(
        "/register-entries", json=feedback_body(channel=channel), headers=MARKETING
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "kind",
    [
        "current_product_requirements",
        "potential_product_requirements",
        "quality_problem",
        "quality_commitment",
        "suggestion",
    ],
)
def test_4_1_2_the_five_kinds(client: TestClient, kind: str) -> None:
    response = client.post("/register-entries", json=feedback_body(kind=kind), headers=MARKETING)
    assert response.status_code == 201
    assert response.json()["kind"] == kind


def test_4_1_2_engineering_is_notified_of_every_entry(client: TestClient) -> None:
    entry = client.post("/register-entries", json=feedback_body(), headers=MARKETING).json()
    assert entry["engineering_notified"]["by"]["department"] == "marketing"
    inbox = client.get("/inbox/engineering", headers=auth("engineering")).json()
    assert [e["case_id"] for e in inbox] == [entry["case_id"]]


def test_4_1_3_important_information_reaches_the_chief_engineer(client: TestClient) -> None:
    body = feedback_body(important_reason="OEM threatens to stop the line")
    entry = client.post("/register-entries", json=body, headers=MARKETING).json()
    case = entry["case_id"]
    ce = auth("chief_engineer", "wang.zonggong")
    assert [e["case_id"] for e in client.get("/inbox/chief-engineer", headers=ce).json()] == [case]

    ack = client.post(
        f"/register-entries/{case}/important/acknowledgement", json={"comment": "seen"}, headers=ce
    )
    assert ack.status_code == 201, ack.text
    assert ack.json()["important"]["acknowledged"]["by"]["user"] == "wang.zonggong"
    assert client.get("/inbox/chief-engineer", headers=ce).json() == []
    everything = client.get("/inbox/chief-engineer?include_acknowledged=true", headers=ce).json()
    assert [e["case_id"] for e in everything] == [case]


def test_4_1_3_acknowledging_what_was_never_reported_is_refused(client: TestClient) -> None:
    case = client.post("/register-entries", json=feedback_body(), headers=MARKETING).json()[
        "case_id"
    ]
    response = client.post(
        f"/register-entries/{case}/important/acknowledgement",
        json={},
        headers=auth("chief_engineer"),
    )
    assert response.status_code == 409
    assert response.json()["clause"] == "4.1.3"
    assert "never reported" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (feedback_body(kind="gossip"), ["body", "kind"]),
        (feedback_body(channel="pigeon"), ["body", "channel"]),
        (feedback_body(customer_code=""), ["body", "customer_code"]),
        (feedback_body(text=""), ["body", "text"]),
        (feedback_body(received_at="2026-11-24T08:00:00"), ["body", "received_at"]),
        (feedback_body(receiving_department="canteen"), ["body", "receiving_department"]),
        (feedback_body(surprise=1), ["body", "surprise"]),
    ],
)
def test_invalid_input_names_the_field_and_stores_nothing(
    client: TestClient, body: dict[str, Any], loc: list[str]
) -> None:
    response = client.post("/register-entries", json=body, headers=MARKETING)
    assert response.status_code == 422
    assert loc in [d["loc"] for d in response.json()["errors"]]
    assert client.get("/register-entries", headers=MARKETING).json() == []


def test_an_unknown_customer_is_refused(client: TestClient) -> None:
    response = client.post(
        "/complaints", json=complaint_body(customer_code="NOBODY"), headers=MARKETING
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "customer_code"]
    assert "NOBODY" in response.json()["detail"]
    assert client.get("/register-entries", headers=MARKETING).json() == []


def test_received_at_in_the_future_is_refused(client: TestClient) -> None:
    response = client.post(
        "/complaints", json=complaint_body(received_at="2999-01-01T00:00:00Z"), headers=MARKETING
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "received_at"]


def test_a_retried_request_finds_the_case_it_created(client: TestClient) -> None:
    headers = {**MARKETING, "Idempotency-Key": "call-2026-11-24-0815"}
    first = client.post("/complaints", json=complaint_body(), headers=headers)
    again = client.post("/complaints", json=complaint_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(client.get("/register-entries", headers=MARKETING).json()) == 1


def test_filters(client: TestClient) -> None:
    client.post("/complaints", json=complaint_body(category="delivery"), headers=MARKETING)
    client.post("/register-entries", json=feedback_body(channel="fax"), headers=MARKETING)
    client.post("/register-entries", json=feedback_body(kind="suggestion"), headers=MARKETING)

    def count(query: str) -> int:
        return len(client.get(f"/register-entries?{query}", headers=MARKETING).json())

    assert count("") == 3
    assert count("entry_type=complaint") == 1
    assert count("category=delivery") == 1
    assert count("channel=fax") == 1
    assert count("kind=suggestion") == 1
    assert count("customer=OEM-001") == 3
    assert count("customer=OTHER") == 0
    assert count("month=2026-11") == 3
    assert count("month=2026-10") == 0
    assert count("status=open") == 3
    assert client.get("/register-entries?month=2026-13", headers=MARKETING).status_code == 422


def test_history_tells_the_whole_story(client: TestClient) -> None:
    case = client.post("/complaints", json=complaint_body(), headers=MARKETING).json()["case_id"]
    client.post(
        f"/register-entries/{case}/replies",
        json={"channel": "phone", "summary": "We will send QC tomorrow."},
        headers=auth("after_sales", "zhao"),
    )
    story = client.get(f"/register-entries/{case}/history", headers=auth("auditor")).json()
    assert [(s["event"], s["actor"]["department"]) for s in story] == [
        ("ComplaintLogged", "marketing"),
        ("EngineeringNotified", "marketing"),
        ("ReplySent", "after_sales"),
    ]
    assert story[2]["fields"]["summary"] == "We will send QC tomorrow."
    assert story[0]["type"] == "csc.intake.ComplaintLogged.v1"


def test_probes_need_no_token_everything_else_does(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    missing = client.get("/register-entries")
    assert missing.status_code == 401
    assert "bearer" in missing.json()["detail"]
    forged = client.get("/register-entries", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
