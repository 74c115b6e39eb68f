"""Intake's commands and queries over its event store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application

from csc_contracts import Department
from csc_intake.commands import LogComplaint, RegisterFeedback, _Command
from csc_intake.domain import Complaint, FeedbackEntry

# Case ids from an Idempotency-Key: a retried request finds the case it created.
CASE_NAMESPACE = UUID("6f0f2f43-3a55-4b8e-9d37-5d1b0c7f6a01")
CLOCK_SKEW = timedelta(minutes=5)

Clock = Callable[[], datetime]
T = TypeVar("T")
E = TypeVar("E", FeedbackEntry, Complaint)


def utcnow() -> datetime:
    return datetime.now(UTC)


class RuleViolation(Exception):
    """A command the procedure does not allow; ``clause`` says which rule."""

    def __init__(self, clause: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause
        self.message = message
        self.field = field


class IntakeApplication(Application[UUID]):
    name = "intake"

    def __init__(self, env: dict[str, str] | None = None, clock: Clock = utcnow) -> None:
        super().__init__(env)
        self.clock = clock

    def case_id_for(self, kind: str, idempotency_key: str | None) -> UUID:
        if idempotency_key is None:
            return uuid4()
        return uuid5(CASE_NAMESPACE, f"{kind}:{idempotency_key}")

    def register_feedback(
        self, command: RegisterFeedback, idempotency_key: str | None = None
    ) -> tuple[FeedbackEntry, bool]:
        """Record customer information in the Register (4.1.2). Returns (entry, created)."""
        return self._register(FeedbackEntry, command, idempotency_key, kind=command.kind.value)

    def log_complaint(
        self, command: LogComplaint, idempotency_key: str | None = None
    ) -> tuple[Complaint, bool]:
        """Record a complaint in the Register (4.4.1). Returns (complaint, created)."""
        return self._register(Complaint, command, idempotency_key, category=command.category.value)

    def _register(
        self, cls: type[E], command: _Command, idempotency_key: str | None, **specific: Any
    ) -> tuple[E, bool]:
        case_id = self.case_id_for(cls.__name__, idempotency_key)
        existing = self._existing(case_id, cls)
        if existing is not None:
            return existing, False
        self._check_recorder_and_time(command)
        entry = cls(case_id=case_id, **specific, **self._common(command))
        self.save(entry)
        return entry, True

    def get_feedback(self, case_id: UUID) -> FeedbackEntry | None:
        return self._existing(case_id, FeedbackEntry)

    def get_complaint(self, case_id: UUID) -> Complaint | None:
        return self._existing(case_id, Complaint)

    def _existing(self, case_id: UUID, cls: type[T]) -> T | None:
        try:
            aggregate: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            raise RuleViolation(
                "Idempotency-Key", f"case {case_id} exists and is not a {cls.__name__}"
            )
        return aggregate

    def _check_recorder_and_time(self, command: _Command) -> None:
        # 4.1.2 and 4.4.1: any department may receive it, Marketing records it.
        if command.actor.department is not Department.MARKETING:
            raise RuleViolation(
                "4.1.2/4.4.1",
                "Marketing records entries in the Customer Information Register; "
                f"{command.actor.department.value} received it, so name it as "
                "receiving_department and pass it to Marketing",
                field="actor.department",
            )
        if command.received_at is not None and command.received_at > self.clock() + CLOCK_SKEW:
            raise RuleViolation("received_at", "lies in the future", field="received_at")

    def _common(self, command: _Command) -> dict[str, Any]:
        return {
            "channel": command.channel.value,
            "receiving_department": command.receiving_department.value,
            "received_at": command.received_at or self.clock(),
            "customer": command.customer.model_dump(mode="json"),
            "text": command.text,
            "product": command.product,
            "lot": command.lot,
            "actor": command.actor.model_dump(mode="json"),
        }
