"""Counting time the way a promise is counted: wall-clock hours, or business hours.

A business-hours calendar counts only working hours on working days in the
customer site's time zone, and skips public holidays. Pure functions of
their arguments: no clock is read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Calendar:
    """``business=False`` is plain wall-clock time."""

    business: bool = False
    timezone: str = "Asia/Shanghai"
    day_start: time = time(8, 0)
    day_end: time = time(17, 30)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of counted time after ``start``."""
        if not self.business:
            return start + duration
        zone = ZoneInfo(self.timezone)
        moment = start.astimezone(zone)
        remaining = duration
        while True:
            window = self._window(moment.date(), zone)
            if window is not None:
                opens, closes = window
                begin = max(moment, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= available
            moment = datetime.combine(moment.date() + timedelta(days=1), time(0), zone)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Counted time from ``start`` to ``end`` (zero when ``end`` is not later)."""
        if end <= start:
            return timedelta(0)
        if not self.business:
            return end - start
        zone = ZoneInfo(self.timezone)
        total = timedelta(0)
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        while day <= last:
            window = self._window(day, zone)
            if window is not None:
                opens, closes = window
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def _window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.workdays or day in self.holidays:
            return None
        return datetime.combine(day, self.day_start, zone), datetime.combine(
            day, self.day_end, zone
        )
