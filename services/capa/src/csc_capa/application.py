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
from csc_messaging.commands import Now, by, not_future, not_future_day, utcnow
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

    # Investigation (4.4.3) ------------------------------------------------------------------

    def contact_customer(
        self, case_id: UUID, command: c.ContactCustomer, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("contact_customer", actor)
        contacted_at = not_future(command.contacted_at, self.now(), "contacted_at")
        return self._step(
            case_id,
            key,
            lambda case: case.contact_customer(
                contacted_at=contacted_at,
                contact=command.contact,
                means=command.means,
                summary=command.summary,
                **_by(actor, key),
            ),
        )

    def request_evidence(
        self, case_id: UUID, command: c.RequestEvidence, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("request_evidence", actor)
        today = self.now().date()
        return self._step(
            case_id,
            key,
            lambda case: case.request_evidence(
                kinds=list(command.kinds),
                details=command.details,
                due=command.due,
                today=today,
                **_by(actor, key),
            ),
        )

    def receive_evidence(
        self,
        case_id: UUID,
        data: bytes,
        *,
        filename: str,
        media_type: str,
        description: str | None,
        request_no: int | None,
        actor: Actor,
        key: str | None = None,
    ) -> tuple[Investigation, str]:
        """Store the bytes by their hash, then record their arrival (4.4.3).

        The name is kept as sent and, for every use, as a safe base name; the
        declared type is taken only when the bytes are of it.
        """
        authorize("receive_evidence", actor)
        media_type = media_type.split(";")[0].strip().lower()
        original, filename = filename, safe_filename(filename)
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
            lambda case: case.receive_evidence(
                sha256=digest,
                filename=filename,
                original_filename=original,
                media_type=media_type,
                size=len(data),
                description=description,
                request_no=request_no,
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

    def confirm(
        self, case_id: UUID, command: c.Confirm, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("confirm", actor)
        return self._step(
            case_id, key, lambda case: case.confirm(finding=command.finding, **_by(actor, key))
        )

    def not_confirm(
        self, case_id: UUID, command: c.NotConfirm, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("not_confirm", actor)
        return self._step(
            case_id, key, lambda case: case.not_confirm(reason=command.reason, **_by(actor, key))
        )

    def find_misuse(
        self, case_id: UUID, command: c.FindMisuse, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("find_misuse", actor)
        return self._step(
            case_id, key, lambda case: case.find_misuse(finding=command.finding, **_by(actor, key))
        )

    # CAPA (4.4.4, 4.3.4) ---------------------------------------------------------------------

    def convene_team(
        self, case_id: UUID, command: c.ConveneTeam, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("convene_team", actor)
        return self._step(
            case_id,
            key,
            lambda case: case.convene_team(
                leader=command.leader.model_dump(mode="json"),
                members=[m.model_dump(mode="json") for m in command.members],
                **_by(actor, key),
            ),
        )

    def record_emergency_response(
        self,
        case_id: UUID,
        command: c.RecordEmergencyResponse,
        actor: Actor,
        key: str | None = None,
    ) -> Investigation:
        authorize("record_emergency_response", actor)
        return self._step(
            case_id,
            key,
            lambda case: case.record_emergency_response(actions=command.actions, **_by(actor, key)),
            check=lambda case: authorize_on_case("record_emergency_response", actor, case),
        )

    def describe_problem(
        self, case_id: UUID, command: c.DescribeProblem, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("describe_problem", actor)
        return self._step(
            case_id,
            key,
            lambda case: case.describe_problem(
                problem=command.model_dump(mode="json"), **_by(actor, key)
            ),
            check=lambda case: authorize_on_case("describe_problem", actor, case),
        )

    def record_containment(
        self, case_id: UUID, command: c.RecordContainment, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("record_containment", actor)
        return self._step(
            case_id,
            key,
            lambda case: case.record_containment(
                actions=command.actions,
                scope=command.scope,
                quantity=command.quantity,
                **_by(actor, key),
            ),
            check=lambda case: authorize_on_case("record_containment", actor, case),
        )

    def identify_root_cause(
        self, case_id: UUID, command: c.IdentifyRootCause, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("identify_root_cause", actor)
        return self._step(
            case_id,
            key,
            lambda case: case.identify_root_cause(
                root_cause=command.root_cause,
                escape_point=command.escape_point,
                method=command.method,
                **_by(actor, key),
            ),
            check=lambda case: authorize_on_case("identify_root_cause", actor, case),
        )

    def plan_action(
        self, case_id: UUID, command: c.PlanAction, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("plan_action", actor)
        today = self.now().date()
        return self._step(
            case_id,
            key,
            lambda case: case.plan_action(
                kind=command.kind.value,
                description=command.description,
                owner=command.owner.model_dump(mode="json"),
                due=command.due,
                today=today,
                **_by(actor, key),
            ),
            check=lambda case: authorize_on_case("plan_action", actor, case),
        )

    def implement_action(
        self,
        case_id: UUID,
        action_no: int,
        command: c.ImplementAction,
        actor: Actor,
        key: str | None = None,
    ) -> Investigation:
        authorize("implement_action", actor)
        implemented_on = not_future_day(command.implemented_on, self.now().date(), "implemented_on")
        return self._step(
            case_id,
            key,
            lambda case: case.implement_action(
                action_no=action_no,
                implemented_on=implemented_on,
                validation=command.validation,
                **_by(actor, key),
            ),
            check=lambda case: authorize_implementation(action_no, actor, case),
        )

    def verify_effectiveness(
        self, case_id: UUID, command: c.VerifyEffectiveness, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("verify_effectiveness", actor)
        verified_on = not_future_day(command.verified_on, self.now().date(), "verified_on")
        return self._step(
            case_id,
            key,
            lambda case: case.verify_effectiveness(
                effective=command.effective,
                method=command.method,
                result=command.result,
                verified_on=verified_on,
                **_by(actor, key),
            ),
            check=lambda case: authorize_on_case("verify_effectiveness", actor, case),
        )

    def prevent_recurrence(
        self, case_id: UUID, command: c.PreventRecurrence, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("prevent_recurrence", actor)
        return self._step(
            case_id,
            key,
            lambda case: case.prevent_recurrence(
                updates=[u.model_dump(mode="json") for u in command.updates],
                note=command.note,
                **_by(actor, key),
            ),
            check=lambda case: authorize_on_case("prevent_recurrence", actor, case),
        )

    def close_capa(
        self, case_id: UUID, command: c.Close, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("close", actor)
        closed_at = self.now()
        return self._step(
            case_id,
            key,
            lambda case: case.close(
                summary=command.summary,
                recognition=command.recognition,
                closed_at=closed_at,
                **_by(actor, key),
            ),
            check=lambda case: authorize_on_case("close", actor, case),
        )

    # Report formats (4.3.4) --------------------------------------------------------------------

    def choose_report_format(
        self, case_id: UUID, command: c.ChooseReportFormat, actor: Actor, key: str | None = None
    ) -> Investigation:
        authorize("choose_report_format", actor)
        if command.format is ReportFormat.CUSTOMER:
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
        return self._step(
            case_id,
            key,
            lambda case: case.choose_report_format(
                format=command.format.value, reason=command.reason, **_by(actor, key)
            ),
        )

    def register_report_format(
        self,
        customer_code: str,
        command: c.RegisterReportFormat,
        actor: Actor,
        key: str | None = None,
    ) -> tuple[CustomerReportFormat, bool]:
        """Register (or revise) how a customer wants its CAPAs reported. (registration, new)."""
        authorize("register_report_format", actor)
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
            existing.revise(**fields)
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
