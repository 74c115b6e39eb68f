"""A case's story across the four services, as the case page and the auditor's view show it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from csc_console import display
from csc_console.kit import User
from csc_console.services import Refused, Services


async def gather_timeline(
    services: Services, user: User, case_id: str, clocks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One case's timeline across the services: intake's history, capa's and returns'
    timelines, sla's clocks (their start, pauses, warnings, breaches, meeting or stop), in
    time order."""

    async def quiet(service: Any, path: str) -> list[Any]:
        # A case that a service has no record of (no return, no investigation) is no error.
        try:
            return await services.get_all(service, path, user.token)
        except Refused:
            return []

    history, capa, returns = await asyncio.gather(
        quiet("intake", f"/register-entries/{case_id}/history"),
        quiet("capa", f"/investigations/{case_id}/timeline"),
        quiet("returns", f"/cases/{case_id}/timeline"),
    )
    items: list[dict[str, Any]] = []
    for service, events in (("intake", history), ("capa", capa), ("returns", returns)):
        for e in events:
            items.append(
                {
                    "service": service,
                    "at": e.get("at"),
                    "event": e.get("event"),
                    "actor": e.get("actor") or {},
                    "details": e.get("fields") or e.get("details") or {},
                }
            )
    for clock in clocks:
        name = clock.get("clock")
        for pause in clock.get("pauses") or []:
            for event, at, by in (
                ("ClockPaused", pause.get("paused_at"), pause.get("by")),
                ("ClockResumed", pause.get("resumed_at"), None),
            ):
                if at:
                    items.append(
                        {
                            "service": "sla",
                            "at": at,
                            "event": event,
                            "actor": by or {"user": "sla", "department": "system"},
                            "details": {"clock": name},
                        }
                    )
        for event, at in (
            ("ClockStarted", clock.get("started_at")),
            ("ClockWarned", clock.get("warned_at")),
            ("ClockBreached", clock.get("breached_at")),
            ("ClockEscalated", clock.get("escalated_at")),
            ("ClockMet", clock.get("met_at")),
        ):
            if at:
                items.append(
                    {
                        "service": "sla",
                        "at": at,
                        "event": event,
                        "actor": {"user": "sla", "department": "system"},
                        "details": {"clock": name},
                    }
                )
        stop = clock.get("stop")
        if stop and stop.get("at"):
            # 4.6: stopped by the follow-up that closed the entry, by whoever recorded it.
            items.append(
                {
                    "service": "sla",
                    "at": stop["at"],
                    "event": "ClockStopped",
                    "actor": stop.get("by") or {"user": "sla", "department": "system"},
                    "details": {"clock": name, "month": stop.get("month")},
                }
            )
    # In time order; within one second the cause before what follows from it: intake
    # records, sla's clocks, capa and returns react (their times are the report's own).
    rank = {"intake": 0, "sla": 1, "capa": 2, "returns": 3}

    def order(item: dict[str, Any]) -> tuple[datetime, int]:
        at = display.parse_time(item["at"]) or datetime.min.replace(tzinfo=UTC)
        return at.replace(microsecond=0), rank[item["service"]]

    items.sort(key=order)
    return items
