"""A whole-batch return of 500 units through QC's gate to a closed PNPR, only in the browser.

A quality complaint came in; the customer wants to send the whole batch back. Marketing,
QC and the Warehouse, each in their own browser, take it through 4.3.2 and 4.3.3: Marketing
records the request and asks QC (4.3.2.1); the Warehouse is not offered the receive form
before QC confirmed, the page says why, and a receipt it forces is refused naming 4.3.2.2;
QC confirms from its queue; Marketing tells the Warehouse to receive, which it does from its
queue (4.3.2.2); QC checks the goods on site and picks samples (4.3.2.3), then the PNPR:
identified, isolated in quarantine (the Warehouse's queue shows where and for how long),
reported, reviewed — a decision whose lines do not add up to the 500 received is refused on
the page — and dispositioned until the PNPR closes. The PNPR's PDF is downloaded from the
page and read back with pdftotext; every step is asserted on csc.returns.v1 (Kafka).
Each page is scanned with axe and kept as a screenshot under ``artifacts/console/<locale>/``.
"""

from __future__ import annotations

import concurrent.futures
import re
import subprocess
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, People, look, no_id_twice, send
from e2e.conftest import Stack
from e2e.support import created, read, wait_until
from e2e.test_returns import returns_events

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UNITS = 500
REASON = "Housings crack when the line fits them; the customer returns the whole delivery."
FINDING = "Cracks at the gate on 9 of 10 units checked from the customer's photos: lot-wide."
LOCATION = "WH-A returns bay 2"
QUARANTINE = "Q-3 quarantine cage"
CONDITION = "Pallets intact; cracks at the gate as reported."
NONCONFORMANCE = "Housing cracks at the injection gate: moulding temperature too low."
CONCESSION = "CON-2026-007"


# Fourteen steps in three browsers, each page scanned: longer than the suite's 300 s when
# the machine is busy.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("language", list(RUNS))
def test_a_whole_batch_return_of_500_units_through_the_qc_gate_to_a_closed_pnpr(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    module_stack: Stack,
    language: str,
) -> None:
    process, services = console
    url, intake, returns = process.url, services["intake"].url, services["returns"].url
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    lot = f"L2026-11-{code[-4:]}"
    created(
        f"{intake}/customers",
        {
            "code": code,
            "name": f"Dongfeng Motor {code}",
            "oem": True,
            "sites": [{"name": "Wuhan plant 2", "timezone": "Asia/Shanghai"}],
        },
    )
    case_id = created(
        f"{intake}/complaints",
        {
            "category": "quality",
            "channel": "phone",
            "receiving_department": "marketing",
            "customer_code": code,
            "text": f"CN-220 housings crack at line 3 ({code}).",
            "product": "CN-220 connector",
            "lot": lot,
        },
    )["case_id"]
    wait_until(
        lambda: read(f"{returns}/cases/{case_id}").status_code == 200,
        what="returns' case opened from the quality complaint",
    )

    def status() -> str:
        return str(read(f"{returns}/cases/{case_id}").json()["status"])

    signed_in = People(browser, language, url)

    def the_return(page: Page) -> None:
        page.goto(f"{url}/returns/{case_id}")
        expect(page.locator("#whole-batch")).to_be_visible()
        no_id_twice(page)

    try:
        # ---- 4.3.2, 4.3.2.1: Marketing records the request and asks QC --------------------
        marketing = signed_in("li.wei")
        marketing.goto(f"{url}/cases/{case_id}")
        expect(marketing.locator("#return-card")).to_be_visible()
        look(marketing, language, "39-case-return-card")
        marketing.locator("#return-link").click()
        marketing.wait_for_url(f"{url}/returns/{case_id}")
        expect(marketing.locator("#replace-form")).to_be_visible()  # 4.3.1 is offered too
        expect(marketing.locator("#f-request-lot")).to_have_value(lot)
        marketing.locator("#f-request-delivery").fill("DN-2026-1107")
        marketing.locator("#f-request-quantity").fill(str(UNITS))
        marketing.locator("#f-request-reason").fill(REASON)
        look(marketing, language, "40-return-request")
        send(marketing, "#request-form")
        expect(marketing.locator("#requested-quantity")).to_have_text(str(UNITS))
        expect(marketing.locator("#replace-form")).to_have_count(0)
        expect(marketing.locator("#step-ask")).to_have_attribute("aria-current", "step")
        marketing.locator("#f-ask-note").fill("Photos from line 3 attached to the complaint.")
        send(marketing, "#ask-form")
        expect(marketing.locator("#step-decide")).to_have_attribute("aria-current", "step")
        expect(marketing.locator("#confirm-form")).to_have_count(0)  # QC's, not Marketing's
        assert status() == "awaiting_quality"

        # ---- 4.3.2.2: before QC confirmed, the Warehouse is not offered the receive form ----
        warehouse = signed_in("sun.li")
        the_return(warehouse)
        expect(warehouse.locator("#receive-form")).to_have_count(0)
        expect(warehouse.locator("#receive-gate")).to_contain_text("4.3.2.2")
        look(warehouse, language, "41-return-gate-before-qc")
        forced = warehouse.request.post(
            f"{url}/returns/{case_id}/receipt",
            form={
                "csrf": warehouse.locator("input[name=csrf]").first.input_value(),
                "idempotency_key": str(uuid.uuid4()),
                "quantity": str(UNITS),
                "lot": lot,
                "location": LOCATION,
            },
            max_redirects=0,
        )
        assert forced.status == 409, forced.text()
        warehouse.set_content(forced.text())  # the page the console answered, as shown
        expect(warehouse.locator("#receive-form .refusal .clause")).to_contain_text("4.3.2.2")
        expect(warehouse.locator("#f-receive-location")).to_have_value(LOCATION)
        assert status() == "awaiting_quality"
        assert read(f"{returns}/cases/{case_id}").json()["receipt"] is None

        # ---- 4.3.2.2: QC confirms from its queue ---------------------------------------------
        quality = signed_in("wang.fang")
        row = quality.locator(f"#returns-confirm-{case_id}")
        expect(row).to_contain_text(str(UNITS))
        look(quality, language, "42-queue-qc-returns-to-confirm")
        row.locator("a[href^='/returns/']").click()
        quality.wait_for_url(f"{url}/returns/{case_id}")
        expect(quality.locator("#reject-form")).to_be_visible()
        quality.locator("#f-confirm-finding").fill(FINDING)
        send(quality, "#confirm-form")
        expect(quality.locator("#quality-decision")).to_be_visible()
        look(quality, language, "43-return-confirmed-by-qc")

        # Confirmed, but not yet authorized: still no receive form, and the page says why.
        the_return(warehouse)
        expect(warehouse.locator("#receive-form")).to_have_count(0)
        expect(warehouse.locator("#receive-gate")).to_contain_text("4.3.2.2")

        the_return(marketing)
        send(marketing, "#authorize-form")
        assert status() == "receipt_authorized"

        # ---- 4.3.2.2: the Warehouse receives from its queue ---------------------------------
        warehouse.goto(f"{url}/")
        row = warehouse.locator(f"#returns-receive-{case_id}")
        expect(row).to_contain_text(lot)
        look(warehouse, language, "44-queue-warehouse-to-receive")
        row.locator("a[href^='/returns/']").click()
        warehouse.wait_for_url(f"{url}/returns/{case_id}")
        expect(warehouse.locator("#receive-gate")).to_have_count(0)
        expect(warehouse.locator("#f-receive-lot")).to_have_value(lot)
        expect(warehouse.locator("#f-receive-quantity")).to_have_value(str(UNITS))
        warehouse.locator("#f-receive-location").fill(LOCATION)
        send(warehouse, "#receive-form")
        expect(warehouse.locator("#received-quantity")).to_have_text(str(UNITS))

        # ---- 4.3.2.3: QC checks on site and picks samples; 4.3.3: tags the goods ------------
        quality.goto(f"{url}/")
        expect(quality.locator(f"#returns-check-{case_id}")).to_contain_text(LOCATION)
        the_return(quality)
        quality.locator("#f-samples-condition").fill(CONDITION)
        quality.locator("#f-samples-sample_ids").fill("S-01, S-02，S-03")
        send(quality, "#samples-form")
        expect(quality.locator("#sample-ids")).to_contain_text("S-01, S-02, S-03")
        quality.locator("#f-identify-tag").fill("NC-2026-0042")
        send(quality, "#identify-form")
        expect(quality.locator("#isolate-form")).to_have_count(0)  # the Warehouse's step

        # ---- 4.3.3: the Warehouse isolates; its queue shows the quarantine ------------------
        the_return(warehouse)
        warehouse.locator("#f-isolate-location").fill(QUARANTINE)
        send(warehouse, "#isolate-form")
        expect(warehouse.locator("#quarantine-location")).to_have_text(QUARANTINE)
        warehouse.goto(f"{url}/")
        stock = warehouse.locator(f"#returns-quarantine-{case_id}")
        expect(stock).to_contain_text(QUARANTINE)
        expect(stock).to_contain_text("NC-2026-0042")
        expect(stock.locator("td").first).not_to_be_empty()  # how long it has been there
        look(warehouse, language, "45-queue-warehouse-quarantine")

        # ---- 4.3.3: QC reports and the review board decides; lines must add up --------------
        the_return(quality)
        quality.locator("#f-report-description").fill(NONCONFORMANCE)
        send(quality, "#report-form")
        for i, name in enumerate(("Wang Fang", "Li Wei", "Zhao Lei")):
            quality.locator(f"#f-review-board-{i}-name").fill(name)
        quality.locator("#f-review-decision-rework").fill("300")
        quality.locator("#f-review-decision-scrap").fill("150")
        expect(quality.locator("#decision-sum")).to_have_text("450")
        expect(quality.locator("#decision-check")).to_have_attribute("data-state", "off")
        expect(quality.locator("#decision-check")).to_contain_text("50")
        look(quality, language, "46-pnpr-review-not-adding-up")
        send(quality, "#review-form")
        expect(quality.locator("#review-form .refusal .clause")).to_contain_text("4.3.3")
        expect(quality.locator("#review-form .refusal")).to_contain_text("450")
        expect(quality.locator("#f-review-decision-rework")).to_have_value("300")
        expect(quality.locator("#f-review-board-2-name")).to_have_value("Zhao Lei")
        look(quality, language, "47-pnpr-review-refused")
        assert status() == "nonconformance_reported"
        quality.locator("#f-review-decision-use_as_is").fill("50")
        expect(quality.locator("#decision-sum")).to_have_text(str(UNITS))
        expect(quality.locator("#decision-check")).to_have_attribute("data-state", "ok")
        send(quality, "#review-form")
        expect(quality.locator("#decision")).to_contain_text("300")
        assert status() == "reviewed"

        # ---- 4.3.3: dispositioned where the work is done, until every unit is ---------------
        quality.locator("#f-dispose-disposition").select_option("rework")
        quality.locator("#f-dispose-quantity").fill("300")
        send(quality, "#dispose-form")
        quality.locator("#f-dispose-disposition").select_option("use_as_is")
        quality.locator("#f-dispose-quantity").fill("50")
        send(quality, "#dispose-form")  # use as is needs its concession
        expect(quality.locator("#err-dispose-concession")).to_be_visible()
        expect(quality.locator("#dispose-form .refusal .clause")).to_contain_text("4.3.3")
        quality.locator("#f-dispose-concession").fill(CONCESSION)
        send(quality, "#dispose-form")
        the_return(warehouse)
        warehouse.locator("#f-dispose-disposition").select_option("scrap")
        warehouse.locator("#f-dispose-quantity").fill("150")
        send(warehouse, "#dispose-form")
        expect(warehouse.locator("#pnpr-closed")).to_be_visible()
        expect(warehouse.locator("#dispose-form")).to_have_count(0)
        expect(warehouse.locator("#pnpr-progress")).to_contain_text(str(UNITS))
        look(warehouse, language, "48-pnpr-closed")
        case = read(f"{returns}/cases/{case_id}").json()
        assert case["status"] == "dispositioned"
        assert case["pnpr"]["remaining"] == 0 and case["pnpr"]["dispositioned"] == UNITS
        warehouse.goto(f"{url}/")
        expect(warehouse.locator(f"#returns-quarantine-{case_id}")).to_have_count(0)

        # ---- the PNPR, downloaded from the page and read back -------------------------------
        the_return(quality)
        with quality.expect_download() as download:
            quality.locator("#pnpr-pdf").click()
        pdf = download.value.path()
        assert pdf.read_bytes().startswith(b"%PDF")
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert case["pnpr"]["report_no"] in text and QUARANTINE in text and CONCESSION in text

        # ---- csc.returns.v1: every step, in order, by whom ----------------------------------
        # Playwright's sync API keeps an event loop in this thread: read Kafka from another.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            events = pool.submit(returns_events, module_stack, case_id, 14).result()
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
            "NonconformanceDispositioned",
        ]
        bodies = {name: body for name, body in events}
        assert bodies["ReturnRequested"]["quantity"] == UNITS
        assert bodies["ReturnRequested"]["actor"] == {"user": "li.wei", "department": "marketing"}
        assert bodies["ReturnConfirmedByQuality"]["actor"]["user"] == "wang.fang"
        received = bodies["ReturnReceived"]
        assert (received["quantity"], received["location"], received["clause"]) == (
            UNITS,
            LOCATION,
            "4.3.2.2",
        )
        assert received["actor"] == {"user": "sun.li", "department": "warehouse"}
        decision = {
            d["disposition"]: d["quantity"] for d in bodies["NonconformanceReviewed"]["decision"]
        }
        assert decision == {"rework": 300, "scrap": 150, "use_as_is": 50}
        assert events[-1][1]["complete"] is True and events[-1][1]["remaining"] == 0
    finally:
        signed_in.close()


@pytest.mark.parametrize("language", list(RUNS))
def test_a_few_units_replaced_and_a_return_qc_rejects_with_its_reason(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    module_stack: Stack,
    language: str,
) -> None:
    """4.3.1: Marketing agrees to replace 3 units and the Warehouse ships them. 4.3.2.2: QC
    rejects another return with its reason; nothing is received, and no later step is
    offered to anyone."""
    process, services = console
    url, intake, returns = process.url, services["intake"].url, services["returns"].url
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    created(f"{intake}/customers", {"code": code, "name": f"BYD {code}", "oem": True, "sites": []})
    cases = [
        created(
            f"{intake}/complaints",
            {
                "category": "quality",
                "channel": "email",
                "receiving_department": "marketing",
                "customer_code": code,
                "text": f"{what} ({code}).",
                "product": "CN-220 connector",
                "lot": "L2026-10-0007",
            },
        )["case_id"]
        for what in ("Three housings cracked in the last delivery", "Whole delivery suspect")
    ]

    def seen() -> bool:
        return all(read(f"{returns}/cases/{c}").status_code == 200 for c in cases)

    wait_until(seen, what="returns' cases opened from the quality complaints")
    replaced, rejected = cases
    signed_in = People(browser, language, url)

    try:
        # ---- 4.3.1: three units replaced ------------------------------------------------
        marketing = signed_in("li.wei")
        marketing.goto(f"{url}/returns/{replaced}")
        marketing.locator("#f-replace-quantity").fill("3")
        marketing.locator("#f-replace-units").fill("U-101, U-102")  # two ids for three units
        send(marketing, "#replace-form")
        expect(marketing.locator("#replace-form .refusal .clause")).to_contain_text("4.3.1")
        expect(marketing.locator("#f-replace-units")).to_have_value("U-101, U-102")
        marketing.locator("#f-replace-units").fill("U-101, U-102, U-103")
        marketing.locator("#f-replace-agreed_with").fill("Mr. Zhao, SQE")
        send(marketing, "#replace-form")
        expect(marketing.locator("#replacement")).to_contain_text("U-103")
        expect(marketing.locator("#whole-batch")).to_have_count(0)  # no return of this case
        warehouse = signed_in("sun.li")
        warehouse.goto(f"{url}/returns/{replaced}")
        warehouse.locator("#f-ship-quantity").fill("3")
        warehouse.locator("#f-ship-lot").fill("L2026-11-0100")
        send(warehouse, "#ship-form")
        expect(warehouse.locator("#ship-form")).to_have_count(0)
        look(warehouse, language, "49-return-replacement-shipped")
        case = read(f"{returns}/cases/{replaced}").json()
        assert case["status"] == "replacement_shipped"
        assert case["replacement"]["units"] == ["U-101", "U-102", "U-103"]
        assert case["replacement"]["shipment"]["by"]["user"] == "sun.li"

        # ---- 4.3.2.2: QC rejects a return with its reason -------------------------------
        marketing.goto(f"{url}/returns/{rejected}")
        marketing.locator("#f-request-delivery").fill("DN-2026-1020")
        marketing.locator("#f-request-quantity").fill("200")
        marketing.locator("#f-request-reason").fill("The customer suspects the whole lot.")
        send(marketing, "#request-form")
        send(marketing, "#ask-form")
        quality = signed_in("wang.fang")
        quality.goto(f"{url}/returns/{rejected}")
        reason = "The photos show assembly damage at the customer, not a moulding defect."
        quality.locator("#f-reject-reason").fill(reason)
        send(quality, "#reject-form")
        expect(quality.locator("#step-decide")).to_contain_text(reason)
        expect(quality.locator("#receive-gate")).to_contain_text("4.3.2.2")
        look(quality, language, "50-return-rejected-by-qc")
        for page in (marketing, quality, warehouse):
            page.goto(f"{url}/returns/{rejected}")
            expect(page.locator("#whole-batch form.action")).to_have_count(0)
            expect(page.locator("#step-receive")).to_have_class(re.compile("step-stopped"))
        case = read(f"{returns}/cases/{rejected}").json()
        assert case["status"] == "rejected_by_quality" and case["receipt"] is None
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            events = pool.submit(returns_events, module_stack, rejected, 4).result()
        (_, last), *_ = reversed(events)
        assert [name for name, _ in events][-1] == "ReturnRejectedByQuality"
        assert last["reason"] == reason and last["actor"]["user"] == "wang.fang"
    finally:
        signed_in.close()
