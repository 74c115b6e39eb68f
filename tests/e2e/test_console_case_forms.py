"""The rest of intake's case-page steps, through the console's forms in a real browser.

A quality complaint came in this morning; a quality problem was registered last month.
After-sales reports the complaint to the Chief Engineer, saying why (4.1.3): dated before
the complaint arrived, intake refuses it at the field with the clause and the page keeps
what was typed; dated in the viewer's zone, intake records that instant. Marketing agrees
the impact and the remedy with the customer, and QC is notified (4.4.2). Engineering finds
that last month's problem was misuse (4.2.3); after-sales sends a technician anyway (4.2.3)
and, following last month's feedback up (4.6), closes the entry. Each form is offered
only to the departments intake lets write it, and only while intake would take it; the
Warehouse is offered none, and a form it makes by hand is refused naming the clause. Every
outcome is read back from intake's HTTP API. Each page is scanned with axe and kept as a
screenshot under ``artifacts/console/<locale>/``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, People, look, no_id_twice
from e2e.support import created, read

pytestmark = [pytest.mark.integration, pytest.mark.browser]

REASON = "Cracked housings may reach vehicles on the line."
IMPACT_DETAILS = "Two fitters at the customer's line tomorrow, 80 good units by courier."
LATE_FINDING = "Locking clips missing on the fitted connectors."
FINDING = "The connector was mated without its locking clip, against the fitting manual."
PURPOSE = "Show the line how to fit the locking clip; check the stock already fitted."
RESULT = "The customer fits the clip as taught; no failure since."
WHY = {"zh-CN": "需总工程师知悉的原因", "en": "Why the Chief Engineer must know"}
SWAP = {"zh-CN": "以良品调换不良品", "en": "swap good units for the bad ones"}


def _month(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m}"


def _entry(intake: str, case_id: str) -> dict[str, Any]:
    answer = read(f"{intake}/register-entries/{case_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize("language", list(RUNS))
def test_report_impact_misuse_technician_and_follow_up_from_the_case_page(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, intake = process.url, services["intake"].url
    zone = ZoneInfo(RUNS[language][1])
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    created(
        f"{intake}/customers",
        {
            "code": code,
            "name": f"Geely Auto {code}",
            "oem": True,
            "sites": [{"name": "Ningbo plant 1", "timezone": "Asia/Shanghai"}],
        },
    )
    now = datetime.now(UTC).replace(microsecond=0)
    # This morning's complaint: three hours ago, or the month's start where that is later.
    received = max(now - timedelta(hours=3), now.replace(day=1, hour=0, minute=0, second=0))
    complaint = created(
        f"{intake}/complaints",
        {
            "category": "quality",
            "channel": "phone",
            "receiving_department": "after_sales",
            "customer_code": code,
            "text": f"Connector housings crack on the line ({code}).",
            "product": "CN-220 connector",
            "received_at": received.isoformat(),
        },
    )["case_id"]
    last_month = now.replace(day=1, hour=9, minute=0, second=0) - timedelta(days=10)
    problem = created(
        f"{intake}/register-entries",
        {
            "kind": "quality_problem",
            "channel": "visit",
            "receiving_department": "after_sales",
            "customer_code": code,
            "text": f"Connectors come loose after a week ({code}).",
            "received_at": last_month.isoformat(),
        },
    )["case_id"]
    assert _month(last_month) < _month(now)

    signed_in = People(browser, language, url)

    def case(page: Page, case_id: str) -> None:
        page.goto(f"{url}/cases/{case_id}")
        expect(page.locator("#h-actions")).to_be_visible()
        no_id_twice(page)

    try:
        # ---- 4.1.3: after-sales reports the complaint to the Chief Engineer ----------------
        after_sales = signed_in("zhang.min")
        case(after_sales, complaint)
        form = after_sales.locator("#important-form")
        expect(form).to_contain_text("4.1.3")
        for not_theirs in ("#misuse-form", "#quality-impact-form", "#technician-form"):
            expect(after_sales.locator(not_theirs)).to_have_count(0)
        # A complaint of this month is followed up from the next (4.6).
        expect(after_sales.locator("#follow-up-form")).to_have_count(0)
        expect(after_sales.locator("#follow-up-later")).to_contain_text("4.6")

        # Dated before the complaint arrived: refused at the field, the reason kept.
        before = (received - timedelta(hours=1)).astimezone(zone)
        form.get_by_label(WHY[language]).fill(REASON)
        after_sales.locator("#f-important-reported_at").fill(before.strftime("%Y-%m-%dT%H:%M:%S"))
        form.locator("button[type=submit]").click()
        expect(after_sales.locator("#err-important-reported_at")).to_be_visible()
        expect(after_sales.locator("#important-form .refusal .clause")).to_contain_text("4.1.3")
        # The times compared are shown as the clerk typed them: in the viewer's zone.
        expect(after_sales.locator("#err-important-reported_at")).to_contain_text(
            before.strftime("%Y-%m-%d %H:%M:%S")
        )
        expect(after_sales.locator("#f-important-reason")).to_have_value(REASON)
        expect(after_sales.locator("#f-important-reported_at")).to_have_attribute(
            "aria-invalid", "true"
        )
        look(after_sales, language, "30-case-important-refused")
        assert _entry(intake, complaint)["important"] is None

        # Dated in the viewer's zone, between the complaint and now: intake keeps that instant.
        reported = received + (now - received) / 2
        after_sales.locator("#f-important-reported_at").fill(
            reported.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
        )
        after_sales.locator("#important-form button[type=submit]").click()
        after_sales.wait_for_url(f"{url}/cases/{complaint}")
        expect(after_sales.locator("#important")).to_contain_text(REASON)
        expect(after_sales.locator("#important-form")).to_have_count(0)
        look(after_sales, language, "31-case-important-reported")
        important = _entry(intake, complaint)["important"]
        assert important["reason"] == REASON
        assert datetime.fromisoformat(important["reported_at"]) == reported
        assert important["reported"]["by"] == {"user": "zhang.min", "department": "after_sales"}

        # Last month's problem: no technician before misuse is found; its follow-up is due.
        case(after_sales, problem)
        expect(after_sales.locator("#technician-form")).to_have_count(0)
        expect(after_sales.locator("#follow-up-form")).to_contain_text("4.6")
        expect(after_sales.locator("#follow-up-later")).to_have_count(0)

        # ---- 4.4.2: Marketing agrees the impact and the remedy; QC is notified -------------
        marketing = signed_in("li.wei")
        case(marketing, complaint)
        for not_theirs in ("#important-form", "#misuse-form", "#technician-form"):
            expect(marketing.locator(not_theirs)).to_have_count(0)
        impact = marketing.locator("#quality-impact-form")
        expect(impact).to_contain_text("4.4.2")
        marketing.get_by_label(
            "停线条数" if language == "zh-CN" else "Production lines stopped"
        ).fill("2")
        marketing.locator("#f-impact-quantity_affected").fill("350")
        marketing.locator("#f-impact-remedial_measure").select_option("swap_units")
        expect(marketing.locator("#f-impact-remedial_measure option:checked")).to_have_text(
            SWAP[language]
        )
        marketing.locator("#f-impact-remedial_details").fill(IMPACT_DETAILS)
        look(marketing, language, "32-case-quality-impact-form")
        impact.locator("button[type=submit]").click()
        marketing.wait_for_url(f"{url}/cases/{complaint}")
        expect(marketing.locator("#impact-lines")).to_have_text("2")
        expect(marketing.locator("#impact-quantity")).to_have_text("350")
        expect(marketing.locator("#impact-remedy")).to_have_text(
            f"{SWAP[language]} · {IMPACT_DETAILS}"
        )
        expect(marketing.locator("#impact-qc time")).to_be_visible()
        expect(marketing.locator("#quality-impact-form")).to_have_count(0)
        look(marketing, language, "33-case-quality-impact")
        entry = _entry(intake, complaint)
        assert {k: entry["quality_impact"][k] for k in ("lines_stopped", "quantity_affected")} == {
            "lines_stopped": 2,
            "quantity_affected": 350,
        }
        assert entry["quality_impact"]["remedial_measure"] == "swap_units"
        assert entry["quality_impact"]["remedial_details"] == IMPACT_DETAILS
        assert entry["quality_impact"]["by"] == {"user": "li.wei", "department": "marketing"}
        assert entry["quality_notified"] is not None
        # Impact is assessed on quality complaints only; misuse is found by QC or Engineering.
        case(marketing, problem)
        expect(marketing.locator("#quality-impact-form")).to_have_count(0)
        expect(marketing.locator("#misuse-form")).to_have_count(0)

        # ---- 4.2.3: Engineering finds misuse -----------------------------------------------
        quality = signed_in("wang.fang")  # QC opens the same case, and is slower
        case(quality, problem)
        quality.locator("#f-misuse-finding").fill(LATE_FINDING)
        engineering = signed_in("chen.jie")
        case(engineering, problem)
        expect(engineering.locator("#technician-form")).to_have_count(0)
        engineering.locator("#f-misuse-finding").fill(FINDING)
        engineering.locator("#misuse-form button[type=submit]").click()
        engineering.wait_for_url(f"{url}/cases/{problem}")
        expect(engineering.locator("#misuse")).to_contain_text(FINDING)
        expect(engineering.locator("#misuse-form")).to_have_count(0)
        look(engineering, language, "34-case-misuse")
        # QC sends its finding after: refused (409) at its form, the clause and its text kept.
        quality.locator("#misuse-form button[type=submit]").click()
        expect(quality.locator("#misuse-form .refusal")).to_be_visible()
        expect(quality.locator("#misuse-form .refusal .clause")).to_contain_text("4.2.3")
        expect(quality.locator("#f-misuse-finding")).to_have_value(LATE_FINDING)
        expect(quality.locator("#misuse")).to_contain_text(FINDING)
        look(quality, language, "34-case-misuse-refused")
        misuse = _entry(intake, problem)["misuse"]
        assert misuse["finding"] == FINDING and misuse["responsibility"] == "customer"
        assert misuse["by"] == {"user": "chen.jie", "department": "engineering"}

        # ---- 4.2.3: after-sales sends a technician anyway; 4.6: and follows up -------------
        case(after_sales, problem)
        expect(after_sales.locator("#misuse-form")).to_have_count(0)
        after_sales.locator("#f-technician-technician").fill("Zhang Min")
        after_sales.locator("#f-technician-purpose").fill(PURPOSE)
        after_sales.locator("#technician-form button[type=submit]").click()
        after_sales.wait_for_url(f"{url}/cases/{problem}")
        expect(after_sales.locator("#misuse .technician")).to_contain_text(PURPOSE)
        # Another may follow: the form stays.
        expect(after_sales.locator("#technician-form")).to_have_count(1)
        (dispatch,) = _entry(intake, problem)["technicians"]
        assert dispatch["technician"] == "Zhang Min" and dispatch["purpose"] == PURPOSE
        assert dispatch["by"] == {"user": "zhang.min", "department": "after_sales"}

        after_sales.locator("#f-follow-up-result").fill(RESULT)
        after_sales.locator("#f-follow-up-closed").select_option("yes")
        after_sales.locator("#follow-up-form button[type=submit]").click()
        after_sales.wait_for_url(f"{url}/cases/{problem}")
        expect(after_sales.locator("#follow-ups")).to_contain_text(RESULT)
        expect(after_sales.locator("#follow-up-form")).to_have_count(0)
        expect(after_sales.locator(".case-id")).to_contain_text(
            "已关闭" if language == "zh-CN" else "closed"
        )
        # A closed entry's steps are done: no form of theirs is offered any more.
        for done in ("#technician-form", "#important-form", "#follow-up-later"):
            expect(after_sales.locator(done)).to_have_count(0)
        look(after_sales, language, "35-case-follow-up")
        entry = _entry(intake, problem)
        assert entry["status"] == "closed"
        (follow_up,) = entry["follow_ups"]
        assert follow_up["month"] == _month(last_month)
        assert follow_up["result"] == RESULT and follow_up["closed"] is True
        assert follow_up["by"] == {"user": "zhang.min", "department": "after_sales"}

        # ---- the Warehouse takes none of these steps ---------------------------------------
        warehouse = signed_in("sun.li")
        for case_id in (complaint, problem):
            case(warehouse, case_id)
            expect(warehouse.locator("main form.action")).to_have_count(0)
            expect(warehouse.locator("#h-actions + p.note")).to_be_visible()
        look(warehouse, language, "36-case-warehouse")
        # A hand-made form is sent on and refused by intake, naming the clause; nothing kept.
        refused = warehouse.request.post(
            f"{url}/cases/{complaint}/misuse",
            form={
                "csrf": warehouse.locator("input[name=csrf]").first.input_value(),
                "idempotency_key": str(uuid.uuid4()),
                "finding": "not ours to find",
            },
            max_redirects=0,
        )
        assert refused.status == 403
        shown = warehouse.locator("main")
        warehouse.set_content(refused.text())  # the page the console answered, as shown
        expect(shown.locator("#misuse-form .refusal .clause")).to_contain_text("4.2.3")
        expect(shown.locator("#f-misuse-finding")).to_have_value("not ours to find")
        assert _entry(intake, complaint)["misuse"] is None
    finally:
        signed_in.close()
