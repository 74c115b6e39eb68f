"""A push does not move a work queue under the reader's pointer, in a real browser.

QC has its queue open (4.4.3: quality complaints to contact). While the pointer
rests on the queue, a complaint logged elsewhere does not rearrange the rows: a
notice says the queue was updated by someone else, and the new row comes when
the reader asks for it. With the pointer elsewhere, new rows come as before.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, People, context, look, send, sign_in
from e2e.support import auth, created, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

NOTICE = {"zh-CN": "已被他人更新 · 刷新", "en": "Updated by someone else · refresh"}


def log_complaint(intake: str, code: str, text: str) -> str:
    body = {"category": "quality", "channel": "phone", "receiving_department": "marketing"}
    case_id: str = created(f"{intake}/complaints", body | {"customer_code": code, "text": text})[
        "case_id"
    ]
    return case_id


@pytest.mark.parametrize("language", list(RUNS))
def test_a_push_waits_while_the_pointer_is_on_the_queue(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, intake = process.url, services["intake"].url
    code = f"LIVE-{uuid.uuid4().hex[:6].upper()}"
    created(f"{intake}/customers", {"code": code, "name": f"BYD {code}", "oem": True})

    qc = context(browser, language).new_page()
    sign_in(qc, url, "wang.fang")
    wait_until(lambda: httpx.get(f"{url}/readyz").json()["live_pages"] >= 1, 10, "SSE open")
    notice = qc.locator("#live-held")
    expect(notice).to_be_hidden()

    # The pointer on the queue: the complaint's row waits behind the notice.
    qc.locator("#queue").hover()
    held = log_complaint(intake, code, "Brake hoses weep at the crimp")
    expect(notice).to_be_visible(timeout=15000)
    expect(notice).to_contain_text(NOTICE[language])
    expect(qc.locator(f"#row-{held}")).to_have_count(0)
    look(qc, language, "50-queue-held")
    notice.locator("button").click()
    expect(qc.locator(f"#row-{held}")).to_be_visible()
    expect(notice).to_be_hidden()

    # The pointer away and nothing focused: the next one comes by itself.
    qc.mouse.move(0, 0)
    qc.evaluate("document.activeElement && document.activeElement.blur()")
    live = log_complaint(intake, code, "Brake hoses weep again")
    expect(qc.locator(f"#row-{live}")).to_be_visible(timeout=15000)
    expect(notice).to_be_hidden()


CHANGED = {
    "zh-CN": "已被他人更改 · 重新载入页面",
    "en": "Changed by someone else · reload the page",
}


@pytest.mark.parametrize("language", list(RUNS))
def test_a_return_s_page_says_when_someone_else_took_a_step(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    # 4.3.2: Marketing records the whole-batch return; QC, with the page open, is told
    # (its forms are not swapped under it) and reads the page again when it asks.
    process, services = console
    url, intake, returns = process.url, services["intake"].url, services["returns"].url
    code = f"LIVE-{uuid.uuid4().hex[:6].upper()}"
    created(f"{intake}/customers", {"code": code, "name": f"BYD {code}", "oem": True})
    case = log_complaint(intake, code, "Brake hoses weep at the crimp, whole lot suspect")
    wait_until(
        lambda: httpx.get(f"{returns}/cases/{case}", headers=auth("quality")).status_code == 200,
        what="the return opened from the quality complaint",
    )
    people = People(browser, language, url)
    try:
        qc, marketing = people("wang.fang"), people("li.wei")
        qc.goto(f"{url}/returns/{case}")
        notice = qc.locator("#live-changed")
        marketing.goto(f"{url}/returns/{case}")
        wait_until(lambda: httpx.get(f"{url}/readyz").json()["live_pages"] >= 2, 10, "SSE open")
        expect(notice).to_be_hidden()
        marketing.locator("#f-request-lot").fill("L2026-12-0001")
        marketing.locator("#f-request-delivery").fill("DN-2026-1201")
        marketing.locator("#f-request-quantity").fill("40")
        marketing.locator("#f-request-reason").fill("The customer suspects the whole lot.")
        send(marketing, "#request-form")
        expect(notice).to_be_visible(timeout=15000)
        expect(notice).to_contain_text(CHANGED[language])
        expect(qc.locator("#requested-quantity")).to_have_count(0)  # nothing moved under it
        look(qc, language, "51-return-changed")
        # Marketing's own step came back as its next page: no notice there.
        expect(marketing.locator("#requested-quantity")).to_have_text("40")
        marketing.wait_for_timeout(3000)
        expect(marketing.locator("#live-changed")).to_be_hidden()
        notice.locator("button").click()
        expect(qc.locator("#requested-quantity")).to_have_text("40")
        expect(qc.locator("#live-changed")).to_be_hidden()
    finally:
        people.close()
