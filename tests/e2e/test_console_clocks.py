"""Pausing and resuming a clock from the console's case page, in a real browser.

Marketing logs a complaint; the reply clock (4.2.1) runs. Paused from before
it started, sla refuses it at the field with the clause and the page keeps
what was typed; paused now, waiting for the customer's samples, the badge
says so with the reason and sla's answer shows the pause; resumed, the clock
counts down again and sla's answer shows it resumed. A clock whose entry was
closed by its follow-up (4.6) says it stopped, offers no pause, and the case's
timeline names the stop.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, look, sign_in
from e2e.browser import context as new_context
from e2e.conftest import Stack
from e2e.support import auth, complaint, intake_client, wait_until
from e2e.test_sla import iso

pytestmark = [pytest.mark.integration, pytest.mark.browser]

NOTE = "Samples leave the plant by courier tomorrow."


def test_a_clock_paused_with_a_reason_and_resumed_from_the_case_page(
    browser: Browser, console: tuple[ServiceProcess, dict[str, ServiceProcess]]
) -> None:
    process, services = console
    url, sla = process.url, services["sla"].url
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    context = new_context(browser, "en")
    page = context.new_page()
    sign_in(page, url, "li.wei")  # Marketing: logs the complaint and may pause its clock

    page.goto(f"{url}/customers/new")
    page.locator("#f-code").fill(code)
    page.locator("#f-name").fill(f"Dongfeng Motor {code}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{url}/complaints/new")
    page.locator("#f-customer_code").select_option(code)
    page.locator("#f-text").fill(f"Housings cracked ({code}).")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"{url}/cases/[0-9a-f-]{{36}}$"))
    case_id = page.url.rsplit("/", 1)[1]

    # The reply clock starts (sla hears of the complaint over Kafka); its pause form follows.
    badge = page.locator("[data-clock=reply] .badge")
    expect(badge).to_contain_text("due in", timeout=30000)
    page.reload()
    pause = page.locator("#reply-pause-form")
    expect(pause).to_contain_text("4.2.1")
    expect(page.locator("#reply-resume-form")).to_have_count(0)
    action = pause.get_attribute("action") or ""
    clock_id = action.split("/clocks/")[1].split("/")[0]

    # Stopped before the clock started: sla refuses it at the field, the input is kept.
    zone = RUNS["en"][1]
    before = datetime.now(ZoneInfo(zone)) - timedelta(days=2)
    pause.locator("#f-reply-pause-reason").select_option("waiting_for_customer_samples")
    pause.locator("#f-reply-pause-note").fill(NOTE)
    pause.locator("#f-reply-pause-at").fill(before.strftime("%Y-%m-%dT%H:%M:%S"))
    pause.locator("button[type=submit]").click()
    expect(page.locator("#err-reply-pause-at")).to_be_visible()
    expect(page.locator("#reply-pause-form .refusal .clause")).to_contain_text("4.2.1")
    expect(page.locator("#f-reply-pause-note")).to_have_value(NOTE)
    assert httpx.get(f"{sla}/clocks/{clock_id}", headers=auth("auditor")).json()["status"] != (
        "paused"
    )

    # Now: the badge says paused, and why.
    page.locator("#f-reply-pause-at").fill("")
    page.locator("#reply-pause-form button[type=submit]").click()
    page.wait_for_url(f"{url}/cases/{case_id}")
    paused = page.locator("[data-clock=reply] .badge-paused")
    expect(paused).to_contain_text(f"paused: waiting for the customer's samples · {NOTE}")
    expect(page.locator("#reply-pause-form")).to_have_count(0)
    look(page, "en", "20-case-clock-paused")
    clock = httpx.get(f"{sla}/clocks/{clock_id}", headers=auth("auditor")).json()
    assert clock["status"] == "paused", clock
    (last,) = clock["pauses"]
    assert last["reason"] == "waiting_for_customer_samples" and last["note"] == NOTE
    assert last["by"] == {"user": "li.wei", "department": "marketing"}
    assert last["resumed_at"] is None

    # Resumed: the clock counts down again.
    page.locator("#reply-resume-form button[type=submit]").click()
    page.wait_for_url(f"{url}/cases/{case_id}")
    expect(page.locator("[data-clock=reply] .badge")).to_contain_text("due in")
    expect(page.locator("#reply-resume-form")).to_have_count(0)
    expect(page.locator("#reply-pause-form")).to_have_count(1)
    clock = httpx.get(f"{sla}/clocks/{clock_id}", headers=auth("auditor")).json()
    assert clock["status"] == "running", clock
    assert clock["pauses"][-1]["resumed_at"] is not None
    context.close()


def test_4_6_a_clock_stopped_by_the_closing_follow_up_says_so_on_the_case_page(
    browser: Browser,
    module_stack: Stack,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
) -> None:
    process, services = console
    url, intake, sla = process.url, services["intake"], services["sla"].url
    # A call of last month, never answered; after-sales follows it up to a close (4.6).
    now = datetime.now(UTC)
    received = now.replace(day=1, hour=2, minute=0, second=0, microsecond=0) - timedelta(days=3)
    body = complaint(46, category="service", received_at=iso(received))
    case_id = intake_client(module_stack, intake).post("/complaints", json=body).json()["case_id"]

    def reply_clock() -> dict[str, Any] | None:
        found = httpx.get(f"{sla}/cases/{case_id}/clocks", headers=auth("auditor"))
        return found.json()[0] if found.is_success and found.json() else None

    wait_until(reply_clock, 30, "the reply clock")
    followed = httpx.post(
        f"{intake.url}/register-entries/{case_id}/follow-ups",
        json={"result": "The customer sorted it out themselves", "closed": True},
        headers=auth("after_sales", "zhang.min"),
    )
    assert followed.status_code == 201, followed.text
    wait_until(lambda: (c := reply_clock()) and c["status"] == "stopped", 30, "stopped")

    context = new_context(browser, "en")
    page = context.new_page()
    sign_in(page, url, "li.wei")
    page.goto(f"{url}/cases/{case_id}")
    # Words, not colour alone: stopped, not "overdue", though its due time is long past.
    badge = page.locator("[data-clock=reply] .badge")
    expect(badge).to_have_attribute("data-state", "stopped")
    expect(badge).to_contain_text("stopped: entry closed")
    expect(badge).to_have_attribute("title", re.compile(f"follow-up of {received:%Y-%m}"))
    expect(page.locator("#reply-pause-form")).to_have_count(0)
    expect(
        page.get_by_text("Clock stopped: the entry was closed by its follow-up (4.6)")
    ).to_have_count(1)
    look(page, "en", "21-case-clock-stopped")
    context.close()
