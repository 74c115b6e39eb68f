"""A clock's SLA timeline from the console's case page, in a real browser, in zh-CN and en.

A complaint's reply clock (4.2.1) ran, the customer could not be reached for half an hour,
then it counted again. On the case page the clock's badge leads to its timeline: what
happened (started, paused, resumed), and each stretch of time with the rule that counted
it (the calendar and policy versions) or why it did not count, in the reader's language
and time zone. The console reads sla's ``GET /clocks/{id}/timeline`` with the user's token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Words:
    link: str
    paused: str
    segments: str
    events: tuple[str, ...]
    rule: re.Pattern[str]


WORDS = {
    "en": Words(
        link="SLA timeline",
        paused="paused: the customer cannot be reached",
        segments="Each stretch of time, and the rule that counted it",
        events=("Started", "Paused", "Resumed"),
        rule=re.compile(r"calendar [a-z0-9._-]+, version \d+"),
    ),
    "zh-CN": Words(
        link="时限时间线",
        paused="已暂停：无法联系到顾客",
        segments="各时间段及其计时规则",
        events=("开始计时", "已暂停", "已恢复"),
        rule=re.compile(r"日历 [a-z0-9._-]+ 第 \d+ 版"),
    ),
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_4_2_1_a_paused_and_resumed_clocks_timeline_from_its_badge(
    browser: Browser,
    module_stack: Stack,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, sla = process.url, services["sla"].url
    words = WORDS[language]
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    body = complaint(421, received_at=iso(received))
    marketing = intake_client(module_stack, services["intake"])
    case_id = marketing.post("/complaints", json=body).json()["case_id"]

    def reply_clock() -> dict[str, Any] | None:
        found = httpx.get(f"{sla}/cases/{case_id}/clocks", headers=auth("auditor"))
        clocks = found.json() if found.is_success else []
        return next((c for c in clocks if c["clock"] == "reply"), None)

    clock_id = wait_until(reply_clock, 30, "the reply clock")["clock_id"]
    paused_at, resumed_at = received + timedelta(hours=1), received + timedelta(hours=1.5)
    for what, at in (("pause", paused_at), ("resume", resumed_at)):
        sent = httpx.post(
            f"{sla}/clocks/{clock_id}/{what}",
            json={"at": iso(at), **({"reason": "customer_unreachable"} if what == "pause" else {})},
            headers=auth("marketing", "li.wei"),
        )
        assert sent.status_code == 200, sent.text

    context = new_context(browser, language)
    page = context.new_page()
    sign_in(page, url, "wu.hua")  # an auditor reads it as everyone does
    page.goto(f"{url}/cases/{case_id}")
    link = page.locator("[data-clock=reply]").get_by_role("link", name=words.link)
    expect(link).to_have_count(1)
    look(page, language, "22-case-clock-timeline-link")
    link.click()
    page.wait_for_url(f"{url}/cases/{case_id}/clocks/{clock_id}/timeline")

    expect(page.get_by_role("heading", name=words.segments)).to_be_visible()
    moments = page.locator(".clock-moments tbody tr")
    for event in words.events:
        expect(moments.filter(has_text=event).first).to_be_visible()
    paused = page.locator(".clock-segments tr[data-state=paused]")
    expect(paused).to_have_count(1)
    expect(paused).to_contain_text(words.paused)
    # The pause in the reader's zone, as the page's <time> says it.
    zone = ZoneInfo(RUNS[language][1])
    expect(paused.locator("td").first).to_contain_text(paused_at.astimezone(zone).strftime("%H:%M"))
    expect(paused.locator("td").nth(1)).to_contain_text(
        resumed_at.astimezone(zone).strftime("%H:%M")
    )
    # Every stretch names the rule that counted it, in the reader's words.
    rules = page.locator(".clock-segments tbody tr td:last-child")
    assert rules.count() >= 2
    for n in range(rules.count()):
        expect(rules.nth(n)).to_have_text(words.rule)
    # The same as sla says it: one row a segment.
    told = httpx.get(f"{sla}/clocks/{clock_id}/timeline", headers=auth("auditor")).json()
    expect(page.locator(".clock-segments tbody tr")).to_have_count(len(told["segments"]))
    look(page, language, "22-clock-timeline")
    context.close()
