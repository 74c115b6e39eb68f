"""SLA's read side: the clocks board, the schedules (4.1.5, 4.5, 4.6) and the monthly report.

Kept as tables of sla's own store (``csc_messaging.views``), folded from sla's own
event log and written in the transaction that moves the view's position: a restart
applies only what is newer, and nothing of the history is held in memory.

Anything that depends on "now" (the schedules, the follow-up tasks, the monthly
report, what the timer fires) is computed when asked, from the tables, with "now"
as an argument: the same log and the same moment always give the same answer.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from csc_messaging.views import Cmp, Column, In, IsNull, Page, Rows, Table, View, Where
from csc_sla.domain import CapaFile, CaseFile, Clock, CustomerProfile, ReturnFile
from csc_sla.domain.calendar import calendar_of
from csc_sla.domain.rulebook import Rulebook

VISIT_INTERVAL_MONTHS = 6  # 4.5: every half year
SURVEY_INTERVAL_MONTHS = 12  # 4.1.5: once a year
DUE_BATCH = 1000
"""Clocks the timer fires in one go; a tick goes on batch after batch until none is due."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _next_deadline(row: Mapping[str, Any]) -> datetime | None:
    """As Clock.next_deadline: a deadline past before the clock was recorded waits
    for its settle_at."""
    if row["status"] in ("met", "paused", "stopped"):
        return None
    pending = [
        datetime.fromisoformat(row[at])
        for at, done in (("warn_at", "warned_at"), ("due_at", "breached_at"),
                         ("escalate_at", "escalated_at"))
        if row[done] is None
    ]  # fmt: skip
    recorded, settle = row.get("recorded_at"), row.get("settle_at")
    if recorded is not None and settle is not None:
        recorded_at, settle_at = datetime.fromisoformat(recorded), datetime.fromisoformat(settle)
        pending = [max(at, settle_at) if at < recorded_at else at for at in pending]
    return min(pending) if pending else None


def _micros(moment: datetime) -> int:
    """Microseconds since 1970 (UTC): exact, and in time order whatever the offset."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _deadline_column(row: Mapping[str, Any]) -> int | None:
    upcoming = _next_deadline(row)
    return None if upcoming is None else _micros(upcoming)


def _due_column(row: Mapping[str, Any]) -> int | None:
    due = row.get("due_at")
    return None if due is None else _micros(datetime.fromisoformat(due))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _one_or_any(value: str | Sequence[str] | None) -> str | In | None:
    if value is None or isinstance(value, str):
        return value
    return In(tuple(value)) if value else None


def month_of(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _code(row: Mapping[str, Any]) -> Any:
    return row["customer"]["code"]


# What a clock counted so far in its calendar's hours, and by which calendar from when: the
# hours each met clock took, for att. 4 by calendar.
CLOCK_HOURS = Table("clock_hours", columns=(Column("clock_id"),), key=("clock_id",))
CLOCKS = Table(
    "clocks",
    columns=(
        Column("clock_id"),
        Column("case_id"),
        Column("clock"),
        Column("status"),
        # Lists run in the order clocks started (then id): no later event moves a clock
        # in it, so a cursor stays put.
        Column("started_at"),
        Column("started_month", of=lambda r: r["started_at"][:7]),
        # att. 4 counts an escalation in the month it was recorded (4.2), whenever its
        # clock started.
        Column("escalated_month", of=lambda r: (r["escalated_at"] or "")[:7] or None),
        Column("customer_code", of=_code),
        # The timer's "what is due?": an index seek, not a scan of every clock.
        Column("next_deadline", "int", of=_deadline_column),
        # A work queue's "soonest due first" (4.2.1: "due in < 2 h" on top).
        Column("due", "int", of=_due_column),
    ),
    key=("clock_id",),
    indexes=(
        ("started_at", "clock_id"),
        ("case_id", "started_at", "clock_id"),
        ("status", "started_at", "clock_id"),
        # A work queue's clocks: one promise, the open ones (4.2.1, 4.2.2, 4.1.3, 4.4.3).
        ("clock", "status", "started_at", "clock_id"),
        ("clock", "status", "due", "clock_id"),
        # One customer's (a clerk's own view of a queue).
        ("clock", "status", "customer_code", "due", "clock_id"),
        ("next_deadline", "clock_id"),
        ("started_month", "customer_code"),
        ("escalated_month", "customer_code"),
    ),
)
# Register entries as sla sees them (4.6, att. 4); follow-ups find theirs by file id.
CASES = Table(
    "cases",
    columns=(
        Column("case_id"),
        Column("file_id"),
        Column("month"),
        Column("customer_code", of=_code),
        Column("received_at"),
        Column("closed", "int"),
    ),
    key=("case_id",),
    indexes=(("file_id",), ("month", "customer_code"), ("closed", "received_at", "case_id")),
)
RETURNS = Table(
    "returns",
    columns=(
        Column("file_id"),
        Column("customer_code", of=_code),
        Column("opened_month"),
        Column("closed_month"),
    ),
    key=("file_id",),
    indexes=(("opened_month",), ("closed_month",), ("customer_code",)),
)
CAPAS = Table(
    "capas",
    columns=(
        Column("file_id"),
        Column("customer_code", of=_code),
        Column("opened_month"),
        Column("closed_month"),
        Column("opened_on"),
    ),
    key=("file_id",),
    indexes=(("opened_month",), ("closed_month",), ("opened_on",), ("customer_code",)),
)
# A customer with what the schedules need of its visits, surveys and field days; those
# are rows of their own, keyed so that the order Kafka delivered them in does not show.
CUSTOMERS = Table(
    "customers", columns=(Column("code"), Column("profile_id")), key=("code",),
    indexes=(("profile_id",),),
)  # fmt: skip
VISITS = Table(
    "visits",
    columns=(Column("code"), Column("record_id"), Column("month", of=lambda r: r["date"][:7])),
    key=("code", "record_id"),
    indexes=(("month", "code"),),
)
SURVEYS = Table("surveys", columns=(Column("code"), Column("year", "int")), key=("code", "year"))
# One row per customer, day and engineer: the report counts field service days so.
FIELD_DAYS = Table(
    "field_days",
    columns=(
        Column("code"),
        Column("work_date"),
        Column("engineer"),
        Column("month", of=lambda r: r["work_date"][:7]),
    ),
    key=("code", "work_date", "engineer"),
    indexes=(("month", "code"),),
)


# The calendars and the policy, and each of their versions as recorded (who, when, why,
# what): a row per version, so a long history never makes one row large.
RULEBOOKS = Table(
    "rulebooks", columns=(Column("kind"), Column("name")), key=("kind", "name"),
)  # fmt: skip
RULE_VERSIONS = Table(
    "rule_versions",
    columns=(Column("kind"), Column("name"), Column("version", "int")),
    key=("kind", "name", "version"),
)


def _by_calendar(
    found: dict[tuple[str, int, str], dict[str, Any]], clock: Mapping[str, Any], no_verdict: bool
) -> None:
    """Count a business-hours clock under the calendar (name, version) it ran under last:
    the one that measured its verdict (a re-timed clock counts under its new one)."""
    # A clock started before calendars were recorded versions kept CSC_SLA_POLICY's.
    key = (clock["calendar"] or "default", clock["calendar_version"] or 0, clock["clock"])
    c = found.setdefault(key, {"started": 0, "met_within_target": 0, "stopped": 0, "hours": []})
    c["started"] += 1
    c["met_within_target"] += bool(clock["within_target"])
    c["stopped"] += no_verdict
    if clock["working_hours"] is not None:
        c["hours"].append(clock["working_hours"])


def _calendar_row(key: tuple[str, int, str], c: Mapping[str, Any]) -> dict[str, Any]:
    calendar, version, kind = key
    measured = c["started"] - c["stopped"]
    hours: list[float] = c["hours"]
    return {
        "calendar": calendar,
        "calendar_version": version or None,
        "clock": kind,
        "started": c["started"],
        "met_within_target": c["met_within_target"],
        "stopped": c["stopped"],
        "share": round(c["met_within_target"] / measured, 4) if measured else None,
        "met": len(hours),
        "working_hours_total": round(sum(hours), 4),
        "working_hours_mean": round(sum(hours) / len(hours), 4) if hours else None,
        "working_hours_max": round(max(hours), 4) if hours else None,
    }


def _count(clock: dict[str, Any], row: dict[str, Any], event: Any) -> None:
    """Keep the time the clock counted in its calendar's hours (``row``, of clock_hours):
    up to a pause, a re-timing (the time counted stays counted; the rest counts by the new
    calendar), its meeting or stop; nothing while paused. A clock met has its
    ``working_hours``."""
    at = {
        Clock.Paused: "paused_at",
        Clock.Retimed: "at",
        Clock.Met: "met_at",
        Clock.Stopped: "stopped_at",
    }.get(type(event))
    since = row["counting_from"]
    if at is not None and since is not None:
        start, end = datetime.fromisoformat(since), getattr(event, at)
        counted = calendar_of(row["calendar"]).between(start, end)
        row["counted_seconds"] += counted.total_seconds()
        row["counting_from"] = max(start, end).isoformat()
    if isinstance(event, Clock.Retimed):
        row["calendar"] = event.calendar
    elif isinstance(event, Clock.Resumed):
        row["counting_from"] = event.resumed_at.isoformat()
    elif isinstance(event, (Clock.Paused, Clock.Met, Clock.Stopped)):
        row["counting_from"] = None
    if isinstance(event, Clock.Met):
        clock["working_hours"] = round(row["counted_seconds"] / 3600, 6)


class ClockBoard(View):
    name = "sla_board"
    tables = (
        CLOCKS,
        CLOCK_HOURS,
        CASES,
        RETURNS,
        CAPAS,
        CUSTOMERS,
        VISITS,
        SURVEYS,
        FIELD_DAYS,
        RULEBOOKS,
        RULE_VERSIONS,
    )
    version = 5

    def apply(self, event: Any, rows: Rows) -> None:
        key = str(event.originator_id)
        if isinstance(event, Clock.Started):
            rows.put(
                "clocks",
                {
                    "clock_id": key,
                    "clock": event.kind,
                    "clause": event.clause,
                    "case_id": str(event.case_id),
                    "customer": event.customer,
                    "customer_class": event.customer_class,
                    "started_by_event": str(event.started_by_event),
                    "started_at": event.started_at.isoformat(),
                    "target_hours": event.target_seconds / 3600,
                    "business_hours": event.calendar["business"],
                    "warn_at": event.warn_at.isoformat(),
                    "due_at": event.due_at.isoformat(),
                    "escalate_at": event.escalate_at.isoformat(),
                    "recorded_at": _iso(event.recorded_at),
                    "settle_at": _iso(event.settle_at),
                    "calendar": event.calendar_name,
                    "calendar_version": event.calendar_version,
                    "policy_version": event.policy_version,
                    "retimed": [],
                    "status": "running",
                    "found_late": False,
                    "warned_at": None,
                    "breached_at": None,
                    "escalated_at": None,
                    "met_at": None,
                    "within_target": None,
                    "stop": None,
                    "pauses": [],
                    "paused_hours": 0.0,
                    "working_hours": None,
                },
            )
            rows.put(
                "clock_hours",
                {
                    "clock_id": key,
                    "calendar": event.calendar,
                    "counting_from": event.started_at.isoformat(),
                    "counted_seconds": 0.0,
                },
            )
        elif isinstance(event, Clock.Event):
            clock = _row(rows, "clocks", key)
            _count(clock, _row(rows, "clock_hours", key), event)
            self._apply_clock(clock, event)
        elif isinstance(event, (Rulebook.Opened, Rulebook.Revised)):
            rows.put(
                "rulebooks",
                {"kind": event.kind, "name": event.name, "current": event.originator_version},
            )
            rows.put(
                "rule_versions",
                {
                    "kind": event.kind,
                    "name": event.name,
                    "version": event.originator_version,
                    "effective_at": _iso(event.effective_at),
                    "by": event.actor,
                    "reason": event.reason,
                    "retime_running": event.retime_running,
                    "source": event.source,
                    "content": event.content,
                },
            )
        elif isinstance(event, CaseFile.Opened):
            rows.put(
                "cases",
                {
                    "case_id": str(event.case_id),
                    "file_id": key,
                    "entry_type": event.entry_type,
                    "kind": event.kind,
                    "category": event.category,
                    "channel": event.channel,
                    "customer": event.customer,
                    "received_at": event.received_at.isoformat(),
                    "month": month_of(event.received_at),
                    "follow_ups": [],
                    "closed": False,
                },
            )
        elif isinstance(event, CaseFile.FollowedUp):
            case = _found(rows, "cases", "file_id", key)
            case["follow_ups"].append({"month": event.month, "at": event.at.isoformat()})
            case["closed"] = case["closed"] or event.closed
        elif isinstance(event, ReturnFile.Opened):
            rows.put(
                "returns",
                {
                    "file_id": key,
                    "case_id": str(event.case_id),
                    "customer": event.customer,
                    "opened_month": month_of(event.reported_at),
                    "closed_month": None,
                    "closed_how": None,
                },
            )
        elif isinstance(event, ReturnFile.Closed):
            _row(rows, "returns", key).update(closed_month=month_of(event.at), closed_how=event.how)
        elif isinstance(event, CapaFile.Opened):
            rows.put(
                "capas",
                {
                    "file_id": key,
                    "case_id": str(event.case_id),
                    "capa_no": event.capa_no,
                    "source": event.source,
                    "customer": event.customer,
                    "opened_month": None,
                    "opened_on": None,
                    "closed_month": None,
                    "closed_on": None,
                    "actions": [],
                },
            )
        elif isinstance(event, CapaFile.Event):
            self._apply_capa(_row(rows, "capas", key), event)
        elif isinstance(event, CustomerProfile.Known):
            rows.put(
                "customers",
                {
                    "code": event.code,
                    "profile_id": key,
                    "name": event.name,
                    "oem": event.oem,
                    "registered_on": None,
                    "last_visit": None,
                    "last_survey": None,
                    "first_field_day": None,
                },
            )
        elif isinstance(event, CustomerProfile.Event):
            self._apply_customer(rows, _found(rows, "customers", "profile_id", key), event)

    @staticmethod
    def _apply_clock(row: dict[str, Any], event: Any) -> None:
        if isinstance(event, Clock.Paused):
            row["status"] = "paused"
            row["pauses"].append(
                {"paused_at": event.paused_at.isoformat(), "reason": event.reason,
                 "note": event.note, "by": event.actor, "resumed_at": None}
            )  # fmt: skip
        elif isinstance(event, Clock.Resumed):
            row["status"] = "breached" if row["breached_at"] else "running"
            row["pauses"][-1]["resumed_at"] = event.resumed_at.isoformat()
            row["paused_hours"] += event.paused_seconds / 3600
            row.update(warn_at=event.warn_at.isoformat(), due_at=event.due_at.isoformat(),
                       escalate_at=event.escalate_at.isoformat())  # fmt: skip
        elif isinstance(event, Clock.Retimed):
            row.update(warn_at=event.warn_at.isoformat(), due_at=event.due_at.isoformat(),
                       escalate_at=event.escalate_at.isoformat(),
                       target_hours=event.target_seconds / 3600,
                       business_hours=event.calendar["business"],
                       calendar=event.calendar_name, calendar_version=event.calendar_version,
                       policy_version=event.policy_version)  # fmt: skip
            row["retimed"].append(
                {"at": event.at.isoformat(), "reason": event.reason, "by": event.actor,
                 "calendar": event.calendar_name, "calendar_version": event.calendar_version,
                 "policy_version": event.policy_version, "due_at": event.due_at.isoformat()}
            )  # fmt: skip
        elif isinstance(event, Clock.Warned):
            row["warned_at"] = event.at.isoformat()
            row["status"] = "warned"
        elif isinstance(event, Clock.Breached):
            row["breached_at"] = event.at.isoformat()
            row["status"] = "breached"
        elif isinstance(event, Clock.Escalated):
            row["escalated_at"] = event.at.isoformat()
            row["status"] = "escalated"
        if isinstance(event, (Clock.Warned, Clock.Breached, Clock.Escalated)):
            # Found after the fact (a backdated entry), not announced when it was due.
            row["found_late"] = row["found_late"] or event.found_late
        elif isinstance(event, Clock.Met):
            row["met_at"] = event.met_at.isoformat()
            row["within_target"] = event.within_target
            row["status"] = "met"
        elif isinstance(event, Clock.Stopped):
            row["status"] = "stopped"
            row["stop"] = {"at": event.stopped_at.isoformat(), "reason": event.reason,
                           "month": event.month, "by": event.actor,
                           "follow_up_event_id": str(event.closed_by_event),
                           "status": event.status}  # fmt: skip

    @staticmethod
    def _apply_capa(row: dict[str, Any], event: Any) -> None:
        if isinstance(event, CapaFile.Started):
            row.update(opened_month=month_of(event.at), opened_on=event.at.date().isoformat())
        elif isinstance(event, CapaFile.ActionPlanned):
            row["actions"].append(
                {"action_no": event.action_no, "due": event.due.isoformat(),
                 "implemented_on": None}
            )  # fmt: skip
        elif isinstance(event, CapaFile.ActionImplemented):
            for action in row["actions"]:
                if action["action_no"] == event.action_no:
                    action["implemented_on"] = event.implemented_on.isoformat()
        elif isinstance(event, CapaFile.Closed):
            row.update(closed_month=month_of(event.at), closed_on=event.at.date().isoformat())

    @staticmethod
    def _apply_customer(rows: Rows, customer: dict[str, Any], event: Any) -> None:
        code = customer["code"]
        if isinstance(event, CustomerProfile.Registered):
            customer.update(name=event.name, oem=event.oem,
                            registered_on=event.registered_at.date().isoformat())  # fmt: skip
        elif isinstance(event, CustomerProfile.Updated):
            customer.update(name=event.name, oem=event.oem)
        elif isinstance(event, CustomerProfile.Visited):
            rows.put("visits", {"code": code, "record_id": str(event.record_id),
                                "date": event.visit_date})  # fmt: skip
            customer["last_visit"] = max(filter(None, (customer["last_visit"], event.visit_date)))
        elif isinstance(event, CustomerProfile.Surveyed):
            on = event.at.date().isoformat()
            rows.put("surveys", {"code": code, "year": event.year, "on": on})
            customer["last_survey"] = max(filter(None, (customer["last_survey"], on)))
        elif isinstance(event, CustomerProfile.Serviced):
            day = rows.get("field_days", code, event.work_date, event.engineer) or rows.put(
                "field_days",
                {"code": code, "work_date": event.work_date, "engineer": event.engineer,
                 "sites": []},
            )  # fmt: skip
            if event.site not in day["sites"]:
                bisect.insort(day["sites"], event.site)  # sorted: delivery order does not show
            first = customer["first_field_day"]
            customer["first_field_day"] = min(filter(None, (first, event.work_date)))

    # Clocks ---------------------------------------------------------------------------

    def clock_page(
        self,
        case_id: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        cursor: str | None = None,
        limit: int = 100,
        clock: str | None = None,
        order: Literal["started", "due"] = "started",
        customer: str | None = None,
    ) -> Page:
        """Clocks in the order they started (then by id), or soonest due first (the
        clocks with a deadline), ``limit`` after ``cursor``; ``case_id`` and ``status``
        one or any of several."""
        where: dict[str, Any] = {
            "case_id": _one_or_any(case_id),
            "status": _one_or_any(status),
            "clock": clock,
            "customer_code": customer,
        }
        if order == "due":
            where["due"] = IsNull(False)
            return self.page("clocks", where=where, order=("due",), cursor=cursor, limit=limit)
        return self.page("clocks", where=where, order=("started_at",), cursor=cursor, limit=limit)

    def clocks(self, case_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Every clock that matches, in the order they started: for a case's few."""
        where = {"case_id": case_id, "status": status}
        return list(self.scan("clocks", where=where, order=("started_at",)))

    def clock(self, clock_id: str) -> dict[str, Any] | None:
        return self.get("clocks", clock_id)

    def due_page(
        self, now: datetime, cursor: str | None = None, limit: int | None = None
    ) -> tuple[list[UUID], str | None]:
        """Open, unpaused clocks with a deadline at or before ``now`` not yet fired,
        soonest first, ``limit`` after ``cursor``; and the cursor of the next batch.

        Firing a clock moves its next deadline past ``now`` (or to none), so it leaves
        this range; a clock whose firing failed stays, and the next tick finds it again.
        """
        page = self.page(
            "clocks",
            where={"next_deadline": Cmp("<=", _micros(now))},
            order=("next_deadline",),
            cursor=cursor,
            limit=DUE_BATCH if limit is None else limit,
        )
        return [UUID(row["clock_id"]) for row in page.rows], page.next_cursor

    def due_by(self, now: datetime, limit: int | None = None) -> list[UUID]:
        """The first ``limit`` clocks due by ``now`` (``DUE_BATCH`` by default;
        ``due_page`` goes on from there)."""
        return self.due_page(now, limit=limit)[0]

    def open_clock_ids(self) -> list[UUID]:
        """Every clock not yet met: what a change that re-times running clocks looks at."""
        return [
            UUID(row["clock_id"])
            for status in ("running", "warned", "breached", "escalated", "paused")
            for row in self.scan("clocks", where={"status": status})
        ]

    # Calendars and policy ----------------------------------------------------------------

    def rulebooks(self, kind: str) -> list[dict[str, Any]]:
        """The calendars (or the policy), by name, each in its version in force now."""
        found = []
        for book in self.scan("rulebooks", where={"kind": kind}, order=("name",)):
            current = self.get("rule_versions", kind, book["name"], book["current"])
            if current is not None:
                found.append(current)
        return found

    def rule_versions(self, kind: str, name: str) -> list[dict[str, Any]]:
        """Every version of one, first first; empty when there is none."""
        where = {"kind": kind, "name": name}
        return list(self.scan("rule_versions", where=where, order=("version",)))

    # Schedules ------------------------------------------------------------------------

    def visit_schedule(self, today: date) -> list[dict[str, Any]]:
        """4.5: every customer is visited every half year; due within 30 days, or overdue."""
        return [_due(c, today, "last_visit", VISIT_INTERVAL_MONTHS) for c in self._customers()]

    def survey_schedule(self, today: date) -> list[dict[str, Any]]:
        """4.1.5: a satisfaction survey once a year."""
        return [_due(c, today, "last_survey", SURVEY_INTERVAL_MONTHS) for c in self._customers()]

    def schedule_page(
        self,
        what: str,
        today: date,
        cursor: str | None = None,
        limit: int = 100,
        customer: str | None = None,
    ) -> Page:
        """A page of ``visits`` (4.5) or ``surveys`` (4.1.5) due, by customer code; only
        ``customer``'s row when given (the table's key: a lookup, not a scan)."""
        field, months = {
            "visits": ("last_visit", VISIT_INTERVAL_MONTHS),
            "surveys": ("last_survey", SURVEY_INTERVAL_MONTHS),
        }[what]
        page = self.page(
            "customers", where={"code": customer}, order=("code",), cursor=cursor, limit=limit
        )
        return Page([_due(c, today, field, months) for c in page.rows], page.next_cursor)

    def _customers(self, code: str | None = None) -> Iterator[dict[str, Any]]:
        return self.scan("customers", where={"code": code}, order=("code",))

    def follow_up_tasks(self, today: date) -> list[dict[str, Any]]:
        """4.6: at the start of each month, a task for every entry of earlier months not
        yet followed up to a close; open until FollowUpRecorded closes it."""
        rows = self.scan("cases", where=_follow_up_where(today), order=("received_at",))
        return [_task(c) for c in rows]

    def follow_up_page(self, today: date, cursor: str | None = None, limit: int = 100) -> Page:
        """A page of the follow-up tasks, in the order the entries were received."""
        page = self.page(
            "cases",
            where=_follow_up_where(today),
            order=("received_at",),
            cursor=cursor,
            limit=limit,
        )
        return Page([_task(c) for c in page.rows], page.next_cursor)

    # Monthly Field Service Report (att. 4) -----------------------------------------------

    def monthly_report(
        self, month: str, customer: str | None = None, today: date | None = None
    ) -> dict[str, Any]:
        """The report of ``month``; ``today`` (when read) only matters while the month
        runs: CAPA actions overdue are then counted as of today, not the month's end."""
        self.catch_up()
        mine: Where = {"customer_code": customer}
        counts: dict[str, Counter[str]] = {name: Counter() for name in CASE_FIGURES}
        for case in self._month_cases(month, mine):
            for figure, key in _case_counts_in(case):
                counts[figure][key] += 1

        clock_counts: dict[str, Counter[str]] = {name: Counter() for name in CLOCK_FIGURES}
        breaches = []
        by_calendar: dict[tuple[str, int, str], dict[str, Any]] = {}
        for r in self._month_clocks(month, mine):
            counted = _clock_counts_in(r)
            for figure, key in counted:
                clock_counts[figure][key] += 1
            if r["business_hours"]:
                _by_calendar(by_calendar, r, no_verdict=("stopped", r["clock"]) in counted)
            if ("breaches", r["clock"]) in counted:
                breaches.append(_breach(r))
        breaches.sort(key=lambda b: (b["due_at"], b["clock_id"]))
        escalations = [_escalation(r) for r in self._month_escalations(month, mine)]

        def share(kind: str) -> dict[str, Any]:
            n, ok, off = (
                clock_counts[f][kind] for f in ("started", "met_within_target", "stopped")
            )
            measured = n - off
            return {"started": n, "met_within_target": ok, "stopped": off,
                    "share": round(ok / measured, 4) if measured else None}  # fmt: skip

        by_code: Where = {"code": customer}
        return {
            "month": month,
            "customer": customer,
            **{name: dict(sorted(counts[name].items())) for name in CASE_FIGURES},
            "replied_within_8h": share(SHARES["replied_within_8h"]),
            "on_site_within_8h": share(SHARES["on_site_within_8h"]),
            "breaches": breaches,
            "escalations": escalations,
            "by_calendar": [_calendar_row(key, c) for key, c in sorted(by_calendar.items())],
            "visits_made": self.count("visits", where={"month": month, **by_code}),
            "visits_due": sum(
                1
                for c in self._customers(customer)
                if _due(c, date.fromisoformat(f"{month}-28"), "last_visit", VISIT_INTERVAL_MONTHS)[
                    "status"
                ]
                != "ok"
            ),
            "field_service_days": self.count("field_days", where={"month": month, **by_code}),
            "returns": {
                figure: sum(self.count("returns", where=w) for w in wheres)
                for figure, wheres in _month_files(month, mine, "returns").items()
            },
            "capa": self._capa_counts(month, customer, today),
        }

    # What each figure of the report counts, row by row: the same filters as its count.

    def _month_cases(self, month: str, mine: Where) -> Iterator[dict[str, Any]]:
        return self.scan("cases", where={"month": month, **mine}, catch_up=False)

    def _month_clocks(self, month: str, mine: Where) -> Iterator[dict[str, Any]]:
        return self.scan(
            "clocks", where={"started_month": month, **mine}, order=("started_at",), catch_up=False
        )

    def _month_escalations(self, month: str, mine: Where) -> list[dict[str, Any]]:
        """Clocks escalated in ``month`` (4.2: the breach taken higher), whenever started;
        in the order they were escalated."""
        found = self.scan("clocks", where={"escalated_month": month, **mine}, catch_up=False)
        return sorted(found, key=lambda r: (r["escalated_at"], r["clock_id"]))

    def monthly_rows(
        self,
        month: str,
        figure: str,
        key: str | None = None,
        customer: str | None = None,
        today: date | None = None,
    ) -> list[dict[str, Any]]:
        """The rows one figure of ``monthly_report(month, customer, today)`` counts, read
        with the same filters as its count: as many as the figure says. ``key`` narrows a
        figure counted by kind (``feedback_by_kind``'s ``quality_problem``, ``breaches``'
        ``reply``) to that kind's."""
        self.catch_up()
        mine: Where = {"customer_code": customer}
        group, _, part = figure.partition(".")
        rows: list[dict[str, Any]]
        if group in CASE_FIGURES:
            rows = [
                _entry_row(c)
                for c in self._month_cases(month, mine)
                if any(f == group and key in (None, k) for f, k in _case_counts_in(c))
            ]
        elif group in SHARES or group == "breaches":
            figure_of, kind = (part, SHARES[group]) if group in SHARES else (group, key)
            rows = [
                _clock_row(r)
                for r in self._month_clocks(month, mine)
                if any(f == figure_of and kind in (None, k) for f, k in _clock_counts_in(r))
            ]
            if group == "breaches":
                rows.sort(key=lambda r: (r["due_at"], r["clock_id"]))
        elif group == "escalations":
            found = self._month_escalations(month, mine)
            rows = [_clock_row(r) for r in found if key in (None, r["clock"])]
        elif group in ("returns", "capa") and part in FILE_FIGURES:
            table = "returns" if group == "returns" else "capas"
            wheres = _month_files(month, mine, table)[part]
            row_of = _return_row if group == "returns" else _capa_row
            rows = [row_of(r) for w in wheres for r in self.scan(table, where=w, catch_up=False)]
        elif figure == "capa.overdue":
            rows = [_capa_row(r) for r in self._capa_overdue(month, customer, today)]
        else:
            raise ValueError(f"no figure {figure}")
        return rows

    def _capa_counts(self, month: str, customer: str | None, today: date | None) -> dict[str, int]:
        """CAPAs (4.4.4, 4.3.4) of the month: opened, closed, open at month end, overdue.

        Opened: QC convened the cross-functional team (4.4.4) in the month; closed: D8
        in the month (UTC months, like every count here). Overdue: ``_capa_overdue``.
        """
        mine: Where = {"customer_code": customer}
        counts = {
            figure: sum(self.count("capas", where=w) for w in wheres)
            for figure, wheres in _month_files(month, mine, "capas").items()
        }
        return {**counts, "overdue": len(self._capa_overdue(month, customer, today))}

    def _capa_overdue(
        self, month: str, customer: str | None, today: date | None
    ) -> list[dict[str, Any]]:
        """CAPAs open as of the month's last day (or of ``today`` while the month runs) with
        an action whose due day was over by then and no implementation dated on or before
        then. A past month's figure never changes; the running month's is the overdue list
        of today, as capa's own: due before today, not implemented."""
        last_day = _add_months(date.fromisoformat(f"{month}-01"), 1) - timedelta(days=1)
        running = today is not None and today <= last_day
        as_of = today if running and today is not None else last_day

        def late(action: dict[str, Any]) -> bool:
            due = date.fromisoformat(action["due"])
            over = due < as_of if running else due <= as_of
            done = action["implemented_on"]
            return over and (done is None or date.fromisoformat(done) > as_of)

        mine: Where = {"customer_code": customer}
        # Started (the team convened) by then: only started CAPAs have an opened_month.
        open_then = self.scan(
            "capas", where={"opened_on": Cmp("<=", as_of.isoformat()), **mine}, catch_up=False
        )
        return [
            c
            for c in open_then
            if (c["closed_on"] is None or c["closed_on"] > as_of.isoformat())
            and any(late(a) for a in c["actions"])
        ]


CASE_FIGURES = ("feedback_by_kind", "feedback_by_channel", "complaints_by_category")
"""att. 4's counts of the month's register entries, each by a key of the entry."""
CLOCK_FIGURES = ("started", "met_within_target", "stopped", "breaches")
"""att. 4's counts of the clocks started in the month, each by the clock's kind."""
SHARES = {"replied_within_8h": "reply", "on_site_within_8h": "on_site"}
"""The report's shares of promises kept, and the kind of clock each is of."""
FILE_FIGURES = ("opened", "closed", "open_at_month_end")
MonthlyFigure = Literal[
    "feedback_by_kind",
    "feedback_by_channel",
    "complaints_by_category",
    "replied_within_8h.started",
    "replied_within_8h.met_within_target",
    "replied_within_8h.stopped",
    "on_site_within_8h.started",
    "on_site_within_8h.met_within_target",
    "on_site_within_8h.stopped",
    "breaches",
    "escalations",
    "returns.opened",
    "returns.closed",
    "returns.open_at_month_end",
    "capa.opened",
    "capa.closed",
    "capa.open_at_month_end",
    "capa.overdue",
]
"""A figure of the monthly report, as ``ClockBoard.monthly_rows`` lists its rows."""


def _case_counts_in(case: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The figures a register entry of the month counts in, each with its key."""
    if case["entry_type"] == "feedback":
        return [("feedback_by_kind", case["kind"]), ("feedback_by_channel", case["channel"])]
    if case["entry_type"] == "complaint":
        return [("complaints_by_category", case["category"])]
    return []


def _clock_counts_in(r: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The figures a clock started in the month counts in, each with its kind."""
    kind = r["clock"]
    found = [("started", kind)]
    if r["within_target"]:
        found.append(("met_within_target", kind))
    # 4.6: an entry closed before its promise was met or broken leaves the promise without
    # a verdict: counted apart, not as kept nor as broken. One that had breached first
    # stays a breach.
    if r.get("stop") and not r["breached_at"]:
        found.append(("stopped", kind))
    # A reply recorded late but dated within the target keeps its promise, even if the
    # clock had announced a breach before anyone recorded it.
    if r["breached_at"] and r["within_target"] is not True:
        found.append(("breaches", kind))
    return found


def _month_files(month: str, mine: Where, table: str = "returns") -> dict[str, list[Where]]:
    """What the month's return cases (or CAPAs) opened, closed and open at its end are:
    each figure's filters, the rows of all of them together."""
    opened: Where = {"opened_month": Cmp("<=", month), **mine}
    # only started CAPAs have an opened_month
    started: Where = {"opened_month": IsNull(False)} if table == "capas" else {}
    closed: Where = {"closed_month": month, **started, **mine}
    return {
        "opened": [{"opened_month": month, **mine}],
        "closed": [closed],
        # opened in or before the month, not closed by its end
        "open_at_month_end": [
            {**opened, "closed_month": IsNull()},
            {**opened, "closed_month": Cmp(">", month)},
        ],
    }


def _breach(r: Mapping[str, Any]) -> dict[str, Any]:
    stop = r.get("stop")
    return {
        "clock_id": r["clock_id"],
        "clock": r["clock"],
        "case_id": r["case_id"],
        "due_at": r["due_at"],
        "breached_at": r["breached_at"],
        "found_late": r["found_late"],
        "met_at": r["met_at"],
        "stopped_at": stop["at"] if stop else None,
        "pauses": [p["reason"] for p in r["pauses"]],
    }


def _escalation(r: Mapping[str, Any]) -> dict[str, Any]:
    stop = r.get("stop")
    return {
        "clock_id": r["clock_id"],
        "clock": r["clock"],
        "case_id": r["case_id"],
        "started_at": r["started_at"],
        "due_at": r["due_at"],
        "breached_at": r["breached_at"],
        "escalated_at": r["escalated_at"],
        "found_late": r["found_late"],
        "met_at": r["met_at"],
        "stopped_at": stop["at"] if stop else None,
    }


def _entry_row(c: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record": "entry", "case_id": c["case_id"], "customer": c["customer"],
        "at": c["received_at"], "entry_type": c["entry_type"], "kind": c.get("kind"),
        "category": c.get("category"), "channel": c.get("channel"),
    }  # fmt: skip


def _clock_row(r: Mapping[str, Any]) -> dict[str, Any]:
    stop = r.get("stop")
    return {
        "record": "clock", "case_id": r["case_id"], "customer": r["customer"],
        "at": r["escalated_at"] or r["started_at"], "clock_id": r["clock_id"],
        "clock": r["clock"], "status": r["status"], "started_at": r["started_at"],
        "due_at": r["due_at"], "breached_at": r["breached_at"],
        "escalated_at": r["escalated_at"], "met_at": r["met_at"],
        "within_target": r["within_target"], "stopped_at": stop["at"] if stop else None,
    }  # fmt: skip


def _return_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record": "return", "case_id": r["case_id"], "customer": r["customer"],
        "opened_month": r["opened_month"], "closed_month": r["closed_month"],
        "closed_how": r.get("closed_how"),
    }  # fmt: skip


def _capa_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "record": "capa", "case_id": r["case_id"], "customer": r["customer"],
        "capa_no": r.get("capa_no"), "opened_month": r["opened_month"],
        "closed_month": r["closed_month"], "opened_on": r["opened_on"],
        "closed_on": r["closed_on"],
    }  # fmt: skip


def _row(rows: Rows, table: str, key: str) -> dict[str, Any]:
    row = rows.get(table, key)
    if row is None:
        raise LookupError(f"{table}: no row {key} for an event of it (the log is out of order)")
    return row


def _found(rows: Rows, table: str, column: str, value: str) -> dict[str, Any]:
    found = rows.find(table, column, value)
    if len(found) != 1:
        raise LookupError(f"{table}: {len(found)} rows of {column} {value}, not one")
    return found[0]


def _due(customer: Mapping[str, Any], today: date, last_field: str, months: int) -> dict[str, Any]:
    last = customer[last_field]
    # Not yet registered in the archive (its event may still be on its way):
    # count from the first day we saw the customer served.
    start = last or customer["registered_on"] or customer["first_field_day"] or today.isoformat()
    due = _add_months(date.fromisoformat(start), months)
    state = "overdue" if due < today else "due" if due <= today + timedelta(days=30) else "ok"
    return {"code": customer["code"], "name": customer["name"], "last": last,
            "due_on": due.isoformat(), "status": state}  # fmt: skip


def _follow_up_where(today: date) -> Where:
    return {"closed": False, "month": Cmp("<", month_of(today))}


def _task(case: Mapping[str, Any]) -> dict[str, Any]:
    return {"case_id": case["case_id"], "month": case["month"], "customer": case["customer"],
            "entry_type": case["entry_type"], "follow_ups": case["follow_ups"]}  # fmt: skip
