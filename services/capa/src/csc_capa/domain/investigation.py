"""One quality case in capa: QC's investigation (4.4.3) and, once confirmed, its CAPA as an 8D.

    investigating ──► not_confirmed                                   (4.4.3, closed)
          │     └───► misuse                                         (4.2.3, closed, no CAPA)
          └──► confirmed ──► in_progress (team convened, D1) ──► closed (D8)
                                   ▲            │
                                   └── reopened at D4 when verification says not effective

Every command checks the case first and raises ``RuleViolation`` naming its
clause before any event is triggered, so a refused command records nothing.
Each event applies itself (``apply``), so the command methods only decide.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from csc_messaging.refusals import RuleViolation

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""
Person = dict[str, str]

INVESTIGATING = "investigating"
NOT_CONFIRMED = "not_confirmed"
MISUSE = "misuse"
CONFIRMED = "confirmed"
IN_PROGRESS = "in_progress"
CLOSED = "closed"
STATUSES = (INVESTIGATING, NOT_CONFIRMED, MISUSE, CONFIRMED, IN_PROGRESS, CLOSED)
FINISHED = (NOT_CONFIRMED, MISUSE, CLOSED)

# 4.4.4: the cross-functional team has at least these departments.
TEAM_DEPARTMENTS = ("marketing", "development", "engineering", "production")


FORMAT_NAMESPACE = UUID("5f0e1c7a-3b2d-4e8f-9a61-0c4b7d2e8f35")


def format_id(customer_code: str) -> UUID:
    """The id of a customer's report-format registration: one per customer."""
    return uuid5(FORMAT_NAMESPACE, customer_code)


def capa_no(case_id: UUID) -> str:
    """The CAPA's number on every report of it: one per case."""
    return f"CAPA-{case_id.hex[:8].upper()}"


class Investigation(Aggregate):
    """QC's investigation of one register case and the CAPA that follows (4.4.3-4.4.4, 4.3.4)."""

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    # Events ----------------------------------------------------------------------------

    class Opened(Aggregate.Created):
        case_id: UUID
        source: str
        source_event_id: UUID
        reported_at: datetime
        customer: dict[str, Any]
        product: str | None
        lot: str | None
        description: str
        owner_department: str
        # When the source was recorded (reported_at is when it happened); absent from
        # investigations opened before it was kept.
        recorded_at: datetime | None = None

    class Step(Aggregate.Event):
        """A step someone took (or a fact from another service: actor None)."""

        actor: ActorRecord | None
        request_key: str | None
        # When it happened, where that is not when it was recorded: a fact from Kafka
        # carries its source's time, so a replay records the same history.
        happened_at: datetime | None

        @property
        def at(self) -> datetime:
            return self.happened_at or self.timestamp

        def apply(self, aggregate: Any) -> None:
            if self.request_key:
                aggregate.request_keys.add(self.request_key)
            self.change(aggregate)

        def change(self, case: Investigation) -> None:
            raise NotImplementedError

    class ImpactNoted(Step):
        """Marketing's impact assessment from intake (4.4.2), for D0 and D3."""

        lines_stopped: int
        quantity_affected: int
        remedial_measure: str
        remedial_details: str | None

        def change(self, case: Investigation) -> None:
            case.impact = {
                "lines_stopped": self.lines_stopped,
                "quantity_affected": self.quantity_affected,
                "remedial_measure": self.remedial_measure,
                "remedial_details": self.remedial_details,
            }

    class CustomerContacted(Step):
        contacted_at: datetime
        contact: str
        means: str
        summary: str

        def change(self, case: Investigation) -> None:
            case.contacts += 1

    class EvidenceRequested(Step):
        request_no: int
        kinds: list[str]
        details: str
        due: date | None

        def change(self, case: Investigation) -> None:
            case.evidence_requests += 1

    class EvidenceReceived(Step):
        sha256: str
        filename: str
        media_type: str
        size: int
        description: str | None
        request_no: int | None
        # The name as sent, folders and all; ``filename`` is its safe base name.
        # Absent from events recorded before names were made safe.
        original_filename: str | None = None

        def change(self, case: Investigation) -> None:
            case.evidence.add(self.sha256)

    class NonconformanceLinked(Step):
        report_no: str
        description: str
        lot: str
        quantity: int
        source_event_id: UUID

        def change(self, case: Investigation) -> None:
            case.pnprs.add(self.report_no)

    class Confirmed(Step):
        finding: str
        by_pnpr: bool

        def change(self, case: Investigation) -> None:
            case.status = CONFIRMED

    class NotConfirmed(Step):
        reason: str

        def change(self, case: Investigation) -> None:
            case.status = NOT_CONFIRMED

    class ClosedAsMisuse(Step):
        finding: str
        determined_by: str

        def change(self, case: Investigation) -> None:
            case.status = MISUSE

    class TeamConvened(Step):
        leader: Person
        members: list[dict[str, Any]]

        def change(self, case: Investigation) -> None:
            case.status = IN_PROGRESS
            case.team = True
            case.leader = self.leader
            case.team_departments = frozenset(
                {self.leader["department"], *(m["department"] for m in self.members)}
            )

    class EmergencyResponseRecorded(Step):
        actions: str

        def change(self, case: Investigation) -> None:
            case.done.add("D0")

    class ProblemDescribed(Step):
        problem: dict[str, str]

        def change(self, case: Investigation) -> None:
            case.done.add("D2")

    class ContainmentRecorded(Step):
        actions: str
        scope: str
        quantity: int | None

        def change(self, case: Investigation) -> None:
            case.done.add("D3")

    class RootCauseIdentified(Step):
        root_cause: str
        escape_point: str
        method: str
        round: int

        def change(self, case: Investigation) -> None:
            case.root_cause_round = self.round

    class ActionPlanned(Step):
        action_no: int
        kind: str
        description: str
        owner: Person
        due: date
        round: int

        def change(self, case: Investigation) -> None:
            case.actions[self.action_no] = {
                "round": self.round,
                "due": self.due,
                "owner": self.owner,
                "implemented": False,
            }

    class ActionImplemented(Step):
        action_no: int
        implemented_on: date
        validation: str
        overdue_days: int

        def change(self, case: Investigation) -> None:
            case.actions[self.action_no]["implemented"] = True

    class EffectivenessVerified(Step):
        effective: bool
        method: str
        result: str
        verified_on: date
        round: int

        def change(self, case: Investigation) -> None:
            case.effective_round = self.round if self.effective else None

    class Reopened(Step):
        reason: str
        round: int

        def change(self, case: Investigation) -> None:
            case.round = self.round
            case.effective_round = None

    class RecurrencePrevented(Step):
        updates: list[dict[str, str]]
        note: str | None

        def change(self, case: Investigation) -> None:
            case.done.add("D7")

    class Closed(Step):
        summary: str
        recognition: str
        opened_at: datetime
        days_open: int

        def change(self, case: Investigation) -> None:
            case.status = CLOSED

    class ReportFormatChosen(Step):
        format: str
        reason: str | None

        def change(self, case: Investigation) -> None:
            case.report_format = self.format

    # State ---------------------------------------------------------------------------------

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        source: str,
        source_event_id: UUID,
        reported_at: datetime,
        customer: dict[str, Any],
        product: str | None,
        lot: str | None,
        description: str,
        owner_department: str,
        recorded_at: datetime | None = None,
    ) -> None:
        self.source = source
        self.reported_at = reported_at
        self.customer = customer
        self.status = INVESTIGATING
        self.request_keys: set[str] = set()
        self.impact: dict[str, Any] | None = None
        self.contacts = 0
        self.evidence_requests = 0
        self.evidence: set[str] = set()
        self.pnprs: set[str] = set()
        self.team = False
        self.leader: Person | None = None
        # 4.4.4: who sits on the team, by department (members are named, not users).
        self.team_departments: frozenset[str] = frozenset()
        self.done: set[str] = set()
        self.round = 1
        self.root_cause_round = 0
        self.actions: dict[int, dict[str, Any]] = {}
        self.effective_round: int | None = None
        self.report_format: str | None = None

    @property
    def capa_no(self) -> str:
        return capa_no(self.id)

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys

    def _require(self, allowed: tuple[str, ...], clause: str, why: str, *, code: str) -> None:
        if self.status not in allowed:
            raise RuleViolation(
                clause,
                f"{why}; this case is {self.status}",
                code=code,
                params={"status": self.status},
            )

    def _since_opening(self, day: date, field: str, clause: str) -> None:
        # A step of this case happened after the customer reported it: an earlier date is
        # a wrong entry, not history (the future is refused where the command is read).
        opened = self.reported_at.date()
        if day < opened:
            raise RuleViolation(
                clause,
                f"{field} {day.isoformat()} is before this case opened ({opened.isoformat()})",
                field=field,
                kind="invalid",
                code="capa.before_opening",
                params={"field": field, "day": day, "opened": opened},
            )

    def _open(self, clause: str, what: str) -> None:
        if self.status in FINISHED:
            raise RuleViolation(
                clause,
                f"{what}: the case is {self.status}, nothing more is recorded",
                code="capa.case_finished",
                params={"status": self.status},
            )

    # Facts from other services ------------------------------------------------------------------

    def note_impact(self, *, at: datetime, **fields: Any) -> None:
        self.trigger_event(self.ImpactNoted, actor=None, request_key=None, happened_at=at, **fields)

    def link_nonconformance(
        self,
        *,
        report_no: str,
        description: str,
        lot: str,
        quantity: int,
        source_event_id: UUID,
        at: datetime,
    ) -> None:
        """A PNPR (4.3.3) of the same case: QC's own report confirms an open investigation."""
        if report_no in self.pnprs:
            return
        self.trigger_event(
            self.NonconformanceLinked,
            report_no=report_no,
            description=description,
            lot=lot,
            quantity=quantity,
            source_event_id=source_event_id,
            actor=None,
            request_key=None,
            happened_at=at,
        )
        if self.status == INVESTIGATING:
            self.trigger_event(
                self.Confirmed,
                finding=f"{report_no}: {description}",
                by_pnpr=True,
                actor=None,
                request_key=None,
                happened_at=at,
            )

    def misuse_from_intake(self, finding: str, at: datetime) -> bool:
        """Marketing found misuse (4.2.3): an open investigation closes with that finding."""
        if self.status != INVESTIGATING:
            return False
        self.trigger_event(
            self.ClosedAsMisuse,
            finding=finding,
            determined_by="intake",
            actor=None,
            request_key=None,
            happened_at=at,
        )
        return True

    # Investigation (4.4.3) ----------------------------------------------------------------------

    def contact_customer(
        self, *, contacted_at: datetime, contact: str, means: str, summary: str, **by: Any
    ) -> None:
        self._open("4.4.3", "a contact with the customer")
        if contacted_at < self.reported_at:
            raise RuleViolation(
                "4.4.3",
                f"contacted_at {contacted_at.isoformat()} is before the customer's report "
                f"({self.reported_at.isoformat()})",
                field="contacted_at",
                kind="invalid",
                code="capa.contact.before_report",
                params={"contacted_at": contacted_at, "reported_at": self.reported_at},
            )
        self.trigger_event(
            self.CustomerContacted,
            contacted_at=contacted_at,
            contact=contact,
            means=means,
            summary=summary,
            **by,
        )

    def request_evidence(
        self, *, kinds: list[str], details: str, due: date | None, today: date, **by: Any
    ) -> int:
        self._open("4.4.3", "samples or photos are asked for")
        if due is not None and due < today:
            raise RuleViolation(
                "4.4.3",
                f"due {due.isoformat()} is already past",
                field="due",
                kind="invalid",
                code="capa.due_past",
                params={"due": due},
            )
        number = self.evidence_requests + 1
        self.trigger_event(
            self.EvidenceRequested, request_no=number, kinds=kinds, details=details, due=due, **by
        )
        return number

    def receive_evidence(
        self,
        *,
        sha256: str,
        filename: str,
        original_filename: str,
        media_type: str,
        size: int,
        description: str | None,
        request_no: int | None,
        **by: Any,
    ) -> None:
        self._open("4.4.3", "evidence is received")
        if request_no is not None and not 1 <= request_no <= self.evidence_requests:
            raise RuleViolation(
                "4.4.3",
                f"no evidence request {request_no}; this case has {self.evidence_requests}",
                field="request_no",
                kind="invalid",
                code="capa.evidence.no_request",
                params={"request_no": request_no, "requests": self.evidence_requests},
            )
        if sha256 in self.evidence:
            return  # the same bytes again: already on record
        self.trigger_event(
            self.EvidenceReceived,
            sha256=sha256,
            filename=filename,
            original_filename=original_filename,
            media_type=media_type,
            size=size,
            description=description,
            request_no=request_no,
            **by,
        )

    def confirm(self, *, finding: str, **by: Any) -> None:
        self._require(
            (INVESTIGATING,),
            "4.4.3",
            "only an open investigation is confirmed",
            code="capa.confirm.not_investigating",
        )
        if self.contacts == 0:
            raise RuleViolation(
                "4.4.3",
                "QC confirms the nonconformity after contacting the customer: record the "
                "contact first",
                code="capa.confirm.before_contact",
            )
        self.trigger_event(self.Confirmed, finding=finding, by_pnpr=False, **by)

    def not_confirm(self, *, reason: str, **by: Any) -> None:
        self._require(
            (INVESTIGATING,),
            "4.4.3",
            "only an open investigation is closed unconfirmed",
            code="capa.not_confirm.not_investigating",
        )
        self.trigger_event(self.NotConfirmed, reason=reason, **by)

    def find_misuse(self, *, finding: str, **by: Any) -> None:
        self._require(
            (INVESTIGATING,),
            "4.2.3",
            "misuse closes an investigation before any confirmation",
            code="capa.misuse.not_investigating",
        )
        self.trigger_event(self.ClosedAsMisuse, finding=finding, determined_by="quality", **by)

    # CAPA as 8D (4.4.4, 4.3.4) -----------------------------------------------------------------

    def convene_team(self, *, leader: Person, members: list[dict[str, Any]], **by: Any) -> None:
        self._require(
            (CONFIRMED,),
            "4.4.4",
            "the team is convened once, for a complaint confirmed genuine",
            code="capa.team.not_confirmed",
        )
        present = {m["department"] for m in members} | {leader["department"]}
        missing = [d for d in TEAM_DEPARTMENTS if d not in present]
        if missing:
            raise RuleViolation(
                "4.4.4",
                "the cross-functional team needs marketing, development, engineering and "
                f"production; missing: {', '.join(missing)}",
                field="members",
                kind="invalid",
                code="capa.team.members_missing",
                params={"missing": ", ".join(missing)},
            )
        names = [m["name"] for m in members]
        if len(set(names)) != len(names):
            raise RuleViolation(
                "4.4.4",
                "a member is listed twice",
                field="members",
                kind="invalid",
                code="capa.team.member_twice",
            )
        self.trigger_event(self.TeamConvened, leader=leader, members=members, **by)

    def _in_capa(self, step: str) -> None:
        if self.status == CONFIRMED:
            raise RuleViolation(
                "4.4.4",
                f"{step}: the CAPA starts when QC convenes the cross-functional team",
                code="capa.step.before_team",
                params={"step": step},
            )
        self._require(
            (IN_PROGRESS,),
            "4.4.4",
            f"{step} belongs to a running CAPA",
            code="capa.step.not_running",
        )

    def record_emergency_response(self, *, actions: str, **by: Any) -> None:
        # D0 may come before the investigation ends: the customer must keep producing.
        self._require(
            (INVESTIGATING, CONFIRMED, IN_PROGRESS),
            "4.4.2",
            "D0 emergency response",
            code="capa.d0.case_finished",
        )
        self.trigger_event(self.EmergencyResponseRecorded, actions=actions, **by)

    def describe_problem(self, *, problem: dict[str, str], **by: Any) -> None:
        self._in_capa("D2 problem description")
        self.trigger_event(self.ProblemDescribed, problem=problem, **by)

    def record_containment(
        self, *, actions: str, scope: str, quantity: int | None, **by: Any
    ) -> None:
        self._in_capa("D3 interim containment")
        self.trigger_event(
            self.ContainmentRecorded, actions=actions, scope=scope, quantity=quantity, **by
        )

    def identify_root_cause(
        self, *, root_cause: str, escape_point: str, method: str, **by: Any
    ) -> None:
        self._in_capa("D4 root cause")
        if "D2" not in self.done:
            raise RuleViolation(
                "4.4.4",
                "D4 root cause follows D2: describe the problem first",
                code="capa.d4.before_d2",
            )
        if self.root_cause_round == self.round:
            raise RuleViolation(
                "4.3.4",
                f"the root cause of round {self.round} is on record; an ineffective "
                "verification reopens the CAPA for a new one",
                code="capa.d4.on_record",
                params={"round": self.round},
            )
        self.trigger_event(
            self.RootCauseIdentified,
            root_cause=root_cause,
            escape_point=escape_point,
            method=method,
            round=self.round,
            **by,
        )

    def plan_action(
        self, *, kind: str, description: str, owner: Person, due: date, today: date, **by: Any
    ) -> int:
        self._in_capa("D5 corrective action")
        if self.root_cause_round != self.round:
            raise RuleViolation(
                "4.3.4",
                "actions are chosen after root-cause analysis: record D4 first",
                code="capa.d5.before_d4",
            )
        if due < today:
            raise RuleViolation(
                "4.4.4",
                f"due {due.isoformat()} is already past",
                field="due",
                kind="invalid",
                code="capa.due_past",
                params={"due": due},
            )
        number = len(self.actions) + 1
        self.trigger_event(
            self.ActionPlanned,
            action_no=number,
            kind=kind,
            description=description,
            owner=owner,
            due=due,
            round=self.round,
            **by,
        )
        return number

    def implement_action(
        self, *, action_no: int, implemented_on: date, validation: str, **by: Any
    ) -> None:
        self._in_capa("D6 implementation")
        action = self.actions.get(action_no)
        if action is None:
            raise RuleViolation(
                "4.4.4",
                f"no action {action_no} on this CAPA",
                field="action_no",
                kind="invalid",
                code="capa.d6.no_action",
                params={"action_no": action_no},
            )
        if action["implemented"]:
            raise RuleViolation(
                "4.4.4",
                f"action {action_no} is already implemented",
                code="capa.d6.already_implemented",
                params={"action_no": action_no},
            )
        self._since_opening(implemented_on, "implemented_on", "4.3.4")
        self.trigger_event(
            self.ActionImplemented,
            action_no=action_no,
            implemented_on=implemented_on,
            validation=validation,
            overdue_days=max(0, (implemented_on - action["due"]).days),
            **by,
        )

    def verify_effectiveness(
        self, *, effective: bool, method: str, result: str, verified_on: date, **by: Any
    ) -> None:
        self._in_capa("verification of effectiveness")
        current = [n for n, a in self.actions.items() if a["round"] == self.round]
        if not current:
            raise RuleViolation(
                "4.3.4",
                "there is no corrective action of this round to verify: plan D5 first",
                code="capa.verify.before_d5",
            )
        pending = [str(n) for n in current if not self.actions[n]["implemented"]]
        if pending:
            raise RuleViolation(
                "4.3.4",
                f"effectiveness is verified after implementation; action(s) {', '.join(pending)} "
                "not implemented",
                code="capa.verify.not_implemented",
                params={"pending": ", ".join(pending)},
            )
        if self.effective_round == self.round:
            raise RuleViolation(
                "4.3.4",
                "effectiveness of this round is already verified",
                code="capa.verify.already_verified",
            )
        self._since_opening(verified_on, "verified_on", "4.3.4")
        self.trigger_event(
            self.EffectivenessVerified,
            effective=effective,
            method=method,
            result=result,
            verified_on=verified_on,
            round=self.round,
            **by,
        )
        if not effective:
            # 4.3.4: not effective means the cause was not the cause: back to D4.
            self.trigger_event(
                self.Reopened,
                reason=f"not effective: {result}",
                round=self.round + 1,
                **by,
            )

    def prevent_recurrence(
        self, *, updates: list[dict[str, str]], note: str | None, **by: Any
    ) -> None:
        self._in_capa("D7 prevention of recurrence")
        if self.root_cause_round == 0:
            raise RuleViolation(
                "4.4.4",
                "D7 prevents the recurrence of a known root cause: D4 first",
                code="capa.d7.before_d4",
            )
        self.trigger_event(self.RecurrencePrevented, updates=updates, note=note, **by)

    def close(self, *, summary: str, recognition: str, closed_at: datetime, **by: Any) -> None:
        self._in_capa("D8 closure")
        if self.effective_round != self.round:
            raise RuleViolation(
                "4.3.4",
                "a CAPA closes only after its actions are verified effective",
                code="capa.close.not_verified",
            )
        missing = [step for step in ("D2", "D3", "D7") if step not in self.done]
        if missing:
            raise RuleViolation(
                "4.4.4",
                f"an 8D closes with every step; missing {', '.join(missing)}",
                code="capa.close.steps_missing",
                params={"missing": ", ".join(missing)},
            )
        self.trigger_event(
            self.Closed,
            summary=summary,
            recognition=recognition,
            opened_at=self.reported_at,
            days_open=max(0, (closed_at - self.reported_at).days),
            **by,
        )

    def choose_report_format(self, *, format: str, reason: str | None, **by: Any) -> None:
        self._open("4.3.4", "a report format is chosen")
        self.trigger_event(self.ReportFormatChosen, format=format, reason=reason, **by)


class CustomerReportFormat(Aggregate):
    """How one customer wants its CAPAs reported (4.3.4); the latest revision applies."""

    @staticmethod
    def create_id(customer_code: str) -> UUID:
        return format_id(customer_code)

    class Registered(Aggregate.Created):
        customer_code: str
        format: str
        title: str | None
        template: str | None
        template_sha256: str | None
        actor: ActorRecord
        request_key: str | None

    class Revised(Aggregate.Event):
        customer_code: str
        format: str
        title: str | None
        template: str | None
        template_sha256: str | None
        actor: ActorRecord
        request_key: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.format = self.format
            aggregate.title = self.title
            aggregate.template = self.template
            if self.request_key:
                aggregate.request_keys.add(self.request_key)

    @event(Registered)
    def __init__(
        self,
        *,
        customer_code: str,
        format: str,
        title: str | None,
        template: str | None,
        template_sha256: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.customer_code = customer_code
        self.format = format
        self.title = title
        self.template = template
        self.request_keys: set[str] = {request_key} if request_key else set()

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys

    def revise(
        self,
        *,
        format: str,
        title: str | None,
        template: str | None,
        template_sha256: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self.trigger_event(
            self.Revised,
            customer_code=self.customer_code,
            format=format,
            title=title,
            template=template,
            template_sha256=template_sha256,
            actor=actor,
            request_key=request_key,
        )
