"""Returns' HTTP API: replacement (4.3.1), whole-batch returns (4.3.2) and the PNPR (4.3.3).

Every POST carries a bearer token naming the user and department (401
without one); ``csc_returns.permissions`` says who may record what (403 naming
the clause and who may). A step the case's state does not allow is refused
with 409 naming the clause, and nothing is recorded. Every POST takes an
``Idempotency-Key``: a retried request returns the first result and records
nothing twice. Reading needs a token too, of any department (auditors included).
"""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    Query,
    Request,
    Response,
    status,
)

from csc_audit.http import chain_router
from csc_contracts import Actor
from csc_forms import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, Kind, render
from csc_messaging.answers import READ
from csc_messaging.downloads import attachment
from csc_messaging.paging import DEFAULT_LIMIT, Cursor, Limit, paged
from csc_messaging.params import CaseSteps, IdempotencyKey, Month
from csc_messaging.rules import found
from csc_messaging.runtime import Service
from csc_messaging.steps import Step
from csc_messaging.writes import command_routes
from csc_returns import answers as a
from csc_returns import commands as c
from csc_returns.application import ReturnsApplication
from csc_returns.domain import STATUSES, ReturnCase
from csc_returns.pnpr_form import filename, pnpr_form
from csc_returns.projections import ReturnCases

StatusFilter = Annotated[
    str | None,
    Query(alias="status", pattern=f"^({'|'.join(STATUSES)})$", description="Where cases stand."),
]


CustomerCode = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="The customer's code in the archive."),
]


def routes(service: Service) -> APIRouter:
    view, app = service.read_model, service.app
    assert isinstance(view, ReturnCases) and isinstance(app, ReturnsApplication)
    # Reading a case is for the company's people and auditors too: a token, any department.
    router = APIRouter(
        dependencies=[Depends(service.current_actor)], route_class=command_routes(app)
    )
    Caller = Annotated[Actor, Depends(service.current_actor)]

    def case_out(case_id: UUID) -> dict[str, Any]:
        return found(
            view.case(str(case_id)),
            f"return case {case_id}",
            code="returns.case.not_found",
            params={"case_id": str(case_id)},
        )

    # Steps, as commands.STEPS declares them ------------------------------------------------

    def opening(declared: Step) -> None:
        # Opening a replacement or a return: a new case is 201, a retry finds it (200).
        def endpoint(
            body: Any, actor: Any, response: Response, key: IdempotencyKey = None
        ) -> dict[str, Any]:
            case, recorded = app.open_with(declared.action, body, actor, key)
            if not recorded:
                response.status_code = status.HTTP_200_OK  # a retry: the first result again
            return case_out(case.id)

        endpoint.__annotations__.update(body=declared.command, actor=Caller)
        endpoint.__name__, endpoint.__doc__ = declared.action, declared.doc
        router.post(
            declared.path,
            status_code=201,
            tags=[declared.tag],
            response_model=a.ReturnCase,
            **READ,
        )(endpoint)

    def taken(declared: Step) -> Callable[..., ReturnCase]:
        def action(case_id: UUID, body: Any, actor: Actor, key: str | None) -> ReturnCase:
            return app.take(declared.action, case_id, body, actor, key)

        action.__name__ = declared.action
        return action

    step = CaseSteps(router, "/cases", Caller, lambda case_id, _: case_out(case_id))
    on_case = f"{c.CASE}/"
    for declared in c.STEPS:
        if not declared.path.startswith(on_case):
            opening(declared)
    for declared in c.STEPS:
        if declared.path.startswith(on_case):
            path = declared.path.removeprefix(on_case)
            step(path, taken(declared), declared.command, declared.tag, declared.doc)

    # Reading -------------------------------------------------------------------------------

    @router.get("/cases", tags=["return cases"], response_model=list[a.ReturnCaseRow], **READ)
    def list_cases(
        request: Request,
        response: Response,
        status_: StatusFilter = None,
        customer: CustomerCode = None,
        month: Month = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """Return cases, oldest report first (then by id), by status, customer code and
        month reported; a page at a time (``Link: rel="next"``)."""
        page = view.cases(status_, customer, month, cursor=cursor, limit=limit)
        return paged(page, request, response)

    @router.get("/cases/{case_id}", tags=["return cases"], response_model=a.ReturnCase, **READ)
    def get_case(case_id: UUID) -> dict[str, Any]:
        """One case: where it stands, each step's details, actor and time, and its timeline."""
        return case_out(case_id)

    @router.get(
        "/cases/{case_id}/timeline",
        tags=["return cases"],
        response_model=list[a.TimelineEntry],
        **READ,
    )
    def timeline(case_id: UUID) -> list[dict[str, Any]]:
        """Everything that happened to one case, in order, in the public events' words."""
        return found(
            view.timeline(str(case_id)),
            f"return case {case_id}",
            code="returns.case.not_found",
            params={"case_id": str(case_id)},
        )

    @router.get("/quarantine", tags=["PNPR 4.3.3"], response_model=list[a.QuarantineStock], **READ)
    def quarantine(
        request: Request, response: Response, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> list[dict[str, Any]]:
        """Quarantine stock: what is isolated where, awaiting which decision (4.3.3), longest
        isolated first; a page at a time (``Link: rel="next"``)."""
        return paged(view.quarantine(cursor=cursor, limit=limit), request, response)

    def report_of(case_id: UUID) -> dict[str, Any]:
        return found(
            view.pnpr(str(case_id)),
            f"PNPR of case {case_id} (goods not tagged)",
            code="returns.pnpr.not_found",
            params={"case_id": str(case_id)},
        )

    def document(case_id: UUID, kind: Kind) -> Response:
        # The footer's digest must describe the very state the report was read from.
        for _ in range(5):
            position = view.position
            report = report_of(case_id)
            digest = view.case_digest(str(case_id)) or ""
            if view.position == position:
                break
        form = pnpr_form(report, digest=digest, position=position, generated_at=app.now())
        content, media_type = render(form, kind)
        return attachment(content, media_type, filename(report, kind))

    @router.get("/cases/{case_id}/pnpr", tags=["PNPR 4.3.3"], response_model=a.PnprReport, **READ)
    def get_pnpr(case_id: UUID) -> dict[str, Any]:
        """The Product Nonconformance Processing Report of one case (4.3.3), as JSON."""
        return report_of(case_id)

    @router.get(
        "/cases/{case_id}/pnpr.pdf",
        tags=["PNPR 4.3.3"],
        response_class=Response,
        responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
    )
    def pnpr_pdf(case_id: UUID) -> Response:
        """The PNPR to print and sign, in Chinese and English."""
        return document(case_id, "pdf")

    @router.get(
        "/cases/{case_id}/pnpr.xlsx",
        tags=["PNPR 4.3.3"],
        response_class=Response,
        responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
    )
    def pnpr_xlsx(case_id: UUID) -> Response:
        """The PNPR as a spreadsheet, in Chinese and English."""
        return document(case_id, "xlsx")

    # csc audit verify over HTTP, for the auditor's view (csc_audit.http).
    router.include_router(chain_router("returns", service.settings, service.app))
    return router
