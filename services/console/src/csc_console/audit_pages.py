"""The auditor's view: read-only pages over what the services answer, with no write form.

- ``/audit``: each service's hash chain (``GET /audit/chain`` of each, the same check as
  ``csc audit verify``: verified, or broken at event N with the event named), a case to
  open, a month's bundle to take away;
- ``/audit/cases/{case}``: the case's timeline across the services with actor, department
  and time; the case as it was at a chosen moment (intake's ``/audit/cases/{case}/as-of``,
  in the time things happened, as ``csc audit as-of`` tells it); its bundle
  (``csc audit export``), passed on from intake as it makes it.

Auditors read everything and record nothing (ISO 9001 §9.2): these pages have only GET
forms, and a department other than the auditors' is told the view is not theirs.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse

from csc_console import display
from csc_console.kit import Kit, User, local_input, local_time
from csc_console.services import Problem, Refused, Unavailable
from csc_console.settings import ServiceName
from csc_console.timeline import gather_timeline

AUDITOR = "auditor"
CHAIN_SERVICES: tuple[ServiceName, ...] = ("intake", "returns", "capa", "sla")
"""The services the console reads, each with its own chain."""
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class NotAuditor(Exception):
    pass


def add_audit_pages(app: FastAPI, kit: Kit) -> None:
    services = kit.services

    def auditor(request: Request) -> User:
        user = kit.current_user(request)
        if user.department != AUDITOR:
            raise NotAuditor
        return user

    @app.exception_handler(NotAuditor)
    async def not_auditor(request: Request, exc: NotAuditor) -> Response:
        return kit.render(
            request,
            "message.html",
            status_code=403,
            title=kit.translated(request, "The auditor's view is for auditors"),
            message=kit.translated(
                request,
                "Sign in as an auditor to see the hash chains, a case as it was and the "
                "bundles. The case page shows the timeline to everyone.",
            ),
        )

    def download(answer: Any) -> Response:
        return Response(answer.content, media_type=answer.media_type, headers=answer.headers)

    async def chain_of(user: User, service: ServiceName) -> dict[str, Any]:
        try:
            report: dict[str, Any] = await services.get_slow(service, "/audit/chain", user.token)
        except Unavailable as exc:
            return {"service": service, "unavailable": exc.reason}
        return report

    @app.get("/audit", response_class=HTMLResponse)
    async def audit_home(request: Request) -> Response:
        user = auditor(request)
        month = f"{datetime.now(UTC):%Y-%m}"
        entries = await services.get_all(
            "intake", "/register-entries", user.token, {"month": month}
        )
        return kit.render(
            request,
            "audit_home.html",
            entries=list(reversed(entries)),
            month=month,
            problem=None,
        )

    @app.get("/audit/chain", response_class=HTMLResponse)
    async def audit_chain(request: Request) -> Response:
        """The chains' status, as a part of a page (loaded after it: a check reads whole
        topics)."""
        user = auditor(request)
        reports = await asyncio.gather(*(chain_of(user, s) for s in CHAIN_SERVICES))
        return kit.render(request, "_audit_chain.html", reports=reports)

    @app.get("/audit/case", response_class=HTMLResponse)
    async def open_case(request: Request, case: str = "") -> Response:
        auditor(request)
        try:
            case_id = str(uuid.UUID(case.strip()))
        except ValueError:
            return kit.render(
                request,
                "message.html",
                status_code=422,
                title=kit.translated(request, "No such case"),
                message=kit.translated(request, "%(id)s is not a case number.", id=case),
            )
        return kit.redirect(request, f"/audit/cases/{case_id}")

    @app.get("/audit/cases/{case_id}", response_class=HTMLResponse)
    async def audit_case(request: Request, case_id: uuid.UUID, at: str = "") -> Response:
        user = auditor(request)
        case = str(case_id)
        tz = kit.viewer_tz(request)
        entry, clocks = await asyncio.gather(
            services.get("intake", f"/register-entries/{case}", user.token),
            _clocks(user, case),
        )
        timeline = await gather_timeline(services, user, case, clocks)
        state: dict[str, Any] | None = None
        problem: Problem | None = None
        if at.strip():
            try:
                state = await services.get_slow(
                    "intake",
                    f"/audit/cases/{case}/as-of",
                    user.token,
                    {"at": local_time(at, tz)},
                )
            except Refused as exc:
                problem = exc.problem
        shown_at = display.parse_time(state["at"]) if state else None
        return kit.render(
            request,
            "audit_case.html",
            status_code=problem.status if problem else 200,
            case_id=case,
            entry=entry,
            timeline=timeline,
            state=state,
            at=at,
            shown_at=shown_at,
            problem=problem,
            now_input=local_input(datetime.now(UTC).isoformat(), tz),
        )

    async def _clocks(user: User, case: str) -> list[Any]:
        try:
            return await services.get_all("sla", f"/cases/{case}/clocks", user.token)
        except Refused as exc:
            if exc.problem.status == 404:
                return []
            raise

    @app.get("/audit/cases/{case_id}/bundle.zip")
    async def case_bundle(request: Request, case_id: uuid.UUID) -> Response:
        user = auditor(request)
        return download(
            await services.download("intake", f"/audit/cases/{case_id}/bundle.zip", user.token)
        )

    @app.get("/audit/bundle")
    async def month_bundle(request: Request, month: str = "") -> Response:
        user = auditor(request)
        if not MONTH.match(month):
            return kit.render(
                request,
                "message.html",
                status_code=422,
                title=kit.translated(request, "Which month?"),
                message=kit.translated(
                    request, "%(month)s is not a month: give it as YYYY-MM.", month=month
                ),
            )
        return download(
            await services.download("intake", f"/audit/months/{month}/bundle.zip", user.token)
        )
