"""The Customer Information Register (4.1.2, form att. 3): feedback entries and complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from csc_intake.domain.errors import RuleViolation

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


class RegisterEntry(Aggregate):
    """What feedback entries and complaints have in common: the case's life after it is recorded."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    class EngineeringNotified(Aggregate.Event):
        actor: ActorRecord
        request_key: str | None

    # The *_at of these three are absent from events recorded before they were kept
    # (their time was then the time of recording).

    class ImportantReported(Aggregate.Event):
        reason: str
        actor: ActorRecord
        request_key: str | None
        reported_at: datetime | None = None

    class ImportantAcknowledged(Aggregate.Event):
        comment: str | None
        actor: ActorRecord
        request_key: str | None
        acknowledged_at: datetime | None = None

    class ReplySent(Aggregate.Event):
        replied_at: datetime
        channel: str
        summary: str
        actor: ActorRecord
        request_key: str | None

    class OnSiteRequired(Aggregate.Event):
        reason: str
        details: str | None
        actor: ActorRecord
        request_key: str | None
        requested_at: datetime | None = None

    class OnSiteVisitCompleted(Aggregate.Event):
        arrived_at: datetime
        engineers: list[str]
        diagnosis: str
        solution: str
        actor: ActorRecord
        request_key: str | None
        departed_at: datetime | None = None  # absent from visits recorded before att. 2 had it

    class MisuseDetermined(Aggregate.Event):
        finding: str
        actor: ActorRecord
        request_key: str | None

    class TechnicianDispatched(Aggregate.Event):
        technician: str
        purpose: str
        actor: ActorRecord
        request_key: str | None

    class FollowUpRecorded(Aggregate.Event):
        month: str
        result: str
        closed: bool
        actor: ActorRecord
        request_key: str | None

    # Set by the creating event of each subclass.
    received_at: datetime
    customer: dict[str, Any]

    def _start(self, request_key: str | None) -> None:
        self.request_keys: set[str] = {request_key} if request_key else set()
        self.engineering_notified = False
        self.important_reason: str | None = None
        self.important_reported_at: datetime | None = None
        self.important_acknowledged = False
        self.replies: list[dict[str, Any]] = []
        self.on_site_required: str | None = None
        self.on_site_requested_at: datetime | None = None
        self.visits: list[dict[str, Any]] = []
        self.misuse_finding: str | None = None
        self.technicians: list[str] = []
        self.follow_ups: list[dict[str, Any]] = []
        self.closed = False

    def _seen(self, request_key: str | None) -> None:
        if request_key:
            self.request_keys.add(request_key)

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys

    # 4.1.2 -------------------------------------------------------------------------

    @event(EngineeringNotified)
    def notify_engineering(self, *, actor: ActorRecord, request_key: str | None) -> None:
        self.engineering_notified = True
        self._seen(request_key)

    # 4.1.3 -------------------------------------------------------------------------

    def report_important(
        self,
        *,
        reason: str,
        actor: ActorRecord,
        request_key: str | None,
        reported_at: datetime,
        dated: bool = False,
    ) -> None:
        """``dated``: the caller said when (else ``reported_at`` is the time of recording)."""
        if self.important_reason is not None:
            raise RuleViolation(
                "4.1.3",
                "this entry was already reported to the Chief Engineer",
                code="intake.important.already_reported",
            )
        if dated:
            self._not_before_receipt("4.1.3", reported_at, "reported_at")
        self._important_reported(
            reason=reason, actor=actor, request_key=request_key, reported_at=reported_at
        )

    @event(ImportantReported)
    def _important_reported(
        self,
        *,
        reason: str,
        actor: ActorRecord,
        request_key: str | None,
        reported_at: datetime | None = None,
    ) -> None:
        self.important_reason = reason
        self.important_reported_at = reported_at
        self._seen(request_key)

    def acknowledge_important(
        self,
        *,
        comment: str | None,
        actor: ActorRecord,
        request_key: str | None,
        acknowledged_at: datetime,
    ) -> None:
        if self.important_reason is None:
            raise RuleViolation(
                "4.1.3",
                "nothing to acknowledge: this entry was never reported as important",
                code="intake.important.not_reported",
            )
        if self.important_acknowledged:
            raise RuleViolation(
                "4.1.3",
                "the Chief Engineer has already acknowledged this entry",
                code="intake.important.already_acknowledged",
            )
        reported_at = self.important_reported_at or self.received_at
        if acknowledged_at < reported_at:
            raise RuleViolation(
                "4.1.3",
                f"acknowledged_at {acknowledged_at.isoformat()} is before the information was "
                f"reported to the Chief Engineer ({reported_at.isoformat()})",
                field="acknowledged_at",
                kind="invalid",
                code="intake.important.ack_before_report",
                params={"acknowledged_at": acknowledged_at, "reported_at": reported_at},
            )
        self._important_acknowledged(
            comment=comment, actor=actor, request_key=request_key, acknowledged_at=acknowledged_at
        )

    @event(ImportantAcknowledged)
    def _important_acknowledged(
        self,
        *,
        comment: str | None,
        actor: ActorRecord,
        request_key: str | None,
        acknowledged_at: datetime | None = None,
    ) -> None:
        self.important_acknowledged = True
        self._seen(request_key)

    # 4.2 ---------------------------------------------------------------------------

    def send_reply(
        self,
        *,
        replied_at: datetime,
        channel: str,
        summary: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._not_before_receipt("4.2.1", replied_at, "replied_at")
        self._reply_sent(
            replied_at=replied_at,
            channel=channel,
            summary=summary,
            actor=actor,
            request_key=request_key,
        )

    @event(ReplySent)
    def _reply_sent(
        self,
        *,
        replied_at: datetime,
        channel: str,
        summary: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.replies.append({"replied_at": replied_at, "channel": channel, "summary": summary})
        self._seen(request_key)

    def require_on_site(
        self,
        *,
        reason: str,
        details: str | None,
        actor: ActorRecord,
        request_key: str | None,
        requested_at: datetime,
        dated: bool = False,
    ) -> None:
        """``dated``: the caller said when (else ``requested_at`` is the time of recording)."""
        if self.on_site_required is not None:
            raise RuleViolation(
                "4.2.2",
                "on-site service is already required for this case",
                code="intake.on_site.already_required",
            )
        if dated:
            self._not_before_receipt("4.2.2", requested_at, "requested_at")
        self._on_site_required(
            reason=reason,
            details=details,
            actor=actor,
            request_key=request_key,
            requested_at=requested_at,
        )

    @event(OnSiteRequired)
    def _on_site_required(
        self,
        *,
        reason: str,
        details: str | None,
        actor: ActorRecord,
        request_key: str | None,
        requested_at: datetime | None = None,
    ) -> None:
        self.on_site_required = reason
        self.on_site_requested_at = requested_at
        self._seen(request_key)

    def complete_visit(
        self,
        *,
        arrived_at: datetime,
        engineers: list[str],
        diagnosis: str,
        solution: str,
        actor: ActorRecord,
        request_key: str | None,
        departed_at: datetime | None = None,
    ) -> None:
        if self.on_site_required is None:
            raise RuleViolation(
                "4.2.2",
                "no on-site service was required for this case: record the request "
                "(on-site-requests) before the visit",
                code="intake.visit.not_required",
            )
        self._not_before_receipt("4.2.2", arrived_at, "arrived_at")
        requested_at = self.on_site_requested_at
        if requested_at is not None and arrived_at < requested_at:
            # 4.2.2: the 8-hour clock runs from the request; a visit before it is a wrong date.
            raise RuleViolation(
                "4.2.2",
                f"arrived_at {arrived_at.isoformat()} is before on-site service was required "
                f"({requested_at.isoformat()})",
                field="arrived_at",
                kind="invalid",
                code="intake.visit.before_request",
                params={"arrived_at": arrived_at, "requested_at": requested_at},
            )
        if departed_at is not None and departed_at < arrived_at:
            raise RuleViolation(
                "4.2.2",
                "departed_at lies before arrived_at",
                field="departed_at",
                kind="invalid",
                code="intake.departed_before_arrived",
            )
        self._visit_completed(
            arrived_at=arrived_at,
            departed_at=departed_at,
            engineers=engineers,
            diagnosis=diagnosis,
            solution=solution,
            actor=actor,
            request_key=request_key,
        )

    @event(OnSiteVisitCompleted)
    def _visit_completed(
        self,
        *,
        arrived_at: datetime,
        engineers: list[str],
        diagnosis: str,
        solution: str,
        actor: ActorRecord,
        request_key: str | None,
        departed_at: datetime | None = None,
    ) -> None:
        self.visits.append(
            {
                "arrived_at": arrived_at,
                "departed_at": departed_at,
                "engineers": engineers,
                "diagnosis": diagnosis,
                "solution": solution,
            }
        )
        self._seen(request_key)

    def determine_misuse(
        self, *, finding: str, actor: ActorRecord, request_key: str | None
    ) -> None:
        if self.misuse_finding is not None:
            raise RuleViolation(
                "4.2.3",
                "misuse is already determined for this case",
                code="intake.misuse.already_determined",
            )
        self._misuse_determined(finding=finding, actor=actor, request_key=request_key)

    @event(MisuseDetermined)
    def _misuse_determined(
        self, *, finding: str, actor: ActorRecord, request_key: str | None
    ) -> None:
        self.misuse_finding = finding
        self._seen(request_key)

    def dispatch_technician(
        self, *, technician: str, purpose: str, actor: ActorRecord, request_key: str | None
    ) -> None:
        # 4.2.3: the technician is sent "anyway", i.e. once misuse is established.
        if self.misuse_finding is None:
            raise RuleViolation(
                "4.2.3",
                "a technician is dispatched under 4.2.3 only once misuse is determined; "
                "for a problem of ours, require on-site service (4.2.2)",
                code="intake.technician.no_misuse",
            )
        self._technician_dispatched(
            technician=technician, purpose=purpose, actor=actor, request_key=request_key
        )

    @event(TechnicianDispatched)
    def _technician_dispatched(
        self, *, technician: str, purpose: str, actor: ActorRecord, request_key: str | None
    ) -> None:
        self.technicians.append(technician)
        self._seen(request_key)

    # 4.6 ---------------------------------------------------------------------------

    def record_follow_up(
        self,
        *,
        result: str,
        closed: bool,
        now: datetime,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        month = month_of(self.received_at)
        if month >= month_of(now):
            raise RuleViolation(
                "4.6",
                f"follow-ups are for past months' feedback; this entry is from {month}",
                code="intake.follow_up.current_month",
                params={"month": month},
            )
        if self.closed:
            raise RuleViolation(
                "4.6", "this entry's follow-up is already closed", code="intake.follow_up.closed"
            )
        self._follow_up_recorded(
            month=month, result=result, closed=closed, actor=actor, request_key=request_key
        )

    @event(FollowUpRecorded)
    def _follow_up_recorded(
        self, *, month: str, result: str, closed: bool, actor: ActorRecord, request_key: str | None
    ) -> None:
        self.follow_ups.append({"month": month, "result": result, "closed": closed})
        self.closed = closed
        self._seen(request_key)

    def assess_quality_impact(
        self,
        *,
        lines_stopped: int,
        quantity_affected: int,
        remedial_measure: str,
        remedial_details: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        """4.4.2 follows a complaint (``Complaint``); customer information has no impact."""
        raise RuleViolation(
            "4.4.2",
            "impact is assessed for complaints, not feedback",
            code="intake.impact.not_complaint",
        )

    def _not_before_receipt(self, clause: str, moment: datetime, field: str) -> None:
        if moment < self.received_at:
            raise RuleViolation(
                clause,
                f"{moment.isoformat()} is before the customer's message arrived "
                f"({self.received_at.isoformat()})",
                field=field,
                kind="invalid",
                code="intake.before_receipt",
                params={"field": field, "moment": moment, "received_at": self.received_at},
            )


class FeedbackEntry(RegisterEntry):
    """Customer information of one of the five kinds (4.1.2)."""

    class Received(Aggregate.Created):
        case_id: UUID
        channel: str
        kind: str
        receiving_department: str
        received_at: datetime
        customer: dict[str, Any]
        text: str
        product: str | None
        lot: str | None
        actor: ActorRecord
        request_key: str | None

    @event(Received)
    def __init__(
        self,
        *,
        case_id: UUID,
        channel: str,
        kind: str,
        receiving_department: str,
        received_at: datetime,
        customer: dict[str, Any],
        text: str,
        product: str | None,
        lot: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.channel = channel
        self.kind = kind
        self.receiving_department = receiving_department
        self.received_at = received_at
        self.customer = customer
        self.text = text
        self.product = product
        self.lot = lot
        self.recorded_by = actor
        self._start(request_key)


class Complaint(RegisterEntry):
    """A customer complaint about service, quality or delivery (4.4.1)."""

    class Logged(Aggregate.Created):
        case_id: UUID
        category: str
        channel: str
        receiving_department: str
        received_at: datetime
        customer: dict[str, Any]
        text: str
        product: str | None
        lot: str | None
        actor: ActorRecord
        request_key: str | None

    class QualityImpactAssessed(Aggregate.Event):
        lines_stopped: int
        quantity_affected: int
        remedial_measure: str
        remedial_details: str | None
        actor: ActorRecord
        request_key: str | None

    class QualityNotified(Aggregate.Event):
        actor: ActorRecord
        request_key: str | None

    @event(Logged)
    def __init__(
        self,
        *,
        case_id: UUID,
        category: str,
        channel: str,
        receiving_department: str,
        received_at: datetime,
        customer: dict[str, Any],
        text: str,
        product: str | None,
        lot: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.category = category
        self.channel = channel
        self.receiving_department = receiving_department
        self.received_at = received_at
        self.customer = customer
        self.text = text
        self.product = product
        self.lot = lot
        self.recorded_by = actor
        self.impact: dict[str, Any] | None = None
        self.quality_notified = False
        self._start(request_key)

    def assess_quality_impact(
        self,
        *,
        lines_stopped: int,
        quantity_affected: int,
        remedial_measure: str,
        remedial_details: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        """4.4.2: confirm the impact and the remedy with the customer, then notify QC."""
        if self.category != "quality":
            raise RuleViolation(
                "4.4.2",
                f"impact is assessed for quality complaints; this is a {self.category} one",
                code="intake.impact.not_quality",
                params={"category": self.category},
            )
        if self.impact is not None:
            raise RuleViolation(
                "4.4.2",
                "the impact of this complaint is already assessed",
                code="intake.impact.already_assessed",
            )
        self._impact_assessed(
            lines_stopped=lines_stopped,
            quantity_affected=quantity_affected,
            remedial_measure=remedial_measure,
            remedial_details=remedial_details,
            actor=actor,
            request_key=request_key,
        )
        if not self.quality_notified:
            self._quality_notified(actor=actor, request_key=request_key)

    @event(QualityImpactAssessed)
    def _impact_assessed(
        self,
        *,
        lines_stopped: int,
        quantity_affected: int,
        remedial_measure: str,
        remedial_details: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.impact = {
            "lines_stopped": lines_stopped,
            "quantity_affected": quantity_affected,
            "remedial_measure": remedial_measure,
            "remedial_details": remedial_details,
        }
        self._seen(request_key)

    @event(QualityNotified)
    def _quality_notified(self, *, actor: ActorRecord, request_key: str | None) -> None:
        self.quality_notified = True
