"""The auditor's view and the monthly dashboard, in a real browser over the real stack.

An auditor opens a quality complaint that Marketing replied to: the timeline across the
services names each step with actor, department and time; every service's hash chain
is shown verified (``GET /audit/chain``, the same check as ``csc audit verify``); the
case as it was between the complaint and the reply has its reply clock not yet met; the
case's bundle downloads and checks on its own; and the pages carry no form that writes.
Then a copy of intake's store with one byte changed, under an intake and a console of
its own: the view says intake's chain is broken at that event and names it.

The dashboard of a month with known figures (a stack of its own, so that nothing else
counts): each chart's table holds the counts this test made, and its rows link back.
Screenshots and axe scans under ``artifacts/console/<locale>/``, zh-CN and en.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from csc_audit.bundle import verify_bundle
from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, context, look, sign_in
from e2e.conftest import STORE, Stack, new_stack
from e2e.support import posted, read, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

AUDITOR = "wu.hua"
SERVICES = ("intake", "returns", "capa", "sla")


def _customer(intake: str) -> str:
    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
    posted(
        f"{intake}/customers",
        {"code": code, "name": f"Chery Auto {code}", "oem": True,
         "sites": [{"name": "Wuhu plant 1", "timezone": "Asia/Shanghai"}]},
    )  # fmt: skip
    return code


def _entry(intake: str, code: str, n: int, **fields: Any) -> str:
    body = {
        "channel": "phone",
        "receiving_department": "marketing",
        "customer_code": code,
        "product": "CN-220 connector",
        "text": f"Housings cracked at line 3 (report {n}).",
        **fields,
    }
    path = "/complaints" if "category" in body else "/register-entries"
    case: str = posted(f"{intake}{path}", body)["case_id"]
    return case


def _reply_clock(sla: str, case: str, *, met: bool) -> dict[str, Any]:
    def clock() -> dict[str, Any] | None:
        answer = read(f"{sla}/cases/{case}/clocks")
        clocks = answer.json() if answer.status_code == 200 else []
        return next(
            (c for c in clocks if c["clock"] == "reply" and (c["status"] == "met") == met), None
        )

    return wait_until(clock, what=f"the reply clock {'met' if met else 'started'}")


def _next_second(at: datetime) -> datetime:
    return at.replace(microsecond=0) + timedelta(seconds=1)


def _published(service: ServiceProcess) -> bool:
    body = read(f"{service.url}/audit/chain", timeout=60).json()
    return bool(body["ok"] and not body["unpublished"])


@dataclass
class Replied:
    case: str
    started: datetime
    met: datetime


@pytest.fixture(scope="module")
def replied(console: tuple[ServiceProcess, dict[str, ServiceProcess]]) -> Replied:
    _, services = console
    intake, sla = services["intake"].url, services["sla"].url
    code = _customer(intake)
    case = _entry(intake, code, 1, category="quality", lot="L2026-12-01")
    # The as-of form takes whole seconds: the reply comes in a later second than the
    # clock's start, so that a moment typed between them exists.
    started = datetime.fromisoformat(_reply_clock(sla, case, met=False)["started_at"])
    time.sleep(max(0.0, (_next_second(started) - datetime.now(UTC)).total_seconds() + 0.5))
    posted(f"{intake}/register-entries/{case}/replies",
          {"channel": "phone", "summary": "Replacement units leave today."})  # fmt: skip
    clock = _reply_clock(sla, case, met=True)
    for name in SERVICES:  # every stored event published: the chains can be checked whole
        service = services[name]
        wait_until(partial(_published, service), what=f"{name} published")
    return Replied(
        case,
        datetime.fromisoformat(clock["started_at"]),
        datetime.fromisoformat(clock["met_at"]),
    )


def _no_write_form(page: Page) -> None:
    """Read-only: the page's own forms only read (GET); the header's language and
    sign-out forms are the session's, not the procedure's."""
    assert page.locator("main form[method=post]").count() == 0
    assert page.locator("main form").count() == page.locator("main form[method=get]").count()


@pytest.mark.parametrize("language", list(RUNS))
def test_the_auditor_sees_the_case_across_the_services_and_every_chain_verified(
    browser: Browser,
    console: tuple[ServiceProcess, dict[str, ServiceProcess]],
    replied: Replied,
    language: str,
) -> None:
    process, _ = console
    url = process.url
    zone = ZoneInfo(RUNS[language][1])
    with context(browser, language) as ctx:
        page = ctx.new_page()
        sign_in(page, url, AUDITOR)
        page.get_by_role(
            "link", name="审核视图" if language == "zh-CN" else "Auditor's view"
        ).click()
        expect(page.locator("#audit-chain tr[data-service]")).to_have_count(4, timeout=90_000)
        expect(page.locator("#audit-chain tr[data-ok=yes]")).to_have_count(4)
        _no_write_form(page)
        look(page, language, "audit-home")

        page.goto(f"{url}/audit/cases/{replied.case}")
        expect(page.locator("#audit-chain tr[data-ok=yes]")).to_have_count(4, timeout=90_000)
        timeline = page.locator("table.audit-timeline tbody tr")
        expect(timeline.first).to_be_visible()
        # The complaint by Marketing's user, the reply clock started by sla (the system).
        text = page.locator("table.audit-timeline").inner_text()
        assert "marketing.user" in text and "sla" in text
        marketing = "市场部" if language == "zh-CN" else "Marketing"
        assert marketing in text
        _no_write_form(page)
        look(page, language, "audit-case")

        # Between the complaint and the reply, typed in the viewer's zone.
        between = _next_second(replied.started)
        assert replied.started < between < replied.met
        page.fill("#f-at", between.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"))
        page.locator("#as-of-form button[type=submit]").press("Enter")
        reply_row = page.locator("table.as-of tr[data-clock=reply]")
        expect(reply_row).to_be_visible(timeout=60_000)
        started = "时限开始计时" if language == "zh-CN" else "Clock started"
        expect(reply_row).to_contain_text(started)
        intake_row = page.locator("table.as-of tr[data-service=intake]")
        expect(intake_row).not_to_contain_text(
            "已答复顾客" if language == "zh-CN" else "Reply sent"
        )
        look(page, language, "audit-case-as-of")

        # The case's bundle, as csc audit export makes it, checks on its own.
        with page.expect_download(timeout=120_000) as got:
            page.locator(f"a[href='/audit/cases/{replied.case}/bundle.zip']").click()
        path = Path(got.value.path())
        report = verify_bundle(path)
        assert report.ok, report.lines()
        assert "events/intake.jsonl" in zipfile.ZipFile(path).namelist()

    # Another department is told the view is not theirs; the page shows no chain.
    with context(browser, language) as ctx:
        page = ctx.new_page()
        sign_in(page, url, "li.wei")
        assert page.goto(f"{url}/audit/cases/{replied.case}").status == 403  # type: ignore[union-attr]


@dataclass
class Tampered:
    console: ServiceProcess
    position: int
    case: str


@pytest.fixture(scope="module")
def tampered(
    console: tuple[ServiceProcess, dict[str, ServiceProcess]], replied: Replied, module_stack: Stack
) -> Iterator[Tampered]:
    if STORE != "sqlite":
        pytest.skip("copies intake's SQLite file")
    _, services = console
    stack = module_stack
    copy = stack.data_dir / "tampered"
    copy.mkdir()
    with (
        closing(sqlite3.connect(stack.data_dir / "intake.sqlite")) as source,
        closing(sqlite3.connect(copy / "intake.sqlite")) as target,
    ):
        source.backup(target)
    for view in stack.data_dir.glob("intake?*.sqlite"):
        shutil.copy(view, copy / view.name)
    with closing(sqlite3.connect(copy / "intake.sqlite")) as db, db:
        position, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id = ? "
            "AND originator_version = 1",
            (UUID(replied.case).hex,),
        ).fetchone()
        assert b"(report 1)" in state
        db.execute(  # one byte: report 1 becomes report 7
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (state.replace(b"(report 1)", b"(report 7)"), position),
        )
    intake = stack.start("intake", CSC_DATA_DIR=str(copy), CSC_RELAY_ENABLED="false")
    others = [services[s] for s in ("returns", "capa", "sla")]
    yield Tampered(stack.start_console(intake, *others), int(position), replied.case)


@pytest.mark.parametrize("language", list(RUNS))
def test_a_store_changed_by_one_byte_shows_broken_at_the_event_it_names(
    browser: Browser, tampered: Tampered, language: str
) -> None:
    url = tampered.console.url
    with context(browser, language) as ctx:
        page = ctx.new_page()
        sign_in(page, url, AUDITOR)
        page.goto(f"{url}/audit/cases/{tampered.case}")
        broken = page.locator("#audit-chain tr[data-service=intake][data-ok=no]")
        expect(broken).to_be_visible(timeout=90_000)
        words = "在第 %d 个事件处断开" if language == "zh-CN" else "broken at event %d"
        expect(broken).to_contain_text(words % tampered.position)
        expect(broken).to_contain_text("ComplaintLogged")
        expect(broken).to_contain_text(tampered.case)
        expect(broken).to_contain_text("(report 1)")  # what Kafka says it said
        expect(page.locator("#audit-chain tr[data-ok=yes]")).to_have_count(3)
        look(page, language, "audit-case-broken")


# ---- the monthly dashboard -------------------------------------------------------------------


@dataclass
class Month:
    console: ServiceProcess
    month: str
    made: dict[str, dict[str, int]]


@pytest.fixture(scope="module")
def known_month(
    kafka_bootstrap: str, store_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Month]:
    """A stack of its own: the month holds only what this fixture made."""
    with new_stack(kafka_bootstrap, store_env, tmp_path_factory.mktemp("month")) as stack:
        services = {s: stack.start(s) for s in SERVICES}
        intake, sla = services["intake"].url, services["sla"].url
        code = _customer(intake)
        made = {
            "kinds": {"quality_problem": 2, "suggestion": 1},
            "channels": {"phone": 2, "email": 1},
            "categories": {"quality": 2, "delivery": 1},
        }
        cases = [
            _entry(intake, code, 10, kind="quality_problem"),
            _entry(intake, code, 11, kind="quality_problem", channel="email"),
            _entry(intake, code, 12, kind="suggestion"),
        ]
        made["channels"] = {"phone": 2, "email": 1}
        complaints = [
            _entry(intake, code, 20, category="quality"),
            _entry(intake, code, 21, category="quality"),
            _entry(intake, code, 22, category="delivery"),
        ]
        posted(f"{intake}/register-entries/{complaints[2]}/replies",
              {"channel": "phone", "summary": "The missing boxes leave today."})  # fmt: skip
        _reply_clock(sla, complaints[2], met=True)
        month = f"{datetime.now(UTC):%Y-%m}"
        # The returns of 4.3 open from the quality complaints and quality problems: four.
        made["returns"] = {"opened": 4, "closed": 0, "open": 4}
        made["replies"] = {"started": len(cases) + len(complaints), "met": 1}

        def counted() -> bool:
            r = read(f"{sla}/reports/monthly/{month}").json()
            return bool(
                r["returns"]["opened"] == 4
                and r["replied_within_8h"]["started"] == made["replies"]["started"]
            )

        wait_until(counted, what="sla's report counting the month")
        yield Month(stack.start_console(*services.values()), month, made)


def _table(page: Page, chart: str) -> dict[str, str]:
    rows = page.locator(f"table[data-chart={chart}] tbody tr[data-key]")
    return {
        str(rows.nth(i).get_attribute("data-key")): rows.nth(i).locator("td").inner_text().strip()
        for i in range(rows.count())
    }


@pytest.mark.parametrize("language", list(RUNS))
def test_the_dashboard_of_a_month_shows_the_counts_made(
    browser: Browser, known_month: Month, language: str
) -> None:
    url, made = known_month.console.url, known_month.made
    with context(browser, language) as ctx:
        page = ctx.new_page()
        sign_in(page, url, "li.wei")  # Marketing
        page.get_by_role(
            "link", name="月度看板" if language == "zh-CN" else "Monthly dashboard"
        ).click()
        expect(page.locator("h1")).to_contain_text(known_month.month)
        want = {k: str(v) for k, v in made["kinds"].items()}
        assert _table(page, "kinds") == want
        assert _table(page, "channels") == {k: str(v) for k, v in made["channels"].items()}
        assert _table(page, "categories") == {k: str(v) for k, v in made["categories"].items()}
        assert _table(page, "returns") == {k: str(v) for k, v in made["returns"].items()}
        assert _table(page, "escalations") == {"breached": "0", "escalated": "0"}
        assert _table(page, "follow-ups") == {"closed": "0", "followed_up": "0", "pending": "0"}
        capa = _table(page, "capa")
        assert capa["opened"] == "0" and capa["closed"] == "0"
        replies = page.locator(
            f"table[data-chart=promises] tr[data-month='{known_month.month}'] td[data-kind=reply]"
        )
        started, met = made["replies"]["started"], made["replies"]["met"]
        expect(replies).to_contain_text(f"{met} / {started}")
        # Each chart is drawn (SVG, named for screen readers) beside its table.
        assert page.locator("svg.chart[role=img]").count() == 9
        assert page.locator("#kinds svg rect").count() == 2
        _no_write_form(page)
        look(page, language, "dashboard")
        # Each figure's link lists the rows its count counted: as many as the table says.
        for chart in ("kinds", "channels", "categories", "escalations", "returns", "capa",
                      "follow-ups"):  # fmt: skip
            links = page.locator(f"table[data-chart={chart}] tbody tr[data-key] a")
            hrefs = [str(links.nth(i).get_attribute("href")) for i in range(links.count())]
            bars = [links.nth(i).inner_text() for i in range(links.count())]
            for href, bar, count in zip(hrefs, bars, _table(page, chart).values(), strict=True):
                rows = ctx.new_page()
                rows.goto(url + href)
                listed = rows.locator("table.dashboard-rows tbody tr[data-case]")
                expect(listed).to_have_count(int(count))
                # The page names what it lists: the bar whose rows these are; an entry's
                # row says its kind or channel in the reader's words, as the bar does.
                expect(rows.locator("h1")).to_contain_text(bar)
                if chart in ("kinds", "channels", "categories") and int(count):
                    expect(listed.first).to_contain_text(bar)
                rows.close()

        # The rows behind a figure: the two quality problems of the month.
        page.locator("table[data-chart=kinds] tr[data-key=quality_problem] a").click()
        expect(page.locator("table.dashboard-rows tbody tr[data-case]")).to_have_count(2)
        look(page, language, "dashboard-rows")

        # att. 4 of the month, as sla prints it.
        page.goto(f"{url}/dashboard?month={known_month.month}")
        with page.expect_download(timeout=120_000) as got:
            page.locator("a[href^='/documents/monthly-report.pdf']").click()
        assert Path(got.value.path()).read_bytes().startswith(b"%PDF")
        with page.expect_download(timeout=120_000) as got:
            page.locator("a[href^='/documents/register.xlsx']").click()
        assert zipfile.is_zipfile(io.BytesIO(Path(got.value.path()).read_bytes()))
