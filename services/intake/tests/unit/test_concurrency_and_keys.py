"""Writers racing on one aggregate, and Idempotency-Keys scoped to their user and route."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from intake_http import MARKETING, SECRET, Clock, Intake, auth, complaint_body, customer_body

from csc_devkit.desk import refused
from csc_intake.bootstrap import IntakeSettings, create_app

CONTACT = {"channel": "phone", "summary": "Quarterly review"}


def test_parallel_writers_on_one_customer_are_each_recorded_once_or_refused_409(
    client: TestClient, customer: dict[str, Any]
) -> None:
    def contact(n: int) -> Any:
        body = {**CONTACT, "summary": f"call {n}"}
        return client.post("/customers/OEM-001/contacts", json=body, headers=MARKETING)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(contact, range(20)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code >= 500]
    for conflict in (r for r in responses if r.status_code == 409):
        refused(conflict, 409, "concurrency")
    recorded = {r.json()["contact_log"][-1]["summary"] for r in responses if r.status_code == 201}
    log = client.get("/customers/OEM-001", headers=MARKETING).json()["contact_log"]
    summaries = [c["summary"] for c in log]
    # Every 201 is in the log exactly once, and nothing refused is.
    assert sorted(summaries) == sorted(f"call {n}" for n, c in enumerate(codes) if c == 201)
    assert recorded <= set(summaries) and codes.count(201) >= 1


def test_a_key_with_the_same_body_returns_the_first_result_and_records_nothing(
    client: TestClient, customer: dict[str, Any]
) -> None:
    headers = {**MARKETING, "Idempotency-Key": "contact-1"}
    first = client.post("/customers/OEM-001/contacts", json=CONTACT, headers=headers)
    # The same JSON, its keys in another order: the same request.
    again = client.post(
        "/customers/OEM-001/contacts", json=dict(reversed(CONTACT.items())), headers=headers
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() and len(again.json()["contact_log"]) == 1


def test_a_key_with_a_different_request_is_refused_422(
    client: TestClient, customer: dict[str, Any]
) -> None:
    headers = {**MARKETING, "Idempotency-Key": "contact-1"}
    client.post("/customers/OEM-001/contacts", json=CONTACT, headers=headers)
    other = client.post(
        "/customers/OEM-001/contacts", json={**CONTACT, "summary": "other"}, headers=headers
    )
    assert "different request" in refused(other, 422, "Idempotency-Key")
    log = client.get("/customers/OEM-001", headers=MARKETING).json()["contact_log"]
    assert [c["summary"] for c in log] == [CONTACT["summary"]]


def test_a_key_is_its_users_own_and_its_routes_own(
    client: TestClient, customer: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": "call-0815"}
    first = client.post("/complaints", json=complaint_body(), headers={**MARKETING, **key})
    other_user = auth("marketing", "zhao.min")
    second = client.post("/complaints", json=complaint_body(), headers={**other_user, **key})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["case_id"] != second.json()["case_id"]
    # The same key on another route is another request too.
    feedback = {**complaint_body(), "kind": "quality_problem"}
    feedback.pop("category")
    third = client.post("/register-entries", json=feedback, headers={**MARKETING, **key})
    assert third.status_code == 201, third.text
    assert len(client.get("/register-entries", headers=MARKETING).json()) == 3


def test_keys_hold_across_a_restart(tmp_path: Path, clock: Clock) -> None:
    settings = IntakeSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    headers = {**MARKETING, "Idempotency-Key": "call-0815"}
    with TestClient(create_app(service=Intake(settings, clock).service)) as before:
        before.post("/customers", json=customer_body(), headers=MARKETING)
        first = before.post("/complaints", json=complaint_body(), headers=headers)
    with TestClient(create_app(service=Intake(settings, clock).service)) as after:
        again = after.post("/complaints", json=complaint_body(), headers=headers)
        other = after.post("/complaints", json=complaint_body(lot="L-other"), headers=headers)
        assert (first.status_code, again.status_code, other.status_code) == (201, 200, 422)
        assert again.json()["case_id"] == first.json()["case_id"]
        assert len(after.get("/register-entries", headers=MARKETING).json()) == 1


def test_every_write_takes_an_idempotency_key(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    writes = [
        (method, path, op)
        for path, ops in paths.items()
        for method, op in ops.items()
        if method in ("post", "put", "patch")
    ]
    assert len(writes) > 15
    for method, path, op in writes:
        headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, (method, path)
