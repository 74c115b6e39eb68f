"""Calendars as data: a site's working week, its holidays and make-up days, and its zone.

A definition is what people write (``PUT /calendars/{name}``, or the first
version from ``CSC_SLA_POLICY``); a recorded version is the definition with
China's official holidays and make-up working days (调休) expanded into dates
when it was recorded, so what a version counted never changes when the data
source does. A clock keeps the calendar it started under (``Calendar``, pure).

China's official days come from the ``chinese-calendar`` package: it carries
the make-up working days as data of their own (``chinese_calendar.workdays``,
the Saturdays and Sundays worked around a long holiday), and each with the
holiday it belongs to (``get_holiday_detail``), from the State Council's yearly
notice. Years the package does not yet publish count by the week alone until
the package is upgraded and the calendar recorded again (or edited by hand).
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import version
from typing import Annotated, Any, Literal

import chinese_calendar
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from csc_contracts.intake import TimeZone
from csc_sla.domain.calendar import WEEKDAYS, Calendar, Window, parse_window, window_text

DEFAULT_CALENDAR = "default"
CalendarName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
"""Lower-case letters, digits, ``. _ -``: it is part of a URL and of every clock's record."""


def _window(text: str) -> str:
    return window_text(parse_window(text))


WindowText = Annotated[
    str,
    AfterValidator(_window),
    Field(
        description="HH:MM-HH:MM in the site's zone; 24:00 for midnight.", examples=["08:00-12:00"]
    ),
]
MAX_DAYS = 5000
"""Holidays (or make-up days) a calendar lists: decades of a plant's days off."""
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_OFFICE = ["08:00-17:30"]


def _five_days() -> dict[Weekday, list[str]]:
    return {"mon": _OFFICE, "tue": _OFFICE, "wed": _OFFICE, "thu": _OFFICE, "fri": _OFFICE}


class CalendarDefinition(BaseModel):
    """A site's (or a customer class's) working calendar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: TimeZone | None = Field(
        default=None,
        description="IANA zone the windows are in; none: the customer's site zone, as archived.",
    )
    week: dict[Weekday, Annotated[list[WindowText], Field(max_length=24)]] = Field(
        default_factory=_five_days,
        description="Working windows per weekday, in order; a day not named has none. "
        "A break (lunch 12:00-13:00) is the gap between two windows.",
    )
    holidays: list[date] = Field(
        default=[], max_length=MAX_DAYS, description="Days with no working window."
    )
    makeup_days: list[date] = Field(
        default=[],
        max_length=MAX_DAYS,
        description="Days off by the week that are worked (调休), with makeup_windows.",
    )
    makeup_windows: Annotated[list[WindowText], Field(max_length=24)] | None = Field(
        default=None, description="The windows of a make-up day; none: Monday's."
    )
    official: Literal["CN"] | None = Field(
        default=None,
        description="CN: add China's official holidays and make-up working days (chinese-"
        "calendar) for every year it publishes; this calendar's own holidays and "
        "make-up days take precedence over them.",
    )
    note: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CalendarDefinition:
        both = sorted(set(self.holidays) & set(self.makeup_days))
        if both:
            raise ValueError(
                f"{', '.join(d.isoformat() for d in both)} cannot be both a holiday and a "
                "make-up day"
            )
        for day, windows in self.week.items():
            _ordered(windows, f"week.{day}")
        _ordered(self.makeup_windows or [], "makeup_windows")
        if not any(self.week.values()):
            raise ValueError("week: at least one working window a week")
        return self


def _ordered(windows: list[str], where: str) -> None:
    parsed = [parse_window(w) for w in windows]
    try:
        Calendar(week=(tuple(parsed),) * 7)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def official_days(source: Literal["CN"]) -> dict[str, Any]:
    """China's holidays and make-up working days, as the installed chinese-calendar has them."""
    holidays = sorted(chinese_calendar.holidays)
    workdays = sorted(chinese_calendar.workdays)
    years = sorted({d.year for d in holidays})
    return {
        "source": f"chinese-calendar {version('chinese-calendar')}",
        "years": [years[0], years[-1]] if years else [],
        "holidays": {d.isoformat(): _name(d) for d in holidays},
        "makeup_days": {d.isoformat(): _name(d) for d in workdays},
    }


def _name(day: date) -> str:
    _, name = chinese_calendar.get_holiday_detail(day)
    return str(name or "")


class CalendarVersion(BaseModel):
    """A calendar as recorded: its definition, and the official days expanded then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    definition: CalendarDefinition
    official: dict[str, Any] | None = None

    @classmethod
    def record(cls, definition: CalendarDefinition) -> CalendarVersion:
        official = official_days(definition.official) if definition.official else None
        return cls(definition=definition, official=official)

    def calendar(self, *, business: bool, timezone: str, around: date | None = None) -> Calendar:
        """The pure calendar; ``timezone`` when the definition names none. ``around``: keep
        only the holidays and make-up days a clock started that day can meet (its year
        before and two after): what the clock records of it."""
        d = self.definition
        own_holidays, own_makeup = set(d.holidays), set(d.makeup_days)
        holidays, makeup = set(own_holidays), set(own_makeup)
        if self.official:
            official_h = {date.fromisoformat(s) for s in self.official["holidays"]}
            official_m = {date.fromisoformat(s) for s in self.official["makeup_days"]}
            holidays |= official_h - own_makeup
            makeup |= official_m - own_holidays
        days: dict[str, list[str]] = {str(k): v for k, v in d.week.items()}
        week = tuple(tuple(parse_window(w) for w in days.get(day, [])) for day in WEEKDAYS)
        makeup_windows: tuple[Window, ...] = (
            tuple(parse_window(w) for w in d.makeup_windows)
            if d.makeup_windows is not None
            else week[0]
        )
        calendar = Calendar(
            business=business,
            timezone=d.timezone or timezone,
            week=week,
            holidays=frozenset(holidays),
            makeup_days=frozenset(makeup),
            makeup_windows=makeup_windows,
        )
        if around is None:
            return calendar
        return calendar.within(date(around.year - 1, 1, 1), date(around.year + 2, 12, 31))


class CalendarRule(BaseModel):
    """Which calendar a clock counts by: the first rule that matches its customer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: CalendarName
    customer: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="The customer's code (its site's calendar); none: any."
    )
    customer_class: Literal["oem", "standard"] | None = Field(
        default=None, description="oem or standard; none: any."
    )

    def matches(self, code: str, customer_class: str) -> bool:
        return (self.customer is None or self.customer == code) and (
            self.customer_class is None or self.customer_class == customer_class
        )


def calendar_for(rules: list[CalendarRule], code: str, customer_class: str) -> str:
    for rule in rules:
        if rule.matches(code, customer_class):
            return rule.calendar
    return DEFAULT_CALENDAR
