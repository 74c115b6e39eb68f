"""What notify keeps of sla's calendars, from csc.sla.v1: the days a site works.

The morning digest goes on a working morning (issue 19). sla publishes each calendar's
versions (``CalendarVersionRecorded``); notify folds the latest into which weekdays have
working windows, its holidays and its make-up days (调休), official days included, the
calendar's own taking precedence, as sla counts them.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

CALENDAR_NAMESPACE = UUID("0c7f3e52-94d1-4b8a-a6e2-5d9b1c7e3f04")


class WorkingDays(Aggregate):
    """One sla calendar's working days, as its latest version published them."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(CALENDAR_NAMESPACE, name)

    class Known(Aggregate.Created):
        name: str
        version: int
        weekdays: list[int]
        holidays: list[str]
        makeup_days: list[str]

    class Revised(Aggregate.Event):
        version: int
        weekdays: list[int]
        holidays: list[str]
        makeup_days: list[str]

    @event(Known)
    def __init__(
        self,
        *,
        name: str,
        version: int,
        weekdays: list[int],
        holidays: list[str],
        makeup_days: list[str],
    ) -> None:
        self.name = name
        self._set(version, weekdays, holidays, makeup_days)

    def revise(
        self, *, version: int, weekdays: list[int], holidays: list[str], makeup_days: list[str]
    ) -> None:
        """Take a later version; one already known (a record applied again) changes nothing."""
        if version > self.version:
            self._revised(
                version=version, weekdays=weekdays, holidays=holidays, makeup_days=makeup_days
            )

    @event(Revised)
    def _revised(
        self, *, version: int, weekdays: list[int], holidays: list[str], makeup_days: list[str]
    ) -> None:
        self._set(version, weekdays, holidays, makeup_days)

    def _set(
        self, version: int, weekdays: list[int], holidays: list[str], makeup_days: list[str]
    ) -> None:
        self.version, self.weekdays = version, weekdays
        self.holidays, self.makeup_days = holidays, makeup_days


def works_on(
    day: date, *, weekdays: list[int], holidays: list[str], makeup_days: list[str]
) -> bool:
    """A make-up day is worked, a holiday is not, any other day as its weekday is."""
    iso = day.isoformat()
    if iso in makeup_days:
        return True
    return iso not in holidays and day.weekday() in weekdays
