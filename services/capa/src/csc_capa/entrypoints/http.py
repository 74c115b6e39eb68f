"""CAPA's HTTP API: QC's investigation (4.4.3), the 8D (4.4.4) and its reports (4.3.4).

Every POST carries a bearer token naming the user and department (401
without one); ``csc_capa.permissions`` says who may record what (403 naming
the clause and who may). A step the case does not allow yet is refused with
409 naming the clause, and nothing is recorded. Every POST takes an
``Idempotency-Key``: a retry returns the first result and records nothing twice.
"""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    Header,
    Query,
    Request,
    Response,
    status,
)

from csc_audit.http import chain_router
from csc_capa import answers as a
from csc_capa import commands as c
from csc_capa.application import (
    CapaApplication,
    EvidenceEmpty,
    EvidenceRefused,
    EvidenceTooLarge,
    EvidenceUnsupported,
)
from csc_capa.blobs import BlobCorrupted
from csc_capa.domain import STATUSES, Investigation, RuleViolation
from csc_capa.evidence import EVIDENCE_TYPES
from csc_capa.projections import INVESTIGATIONS, Investigations
from csc_contracts import Actor
from csc_contracts.capa import ReportFormat
from csc_forms import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, Form, Kind, cell_text, render
from csc_messaging.downloads import attachment
from csc_messaging.paging import Cursor, Limit, paged
from csc_messaging.params import CaseSteps, IdempotencyKey
from csc_messaging.problems import MAX_BODY_EXTENSION, problem
from csc_messaging.rules import found
from csc_messaging.runtime import Service
from csc_messaging.steps import Step
from csc_messaging.views import row_digest
from csc_messaging.writes import command_routes

StatusFilter = Annotated[
    str | None,
    Query(alias="status", pattern=f"^({'|'.join(STATUSES)})$", description="Where cases stand."),
]


def routes(service: Service) -> APIRouter:
    view, app = service.read_model, service.app
    assert isinstance(view, Investigations) and isinstance(app, CapaApplication)
    # Reading a case is for the company's people and auditors too: a token, any department.
    router = APIRouter(
        dependencies=[Depends(service.current_actor)], route_class=command_routes(app)
    )
    Caller = Annotated[Actor, Depends(service.current_actor)]

    def case_out(case_id: UUID) -> dict[str, Any]:
        return found(
            view.investigation(str(case_id), app.now().date()),
            f"investigation of case {case_id}",
            code="capa.investigation.not_found",
            params={"case_id": str(case_id)},
        )

    # Steps, as commands.STEPS declares them ------------------------------------------------

    def taken(declared: Step) -> Callable[..., Investigation]:
        def action(case_id: UUID, body: Any, actor: Actor, key: str | None) -> Investigation:
            return app.take(declared.action, case_id, body, actor, key)

        action.__name__ = declared.operation or declared.action
        return action

    step = CaseSteps(router, "/investigations", Caller, lambda case_id, _: case_out(case_id))
    on_case = f"{c.CASE}/"
    for declared in c.STEPS:
        path = declared.path.removeprefix(on_case)
        # A step on one case, its body JSON; the others' routes follow, each its own.
        if declared.verb == "POST" and not declared.upload and "{" not in path:
            step(path, taken(declared), declared.command, declared.tag, declared.doc)

    implementing = c.STEPS["implement_action"]

    @router.post(
        implementing.path,
        status_code=201,
        tags=[implementing.tag],
        response_model=a.InvestigationOut,
        description=implementing.doc,
        **a.READ,
    )
    def implement_action(
        case_id: UUID,
        action_no: int,
        body: c.ImplementAction,
        actor: Caller,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        app.implement_action(case_id, action_no, body, actor, key)
        return case_out(case_id)

    # Evidence (4.4.3) ---------------------------------------------------------------------

    receiving = c.STEPS["receive_evidence"]

    @router.post(
        receiving.path,
        status_code=201,
        tags=[receiving.tag],
        response_model=a.EvidenceStored,
        description=f"""{receiving.doc}

Stored by SHA-256 (in the event; bytes in the evidence store); too large → 413,
a type evidence may not have, or bytes that are not of the declared type → 415,
each saying why. The file name is kept as sent (``original_filename``) and used
as a safe base name (``filename``): no folders, no control characters.""",
        **a.READ,
        openapi_extra={
            # Evidence keeps its own limit (CSC_EVIDENCE_MAX_BYTES), not the JSON bodies' one.
            MAX_BODY_EXTENSION: app.max_evidence_bytes,
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
        },
    )
    async def receive_evidence(
        case_id: UUID,
        request: Request,
        actor: Caller,
        filename: Annotated[str, Query(min_length=1, max_length=c.MAX_FILENAME)],
        content_type: Annotated[str, Header()] = "",
        description: Annotated[str | None, Query(max_length=2000)] = None,
        request_no: Annotated[int | None, Query(ge=1)] = None,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        limit = app.max_evidence_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise EvidenceTooLarge(
                f"{filename} is {int(declared):,} bytes; evidence is limited to {limit:,} bytes "
                "(CSC_EVIDENCE_MAX_BYTES)",
            )
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise EvidenceTooLarge(f"{filename} exceeds the evidence limit of {limit:,} bytes")
        from starlette.concurrency import run_in_threadpool

        command = c.ReceiveEvidence(
            filename=filename,
            media_type=content_type,
            description=description,
            request_no=request_no,
        )
        _, digest = await run_in_threadpool(
            lambda: app.receive_evidence(case_id, bytes(data), command, actor, key)
        )
        return {"sha256": digest, "investigation": case_out(case_id)}

    @router.get(
        "/investigations/{case_id}/evidence/{sha256}",
        tags=[c.INV],
        response_class=Response,
        responses={
            200: {
                "description": "The evidence's bytes, of the type they were received as.",
                "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}
                    for media in (*EVIDENCE_TYPES, "application/octet-stream")
                },
            }
        },
    )
    def get_evidence(case_id: UUID, sha256: str) -> Response:
        """The evidence's bytes, checked against their hash, under their safe name (RFC 6266)."""
        row = case_out(case_id)
        entry = next((e for e in row["evidence"] if e["sha256"] == sha256), None)
        data = app.evidence(case_id, sha256)
        media_type = entry["media_type"] if entry else "application/octet-stream"
        return attachment(data, media_type, entry["filename"] if entry else sha256)

    # Reading ----------------------------------------------------------------------------

    @router.get("/investigations", tags=[c.INV], response_model=list[a.InvestigationRow], **a.READ)
    def list_investigations(
        request: Request,
        response: Response,
        status_: StatusFilter = None,
        customer: Annotated[str | None, Query(description="The customer's code.")] = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """QC's investigations and CAPAs, by status and customer, without their timelines.

        Oldest report first: ordered by ``reported_at``, then ``case_id``, neither of which
        changes once the investigation is open, so a cursor keeps its place while cases are
        added. The next page is named by the ``Link`` header.
        """
        page = view.investigations(status_, customer, app.now().date(), cursor=cursor, limit=limit)
        return paged(page, request, response)

    @router.get(
        "/investigations/{case_id}", tags=[c.INV], response_model=a.InvestigationOut, **a.READ
    )
    def get_investigation(case_id: UUID) -> dict[str, Any]:
        """One investigation and its CAPA: every step, who and when, overdue actions flagged."""
        return case_out(case_id)

    @router.get(
        "/investigations/{case_id}/timeline",
        tags=[c.INV],
        response_model=list[a.TimelineEntry],
        **a.READ,
    )
    def timeline(
        case_id: UUID,
        request: Request,
        response: Response,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> list[dict[str, Any]]:
        """Everything that happened to one case in capa, in the public events' words.

        In the order it was recorded (the case's event versions); the next page is named
        by the ``Link`` header.
        """
        found(
            view.get(INVESTIGATIONS, str(case_id)),
            f"investigation of case {case_id}",
            code="capa.investigation.not_found",
            params={"case_id": str(case_id)},
        )
        return paged(view.timeline(str(case_id), cursor=cursor, limit=limit), request, response)

    @router.get("/overdue-actions", tags=[c.CAPA], response_model=list[a.OverdueAction], **a.READ)
    def overdue_actions(
        request: Request, response: Response, limit: Limit = 100, cursor: Cursor = None
    ) -> list[dict[str, Any]]:
        """Corrective and preventive actions past due and not implemented, most late first.

        Ordered by due date, then CAPA number and action number (none of which changes),
        as of today; the next page is named by the ``Link`` header.
        """
        page = view.overdue_actions(app.now().date(), cursor=cursor, limit=limit)
        return paged(page, request, response)

    # Report formats and reports (4.3.4) ------------------------------------------------------

    registering = c.STEPS["register_report_format"]

    @router.put(
        registering.path,
        tags=[registering.tag],
        response_model=a.ReportFormatOut,
        description=f"""{registering.doc}

A template that does not render against a sample CAPA is refused with 422
naming the line.""",
        **a.READ,
    )
    def register_report_format(
        customer_code: str,
        body: c.RegisterReportFormat,
        actor: Caller,
        response: Response,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        _, new = app.register_report_format(customer_code, body, actor, key)
        response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
        return found(
            view.report_format(customer_code),
            f"report format of {customer_code}",
            code="capa.report_format.not_found",
            params={"customer": customer_code},
        )

    @router.get(
        "/report-formats/{customer_code}", tags=[c.REP], response_model=a.ReportFormatOut, **a.READ
    )
    def get_report_format(customer_code: str) -> dict[str, Any]:
        """The customer's report format (4.3.4): its latest revision."""
        return found(
            view.report_format(customer_code),
            f"report format of {customer_code}",
            code="capa.report_format.not_found",
            params={"customer": customer_code},
        )

    def report_form(case_id: UUID, fmt: ReportFormat | None) -> tuple[Form, dict[str, Any], str]:
        """The report as it prints, in the case's format (or ``fmt``), with its row and format."""
        from csc_capa.report_forms import TemplateProblem, cpar_form, customer_form, eight_d_form

        # The footer's digest describes the very case the report was read from, and the
        # position of the log it reflects.
        for _ in range(5):
            position = view.position
            row = case_out(case_id)
            digest = row_digest(row)
            if view.position == position:
                break
        chosen = fmt.value if fmt is not None else row["report_format"]
        now = app.now()
        if chosen == ReportFormat.CUSTOMER.value:
            registered = view.report_format(row["customer"].get("code", ""))
            if registered is None or not registered.get("template"):
                raise RuleViolation(
                    "4.3.4",
                    f"customer {row['customer'].get('code')} has no report format of its own "
                    "registered",
                    code="capa.report.no_customer_format",
                    params={"customer": row["customer"].get("code")},
                )
            try:
                form = customer_form(
                    row,
                    template=registered["template"],
                    title=registered["title"],
                    digest=digest,
                    position=position,
                    generated_at=now,
                )
            except TemplateProblem as problem:
                # Registration renders a sample CAPA; a branch only this case reaches may fail.
                raise RuleViolation(
                    "4.3.4",
                    f"customer {row['customer'].get('code')}'s template does not render this "
                    f"CAPA: {problem}; fix the template or print as 8d or cpar",
                    code="capa.report.template_fails",
                    params={"customer": row["customer"].get("code"), "problem": str(problem)},
                ) from problem
        elif chosen == ReportFormat.EIGHT_D.value:
            form = eight_d_form(row, digest=digest, position=position, generated_at=now)
        else:
            form = cpar_form(row, digest=digest, position=position, generated_at=now)
        return form, row, chosen

    def document(case_id: UUID, kind: Kind, fmt: ReportFormat | None) -> Response:
        from csc_capa.report_forms import filename

        form, row, chosen = report_form(case_id, fmt)
        content, media_type = render(form, kind)
        return attachment(content, media_type, filename(row, chosen, kind))

    FormatOverride = Annotated[
        ReportFormat | None,
        Query(alias="format", description="Print in this format instead of the case's own."),
    ]

    @router.get(
        "/investigations/{case_id}/report.pdf",
        tags=[c.REP],
        response_class=Response,
        responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
    )
    def report_pdf(case_id: UUID, fmt: FormatOverride = None) -> Response:
        """The CAPA report to print and sign, in the case's format (or ``format``)."""
        return document(case_id, "pdf", fmt)

    @router.get(
        "/investigations/{case_id}/report.json",
        tags=[c.REP],
        response_model=a.ReportOut,
        **a.READ,
    )
    def report_preview(case_id: UUID, fmt: FormatOverride = None) -> dict[str, Any]:
        """The CAPA report as data, to preview before printing (4.3.4): what the PDF prints.

        Its title, header fields, sections (each cell as printed, an empty one as "—") and
        signature boxes, in the case's format (or ``format``), refused as the PDF is.
        """
        form, _, chosen = report_form(case_id, fmt)
        return {
            "format": chosen,
            "title_zh": form.title_zh,
            "title_en": form.title_en,
            "reference": form.reference,
            "fields": [
                {"label_zh": f.label_zh, "label_en": f.label_en, "value": cell_text(f.value)}
                for f in form.fields
            ],
            "sections": [
                {
                    "title_zh": section.title_zh,
                    "title_en": section.title_en,
                    "columns": [
                        {"label_zh": c.label_zh, "label_en": c.label_en} for c in section.columns
                    ],
                    "rows": [
                        [cell_text(v, c.percent) for v, c in zip(row, section.columns, strict=True)]
                        for row in section.rows
                    ],
                    "empty": section.empty,
                }
                for section in form.sections
            ],
            "signatures": [s.label for s in form.signatures],
            "footer": form.footer,
        }

    @router.get(
        "/investigations/{case_id}/report.xlsx",
        tags=[c.REP],
        response_class=Response,
        responses={200: {"content": {XLSX_MEDIA_TYPE: {}}}},
    )
    def report_xlsx(case_id: UUID, fmt: FormatOverride = None) -> Response:
        """The CAPA report as a spreadsheet, in the case's format (or ``format``)."""
        return document(case_id, "xlsx", fmt)

    # csc audit verify over HTTP, for the auditor's view (csc_audit.http).
    router.include_router(chain_router("capa", service.settings, service.app))
    return router


# The application says what is wrong with an upload; HTTP says it with these.
EVIDENCE_STATUS: dict[type[EvidenceRefused], int] = {
    EvidenceEmpty: 422,
    EvidenceTooLarge: 413,
    EvidenceUnsupported: 415,
}


def evidence_handlers(app: FastAPI) -> None:
    @app.exception_handler(EvidenceRefused)
    async def refused(request: Request, exc: EvidenceRefused) -> Response:
        return problem(EVIDENCE_STATUS[type(exc)], str(exc), instance=request.url.path)

    @app.exception_handler(BlobCorrupted)
    async def corrupted(request: Request, exc: BlobCorrupted) -> Response:
        return problem(500, str(exc), instance=request.url.path)
