"""A clock told as given / when / then: past events, a command, the new events or the
refusal (csc_messaging.testing). No store, no broker, no timer: the promise's rules alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from csc_messaging.testing import given, history, refused, then, when
from csc_sla.domain import Clock, ClockRuleViolation
from csc_sla.domain.calendar import Calendar

STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MARKETING = {"user": "li.wei", "department": "marketing"}


def started() -> Clock:
    return Clock.start(
        case_id=uuid4(),
        kind="reply",
        clause="4.2.1",
        customer={"code": "C-001", "name": "Shanghai Precision"},
        customer_class="oem",
        started_at=STARTED,
        started_by_event=uuid4(),
        target=timedelta(hours=24),
        calendar=Calendar(),
        warn_share=0.75,
        escalate_after=timedelta(hours=4),
        owner="marketing",
        breach_notifies="marketing",
        escalate_notifies="general_manager",
    )


def paused(clock: Clock) -> None:
    clock.pause(
        at=STARTED + timedelta(hours=2), reason="customer_unreachable", note=None, actor=MARKETING
    )


def test_given_a_running_clock_when_paused_then_paused() -> None:
    clock = given(history(started))
    then(when(clock, paused), ("Paused", {"reason": "customer_unreachable", "actor": MARKETING}))


def test_given_paused_when_resumed_then_deadlines_move_by_the_pause() -> None:
    clock = given(history(started, paused))
    due = clock.due_at
    then(
        when(clock, lambda c: c.resume(at=STARTED + timedelta(hours=5), actor=MARKETING)),
        ("Resumed", {"paused_seconds": 3 * 3600.0, "due_at": due + timedelta(hours=3)}),
    )


def test_given_paused_when_paused_again_then_refused() -> None:
    clock = given(history(started, paused))
    violation = refused(clock, paused, refusal=ClockRuleViolation)
    assert "already paused" in violation.message


def test_given_running_when_resumed_then_refused() -> None:
    clock = given(history(started))
    refused(clock, lambda c: c.resume(at=STARTED, actor=MARKETING), refusal=ClockRuleViolation)
