"""Sign-in with the company's identity provider: OpenID Connect, authorization code with PKCE.

The flow of OpenID Connect Core 1.0 §3.1 with RFC 7636 (S256): ``POST /sign-in/oidc``
sends the browser to the provider's authorization endpoint with a fresh ``state``,
``nonce`` and code challenge kept in the (signed, HttpOnly) session; the provider sends
it back to ``GET /sign-in/callback`` with a code, which the console exchanges at the
token endpoint with its code verifier. The ID token is checked (signature against the
provider's JWKS, issuer, audience = the client id, expiry, nonce) and names the user
(``sub``) and their department (the ``department`` claim the services read too).

The token the console then sends to the services with the user's requests is the
provider's access token (the services check it against the same JWKS), or the ID token
where the provider's access tokens are opaque (``CSC_CONSOLE_OIDC_API_TOKEN=id_token``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from csc_console import display
from csc_console.i18n import N_
from csc_console.kit import Kit
from csc_console.settings import ConsoleSettings
from csc_messaging.auth import (
    DEPARTMENT_CLAIM,
    check_person_department,
    check_user_id,
    signing_key,
)

SESSION_KEY = "oidc"
FLOW_SECONDS = 600  # a sign-in not finished within 10 minutes starts again


class SignInFailed(Exception):
    """The provider's answer does not sign anyone in: the status, and what a person is told
    (a message of the catalogue, ``N_``-marked, with its variables)."""

    def __init__(self, status: int, message: str, **variables: object) -> None:
        super().__init__(message % variables if variables else message)
        self.status = status
        self.message = message
        self.variables = variables


class ProviderUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(verifier)), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class SignedIn:
    user: str
    department: str
    token: str
    expires_at: float


class Provider:
    """The identity provider as its discovery document describes it (read once, kept)."""

    def __init__(self, settings: ConsoleSettings) -> None:
        assert settings.console_oidc_issuer and settings.console_oidc_client_id
        self.settings = settings
        self.issuer = settings.console_oidc_issuer.rstrip("/")
        self.client_id = settings.console_oidc_client_id
        self._metadata: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKClient | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=self.settings.service_timeout_seconds) as c:
                    answer = await c.get(url)
            except httpx.HTTPError as exc:
                raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from exc
            if answer.status_code != 200:
                raise ProviderUnavailable(f"{url} answered {answer.status_code}")
            found: dict[str, Any] = answer.json()
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(needed), str):
                    raise ProviderUnavailable(f"{url} names no {needed}")
            self._metadata = found
        return self._metadata

    async def authorization_url(self, redirect_uri: str, flow: dict[str, Any]) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.console_oidc_scope,
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": code_challenge(flow["verifier"]),
            "code_challenge_method": "S256",
        }
        return f"{meta['authorization_endpoint']}?{urlencode(query)}"

    async def exchange(self, code: str, redirect_uri: str, flow: dict[str, Any]) -> SignedIn:
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow["verifier"],
            "client_id": self.client_id,
        }
        secret = self.settings.console_oidc_client_secret
        auth = httpx.BasicAuth(self.client_id, secret) if secret else None
        try:
            async with httpx.AsyncClient(
                timeout=self.settings.service_timeout_seconds, auth=auth
            ) as c:
                answer = await c.post(meta["token_endpoint"], data=form)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{meta['token_endpoint']}: {type(exc).__name__}") from exc
        try:
            tokens: dict[str, Any] = answer.json()
        except ValueError:
            tokens = {}
        if answer.status_code != 200:
            reason = tokens.get("error_description") or tokens.get("error") or answer.status_code
            raise SignInFailed(
                400, N_("the identity provider refused the code (%(reason)s)"), reason=reason
            )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed(400, N_("the identity provider sent no ID token"))
        # PyJWKClient reads the JWKS with urllib: off the event loop.
        claims = await asyncio.to_thread(self._verify, id_token, meta, flow["nonce"])
        try:
            user = check_user_id(claims.get("sub"))
        except ValueError as exc:
            raise SignInFailed(
                403, N_("the ID token names no user this system records (%(reason)s)"), reason=exc
            ) from exc
        try:
            department = check_person_department(claims.get(DEPARTMENT_CLAIM)).value
        except ValueError as exc:
            found = claims.get(DEPARTMENT_CLAIM)
            raise SignInFailed(
                403,
                N_(
                    "your account has no department of this system (its ID token's "
                    "department claim is %(found)s); the company's account administrators "
                    "can add one"
                ),
                found=repr(found)[:60] if found is not None else "—",
            ) from exc
        wanted = self.settings.console_oidc_api_token
        token = tokens.get(wanted) if wanted == "access_token" else id_token
        if not isinstance(token, str) or not token:
            raise SignInFailed(400, N_("the identity provider sent no %(token)s"), token=wanted)
        expires = float(claims["exp"])
        if isinstance(tokens.get("expires_in"), int | float) and wanted == "access_token":
            expires = min(expires, time.time() + float(tokens["expires_in"]))
        return SignedIn(user=user, department=str(department), token=token, expires_at=expires)

    def _verify(self, id_token: str, meta: dict[str, Any], nonce: str) -> dict[str, Any]:
        """OpenID Connect Core §3.1.3.7: signature, issuer, audience, expiry, nonce."""
        if self._jwks is None:
            self._jwks = jwt.PyJWKClient(meta["jwks_uri"])
        try:
            key = signing_key(self._jwks, id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=meta.get("id_token_signing_alg_values_supported") or ["RS256"],
                audience=self.client_id,
                issuer=meta.get("issuer") or self.issuer,
                options={"require": ["exp", "iat", "sub"]},
                leeway=self.settings.auth_leeway_seconds,
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise ProviderUnavailable(f"{meta['jwks_uri']}: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise SignInFailed(
                400, N_("the ID token could not be verified (%(reason)s)"), reason=exc
            ) from exc
        if claims.get("nonce") != nonce:
            raise SignInFailed(400, N_("the ID token is not the answer to this sign-in (nonce)"))
        return claims


def add_oidc_sign_in(app: FastAPI, kit: Kit) -> None:
    settings = kit.settings
    if not settings.oidc_sign_in:
        return
    provider = Provider(settings)

    def redirect_uri(request: Request) -> str:
        base = settings.console_public_url or str(request.base_url)
        return f"{base.rstrip('/')}/sign-in/callback"

    def failed(request: Request, status: int, message: str, **variables: object) -> Response:
        request.session.pop(SESSION_KEY, None)
        reason = kit.translated(request, message, **variables)
        return kit.render(
            request,
            "message.html",
            status_code=status,
            title=kit.translated(request, "You are not signed in"),
            message=kit.translated(
                request, "The company's sign-in did not sign you in: %(reason)s.", reason=reason
            ),
            link=("/sign-in", kit.translated(request, "Sign in again")),
        )

    @app.post("/sign-in/oidc")
    async def start(request: Request) -> Response:
        form = await request.form()
        kit.check_csrf(request, form)
        flow = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "verifier": secrets.token_urlsafe(48),  # 64 characters: RFC 7636 asks 43-128
            "tz": str(form.get("tz", ""))[:64],
            "began": time.time(),
        }
        try:
            to = await provider.authorization_url(redirect_uri(request), flow)
        except ProviderUnavailable as exc:
            return provider_down(request, exc)
        request.session[SESSION_KEY] = flow
        return RedirectResponse(to, status_code=303)

    def provider_down(request: Request, exc: ProviderUnavailable) -> Response:
        return kit.render(
            request,
            "message.html",
            status_code=503,
            title=kit.translated(request, "The company's sign-in is not answering"),
            message=kit.translated(
                request,
                "The identity provider did not answer (%(reason)s); try again in a moment.",
                reason=exc.reason,
            ),
        )

    @app.get("/sign-in/callback")
    async def callback(
        request: Request,
        code: str | None = None,
        state: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> Response:
        if error:  # refused at the provider: nothing to verify, nobody signed in
            return failed(
                request,
                403,
                N_("the identity provider refused (%(reason)s)"),
                reason=f"{error}: {error_description}"[:200] if error_description else error[:80],
            )
        flow = request.session.get(SESSION_KEY)
        if (
            not isinstance(flow, dict)
            or not state
            or not secrets.compare_digest(str(flow.get("state", "")), state)
            or time.time() - float(flow.get("began", 0)) > FLOW_SECONDS
        ):
            return failed(
                request,
                400,
                N_("this answer is not to a sign-in started here, or it is too old"),
            )
        if not code:
            return failed(request, 400, N_("the identity provider sent no code"))
        try:
            signed = await provider.exchange(code, redirect_uri(request), flow)
        except ProviderUnavailable as exc:
            return provider_down(request, exc)
        except SignInFailed as exc:
            return failed(request, exc.status, exc.message, **exc.variables)
        lang = request.session.get("lang")
        request.session.clear()  # a new session on sign-in, as the local form does
        request.session.update(
            user=signed.user,
            department=signed.department,
            token=signed.token,
            exp=min(signed.expires_at, time.time() + settings.console_session_hours * 3600),
            tz=display.zone(str(flow.get("tz", "")), settings.console_site_timezone).key,
            csrf=secrets.token_urlsafe(32),
        )
        if lang:
            request.session["lang"] = lang
        return RedirectResponse("/", status_code=303)
