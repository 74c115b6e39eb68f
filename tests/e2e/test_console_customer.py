"""The customer's page in a real browser over the real stack.

Marketing registers a customer (with a site and its zone) and a complaint through
intake's API; the console's customer page shows the archive (4.1.5), the site's time
zone, the Register entry, and the visit (4.5) and survey (4.1.5) due next from sla;
the case page links the customer's name to it; an unknown code is a plain 404 page.
Scanned with axe and kept as a screenshot under ``artifacts/console/<locale>/``.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, context, look, sign_in
from e2e.support import created, read, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.mark.parametrize("language", list(RUNS))
def test_customer_page_shows_archive_entries_and_what_is_due(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, intake, sla = process.url, services["intake"].url, services["sla"].url
    code = f"CUST-{uuid.uuid4().hex[:6].upper()}"
    created(
        f"{intake}/customers",
        {
            "code": code,
            "name": f"Chery Auto {code}",
            "oem": True,
            "contacts": [{"name": "Liu Yang", "role": "Quality manager"}],
            "sites": [{"name": "Wuhu plant 3", "timezone": "Asia/Shanghai"}],
        },
    )
    logged = created(
        f"{intake}/complaints",
        {
            "category": "quality",
            "channel": "phone",
            "receiving_department": "marketing",
            "customer_code": code,
            "text": "Door seals crack after a week",
            "product": "Seal kit S-40",
        },
    )
    case_id = logged["case_id"]
    # sla learns of the customer over Kafka: its schedules then list it.
    wait_until(
        lambda: any(r["code"] == code for r in read(f"{sla}/schedules/visits").json()),
        30,
        "sla schedules the customer's visit",
    )

    browsing = context(browser, language)
    page = browsing.new_page()
    sign_in(page, url, "li.wei")
    page.goto(f"{url}/cases/{case_id}")
    page.locator(f"#h-entry ~ dl a[href='/customers/{code}']").click()
    page.wait_for_url(f"{url}/customers/{code}")
    expect(page.locator("h1")).to_contain_text(f"Chery Auto {code}")
    expect(page.locator("#oem")).to_have_text("是" if language == "zh-CN" else "Yes")
    expect(page.locator("#contacts")).to_contain_text("Liu Yang")
    expect(page.locator("#sites")).to_contain_text("Wuhu plant 3")
    expect(page.locator("#sites")).to_contain_text("Asia/Shanghai")
    expect(page.locator(f"#row-{case_id}")).to_contain_text("Seal kit S-40")
    expect(page.locator("[data-schedule=visit] time").first).to_have_attribute(
        "datetime",
        next(r for r in read(f"{sla}/schedules/visits").json() if r["code"] == code)["due_on"],
    )
    expect(page.locator("[data-schedule=survey] .badge")).to_be_visible()
    look(page, language, "20-customer")

    page.goto(f"{url}/customers")
    expect(page.locator(f"tr[data-customer='{code}'] a")).to_have_attribute(
        "href", f"/customers/{code}"
    )

    missing = page.goto(f"{url}/customers/NO-SUCH-{code}")
    assert missing is not None and missing.status == 404
    expect(page.locator("h1")).to_have_text(
        "没有这个顾客" if language == "zh-CN" else "No such customer"
    )
    look(page, language, "21-customer-unknown")
    browsing.close()
