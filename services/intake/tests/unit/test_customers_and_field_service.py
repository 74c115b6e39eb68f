"""The customer archive (4.1.5), field service records (4.1.4) and visits (4.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from intake_http import MARKETING, SECRET, Intake, auth, customer_body

from csc_intake.bootstrap import IntakeSettings
from csc_intake.domain import Customer, FieldServiceRecord

AFTER_SALES = auth("after_sales", "zhao.liu")


def daily(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "daily",
        "customer_code": "OEM-001",
        "site": "Wuhan plant 2",
        "work_date": "2026-11-23",
        "units_loaded": [{"model": "EQ1180", "quantity": 36}],
        "problems": "2 connectors loose at final check",
        "actions": "Re-seated, line trained",
    }
    body.update(overrides)
    return body


def test_4_1_5_archive_contacts_and_yearly_survey(
    client: TestClient, customer: dict[str, Any]
) -> None:
    assert customer["oem"] is True
    updated = client.put(
        "/customers/OEM-001",
        json={k: v for k, v in customer_body(name="Dongfeng Motor Co.").items() if k != "code"},
        headers=MARKETING,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Dongfeng Motor Co."

    contact = client.post(
        "/customers/OEM-001/contacts",
        json={"channel": "visit", "summary": "Quarterly review, no open issues"},
        headers=AFTER_SALES,
    )
    assert contact.status_code == 201
    assert contact.json()["contact_log"][0]["by"]["department"] == "after_sales"

    survey = {"year": 2026, "scores": {"quality": 4, "delivery": 5}, "comments": "good"}
    assert client.post("/customers/OEM-001/satisfaction-surveys", json=survey,
                       headers=MARKETING).status_code == 201  # fmt: skip
    again = client.post("/customers/OEM-001/satisfaction-surveys", json=survey, headers=MARKETING)
    assert again.status_code == 409  # 4.1.5: once a year
    assert again.json()["clause"] == "4.1.5"
    bad = client.post(
        "/customers/OEM-001/satisfaction-surveys",
        json={"year": 2025, "scores": {"quality": 9}},
        headers=MARKETING,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "scores", "quality"]

    page = client.get("/customers/OEM-001", headers=auth("auditor")).json()
    assert [s["year"] for s in page["surveys"]] == [2026]


def test_a_customer_code_is_registered_once(client: TestClient, customer: dict[str, Any]) -> None:
    again = client.post("/customers", json=customer_body(), headers=MARKETING)
    assert again.status_code == 409
    assert again.json()["errors"][0]["loc"] == ["body", "code"]


def test_site_time_zones_are_checked(client: TestClient) -> None:
    body = customer_body(code="OEM-TZ", sites=[{"name": "x", "timezone": "Mars/Olympus"}])
    response = client.post("/customers", json=body, headers=MARKETING)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:3] == ["body", "sites", 0]


def test_4_1_4_one_daily_record_per_engineer_site_and_day(
    client: TestClient, customer: dict[str, Any]
) -> None:
    first = client.post("/field-service-records", json=daily(), headers=AFTER_SALES)
    assert first.status_code == 201, first.text
    record = first.json()
    assert record["engineer"] == "zhao.liu"
    assert record["units_loaded"] == [{"model": "EQ1180", "quantity": 36}]

    second = client.post(
        "/field-service-records", json=daily(problems="other"), headers=AFTER_SALES
    )
    assert second.status_code == 409
    assert "amend" in second.json()["detail"]

    amended = client.post(
        f"/field-service-records/{record['record_id']}/amendments",
        json={"units_loaded": [{"model": "EQ1180", "quantity": 38}], "problems": "none",
              "reason": "2 trucks counted late"},
        headers=AFTER_SALES,
    )  # fmt: skip
    assert amended.status_code == 201, amended.text
    after = amended.json()
    assert after["units_loaded"] == [{"model": "EQ1180", "quantity": 38}]
    assert after["amendments"][0]["before"]["units_loaded"] == [{"model": "EQ1180", "quantity": 36}]
    assert after["amendments"][0]["reason"] == "2 trucks counted late"


def test_4_1_4_daily_records_are_for_oem_customers_at_their_sites(client: TestClient) -> None:
    client.post("/customers", json=customer_body(code="DLR-7", oem=False), headers=MARKETING)
    not_oem = client.post("/field-service-records", json=daily(customer_code="DLR-7"),
                          headers=AFTER_SALES)  # fmt: skip
    assert not_oem.status_code == 422
    assert not_oem.json()["clause"] == "4.1.4"
    client.post("/customers", json=customer_body(), headers=MARKETING)
    wrong_site = client.post("/field-service-records", json=daily(site="Moon base"),
                             headers=AFTER_SALES)  # fmt: skip
    assert wrong_site.status_code == 422
    assert wrong_site.json()["errors"][0]["loc"] == ["body", "site"]


def test_4_5_visits_are_field_service_records_of_kind_visit(
    client: TestClient, customer: dict[str, Any]
) -> None:
    visit = daily(kind="visit", survey="Happy with response times", product_use="fine",
                  technical_consulting="Explained the new sealing", units_loaded=[])  # fmt: skip
    response = client.post("/field-service-records", json=visit, headers=MARKETING)
    assert response.status_code == 201, response.text
    page = client.get("/customers/OEM-001", headers=MARKETING).json()
    assert [v["survey"] for v in page["visits"]] == ["Happy with response times"]
    assert len(client.get("/field-service-records?kind=visit", headers=MARKETING).json()) == 1


def test_att_2_arrival_and_departure_are_kept_in_order(
    client: TestClient, customer: dict[str, Any]
) -> None:
    backwards = client.post(
        "/field-service-records",
        json=daily(arrived_at="2026-11-23T00:30:00Z", departed_at="2026-11-23T00:00:00Z"),
        headers=AFTER_SALES,
    )
    assert backwards.status_code == 422, backwards.text
    assert backwards.json()["errors"][0]["loc"] == ["body", "departed_at"]
    assert backwards.json()["clause"] == "4.1.4"
    # 23:00 on the 22nd in Wuhan (Asia/Shanghai), though the 23rd's record.
    day_before = client.post(
        "/field-service-records", json=daily(arrived_at="2026-11-22T15:00:00Z"), headers=AFTER_SALES
    )
    assert day_before.status_code == 422, day_before.text
    assert day_before.json()["errors"][0]["loc"] == ["body", "arrived_at"]
    assert "2026-11-22" in day_before.json()["detail"]
    too_long = client.post(
        "/field-service-records",
        json=daily(arrived_at="2026-11-23T00:30:00Z", departed_at="2026-11-24T01:00:00Z"),
        headers=AFTER_SALES,
    )
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["errors"][0]["loc"] == ["body", "departed_at"]
    assert "more than a day" in too_long.json()["detail"]

    recorded = client.post(
        "/field-service-records",
        json=daily(arrived_at="2026-11-23T00:30:00Z", departed_at="2026-11-23T09:00:00Z"),
        headers=AFTER_SALES,
    )
    assert recorded.status_code == 201, recorded.text
    record = recorded.json()
    assert (record["arrived_at"], record["departed_at"]) == (
        "2026-11-23T00:30:00+00:00",
        "2026-11-23T09:00:00+00:00",
    )
    amended = client.post(
        f"/field-service-records/{record['record_id']}/amendments",
        json={"arrived_at": "2026-11-23T00:30:00Z", "departed_at": "2026-11-23T11:00:00Z",
              "reason": "stayed for the night shift"},
        headers=AFTER_SALES,
    )  # fmt: skip
    assert amended.status_code == 201, amended.text
    assert amended.json()["departed_at"] == "2026-11-23T11:00:00+00:00"
    assert amended.json()["amendments"][0]["before"]["departed_at"] == "2026-11-23T09:00:00+00:00"


def test_a_record_kept_before_att_2_had_times_is_still_amended_and_read(
    tmp_path: Path, client: TestClient, customer: dict[str, Any]
) -> None:
    # A record as stored before arrival and departure existed: its details lack them.
    settings = IntakeSettings(data_dir=tmp_path, relay_enabled=False, auth_hs256_secret=SECRET)
    earlier = Intake(settings)
    found = earlier.app._find(Customer.create_id("OEM-001"), Customer)
    assert found is not None
    old = FieldServiceRecord(
        kind="daily", customer=found.ref, site="Wuhan plant 2", work_date="2026-11-22",
        engineer="zhao.liu", actor={"user": "zhao.liu", "department": "after_sales"},
        request_key=None,
        details={"units_loaded": [{"model": "EQ1180", "quantity": 30}], "problems": None,
                 "actions": None, "survey": None, "product_use": None,
                 "technical_consulting": None},
    )  # fmt: skip
    earlier.app.save(old)
    earlier.app.close()

    path = f"/field-service-records/{old.id}"
    assert client.get(path, headers=AFTER_SALES).json()["arrived_at"] is None
    amended = client.post(
        f"{path}/amendments",
        json={"arrived_at": "2026-11-22T00:30:00Z", "units_loaded": [], "reason": "times added"},
        headers=AFTER_SALES,
    )
    assert amended.status_code == 201, amended.text
    assert amended.json()["amendments"][0]["before"]["arrived_at"] is None
    assert client.get("/customers", headers=MARKETING).status_code == 200  # the view goes on
