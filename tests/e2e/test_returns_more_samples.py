"""QC asks the customer for more samples of a return (4.3.2.3), through the real path.

intake -> Kafka -> returns opens the case; HTTP takes it to received; QC asks for more
samples, saying what and why: recorded in returns' store, shown on the case, published on
csc.returns.v1 by the relay. Before the goods are in, or by anyone but QC, it is refused
and nothing is recorded.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read, wait_until
from e2e.test_returns import RECEIPT, returns_events

pytestmark = pytest.mark.integration

MORE = {
    "asked": "5 more housings from lot L2026-11-0001, and photos of the gate",
    "quantity": 5,
    "reason": "the 2 units received crack elsewhere than the complaint says",
}


def test_4_3_2_3_qc_asks_the_customer_for_more_samples_of_received_goods(stack: Stack) -> None:
    intake = stack.start("intake")
    returns = stack.start("returns")
    case_id = intake_client(stack, intake).post("/complaints", json=complaint(1)).json()["case_id"]
    wait_until(
        lambda: read(f"{returns.url}/cases/{case_id}").status_code == 200,
        what="returns' case opened from the complaint",
    )

    def post(path: str, body: dict[str, Any], department: str) -> httpx.Response:
        headers = {**stack.auth(department), "Idempotency-Key": f"{path}:{department}"}
        return httpx.post(f"{returns.url}{path}", json=body, headers=headers, timeout=30)

    def step(path: str, body: dict[str, Any], department: str) -> dict[str, Any]:
        response = post(f"/cases/{case_id}/{path}", body, department)
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())

    request = {"case_id": case_id, "delivery": "DN-1107", "lot": RECEIPT["lot"],
               "quantity": 40, "reason": "cracked housings"}  # fmt: skip
    assert post("/returns", request, "marketing").status_code == 201
    step("quality-confirmation-request", {}, "marketing")
    step("quality-confirmation", {"finding": "moulding cracks, lot-wide"}, "quality")
    step("receipt-authorization", {}, "marketing")

    early = post(f"/cases/{case_id}/more-samples-request", MORE, "quality")
    assert early.status_code == 409, early.text
    assert early.json()["clause"] == "4.3.2.3"
    assert early.json()["code"] == "returns.more_samples.not_received"

    step("receipt", RECEIPT, "warehouse")
    by_marketing = post(f"/cases/{case_id}/more-samples-request", MORE, "marketing")
    assert by_marketing.status_code == 403, by_marketing.text
    missing = post(f"/cases/{case_id}/more-samples-request", {"asked": "more"}, "quality")
    assert missing.status_code == 422, missing.text
    assert "reason" in missing.text

    case = step("more-samples-request", MORE, "quality")
    assert case["status"] == "received"  # QC picks its samples once they are in
    asked = [e for e in case["timeline"] if e["event"] == "ReturnMoreSamplesRequested"]
    assert [(e["clause"], e["fields"]["asked"]) for e in asked] == [("4.3.2.3", MORE["asked"])]
    step("samples", {"condition": "as reported", "sample_count": 2, "sample_ids": ["S1", "S2"]},
         "quality")  # fmt: skip

    events = returns_events(stack, case_id, 8)
    assert [name for name, _ in events] == [
        "ReturnCaseOpened",
        "ReturnRequested",
        "ReturnConfirmationRequested",
        "ReturnConfirmedByQuality",
        "ReturnReceiptAuthorized",
        "ReturnReceived",
        "ReturnMoreSamplesRequested",
        "ReturnSamplesTaken",
    ]
    published = dict(events)["ReturnMoreSamplesRequested"]
    assert {k: published[k] for k in MORE} == MORE
    assert published["clause"] == "4.3.2.3"
    assert published["actor"] == {"user": "quality.user", "department": "quality"}
