"""Field service records (4.1.4, att. 2), customer visits (4.5) and the satisfaction survey
(4.1.5), written from the console in a real browser over the real stack.

A complaint at an OEM customer needs people on site (4.2.2): the after-sales engineer's
queue lists the day's record still to write. Written with the arrival on another day at
the site, intake refuses it at the field with the clause and the form keeps what was
typed; written right, intake holds it and the queue no longer asks for it. Amended (a
record is never edited), the record page shows what changed and why, and intake keeps what
it replaced. Marketing records a visit and the year's survey from the customer's page (an
empty survey is refused at the scores) and sla's schedule, asked for that customer only,
shows the visit. Quality is offered none of these forms; the auditor reads the records.
Each page is scanned with axe and kept as a screenshot under ``artifacts/console/<locale>/``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, context, look, sign_in
from e2e.support import auth, created, read, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SITE, SITE_ZONE = "Wuhu plant 3", "Asia/Shanghai"
PROBLEMS = "Two seals torn at fitting on line 2; the fitting jig is worn."
LOCAL = "%Y-%m-%dT%H:%M:%S"  # a datetime-local input's value


def typed(at: datetime, language: str) -> str:
    """``at`` as the viewer types it: in the browser's own zone."""
    return at.astimezone(ZoneInfo(RUNS[language][1])).strftime(LOCAL)


def a_customer_with_people_on_site(intake: str, code: str) -> str:
    created(
        f"{intake}/customers",
        {
            "code": code,
            "name": f"Chery Auto {code}",
            "oem": True,
            "sites": [{"name": SITE, "timezone": SITE_ZONE}],
        },
    )
    logged = created(
        f"{intake}/complaints",
        {
            "category": "quality",
            "channel": "phone",
            "receiving_department": "marketing",
            "customer_code": code,
            "text": "Door seals tear at fitting",
            "product": "Seal kit S-40",
        },
    )
    case_id = str(logged["case_id"])
    created(f"{intake}/register-entries/{case_id}/on-site-requests", {"reason": "quality_problem"})
    return case_id


def records_of(intake: str, code: str, kind: str) -> list[dict[str, object]]:
    found = read(f"{intake}/field-service-records", params={"customer": code, "kind": kind})
    assert found.status_code == 200, found.text
    return list(found.json())


def submit(page: Page, form: str) -> None:
    page.locator(f"{form} button[type=submit]").click()


@pytest.mark.parametrize("language", list(RUNS))
def test_the_days_record_amended_a_visit_and_the_survey_written_from_the_console(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    language: str,
) -> None:
    process, services = console
    url, intake, sla = process.url, services["intake"].url, services["sla"].url
    zh = language == "zh-CN"
    code = f"FS-{uuid.uuid4().hex[:6].upper()}"
    case_id = a_customer_with_people_on_site(intake, code)
    site_now = datetime.now(ZoneInfo(SITE_ZONE))
    today = site_now.date()
    midnight = site_now.replace(hour=0, minute=0, second=0, microsecond=0)
    arrived = (midnight + (site_now - midnight) / 2).replace(microsecond=0)
    departed = (arrived + (site_now - arrived) / 2).replace(microsecond=0)

    # At another OEM customer the engineer wrote yesterday's record: today's is due there too.
    other = f"{code}-B"
    registered = httpx.post(
        f"{intake}/customers",
        headers=auth("marketing"),
        json={"code": other, "name": f"JAC Motors {other}", "oem": True,
              "sites": [{"name": "Hefei line 1", "timezone": SITE_ZONE}]},
    )  # fmt: skip
    assert registered.status_code == 201, registered.text
    yesterday = httpx.post(
        f"{intake}/field-service-records",
        headers=auth("after_sales", "zhang.min"),
        json={"kind": "daily", "customer_code": other, "site": "Hefei line 1",
              "work_date": (today - timedelta(days=1)).isoformat(), "problems": "None."},
    )  # fmt: skip
    assert yesterday.status_code == 201, yesterday.text

    browsing = context(browser, language)
    page = browsing.new_page()

    # 4.1.4: the after-sales engineer's queue asks for today's record at the OEM sites.
    sign_in(page, url, "zhang.min")
    expect(page.locator("nav a[href='/field-service-records']")).to_be_visible()
    there = page.locator(f"#h-field-days ~ table tr[data-field-day='{other}']")
    expect(there).to_contain_text("Hefei line 1")
    expect(there.locator("a.write")).to_have_attribute(
        "href",
        "/field-service-records/new?"
        + urlencode({"kind": "daily", "customer": other, "site": "Hefei line 1",
                     "work_date": today.isoformat()}),
    )  # fmt: skip
    expect(
        there.locator(f"a[href='/field-service-records/{yesterday.json()['record_id']}']")
    ).to_be_visible()
    due = page.locator(f"#h-field-days ~ table tr[data-field-day='{code}']")
    expect(due).to_contain_text(SITE)
    expect(due.locator(f"a[href='/cases/{case_id}']")).to_be_visible()
    look(page, language, "40-queue-records-to-write")
    due.locator("a.write").click()
    page.wait_for_url(re.compile(rf"{url}/field-service-records/new\?"))
    expect(page.locator("#f-customer_code")).to_have_value(code)
    expect(page.locator("#f-site")).to_have_value(SITE)
    expect(page.locator("#f-work_date")).to_have_value(today.isoformat())

    # Arrived on another day at the site: refused at the field with the clause, input kept.
    form = page.locator("#field-service-form")
    form.locator("#f-arrived_at").fill(typed(arrived - timedelta(days=1), language))
    form.locator("#f-departed_at").fill(typed(departed, language))
    form.locator("#f-units-0-model").fill("Chery Tiggo 7")
    form.locator("#f-units-0-quantity").fill("12")
    form.locator("#f-problems").fill(PROBLEMS)
    form.locator("#f-actions").fill("Jig reset; fitters shown the right force.")
    submit(page, "#field-service-form")
    expect(page.locator("#err-arrived_at")).to_be_visible()
    expect(page.locator("#field-service-form .refusal .clause")).to_contain_text("4.1.4")
    expect(page.locator("#f-arrived_at")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-problems")).to_have_value(PROBLEMS)
    expect(page.locator("#f-units-0-model")).to_have_value("Chery Tiggo 7")
    expect(page.locator("#f-units-0-quantity")).to_have_value("12")
    look(page, language, "41-daily-record-refused")
    assert records_of(intake, code, "daily") == []

    page.locator("#f-arrived_at").fill(typed(arrived, language))
    submit(page, "#field-service-form")
    page.wait_for_url(re.compile(rf"{url}/field-service-records/[0-9a-f-]{{36}}$"))
    record_id = page.url.rsplit("/", 1)[1]
    (record,) = records_of(intake, code, "daily")
    assert record["record_id"] == record_id
    assert record["engineer"] == "zhang.min" and record["site"] == SITE
    assert record["work_date"] == today.isoformat()
    assert datetime.fromisoformat(str(record["arrived_at"])) == arrived
    assert datetime.fromisoformat(str(record["departed_at"])) == departed
    assert record["units_loaded"] == [{"model": "Chery Tiggo 7", "quantity": 12}]
    assert record["problems"] == PROBLEMS
    expect(page.locator("[data-field=units_loaded]")).to_contain_text("Chery Tiggo 7 × 12")
    # The amendment form starts from the record as it stands, times in the viewer's zone.
    expect(page.locator("#f-arrived_at")).to_have_value(typed(arrived, language))
    expect(page.locator("#amend-form")).not_to_be_visible()  # folded until asked for
    look(page, language, "42-daily-record")

    # Amended, saying why: the page shows before and after; intake keeps what it replaced.
    reason = "Two more vehicles counted at the end of the line."
    page.locator("#amend summary").click()
    page.locator("#f-reason").fill(reason)
    page.locator("#f-units-0-quantity").fill("14")
    page.locator("#f-units-1-model").fill("Chery Arrizo 8")
    page.locator("#f-units-1-quantity").fill("3")
    submit(page, "#amend-form")
    page.wait_for_url(f"{url}/field-service-records/{record_id}")
    amended = read(f"{intake}/field-service-records/{record_id}").json()
    assert amended["units_loaded"] == [
        {"model": "Chery Tiggo 7", "quantity": 14},
        {"model": "Chery Arrizo 8", "quantity": 3},
    ]
    (amendment,) = amended["amendments"]
    assert amendment["reason"] == reason and amendment["by"]["user"] == "zhang.min"
    assert amendment["before"]["units_loaded"] == [{"model": "Chery Tiggo 7", "quantity": 12}]
    assert amended["problems"] == PROBLEMS  # what the amendment did not change stays
    change = page.locator("[data-amendment='1'] tr[data-changed=units_loaded]")
    expect(change).to_contain_text("Chery Tiggo 7 × 12")
    expect(change).to_contain_text("Chery Arrizo 8 × 3")
    expect(page.locator("[data-amendment='1'] tr[data-changed]")).to_have_count(1)
    expect(page.locator("[data-amendment='1'] .reason")).to_have_text(reason)
    look(page, language, "43-daily-record-amended")

    # Written today: the queue no longer asks for it, and a second one links to the first.
    page.goto(f"{url}/")
    expect(page.locator("#h-field-days")).to_be_visible()
    expect(page.locator(f"tr[data-field-day='{code}']")).to_have_count(0)
    again = {"kind": "daily", "customer": code, "site": SITE, "work_date": today.isoformat()}
    page.goto(f"{url}/field-service-records/new?{urlencode(again)}")
    page.locator("#f-problems").fill("Written twice by mistake.")
    submit(page, "#field-service-form")
    expect(page.locator("#field-service-form .refusal .clause")).to_contain_text("4.1.4")
    expect(page.locator("#existing-record a")).to_have_attribute(
        "href", f"/field-service-records/{record_id}"
    )
    expect(page.locator("#f-problems")).to_have_value("Written twice by mistake.")
    assert len(records_of(intake, code, "daily")) == 1
    browsing.close()

    # 4.5 and 4.1.5: Marketing, from the customer's page.
    browsing = context(browser, language)
    page = browsing.new_page()
    sign_in(page, url, "li.wei")
    expect(page.locator("nav a[href='/field-service-records']")).to_have_count(0)
    page.goto(f"{url}/customers/{code}")
    expect(page.locator("#write-day")).to_have_count(0)  # the daily record is after-sales'
    page.locator("#record-visit").click()
    page.wait_for_url(re.compile(rf"{url}/field-service-records/new\?"))
    expect(page.locator("#f-site")).to_have_value(SITE)
    visit_day = datetime.now(ZoneInfo(RUNS[language][1])).date().isoformat()
    expect(page.locator("#f-work_date")).to_have_value(visit_day)
    page.locator("#f-customer_code").select_option(code)
    page.locator("#f-survey").fill("Satisfied with delivery; asks for a second seal supplier.")
    page.locator("#f-product_use").fill("Seal kits fitted on both Tiggo lines.")
    page.locator("#f-technical_consulting").fill("Storage of seals below 30 °C explained.")
    look(page, language, "44-visit-form")
    submit(page, "#field-service-form")
    page.wait_for_url(re.compile(rf"{url}/field-service-records/[0-9a-f-]{{36}}$"))
    (visit,) = records_of(intake, code, "visit")
    assert visit["engineer"] == "li.wei" and visit["work_date"] == visit_day
    assert visit["product_use"] == "Seal kits fitted on both Tiggo lines."
    expect(page.locator("#amend summary")).to_be_visible()  # Marketing may amend its visit

    # The survey: none scored is refused at the scores, the comments kept.
    page.goto(f"{url}/customers/{code}")
    expect(page.locator(f"#visits [data-visit='{visit['record_id']}']")).to_contain_text(SITE)
    comments = "Wants the 8D report in the customer's own format."
    page.locator("#f-comments").fill(comments)
    submit(page, "#survey-form")
    expect(page.locator("#err-scores")).to_be_visible()
    expect(page.locator("#survey-form .refusal")).to_be_visible()
    expect(page.locator("#f-comments")).to_have_value(comments)
    look(page, language, "45-survey-refused")
    year = page.locator("#f-year").input_value()
    page.locator("#f-score-product_quality").select_option("4")
    page.locator("#f-score-service").select_option("5")
    page.locator("#f-score-delivery").select_option("3")
    submit(page, "#survey-form")
    page.wait_for_url(f"{url}/customers/{code}#surveys")
    (survey,) = read(f"{intake}/customers/{code}").json()["surveys"]
    assert survey["year"] == int(year)
    assert survey["scores"] == {"product_quality": 4, "service": 5, "delivery": 3}
    assert survey["comments"] == comments
    expect(page.locator(f"#survey-results tr[data-survey='{year}']")).to_contain_text(
        "4 · 满意" if zh else "4 · satisfied"
    )

    expect(page.locator("#survey-done")).to_be_visible()  # one a year: no second form
    expect(page.locator("#survey-form")).to_have_count(0)

    # sla hears of the visit and the survey over Kafka; the page asks for this customer only.
    def last_of(which: str) -> str | None:
        rows = read(f"{sla}/schedules/{which}", params={"customer": code}).json()
        return next((r["last"] for r in rows if r["code"] == code), None)

    wait_until(lambda: last_of("visits") == visit_day, 30, "sla's visit schedule has the visit")
    wait_until(lambda: last_of("surveys"), 30, "sla's survey schedule has the survey")
    page.reload()
    expect(page.locator("[data-schedule=visit]")).to_contain_text(visit_day)
    # The rows' words are the reader's: the badge and the entry's kind too.
    expect(page.locator("[data-schedule=visit] .badge")).to_contain_text("剩余" if zh else "due in")
    expect(page.locator(f"#row-{case_id}")).to_contain_text(
        "质量投诉" if zh else "Quality complaint"
    )
    look(page, language, "46-customer-visit-and-survey")
    browsing.close()

    # Quality records none of these: no form is offered. The auditor reads, records nothing.
    browsing = context(browser, language)
    page = browsing.new_page()
    sign_in(page, url, "wang.fang")
    page.goto(f"{url}/customers/{code}")
    expect(page.locator("#survey-form")).to_have_count(0)
    expect(page.locator("#record-visit")).to_have_count(0)
    page.goto(f"{url}/field-service-records/{record_id}")
    expect(page.locator("#amend-form")).to_have_count(0)
    page.goto(f"{url}/field-service-records/new?kind=daily")
    expect(page.locator("#not-yours")).to_be_visible()
    expect(page.locator("#field-service-form")).to_have_count(0)
    look(page, language, "47-daily-record-not-offered")
    browsing.close()

    browsing = context(browser, language)
    page = browsing.new_page()
    sign_in(page, url, "wu.hua")
    page.locator("nav a[href='/field-service-records']").click()
    page.wait_for_url(f"{url}/field-service-records")
    page.locator("#f-customer").select_option(code)
    page.locator("#filters button[type=submit]").click()
    expect(page.locator("#records tbody tr")).to_have_count(2)
    page.locator("#f-kind").select_option("daily")
    page.locator("#filters button[type=submit]").click()
    expect(page.locator("#records tbody tr")).to_have_count(1)
    expect(page.locator(f"#record-{record_id}")).to_contain_text("zhang.min")
    expect(page.locator(f"#record-{record_id} td").last).to_have_text("1")
    look(page, language, "48-records-list")
    page.locator(f"#record-{record_id} a").first.click()
    page.wait_for_url(f"{url}/field-service-records/{record_id}")
    expect(page.locator("#amend-form")).to_have_count(0)
    expect(page.locator("[data-amendment='1'] .reason")).to_have_text(reason)
    missing = page.goto(f"{url}/field-service-records/{uuid.uuid4()}")
    assert missing is not None and missing.status == 404
    browsing.close()
