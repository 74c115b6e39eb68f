"""When the morning digest goes (issue 19): once per working morning, site time.

From ``at`` (the site's local time) until ``until`` on a working weekday, the
digester records the day's digest of each department that has not had one, and
the delivery worker sends it like any notification. A service started after
``until`` sends none that day: a digest is for the morning.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import structlog

from csc_notify.application import NotifyApplication
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

    def morning(self, now: datetime) -> date | None:
        """The site's day whose digest is due at ``now``, or None (not a working
        morning there, or not between ``at`` and ``until``)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if local.weekday() not in self.weekdays:
            return None
        if not self.at <= local.time().replace(tzinfo=None) < self.until:
            return None
        return local.date()


class Digester:
    def __init__(self, app: NotifyApplication, board: NotifyBoard, schedule: DigestSchedule):
        self.app, self.board, self.schedule = app, board, schedule

    def tick(self) -> int:
        """Record the digests due now; the number recorded."""
        day = self.schedule.morning(self.app.now())
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
