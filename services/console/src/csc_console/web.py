"""The console's pages: server-rendered (Jinja2), htmx for partial and live (SSE) updates."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import structlog
from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sse_starlette.sse import EventSourceResponse
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from csc_console import clock_timeline, display, i18n, returns_pages, vocab
from csc_console.audit_pages import add_audit_pages
from csc_console.capa_pages import add_capa_pages
from csc_console.dashboard_pages import add_dashboard_pages
from csc_console.i18n import N_
from csc_console.kit import (
    BadCsrf,
    Form,
    Kit,
    NotSignedIn,
    Params,
    User,
    form_route,
    local_input,
    local_time,
    optional,
    whole_number,
)
from csc_console.live import Follower, Hub, Interest
from csc_console.notify_pages import add_notify_pages
from csc_console.oidc import add_oidc_sign_in
from csc_console.queue_pages import add_queue_pages, entry_row
from csc_console.services import Refused, Services, SignedOut, Unavailable, reading_once
from csc_console.settings import ConsoleSettings
from csc_console.timeline import gather_timeline
from csc_contracts import PERSON_DEPARTMENTS, Department
from csc_messaging.auth import issue_token
from csc_messaging.metrics import ServiceMetrics

log = structlog.get_logger("csc_console.web")
HERE = Path(__file__).parent
CHANNELS = ("phone", "letter", "fax", "visit", "email", "web")
CATEGORIES = ("quality", "service", "delivery")
CASE_FORMS = ("reply", "on_site", "visit", "acknowledge")
# The forms of intake's later steps, with what goes before their fields' ids: one page
# shows them all, and their fields share names with others' ("reason").
STEP_FORMS = {
    "important": "important-",
    "misuse": "misuse-",
    "technician": "technician-",
    "quality_impact": "impact-",
    "follow_up": "follow-up-",
}
RECORD_FILTERS = ("kind", "customer", "site", "engineer", "work_date")
RECORD_PAGE = 25
UNIT_ROWS_MAX = 100  # intake takes at most 100 rows of units loaded


def amendment_changes(record: dict[str, Any]) -> list[tuple[dict[str, Any], list[Any]]]:
    """Each amendment of a record with what it changed: its ``before`` against what followed."""
    amendments = record.get("amendments") or []
    states = [a.get("before") or {} for a in amendments] + [record]
    return [
        (
            amendment,
            [
                (name, states[i].get(name), states[i + 1].get(name))
                for name in vocab.FIELD_SERVICE_FIELDS
                if (states[i].get(name) or None) != (states[i + 1].get(name) or None)
            ],
        )
        for i, amendment in enumerate(amendments)
    ]


class InReadersLanguage:
    """Every word a request's handler makes (a row's kind, a badge, a title) is in the
    reader's language, not only those the template says: the language is the request's
    from its start (the user's choice, else the browser's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = i18n.use(Kit.language(Request(scope)))
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.reset(token)


def create_app(
    settings: ConsoleSettings | None = None, services: Services | None = None
) -> FastAPI:
    settings = settings or ConsoleSettings()
    services = services or Services(settings)
    hub = Hub()
    follower = Follower(settings, hub)
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    # Jinja's new-style gettext formats the variables itself (escaping them).
    templates.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.raw_gettext, i18n.raw_ngettext, newstyle=True
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        follower.start()
        try:
            yield
        finally:
            await follower.stop()
            await services.aclose()

    app = FastAPI(title="csc-console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub, app.state.follower = hub, follower
    metrics = ServiceMetrics("console")
    metrics.watch_count(
        "csc_console_sse_streams", "Live page connections open (server-sent events).",
        lambda: hub.listeners,
    )  # fmt: skip
    metrics.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Inside the session (added before it, so it runs after it has read the cookie).
    app.add_middleware(InReadersLanguage)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret(),
        session_cookie="csc_console",
        max_age=int(settings.console_session_hours * 3600),
        same_site="lax",
        https_only=settings.console_secure_cookies,
    )

    @app.middleware("http")
    async def live_since(request: Request, call_next: Any) -> Any:
        # The change number when this request began to read the services: its page's
        # live connection asks for what changed after it (Hub.changed_since).
        request.state.live_since = hub.seq
        with reading_once():  # a page asks each service a question once
            return await call_next(request)

    # ---- helpers ---------------------------------------------------------------------------

    kit = Kit(settings, services, hub, templates)
    app.state.kit = kit
    check_csrf, viewer_tz = kit.check_csrf, kit.viewer_tz
    current_user, render, translated, redirect = (
        kit.current_user,
        kit.render,
        kit.translated,
        kit.redirect,
    )
    submit = kit.submit

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return redirect(request, "/sign-in")

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, exc: SignedOut) -> Response:
        for key in ("token", "user", "department", "exp"):
            request.session.pop(key, None)
        return redirect(request, "/sign-in")

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, exc: BadCsrf) -> Response:
        return render(
            request,
            "message.html",
            status_code=403,
            title=translated(request, "This form has expired"),
            message=translated(
                request,
                "The page was open too long or in another session: reload it and send again.",
            ),
        )

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> Response:
        # The operator's side of the page's "did not answer": which service, why, for what.
        log.warning(
            "console.service_unavailable",
            service=exc.service,
            reason=exc.reason,
            asked=exc.request,
            path=request.url.path,
        )
        return render(
            request,
            "message.html",
            status_code=503,
            title=translated(request, "A service is not answering"),
            message=translated(
                request,
                "%(service)s did not answer (%(reason)s). Nothing was recorded by this page; "
                "try again in a moment.",
                service=exc.service,
                reason=exc.reason,
            ),
        )

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        # A read the service refuses (a case that does not exist, a department it hides from).
        return render(
            request,
            "message.html",
            status_code=exc.problem.status,
            title=exc.problem.title,
            message=kit.refusal(request, exc.problem),
            clause=exc.problem.clause,
        )

    # ---- health ----------------------------------------------------------------------------

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        if follower.ready.is_set():
            return JSONResponse({"status": "ready", "live_pages": hub.listeners})
        return JSONResponse(
            {"status": "not ready", "kafka": follower.error or "connecting"}, status_code=503
        )

    # ---- sign-in ---------------------------------------------------------------------------

    def local_users() -> list[tuple[str, str, bool]]:
        order = {d.value: i for i, d in enumerate(PERSON_DEPARTMENTS)}
        managers = set(settings.console_local_managers)
        users = [(u, str(d.value), u in managers) for u, d in settings.console_local_users.items()]
        return sorted(users, key=lambda ud: (order.get(ud[1], 99), ud[2], ud[0]))

    @app.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request) -> HTMLResponse:
        return render(
            request,
            "sign_in.html",
            users=local_users(),
            local=settings.local_sign_in,
            oidc=settings.oidc_sign_in,
            error=None,
        )

    @app.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form)
        user = str(form.get("user", ""))
        department = settings.console_local_users.get(user)
        if not settings.local_sign_in or department is None or not settings.auth_hs256_secret:
            return render(
                request,
                "sign_in.html",
                status_code=422,
                users=local_users(),
                local=settings.local_sign_in,
                oidc=settings.oidc_sign_in,
                error=translated(request, "Please choose a user from the list."),
            )
        hours = min(settings.console_session_hours, settings.auth_max_token_lifetime_hours)
        token = issue_token(
            settings.auth_hs256_secret,
            user,
            Department(department),
            timedelta(hours=hours),
            manager=user in settings.console_local_managers,
        )
        tz = str(form.get("tz", ""))
        # A new session on sign-in: a session fixed before it is worth nothing after.
        lang = request.session.get("lang")
        request.session.clear()
        request.session.update(
            user=user,
            department=str(department.value),
            token=token,
            exp=time.time() + hours * 3600,
            tz=display.zone(tz, settings.console_site_timezone).key,
            csrf=secrets.token_urlsafe(32),
        )
        if lang:
            request.session["lang"] = lang
        return RedirectResponse("/", status_code=303)

    add_oidc_sign_in(app, kit)  # the company's identity provider, where one is configured

    @app.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form)
        lang = request.session.get("lang")
        request.session.clear()
        if lang:
            request.session["lang"] = lang
        return RedirectResponse("/sign-in", status_code=303)

    @app.post("/language")
    async def choose_language(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form)
        chosen = str(form.get("lang", ""))
        if chosen in i18n.LANGUAGES:
            request.session["lang"] = chosen
        back = str(form.get("next", "/"))
        # Only a path of this site: a form must not send anyone elsewhere.
        parts = urlsplit(back)
        if parts.scheme or parts.netloc or not back.startswith("/") or back.startswith("//"):
            back = "/"
        return RedirectResponse(back, status_code=303)

    # ---- live ------------------------------------------------------------------------------

    @app.get("/live")
    async def live(
        request: Request,
        case: str | None = None,
        since: int | None = None,
        of: Literal["intake", "returns", "capa", "sla"] | None = None,
        others: bool = False,
    ) -> EventSourceResponse:
        """Server-sent ``change`` events: of one case, of one service's topic (``of``),
        and (``others``) not those the signed-in user made."""
        user = current_user(request)
        interest = Interest(
            case_id=case,
            topic=settings.topics.events(of) if of is not None else None,
            not_by=user.user if others else None,
        )
        listener = hub.listen(interest)
        missed = since is not None and hub.changed_since(since, interest)

        async def events() -> AsyncIterator[dict[str, str]]:
            try:
                yield {"event": "hello", "data": "following"}
                if missed:  # changed between the page's read and this connection
                    yield {"event": "change", "data": case or ""}
                while True:
                    change = await listener.queue.get()
                    yield {"event": "change", "data": change.case_id}
            finally:
                hub.leave(listener)

        return EventSourceResponse(events(), ping=15)

    # ---- forms -----------------------------------------------------------------------------

    async def complaint_page(request: Request, form: Form, status_code: int) -> Response:
        user = current_user(request)
        customers = await services.get_all("intake", "/customers", user.token)
        return render(
            request,
            "complaint_new.html",
            status_code=status_code,
            form=form,
            customers=customers,
            channels=CHANNELS,
            categories=CATEGORIES,
            departments=[d.value for d in PERSON_DEPARTMENTS],
        )

    @app.get("/complaints/new", response_class=HTMLResponse)
    async def new_complaint(request: Request) -> Response:
        return await complaint_page(request, Form(), 200)

    @app.post("/complaints")
    async def log_complaint(request: Request) -> Response:
        user = current_user(request)
        form = await request.form()

        async def call(v: dict[str, str], key: str) -> Any:
            body: dict[str, Any] = {
                "category": v.get("category", ""),
                "channel": v.get("channel", ""),
                "receiving_department": v.get("receiving_department", ""),
                "customer_code": v.get("customer_code", ""),
                "text": v.get("text", ""),
                "product": optional(v.get("product")),
                "lot": optional(v.get("lot")),
                "important_reason": optional(v.get("important_reason")),
            }
            return await services.post("intake", "/complaints", user.token, body, key)

        return await submit(
            request,
            form,
            user,
            "log_complaint",
            call,
            lambda f, s: complaint_page(request, f, s),
            lambda r: f"/cases/{r['case_id']}",
        )

    async def customer_page(request: Request, form: Form, status_code: int) -> Response:
        current_user(request)
        return render(request, "customer_new.html", status_code=status_code, form=form)

    @app.get("/customers/new", response_class=HTMLResponse)
    async def new_customer(request: Request) -> Response:
        return await customer_page(request, Form(values={"site_timezone": "Asia/Shanghai"}), 200)

    @app.post("/customers")
    async def register_customer(request: Request) -> Response:
        user = current_user(request)
        form = await request.form()

        async def call(v: dict[str, str], key: str) -> Any:
            site = optional(v.get("site_name"))
            body: dict[str, Any] = {
                "code": v.get("code", "").strip(),
                "name": v.get("name", "").strip(),
                "oem": v.get("oem") == "yes",
                "sites": [
                    {
                        "name": site,
                        "timezone": v.get("site_timezone") or settings.console_site_timezone,
                    }
                ]
                if site
                else [],
            }
            return await services.post("intake", "/customers", user.token, body, key)

        return await submit(
            request,
            form,
            user,
            "register_customer",
            call,
            lambda f, s: customer_page(request, f, s),
            lambda r: "/complaints/new",
        )

    # ---- the customer's page -----------------------------------------------------------------

    @app.get("/customers", response_class=HTMLResponse)
    async def customers(request: Request) -> Response:
        user = current_user(request)
        rows = await services.get_all("intake", "/customers", user.token)
        return render(request, "customers.html", customers=rows)

    async def schedule(user: User, which: str, code: str) -> dict[str, Any] | None:
        """This customer's row of sla's schedule, if sla has one yet."""
        try:
            rows = await services.get_all(
                "sla", f"/schedules/{which}", user.token, {"customer": code}
            )
        except Refused:
            return None
        return next((r for r in rows if r.get("code") == code), None)

    @app.get("/customers/{code}", response_class=HTMLResponse)
    async def customer(
        request: Request, code: str, cursor: Annotated[str | None, Query(max_length=500)] = None
    ) -> Response:
        return await customer_view(request, code, cursor=cursor)

    async def customer_view(
        request: Request,
        code: str,
        survey_form: Form | None = None,
        status_code: int = 200,
        cursor: str | None = None,
    ) -> Response:
        user = current_user(request)
        try:
            archive = await services.get("intake", f"/customers/{quote(code, safe='')}", user.token)
        except Refused as exc:
            if exc.problem.status != 404:
                raise
            return render(
                request,
                "message.html",
                status_code=404,
                title=translated(request, "No such customer"),
                message=translated(
                    request, "There is no customer %(code)s in the archive.", code=code
                ),
            )
        # The customer's entries newest first, a page at a time: a customer of years has
        # thousands, and the page must come back as fast for them as for a new one.
        asked = {"customer": code, "order": "newest", "limit": settings.console_queue_page}
        (entries, more), visit, survey = await asyncio.gather(
            services.get_page(
                "intake",
                "/register-entries",
                user.token,
                asked | ({"cursor": cursor} if cursor else {}),
            ),
            schedule(user, "visits", code),
            schedule(user, "surveys", code),
        )
        today = datetime.now(display.zone(viewer_tz(request), settings.console_site_timezone))
        rows = [entry_row(e, None) | {"status": e.get("status")} for e in entries]
        # 4.5: a visit every half year; 4.1.5: a satisfaction survey every year.
        due = [
            (which, title, row, row and display.day_badge(row, today.date()))
            for which, title, row in (
                ("visit", N_("Customer visit (4.5)"), visit),
                ("survey", N_("Satisfaction survey (4.1.5)"), survey),
            )
        ]
        return render(
            request,
            "customer.html",
            status_code=status_code,
            customer=archive,
            survey_form=survey_form or Form(values={"year": str(today.year)}),
            # 4.1.5: one survey a year; once this year's is in, no form asks for it.
            survey_done=any(s.get("year") == today.year for s in archive.get("surveys") or []),
            questions=list(vocab.SURVEY_QUESTIONS),
            entries=rows,
            more_entries=more,
            later_page=cursor is not None,
            due=due,
        )

    # ---- field service (4.1.4, 4.5) and the satisfaction survey (4.1.5) ---------------------

    def field_details(v: dict[str, str], tz: str) -> dict[str, Any]:
        """Att. 2's details of a day, as intake takes them from a record's or amendment's form."""
        units: list[dict[str, Any]] = []
        for i in range(UNIT_ROWS_MAX):
            model = v.get(f"units-{i}-model", "").strip()
            quantity = v.get(f"units-{i}-quantity", "").strip()
            if model or quantity:  # a row left empty is no row
                units.append({"model": model, "quantity": whole_number(quantity)})
        return {
            "arrived_at": local_time(v.get("arrived_at"), tz),
            "departed_at": local_time(v.get("departed_at"), tz),
            "units_loaded": units,
            **{name: optional(v.get(name)) for name in vocab.FIELD_SERVICE_DETAILS},
        }

    def detail_values(record: dict[str, Any], tz: str) -> dict[str, str]:
        """A record's details as its amendment form starts from: an amendment replaces them."""
        values = {name: str(record.get(name) or "") for name in vocab.FIELD_SERVICE_DETAILS}
        values["arrived_at"] = local_input(record.get("arrived_at"), tz)
        values["departed_at"] = local_input(record.get("departed_at"), tz)
        for i, unit in enumerate(record.get("units_loaded") or []):
            values[f"units-{i}-model"] = str(unit.get("model", ""))
            values[f"units-{i}-quantity"] = str(unit.get("quantity", ""))
        return values

    def unit_rows(form: Form) -> list[tuple[int, str, str]]:
        """The rows of vehicles or units loaded a form shows: those filled, and room for more."""
        filled = [
            i
            for i in range(UNIT_ROWS_MAX)
            if form.value(f"units-{i}-model") or form.value(f"units-{i}-quantity")
        ]
        count = min(UNIT_ROWS_MAX, max(3, filled[-1] + 2 if filled else 0))
        return [
            (i, form.value(f"units-{i}-model"), form.value(f"units-{i}-quantity"))
            for i in range(count)
        ]

    def kind_action(kind: str) -> str:
        # 4.1.4: the daily record is after-sales'; 4.5: visits are Marketing's and after-sales'.
        return "record_field_service" if kind == "daily" else "record_visit"

    async def field_service_form(
        request: Request, kind: str, form: Form, status_code: int
    ) -> Response:
        user = current_user(request)
        customers, existing = await asyncio.gather(
            services.get_all("intake", "/customers", user.token),
            record_of_the_day(user, kind, form) if form.problem else asyncio.sleep(0),
        )
        if kind == "daily":  # 4.1.4: daily records are kept at OEM customers
            customers = [c for c in customers if c.get("oem")]
        return render(
            request,
            "field_service_new.html",
            status_code=status_code,
            form=form,
            kind=kind,
            customers=customers,
            units=unit_rows(form),
            existing=existing,
        )

    async def record_of_the_day(user: User, kind: str, form: Form) -> dict[str, Any] | None:
        """The record a refused one would repeat (one per engineer, site and day, 4.1.4): the
        page links to it, since that record is amended, not written again."""
        where = {
            "kind": kind,
            "customer": form.value("customer_code"),
            "site": form.value("site").strip(),
            "work_date": form.value("work_date").strip(),
            "engineer": form.value("engineer").strip() or user.user,
        }
        if not all(where.values()):
            return None
        try:
            found = await services.get_all("intake", "/field-service-records", user.token, where)
        except Refused:  # a filter intake cannot read (a date mistyped): nothing to link
            return None
        return found[0] if found else None

    @app.get("/field-service-records/new", response_class=HTMLResponse)
    async def new_field_service(
        request: Request,
        kind: str = "daily",
        customer: str = "",
        site: str = "",
        work_date: str = "",
    ) -> Response:
        user = current_user(request)
        kind = kind if kind in vocab.FIELD_SERVICE_KINDS else "daily"
        today = datetime.now(display.zone(viewer_tz(request), settings.console_site_timezone))
        values = {
            "customer_code": customer,
            "site": site,
            "work_date": work_date or today.date().isoformat(),
            "engineer": user.user,
        }
        return await field_service_form(request, kind, Form(values=values), 200)

    @app.post("/field-service-records")
    async def record_field_service(request: Request) -> Response:
        user = current_user(request)
        form = await request.form()
        tz = viewer_tz(request)
        kind = str(form.get("kind", ""))

        async def call(v: dict[str, str], key: str) -> Any:
            body = {
                "kind": v.get("kind", ""),
                "customer_code": v.get("customer_code", ""),
                "site": v.get("site", "").strip(),
                "work_date": v.get("work_date", "").strip(),
                "engineer": optional(v.get("engineer")),
                **field_details(v, tz),
            }
            return await services.post("intake", "/field-service-records", user.token, body, key)

        return await submit(
            request,
            form,
            user,
            kind_action(kind),
            call,
            lambda f, s: field_service_form(
                request, kind if kind in vocab.FIELD_SERVICE_KINDS else "daily", f, s
            ),
            lambda r: f"/field-service-records/{r['record_id']}",
        )

    @app.get("/field-service-records", response_class=HTMLResponse)
    async def field_service_records(request: Request, cursor: str | None = None) -> Response:
        user = current_user(request)
        chosen = {k: request.query_params.get(k, "").strip() for k in RECORD_FILTERS}
        params: dict[str, Any] = {k: v for k, v in chosen.items() if v} | {"limit": RECORD_PAGE}
        if cursor:
            params["cursor"] = cursor
        filters, status_code = Form(values=chosen), 200
        rows: list[Any] = []
        following: str | None = None
        customers, listed = await asyncio.gather(
            services.get_all("intake", "/customers", user.token),
            services.get_page("intake", "/field-service-records", user.token, params),
            return_exceptions=True,
        )
        for result in (customers, listed):
            if isinstance(result, BaseException) and not isinstance(result, Refused):
                raise result
        if isinstance(listed, Refused):  # a filter intake cannot read: said at the filter
            filters, status_code = Form(values=chosen, problem=listed.problem), 422
        elif not isinstance(listed, BaseException):
            rows, following = listed
        more = {k: v for k, v in chosen.items() if v}
        return render(
            request,
            "field_service_records.html",
            status_code=status_code,
            records=rows,
            filters=filters,
            customers=customers if isinstance(customers, list) else [],
            next_page=f"?{urlencode(more | {'cursor': following})}" if following else None,
            first_page=f"?{urlencode(more)}" if cursor else None,
        )

    async def record_page(
        request: Request, record_id: str, amend: Form | None = None, status_code: int = 200
    ) -> Response:
        user = current_user(request)
        missing = render(
            request,
            "message.html",
            status_code=404,
            title=translated(request, "No such field service record"),
            message=translated(request, "There is no field service record %(id)s.", id=record_id),
        )
        try:
            uuid.UUID(record_id)
        except ValueError:
            return missing
        try:
            record = await services.get("intake", f"/field-service-records/{record_id}", user.token)
        except Refused as exc:
            if exc.problem.status != 404:
                raise
            return missing
        form = amend or Form(values=detail_values(record, viewer_tz(request)))
        return render(
            request,
            "field_service_record.html",
            status_code=status_code,
            record=record,
            form=form,
            units=unit_rows(form),
            changes=amendment_changes(record),
            amend_action=kind_action(str(record.get("kind"))),
        )

    @app.get("/field-service-records/{record_id}", response_class=HTMLResponse)
    async def field_service_record(request: Request, record_id: str) -> Response:
        return await record_page(request, record_id)

    @app.post("/field-service-records/{record_id}/amendments")
    async def amend_field_service(request: Request, record_id: str) -> Response:
        user = current_user(request)
        form = await request.form()
        tz = viewer_tz(request)

        async def call(v: dict[str, str], key: str) -> Any:
            body = {"reason": v.get("reason", ""), **field_details(v, tz)}
            path = f"/field-service-records/{quote(record_id, safe='')}/amendments"
            return await services.post("intake", path, user.token, body, key)

        return await submit(
            request,
            form,
            user,
            kind_action(str(form.get("kind", ""))),
            call,
            lambda f, s: record_page(request, record_id, f, s),
            lambda r: f"/field-service-records/{record_id}",
        )

    @app.post("/customers/{code}/satisfaction-surveys")
    async def record_survey(request: Request, code: str) -> Response:
        user = current_user(request)
        form = await request.form()

        async def call(v: dict[str, str], key: str) -> Any:
            body = {
                "year": whole_number(v.get("year", "").strip()),
                "scores": {
                    question: whole_number(v[f"score-{question}"])
                    for question in vocab.SURVEY_QUESTIONS
                    if v.get(f"score-{question}")
                },
                "comments": optional(v.get("comments")),
            }
            path = f"/customers/{quote(code, safe='')}/satisfaction-surveys"
            return await services.post("intake", path, user.token, body, key)

        return await submit(
            request,
            form,
            user,
            "record_survey",
            call,
            lambda f, s: customer_view(request, code, f, s),
            lambda r: f"/customers/{quote(code, safe='')}#surveys",
        )

    # ---- the case page ---------------------------------------------------------------------

    async def case_clocks(user: User, case_id: str) -> list[Any]:
        try:
            return await services.get_all("sla", f"/cases/{case_id}/clocks", user.token)
        except Refused as exc:
            if exc.problem.status == 404:  # none started yet: sla has not heard of the case
                return []
            raise

    async def case_view(user: User, case_id: str) -> dict[str, Any]:
        entry, clocks = await asyncio.gather(
            services.get("intake", f"/register-entries/{case_id}", user.token),
            case_clocks(user, case_id),
        )
        timeline = await gather_timeline(services, user, case_id, clocks)
        return {"entry": entry, "clocks": clocks, "timeline": timeline, "case_id": case_id}

    async def case_page(
        request: Request,
        case_id: str,
        shown: dict[str, Form] | None = None,
        status_code: int = 200,
    ) -> Response:
        user = current_user(request)
        try:
            uuid.UUID(case_id)
        except ValueError:
            return render(
                request,
                "message.html",
                status_code=404,
                title=translated(request, "No such case"),
                message=translated(request, "%(id)s is not a case number.", id=case_id),
            )
        view = await case_view(user, case_id)
        # Each form its own render (and Idempotency-Key); the refused one keeps its input.
        forms = {name: Form() for name in (*CASE_FORMS, *STEP_FORMS)}
        for clock in view["clocks"]:  # each clock its own pause and resume form
            for what in ("pause", "resume"):
                forms[f"{what}-{clock['clock_id']}"] = Form()
        forms |= shown or {}
        for name, prefix in STEP_FORMS.items():
            forms[name].prefix = prefix
        for clock in view["clocks"]:
            for what in ("pause", "resume"):
                forms[f"{what}-{clock['clock_id']}"].prefix = f"{clock['clock']}-{what}-"
        return render(
            request,
            "case.html",
            status_code=status_code,
            forms=forms,
            reply=forms["reply"],
            channels=CHANNELS,
            on_site_reasons=list(vocab.ON_SITE_REASONS),
            pause_reasons=list(vocab.PAUSE_REASONS),
            follow_up_due=display.follow_up_due(view["entry"].get("month"), datetime.now(UTC)),
            **view,
        )

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    async def case(request: Request, case_id: str) -> Response:
        return await case_page(request, case_id)

    @app.get("/cases/{case_id}/live", response_class=HTMLResponse)
    async def case_live(request: Request, case_id: str) -> Response:
        user = current_user(request)
        view = await case_view(user, case_id)
        return render(request, "_case_live.html", **view)

    @app.get("/cases/{case_id}/clocks/{clock_id}/timeline", response_class=HTMLResponse)
    async def clock_timeline_page(request: Request, case_id: str, clock_id: uuid.UUID) -> Response:
        """A clock's SLA timeline, as sla tells it: each moment and each segment with the rule
        that counted it (the calendar and policy versions it ran under)."""
        user = current_user(request)
        clock, told = await asyncio.gather(
            services.get("sla", f"/clocks/{clock_id}", user.token),
            services.get("sla", f"/clocks/{clock_id}/timeline", user.token),
        )
        if clock["case_id"] != case_id:
            return render(
                request,
                "message.html",
                status_code=404,
                title=translated(request, "No such clock"),
                message=translated(request, "This case has no clock %(id)s.", id=str(clock_id)),
            )
        return render(
            request,
            "clock_timeline.html",
            case_id=case_id,
            clock=clock,
            told=told,
            ct=clock_timeline,
        )

    def on_case_page(name: str) -> Callable[[Request, Params, Form, int], Awaitable[Response]]:
        """A refused form of the case page: the page again, that form with its input."""

        def show(request: Request, params: Params, form: Form, status: int) -> Awaitable[Response]:
            return case_page(request, params["case_id"], {name: form}, status)

        return show

    def to_case(params: Params, _: Any) -> str:
        return f"/cases/{params['case_id']}"

    # 4.2.1: the reply to the customer.
    form_route(
        kit, app, "/cases/{case_id}/replies", service="intake", action="send_reply",
        send=lambda p, v, tz: (
            f"/register-entries/{p['case_id']}/replies",
            {"channel": v.get("channel", ""), "summary": v.get("summary", "")},
        ),
        show=on_case_page("reply"), done=to_case,
    )  # fmt: skip

    def clock_action(what: str, body: Callable[[dict[str, str], str], dict[str, Any]]) -> None:
        """A clock's form on the case page, posted on to sla's ``/clocks/{id}/<what>``."""

        def show(request: Request, params: Params, form: Form, status: int) -> Awaitable[Response]:
            name = f"{what}-{params['clock_id']}"
            return case_page(request, params["case_id"], {name: form}, status)

        form_route(
            kit, app, f"/cases/{{case_id}}/clocks/{{clock_id}}/{what}", service="sla",
            action=f"{what}_clock",
            send=lambda p, v, tz: (f"/clocks/{p['clock_id']}/{what}", body(v, tz)),
            show=show, done=to_case,
        )  # fmt: skip

    # The paused time does not count against the promise; the reason says why.
    clock_action(
        "pause",
        lambda v, tz: {
            "reason": v.get("reason", ""),
            "note": optional(v.get("note")),
            "at": local_time(v.get("at"), tz),
        },
    )
    clock_action("resume", lambda v, tz: {"at": local_time(v.get("at"), tz)})

    def case_action(
        path: str,
        form_name: str,
        action: str,
        body: Callable[[dict[str, str], str], dict[str, Any]],
    ) -> None:
        """A form of the case page, posted on to intake's ``/register-entries/{id}/<path>``."""
        form_route(
            kit, app, f"/cases/{{case_id}}/{path}", service="intake", action=action,
            send=lambda p, v, tz: (f"/register-entries/{p['case_id']}/{path}", body(v, tz)),
            show=on_case_page(form_name), done=to_case,
        )  # fmt: skip

    # 4.2.2: someone must go on site; the 8-hour clock runs from the request.
    case_action(
        "on-site-requests",
        "on_site",
        "require_on_site",
        lambda v, tz: {
            "reason": v.get("reason", ""),
            "details": optional(v.get("details")),
            "requested_at": local_time(v.get("requested_at"), tz),
        },
    )
    # 4.2.2 and att. 2: who went, when they arrived and left, what they found and did.
    case_action(
        "on-site-visits",
        "visit",
        "complete_visit",
        lambda v, tz: {
            "arrived_at": local_time(v.get("arrived_at"), tz),
            "departed_at": local_time(v.get("departed_at"), tz),
            "engineers": [
                name.strip()
                for name in v.get("engineers", "").replace("，", ",").split(",")
                if name.strip()
            ],
            "diagnosis": v.get("diagnosis", ""),
            "solution": v.get("solution", ""),
        },
    )
    # 4.1.3: the Chief Engineer takes note of important information.
    case_action(
        "important/acknowledgement",
        "acknowledge",
        "acknowledge_important",
        lambda v, tz: {"comment": optional(v.get("comment"))},
    )
    # 4.1.3: important information is reported to the Chief Engineer promptly, saying why;
    # the Chief Engineer's clock runs from the report.
    case_action(
        "important",
        "important",
        "report_important",
        lambda v, tz: {
            "reason": v.get("reason", ""),
            "reported_at": local_time(v.get("reported_at"), tz),
        },
    )
    # 4.2.3: misuse makes it the customer's responsibility; a technician may still be sent.
    case_action(
        "misuse", "misuse", "determine_misuse", lambda v, tz: {"finding": v.get("finding", "")}
    )
    case_action(
        "technician-dispatches",
        "technician",
        "dispatch_technician",
        lambda v, tz: {
            "technician": v.get("technician", "").strip(),
            "purpose": v.get("purpose", ""),
        },
    )
    # 4.4.2: the impact on the customer's production and the remedy it needs; QC is notified.
    case_action(
        "quality-impact",
        "quality_impact",
        "assess_quality_impact",
        lambda v, tz: {
            "lines_stopped": whole_number(v.get("lines_stopped")),
            "quantity_affected": whole_number(v.get("quantity_affected")),
            "remedial_measure": v.get("remedial_measure", ""),
            "remedial_details": optional(v.get("remedial_details")),
        },
    )
    # 4.6: the result of following up last month's feedback, and whether it settles it.
    case_action(
        "follow-ups",
        "follow_up",
        "record_follow_up",
        lambda v, tz: {"result": v.get("result", ""), "closed": v.get("closed") == "yes"},
    )

    returns_pages.add_returns_pages(app, kit)
    add_queue_pages(app, kit)
    add_capa_pages(app, kit)
    add_audit_pages(app, kit)
    add_dashboard_pages(app, kit)
    add_notify_pages(app, kit)
    return app
