"""A clock watches one promise of the procedure for one case.

Its deadlines are computed when it starts and stored in its events, so a
restart or a replay never loses or moves one. A deadline fires when time
reaches it, in event time: a clock met at 10 h after an 8-hour promise has
its warning and breach recorded first, at their true times, whether the
service was running then or not.

A clock can start in the past: a call received on Friday, entered on
Wednesday. Deadlines that had passed before the clock was recorded are held,
not announced, until the facts entered with it have settled (``settle_at``):
the reply typed in a minute later may meet the clock in time, and nobody
should have been alarmed. If the clock is still open then, they are recorded
at their true times with ``found_late``: found after the fact, not a live alarm.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from csc_sla.domain.calendar import Calendar, calendar_of, calendar_spec

CLOCK_NAMESPACE = UUID("a4b1c6de-7f1e-4c33-9a55-0f2d6b8e4c21")

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""
SYSTEM: ActorRecord = {"user": "sla", "department": "system"}


class ClockRuleViolation(Exception):
    """``field``: the time given is wrong (out of order), not the clock's state."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        code: str,
        params: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.params = params or {}


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
        # Absent from clocks started before backdated facts were held.
        recorded_at: datetime | None = None
        settle_at: datetime | None = None
        # Absent from clocks started before calendars and policy were recorded versions.
        calendar_name: str | None = None
        calendar_version: int | None = None
        policy_version: int | None = None

    class Paused(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        paused_at: datetime
        reason: str
        note: str | None
        actor: ActorRecord
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
        actor: ActorRecord
        request_key: str | None = None

    class Retimed(Aggregate.Event):
        """A change of calendar or policy that said it re-times the running clocks."""

        case_id: UUID
        kind: str
        clause: str
        at: datetime
        reason: str
        actor: ActorRecord
        calendar: dict[str, Any]
        calendar_name: str
        calendar_version: int
        policy_version: int | None
        target_seconds: float
        ladder: dict[str, Any]
        warn_at: datetime
        due_at: datetime
        escalate_at: datetime

    class Warned(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        at: datetime
        notify: str
        found_late: bool = False

    class Breached(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        at: datetime
        notify: str
        found_late: bool = False

    class Escalated(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        at: datetime
        level: int
        notify: str
        found_late: bool = False

    class Met(Aggregate.Event):
        case_id: UUID
        kind: str
        clause: str
        met_at: datetime
        met_by_event: UUID
        within_target: bool
        paused_seconds: float

    class Stopped(Aggregate.Event):
        """The register entry was closed (4.6) before the promise was met: the clock no
        longer counts. Neither met nor breached; a breach recorded before stays recorded."""

        case_id: UUID
        kind: str
        clause: str
        stopped_at: datetime
        reason: str
        closed_by_event: UUID
        month: str
        actor: ActorRecord
        status: str

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
        recorded_at: datetime | None = None,
        settle_at: datetime | None = None,
        calendar_name: str | None = None,
        calendar_version: int | None = None,
        policy_version: int | None = None,
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
        self.recorded_at = recorded_at
        self.settle_at = settle_at
        self.calendar_name = calendar_name
        self.calendar_version = calendar_version
        self.policy_version = policy_version
        self.paused_at: datetime | None = None
        self.paused_total = timedelta(0)
        self.warned = self.breached = self.escalated = False
        self.met_at: datetime | None = None
        self.stopped_at: datetime | None = None
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
        recorded_at: datetime | None = None,
        settling: timedelta = timedelta(0),
        calendar_name: str | None = None,
        calendar_version: int | None = None,
        policy_version: int | None = None,
    ) -> Clock:
        """``recorded_at``: when the fact that starts it was recorded (``started_at`` is
        when it happened); deadlines already past then wait ``settling`` after it."""
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
            recorded_at=recorded_at,
            settle_at=None if recorded_at is None else recorded_at + settling,
            calendar_name=calendar_name,
            calendar_version=calendar_version,
            policy_version=policy_version,
        )

    def _ids(self) -> dict[str, Any]:
        # Every event names its case and promise, so a subscriber needs no other to read it.
        return {"case_id": self.case_id, "kind": self.kind, "clause": self.clause}

    @property
    def calendar(self) -> Calendar:
        return calendar_of(self.calendar_spec)

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.stopped_at is None

    def _closed_text(self) -> str:
        if self.stopped_at is not None:
            return "the clock is stopped: its entry was closed by a follow-up (4.6)"
        return "the clock is met"

    @property
    def status(self) -> str:
        """As the read model names it: running, warned, breached, escalated, paused, met
        or stopped."""
        if self.met_at is not None:
            return "met"
        if self.stopped_at is not None:
            return "stopped"
        if self.paused_at is not None:
            return "paused"
        if self.escalated:
            return "escalated"
        if self.breached:
            return "breached"
        return "warned" if self.warned else "running"

    def _pending(self) -> list[tuple[str, datetime]]:
        """The deadlines not yet fired, in the ladder's order (which is time order)."""
        return [
            (name, at)
            for name, at, done in (
                ("warn", self.warn_at, self.warned),
                ("breach", self.due_at, self.breached),
                ("escalate", self.escalate_at, self.escalated),
            )
            if not done
        ]

    def _last_announced(self) -> datetime | None:
        fired = [
            at
            for at, done in (
                (self.warn_at, self.warned),
                (self.due_at, self.breached),
                (self.escalate_at, self.escalated),
            )
            if done
        ]
        return max(fired) if fired else None

    def past_when_recorded(self, deadline: datetime) -> bool:
        """The deadline had passed before the clock was recorded: nobody could act on it."""
        return self.recorded_at is not None and deadline < self.recorded_at

    def _release(self, deadline: datetime) -> datetime:
        """When the timer may record ``deadline``: at its time, or, if it was found late,
        once the facts recorded with the clock have settled."""
        if self.past_when_recorded(deadline) and self.settle_at is not None:
            return max(deadline, self.settle_at)
        return deadline

    def next_deadline(self) -> datetime | None:
        """The next moment something fires, or None (met, paused, or all fired)."""
        if not self.is_open or self.paused_at is not None:
            return None
        pending = [self._release(at) for _, at in self._pending()]
        return min(pending) if pending else None

    def advance(self, now: datetime, *, settled: bool = False) -> int:
        """Fire every deadline up to ``now``, each once, at its true time.

        Deadlines found late wait for the settling time, unless ``settled`` (an answer
        dated ``now`` says what happened before it) or a live deadline is due with them:
        the ladder fires in its order, so a warning is never recorded after its breach.
        """
        fired = 0
        if not self.is_open or self.paused_at is not None:
            return fired
        due = [(name, at) for name, at in self._pending() if at <= now]
        if not due:
            return fired
        if not settled and self._release(due[-1][1]) > now:
            return fired  # only deadlines found late, and they have not settled yet
        for name, at in due:
            late = self.past_when_recorded(at)
            if name == "warn":
                self._warned(**self._ids(), at=at, notify=self.ladder["owner"], found_late=late)
            elif name == "breach":
                self._breached(
                    **self._ids(), at=at, notify=self.ladder["breach_notifies"], found_late=late
                )
            else:
                self._escalated(
                    **self._ids(),
                    at=at,
                    level=1,
                    notify=self.ladder["escalate_notifies"],
                    found_late=late,
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
        actor: ActorRecord,
        request_key: str | None = None,
    ) -> None:
        if not self.is_open:
            if self.stopped_at is not None:
                raise ClockRuleViolation(
                    f"{self._closed_text()}; there is nothing to pause", code="sla.pause.stopped"
                )
            raise ClockRuleViolation(
                "the clock is met; there is nothing to pause", code="sla.pause.met"
            )
        if self.paused_at is not None:
            raise ClockRuleViolation("the clock is already paused", code="sla.pause.already_paused")
        if at < self.started_at:
            raise ClockRuleViolation(
                f"a clock cannot be paused before it started ({self.started_at.isoformat()})",
                field="at",
                code="sla.pause.before_start",
                params={"started_at": self.started_at},
            )
        announced = self._last_announced()
        if announced is not None and at < announced:
            # What was announced stays announced: a pause dated before it would move a
            # deadline the subscribers were already told had passed.
            raise ClockRuleViolation(
                f"the clock already recorded a deadline at {announced.isoformat()}; "
                "a pause cannot be dated before it",
                field="at",
                code="sla.pause.before_deadline",
                params={"announced": announced},
            )
        self.advance(at)
        self._paused(
            **self._ids(),
            paused_at=at,
            reason=reason,
            note=note,
            actor=actor,
            request_key=request_key,
        )

    def resume(self, *, at: datetime, actor: ActorRecord, request_key: str | None = None) -> None:
        if self.stopped_at is not None:
            raise ClockRuleViolation(
                f"{self._closed_text()}; there is nothing to resume", code="sla.resume.stopped"
            )
        if self.paused_at is None:
            raise ClockRuleViolation("the clock is not paused", code="sla.resume.not_paused")
        if at < self.paused_at:
            raise ClockRuleViolation(
                f"a clock cannot resume before it was paused ({self.paused_at.isoformat()})",
                field="at",
                code="sla.resume.before_pause",
                params={"paused_at": self.paused_at},
            )
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

    def retime(
        self,
        *,
        at: datetime,
        reason: str,
        actor: ActorRecord,
        calendar: Calendar,
        calendar_name: str,
        calendar_version: int,
        policy_version: int | None,
        target: timedelta,
        warn_share: float,
        escalate_after: timedelta,
        breach_notifies: str,
        escalate_notifies: str,
    ) -> bool:
        """Count the rest of the promise by a new calendar or policy, from ``at`` (or from
        the pause, while paused). What was counted before stays counted; deadlines already
        announced stay announced; one the new rules put before ``at`` falls due at ``at``.
        False, and nothing recorded, when the clock is met or nothing would change."""
        if not self.is_open:
            return False
        old = self.calendar
        pivot = self.paused_at or max(at, self.started_at)
        # Counted time at the pivot, read off the due time by the calendar it was set by.
        if pivot <= self.due_at:
            counted = self.target - old.between(pivot, self.due_at)
        else:
            counted = self.target + old.between(self.due_at, pivot)

        def moved(offset: timedelta, current: datetime, fired: bool) -> datetime:
            if fired:
                return current
            if offset <= counted:
                return pivot
            return calendar.add(pivot, offset - counted)

        warn_at = moved(target * warn_share, self.warn_at, self.warned)
        due_at = moved(target, self.due_at, self.breached)
        escalate_at = moved(target + escalate_after, self.escalate_at, self.escalated)
        ladder = {
            **self.ladder,
            "warn_share": warn_share,
            "breach_notifies": breach_notifies,
            "escalate_notifies": escalate_notifies,
            "escalate_after_seconds": escalate_after.total_seconds(),
        }
        spec = calendar_spec(calendar)
        if (
            (warn_at, due_at, escalate_at) == (self.warn_at, self.due_at, self.escalate_at)
            and spec == self.calendar_spec
            and ladder == self.ladder
            and target == self.target
        ):
            return False
        self._retimed(
            **self._ids(),
            at=at,
            reason=reason,
            actor=actor,
            calendar=spec,
            calendar_name=calendar_name,
            calendar_version=calendar_version,
            policy_version=policy_version,
            target_seconds=target.total_seconds(),
            ladder=ladder,
            warn_at=warn_at,
            due_at=due_at,
            escalate_at=escalate_at,
        )
        return True

    @event(Retimed)
    def _retimed(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        at: datetime,
        reason: str,
        actor: ActorRecord,
        calendar: dict[str, Any],
        calendar_name: str,
        calendar_version: int,
        policy_version: int | None,
        target_seconds: float,
        ladder: dict[str, Any],
        warn_at: datetime,
        due_at: datetime,
        escalate_at: datetime,
    ) -> None:
        self.calendar_spec = calendar
        self.calendar_name = calendar_name
        self.calendar_version = calendar_version
        self.policy_version = policy_version
        self.target = timedelta(seconds=target_seconds)
        self.ladder = ladder
        self.warn_at, self.due_at, self.escalate_at = warn_at, due_at, escalate_at

    def meet(self, *, at: datetime, by_event: UUID) -> None:
        if not self.is_open:
            return  # the first answer meets the promise; later ones change nothing
        if self.paused_at is not None:
            self.resume(at=max(at, self.paused_at), actor=SYSTEM)
        # The answer settles what happened before it: deadlines it came after passed
        # unmet, found late or not; the ones it came before never passed.
        self.advance(at, settled=True)
        self._met(
            **self._ids(),
            met_at=at,
            met_by_event=by_event,
            within_target=at <= self.due_at,
            paused_seconds=self.paused_total.total_seconds(),
        )

    def stop(self, *, at: datetime, closed_by_event: UUID, month: str, actor: ActorRecord) -> bool:
        """4.6: a follow-up closed the entry at ``at`` (when it was recorded): the clock
        stops counting, whatever it is doing (running, warned, paused, breached and not
        yet escalated). What was announced before stays announced; nothing fires after.
        False, and nothing recorded, when it is already met or stopped."""
        if not self.is_open:
            return False
        # Deadlines that passed before the follow-up was recorded were announced then by
        # the timer (or are held, found late, as the timer holds them): fire them first,
        # so a replay from offset 0 records exactly what the live service did.
        self.advance(at)
        self._stopped(
            **self._ids(),
            stopped_at=max(at, self.started_at),
            reason="the register entry was closed by its follow-up (4.6)",
            closed_by_event=closed_by_event,
            month=month,
            actor=actor,
            status=self.status,
        )
        return True

    @event(Stopped)
    def _stopped(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        stopped_at: datetime,
        reason: str,
        closed_by_event: UUID,
        month: str,
        actor: ActorRecord,
        status: str,
    ) -> None:
        self.stopped_at = stopped_at

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
        actor: ActorRecord,
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
        actor: ActorRecord,
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
    def _warned(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        at: datetime,
        notify: str,
        found_late: bool = False,
    ) -> None:
        self.warned = True

    @event(Breached)
    def _breached(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        at: datetime,
        notify: str,
        found_late: bool = False,
    ) -> None:
        self.breached = True

    @event(Escalated)
    def _escalated(
        self,
        *,
        case_id: UUID,
        kind: str,
        clause: str,
        at: datetime,
        level: int,
        notify: str,
        found_late: bool = False,
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
