"""Intake's commands and queries over its event store: every step as ``commands.STEPS``
declares it."""

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
from csc_intake.commands import STEPS
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
from csc_messaging.steps import Step

# Case ids from an Idempotency-Key: a retried request finds the case it created.
CASE_NAMESPACE = UUID("6f0f2f43-3a55-4b8e-9d37-5d1b0c7f6a01")

A = TypeVar("A", bound=Aggregate)
E = TypeVar("E", FeedbackEntry, Complaint)


class IntakeApplication(KeyedSaves):
    name = "intake"

    def __init__(self, env: dict[str, str] | None = None, clock: Now = utcnow) -> None:
        super().__init__(env)
        self.clock = clock

    # Steps: every step declared in ``commands.STEPS`` ------------------------------------

    def record(
        self, action: str, command: c.Command, actor: Actor, key: str | None = None
    ) -> tuple[Aggregate, bool]:
        """Record a step that creates what it is about (a customer, a Register entry, a
        field service record), as ``commands.STEPS`` declares it. Returns (it, created)."""
        step = STEPS.which(action, command)
        authorize(step.action, actor)
        if isinstance(command, c.RegisterCustomer):
            return self._register_customer(command, actor, key)
        if isinstance(command, c._Entry):
            assert step.aggregate is not None, f"{action} names no kind of entry"
            return self._register(step.aggregate, command, actor, key)
        if isinstance(command, c.RecordFieldService):
            return self._record_field_service(command, actor, key)
        raise TypeError(f"{action} creates nothing")

    def take(
        self, action: str, subject: Any, command: c.Command, actor: Actor, key: str | None = None
    ) -> Aggregate:
        """Record one step on a customer (by code), an entry or a record (by id), as
        ``commands.STEPS`` declares it."""
        step = STEPS[action]
        if step.may_as is None:
            authorize(action, actor)
            args = command.args(self.clock())
            aggregate = self._subject(step, subject)
        else:
            # Who may is who may record what it is about: a day's record or a visit.
            aggregate = self._subject(step, subject)
            authorize(STEPS.which(step.may_as, aggregate).action, actor)
            args = command.args(self.clock())
        if isinstance(aggregate, FieldServiceRecord) and isinstance(command, c.FieldServiceDetails):
            self._stay_of(aggregate, command)
        return self._act(
            aggregate, key, lambda a: getattr(a, step.method)(**args, **by(actor, key))
        )

    def _subject(self, step: Step, subject: Any) -> Aggregate:
        if step.aggregate is Customer:
            return self.customer(subject)
        if step.aggregate is FieldServiceRecord:
            return self.field_service_record(subject)
        return self.entry(subject)

    # Customers (4.1.5) -----------------------------------------------------------------

    def _register_customer(
        self, command: c.RegisterCustomer, actor: Actor, request_key: str | None
    ) -> tuple[Customer, bool]:
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
        customer = Customer(**command.args(self.clock()), **by(actor, request_key))
        self.save(customer)
        return customer, True

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

    def _register(
        self, cls: type[E], command: c._Entry, actor: Actor, request_key: str | None
    ) -> tuple[E, bool]:
        """Record customer information (4.1.2) or a complaint (4.4.1) in the Register."""
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
            customer=customer.ref,
            **command.args(self.clock()),
            **by(actor, request_key),
        )
        # 4.1.2: the receiving department notifies Engineering of every entry; the
        # system does it as the entry is recorded, so it cannot be forgotten.
        entry.notify_engineering(**by(actor, request_key))
        if command.important_reason:
            # 4.1.3: important information goes to the Chief Engineer promptly.
            entry.report_important(
                reason=command.important_reason,
                reported_at=self.clock(),
                **by(actor, request_key),
            )
        self.save(entry)
        return entry, True

    def entry(self, case_id: UUID) -> RegisterEntry:
        found = self._find(case_id, RegisterEntry)
        if found is None:
            raise NotFound(
                f"no register entry {case_id}",
                code="intake.entry.not_found",
                params={"case_id": str(case_id)},
            )
        return found

    # Field service (4.1.4, 4.5) --------------------------------------------------------------

    def _record_field_service(
        self, command: c.RecordFieldService, actor: Actor, request_key: str | None
    ) -> tuple[FieldServiceRecord, bool]:
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
        record = FieldServiceRecord(**identity, details=command.details(), **by(actor, request_key))
        self.save(record)
        return record, True

    def _stay_of(self, record: FieldServiceRecord, command: c.FieldServiceDetails) -> None:
        """An amended day's stay, checked at its site's time as the day's record was."""
        customer = self._find(Customer.create_id(record.customer["code"]), Customer)
        site = (customer.site(record.site) if customer is not None else None) or {}
        self._stay(command, date.fromisoformat(record.work_date), site.get("timezone"))

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
