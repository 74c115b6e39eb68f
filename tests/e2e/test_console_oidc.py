"""Signing in to the console with the company's identity provider (OpenID Connect, code + PKCE).

The provider is a real OpenID Connect server (oidc-provider-mock, on authlib's
authorization server) run by the test; intake trusts only its tokens (RS256, its JWKS,
its issuer, the console's client id as audience) and the console offers only its sign-in.
Li Wei of Marketing signs in there and is brought back to her work queue; the customer
she registers on the console's form is recorded by intake as hers. A sign-in answer
that was not started here, a provider that names no department, and a refusal at the
provider each end on a page that says why, in the viewer's language, and sign nobody in.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from csc_devkit.processes import free_port
from e2e.browser import context, look
from e2e.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CLIENT = "csc-console"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
    with oidc_provider_mock.run_server_in_thread(port=free_port()) as server:
        issuer = f"http://localhost:{server.server_port}"
        for sub, claims in {
            "li.wei": {"department": "marketing", "name": "Li Wei"},
            "no.department": {"name": "Someone without a department"},
        }.items():
            answer = httpx.put(f"{issuer}/users/{quote(sub)}", json=claims)
            assert answer.status_code == 204, answer.text
        yield issuer


@pytest.fixture(scope="module")
def company(module_stack: Stack, provider: str) -> Iterator[tuple[str, str]]:
    trust = {
        "CSC_AUTH_JWKS_URL": f"{provider}/jwks",
        "CSC_AUTH_ISSUER": provider,
        "CSC_AUTH_AUDIENCE": CLIENT,
    }
    intake = module_stack.start("intake", ready=True, **trust)
    sla = module_stack.start("sla", ready=True, **trust)  # the queue shows its clocks
    console = module_stack.start_console(
        intake,
        sla,
        CSC_CONSOLE_LOCAL_USERS="{}",
        CSC_CONSOLE_OIDC_ISSUER=provider,
        CSC_CONSOLE_OIDC_CLIENT_ID=CLIENT,
        CSC_CONSOLE_OIDC_CLIENT_SECRET="the-console's-secret-at-the-provider",
        # The provider's access tokens are opaque: the services are sent its ID token.
        CSC_CONSOLE_OIDC_API_TOKEN="id_token",
        CSC_CONSOLE_SESSION_SECRET="a-session-secret-of-at-least-thirty-two-bytes",
        **trust,
    )
    yield console.url, intake.url


def _sign_in_at_provider(page: Page, url: str, sub: str) -> None:
    page.goto(f"{url}/sign-in")
    expect(page.locator("input[name=user]")).to_have_count(0)  # no local users here
    page.locator("form.sign-in-oidc button[type=submit]").press("Enter")
    page.wait_for_url(re.compile(r"http://localhost:\d+/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_marketing_signs_in_with_the_company_account_and_works(
    browser: Browser, company: tuple[str, str], provider: str
) -> None:
    url, intake = company
    ctx = context(browser, "en")
    page = ctx.new_page()
    _sign_in_at_provider(page, url, "li.wei")
    page.wait_for_url(f"{url}/")
    expect(page.locator("header")).to_contain_text("li.wei")
    look(page, "en", "oidc-queue")

    cookie = next(c for c in ctx.cookies() if c["name"] == "csc_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    code = f"OEM-{uuid.uuid4().hex[:6].upper()}"
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
    look(page, "en", "oidc-case")

    # What intake recorded, read with a token of the same provider's: Li Wei logged it.
    token = _id_token(provider, "li.wei")
    answer = httpx.get(
        f"{intake}/register-entries/{case_id}/history",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    logged = [step for step in answer.json() if step["event"] == "ComplaintLogged"]
    assert [step["actor"] for step in logged] == [{"user": "li.wei", "department": "marketing"}]

    page.locator("form[action='/sign-out'] button").click()
    page.wait_for_url(f"{url}/sign-in")
    page.goto(f"{url}/")
    page.wait_for_url(f"{url}/sign-in")
    ctx.close()


def _id_token(provider: str, sub: str) -> str:
    """An ID token of ``sub`` from the provider, by the code flow a client makes."""
    meta = httpx.get(f"{provider}/.well-known/openid-configuration").json()
    callback = "http://localhost/callback"
    query = {"response_type": "code", "client_id": CLIENT, "redirect_uri": callback}
    answer = httpx.post(
        meta["authorization_endpoint"], params={**query, "scope": "openid"}, data={"sub": sub}
    )
    assert answer.status_code in (302, 303), answer.text
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        meta["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
        auth=(CLIENT, "any"),
    )
    assert tokens.status_code == 200, tokens.text
    token: str = tokens.json()["id_token"]
    return token


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_sign_in_that_does_not_hold_signs_nobody_in_and_says_why(
    browser: Browser, company: tuple[str, str], language: str
) -> None:
    url, _ = company
    ctx = context(browser, language)
    page = ctx.new_page()

    # An account with no department: the services could not tell what it may do.
    _sign_in_at_provider(page, url, "no.department")
    page.wait_for_url(re.compile(rf"{url}/sign-in/callback"))
    expect(page.locator("main")).to_contain_text("department")
    look(page, language, "oidc-no-department")
    page.goto(f"{url}/")
    page.wait_for_url(f"{url}/sign-in")

    # An answer to a sign-in this browser never started (a forged or replayed link).
    answer = page.goto(f"{url}/sign-in/callback?code=abc&state=forged")
    assert answer is not None and answer.status == 400
    words = {"zh-CN": "未能通过公司账号登录", "en": "did not sign you in"}[language]
    expect(page.locator("main")).to_contain_text(words)

    # Denied at the provider.
    page.goto(f"{url}/sign-in")
    page.locator("form.sign-in-oidc button[type=submit]").press("Enter")
    page.wait_for_url(re.compile(r"http://localhost:\d+/oauth2/authorize"))
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(re.compile(rf"{url}/sign-in/callback"))
    expect(page.locator("main")).to_contain_text("access_denied")
    page.goto(f"{url}/")
    page.wait_for_url(f"{url}/sign-in")
    ctx.close()


def test_the_console_refuses_a_provider_that_is_not_there(
    module_stack: Stack, browser: Browser
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    console = module_stack.start_console(
        CSC_CONSOLE_LOCAL_USERS="{}",
        CSC_CONSOLE_OIDC_ISSUER=gone,
        CSC_CONSOLE_OIDC_CLIENT_ID=CLIENT,
        CSC_CONSOLE_SESSION_SECRET="a-session-secret-of-at-least-thirty-two-bytes",
    )
    ctx = context(browser, "en")
    page = ctx.new_page()
    page.goto(f"{console.url}/sign-in")
    with page.expect_response(re.compile(r"/sign-in/oidc$")) as response:
        page.locator("form.sign-in-oidc button[type=submit]").press("Enter")
    assert response.value.status == 503
    expect(page.locator("main")).to_contain_text("did not answer")
    ctx.close()
