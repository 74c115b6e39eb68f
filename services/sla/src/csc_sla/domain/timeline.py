"""A clock's SLA timeline: what happened to it, and each stretch of its time with the rule
that counted it (or did not): a working window of its calendar, time out of working
hours, a holiday, a make-up working day, a pause. Read from the clock's own events, so
it shows the calendar and policy versions the clock ran under, not today's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from csc_sla.domain.calendar import Calendar, calendar_of
from csc_sla.domain.clocks import Clock


def _rule(calendar_name: str | None, calendar_version: int | None, policy: int | None) -> str:
    if calendar_name is None:
        return "calendar of CSC_SLA_POLICY (before versions were recorded)"
    text = f"calendar {calendar_name} v{calendar_version}"
    return text if policy is None else f"{text}, policy v{policy}"


def timeline(events: Iterable[Any], until: datetime) -> dict[str, Any]:
    """The clock's moments and segments up to its meeting or stop, else up to ``until``."""
    history = list(events)
    started = history[0]
    assert isinstance(started, Clock.Started)
    calendar: Calendar = calendar_of(started.calendar)
    names = (started.calendar_name, started.calendar_version, started.policy_version)
    target = timedelta(seconds=started.target_seconds)
    ladder = started.ladder
    moments: list[dict[str, Any]] = [
        {
            "at": started.started_at,
            "event": "started",
            "rule": f"{target.total_seconds() / 3600:g} h "
            f"{'business' if calendar.business else 'wall-clock'} hours, clause "
            f"{started.clause} ({_rule(*names)})",
        }
    ]
    changes: list[tuple[datetime, int, Any]] = []
    for n, e in enumerate(history[1:], start=1):
        if isinstance(e, Clock.Paused):
            changes.append((e.paused_at, n, e))
        elif isinstance(e, Clock.Resumed):
            changes.append((e.resumed_at, n, e))
        elif isinstance(e, Clock.Retimed):
            changes.append((e.at, n, e))
        elif isinstance(e, Clock.Met):
            changes.append((e.met_at, n, e))
        elif isinstance(e, Clock.Stopped):
            changes.append((e.stopped_at, n, e))
        elif isinstance(e, (Clock.Warned, Clock.Breached, Clock.Escalated)):
            moments.append(_deadline(e, ladder, target))
    changes.sort(key=lambda c: (c[0], c[1]))

    segments: list[dict[str, Any]] = []
    cursor = started.started_at
    paused: Clock.Paused | None = None
    end = until

    def run(upto: datetime) -> None:
        if upto <= cursor:
            return
        if paused is not None:
            reason = paused.reason + (f": {paused.note}" if paused.note else "")
            segments.append(_segment(cursor, upto, "paused", (f"paused, {reason}",), names))
            return
        for s in calendar.segments(cursor, upto):
            state = "counting" if s.counting else "out_of_working_hours"
            segments.append(_segment(s.start, s.end, state, s.why, names))

    for at, _, e in changes:
        run(at)
        cursor = max(cursor, at)
        if isinstance(e, Clock.Paused):
            paused = e
            moments.append({"at": at, "event": "paused", "rule": f"reason {e.reason}"})
        elif isinstance(e, Clock.Resumed):
            paused = None
            moments.append(
                {
                    "at": at,
                    "event": "resumed",
                    "rule": f"{e.paused_seconds / 3600:g} counted hours paused; due "
                    f"{e.due_at.isoformat()}",
                }
            )
        elif isinstance(e, Clock.Retimed):
            calendar = calendar_of(e.calendar)
            names = (e.calendar_name, e.calendar_version, e.policy_version)
            target = timedelta(seconds=e.target_seconds)
            ladder = e.ladder
            moments.append(
                {
                    "at": at,
                    "event": "retimed",
                    "rule": f"{e.reason} ({_rule(*names)}); due {e.due_at.isoformat()}",
                }
            )
        elif isinstance(e, Clock.Met):
            moments.append(
                {
                    "at": at,
                    "event": "met",
                    "rule": "within the target" if e.within_target else "after the due time",
                }
            )
            end = at
            break
        elif isinstance(e, Clock.Stopped):
            moments.append(
                {"at": at, "event": "stopped", "rule": f"{e.reason}; follow-up of {e.month}"}
            )
            end = at
            break
    run(end)
    moments.sort(key=lambda m: m["at"])
    counted = sum(
        ((s["end"] - s["start"]) for s in segments if s["state"] == "counting"), timedelta(0)
    )
    return {
        "moments": moments,
        "segments": segments,
        "counted_hours": round(counted.total_seconds() / 3600, 6),
        "until": end,
    }


def _deadline(e: Any, ladder: dict[str, Any], target: timedelta) -> dict[str, Any]:
    hours = target.total_seconds() / 3600
    late = ", found late" if e.found_late else ""
    if isinstance(e, Clock.Warned):
        rule = f"{ladder['warn_share']:.0%} of {hours:g} h; {e.notify} warned{late}"
        return {"at": e.at, "event": "warned", "rule": rule}
    if isinstance(e, Clock.Breached):
        return {
            "at": e.at,
            "event": "breached",
            "rule": f"target {hours:g} h passed; {e.notify}'s manager told{late}",
        }
    after = ladder["escalate_after_seconds"] / 3600
    return {
        "at": e.at,
        "event": "escalated",
        "rule": f"{after:g} h after the due time; {e.notify} told{late}",
    }


def _segment(
    start: datetime,
    end: datetime,
    state: str,
    why: tuple[str, ...],
    names: tuple[str | None, int | None, int | None],
) -> dict[str, Any]:
    return {
        "start": start,
        "end": end,
        "state": state,
        "hours": round((end - start).total_seconds() / 3600, 6),
        "why": list(why),
        "rule": _rule(*names),
    }
