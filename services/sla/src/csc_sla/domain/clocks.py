"""A clock watches one promise of the procedure for one case.

Its deadlines are computed when it starts and stored in its events, so a
restart or a replay never loses or moves one. A deadline fires when time
reaches it, in event time: a clock met at 10 h after an 8-hour promise has
its warning and breach recorded first, at their true times, whether the
service was running then or not.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from csc_sla.domain.calendar import Calendar

CLOCK_NAMESPACE = UUID("a4b1c6de-7f1e-4c33-9a55-0f2d6b8e4c21")

Actor = dict[str, str]
SYSTEM: Actor = {"user": "sla", "department": "system"}


class ClockRuleViolation(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def calendar_of(spec: dict[str, Any]) -> Calendar:
    return Calendar(
        business=spec["business"],
        timezone=spec["timezone"],
        day_start=time.fromisoformat(spec["day_start"]),
        day_end=time.fromisoformat(spec["day_end"]),
        workdays=frozenset(spec["workdays"]),
        holidays=frozenset(date.fromisoformat(d) for d in spec["holidays"]),
    )


def calendar_spec(calendar: Calendar) -> dict[str, Any]:
    return {
        "business": calendar.business,
        "timezone": calendar.timezone,
        "day_start": calendar.day_start.isoformat(),
        "day_end": calendar.day_end.isoformat(),
        "workdays": sorted(calendar.workdays),
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
    }


class Clock(Aggregate):
    @staticmethod
    def create_id(case_id: UUID, kind: str) -> UUID:
        return uuid5(CLOCK_NAMESPACE, f"{kind}:{case_id}")

    class Started(Aggregate.Created):
        case_id: UUID
        kind: str
        clause: str
        customer: dict[str, Any]
        customer_class: str
        started_at: datetime
        started_by_event: UUID
        target_seconds: float
        calendar: dict[str, Any]
        warn_at: datetime
        due_at: datetime
        escalate_at: datetime
        ladder: dict[str, Any]

    class Paused(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        paused_at: datetime
        reason: str
        note: str | None
        actor: Actor
        request_key: str | None = None

    class Resumed(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        resumed_at: datetime
        paused_seconds: float
        warn_at: datetime
        due_at: datetime
        escalate_at: datetime
        actor: Actor
        request_key: str | None = None

    class Warned(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        at: datetime
        notify: str

    class Breached(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        at: datetime
        notify: str

    class Escalated(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        at: datetime
        level: int
        notify: str

    class Met(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        met_at: datetime
        met_by_event: UUID
        within_target: bool
        paused_seconds: float

    @event(Started)
    def __init__(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        customer: dict[str, Any],
        customer_class: str,
        started_at: datetime,
        started_by_event: UUID,
        target_seconds: float,
        calendar: dict[str, Any],
        warn_at: datetime,
        due_at: datetime,
        escalate_at: datetime,
        ladder: dict[str, Any],
    ) -> None:
        self.case_id = case_id
        self.kind = kind
        self.clause = clause
        self.customer = customer
        self.customer_class = customer_class
        self.started_at = started_at
        self.target = timedelta(seconds=target_seconds)
        self.calendar_spec = calendar
        self.warn_at = warn_at
        self.due_at = due_at
        self.escalate_at = escalate_at
        self.ladder = ladder
        self.paused_at: datetime | None = None
        self.paused_total = timedelta(0)
        self.warned = self.breached = self.escalated = False
        self.met_at: datetime | None = None
        self.request_keys: set[str] = set()

    @classmethod
    def start(
        cls,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        customer: dict[str, Any],
        customer_class: str,
        started_at: datetime,
        started_by_event: UUID,
        target: timedelta,
        calendar: Calendar,
        warn_share: float,
        escalate_after: timedelta,
        owner: str,
        breach_notifies: str,
        escalate_notifies: str,
    ) -> Clock:
        due_at = calendar.add(started_at, target)
        return cls(
            case_id=case_id,
            kind=kind,
            clause=clause,
            customer=customer,
            customer_class=customer_class,
            started_at=started_at,
            started_by_event=started_by_event,
            target_seconds=target.total_seconds(),
            calendar=calendar_spec(calendar),
            warn_at=calendar.add(started_at, target * warn_share),
            due_at=due_at,
            escalate_at=calendar.add(due_at, escalate_after),
            ladder={
                "warn_share": warn_share,
                "owner": owner,
                "breach_notifies": breach_notifies,
                "escalate_notifies": escalate_notifies,
                "escalate_after_seconds": escalate_after.total_seconds(),
            },
        )

    def _ids(self) -> dict[str, Any]:
        # Every event names its case and promise, so a subscriber needs no other to read it.
        return {"case_id": self.case_id, "kind": self.kind, "clause": self.clause}

    @property
    def calendar(self) -> Calendar:
        return calendar_of(self.calendar_spec)

    @property
    def is_open(self) -> bool:
        return self.met_at is None

    def next_deadline(self) -> datetime | None:
        """The next moment something fires, or None (met, paused, or all fired)."""
        if not self.is_open or self.paused_at is not None:
            return None
        pending = [
            at
            for at, done in (
                (self.warn_at, self.warned),
                (self.due_at, self.breached),
                (self.escalate_at, self.escalated),
            )
            if not done
        ]
        return min(pending) if pending else None

    def advance(self, now: datetime) -> int:
        """Fire every deadline up to ``now``, each once, at its true time."""
        fired = 0
        if not self.is_open or self.paused_at is not None:
            return fired
        if not self.warned and self.warn_at <= now:
            self._warned(**self._ids(), at=self.warn_at, notify=self.ladder["owner"])
            fired += 1
        if not self.breached and self.due_at <= now:
            self._breached(**self._ids(), at=self.due_at, notify=self.ladder["breach_notifies"])
            fired += 1
        if not self.escalated and self.escalate_at <= now:
            self._escalated(
                **self._ids(), at=self.escalate_at, level=1, notify=self.ladder["escalate_notifies"]
            )
            fired += 1
        return fired

    def has_handled(self, request_key: str | None) -> bool:
        return request_key is not None and request_key in self.request_keys

    def pause(
        self,
        *,
        at: datetime,
        reason: str,
        note: str | None,
        actor: Actor,
        request_key: str | None = None,
    ) -> None:
        if not self.is_open:
            raise ClockRuleViolation("the clock is met; there is nothing to pause")
        if self.paused_at is not None:
            raise ClockRuleViolation("the clock is already paused")
        if at < self.started_at:
            raise ClockRuleViolation("a clock cannot be paused before it started")
        self.advance(at)
        self._paused(
            **self._ids(),
            paused_at=at,
            reason=reason,
            note=note,
            actor=actor,
            request_key=request_key,
        )

    def resume(self, *, at: datetime, actor: Actor, request_key: str | None = None) -> None:
        if self.paused_at is None:
            raise ClockRuleViolation("the clock is not paused")
        if at < self.paused_at:
            raise ClockRuleViolation("a clock cannot resume before it was paused")
        calendar = self.calendar
        paused_at = self.paused_at

        def moved(deadline: datetime) -> datetime:
            if deadline <= paused_at:
                return deadline  # already fired before the pause
            return calendar.add(at, calendar.between(paused_at, deadline))

        self._resumed(
            **self._ids(),
            resumed_at=at,
            paused_seconds=calendar.between(paused_at, at).total_seconds(),
            warn_at=moved(self.warn_at),
            due_at=moved(self.due_at),
            escalate_at=moved(self.escalate_at),
            actor=actor,
            request_key=request_key,
        )

    def meet(self, *, at: datetime, by_event: UUID) -> None:
        if not self.is_open:
            return  # the first answer meets the promise; later ones change nothing
        if self.paused_at is not None:
            self.resume(at=max(at, self.paused_at), actor=SYSTEM)
        self.advance(at)
        self._met(
            **self._ids(),
            met_at=at,
            met_by_event=by_event,
            within_target=at <= self.due_at,
            paused_seconds=self.paused_total.total_seconds(),
        )

    @event(Paused)
    def _paused(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        paused_at: datetime,
        reason: str,
        note: str | None,
        actor: Actor,
        request_key: str | None = None,
    ) -> None:
        self.paused_at = paused_at
        self._seen(request_key)

    @event(Resumed)
    def _resumed(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        resumed_at: datetime,
        paused_seconds: float,
        warn_at: datetime,
        due_at: datetime,
        escalate_at: datetime,
        actor: Actor,
        request_key: str | None = None,
    ) -> None:
        self.paused_at = None
        self.paused_total += timedelta(seconds=paused_seconds)
        self.warn_at, self.due_at, self.escalate_at = warn_at, due_at, escalate_at
        self._seen(request_key)

    def _seen(self, request_key: str | None) -> None:
        # Events stored before pause and resume took an Idempotency-Key carry none.
        if request_key:
            self.request_keys.add(request_key)

    @event(Warned)
    def _warned(self, *, case_id: UUID, kind: str, clause: str, at: datetime, notify: str) -> None:
        self.warned = True

    @event(Breached)
    def _breached(
        self, *, case_id: UUID, kind: str, clause: str, at: datetime, notify: str
    ) -> None:
        self.breached = True

    @event(Escalated)
    def _escalated(
        self, *, case_id: UUID, kind: str, clause: str, at: datetime, level: int, notify: str
    ) -> None:
        self.escalated = True

    @event(Met)
    def _met(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        met_at: datetime,
        met_by_event: UUID,
        within_target: bool,
        paused_seconds: float,
    ) -> None:
        self.met_at = met_at
