"""What Marketing's and after-sales' queues list beside the replies, in a real browser.

Marketing (4.5): a customer last visited seven months ago is due a visit, late;
(4.6) an entry received last month is to be followed up. After-sales (4.2.2): an
on-site request with its 8-hour clock, soonest due first; (4.6) the same
follow-up. Each comes from sla over Kafka, as the services record them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, context, look, sign_in
from e2e.support import created as post
from e2e.support import read, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

WORDS = {
    "zh-CN": {"overdue": "已超期", "due": "剩余", "never": "从未"},
    "en": {"overdue": "overdue by", "due": "due in", "never": "never"},
}


@pytest.mark.parametrize("language", list(RUNS))
def test_marketing_and_after_sales_see_what_is_due_beside_the_replies(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, intake, sla = process.url, services["intake"].url, services["sla"].url
    words = WORDS[language]
    code = f"Q-{uuid.uuid4().hex[:6].upper()}"
    post(
        f"{intake}/customers",
        {
            "code": code,
            "name": f"GAC {code}",
            "oem": True,
            "sites": [{"name": "Panyu plant", "timezone": "Asia/Shanghai"}],
        },
    )
    visited = date.today() - timedelta(days=210)
    post(
        f"{intake}/field-service-records",
        {"kind": "visit", "customer_code": code, "site": "Panyu plant", "work_date": str(visited)},
    )
    earlier = datetime.now(UTC).replace(day=1) - timedelta(days=10)  # last month
    feedback = post(
        f"{intake}/register-entries",
        {
            "kind": "suggestion",
            "channel": "email",
            "receiving_department": "marketing",
            "customer_code": code,
            "text": "A second label on the carton would help the line",
            "received_at": earlier.isoformat(),
        },
    )["case_id"]
    complaint = post(
        f"{intake}/complaints",
        {
            "category": "service",
            "channel": "phone",
            "receiving_department": "after_sales",
            "customer_code": code,
            "text": "The press still stops after the repair",
        },
    )["case_id"]
    post(
        f"{intake}/register-entries/{complaint}/on-site-requests",
        {"reason": "not_solved_by_phone"},
        "after_sales",
    )
    wait_until(
        lambda: any(
            c["clock"] == "on_site"
            for c in read(f"{sla}/clocks?case_id={complaint}&clock=on_site").json()
        ),
        30,
        "sla starts the on-site clock",
    )
    wait_until(
        lambda: any(t["case_id"] == feedback for t in read(f"{sla}/follow-up-tasks").json()),
        30,
        "sla lists the follow-up",
    )

    marketing = context(browser, language).new_page()
    sign_in(marketing, url, "li.wei")
    visit = marketing.locator(f"section[aria-labelledby=h-visits] #visits-{code}")
    expect(visit.locator(".badge-breached")).to_contain_text(words["overdue"])
    expect(visit).to_contain_text(str(visited))
    expect(
        marketing.locator(f"section[aria-labelledby=h-follow-ups] #row-{feedback}")
    ).to_contain_text(earlier.strftime("%Y-%m"))
    expect(marketing.locator("section[aria-labelledby=h-surveys]")).to_be_visible()
    look(marketing, language, "55-queue-marketing-schedules")
    visit.locator(f"a[href='/customers/{code}']").click()
    marketing.wait_for_url(f"{url}/customers/{code}")

    after_sales = context(browser, language).new_page()
    sign_in(after_sales, url, "zhang.min")
    on_site = after_sales.locator(f"section[aria-labelledby=h-on-site] #row-{complaint}")
    expect(on_site.locator(".badge-running")).to_contain_text(words["due"])
    expect(
        after_sales.locator(f"section[aria-labelledby=h-follow-ups] #row-{feedback}")
    ).to_be_visible()
    look(after_sales, language, "56-queue-after-sales")
    on_site.locator(f"a[href='/cases/{complaint}']").click()
    after_sales.wait_for_url(f"{url}/cases/{complaint}")
