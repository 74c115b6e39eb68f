"""The one place where sla's internal events become public events on csc.sla.v1: the
clocks, and the versions of the calendars and the policy they count by."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import csc_contracts.sla as pub
from csc_contracts import PublicEvent
from csc_sla.commands import STEPS
from csc_sla.domain import Clock
from csc_sla.domain.clocks import SYSTEM
from csc_sla.domain.rulebook import Rulebook

EVENT_NAMESPACE = UUID("3a7e51c4-9d2b-4e8f-b6a1-0c5d7e9f2b48")


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 6)


def _event_id(domain_event: Any) -> UUID:
    return uuid5(
        EVENT_NAMESPACE, f"sla:{domain_event.originator_id}:{domain_event.originator_version}"
    )


def _rules(cls: type[PublicEvent], e: Any) -> PublicEvent:
    common: dict[str, Any] = {
        "event_id": _event_id(e),
        "case_id": e.originator_id,
        "occurred_at": e.timestamp,
        "actor": e.actor,
        "effective_at": e.effective_at,
        "reason": e.reason,
        "retime_running": e.retime_running,
        "source": e.source,
    }
    if cls is pub.PolicyVersionRecorded:
        return pub.PolicyVersionRecorded(
            **common, policy_version=e.originator_version, policy=e.content
        )
    definition, official = e.content["definition"], e.content.get("official")
    return pub.CalendarVersionRecorded(
        **common,
        calendar=e.name,
        calendar_version=e.originator_version,
        timezone=definition.get("timezone"),
        week=definition["week"],
        holidays=definition["holidays"],
        makeup_days=definition["makeup_days"],
        makeup_windows=definition.get("makeup_windows"),
        official=official,
        note=definition.get("note"),
    )


def to_public(domain_event: Any) -> PublicEvent | None:
    # Which public event, if any, each recorded one becomes is declared with sla's steps.
    cls = STEPS.public_of(domain_event)
    if cls is None:
        return None  # case files and customer profiles are sla's own bookkeeping
    if isinstance(domain_event, (Rulebook.Opened, Rulebook.Revised)):
        return _rules(cls, domain_event)
    if not isinstance(domain_event, Clock.Event):
        return None
    e: Any = domain_event
    common: dict[str, Any] = {
        "event_id": _event_id(domain_event),
        "case_id": e.case_id,
        "occurred_at": domain_event.timestamp,
        "actor": getattr(domain_event, "actor", SYSTEM),
        "clock_id": domain_event.originator_id,
        "clock": e.kind,
        "clause": e.clause,
    }
    if isinstance(e, Clock.Started):
        return pub.ClockStarted(
            **common,
            customer=e.customer,
            customer_class=e.customer_class,
            started_at=e.started_at,
            target_hours=_hours(e.target_seconds),
            business_hours=e.calendar["business"],
            timezone=e.calendar["timezone"],
            warn_at=e.warn_at,
            due_at=e.due_at,
            escalate_at=e.escalate_at,
            recorded_at=e.recorded_at,
            settle_at=e.settle_at,
            calendar=e.calendar_name,
            calendar_version=e.calendar_version,
            policy_version=e.policy_version,
        )
    if isinstance(e, Clock.Paused):
        return pub.ClockPaused(**common, paused_at=e.paused_at, reason=e.reason, note=e.note)
    if isinstance(e, Clock.Resumed):
        return pub.ClockResumed(
            **common,
            resumed_at=e.resumed_at,
            paused_hours=_hours(e.paused_seconds),
            warn_at=e.warn_at,
            due_at=e.due_at,
            escalate_at=e.escalate_at,
        )
    if isinstance(e, Clock.Retimed):
        return pub.ClockRetimed(
            **common,
            at=e.at,
            reason=e.reason,
            calendar=e.calendar_name,
            calendar_version=e.calendar_version,
            policy_version=e.policy_version,
            target_hours=_hours(e.target_seconds),
            business_hours=e.calendar["business"],
            timezone=e.calendar["timezone"],
            warn_at=e.warn_at,
            due_at=e.due_at,
            escalate_at=e.escalate_at,
        )
    if isinstance(e, Clock.Warned):
        return pub.ClockWarned(
            **common, at=e.at, notify_department=e.notify, found_late=e.found_late
        )
    if isinstance(e, Clock.Breached):
        return pub.ClockBreached(
            **common, at=e.at, notify_department=e.notify, found_late=e.found_late
        )
    if isinstance(e, Clock.Escalated):
        return pub.ClockEscalated(
            **common, at=e.at, level=e.level, notify_department=e.notify, found_late=e.found_late
        )
    if isinstance(e, Clock.Met):
        return pub.ClockMet(
            **common,
            met_at=e.met_at,
            within_target=e.within_target,
            paused_hours=_hours(e.paused_seconds),
        )
    if isinstance(e, Clock.Stopped):
        return pub.ClockStopped(
            **common,
            stopped_at=e.stopped_at,
            reason=e.reason,
            month=e.month,
            follow_up_event_id=e.closed_by_event,
            status=e.status,
        )
    return None
