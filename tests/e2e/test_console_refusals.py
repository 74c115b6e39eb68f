"""A service's refusal reads in the viewer's language, with its clause, in a real browser.

A quality problem came in last week. After-sales reports it to the Chief Engineer dated
before it arrived: intake refuses the field (422, 4.1.3) and the page says why in zh-CN or
in English, at the field and above the form. QC opens the case to record misuse; meanwhile
Engineering records it (4.2.3), so QC's finding is refused (409) and the page says, in the
viewer's words, that misuse is already determined. The Warehouse sends a form it may not
(403): the page names who may, in the viewer's words. Intake's English sentence stays the
API's ``detail``; the console says it by the refusal's code. Nothing refused is recorded.
Each page is kept as a screenshot under ``artifacts/console/<locale>/``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, context, look, sign_in
from e2e.support import posted, read

pytestmark = [pytest.mark.integration, pytest.mark.browser]

WHY = {"zh-CN": "需总工程师知悉的原因", "en": "Why the Chief Engineer must know"}
SAID = {
    "zh-CN": {
        "before_receipt": "早于收到客户信息的时间",
        "misuse": "本案已认定为使用不当。",
        "forbidden": "此操作由工程部、品管部执行；sun.li 代表仓务部。",
        "pause_forbidden": "此操作由售后服务、市场部、品管部执行；sun.li 代表仓务部。",
    },
    "en": {
        "before_receipt": "is before the customer's message arrived",
        "misuse": "Misuse is already determined for this case.",
        "forbidden": "This is for Engineering, Quality (QC); sun.li acts for Warehouse.",
        "pause_forbidden": (
            "This is for After-sales service, Marketing, Quality (QC); sun.li acts for Warehouse."
        ),
    },
}


@pytest.mark.parametrize("language", list(RUNS))
def test_4_1_3_and_4_2_3_a_refusal_reads_in_the_viewers_language_with_its_clause(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, intake = process.url, services["intake"].url
    zone = ZoneInfo(RUNS[language][1])
    said = SAID[language]
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    posted(f"{intake}/customers", {"code": code, "name": f"Geely Auto {code}", "oem": True})
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
    case_id = posted(
        f"{intake}/register-entries",
        {
            "kind": "quality_problem",
            "channel": "visit",
            "receiving_department": "after_sales",
            "customer_code": code,
            "text": f"Connectors come loose after a week ({code}).",
            "received_at": received.isoformat(),
        },
    )["case_id"]
    opened = []

    def signed_in(user: str) -> Page:
        browsing = context(browser, language)
        opened.append(browsing)
        page = browsing.new_page()
        sign_in(page, url, user)
        page.goto(f"{url}/cases/{case_id}")
        expect(page.locator("#h-actions")).to_be_visible()
        return page

    def entry() -> dict[str, Any]:
        answer = read(f"{intake}/register-entries/{case_id}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    try:
        # ---- 422 at a field (4.1.3): dated before the problem arrived --------------------
        after_sales = signed_in("zhang.min")
        form = after_sales.locator("#important-form")
        form.get_by_label(WHY[language]).fill("Loose connectors may reach vehicles.")
        before = (received - timedelta(hours=1)).astimezone(zone)
        after_sales.locator("#f-important-reported_at").fill(before.strftime("%Y-%m-%dT%H:%M:%S"))
        form.locator("button[type=submit]").click()
        error = after_sales.locator("#err-important-reported_at")
        expect(error).to_contain_text(said["before_receipt"])
        expect(error).to_contain_text(before.strftime("%Y-%m-%d %H:%M:%S"))  # viewer's zone
        expect(form.locator(".refusal")).to_contain_text(said["before_receipt"])
        expect(form.locator(".refusal .clause")).to_contain_text("4.1.3")
        if language == "zh-CN":  # not the service's English
            expect(form.locator(".refusal")).not_to_contain_text("is before")
        look(after_sales, language, "60-refusal-field")
        assert entry()["important"] is None

        # ---- 409 (4.2.3): QC is slower than Engineering -----------------------------------
        quality = signed_in("wang.fang")
        quality.locator("#f-misuse-finding").fill("Clips missing on the fitted connectors.")
        posted(
            f"{intake}/register-entries/{case_id}/misuse",
            {"finding": "Mated without its locking clip, against the fitting manual."},
            department="engineering",
        )
        quality.locator("#misuse-form button[type=submit]").click()
        refusal = quality.locator("#misuse-form .refusal")
        expect(refusal).to_contain_text(said["misuse"])
        expect(refusal.locator(".clause")).to_contain_text("4.2.3")
        expect(quality.locator("#f-misuse-finding")).to_have_value(
            "Clips missing on the fitted connectors."
        )
        look(quality, language, "61-refusal-state")
        assert entry()["misuse"]["by"]["department"] == "engineering"

        # ---- 403 (4.2.3): the Warehouse sends a form that is not its own ------------------
        warehouse = signed_in("sun.li")
        refused = warehouse.request.post(
            f"{url}/cases/{case_id}/misuse",
            form={
                "csrf": warehouse.locator("input[name=csrf]").first.input_value(),
                "idempotency_key": str(uuid.uuid4()),
                "finding": "not ours to find",
            },
            headers={"Accept-Language": RUNS[language][0]},  # as the browser's own requests
            max_redirects=0,
        )
        assert refused.status == 403
        warehouse.set_content(refused.text())  # the page the console answered, as shown
        expect(warehouse.locator("#misuse-form .refusal")).to_contain_text(said["forbidden"])
        expect(warehouse.locator("#misuse-form .refusal .clause")).to_contain_text("4.2.3")
        look(warehouse, language, "62-refusal-forbidden")
        assert "not ours" not in entry()["misuse"]["finding"]

        # ---- 403 of sla: the Warehouse stops the reply clock, which is not its own --------
        sla = services["sla"].url
        (clock,) = [
            c for c in read(f"{sla}/cases/{case_id}/clocks").json() if c["clock"] == "reply"
        ]
        warehouse.goto(f"{url}/cases/{case_id}")
        refused = warehouse.request.post(
            f"{url}/cases/{case_id}/clocks/{clock['clock_id']}/pause",
            form={
                "csrf": warehouse.locator("input[name=csrf]").first.input_value(),
                "idempotency_key": str(uuid.uuid4()),
                "reason": "customer_unreachable",
            },
            headers={"Accept-Language": RUNS[language][0]},
            max_redirects=0,
        )
        assert refused.status == 403
        warehouse.set_content(refused.text())
        expect(warehouse.locator("#reply-pause-form .refusal")).to_contain_text(
            said["pause_forbidden"]
        )
        expect(warehouse.locator("#reply-pause-form .refusal .clause")).to_contain_text(
            clock["clause"]
        )
        if language == "zh-CN":  # sla's English stays the API's detail
            expect(warehouse.locator("#reply-pause-form .refusal")).not_to_contain_text("acts for")
        look(warehouse, language, "63-refusal-forbidden-sla")
        assert read(f"{sla}/clocks/{clock['clock_id']}").json()["pauses"] == []
    finally:
        for browsing in opened:
            browsing.close()
