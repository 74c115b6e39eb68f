"""When the morning digest goes (issue 19): once per working morning, site time.

From ``at`` (the site's local time) until ``until`` on a working day, the
digester records the day's digest of each department that has not had one, and
the delivery worker sends it like any notification. A service started after
``until`` sends none that day: a digest is for the morning.

A working day is one of sla's calendar (``calendar``, sla's ``default`` unless set), as
csc.sla.v1 published its latest version: its holidays have no digest, its make-up days
(调休) have one. Until notify has read that calendar, the working days are ``weekdays``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from csc_notify.application import NotifyApplication
from csc_notify.domain import works_on
from csc_notify.projections import NotifyBoard

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DigestSchedule:
    at: time = time(8, 30)
    until: time = time(12, 0)
    timezone: str = "Asia/Shanghai"
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    hours: float = 4
    poll_seconds: float = 30
    calendar: str | None = "default"

    def morning(self, now: datetime, days: Mapping[str, Any] | None = None) -> date | None:
        """The site's day whose digest is due at ``now``, or None (not a working
        morning there, or not between ``at`` and ``until``). ``days``: the calendar's
        working days as notify knows them (weekdays, holidays, make-up days)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if days is not None:
            working = works_on(
                local.date(),
                weekdays=days["weekdays"],
                holidays=days["holidays"],
                makeup_days=days["makeup_days"],
            )
        else:
            working = local.weekday() in self.weekdays
        if not working:
            return None
        if not self.at <= local.time().replace(tzinfo=None) < self.until:
            return None
        return local.date()


class Digester:
    def __init__(self, app: NotifyApplication, board: NotifyBoard, schedule: DigestSchedule):
        self.app, self.board, self.schedule = app, board, schedule

    def tick(self) -> int:
        """Record the digests due now; the number recorded."""
        calendar = self.schedule.calendar
        days = self.board.working_days(calendar) if calendar else None
        day = self.schedule.morning(self.app.now(), days)
        if day is None:
            return 0
        made = self.app.prepare_digests(day, self.board.open_clocks(), self.schedule.hours)
        for digest in made:
            log.info("notify.digest", department=digest.department, day=day.isoformat())
        return len(made)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                # The next tick tries again: a digest is recorded whole or not at all.
                log.exception("notify.digest_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.schedule.poll_seconds)
