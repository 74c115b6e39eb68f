"""SLA's HTTP API: clocks, pausing them, the calendars and policy they count by,
schedules and the monthly report."""

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    Path,
    Query,
    Request,
    Response,
)

from csc_audit.http import chain_router
from csc_contracts import Actor
from csc_forms import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, Kind, render
from csc_messaging.commands import not_future
from csc_messaging.downloads import attachment
from csc_messaging.paging import Cursor, Limit, paged
from csc_messaging.params import MONTH_PATTERN, IdempotencyKey
from csc_messaging.permissions import Forbidden, Principal
from csc_messaging.rules import NotFound, RuleViolation, found
from csc_messaging.runtime import Service
from csc_messaging.steps import Step
from csc_messaging.writes import command_routes
from csc_sla.answers import (
    CalendarVersionAnswer,
    ClockAnswer,
    ClockKindName,
    ClockStatus,
    ClockTimeline,
    FigureRow,
    FollowUpTask,
    MonthlyReport,
    PolicyVersionAnswer,
    RulesChange,
    ScheduleRow,
)
from csc_sla.application import SlaApplication, UnknownCalendar
from csc_sla.commands import (
    RULES_CLAUSE,
    STEPS,
    CalendarChange,
    Pause,
    PolicyChange,
    Resume,
)
from csc_sla.domain import ClockRuleViolation
from csc_sla.domain.rulebook import POLICY
from csc_sla.projections import ClockBoard, MonthlyFigure
from csc_sla.report_form import filename, monthly_report_form

Month = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM, from 1970-01 to 2999-12.")]
OneCustomer = Annotated[
    str | None, Query(max_length=200, description="Only this customer's row, by its code.")
]

# Who may change what clocks count by, and who may stop a clock, as sla's steps declare.
RULES = STEPS.permissions()
MAY_PAUSE = STEPS["pause"].may

CalendarPath = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="Lower-case letters, digits and . _ -, e.g. default, wuhan-plant-2.",
    ),
]


def route(step: Step) -> dict[str, Any]:
    """A step's route as ``commands.STEPS`` declares it: path, verb, tag and what it does."""
    return {"path": step.path, "methods": [step.verb], "tags": [step.tag], "description": step.doc}


def routes(service: Service) -> APIRouter:
    board, app = service.read_model, service.app
    assert isinstance(board, ClockBoard) and isinstance(app, SlaApplication)
    # Reading a case is for the company's people and auditors too: a token, any department.
    router = APIRouter(
        dependencies=[Depends(service.current_actor)], route_class=command_routes(app)
    )
    Caller = Annotated[Actor, Depends(service.current_actor)]
    Manager = Annotated[Principal, Depends(service.current_principal)]

    def clock_found(row: dict[str, Any] | None, clock_id: UUID) -> dict[str, Any]:
        return found(
            row, f"clock {clock_id}", code="sla.clock.not_found", params={"clock_id": str(clock_id)}
        )

    @router.get("/clocks", tags=["clocks"], response_model=list[ClockAnswer])
    def list_clocks(
        request: Request,
        response: Response,
        status_: Annotated[
            list[ClockStatus] | None,
            Query(
                alias="status",
                description="Only clocks in this state; repeat it for any of several "
                "(`status=running&status=warned`).",
            ),
        ] = None,
        case_id: Annotated[
            list[UUID] | None,
            Query(
                max_length=100,
                description="Only the clocks of this case; repeat it for any of several "
                "(at most 100).",
            ),
        ] = None,
        clock: Annotated[
            ClockKindName | None, Query(description="Only the clocks of this promise.")
        ] = None,
        customer: Annotated[
            str | None,
            Query(max_length=200, description="Only the clocks of this customer (its code)."),
        ] = None,
        order: Annotated[
            Literal["started", "due"],
            Query(
                description="`started`: in the order they started (then by clock id), an "
                "order no later event changes, so a page's cursor stays put. `due`: soonest "
                "deadline first, the clocks that have one; a work queue's first page (a "
                "clock paused or re-timed while you page moves in this order)."
            ),
        ] = "started",
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """The clocks, filtered by status, promise or case, in the order asked.
        Paged: the `Link` header names the next page."""
        cases = [str(c) for c in case_id] if case_id else None
        page = board.clock_page(
            case_id=cases,
            status=status_,
            clock=clock,
            cursor=cursor,
            limit=limit,
            order=order,
            customer=customer,
        )
        return paged(page, request, response)

    @router.get("/clocks/{clock_id}", tags=["clocks"], response_model=ClockAnswer)
    def get_clock(clock_id: UUID) -> dict[str, Any]:
        return clock_found(board.clock(str(clock_id)), clock_id)

    @router.get("/clocks/{clock_id}/timeline", tags=["clocks"], response_model=ClockTimeline)
    def clock_timeline(clock_id: UUID) -> dict[str, Any]:
        """The SLA timeline: started, paused, resumed, re-timed, warned, breached, met, and
        each stretch of its time counted or not (out of working hours, a holiday, a pause)
        with the rule that did so: the calendar and policy versions it ran under."""
        try:
            return app.timeline(clock_id)
        except LookupError:
            clock_found(None, clock_id)
            raise

    @router.get("/cases/{case_id}/clocks", tags=["clocks"], response_model=list[ClockAnswer])
    def case_clocks(
        case_id: UUID,
        request: Request,
        response: Response,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """The case's clocks (a few: one per promise), in the order they started, then
        by clock id. 404 while sla knows no clock of the case."""
        page = board.clock_page(case_id=str(case_id), cursor=cursor, limit=limit)
        if not page.rows and cursor is None:
            raise NotFound(
                f"no clock for case {case_id}",
                code="sla.case.no_clock",
                params={"case_id": str(case_id)},
            )
        return paged(page, request, response)

    def change(clock_id: UUID, actor: Actor, what: str, do: Any) -> dict[str, Any]:
        may = STEPS[what].may
        if actor.department not in may:
            # The rule of the clock's own promise where sla knows the clock; else clause 3's
            # departments that deal with the customer.
            clause = (board.clock(str(clock_id)) or {}).get("clause", RULES_CLAUSE)
            action = f"{what}_a_clock"
            raise Forbidden(action, actor, {action: (may, clause)})
        try:
            do()
        except LookupError:
            clock_found(None, clock_id)
            raise
        except ClockRuleViolation as exc:
            row = board.clock(str(clock_id)) or {}
            raise RuleViolation(
                row.get("clause", "input"),
                exc.message,
                code=exc.code,
                params=exc.params,
                field=exc.field,
                # a time out of order: the request is wrong; else the clock's state refuses
                kind="invalid" if exc.field is not None else "conflict",
            ) from exc
        return clock_found(board.clock(str(clock_id)), clock_id)

    @router.api_route(**route(STEPS["pause"]), response_model=ClockAnswer)
    def pause(
        clock_id: UUID, body: Pause, actor: Caller, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        def do() -> Any:
            at = not_future(body.at, app.now(), "at")
            return app.pause(clock_id, body.reason, body.note, actor, at, key=key)

        return change(clock_id, actor, "pause", do)

    @router.api_route(**route(STEPS["resume"]), response_model=ClockAnswer)
    def resume(
        clock_id: UUID, actor: Caller, body: Resume | None = None, key: IdempotencyKey = None
    ) -> dict[str, Any]:
        def do() -> Any:
            at = not_future(body.at if body else None, app.now(), "at")
            return app.resume(clock_id, actor, at, key=key)

        return change(clock_id, actor, "resume", do)

    # Calendars and policy ----------------------------------------------------------------

    def calendar_versions(name: str) -> list[dict[str, Any]]:
        versions = board.rule_versions("calendar", name)
        if not versions:
            raise NotFound(
                f"no calendar {name}", code="sla.calendar.not_found", params={"calendar": name}
            )
        return [_calendar_answer(name, v) for v in versions]

    @router.get("/calendars", tags=["calendars"], response_model=list[CalendarVersionAnswer])
    def list_calendars() -> list[dict[str, Any]]:
        """Every calendar in its version in force now, by name. Clocks name theirs."""
        return [_calendar_answer(v["name"], v) for v in board.rulebooks("calendar")]

    @router.get("/calendars/{name}", tags=["calendars"], response_model=CalendarVersionAnswer)
    def get_calendar(name: CalendarPath) -> dict[str, Any]:
        return calendar_versions(name)[-1]

    @router.get(
        "/calendars/{name}/versions",
        tags=["calendars"],
        response_model=list[CalendarVersionAnswer],
    )
    def get_calendar_versions(name: CalendarPath) -> list[dict[str, Any]]:
        """Every version, first first: who recorded it, when, why, and what it counted."""
        return calendar_versions(name)

    @router.api_route(**route(STEPS["set_calendar"]), response_model=RulesChange)
    def put_calendar(name: CalendarPath, body: CalendarChange, caller: Manager) -> dict[str, Any]:
        RULES.authorize_manager("set_calendar", caller)
        actor = caller.actor
        book, retimed = app.set_calendar(
            name,
            body.calendar,
            reason=body.reason,
            retime_running=body.retime_running,
            actor=actor,
            open_clocks=board.open_clock_ids,
        )
        return {"version": book.current["version"], "retimed_clocks": [c.id for c in retimed]}

    def policy_versions() -> list[dict[str, Any]]:
        versions = board.rule_versions("policy", POLICY)
        if not versions:
            # Nothing recorded yet: the first version is recorded at the service's start.
            app.record_first_versions()
            versions = board.rule_versions("policy", POLICY)
        return [{**_meta(v), "policy": v["content"]} for v in versions]

    @router.get("/policy", tags=["policy"], response_model=PolicyVersionAnswer)
    def get_policy() -> dict[str, Any]:
        """The SLA policy in force now: targets and ladders per class, calendar rules."""
        return policy_versions()[-1]

    @router.get("/policy/versions", tags=["policy"], response_model=list[PolicyVersionAnswer])
    def get_policy_versions() -> list[dict[str, Any]]:
        """Every version, first first (the first is CSC_SLA_POLICY's)."""
        return policy_versions()

    @router.api_route(**route(STEPS["set_policy"]), response_model=RulesChange)
    def put_policy(body: PolicyChange, caller: Manager) -> dict[str, Any]:
        RULES.authorize_manager("set_policy", caller)
        actor = caller.actor
        try:
            book, retimed = app.set_policy(
                body.policy,
                reason=body.reason,
                retime_running=body.retime_running,
                actor=actor,
                open_clocks=board.open_clock_ids,
            )
        except UnknownCalendar as exc:
            raise RuleViolation(
                RULES_CLAUSE,
                exc.message,
                field=f"policy.{exc.field}",
                kind="invalid",
                code="sla.policy.unknown_calendar",
                params={"calendar": exc.calendar},
            ) from exc
        return {"version": book.current["version"], "retimed_clocks": [c.id for c in retimed]}

    @router.get("/schedules/visits", tags=["schedules"], response_model=list[ScheduleRow])
    def visits(
        request: Request,
        response: Response,
        on: date | None = None,
        customer: OneCustomer = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """4.5: customer visits every half year — due within 30 days or overdue. Every
        customer (or the one ``customer`` names), by code; paged (`Link` names the next
        page)."""
        page = board.schedule_page("visits", on or app.now().date(), cursor, limit, customer)
        return paged(page, request, response)

    @router.get("/schedules/surveys", tags=["schedules"], response_model=list[ScheduleRow])
    def surveys(
        request: Request,
        response: Response,
        on: date | None = None,
        customer: OneCustomer = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """4.1.5: the yearly satisfaction survey per customer. Every customer (or the one
        ``customer`` names), by code; paged (`Link` names the next page)."""
        page = board.schedule_page("surveys", on or app.now().date(), cursor, limit, customer)
        return paged(page, request, response)

    @router.get("/follow-up-tasks", tags=["schedules"], response_model=list[FollowUpTask])
    def follow_up_tasks(
        request: Request,
        response: Response,
        on: date | None = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """4.6: earlier months' entries still to be followed up, for after-sales. In the
        order they were received (then by case id); paged (`Link` names the next page)."""
        page = board.follow_up_page(on or app.now().date(), cursor, limit)
        return paged(page, request, response)

    def report_snapshot(month: str, customer: str | None) -> tuple[dict[str, Any], str, int]:
        # The footer's digest must describe the very state the figures were read
        # from; events arriving in between would make it a different one.
        for _ in range(5):
            board.catch_up()
            position = board.position
            report = board.monthly_report(month, customer, app.now().date())
            digest = board.digest()
            if board.position == position:
                break
        return report, digest, position

    def document(month: str, customer: str | None, kind: Kind) -> Response:
        report, digest, position = report_snapshot(month, customer)
        form = monthly_report_form(report, digest=digest, position=position, generated_at=app.now())
        content, media_type = render(form, kind)
        return attachment(content, media_type, filename(report, kind))

    # Registered before the JSON report: its {month} would match "2026-10.pdf" too
    # and answer 422, the suffix failing its month pattern.
    @router.get(
        "/reports/monthly/{month}.pdf",
        tags=["reports"],
        response_class=Response,
        responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
    )
    def monthly_report_pdf(month: Month, customer: str | None = None) -> Response:
        """The Field Service Monthly Report (att. 4) to print and sign, in Chinese and English."""
        return document(month, customer, "pdf")

    @router.get(
        "/reports/monthly/{month}.xlsx",
        tags=["reports"],
        response_class=Response,
        responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
    )
    def monthly_report_xlsx(month: Month, customer: str | None = None) -> Response:
        """The Field Service Monthly Report (att. 4) as a spreadsheet, in Chinese and English."""
        return document(month, customer, "xlsx")

    @router.get("/reports/monthly/{month}", tags=["reports"], response_model=MonthlyReport)
    def monthly_report(
        month: Month,
        customer: str | None = None,
    ) -> dict[str, Any]:
        """The Field Service Monthly Report (att. 4) as JSON, for all customers or one.

        CAPAs overdue are counted as of the month's last day, or as of today while the
        month runs."""
        return board.monthly_report(month, customer, app.now().date())

    @router.get("/reports/monthly/{month}/rows", tags=["reports"], response_model=list[FigureRow])
    def monthly_report_rows(
        month: Month,
        figure: Annotated[
            MonthlyFigure, Query(description="The report's figure, as its JSON names it.")
        ],
        key: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Of a figure counted by kind, the kind's (``quality_problem``, "
                "``reply``); all of the figure's without it.",
            ),
        ] = None,
        customer: OneCustomer = None,
    ) -> list[dict[str, Any]]:
        """The rows the report's ``figure`` counts (the report of the same ``month`` and
        ``customer``), read with the figure's own filters: as many as the figure says,
        key by key. Register entries, clocks, return cases or CAPAs, in the order the
        report counts them."""
        return board.monthly_rows(month, figure, key, customer, app.now().date())

    # csc audit verify over HTTP, for the auditor's view (csc_audit.http).
    router.include_router(chain_router("sla", service.settings, service.app))
    return router


def _meta(version: dict[str, Any]) -> dict[str, Any]:
    return {k: version[k] for k in (
        "version", "effective_at", "by", "reason", "retime_running", "source",
    )}  # fmt: skip


def _calendar_answer(name: str, version: dict[str, Any]) -> dict[str, Any]:
    content = version["content"]
    return {
        **_meta(version),
        "calendar": name,
        "definition": content["definition"],
        "official": content.get("official"),
    }
