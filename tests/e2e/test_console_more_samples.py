"""QC asks the customer for more samples of a received return, in the browser (4.3.2.3).

The return reached the Warehouse over HTTP; QC opens the case page, is offered the form
beside picking samples (Marketing is not), says what it asks for and why, and the request
is on the case, in its timeline, and on csc.returns.v1 (Kafka). The case stays received:
QC picks its samples once they are in.
"""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest
from playwright.sync_api import Browser, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, People, look, no_id_twice, send
from e2e.conftest import Stack
from e2e.support import created, read
from e2e.test_returns import returns_events

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ASKED = "Five more housings from the same lot, and photos of the gate on each."
WHY = "The two units received crack at the rib, not at the gate as the complaint says."


@pytest.mark.timeout(600)
@pytest.mark.parametrize("language", list(RUNS))
def test_4_3_2_3_qc_asks_the_customer_for_more_samples_from_the_case_page(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    module_stack: Stack,
    language: str,
) -> None:
    process, services = console
    url, returns = process.url, services["returns"].url
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    lot = f"L2026-11-{code[-4:]}"
    case_id = created(
        f"{returns}/returns",
        {"customer_code": code, "customer_name": f"Dongfeng Motor {code}",
         "delivery": "DN-2026-1107", "lot": lot, "quantity": 20, "reason": "cracked housings"},
        "marketing",
    )["case_id"]  # fmt: skip
    created(f"{returns}/cases/{case_id}/quality-confirmation-request", {}, "marketing")
    created(f"{returns}/cases/{case_id}/quality-confirmation", {"finding": "cracks"}, "quality")
    created(f"{returns}/cases/{case_id}/receipt-authorization", {}, "marketing")
    receipt = {"quantity": 20, "location": "WH-A returns bay 2", "lot": lot}
    created(f"{returns}/cases/{case_id}/receipt", receipt, "warehouse")

    signed_in = People(browser, language, url)
    try:
        marketing = signed_in("li.wei")
        marketing.goto(f"{url}/returns/{case_id}")
        expect(marketing.locator("#whole-batch")).to_be_visible()
        expect(marketing.locator("#more-form")).to_have_count(0)  # QC's, not Marketing's

        quality = signed_in("wang.fang")
        quality.goto(f"{url}/returns/{case_id}")
        expect(quality.locator("#samples-form")).to_be_visible()
        expect(quality.locator("#more-form")).to_be_visible()
        no_id_twice(quality)
        quality.get_by_label("索要的样品" if language == "zh-CN" else "Samples asked for").fill(
            ASKED
        )
        quality.locator("#f-more-quantity").fill("5")
        quality.locator("#f-more-reason").fill(WHY)
        look(quality, language, "44a-return-more-samples")
        send(quality, "#more-form")
        expect(quality.get_by_text(ASKED).first).to_be_visible()
        expect(quality.locator("#samples-form")).to_be_visible()  # still received

        case = read(f"{returns}/cases/{case_id}").json()
        assert case["status"] == "received"
        asked = [e for e in case["timeline"] if e["event"] == "ReturnMoreSamplesRequested"]
        fields = [{k: e["fields"][k] for k in ("asked", "quantity", "reason")} for e in asked]
        assert fields == [{"asked": ASKED, "quantity": 5, "reason": WHY}]

        # Kafka is read off the browser's event loop, as test_console_returns does.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            events = dict(pool.submit(returns_events, module_stack, case_id, 7).result())
        event = events["ReturnMoreSamplesRequested"]
        assert (event["asked"], event["quantity"], event["reason"]) == (ASKED, 5, WHY)
        assert event["actor"]["department"] == "quality"
    finally:
        signed_in.close()
