"""Intake's HTTP commands against a real SQLite store, Kafka left out (relay disabled)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from csc_intake.bootstrap import IntakeSettings
from csc_intake.entrypoints.http import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = IntakeSettings(data_dir=tmp_path, relay_enabled=False)
    with TestClient(create_app(settings)) as c:
        yield c


def complaint(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actor": {"user": "li.wei", "department": "marketing"},
        "category": "quality",
        "channel": "phone",
        "receiving_department": "production",
        "customer": {"code": "OEM-001", "name": "Dongfeng"},
        "product": "CN-220 connector",
        "lot": "L2026-11-07",
        "text": "Housings cracked on line 3; 40 units affected.",
    }
    body.update(overrides)
    return body


def feedback(**overrides: Any) -> dict[str, Any]:
    body = complaint(**overrides)
    body.pop("category")
    body.setdefault("kind", "potential_product_requirements")
    return body


def test_4_4_1_complaint_is_recorded_in_the_register(client: TestClient) -> None:
    created = client.post("/complaints", json=complaint())
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["entry_type"] == "complaint"
    assert entry["category"] == "quality"
    assert entry["recorded_by"] == {"user": "li.wei", "department": "marketing"}
    assert client.get(f"/register-entries/{entry['case_id']}").json() == entry
    assert [e["case_id"] for e in client.get("/complaints").json()] == [entry["case_id"]]


@pytest.mark.parametrize("channel", ["letter", "phone", "fax", "visit", "email", "web"])
def test_4_1_1_every_channel_is_accepted(client: TestClient, channel: str) -> None:
    assert client.post("/register-entries", json=feedback(channel=channel)).status_code == 201


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
    response = client.post("/register-entries", json=feedback(kind=kind))
    assert response.status_code == 201
    assert response.json()["kind"] == kind


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (feedback(kind="gossip"), ["body", "kind"]),
        (feedback(channel="pigeon"), ["body", "channel"]),
        (feedback(customer={"name": "no code"}), ["body", "customer", "code"]),
        (feedback(text=""), ["body", "text"]),
        (feedback(received_at="2026-11-24T08:00:00"), ["body", "received_at"]),
        (feedback(actor={"user": "x", "department": "canteen"}), ["body", "actor", "department"]),
        (feedback(surprise=1), ["body", "surprise"]),
    ],
)
def test_invalid_input_names_the_field_and_stores_nothing(
    client: TestClient, body: dict[str, Any], loc: list[str]
) -> None:
    response = client.post("/register-entries", json=body)
    assert response.status_code == 422
    assert loc in [d["loc"] for d in response.json()["detail"]]
    assert client.get("/register-entries").json() == []


def test_only_marketing_records_in_the_register(client: TestClient) -> None:
    response = client.post(
        "/complaints", json=complaint(actor={"user": "wang", "department": "production"})
    )
    assert response.status_code == 403
    assert response.json()["detail"][0]["rule"] == "4.1.2/4.4.1"
    assert response.json()["detail"][0]["loc"] == "actor.department"
    assert client.get("/register-entries").json() == []


def test_received_at_in_the_future_is_refused(client: TestClient) -> None:
    response = client.post("/complaints", json=complaint(received_at="2999-01-01T00:00:00Z"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == "received_at"


def test_a_retried_request_finds_the_case_it_created(client: TestClient) -> None:
    headers = {"Idempotency-Key": "call-2026-11-24-0815"}
    first = client.post("/complaints", json=complaint(), headers=headers)
    again = client.post("/complaints", json=complaint(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert len(client.get("/register-entries").json()) == 1


def test_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
