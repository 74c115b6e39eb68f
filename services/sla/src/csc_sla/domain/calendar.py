"""Counting time the way a promise is counted: wall-clock hours, or business hours.

A business-hours calendar counts only the working windows of each day, in
its site's time zone: several windows a day (a lunch break between them is
not counted), other windows on other weekdays (a six-day site, two shifts),
no window on a holiday, and the make-up day's windows on a day off by the
week that is worked instead (调休: China moves working days onto a Saturday
or Sunday around its long holidays). Pure functions of their arguments: no
clock is read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Window = tuple[time, time]
"""A working window of a day, ``(opens, closes)``; ``closes`` 00:00 is midnight."""

MIDNIGHT = time(0)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY: tuple[Window, ...] = ((time(8, 0), time(17, 30)),)
_WEEK: tuple[tuple[Window, ...], ...] = (_DAY,) * 5 + ((),) * 2


def week_of(
    day_start: time, day_end: time, workdays: Iterable[int]
) -> tuple[tuple[Window, ...], ...]:
    """One window a day on ``workdays`` (Monday = 0): the calendar sla had first."""
    days = set(workdays)
    return tuple(((day_start, day_end),) if n in days else () for n in range(7))


@dataclass(frozen=True)
class Calendar:
    """``business=False`` is plain wall-clock time.

    ``week``: the working windows of Monday to Sunday. ``holidays``: days with no
    window. ``makeup_days``: days worked instead of a holiday (调休), with
    ``makeup_windows``; a day in both lists is a holiday.
    """

    business: bool = False
    timezone: str = "Asia/Shanghai"
    week: tuple[tuple[Window, ...], ...] = _WEEK
    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_days: frozenset[date] = field(default_factory=frozenset)
    makeup_windows: tuple[Window, ...] = _DAY

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has 7 days of windows, Monday first")
        for windows in (*self.week, self.makeup_windows):
            _check(windows)
        if self.business and not any(self.week):
            # Deadlines would never come: every week would count nothing.
            raise ValueError("a business-hours calendar needs at least one working window a week")

    def windows(self, day: date) -> tuple[Window, ...]:
        """The working windows of ``day``, in its order."""
        if day in self.holidays:
            return ()
        if day in self.makeup_days:
            return self.makeup_windows
        return self.week[day.weekday()]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of counted time after ``start``."""
        if not self.business:
            return start + duration
        zone = ZoneInfo(self.timezone)
        moment = start.astimezone(zone)
        remaining = duration
        day = moment.date()
        while True:
            for opens, closes in self._spans(day, zone):
                begin = max(moment, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= available
            day += timedelta(days=1)

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
            for opens, closes in self._spans(day, zone):
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def segments(self, start: datetime, end: datetime) -> list[Segment]:
        """``start`` to ``end`` cut into what counted and what did not, and why: the working
        windows, and the time out of them (after hours, a day with no window, a holiday)
        merged into one stretch from one window to the next."""
        if end <= start:
            return []
        if not self.business:
            return [Segment(start, end, True, ("wall-clock time: every hour counts",))]
        zone = ZoneInfo(self.timezone)
        found: list[Segment] = []

        def add(lo: datetime, hi: datetime, counting: bool, why: str) -> None:
            lo, hi = max(lo, start), min(hi, end)
            if hi <= lo:
                return
            last = found[-1] if found else None
            if last is not None and not counting and not last.counting and last.end == lo:
                reasons = last.why if why in last.why else (*last.why, why)
                found[-1] = Segment(last.start, hi, False, reasons)
            else:
                found.append(Segment(lo, hi, counting, (why,)))

        day = start.astimezone(zone).date()
        last_day = end.astimezone(zone).date()
        while day <= last_day:
            midnight = datetime.combine(day, MIDNIGHT, zone)
            cursor = midnight
            spans = self._spans(day, zone)
            if day in self.holidays:
                gap = f"holiday {day.isoformat()}"
            elif not spans:
                gap = f"no working window on {WEEKDAYS[day.weekday()]}"
            else:
                gap = "out of working hours"
            made_up = day in self.makeup_days
            for opens, closes in spans:
                add(cursor, opens, False, gap)
                window = window_text((opens.timetz().replace(tzinfo=None), _close(closes)))
                why = f"make-up working day {day.isoformat()}, " if made_up else ""
                add(opens, closes, True, f"{why}{WEEKDAYS[day.weekday()]} {window}")
                cursor = closes
            add(cursor, datetime.combine(day + timedelta(days=1), MIDNIGHT, zone), False, gap)
            day += timedelta(days=1)
        return found

    def within(self, first: date, last: date) -> Calendar:
        """The same calendar knowing only the holidays and make-up days from ``first`` to
        ``last``: what a clock keeps of it (its deadlines come within that span)."""
        return Calendar(
            business=self.business,
            timezone=self.timezone,
            week=self.week,
            holidays=frozenset(d for d in self.holidays if first <= d <= last),
            makeup_days=frozenset(d for d in self.makeup_days if first <= d <= last),
            makeup_windows=self.makeup_windows,
        )

    def _spans(self, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
        spans = []
        for opens, closes in self.windows(day):
            end_day = day + timedelta(days=1) if closes == MIDNIGHT else day
            spans.append(
                (datetime.combine(day, opens, zone), datetime.combine(end_day, closes, zone))
            )
        return spans


@dataclass(frozen=True)
class Segment:
    """A stretch of a clock's time: counted or not, and the rule that says so."""

    start: datetime
    end: datetime
    counting: bool
    why: tuple[str, ...]


def _close(moment: datetime) -> time:
    return moment.timetz().replace(tzinfo=None)


def _check(windows: tuple[Window, ...]) -> None:
    last: time | None = None
    for opens, closes in windows:
        if closes != MIDNIGHT and closes <= opens:
            raise ValueError(f"a window closes after it opens: {_text((opens, closes))}")
        if last is not None and (last == MIDNIGHT or opens < last):
            raise ValueError("a day's windows are in order and do not overlap")
        last = closes


def _text(window: Window) -> str:
    opens, closes = window
    return f"{opens:%H:%M}-{'24:00' if closes == MIDNIGHT else f'{closes:%H:%M}'}"


def window_text(window: Window) -> str:
    """``08:00-12:00``; a window to midnight ends ``24:00``."""
    return _text(window)


def parse_window(text: str) -> Window:
    """``HH:MM-HH:MM`` (``24:00`` for midnight) as a window."""
    try:
        opens_text, closes_text = text.split("-")
        opens = time.fromisoformat(opens_text.strip())
        closes_text = closes_text.strip()
        closes = MIDNIGHT if closes_text == "24:00" else time.fromisoformat(closes_text)
    except ValueError:
        raise ValueError(f"{text!r} is not a window HH:MM-HH:MM (24:00 for midnight)") from None
    if closes != MIDNIGHT and closes <= opens:
        raise ValueError(f"{text!r}: a window closes after it opens")
    return opens, closes


def calendar_of(spec: dict[str, Any]) -> Calendar:
    """The calendar a clock stored; clocks started before calendars had windows stored
    one day_start-day_end a workday."""
    if "week" in spec:
        week = tuple(tuple(parse_window(w) for w in day) for day in spec["week"])
        makeup = tuple(parse_window(w) for w in spec.get("makeup_windows", ()))
    else:
        week = week_of(
            time.fromisoformat(spec["day_start"]),
            time.fromisoformat(spec["day_end"]),
            spec["workdays"],
        )
        makeup = ((time.fromisoformat(spec["day_start"]), time.fromisoformat(spec["day_end"])),)
    return Calendar(
        business=spec["business"],
        timezone=spec["timezone"],
        week=week,
        holidays=frozenset(date.fromisoformat(d) for d in spec["holidays"]),
        makeup_days=frozenset(date.fromisoformat(d) for d in spec.get("makeup_days", ())),
        makeup_windows=makeup,
    )


def calendar_spec(calendar: Calendar) -> dict[str, Any]:
    return {
        "business": calendar.business,
        "timezone": calendar.timezone,
        "week": [[window_text(w) for w in day] for day in calendar.week],
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
        "makeup_days": sorted(d.isoformat() for d in calendar.makeup_days),
        "makeup_windows": [window_text(w) for w in calendar.makeup_windows],
    }
