"""Intake's commands and queries over its event store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from csc_contracts import Actor
from csc_intake import commands as c
from csc_intake.domain import (
    Complaint,
    Customer,
    FeedbackEntry,
    FieldServiceRecord,
    RegisterEntry,
    RuleViolation,
)
from csc_intake.permissions import authorize
from csc_messaging.commands import Now, by, not_future, utcnow
from csc_messaging.idempotency import KeyedSaves
from csc_messaging.refusals import NotFound

# Case ids from an Idempotency-Key: a retried request finds the case it created.
CASE_NAMESPACE = UUID("6f0f2f43-3a55-4b8e-9d37-5d1b0c7f6a01")

A = TypeVar("A", bound=Aggregate)
E = TypeVar("E", FeedbackEntry, Complaint)


class IntakeApplication(KeyedSaves):
    name = "intake"

    def __init__(self, env: dict[str, str] | None = None, clock: Now = utcnow) -> None:
        super().__init__(env)
        self.clock = clock

    # Customers (4.1.5) -----------------------------------------------------------------

    def register_customer(
        self, command: c.RegisterCustomer, actor: Actor, request_key: str | None = None
    ) -> tuple[Customer, bool]:
        authorize("register_customer", actor)
        existing = self._find(Customer.create_id(command.code), Customer)
        if existing is not None:
            if existing.has_handled(request_key):
                return existing, False
            raise RuleViolation(
                "4.1.5",
                f"customer {command.code} is already in the archive; update it with PUT",
                field="code",
                code="intake.customer.exists",
                params={"customer": command.code},
            )
        customer = Customer(
            code=command.code,
            **self._customer_details(command),
            actor=_actor(actor),
            request_key=request_key,
        )
        self.save(customer)
        return customer, True

    def update_customer(
        self, code: str, command: c.CustomerDetails, actor: Actor, request_key: str | None = None
    ) -> Customer:
        authorize("update_customer", actor)
        return self._act(
            self.customer(code),
            request_key,
            lambda customer: customer.update(
                **self._customer_details(command), actor=_actor(actor), request_key=request_key
            ),
        )

    def log_contact(
        self, code: str, command: c.LogContact, actor: Actor, request_key: str | None = None
    ) -> Customer:
        authorize("log_contact", actor)
        contacted_at = not_future(command.contacted_at, self.clock(), "contacted_at")
        return self._act(
            self.customer(code),
            request_key,
            lambda customer: customer.log_contact(
                contacted_at=contacted_at,
                channel=command.channel.value,
                summary=command.summary,
                actor=_actor(actor),
                request_key=request_key,
            ),
        )

    def record_survey(
        self, code: str, command: c.RecordSurvey, actor: Actor, request_key: str | None = None
    ) -> Customer:
        authorize("record_survey", actor)
        return self._act(
            self.customer(code),
            request_key,
            lambda customer: customer.record_survey(
                year=command.year,
                scores=dict(command.scores),
                comments=command.comments,
                actor=_actor(actor),
                request_key=request_key,
            ),
        )

    def customer(self, code: str) -> Customer:
        found = self._find(Customer.create_id(code), Customer)
        if found is None:
            raise NotFound(
                f"no customer {code} in the archive",
                code="intake.customer.not_found",
                params={"customer": code},
            )
        return found

    # Register entries (4.1.2-4.1.3, 4.4.1) ------------------------------------------------

    def register_feedback(
        self, command: c.RegisterFeedback, actor: Actor, request_key: str | None = None
    ) -> tuple[FeedbackEntry, bool]:
        """Record customer information in the Register (4.1.2). Returns (entry, created)."""
        authorize("register_feedback", actor)
        return self._register(FeedbackEntry, command, actor, request_key, kind=command.kind.value)

    def log_complaint(
        self, command: c.LogComplaint, actor: Actor, request_key: str | None = None
    ) -> tuple[Complaint, bool]:
        """Record a complaint in the Register (4.4.1). Returns (complaint, created)."""
        authorize("log_complaint", actor)
        return self._register(
            Complaint, command, actor, request_key, category=command.category.value
        )

    def _register(
        self,
        cls: type[E],
        command: c._Entry,
        actor: Actor,
        request_key: str | None,
        **specific: Any,
    ) -> tuple[E, bool]:
        case_id = uuid5(CASE_NAMESPACE, f"{cls.__name__}:{request_key}") if request_key else uuid4()
        existing = self._find(case_id, cls)
        if existing is not None:
            return existing, False
        customer = self._find(Customer.create_id(command.customer_code), Customer)
        if customer is None:
            raise RuleViolation(
                "4.1.5",
                f"unknown customer {command.customer_code}: register it in the customer "
                "archive first (POST /customers)",
                field="customer_code",
                kind="invalid",
                code="intake.customer.unknown_register_first",
                params={"customer": command.customer_code},
            )
        entry = cls(
            case_id=case_id,
            channel=command.channel.value,
            receiving_department=command.receiving_department.value,
            received_at=not_future(command.received_at, self.clock(), "received_at"),
            customer=customer.ref,
            text=command.text,
            product=command.product,
            lot=command.lot,
            actor=_actor(actor),
            request_key=request_key,
            **specific,
        )
        # 4.1.2: the receiving department notifies Engineering of every entry; the
        # system does it as the entry is recorded, so it cannot be forgotten.
        entry.notify_engineering(actor=_actor(actor), request_key=request_key)
        if command.important_reason:
            # 4.1.3: important information goes to the Chief Engineer promptly.
            entry.report_important(
                reason=command.important_reason,
                actor=_actor(actor),
                request_key=request_key,
                reported_at=self.clock(),
            )
        self.save(entry)
        return entry, True

    def report_important(
        self, case_id: UUID, command: c.ReportImportant, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("report_important", actor)
        reported_at = not_future(command.reported_at, self.clock(), "reported_at")
        return self._on_entry(
            case_id,
            key,
            lambda e: e.report_important(
                reason=command.reason,
                reported_at=reported_at,
                dated=command.reported_at is not None,
                **by(actor, key),
            ),
        )

    def acknowledge_important(
        self, case_id: UUID, command: c.AcknowledgeImportant, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("acknowledge_important", actor)
        acknowledged_at = not_future(command.acknowledged_at, self.clock(), "acknowledged_at")
        return self._on_entry(
            case_id,
            key,
            lambda e: e.acknowledge_important(
                comment=command.comment, acknowledged_at=acknowledged_at, **by(actor, key)
            ),
        )

    # Answering the customer (4.2) -----------------------------------------------------------

    def send_reply(
        self, case_id: UUID, command: c.SendReply, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("send_reply", actor)
        replied_at = not_future(command.replied_at, self.clock(), "replied_at")
        return self._on_entry(
            case_id,
            key,
            lambda e: e.send_reply(
                replied_at=replied_at,
                channel=command.channel.value,
                summary=command.summary,
                **by(actor, key),
            ),
        )

    def require_on_site(
        self, case_id: UUID, command: c.RequireOnSite, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("require_on_site", actor)
        requested_at = not_future(command.requested_at, self.clock(), "requested_at")
        return self._on_entry(
            case_id,
            key,
            lambda e: e.require_on_site(
                reason=command.reason.value,
                details=command.details,
                requested_at=requested_at,
                dated=command.requested_at is not None,
                **by(actor, key),
            ),
        )

    def complete_visit(
        self, case_id: UUID, command: c.CompleteVisit, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("complete_visit", actor)
        arrived_at = not_future(command.arrived_at, self.clock(), "arrived_at")
        departed_at = self._departure(command.departed_at)
        return self._on_entry(
            case_id,
            key,
            lambda e: e.complete_visit(
                arrived_at=arrived_at,
                departed_at=departed_at,
                engineers=list(command.engineers),
                diagnosis=command.diagnosis,
                solution=command.solution,
                **by(actor, key),
            ),
        )

    def determine_misuse(
        self, case_id: UUID, command: c.DetermineMisuse, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("determine_misuse", actor)
        return self._on_entry(
            case_id, key, lambda e: e.determine_misuse(finding=command.finding, **by(actor, key))
        )

    def dispatch_technician(
        self, case_id: UUID, command: c.DispatchTechnician, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("dispatch_technician", actor)
        return self._on_entry(
            case_id,
            key,
            lambda e: e.dispatch_technician(
                technician=command.technician, purpose=command.purpose, **by(actor, key)
            ),
        )

    # Complaints (4.4.2) and follow-up (4.6) ------------------------------------------------

    def assess_quality_impact(
        self, case_id: UUID, command: c.AssessQualityImpact, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("assess_quality_impact", actor)

        def assess(entry: RegisterEntry) -> None:
            if not isinstance(entry, Complaint):
                raise RuleViolation(
                    "4.4.2",
                    "impact is assessed for complaints, not feedback",
                    code="intake.impact.not_complaint",
                )
            entry.assess_quality_impact(
                lines_stopped=command.lines_stopped,
                quantity_affected=command.quantity_affected,
                remedial_measure=command.remedial_measure.value,
                remedial_details=command.remedial_details,
                **by(actor, key),
            )

        return self._on_entry(case_id, key, assess)

    def record_follow_up(
        self, case_id: UUID, command: c.RecordFollowUp, actor: Actor, key: str | None = None
    ) -> RegisterEntry:
        authorize("record_follow_up", actor)
        return self._on_entry(
            case_id,
            key,
            lambda e: e.record_follow_up(
                result=command.result, closed=command.closed, now=self.clock(), **by(actor, key)
            ),
        )

    def entry(self, case_id: UUID) -> RegisterEntry:
        found = self._find(case_id, RegisterEntry)
        if found is None:
            raise NotFound(
                f"no register entry {case_id}",
                code="intake.entry.not_found",
                params={"case_id": str(case_id)},
            )
        return found

    def _on_entry(
        self, case_id: UUID, key: str | None, change: Callable[[RegisterEntry], None]
    ) -> RegisterEntry:
        return self._act(self.entry(case_id), key, change)

    # Field service (4.1.4, 4.5) --------------------------------------------------------------

    def record_field_service(
        self, command: c.RecordFieldService, actor: Actor, request_key: str | None = None
    ) -> tuple[FieldServiceRecord, bool]:
        authorize("record_field_service" if command.kind == "daily" else "record_visit", actor)
        customer = self._find(Customer.create_id(command.customer_code), Customer)
        if customer is None:
            raise RuleViolation(
                "4.1.5",
                f"unknown customer {command.customer_code}",
                field="customer_code",
                kind="invalid",
                code="intake.customer.unknown",
                params={"customer": command.customer_code},
            )
        if command.kind == "daily" and not customer.oem:
            raise RuleViolation(
                "4.1.4",
                f"daily Field Service Work Records are kept at OEM customers; "
                f"{customer.code} is not one",
                field="customer_code",
                kind="invalid",
                code="intake.field_service.not_oem",
                params={"customer": customer.code},
            )
        if customer.sites and customer.site(command.site) is None:
            known = ", ".join(s["name"] for s in customer.sites)
            raise RuleViolation(
                "4.1.4",
                f"{customer.code} has no site {command.site!r} (known: {known})",
                field="site",
                kind="invalid",
                code="intake.field_service.unknown_site",
                params={"customer": customer.code, "site": command.site, "known": known},
            )
        site = customer.site(command.site) or {}
        zone = site.get("timezone")
        # The day as it is at the site: Wuhan's morning is still yesterday in UTC.
        if command.work_date > self.clock().astimezone(ZoneInfo(zone or "UTC")).date():
            raise RuleViolation(
                "4.1.4",
                "work_date lies in the future",
                field="work_date",
                kind="invalid",
                code="intake.field_service.work_date_future",
            )
        self._stay(command, command.work_date, zone)
        identity: dict[str, Any] = {
            "kind": command.kind,
            "customer": customer.ref,
            "site": command.site,
            "work_date": command.work_date.isoformat(),
            "engineer": command.engineer or actor.user,
        }
        existing = self._find(FieldServiceRecord.create_id(**identity), FieldServiceRecord)
        if existing is not None:
            if existing.has_handled(request_key):
                return existing, False
            raise RuleViolation(
                "4.1.4",
                "this engineer's record of this site and day exists; amend it with "
                f"POST /field-service-records/{existing.id}/amendments",
                code="intake.field_service.record_exists",
                params={"record": str(existing.id)},
            )
        record = FieldServiceRecord(
            **identity, details=_details(command), actor=_actor(actor), request_key=request_key
        )
        self.save(record)
        return record, True

    def amend_field_service(
        self, record_id: UUID, command: c.AmendFieldService, actor: Actor, key: str | None = None
    ) -> FieldServiceRecord:
        record = self.field_service_record(record_id)
        authorize("record_field_service" if record.kind == "daily" else "record_visit", actor)
        customer = self._find(Customer.create_id(record.customer["code"]), Customer)
        site = (customer.site(record.site) if customer is not None else None) or {}
        self._stay(command, date.fromisoformat(record.work_date), site.get("timezone"))
        return self._act(
            record,
            key,
            lambda r: r.amend(details=_details(command), reason=command.reason, **by(actor, key)),
        )

    def field_service_record(self, record_id: UUID) -> FieldServiceRecord:
        found = self._find(record_id, FieldServiceRecord)
        if found is None:
            raise NotFound(
                f"no field service record {record_id}",
                code="intake.field_service.record_not_found",
                params={"record_id": str(record_id)},
            )
        return found

    # Shared ------------------------------------------------------------------------------------

    def _departure(self, departed_at: datetime | None) -> datetime | None:
        return None if departed_at is None else not_future(departed_at, self.clock(), "departed_at")

    def _stay(self, command: c.FieldServiceDetails, work_date: date, zone: str | None) -> None:
        """Arrival and departure of a field service day (att. 2): past, in that order, the
        arrival on the day of the record (at the site's time), the stay under a day."""
        arrived_at = command.arrived_at
        if arrived_at is not None:
            not_future(arrived_at, self.clock(), "arrived_at")
            local = arrived_at.astimezone(ZoneInfo(zone or "UTC")).date()
            if local != work_date:
                raise RuleViolation(
                    "4.1.4",
                    f"arrived_at falls on {local} at the site ({zone or 'UTC'}), "
                    f"not on the record's work_date {work_date}",
                    field="arrived_at",
                    kind="invalid",
                    code="intake.field_service.arrival_not_work_date",
                    params={"local": local, "zone": zone or "UTC", "work_date": work_date},
                )
        departed_at = self._departure(command.departed_at)
        if departed_at is not None and arrived_at is not None:
            if departed_at < arrived_at:
                raise RuleViolation(
                    "4.1.4",
                    "departed_at lies before arrived_at",
                    code="intake.departed_before_arrived",
                    field="departed_at",
                    kind="invalid",
                )
            if departed_at - arrived_at > timedelta(days=1):
                raise RuleViolation(
                    "4.1.4",
                    "departed_at lies more than a day after arrived_at",
                    code="intake.field_service.stay_over_a_day",
                    field="departed_at",
                    kind="invalid",
                )

    def _act(self, aggregate: A, key: str | None, change: Callable[[A], None]) -> A:
        # A retried request (same Idempotency-Key) finds its effect already recorded.
        if not getattr(aggregate, "has_handled", lambda _: False)(key):
            change(aggregate)
            self.save(aggregate)
        return aggregate

    def _find(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, cls):
            raise NotFound(
                f"{aggregate_id} is not a {cls.__name__}",
                code="intake.record.other_kind",
                params={"id": str(aggregate_id), "kind": cls.__name__},
            )
        return found

    @staticmethod
    def _customer_details(command: c.CustomerDetails) -> dict[str, Any]:
        return {
            "name": command.name,
            "oem": command.oem,
            "contacts": [x.model_dump(mode="json") for x in command.contacts],
            "sites": [x.model_dump(mode="json") for x in command.sites],
        }


def _actor(actor: Actor) -> dict[str, str]:
    return actor.model_dump(mode="json")


def _details(command: c.FieldServiceDetails) -> dict[str, Any]:
    return {
        "arrived_at": command.arrived_at.isoformat() if command.arrived_at else None,
        "departed_at": command.departed_at.isoformat() if command.departed_at else None,
        "units_loaded": [u.model_dump(mode="json") for u in command.units_loaded],
        "problems": command.problems,
        "actions": command.actions,
        "survey": command.survey,
        "product_use": command.product_use,
        "technical_consulting": command.technical_consulting,
    }
