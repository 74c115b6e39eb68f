"""A return case: returned product of one register case, from the first report to disposition.

The case is a state machine that cannot be skipped. Each command checks the
state first and raises ``RuleViolation`` naming its clause before any event
is triggered, so a refused command records nothing. Each event applies itself
(``Step.change``) and names where it leaves the case (``leads_to``), which the
read side shows too, so the command methods only decide.

    reported ──► replacement_agreed ──► replacement_shipped                      (4.3.1)
        │
        └──► return_requested ──► awaiting_quality ──► rejected_by_quality       (4.3.2-4.3.2.2)
                                        │
                                        └──► confirmed_by_quality ──► receipt_authorized
                         ──► received ──► sampled                                (4.3.2.2-4.3.2.3)
                         ──► identified ──► isolated ──► nonconformance_reported
                         ──► reviewed ──► dispositioned                          (4.3.3)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from csc_returns.domain.errors import RuleViolation

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""

REPORTED = "reported"
REPLACEMENT_AGREED = "replacement_agreed"
REPLACEMENT_SHIPPED = "replacement_shipped"
RETURN_REQUESTED = "return_requested"
AWAITING_QUALITY = "awaiting_quality"
CONFIRMED = "confirmed_by_quality"
REJECTED = "rejected_by_quality"
RECEIPT_AUTHORIZED = "receipt_authorized"
RECEIVED = "received"
SAMPLED = "sampled"
IDENTIFIED = "identified"
ISOLATED = "isolated"
NC_REPORTED = "nonconformance_reported"
REVIEWED = "reviewed"
DISPOSITIONED = "dispositioned"

STATUSES = (
    REPORTED,
    REPLACEMENT_AGREED,
    REPLACEMENT_SHIPPED,
    RETURN_REQUESTED,
    AWAITING_QUALITY,
    CONFIRMED,
    REJECTED,
    RECEIPT_AUTHORIZED,
    RECEIVED,
    SAMPLED,
    IDENTIFIED,
    ISOLATED,
    NC_REPORTED,
    REVIEWED,
    DISPOSITIONED,
)
# Goods of these cases sit in quarantine (4.3.3) until every unit is dispositioned.
IN_QUARANTINE = (ISOLATED, NC_REPORTED, REVIEWED)


def report_no(case_id: UUID) -> str:
    """The PNPR's number: one report per case, readable on a tag or a phone call."""
    return f"PNPR-{case_id.hex[:8].upper()}"


class ReturnCase(Aggregate):
    """Returned product of one register case, from the first report to disposition (4.3).

    A quality complaint or a quality-problem report may end in replacement
    (4.3.1) or a return (4.3.2), so returns keeps its own case for it from
    the start, under the register's case id.
    """

    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    class Opened(Aggregate.Created):
        case_id: UUID
        # None when Marketing opened the case with a request, before any complaint.
        opened_by_event: UUID | None
        opened_by_type: str | None
        reported_at: datetime
        customer: dict[str, Any]
        product: str | None
        lot: str | None
        description: str

    class Step(Aggregate.Event):
        """A step someone took on the case: it moves the case on and applies itself."""

        actor: ActorRecord
        request_key: str | None

        # Where the case stands after this step; None where the step decides (or keeps) it.
        leads_to: ClassVar[str | None] = None

        def moves_to(self) -> str | None:
            return self.leads_to

        def apply(self, aggregate: Any) -> None:
            self.change(aggregate)
            if (status := self.moves_to()) is not None:
                aggregate.status = status
            aggregate._seen(self.request_key)

        def change(self, case: ReturnCase) -> None:
            """What the step records on the case, beyond where it stands."""

    class ReplacementAgreed(Step):
        customer: dict[str, Any]
        product: str | None
        delivery: str | None
        lot: str
        quantity: int
        units: list[str]
        agreed_with: str | None

        leads_to = REPLACEMENT_AGREED

        def change(self, case: ReturnCase) -> None:
            case.product = self.product
            case.replacement = {"lot": self.lot, "quantity": self.quantity, "units": self.units}

    class ReplacementShipped(Step):
        quantity: int
        lot: str
        units: list[str]
        shipped_at: datetime
        shipping_note: str | None

        leads_to = REPLACEMENT_SHIPPED

    class ReturnRequested(Step):
        customer: dict[str, Any]
        product: str | None
        delivery: str
        lot: str
        quantity: int
        reason: str

        leads_to = RETURN_REQUESTED

        def change(self, case: ReturnCase) -> None:
            case.product = self.product
            case.request = {
                "delivery": self.delivery,
                "lot": self.lot,
                "quantity": self.quantity,
                "reason": self.reason,
            }

    class ConfirmationRequested(Step):
        note: str | None

        leads_to = AWAITING_QUALITY

    class ConfirmedByQuality(Step):
        finding: str

        leads_to = CONFIRMED

    class RejectedByQuality(Step):
        reason: str

        leads_to = REJECTED

        def change(self, case: ReturnCase) -> None:
            case.rejection = self.reason

    class ReceiptAuthorized(Step):
        quantity: int
        lot: str

        leads_to = RECEIPT_AUTHORIZED

        def change(self, case: ReturnCase) -> None:
            case.authorized_quantity = self.quantity

    class Received(Step):
        quantity: int
        location: str
        lot: str
        received_at: datetime

        leads_to = RECEIVED

        def change(self, case: ReturnCase) -> None:
            case.received = {"quantity": self.quantity, "location": self.location, "lot": self.lot}

    class SamplesTaken(Step):
        condition: str
        sample_ids: list[str]

        leads_to = SAMPLED

        def change(self, case: ReturnCase) -> None:
            case.sample_ids = list(self.sample_ids)

    class MoreSamplesRequested(Step):
        asked: str
        quantity: int | None
        reason: str

    class Identified(Step):
        tag: str
        quantity: int

        leads_to = IDENTIFIED

        def change(self, case: ReturnCase) -> None:
            case.tag = self.tag

    class Isolated(Step):
        location: str
        quantity: int

        leads_to = ISOLATED

        def change(self, case: ReturnCase) -> None:
            case.location = self.location

    class NonconformanceReported(Step):
        description: str
        # What corrective action (4.3.4) needs, as it stood when reported.
        customer: dict[str, Any]
        product: str | None
        delivery: str | None
        lot: str
        quantity: int
        sample_ids: list[str]
        tag: str
        location: str

        leads_to = NC_REPORTED

    class Reviewed(Step):
        board: list[dict[str, str]]
        decision: list[dict[str, Any]]
        note: str | None

        leads_to = REVIEWED

        def change(self, case: ReturnCase) -> None:
            case.decision = {line["disposition"]: int(line["quantity"]) for line in self.decision}

    class Dispositioned(Step):
        disposition: str
        quantity: int
        concession: str | None
        note: str | None
        dispositioned: int
        remaining: int

        def moves_to(self) -> str | None:
            # The PNPR closes when every received unit is dispositioned (4.3.3).
            return DISPOSITIONED if self.remaining == 0 else None

        def change(self, case: ReturnCase) -> None:
            case.done[self.disposition] = case.done.get(self.disposition, 0) + self.quantity

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        opened_by_event: UUID | None,
        opened_by_type: str | None,
        reported_at: datetime,
        customer: dict[str, Any],
        product: str | None,
        lot: str | None,
        description: str,
    ) -> None:
        self.opened_by_event = opened_by_event
        self.opened_by_type = opened_by_type
        self.reported_at = reported_at
        self.customer = customer
        self.product = product
        self.lot = lot
        self.description = description
        self.status = REPORTED
        self.request_keys: set[str] = set()
        self.replacement: dict[str, Any] | None = None
        self.request: dict[str, Any] | None = None
        self.rejection: str | None = None
        self.authorized_quantity = 0
        self.received: dict[str, Any] | None = None
        self.sample_ids: list[str] = []
        self.tag: str | None = None
        self.location: str | None = None
        self.decision: dict[str, int] = {}
        self.done: dict[str, int] = {}

    # Idempotency ---------------------------------------------------------------------------

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys

    def _seen(self, request_key: str | None) -> None:
        if request_key:
            self.request_keys.add(request_key)

    def _require(self, allowed: tuple[str, ...], clause: str, why: str, *, code: str) -> None:
        if self.status not in allowed:
            raise RuleViolation(
                clause,
                f"{why}; this case is {self.status}",
                code=code,
                params={"status": self.status},
            )

    @property
    def report_no(self) -> str:
        return report_no(self.id)

    @property
    def received_quantity(self) -> int:
        return int(self.received["quantity"]) if self.received else 0

    # Partial replacement (4.3.1) ----------------------------------------------------------------

    def agree_replacement(
        self,
        *,
        product: str | None,
        delivery: str | None,
        lot: str,
        quantity: int,
        units: list[str],
        agreed_with: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._require(
            (REPORTED,),
            "4.3.1",
            "units are replaced only on a case that is neither being replaced nor returned whole",
            code="returns.replace.not_reported",
        )
        if units and len(units) != quantity:
            raise RuleViolation(
                "4.3.1",
                f"{len(units)} unit ids for a quantity of {quantity}",
                field="units",
                kind="invalid",
                code="returns.replace.unit_count",
                params={"units": len(units), "quantity": quantity},
            )
        self.trigger_event(
            self.ReplacementAgreed,
            customer=self.customer,
            product=product or self.product,
            delivery=delivery,
            lot=lot,
            quantity=quantity,
            units=units,
            agreed_with=agreed_with,
            actor=actor,
            request_key=request_key,
        )

    def ship_replacement(
        self,
        *,
        quantity: int,
        lot: str,
        units: list[str],
        shipped_at: datetime,
        shipping_note: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._require(
            (REPLACEMENT_AGREED,),
            "4.3.1",
            "replacement units are shipped once, after Marketing agreed the replacement",
            code="returns.ship.not_agreed",
        )
        assert self.replacement is not None
        agreed = int(self.replacement["quantity"])
        if quantity != agreed:
            raise RuleViolation(
                "4.3.1",
                f"{quantity} units shipped for the {agreed} agreed with the customer",
                code="returns.ship.quantity",
                params={"quantity": quantity, "agreed": agreed},
            )
        self.trigger_event(
            self.ReplacementShipped,
            quantity=quantity,
            lot=lot,
            units=units,
            shipped_at=shipped_at,
            shipping_note=shipping_note,
            actor=actor,
            request_key=request_key,
        )

    # Whole-batch return (4.3.2) ----------------------------------------------------------------

    def request_return(
        self,
        *,
        product: str | None,
        delivery: str,
        lot: str,
        quantity: int,
        reason: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._require(
            (REPORTED,),
            "4.3.2",
            "a batch return is requested once per case, and not for units being replaced (4.3.1)",
            code="returns.request.not_reported",
        )
        self.trigger_event(
            self.ReturnRequested,
            customer=self.customer,
            product=product or self.product,
            delivery=delivery,
            lot=lot,
            quantity=quantity,
            reason=reason,
            actor=actor,
            request_key=request_key,
        )

    def request_confirmation(
        self, *, note: str | None, actor: ActorRecord, request_key: str | None
    ) -> None:
        self._require(
            (RETURN_REQUESTED,),
            "4.3.2.1",
            "Marketing asks QC to confirm a return once, after the customer's request is recorded",
            code="returns.ask.not_requested",
        )
        self.trigger_event(
            self.ConfirmationRequested, note=note, actor=actor, request_key=request_key
        )

    def confirm(self, *, finding: str, actor: ActorRecord, request_key: str | None) -> None:
        self._require(
            (AWAITING_QUALITY,),
            "4.3.2.2",
            "QC confirms or rejects a return once, after Marketing asked for it (4.3.2.1)",
            code="returns.quality.not_asked",
        )
        self.trigger_event(
            self.ConfirmedByQuality, finding=finding, actor=actor, request_key=request_key
        )

    def reject(self, *, reason: str, actor: ActorRecord, request_key: str | None) -> None:
        self._require(
            (AWAITING_QUALITY,),
            "4.3.2.2",
            "QC confirms or rejects a return once, after Marketing asked for it (4.3.2.1)",
            code="returns.quality.not_asked",
        )
        self.trigger_event(
            self.RejectedByQuality, reason=reason, actor=actor, request_key=request_key
        )

    def authorize_receipt(self, *, actor: ActorRecord, request_key: str | None) -> None:
        if self.status == REJECTED:
            raise RuleViolation(
                "4.3.2.2",
                f"QC rejected this return ({self.rejection}); nothing is received",
                code="returns.receive.rejected",
                params={"rejection": self.rejection},
            )
        self._require(
            (CONFIRMED,),
            "4.3.2.2",
            "Marketing authorizes the Warehouse to receive only after QC confirmed the "
            "quality abnormality",
            code="returns.authorize.not_confirmed",
        )
        assert self.request is not None
        self.trigger_event(
            self.ReceiptAuthorized,
            quantity=self.request["quantity"],
            lot=self.request["lot"],
            actor=actor,
            request_key=request_key,
        )

    def receive(
        self,
        *,
        quantity: int,
        location: str,
        lot: str,
        received_at: datetime,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._require(
            (RECEIPT_AUTHORIZED,),
            "4.3.2.2",
            "the Warehouse receives a return once, only after QC confirmed it and Marketing "
            "authorized receipt",
            code="returns.receive.not_authorized",
        )
        assert self.request is not None
        if quantity > self.authorized_quantity:
            raise RuleViolation(
                "4.3.2.2",
                f"receiving {quantity} units is more than the {self.authorized_quantity} "
                "requested and authorized",
                code="returns.receive.too_many",
                params={"quantity": quantity, "authorized": self.authorized_quantity},
            )
        if lot != self.request["lot"]:
            raise RuleViolation(
                "4.3.2.2",
                f"lot {lot} is not the lot whose return was authorized ({self.request['lot']})",
                code="returns.receive.other_lot",
                params={"lot": lot, "authorized_lot": self.request["lot"]},
            )
        self.trigger_event(
            self.Received,
            quantity=quantity,
            location=location,
            lot=lot,
            received_at=received_at,
            actor=actor,
            request_key=request_key,
        )

    def take_samples(
        self, *, condition: str, sample_ids: list[str], actor: ActorRecord, request_key: str | None
    ) -> None:
        self._require(
            (RECEIVED,),
            "4.3.2.3",
            "QC confirms the condition and picks samples once, from goods the Warehouse received",
            code="returns.samples.not_received",
        )
        if len(sample_ids) > self.received_quantity:
            raise RuleViolation(
                "4.3.2.3",
                f"{len(sample_ids)} samples from {self.received_quantity} units received",
                code="returns.samples.too_many",
                params={"samples": len(sample_ids), "received": self.received_quantity},
            )
        self.trigger_event(
            self.SamplesTaken,
            condition=condition,
            sample_ids=sample_ids,
            actor=actor,
            request_key=request_key,
        )

    def request_more_samples(
        self,
        *,
        asked: str,
        quantity: int | None,
        reason: str,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        # 4.3.2.3: QC confirms the condition of what came back; where that is not enough,
        # it asks the customer for more, and the case waits for them where it stands.
        self._require(
            (RECEIVED,),
            "4.3.2.3",
            "QC asks the customer for more samples of goods the Warehouse received, before "
            "picking them",
            code="returns.more_samples.not_received",
        )
        self.trigger_event(
            self.MoreSamplesRequested,
            asked=asked,
            quantity=quantity,
            reason=reason,
            actor=actor,
            request_key=request_key,
        )

    # The PNPR (4.3.3) --------------------------------------------------------------------------

    def identify(self, *, tag: str, actor: ActorRecord, request_key: str | None) -> None:
        self._require(
            (SAMPLED,),
            "4.3.3",
            "returned goods are tagged as nonconforming once, after QC checked them on "
            "site (4.3.2.3)",
            code="returns.identify.not_sampled",
        )
        self.trigger_event(
            self.Identified,
            tag=tag,
            quantity=self.received_quantity,
            actor=actor,
            request_key=request_key,
        )

    def isolate(self, *, location: str, actor: ActorRecord, request_key: str | None) -> None:
        self._require(
            (IDENTIFIED,),
            "4.3.3",
            "nonconforming goods are isolated once, after they are tagged",
            code="returns.isolate.not_identified",
        )
        self.trigger_event(
            self.Isolated,
            location=location,
            quantity=self.received_quantity,
            actor=actor,
            request_key=request_key,
        )

    def report(self, *, description: str, actor: ActorRecord, request_key: str | None) -> None:
        self._require(
            (ISOLATED,),
            "4.3.3",
            "the nonconformance is reported once, after the goods are isolated",
            code="returns.nc_report.not_isolated",
        )
        assert self.request is not None and self.tag is not None and self.location is not None
        self.trigger_event(
            self.NonconformanceReported,
            description=description,
            customer=self.customer,
            product=self.product,
            delivery=self.request["delivery"],
            lot=self.request["lot"],
            quantity=self.received_quantity,
            sample_ids=self.sample_ids,
            tag=self.tag,
            location=self.location,
            actor=actor,
            request_key=request_key,
        )

    def review(
        self,
        *,
        board: list[dict[str, str]],
        decision: list[dict[str, Any]],
        note: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._require(
            (NC_REPORTED,),
            "4.3.3",
            "the review board decides once, on a reported nonconformance",
            code="returns.review.not_reported",
        )
        dispositions = [line["disposition"] for line in decision]
        if len(set(dispositions)) != len(dispositions):
            raise RuleViolation(
                "4.3.3",
                "each disposition appears once in the decision, with all its units",
                field="decision",
                kind="invalid",
                code="returns.review.disposition_twice",
            )
        decided = sum(int(line["quantity"]) for line in decision)
        if decided != self.received_quantity:
            raise RuleViolation(
                "4.3.3",
                f"quantities must add up: the decision covers {decided} units, "
                f"{self.received_quantity} were received",
                code="returns.review.quantities",
                params={"decided": decided, "received": self.received_quantity},
            )
        self.trigger_event(
            self.Reviewed,
            board=board,
            decision=decision,
            note=note,
            actor=actor,
            request_key=request_key,
        )

    def disposition(
        self,
        *,
        disposition: str,
        quantity: int,
        concession: str | None,
        note: str | None,
        actor: ActorRecord,
        request_key: str | None,
    ) -> None:
        self._require(
            (REVIEWED,),
            "4.3.3",
            "units are dispositioned only as the review board decided, until all are",
            code="returns.disposition.not_reviewed",
        )
        if disposition == "use_as_is" and not concession:
            raise RuleViolation(
                "4.3.3",
                "use as is needs the concession that allows it",
                field="concession",
                kind="invalid",
                code="returns.disposition.concession_needed",
            )
        left = self.decision.get(disposition, 0) - self.done.get(disposition, 0)
        if quantity > left:
            raise RuleViolation(
                "4.3.3",
                f"the review board sent {self.decision.get(disposition, 0)} units to "
                f"{disposition}; {quantity} more would exceed it by {quantity - left}",
                code="returns.disposition.exceeds",
                params={
                    "decided": self.decision.get(disposition, 0),
                    "disposition": disposition,
                    "quantity": quantity,
                    "over": quantity - left,
                },
            )
        dispositioned = sum(self.done.values()) + quantity
        self.trigger_event(
            self.Dispositioned,
            disposition=disposition,
            quantity=quantity,
            concession=concession,
            note=note,
            dispositioned=dispositioned,
            remaining=self.received_quantity - dispositioned,
            actor=actor,
            request_key=request_key,
        )
