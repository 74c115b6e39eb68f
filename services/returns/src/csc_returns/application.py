"""Returns' reactions to intake's public events, and the commands of 4.3 over HTTP.

Returns' own decisions (everything after a case is opened) are recorded in
its store, the system of record, and published on ``csc.returns.v1`` by the
outbox relay. Only the opening of cases comes from Kafka, so a replay from
offset 0 of ``csc.intake.v1`` rebuilds the cases, not the decisions: an
auditor replays the decisions from ``csc.returns.v1``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import ProcessingEvent

from csc_contracts import Actor, ComplaintCategory, ComplaintLogged, FeedbackKind, FeedbackReceived
from csc_messaging.application import ConsumerApplication
from csc_messaging.commands import Now, by, utcnow
from csc_messaging.refusals import NotFound
from csc_returns import commands as c
from csc_returns.commands import STEPS
from csc_returns.domain import ReturnCase, RuleViolation
from csc_returns.permissions import authorize

# Case ids of requests made before any complaint: a retry (same Idempotency-Key)
# finds the case its first attempt opened.
CASE_NAMESPACE = UUID("0d7c3a52-8e4b-4f61-a2c9-3b5e7f1d9a64")


class ReturnsApplication(ConsumerApplication):
    name = "returns"

    def __init__(self, env: dict[str, str] | None = None, now: Now = utcnow) -> None:
        super().__init__(env)
        self.now = now

    # Reactions --------------------------------------------------------------------------

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events this service does not react to change nothing."""

    @react.register
    def on_complaint_logged(
        self, event: ComplaintLogged, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.4.2: a product-quality complaint may need units swapped or returned.
        if event.category is ComplaintCategory.QUALITY:
            self._open(event, processing_event)

    @react.register
    def on_feedback_received(
        self, event: FeedbackReceived, processing_event: ProcessingEvent[UUID]
    ) -> None:
        # 4.1.2 kind 3: nonconformities found in use may come back as returns.
        if event.kind is FeedbackKind.QUALITY_PROBLEM:
            self._open(event, processing_event)

    def _open(
        self, event: ComplaintLogged | FeedbackReceived, processing_event: ProcessingEvent[UUID]
    ) -> None:
        if self.case(event.case_id) is not None:
            return
        processing_event.collect_events(
            ReturnCase(
                case_id=event.case_id,
                opened_by_event=event.event_id,
                opened_by_type=event.event_type(),
                reported_at=event.received_at,
                customer=event.customer.model_dump(mode="json"),
                product=event.product,
                lot=event.lot,
                description=event.text,
            )
        )

    def case(self, case_id: UUID) -> ReturnCase | None:
        return self.find(case_id, ReturnCase)

    # Commands: every step declared in ``commands.STEPS`` -----------------------------------

    def open_with(
        self, action: str, command: c._Opening, actor: Actor, key: str | None = None
    ) -> tuple[ReturnCase, bool]:
        """Record a request that may open its case (4.3.1, 4.3.2). Returns (case, recorded)."""
        step = STEPS[action]
        authorize(action, actor)
        args = command.args(self.now())
        return self._opening(
            command,
            key,
            command.opening(),
            lambda case: getattr(case, step.method)(**args, **by(actor, key)),
        )

    def take(
        self, action: str, case_id: UUID, command: c.Command, actor: Actor, key: str | None = None
    ) -> ReturnCase:
        """Record one step on a case, as ``commands.STEPS`` declares it."""
        step = STEPS[action]
        authorize(action, actor)
        args = command.args(self.now())
        return self._step(
            case_id, key, lambda case: getattr(case, step.method)(**args, **by(actor, key))
        )

    def _opening(
        self,
        command: c._Opening,
        key: str | None,
        description: str,
        change: Callable[[ReturnCase], None],
    ) -> tuple[ReturnCase, bool]:
        with self.lock:
            if command.case_id is not None:
                case = self.case(command.case_id)
                if case is None:
                    raise RuleViolation(
                        "4.3",
                        f"returns has seen no case {command.case_id}: a quality complaint "
                        "(4.4.1) or quality-problem report (4.1.2) opens one; leave case_id "
                        "out to open a case with this request",
                        field="case_id",
                        kind="invalid",
                        code="returns.case.unknown",
                        params={"case_id": str(command.case_id)},
                    )
                if command.customer_code and command.customer_code != case.customer["code"]:
                    raise RuleViolation(
                        "4.3",
                        f"case {command.case_id} is of customer {case.customer['code']}, "
                        f"not {command.customer_code}",
                        field="customer_code",
                        kind="invalid",
                        code="returns.case.other_customer",
                        params={
                            "case_id": str(command.case_id),
                            "customer": case.customer["code"],
                            "given": command.customer_code,
                        },
                    )
            else:
                case_id = uuid5(CASE_NAMESPACE, key) if key else uuid4()
                existing = self.case(case_id)
                if existing is not None:
                    case = existing
                else:
                    if command.customer_code is None:
                        raise RuleViolation(
                            "4.3",
                            "a request without case_id opens a case: name the customer",
                            field="customer_code",
                            kind="invalid",
                            code="returns.case.customer_needed",
                        )
                    customer = {"code": command.customer_code, "name": command.customer_name}
                    case = ReturnCase(
                        case_id=case_id,
                        opened_by_event=None,
                        opened_by_type=None,
                        reported_at=self.now(),
                        customer={k: v for k, v in customer.items() if v is not None},
                        product=command.product,
                        lot=getattr(command, "lot", None),
                        description=description,
                    )
            if case.has_handled(key):
                return case, False
            change(case)
            self.save(case)
            return case, True

    # Shared -----------------------------------------------------------------------------------

    def _step(
        self, case_id: UUID, key: str | None, change: Callable[[ReturnCase], None]
    ) -> ReturnCase:
        with self.lock:
            case = self.case(case_id)
            if case is None:
                raise NotFound(
                    f"no return case {case_id}",
                    code="returns.case.not_found",
                    params={"case_id": str(case_id)},
                )
            # A retried request (same Idempotency-Key) finds its effect already recorded.
            if not case.has_handled(key):
                change(case)
                self.save(case)
            return case
