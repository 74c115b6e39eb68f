"""CAPA's reactions to other services' public events, and QC's commands over HTTP.

From Kafka: a quality complaint opens an investigation (4.4.3), Marketing's
impact assessment joins it (4.4.2), Marketing's misuse finding closes it
without CAPA (4.2.3), and a PNPR of returned goods opens or confirms one
(4.3.4). Everything QC and the team decide is recorded in capa's store, the
system of record of those decisions, and published on ``csc.capa.v1``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from hashlib import sha256
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent

from csc_capa import commands as c
from csc_capa.blobs import BlobStore
from csc_capa.commands import STEPS
from csc_capa.domain import CustomerReportFormat, Investigation, RuleViolation, format_id
from csc_capa.evidence import content_problem, safe_filename
from csc_capa.permissions import authorize, authorize_implementation, authorize_on_case
from csc_contracts import (
    Actor,
    ComplaintCategory,
    ComplaintLogged,
    Department,
    MisuseDetermined,
    NonconformanceReported,
    QualityImpactAssessed,
)
from csc_contracts.capa import InvestigationSource, ReportFormat
from csc_messaging.application import ConsumerApplication
from csc_messaging.commands import Now, by, utcnow
from csc_messaging.refusals import NotFound

DEFAULT_FORMAT = ReportFormat.CPAR  # 4.3.4: "otherwise the company's own form"

T = TypeVar("T")


class EvidenceRefused(Exception):
    """An upload the evidence rules refuse, saying why; each kind is its own class, and the
    entrypoint answers each with its status."""


class EvidenceEmpty(EvidenceRefused):
    """No bytes were sent."""


class EvidenceTooLarge(EvidenceRefused):
    """More bytes than the evidence limit (CSC_EVIDENCE_MAX_BYTES)."""


class EvidenceUnsupported(EvidenceRefused):
    """A type evidence may not have, or bytes that are not of the type declared."""


TemplateCheck = Callable[[str], None]
"""Raises ValueError, saying why, for a customer's report template that would not print."""


class CapaApplication(ConsumerApplication):
    name = "capa"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        blobs: BlobStore | None = None,
        max_evidence_bytes: int = 25 * 1024 * 1024,
        evidence_media_types: frozenset[str] = frozenset(),
        check_template: TemplateCheck | None = None,
        now: Now = utcnow,
    ) -> None:
        super().__init__(env)
        self.blobs = blobs
        self.check_template = check_template
        self.max_evidence_bytes = max_evidence_bytes
        self.evidence_media_types = evidence_media_types
        self.now = now

    # Reactions ----------------------------------------------------------------------------

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events this service does not react to change nothing."""

    @react.register
    def on_complaint_logged(
        self, event: ComplaintLogged, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.4.2-4.4.3: a product-quality complaint goes to QC, who confirms it.
        if event.category is not ComplaintCategory.QUALITY:
            return
        if self.investigation(event.case_id) is not None:
            return
        processing_event.collect_events(
            Investigation(
                case_id=event.case_id,
                source=InvestigationSource.COMPLAINT.value,
                source_event_id=event.event_id,
                reported_at=event.received_at,
                customer=event.customer.model_dump(mode="json"),
                product=event.product,
                lot=event.lot,
                description=event.text,
                owner_department=Department.QUALITY.value,
                recorded_at=event.occurred_at,
            )
        )

    @react.register
    def on_quality_impact_assessed(
        self, event: QualityImpactAssessed, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.4.2: what the customer needs to keep producing shapes D0 and D3.
        found = self.investigation(event.case_id)
        if found is None:
            return
        found.note_impact(
            lines_stopped=event.lines_stopped,
            quantity_affected=event.quantity_affected,
            remedial_measure=str(event.remedial_measure),
            remedial_details=event.remedial_details,
            at=event.occurred_at,
        )
        processing_event.collect_events(found)

    @react.register
    def on_misuse_determined(
        self, event: MisuseDetermined, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.2.3: the customer's responsibility; no CAPA.
        found = self.investigation(event.case_id)
        if found is not None and found.misuse_from_intake(event.finding, event.occurred_at):
            processing_event.collect_events(found)

    @react.register
    def on_nonconformance_reported(
        self, event: NonconformanceReported, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.3.4: corrective action on returns starts from the PNPR's report (4.3.3).
        found = self.investigation(event.case_id)
        if found is None:
            found = Investigation(
                case_id=event.case_id,
                source=InvestigationSource.PNPR.value,
                source_event_id=event.event_id,
                reported_at=event.occurred_at,
                customer=event.customer.model_dump(mode="json"),
                product=event.product,
                lot=event.lot,
                description=event.description,
                owner_department=Department.QUALITY.value,
                recorded_at=event.occurred_at,
            )
        found.link_nonconformance(
            report_no=event.report_no,
            description=event.description,
            lot=event.lot,
            quantity=event.quantity,
            source_event_id=event.event_id,
            at=event.occurred_at,
        )
        processing_event.collect_events(found)

    # Reading ------------------------------------------------------------------------------

    def investigation(self, case_id: UUID) -> Investigation | None:
        return self.find(case_id, Investigation)

    def report_format_of(self, customer_code: str) -> CustomerReportFormat | None:
        return self.find(format_id(customer_code), CustomerReportFormat)

    # Commands: every step declared in ``commands.STEPS`` ----------------------------------

    def take(
        self, action: str, case_id: UUID, command: c.Command, actor: Actor, key: str | None = None
    ) -> Investigation:
        """Record one step on a case, as ``commands.STEPS`` declares it."""
        step = STEPS[action]
        authorize(action, actor)
        if isinstance(command, c.ChooseReportFormat):
            self._customer_format_registered(case_id, command)
        args = command.args(self.now())
        return self._step(
            case_id,
            key,
            lambda case: getattr(case, step.method)(**args, **_by(actor, key)),
            # 4.4.4: an 8D step is for the team's departments, as the case has it.
            check=lambda case: authorize_on_case(action, actor, case),
        )

    def implement_action(
        self,
        case_id: UUID,
        action_no: int,
        command: c.ImplementAction,
        actor: Actor,
        key: str | None = None,
    ) -> Investigation:
        """D6 (4.3.4): the step of one action, for its owner's department or the leader's."""
        step = STEPS["implement_action"]
        authorize(step.action, actor)
        args = command.args(self.now())
        return self._step(
            case_id,
            key,
            lambda case: getattr(case, step.method)(action_no=action_no, **args, **_by(actor, key)),
            check=lambda case: authorize_implementation(action_no, actor, case),
        )

    def receive_evidence(
        self,
        case_id: UUID,
        data: bytes,
        command: c.ReceiveEvidence,
        actor: Actor,
        key: str | None = None,
    ) -> tuple[Investigation, str]:
        """Store the bytes by their hash, then record their arrival (4.4.3).

        The name is kept as sent and, for every use, as a safe base name; the
        declared type is taken only when the bytes are of it.
        """
        step = STEPS["receive_evidence"]
        authorize(step.action, actor)
        media_type = command.media_type.split(";")[0].strip().lower()
        original, filename = command.filename, safe_filename(command.filename)
        if not data:
            raise EvidenceEmpty("the upload is empty: send the file's bytes as the body")
        if len(data) > self.max_evidence_bytes:
            raise EvidenceTooLarge(
                f"{filename} is {len(data):,} bytes; evidence is limited to "
                f"{self.max_evidence_bytes:,} bytes (CSC_EVIDENCE_MAX_BYTES)",
            )
        if media_type not in self.evidence_media_types:
            allowed = ", ".join(sorted(self.evidence_media_types))
            raise EvidenceUnsupported(
                f"{filename} is {media_type or 'of no type'}; evidence may be {allowed}"
            )
        problem = content_problem(data, media_type)
        if problem is not None:
            raise EvidenceUnsupported(f"{filename} is sent as {media_type}, but {problem}")
        if self.blobs is None:
            raise RuntimeError("capa has no evidence store")
        with self.lock:
            case = self._get(case_id)
            # Check the case before storing bytes for it; the same check runs again below.
            if case.status in ("not_confirmed", "misuse", "closed") and not case.has_handled(key):
                raise RuleViolation(
                    "4.4.3",
                    f"evidence is received: the case is {case.status}, nothing more",
                    code="capa.evidence.case_finished",
                    params={"status": case.status},
                )
            digest = self.blobs.put(data)
        case = self._step(
            case_id,
            key,
            lambda case: getattr(case, step.method)(
                sha256=digest,
                filename=filename,
                original_filename=original,
                media_type=media_type,
                size=len(data),
                description=command.description,
                request_no=command.request_no,
                **_by(actor, key),
            ),
        )
        return case, digest

    def evidence(self, case_id: UUID, digest: str) -> bytes:
        case = self._get(case_id)
        if digest not in case.evidence or self.blobs is None:
            raise NotFound(
                f"no evidence {digest} on case {case_id}",
                code="capa.evidence.not_found",
                params={"case_id": str(case_id), "sha256": digest},
            )
        data = self.blobs.get(digest)
        if data is None:
            raise NotFound(
                f"evidence {digest} is on record but missing from the evidence store",
                code="capa.evidence.missing_from_store",
                params={"case_id": str(case_id), "sha256": digest},
            )
        return data

    # Report formats (4.3.4) --------------------------------------------------------------------

    def _customer_format_registered(self, case_id: UUID, command: c.ChooseReportFormat) -> None:
        """The customer's own format is chosen only once its template is registered."""
        if command.format is not ReportFormat.CUSTOMER:
            return
        case = self._get(case_id)
        registered = self.report_format_of(str(case.customer["code"]))
        if registered is None or registered.template is None:
            raise RuleViolation(
                "4.3.4",
                f"customer {case.customer['code']} has no report format of its own "
                "registered: register its template first",
                field="format",
                kind="invalid",
                code="capa.format.no_customer_format",
                params={"customer": case.customer["code"]},
            )

    def register_report_format(
        self,
        customer_code: str,
        command: c.RegisterReportFormat,
        actor: Actor,
        key: str | None = None,
    ) -> tuple[CustomerReportFormat, bool]:
        """Register (or revise) how a customer wants its CAPAs reported. (registration, new)."""
        step = STEPS["register_report_format"]
        authorize(step.action, actor)
        template = command.template
        if command.format is ReportFormat.CUSTOMER:
            if template is None:
                raise RuleViolation(
                    "4.3.4",
                    "the customer's own format needs its template",
                    field="template",
                    kind="invalid",
                    code="capa.format.template_needed",
                )
            if self.check_template is None:
                raise RuntimeError("capa has no check of report templates")
            try:
                self.check_template(template)
            except ValueError as problem:
                raise RuleViolation(
                    "4.3.4",
                    f"the template does not render: {problem}",
                    field="template",
                    kind="invalid",
                    code="capa.format.template_fails",
                    params={"problem": str(problem)},
                ) from problem
        elif template is not None:
            raise RuleViolation(
                "4.3.4",
                f"a template belongs to format 'customer', not {command.format.value!r}",
                field="template",
                kind="invalid",
                code="capa.format.template_not_customer",
                params={"format": command.format.value},
            )
        fields: dict[str, Any] = {
            "format": command.format.value,
            "title": command.title,
            "template": template,
            "template_sha256": sha256(template.encode()).hexdigest() if template else None,
            "actor": actor.model_dump(mode="json"),
            "request_key": key,
        }
        with self.lock:
            existing = self.report_format_of(customer_code)
            if existing is not None and existing.has_handled(key):
                return existing, False  # a retry: the first result, nothing recorded
            if existing is None:
                registration = CustomerReportFormat(customer_code=customer_code, **fields)
                self.save(registration)
                return registration, True
            getattr(existing, step.method)(**fields)
            self.save(existing)
            return existing, False

    def report_format(self, case: Investigation) -> tuple[str, str]:
        """The format a case's CAPA is reported in, and why: case > customer > CPAR (4.3.4)."""
        if case.report_format is not None:
            return case.report_format, "case"
        registered = self.report_format_of(str(case.customer["code"]))
        if registered is not None:
            return registered.format, "customer"
        return DEFAULT_FORMAT.value, "default"

    # Shared -----------------------------------------------------------------------------

    def _get(self, case_id: UUID) -> Investigation:
        case = self.investigation(case_id)
        if case is None:
            raise NotFound(
                f"no investigation of case {case_id}",
                code="capa.investigation.not_found",
                params={"case_id": str(case_id)},
            )
        return case

    def _step(
        self,
        case_id: UUID,
        key: str | None,
        change: Callable[[Investigation], object],
        check: Callable[[Investigation], None] | None = None,
    ) -> Investigation:
        """Apply ``change`` to the case, once per key; ``check`` refuses (who may) before it."""
        with self.lock:
            case = self._get(case_id)
            # A retried request (same Idempotency-Key) finds its effect already recorded.
            if not case.has_handled(key):
                if check is not None:
                    check(case)
                change(case)
                self.save(case)
            return case


def _by(actor: Actor, key: str | None) -> dict[str, Any]:
    return by(actor, key, happened_at=None)
