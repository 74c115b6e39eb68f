"""QC's notifications in the console, in a real browser, through the real path.

4.4.2: Marketing logs a product-quality complaint over intake's HTTP and notifies QC;
notify (over Kafka) sends it to QC's people in its directory, by mail to a real SMTP
server (aiosmtpd) and to a group robot whose webhook refuses it; QC's user opens
``/notifications`` and sees it: the clause and its words, the case, each delivery and its
state (the refused one dead-lettered, with the reason). Marketing's user, not told of it,
sees nothing of it; notify refuses QC the notifications of another department (3).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, People, look
from e2e.conftest import Stack
from e2e.notify_support import MailServer
from e2e.support import complaint, intake_client, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

IMPACT = {"lines_stopped": 1, "quantity_affected": 40, "remedial_measure": "swap_units"}
WORDS = {
    "zh-CN": {
        "title": "我的通知",
        "all": "全部通知",
        "what": "产品质量投诉通知品管部",
        "sent": "已发送",
        "dead": "已转入死信",
        "email": "电子邮件",
        "you": "您",
        "nothing": "尚未向您或您的部门发送任何通知。",
        "new": "{n} 条新通知",
    },
    "en": {
        "title": "My notifications",
        "all": "All notifications",
        "what": "Product-quality complaint for QC",
        "sent": "sent",
        "dead": "dead-lettered",
        "email": "E-mail",
        "you": "you",
        "nothing": "Nothing has been sent to you or your department yet.",
        "new": "{n} new",
    },
}


@pytest.fixture(scope="module")
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture(scope="module")
def told(module_stack: Stack, mail: MailServer) -> dict[str, ServiceProcess]:
    """The four services the console reads, notify beside them (sending to the test's SMTP
    server) and the console over all five."""
    services = [module_stack.start(s) for s in ("intake", "returns", "capa", "sla")]
    intake = services[0]
    smtp = mail.env()
    notify = module_stack.start(
        "notify",
        CSC_NOTIFY_SMTP_HOST=smtp["CSC_NOTIFY_SMTP_HOST"],
        CSC_NOTIFY_SMTP_PORT=smtp["CSC_NOTIFY_SMTP_PORT"],
        CSC_NOTIFY_POLL_SECONDS="0.05",
        CSC_NOTIFY_DIGEST="false",  # the morning digest would add a row to the page
    )
    directory = httpx.Client(
        base_url=notify.url, headers=module_stack.auth("marketing"), timeout=30
    )
    people: dict[str, dict[str, Any]] = {
        "wang.fang": {"name": "王芳", "department": "quality", "email": "wang.fang@example.cn"},
        # QC's group robot, at an address that refuses it (4xx): dead-lettered at once.
        "qc.group": {
            "name": "QC group",
            "department": "quality",
            "language": "en",
            "chat": {"kind": "wecom", "url": f"{intake.url}/robot/send?key=k1"},
        },
        "li.wei": {"name": "李伟", "department": "marketing", "email": "li.wei@example.cn"},
    }
    for handle, body in people.items():
        assert directory.put(f"/recipients/{handle}", json=body).status_code == 200
    console = module_stack.start_console(*services, notify)
    return {"intake": intake, "notify": notify, "console": console}


def quality_complaint(stack: Stack, intake: ServiceProcess, n: int) -> str:
    marketing = intake_client(stack, intake)
    case: str = marketing.post("/complaints", json=complaint(n)).json()["case_id"]
    # 4.4.2: Marketing confirms impact and remedy with the customer, and notifies QC.
    assert marketing.post(f"/register-entries/{case}/quality-impact", json=IMPACT).is_success
    return case


def settled(stack: Stack, notify: ServiceProcess, case: str) -> list[dict[str, Any]]:
    """The case's notifications once each is sent or dead-lettered, as QC reads them."""

    def probe() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = httpx.get(
            f"{notify.url}/notifications",
            params={"case_id": case},
            headers=stack.auth("marketing"),
        ).json()
        done = len(rows) == 2 and all(r["status"] in ("sent", "dead") for r in rows)
        return rows if done else None

    return wait_until(probe, 60, "QC's two notifications sent or dead-lettered")


@pytest.mark.parametrize("language", list(RUNS))
def test_4_4_2_qc_sees_what_it_was_told_of_a_quality_complaint(
    browser: Browser,
    module_stack: Stack,
    told: dict[str, ServiceProcess],
    language: str,
) -> None:
    words = WORDS[language]
    n = 1 if language == "zh-CN" else 2
    case = quality_complaint(module_stack, told["intake"], n)
    rows = settled(module_stack, told["notify"], case)
    assert {(r["handle"], r["channel"], r["status"]) for r in rows} == {
        ("wang.fang", "email", "sent"),
        ("qc.group", "wecom", "dead"),
    }

    people = People(browser, language, told["console"].url)
    try:
        qc = people("wang.fang")
        # The header counts what is new since the page was last opened (a new session here).
        expect(qc.locator(".count-new")).to_have_text(words["new"].format(n=n))
        look(qc, language, "notifications-new-in-header")
        qc.get_by_role("link", name=words["title"]).click()
        qc.wait_for_url("**/notifications")
        expect(qc.get_by_role("heading", name=words["title"])).to_be_visible()
        # Newest first: this complaint's notification heads the list.
        first = qc.locator("#notifications tbody tr").first
        expect(first).to_contain_text("4.4.2")
        expect(first).to_contain_text(words["what"])
        expect(first.get_by_role("link")).to_have_attribute("href", f"/cases/{case}")
        mine = first.get_by_role("listitem").filter(has_text=words["you"])
        expect(mine).to_contain_text(words["email"])
        expect(mine).to_contain_text(words["sent"])
        group = first.get_by_role("listitem").filter(has_text="qc.group")
        expect(group).to_contain_text(words["dead"])
        (dead,) = [r for r in rows if r["status"] == "dead"]
        expect(group).to_contain_text(dead["last_reason"])  # the robot's answer, as recorded
        look(qc, language, "notifications-qc")
        # Seen now: the count, read again on the next page, is gone.
        with qc.expect_response("**/notifications/new") as counted:
            qc.goto(f"{told['console'].url}/")
        assert counted.value.ok and "count-new" not in counted.value.text()
        expect(qc.locator(".count-new")).to_have_count(0)

        # Marketing is not told of what the procedure gives QC (4.4.2), but reads it among
        # all of them (3).
        marketing = people("li.wei")
        marketing.goto(f"{told['console'].url}/notifications")
        expect(marketing.get_by_text(words["nothing"])).to_be_visible()
        marketing.get_by_role("link", name=words["all"]).click()
        expect(marketing.get_by_role("heading", name=words["all"])).to_be_visible()
        expect(marketing.locator(f"#notifications a[href='/cases/{case}']")).to_have_count(1)

        # An auditor, whom nobody notifies, reads all of them first, newest first (3).
        auditor = people("wu.hua")
        auditor.goto(f"{told['console'].url}/notifications")
        expect(auditor.get_by_role("heading", name=words["all"])).to_be_visible()
        newest = auditor.locator("#notifications tbody tr").first
        expect(newest.get_by_role("link")).to_have_attribute("href", f"/cases/{case}")
        expect(newest.get_by_role("listitem").filter(has_text="wang.fang")).to_contain_text(
            words["sent"]
        )
        look(auditor, language, "notifications-auditor")
        # QC reads its own: the page offers it no list of everyone's.
        qc.goto(f"{told['console'].url}/notifications")
        expect(qc.get_by_role("link", name=words["all"])).to_have_count(0)
    finally:
        people.close()

    # 3: QC reads its own and its department's; another department's is refused.
    refused = httpx.get(
        f"{told['notify'].url}/notifications",
        params={"department": "marketing"},
        headers=module_stack.auth("quality", "wang.fang"),
    )
    assert refused.status_code == 403 and refused.json()["clause"] == "3"
