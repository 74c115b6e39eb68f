"""CAPA's HTTP API: QC's investigation (4.4.3), the 8D (4.4.4) and its reports (4.3.4).

Every POST carries a bearer token naming the user and department (401
without one); ``csc_capa.permissions`` says who may record what (403 naming
the clause and who may). A step the case does not allow yet is refused with
409 naming the clause, and nothing is recorded. Every POST takes an
``Idempotency-Key``: a retry returns the first result and records nothing twice.
"""

from typing import Annotated, Any, Literal
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
from csc_capa.domain import STATUSES, RuleViolation
from csc_capa.evidence import EVIDENCE_TYPES
from csc_capa.projections import INVESTIGATIONS, Investigations
from csc_contracts import Actor
from csc_contracts.capa import ReportFormat
from csc_forms import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, Form, cell_text, render_pdf, render_xlsx
from csc_messaging.downloads import attachment
from csc_messaging.paging import Cursor, Limit, paged
from csc_messaging.params import CaseSteps, IdempotencyKey
from csc_messaging.problems import MAX_BODY_EXTENSION, problem
from csc_messaging.rules import found
from csc_messaging.runtime import Service
from csc_messaging.views import row_digest
from csc_messaging.writes import command_routes

StatusFilter = Annotated[
    str | None,
    Query(alias="status", pattern=f"^({'|'.join(STATUSES)})$", description="Where cases stand."),
]
MAX_FILENAME = 200


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
            view.investigation(str(case_id), app.now().date()), f"investigation of case {case_id}"
        )

    step = CaseSteps(router, "/investigations", Caller, lambda case_id, _: case_out(case_id))

    inv, capa, rep = "investigation 4.4.3", "CAPA 8D 4.4.4", "reports 4.3.4"
    step("contacts", app.contact_customer, c.ContactCustomer, inv,
         "QC contacted the customer about the complaint (4.4.3).")  # fmt: skip
    step("evidence-requests", app.request_evidence, c.RequestEvidence, inv,
         "QC asks the customer for samples or photos (4.4.3).")  # fmt: skip
    step("confirmation", app.confirm, c.Confirm, inv,
         "QC confirms the nonconformity, after contacting the customer (4.4.3).")  # fmt: skip
    step("non-confirmation", app.not_confirm, c.NotConfirm, inv,
         "No nonconformity: the investigation closes with the reason (4.4.3).")  # fmt: skip
    step("misuse", app.find_misuse, c.FindMisuse, inv,
         "Misuse: the customer's responsibility, closed without CAPA (4.2.3).")  # fmt: skip
    step("team", app.convene_team, c.ConveneTeam, capa,
         "D1: QC convenes the cross-functional team (marketing, development, engineering, "
         "production at least, and a leader); the CAPA starts (4.4.4).")  # fmt: skip
    step("d0/emergency-response", app.record_emergency_response, c.RecordEmergencyResponse,
         capa, "D0: what kept the customer producing.")  # fmt: skip
    step("d2/problem", app.describe_problem, c.DescribeProblem, capa,
         "D2: the problem in 5W2H.")  # fmt: skip
    step("d3/containment", app.record_containment, c.RecordContainment, capa,
         "D3: interim containment.")  # fmt: skip
    step("d4/root-cause", app.identify_root_cause, c.IdentifyRootCause, capa,
         "D4: root cause and escape point (4.3.4).")  # fmt: skip
    step("d5/actions", app.plan_action, c.PlanAction, capa,
         "D5: a chosen permanent corrective or preventive action, owner and due date "
         "(4.3.4).")  # fmt: skip
    step("effectiveness", app.verify_effectiveness, c.VerifyEffectiveness, capa,
         "Verification of effectiveness (4.3.4); not effective reopens the CAPA at "
         "D4.")  # fmt: skip
    step("d7/prevention", app.prevent_recurrence, c.PreventRecurrence, capa,
         "D7: standards, FMEA, control plans updated against recurrence.")  # fmt: skip
    step("d8/closure", app.close_capa, c.Close, capa,
         "D8: closure and team recognition; only after effectiveness is verified "
         "(4.3.4).")  # fmt: skip
    step("report-format", app.choose_report_format, c.ChooseReportFormat, rep,
         "This case's report format, over the customer's (4.3.4).")  # fmt: skip

    @router.post(
        "/investigations/{case_id}/d6/actions/{action_no}/implementation",
        status_code=201,
        tags=[capa],
        response_model=a.InvestigationOut,
        **a.READ,
    )
    def implement_action(
        case_id: UUID,
        action_no: int,
        body: c.ImplementAction,
        actor: Caller,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """D6: an action implemented and validated; days past due are recorded (4.3.4)."""
        app.implement_action(case_id, action_no, body, actor, key)
        return case_out(case_id)

    # Evidence (4.4.3) ---------------------------------------------------------------------

    @router.post(
        "/investigations/{case_id}/evidence",
        status_code=201,
        tags=[inv],
        response_model=a.EvidenceStored,
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
        filename: Annotated[str, Query(min_length=1, max_length=MAX_FILENAME)],
        content_type: Annotated[str, Header()] = "",
        description: Annotated[str | None, Query(max_length=2000)] = None,
        request_no: Annotated[int | None, Query(ge=1)] = None,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """Evidence from the customer: the file's bytes as the body, its type as Content-Type.

        Stored by SHA-256 (in the event; bytes in the evidence store); too large → 413,
        a type evidence may not have, or bytes that are not of the declared type → 415,
        each saying why. The file name is kept as sent (``original_filename``) and used
        as a safe base name (``filename``): no folders, no control characters.
        """
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

        _, digest = await run_in_threadpool(
            lambda: app.receive_evidence(
                case_id,
                bytes(data),
                filename=filename,
                media_type=content_type,
                description=description,
                request_no=request_no,
                actor=actor,
                key=key,
            )
        )
        return {"sha256": digest, "investigation": case_out(case_id)}

    @router.get(
        "/investigations/{case_id}/evidence/{sha256}",
        tags=[inv],
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

    @router.get("/investigations", tags=[inv], response_model=list[a.InvestigationRow], **a.READ)
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
        "/investigations/{case_id}", tags=[inv], response_model=a.InvestigationOut, **a.READ
    )
    def get_investigation(case_id: UUID) -> dict[str, Any]:
        """One investigation and its CAPA: every step, who and when, overdue actions flagged."""
        return case_out(case_id)

    @router.get(
        "/investigations/{case_id}/timeline",
        tags=[inv],
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
        found(view.get(INVESTIGATIONS, str(case_id)), f"investigation of case {case_id}")
        return paged(view.timeline(str(case_id), cursor=cursor, limit=limit), request, response)

    @router.get("/overdue-actions", tags=[capa], response_model=list[a.OverdueAction], **a.READ)
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

    @router.put(
        "/report-formats/{customer_code}", tags=[rep], response_model=a.ReportFormatOut, **a.READ
    )
    def register_report_format(
        customer_code: str,
        body: c.RegisterReportFormat,
        actor: Caller,
        response: Response,
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """How this customer wants its CAPAs reported: its own Jinja2 template, 8D or CPAR.

        A template that does not render against a sample CAPA is refused with 422
        naming the line.
        """
        _, new = app.register_report_format(customer_code, body, actor, key)
        response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
        return found(view.report_format(customer_code), f"report format of {customer_code}")

    @router.get(
        "/report-formats/{customer_code}", tags=[rep], response_model=a.ReportFormatOut, **a.READ
    )
    def get_report_format(customer_code: str) -> dict[str, Any]:
        """The customer's report format (4.3.4): its latest revision."""
        return found(view.report_format(customer_code), f"report format of {customer_code}")

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

    def document(case_id: UUID, kind: Literal["pdf", "xlsx"], fmt: ReportFormat | None) -> Response:
        from csc_capa.report_forms import filename

        form, row, chosen = report_form(case_id, fmt)
        content = render_pdf(form) if kind == "pdf" else render_xlsx(form)
        media_type = PDF_MEDIA_TYPE if kind == "pdf" else XLSX_MEDIA_TYPE
        return attachment(content, media_type, filename(row, chosen, kind))

    FormatOverride = Annotated[
        ReportFormat | None,
        Query(alias="format", description="Print in this format instead of the case's own."),
    ]

    @router.get(
        "/investigations/{case_id}/report.pdf",
        tags=[rep],
        response_class=Response,
        responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
    )
    def report_pdf(case_id: UUID, fmt: FormatOverride = None) -> Response:
        """The CAPA report to print and sign, in the case's format (or ``format``)."""
        return document(case_id, "pdf", fmt)

    @router.get(
        "/investigations/{case_id}/report.json",
        tags=[rep],
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
        tags=[rep],
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
