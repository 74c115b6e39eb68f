"""What the console's browser tests share: the browser's locales and zones, signing in, and a
look at a page (a screenshot kept as an artifact, and an axe scan)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CSC_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
RUNS = {  # the browser's locale and time zone
    "zh-CN": ("zh-CN", "Asia/Shanghai"),
    "en": ("en-US", "Europe/Berlin"),
}


def context(browser: Browser, language: str) -> BrowserContext:
    locale, zone = RUNS[language]
    return browser.new_context(
        locale=locale, timezone_id=zone, viewport={"width": 1280, "height": 900}
    )


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/sign-in")
    page.locator(f"input[name=user][value='{user}']").check()
    page.locator("form.sign-in button[type=submit]").press("Enter")  # keyboard, not a click
    page.wait_for_url(f"{url}/")


def look(page: Page, language: str, name: str) -> None:
    """A screenshot kept as an artifact, and an axe scan: nothing serious or critical."""
    folder = ARTIFACTS / "console" / language
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: " + json.dumps(
        [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in bad], indent=1
    )


class People:
    """Each person signs in with a browser of their own (their own cookies); ``close()``
    closes them all."""

    def __init__(self, browser: Browser, language: str, url: str) -> None:
        self.browser, self.language, self.url = browser, language, url
        self.opened: list[BrowserContext] = []

    def __call__(self, user: str) -> Page:
        browsing = context(self.browser, self.language)
        self.opened.append(browsing)
        page = browsing.new_page()
        sign_in(page, self.url, user)
        return page

    def close(self) -> None:
        for browsing in self.opened:
            browsing.close()


def no_id_twice(page: Page) -> None:
    """Every label names one field: no id twice on the page, whichever forms it shows."""
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def send(page: Page, form: str) -> None:
    """Send the form (a selector) from the keyboard, not a click, and wait for the page
    it leads to."""
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").press("Enter")
