"""Facts that start, meet or stop a clock carry when they happened, in order (4.1.3, 4.2).

Every such time is refused when it lies in the future or before the fact it
follows: 422 naming the field and the clause; nothing is recorded.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from intake_http import MARKETING, auth, complaint_body

pytestmark = pytest.mark.usefixtures("customer")
AFTER_SALES = auth("after_sales", "zhao.liu")
CHIEF = auth("chief_engineer", "wang.zonggong")
RECEIVED = "2026-11-20T09:30:00Z"  # the Friday before the test clock's Tuesday


def new_case(client: TestClient, **overrides: Any) -> str:
    body = complaint_body(received_at=RECEIVED, **overrides)
    response = client.post("/complaints", json=body, headers=MARKETING)
    assert response.status_code == 201, response.text
    return str(response.json()["case_id"])


def post(client: TestClient, case: str, step: str, body: dict[str, Any], who: Any) -> Any:
    return client.post(f"/register-entries/{case}/{step}", json=body, headers=who)


def refused(response: Any, field: str, rule: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["clause"] == rule
    assert [e["loc"] for e in problem["errors"]] == [["body", field]]


def visit(arrived_at: str) -> dict[str, Any]:
    return {"arrived_at": arrived_at, "engineers": ["zhao.liu"], "diagnosis": "d", "solution": "s"}


def test_4_2_2_the_on_site_request_says_when_it_was_decided(client: TestClient) -> None:
    case = new_case(client)
    required = post(
        client, case, "on-site-requests",
        {"reason": "not_solved_by_phone", "requested_at": "2026-11-20T10:15:00Z"}, MARKETING,
    )  # fmt: skip
    assert required.status_code == 201, required.text
    assert required.json()["on_site"]["requested_at"] == "2026-11-20T10:15:00+00:00"
    history = client.get(f"/register-entries/{case}/history", headers=MARKETING).json()
    assert history[-1]["fields"]["requested_at"].startswith("2026-11-20T10:15:00")


def test_4_2_2_without_a_time_the_request_is_dated_now(client: TestClient) -> None:
    case = new_case(client)
    required = post(client, case, "on-site-requests", {"reason": "quality_problem"}, MARKETING)
    assert required.json()["on_site"]["requested_at"] == "2026-11-24T09:00:00+00:00"


@pytest.mark.parametrize(
    ("requested_at", "why"),
    [("2026-11-20T09:00:00Z", "before the call"), ("2026-11-25T09:00:00Z", "in the future")],
)
def test_4_2_2_a_request_before_the_call_or_in_the_future_is_refused(
    client: TestClient, requested_at: str, why: str
) -> None:
    case = new_case(client)
    response = post(
        client, case, "on-site-requests",
        {"reason": "quality_problem", "requested_at": requested_at}, MARKETING,
    )  # fmt: skip
    assert response.status_code == 422, why
    assert response.json()["errors"][0]["loc"] == ["body", "requested_at"]
    assert client.get(f"/register-entries/{case}", headers=MARKETING).json()["on_site"] is None


def test_4_2_2_a_visit_before_its_request_is_refused(client: TestClient) -> None:
    case = new_case(client)
    post(client, case, "on-site-requests", {"reason": "quality_problem"}, MARKETING)  # now, Tue
    refused(post(client, case, "on-site-visits", visit("2026-11-21T01:00:00Z"), AFTER_SALES),
            "arrived_at", "4.2.2")  # fmt: skip
    entry = client.get(f"/register-entries/{case}", headers=MARKETING).json()
    assert entry["on_site"]["visits"] == []
    refused(post(client, case, "on-site-visits", visit("2026-11-24T08:59:00Z"), AFTER_SALES),
            "arrived_at", "4.2.2")  # a minute before the request  # fmt: skip
    ok = post(client, case, "on-site-visits", visit("2026-11-24T09:00:00Z"), AFTER_SALES)
    assert ok.status_code == 201, ok.text


def test_4_2_1_a_reply_before_the_call_is_refused_with_its_clause(client: TestClient) -> None:
    case = new_case(client)
    body = {"replied_at": "2026-11-20T09:29:00Z", "channel": "phone", "summary": "?"}
    refused(post(client, case, "replies", body, AFTER_SALES), "replied_at", "4.2.1")


def test_4_1_3_the_report_and_its_acknowledgement_in_order(client: TestClient) -> None:
    case = new_case(client)
    early = post(
        client,
        case,
        "important",
        {"reason": "line stop", "reported_at": "2026-11-20T09:00:00Z"},
        MARKETING,
    )
    refused(early, "reported_at", "4.1.3")
    reported = post(
        client,
        case,
        "important",
        {"reason": "line stop", "reported_at": "2026-11-20T11:00:00Z"},
        MARKETING,
    )
    assert reported.status_code == 201, reported.text
    assert reported.json()["important"]["reported_at"] == "2026-11-20T11:00:00+00:00"

    before = post(client, case, "important/acknowledgement",
                  {"acknowledged_at": "2026-11-20T10:59:00Z"}, CHIEF)  # fmt: skip
    refused(before, "acknowledged_at", "4.1.3")
    ack = post(
        client,
        case,
        "important/acknowledgement",
        {"comment": "seen", "acknowledged_at": "2026-11-20T12:00:00Z"},
        CHIEF,
    )
    assert ack.status_code == 201, ack.text
    assert ack.json()["important"]["acknowledged"]["acknowledged_at"] == (
        "2026-11-20T12:00:00+00:00"
    )


def test_4_1_3_an_acknowledgement_in_the_future_is_refused(client: TestClient) -> None:
    case = new_case(client, important_reason="line stop")
    response = post(client, case, "important/acknowledgement",
                    {"acknowledged_at": "2026-11-25T09:00:00Z"}, CHIEF)  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "acknowledged_at"]
