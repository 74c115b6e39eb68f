"""What every page of the console is made with: the signed-in user, the session's CSRF
token and language, rendering a template in the viewer's language and time zone, and
sending a form on to a service with its refusal shown at the field.

``web.create_app`` makes one :class:`Kit`; each area of pages is a module with an
``add_<area>_pages(app, kit)`` that adds its routes with it.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from starlette.datastructures import FormData

from csc_console import actions, display, i18n, refusals, vocab
from csc_console.i18n import gettext
from csc_console.live import Hub
from csc_console.services import Problem, Refused, Services
from csc_console.settings import ConsoleSettings, ServiceName


@dataclass(frozen=True)
class User:
    user: str
    department: str
    token: str


class NotSignedIn(Exception):
    pass


class BadCsrf(Exception):
    pass


@dataclass
class Form:
    """A form as shown: its values (kept on error), the service's refusal, its key."""

    values: dict[str, str] = field(default_factory=dict)
    problem: Problem | None = None
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    prefix: str = ""
    """Put before its fields' ids, where one page shows the form more than once."""

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def errors(self, name: str) -> list[str]:
        if self.problem is None:
            return []
        return [refusals.field_sentence(e) for e in self.problem.for_field(name)]

    @property
    def general(self) -> str | None:
        """What the refusal says beyond the fields (a 403, a 409, a rule of the procedure)."""
        if self.problem is None:
            return None
        if self.problem.errors and self.problem.status == 422 and not self.problem.clause:
            return gettext("Please correct the fields marked below.")
        return refusals.sentence(self.problem)


# A clock not yet met: what a work queue shows (sla's status filter takes several).
OPEN_CLOCKS = ("running", "warned", "breached", "escalated", "paused")


def local_time(value: str | None, tz: str) -> str | None:
    """A browser's ``datetime-local`` value, read in the viewer's zone, as ISO 8601 with offset.

    Anything else is passed on as typed, so the service names the field it cannot read.
    """
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=display.zone(tz, "UTC"))
    return parsed.isoformat()


def whole_number(value: str | None) -> int | str:
    """A form's count as a number; anything else as typed, so the service names the field."""
    text = (value or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def local_input(value: object, tz: str) -> str:
    """A time of a service as a ``datetime-local`` input shows it: in the viewer's zone."""
    at = display.parse_time(value)
    if at is None:
        return ""
    return at.astimezone(display.zone(tz, "UTC")).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Kit:
    """The console's means of making a page, shared by every area of pages."""

    settings: ConsoleSettings
    services: Services
    hub: Hub
    templates: Environment

    @staticmethod
    def language(request: Request) -> str:
        chosen = request.session.get("lang")
        if chosen in i18n.LANGUAGES:
            return str(chosen)
        return i18n.negotiate(request.headers.get("accept-language"))

    def csrf_token(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return token

    def check_csrf(self, request: Request, form: FormData) -> None:
        sent = form.get("csrf") or request.headers.get("x-csrf-token") or ""
        expected = request.session.get("csrf")
        if not isinstance(expected, str) or not hmac.compare_digest(str(sent), expected):
            raise BadCsrf

    def viewer_tz(self, request: Request) -> str:
        return str(request.session.get("tz") or self.settings.console_site_timezone)

    def current_user(self, request: Request) -> User:
        s = request.session
        if not s.get("token") or float(s.get("exp", 0)) <= time.time():
            raise NotSignedIn
        return User(str(s["user"]), str(s["department"]), str(s["token"]))

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        lang = self.language(request)
        token = i18n.use(lang)
        try:
            now = datetime.now(UTC)
            tz, site = self.viewer_tz(request), self.settings.console_site_timezone
            session_user = request.session.get("user")
            html = self.templates.get_template(name).render(
                request=request,
                lang=lang,
                html_lang=i18n.html_lang(lang),
                languages=i18n.LANGUAGE_NAMES,
                csrf=self.csrf_token(request),
                live_since=getattr(request.state, "live_since", self.hub.seq),
                signed_in=(
                    {"user": session_user, "department": request.session.get("department")}
                    if session_user
                    else None
                ),
                now=now,
                viewer_zone=tz,
                when=lambda v: display.when(v, tz, site),
                local_times=lambda text: display.local_times(text, tz, site),
                refusal_text=refusals.sentence,
                badge=lambda c: display.badge(c, now, tz, site),
                icons=display.ICONS,
                label=vocab.label,
                options=lambda table, keys: [(k, vocab.label(table, k)) for k in keys],
                vocab=vocab,
                may=lambda action: actions.may(str(request.session.get("department")), action),
                **context,
            )
        finally:
            i18n.reset(token)
        return HTMLResponse(html, status_code=status_code)

    def translated(self, request: Request, message: str, **variables: object) -> str:
        token = i18n.use(self.language(request))
        try:
            return gettext(message, **variables)
        finally:
            i18n.reset(token)

    def refusal(self, request: Request, problem: Problem) -> str:
        """A service's refusal in the viewer's language (its English where the code is new)."""
        token = i18n.use(self.language(request))
        try:
            return refusals.sentence(problem)
        finally:
            i18n.reset(token)

    def redirect(self, request: Request, to: str) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": to})
        return RedirectResponse(to, status_code=303)

    async def submit(
        self,
        request: Request,
        form: FormData,
        user: User,
        action: str,
        call: Callable[[dict[str, str], str], Awaitable[Any]],
        show: Callable[[Form, int], Awaitable[Response]],
        done: Callable[[Any], str],
    ) -> Response:
        """Send a form on to a service (``call`` with its values and Idempotency-Key); on a
        refusal ``show`` the page again with the input kept, else go to ``done(result)``."""
        self.check_csrf(request, form)
        values = {k: str(v) for k, v in form.items() if k not in ("csrf", "idempotency_key")}
        # A department the form is not offered to is still sent on: the service refuses
        # it (403, with the clause and who may) and the page says so.
        key = str(form.get("idempotency_key") or uuid.uuid4())
        try:
            result = await call(values, key)
        except Refused as exc:
            # Input kept; a fresh key, since the refused request recorded nothing.
            return await show(Form(values=values, problem=exc.problem), exc.problem.status)
        return RedirectResponse(done(result), status_code=303)


Params = dict[str, str]
"""A route's path parameters, by name (``case_id``, ``clock_id``)."""


def form_route(
    kit: Kit,
    app: FastAPI,
    path: str,
    *,
    service: ServiceName,
    action: str,
    send: Callable[[Params, dict[str, str], str], tuple[str, dict[str, Any]]],
    show: Callable[[Request, Params, Form, int], Awaitable[Response]],
    done: Callable[[Params, Any], str],
) -> None:
    """A page's form, posted to the console at ``path`` and sent on to ``service``.

    ``send`` gives the service's path and body from the route's parameters, the form's
    values and the viewer's zone; on a refusal ``show`` gives the page again (input kept),
    else the browser goes to ``done``. A parameter named ``*_id`` that is not a UUID is a
    page that does not exist (shown with a 404), never a request to the service.
    """

    async def post(request: Request) -> Response:
        user = kit.current_user(request)
        form = await request.form()
        tz = kit.viewer_tz(request)
        params = {k: str(v) for k, v in request.path_params.items()}
        if not all(_is_uuid(v) for k, v in params.items() if k.endswith("_id")):
            return await show(request, params, Form(), 404)

        async def call(values: dict[str, str], key: str) -> Any:
            service_path, body = send(params, values, tz)
            return await kit.services.post(service, service_path, user.token, body, key)

        return await kit.submit(
            request,
            form,
            user,
            action,
            call,
            lambda f, status: show(request, params, f, status),
            lambda result: done(params, result),
        )

    app.add_api_route(path, post, methods=["POST"], name=f"{action}:{path}")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def optional(value: str | None) -> str | None:
    """A form's optional text: None when left empty."""
    return value.strip() or None if value is not None else None
