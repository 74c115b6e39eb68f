"""A work queue's section shows its first page and pages through the rest, in a real browser.

The console here shows 3 rows a section (``CSC_CONSOLE_QUEUE_PAGE``): Marketing's replies
due (4.2.1), soonest due first, and its other open entries, newest first, each page read
from the services' indexes; following "More of these" gives every row once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import ServiceProcess
from e2e.browser import RUNS, context, look, sign_in
from e2e.conftest import Stack
from e2e.support import auth, read, wait_until
from e2e.support import created as post

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PAGE = 3
MARKETING = "li.wei"


@pytest.fixture(scope="module")
def paged_console(module_stack: Stack) -> Iterator[tuple[ServiceProcess, dict[str, str]]]:
    services = {s: module_stack.start(s) for s in ("intake", "returns", "capa", "sla")}
    console = module_stack.start_console(*services.values(), CSC_CONSOLE_QUEUE_PAGE=str(PAGE))
    yield console, {name: p.url for name, p in services.items()}


def _reply_clocks(sla: str, cases: list[str]) -> dict[str, str]:
    answer = read(f"{sla}/clocks", params={"clock": "reply", "case_id": cases, "limit": 1000})
    assert answer.status_code == 200, answer.text
    return {c["case_id"]: c["status"] for c in answer.json()}


def _section(page: Page, key: str) -> list[str]:
    rows = page.locator(f"table[data-section={key}] tbody tr[data-case]")
    return [str(rows.nth(i).get_attribute("data-case")) for i in range(rows.count())]


def _customer_entries(page: Page) -> list[str]:
    rows = page.locator("table#entries tbody tr[data-case]")
    return [str(rows.nth(i).get_attribute("data-case")) for i in range(rows.count())]


def _every_page(page: Page, key: str, state: Any) -> list[str]:
    """The section's rows on the queue, then on each page "More of these" leads to."""
    seen = _section(page, key)
    while (more := page.locator(f"a[data-more={key}]")).count():
        more.click()
        page.wait_for_load_state()
        expect(page.locator("h1")).to_be_visible()
        rows = _section(page, key)
        # Other open entries leave out those waiting for a reply: a page reads on to fill.
        last = page.locator(f"a[data-more={key}]").count() == 0
        assert (last or len(rows) > 0) and len(rows) < 2 * PAGE, (page.url, state())
        seen += rows
    return seen


@pytest.mark.parametrize("language", list(RUNS))
def test_a_section_pages_through_every_row_once(
    browser: Browser, paged_console: tuple[ServiceProcess, dict[str, str]], language: str
) -> None:
    console, urls = paged_console
    intake, sla = urls["intake"], urls["sla"]
    code = f"P-{uuid.uuid4().hex[:6].upper()}"
    post(f"{intake}/customers",
         {"code": code, "name": f"BYD {code}", "oem": True,
          "sites": [{"name": "Shenzhen plant", "timezone": "Asia/Shanghai"}]})  # fmt: skip
    cases = [
        post(
            f"{intake}/complaints",
            {"category": "service", "channel": "phone", "receiving_department": "marketing",
             "customer_code": code, "text": f"The torque tool reads low ({n})"},
        )["case_id"]
        for n in range(8)
    ]  # fmt: skip
    answered = cases[:3]
    wait_until(lambda: len(_reply_clocks(sla, cases)) == len(cases), what="the reply clocks")
    for case in answered:
        reply = {"channel": "phone", "summary": "A calibrated tool goes out today."}
        post(f"{intake}/register-entries/{case}/replies", reply)
    wait_until(
        lambda: all(_reply_clocks(sla, cases)[c] == "met" for c in answered), what="replies met"
    )
    waiting = [c for c in cases if c not in answered]

    with context(browser, language) as ctx:
        page = ctx.new_page()
        sign_in(page, console.url, MARKETING)
        due = page.locator("table[data-section=due] tbody tr[data-case]")
        expect(due).to_have_count(PAGE)
        expect(page.locator("#h-due .count")).to_have_text(f"({PAGE}+)")
        seen_due = _every_page(page, "due", lambda: _reply_clocks(sla, cases))
        look(page, language, "queue-section-due")
        assert len(seen_due) == len(set(seen_due)), seen_due
        assert set(waiting) <= set(seen_due)
        assert not set(answered) & set(seen_due)
        back = "回到第一页" if language == "zh-CN" else "Back to the first page"
        expect(page.get_by_role("link", name=back)).to_be_visible()

        page.goto(console.url + "/")
        seen_new = _every_page(page, "new", lambda: _reply_clocks(sla, cases))
        assert len(seen_new) == len(set(seen_new)), seen_new
        assert not set(waiting) & set(seen_new)
        # Newest first: this run's replied entries in the reverse of the order recorded.
        assert [c for c in seen_new if c in answered] == answered[::-1]

        # No such section; a cursor no page gave: said in words, never a 5xx.
        missing = page.goto(console.url + "/queue/coffee")
        assert missing is not None and missing.status == 404
        bad = page.goto(console.url + "/queue/due?cursor=not-a-cursor")
        assert bad is not None and bad.status == 422
        expect(page.locator("main")).to_contain_text("cursor")

        # The customer's page lists its entries newest first, a page at a time: every one
        # once, whatever their number.
        page.goto(f"{console.url}/customers/{code}")
        listed = _customer_entries(page)
        expect(page.locator("#h-entries .count")).to_have_count(0)  # more than one page
        while (more := page.locator("a[data-more=entries]")).count():
            more.click()
            page.wait_for_load_state()
            shown = _customer_entries(page)
            assert 0 < len(shown) <= PAGE, (page.url, shown)
            listed += shown
        assert listed == cases[::-1], listed
        bad = page.goto(f"{console.url}/customers/{code}?cursor=not-a-cursor")
        assert bad is not None and bad.status == 422
    _the_services_page_their_lists_for_a_queue(urls)


def _the_services_page_their_lists_for_a_queue(urls: dict[str, str]) -> None:
    """What the sections read: sla's clocks soonest due first, intake's newest first."""
    headers = auth("marketing")
    clocks = httpx.get(
        f"{urls['sla']}/clocks",
        params={"clock": "reply", "status": ["running", "warned"], "order": "due", "limit": 1000},
        headers=headers,
    )
    assert clocks.status_code == 200, clocks.text
    due: list[Any] = [c["due_at"] for c in clocks.json()]
    assert len(due) >= 5 and due == sorted(due), clocks.json()
    entries = httpx.get(
        f"{urls['intake']}/register-entries",
        params={"status": "open", "order": "newest", "limit": 1000},
        headers=headers,
    )
    assert entries.status_code == 200, entries.text
    recorded = [e["recorded_at"] for e in entries.json()]
    assert len(recorded) >= 8 and recorded == sorted(recorded, reverse=True)


@pytest.mark.parametrize("language", list(RUNS))
def test_a_clerk_keeps_a_view_of_one_customer_s_replies(
    browser: Browser, paged_console: tuple[ServiceProcess, dict[str, str]], language: str
) -> None:
    console, urls = paged_console
    intake, sla = urls["intake"], urls["sla"]
    mine, other = (f"V-{uuid.uuid4().hex[:6].upper()}" for _ in range(2))
    cases: dict[str, list[str]] = {}
    for code in (mine, other):
        post(f"{intake}/customers", {"code": code, "name": f"Geely {code}", "oem": False})
        cases[code] = [
            post(
                f"{intake}/complaints",
                {"category": "delivery", "channel": "email", "receiving_department": "marketing",
                 "customer_code": code, "text": f"Two boxes short ({code}, {n})"},
            )["case_id"]
            for n in range(4)
        ]  # fmt: skip
    every = cases[mine] + cases[other]
    wait_until(lambda: len(_reply_clocks(sla, every)) == len(every), what="the reply clocks")

    with context(browser, language) as ctx:
        page = ctx.new_page()
        sign_in(page, console.url, MARKETING)
        page.goto(f"{console.url}/queue/due")
        page.locator("#f-view-customer").fill(mine)
        with page.expect_navigation():
            page.locator("#view-filter button[type=submit]").press("Enter")
        # Only that customer's replies due, page after page (3 a page: 4 of them).
        assert sorted(_every_page(page, "due", lambda: None)) == sorted(cases[mine])
        page.goto(f"{console.url}/queue/due?customer={mine}")
        page.locator("#f-view-name").fill(f"Geely {mine}")
        look(page, language, "queue-view-save")
        with page.expect_navigation():
            page.locator("#view-save button[type=submit]").press("Enter")
        assert f"customer={mine}" in page.url

        page.goto(console.url + "/")
        view = page.locator(f"a[data-view='Geely {mine}']")
        expect(view).to_be_visible()
        look(page, language, "queue-my-views")
        view.click()
        page.wait_for_url(f"**/queue/due?customer={mine}")
        assert set(_section(page, "due")) <= set(cases[mine])

        # A view is a link kept in the browser, not a permission: another user's cookie,
        # a forged one and a bad form are refused in words, never a 5xx.
        refused = page.request.post(
            f"{console.url}/queue/views",
            form={"csrf": _csrf(page), "name": "x", "section": "coffee", "customer": mine},
        )
        assert refused.status == 422
        long_name = page.request.post(
            f"{console.url}/queue/views",
            form={"csrf": _csrf(page), "name": "x" * 61, "section": "due", "customer": mine},
        )
        assert long_name.status == 422
        # Views are kept in a cookie: past what a browser keeps of one, the next view is
        # refused in words, and those kept stay.
        wide = "视" * 59
        saved = [
            page.request.post(
                f"{console.url}/queue/views",
                form={
                    "csrf": _csrf(page),
                    "name": f"{n}{wide}",
                    "section": "due",
                    "customer": mine,
                },
            ).status
            for n in range(20)
        ]
        assert saved[0] == 200 and 422 in saved, saved
        page.goto(console.url + "/")
        expect(page.locator("a[data-view]")).to_have_count(1 + saved.index(422))
        no_csrf = page.request.post(
            f"{console.url}/queue/views", form={"name": "x", "section": "due", "customer": mine}
        )
        assert no_csrf.status in (400, 403)
        page.goto(console.url + "/")
        page.get_by_role("button", name=("删除视图" if language == "zh-CN" else "Remove the view")
                         + ("“" if language == "zh-CN" else " ") + f"Geely {mine}"
                         + ("”" if language == "zh-CN" else "")).press("Enter")  # fmt: skip
        page.wait_for_url(f"{console.url}/")
        expect(page.locator(f"a[data-view='Geely {mine}']")).to_have_count(0)
        ctx.add_cookies([{"name": "csc_views", "value": "forged", "url": console.url}])
        answer = page.goto(console.url + "/")
        assert answer is not None and answer.status == 200


def _csrf(page: Page) -> str:
    return str(page.locator("input[name=csrf]").first.get_attribute("value"))
