"""SLA's read models: the clocks board, the schedules (4.1.5, 4.5, 4.6) and the monthly report.

All folded from sla's own event log; anything that depends on "now" takes it
as an argument, so the same log and the same moment always give the same answer.
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from csc_messaging.readmodel import ReadModel
from csc_sla.domain import CapaFile, CaseFile, Clock, CustomerProfile, ReturnFile

VISIT_INTERVAL_MONTHS = 6  # 4.5: every half year
SURVEY_INTERVAL_MONTHS = 12  # 4.1.5: once a year


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


def _next_deadline(row: dict[str, Any]) -> datetime | None:
    """As Clock.next_deadline: a deadline past before the clock was recorded waits
    for its settle_at."""
    if row["status"] in ("met", "paused"):
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


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def month_of(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


class ClockBoard(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clocks: dict[str, dict[str, Any]] = {}
        self._cases: dict[str, dict[str, Any]] = {}
        self._customers: dict[str, dict[str, Any]] = {}
        self._case_files: dict[UUID, dict[str, Any]] = {}
        # (next deadline, clock id): the timer's "what is due?" without a scan of
        # every open clock. Entries go stale when a clock moves on; due_by skips those.
        self._deadlines: list[tuple[datetime, str]] = []
        self._profiles: dict[UUID, dict[str, Any]] = {}
        self._returns: dict[UUID, dict[str, Any]] = {}
        self._capas: dict[UUID, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        key = str(event.originator_id)
        if isinstance(event, Clock.Started):
            self._clocks[key] = {
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
                "status": "running",
                "found_late": False,
                "warned_at": None,
                "breached_at": None,
                "escalated_at": None,
                "met_at": None,
                "within_target": None,
                "pauses": [],
                "paused_hours": 0.0,
            }
        elif isinstance(event, Clock.Event):
            self._apply_clock(self._clocks[key], event)
        if isinstance(event, Clock.Event):
            upcoming = _next_deadline(self._clocks[key])
            if upcoming is not None:
                heapq.heappush(self._deadlines, (upcoming, key))
        elif isinstance(event, CaseFile.Opened):
            self._cases[str(event.case_id)] = self._case_files[event.originator_id] = {
                "case_id": str(event.case_id),
                "entry_type": event.entry_type,
                "kind": event.kind,
                "category": event.category,
                "channel": event.channel,
                "customer": event.customer,
                "received_at": event.received_at.isoformat(),
                "month": month_of(event.received_at),
                "follow_ups": [],
                "closed": False,
            }
        elif isinstance(event, CaseFile.FollowedUp):
            case = self._case_files[event.originator_id]
            case["follow_ups"].append({"month": event.month, "at": event.at.isoformat()})
            case["closed"] = case["closed"] or event.closed
        elif isinstance(event, ReturnFile.Opened):
            self._returns[event.originator_id] = {
                "case_id": str(event.case_id),
                "customer": event.customer,
                "opened_month": month_of(event.reported_at),
                "closed_month": None,
                "closed_how": None,
            }
        elif isinstance(event, ReturnFile.Closed):
            self._returns[event.originator_id].update(
                closed_month=month_of(event.at), closed_how=event.how
            )
        elif isinstance(event, CapaFile.Opened):
            self._capas[event.originator_id] = {
                "case_id": str(event.case_id),
                "capa_no": event.capa_no,
                "source": event.source,
                "customer": event.customer,
                "opened_month": None,
                "opened_on": None,
                "closed_month": None,
                "closed_on": None,
                "actions": [],
            }
        elif isinstance(event, CapaFile.Event):
            row = self._capas[event.originator_id]
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
        elif isinstance(event, CustomerProfile.Known):
            self._customers[event.code] = self._profiles[event.originator_id] = {
                "code": event.code,
                "name": event.name,
                "oem": event.oem,
                "registered_on": None,
                "visits": [],
                "surveys": [],
                "field_days": [],
            }
        elif isinstance(event, CustomerProfile.Event):
            customer = self._profiles[event.originator_id]
            if isinstance(event, CustomerProfile.Registered):
                customer.update(name=event.name, oem=event.oem,
                                registered_on=event.registered_at.date().isoformat())  # fmt: skip
            elif isinstance(event, CustomerProfile.Updated):
                customer.update(name=event.name, oem=event.oem)
            elif isinstance(event, CustomerProfile.Visited):
                customer["visits"].append(event.visit_date)
            elif isinstance(event, CustomerProfile.Surveyed):
                customer["surveys"].append({"year": event.year, "on": event.at.date().isoformat()})
            elif isinstance(event, CustomerProfile.Serviced):
                customer["field_days"].append(
                    {"work_date": event.work_date, "engineer": event.engineer, "site": event.site}
                )

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

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"clocks": sorted(self._clocks.values(), key=lambda r: (r["due_at"], r["clock_id"]))},
            {"cases": sorted(self._cases.values(), key=lambda r: r["case_id"])},
            {"returns": sorted(self._returns.values(), key=lambda r: r["case_id"])},
            {"capas": sorted(self._capas.values(), key=lambda r: r["case_id"])},
            # Lists inside a customer come from several partitions: sorted, so the
            # order Kafka delivered them in does not show.
            {
                "customers": [
                    {
                        **c,
                        "visits": sorted(c["visits"]),
                        "surveys": sorted(c["surveys"], key=lambda v: (v["year"], v["on"])),
                        "field_days": sorted(c["field_days"], key=lambda d: sorted(d.items())),
                    }
                    for c in sorted(self._customers.values(), key=lambda r: r["code"])
                ]
            },
        ]

    # Clocks ---------------------------------------------------------------------------

    def clocks(self, case_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        self.catch_up()
        return [
            r
            for r in sorted(self._clocks.values(), key=lambda r: (r["due_at"], r["clock_id"]))
            if (case_id is None or r["case_id"] == case_id)
            and (status is None or r["status"] == status)
        ]

    def clock(self, clock_id: str) -> dict[str, Any] | None:
        self.catch_up()
        return self._clocks.get(clock_id)

    def due_by(self, now: datetime) -> list[UUID]:
        """Open, unpaused clocks with a deadline at or before ``now`` not yet fired."""
        self.catch_up()
        due: dict[str, datetime] = {}
        while self._deadlines and self._deadlines[0][0] <= now:
            deadline, clock_id = heapq.heappop(self._deadlines)
            if _next_deadline(self._clocks[clock_id]) == deadline:
                due[clock_id] = deadline
        # They stay queued until firing them moves the clock on (a failed firing is
        # retried at the next tick).
        for clock_id, deadline in due.items():
            heapq.heappush(self._deadlines, (deadline, clock_id))
        return [UUID(clock_id) for clock_id in due]

    # Schedules ------------------------------------------------------------------------

    def visit_schedule(self, today: date) -> list[dict[str, Any]]:
        """4.5: every customer is visited every half year; due within 30 days, or overdue."""
        return self._schedule(today, "visits", VISIT_INTERVAL_MONTHS)

    def survey_schedule(self, today: date) -> list[dict[str, Any]]:
        """4.1.5: a satisfaction survey once a year."""
        return self._schedule(today, "surveys", SURVEY_INTERVAL_MONTHS)

    def _schedule(self, today: date, what: str, months: int) -> list[dict[str, Any]]:
        self.catch_up()
        rows = []
        for customer in sorted(self._customers.values(), key=lambda c: c["code"]):
            done = [v if isinstance(v, str) else v["on"] for v in customer[what]]
            last = max(done) if done else None
            # Not yet registered in the archive (its event may still be on its way):
            # count from the first day we saw the customer served.
            first_served = min((d["work_date"] for d in customer["field_days"]), default=None)
            start = last or customer["registered_on"] or first_served or today.isoformat()
            base = date.fromisoformat(start)
            due = _add_months(base, months)
            state = (
                "overdue" if due < today else "due" if due <= today + timedelta(days=30) else "ok"
            )
            rows.append({"code": customer["code"], "name": customer["name"], "last": last,
                         "due_on": due.isoformat(), "status": state})  # fmt: skip
        return rows

    def follow_up_tasks(self, today: date) -> list[dict[str, Any]]:
        """4.6: at the start of each month, a task for every entry of earlier months not
        yet followed up to a close; open until FollowUpRecorded closes it."""
        self.catch_up()
        current = month_of(today)
        return [
            {"case_id": c["case_id"], "month": c["month"], "customer": c["customer"],
             "entry_type": c["entry_type"], "follow_ups": c["follow_ups"]}
            for c in sorted(self._cases.values(), key=lambda c: (c["received_at"], c["case_id"]))
            if c["month"] < current and not c["closed"]
        ]  # fmt: skip

    # Monthly Field Service Report (att. 4) -----------------------------------------------

    def monthly_report(
        self, month: str, customer: str | None = None, today: date | None = None
    ) -> dict[str, Any]:
        """The report of ``month``; ``today`` (when read) only matters while the month
        runs: CAPA actions overdue are then counted as of today, not the month's end."""
        self.catch_up()

        def mine(row: dict[str, Any]) -> bool:
            return customer is None or row["customer"]["code"] == customer

        cases = [c for c in self._cases.values() if c["month"] == month and mine(c)]
        feedback = [c for c in cases if c["entry_type"] == "feedback"]
        complaints = [c for c in cases if c["entry_type"] == "complaint"]
        clocks = [r for r in self._clocks.values() if r["started_at"][:7] == month and mine(r)]

        def share(kind: str) -> dict[str, Any]:
            started = [r for r in clocks if r["clock"] == kind]
            met = [r for r in started if r["within_target"]]
            return {"started": len(started), "met_within_target": len(met),
                    "share": round(len(met) / len(started), 4) if started else None}  # fmt: skip

        customers = [c for c in self._customers.values() if customer in (None, c["code"])]
        returns = [r for r in self._returns.values() if mine(r)]
        visits = sum(1 for c in customers for v in c["visits"] if v[:7] == month)
        field_days = {
            (c["code"], d["work_date"], d["engineer"])
            for c in customers
            for d in c["field_days"]
            if d["work_date"][:7] == month
        }
        return {
            "month": month,
            "customer": customer,
            "feedback_by_kind": dict(sorted(Counter(c["kind"] for c in feedback).items())),
            "feedback_by_channel": dict(sorted(Counter(c["channel"] for c in feedback).items())),
            "complaints_by_category": dict(
                sorted(Counter(c["category"] for c in complaints).items())
            ),
            "replied_within_8h": share("reply"),
            "on_site_within_8h": share("on_site"),
            # A reply recorded late but dated within the target keeps its promise, even
            # if the clock had announced a breach before anyone recorded it.
            "breaches": [
                {
                    "clock_id": r["clock_id"],
                    "clock": r["clock"],
                    "case_id": r["case_id"],
                    "due_at": r["due_at"],
                    "breached_at": r["breached_at"],
                    "found_late": r["found_late"],
                    "met_at": r["met_at"],
                    "pauses": [p["reason"] for p in r["pauses"]],
                }
                for r in sorted(clocks, key=lambda r: r["due_at"])
                if r["breached_at"] and r["within_target"] is not True
            ],
            "visits_made": visits,
            "visits_due": sum(
                1
                for row in self.visit_schedule(date.fromisoformat(f"{month}-28"))
                if row["status"] != "ok" and row["code"] in {c["code"] for c in customers}
            ),
            "field_service_days": len(field_days),
            "returns": {
                "opened": sum(1 for r in returns if r["opened_month"] == month),
                "closed": sum(1 for r in returns if r["closed_month"] == month),
                "open_at_month_end": sum(
                    1
                    for r in returns
                    if r["opened_month"] <= month
                    and (r["closed_month"] is None or r["closed_month"] > month)
                ),
            },
            "capa": self._capa_counts(month, [r for r in self._capas.values() if mine(r)], today),
        }

    @staticmethod
    def _capa_counts(month: str, capas: list[dict[str, Any]], today: date | None) -> dict[str, int]:
        """CAPAs (4.4.4, 4.3.4) of the month: opened, closed, open at month end, overdue.

        Opened: QC convened the cross-functional team (4.4.4) in the month; closed: D8
        in the month (UTC months, like every count here). Overdue: CAPAs open as of the
        month's last day (or of ``today`` while the month runs) with an action whose due
        day was over by then and no implementation dated on or before then. A past
        month's figure never changes; the running month's is the overdue list of today,
        as capa's own: due before today, not implemented.
        """
        last_day = _add_months(date.fromisoformat(f"{month}-01"), 1) - timedelta(days=1)
        running = today is not None and today <= last_day
        as_of = today if running and today is not None else last_day

        def late(action: dict[str, Any]) -> bool:
            due = date.fromisoformat(action["due"])
            over = due < as_of if running else due <= as_of
            done = action["implemented_on"]
            return over and (done is None or date.fromisoformat(done) > as_of)

        def open_then(capa: dict[str, Any]) -> bool:
            closed = capa["closed_on"]
            return capa["opened_on"] <= as_of.isoformat() and (
                closed is None or closed > as_of.isoformat()
            )

        started = [c for c in capas if c["opened_month"] is not None]
        return {
            "opened": sum(1 for c in started if c["opened_month"] == month),
            "closed": sum(1 for c in started if c["closed_month"] == month),
            "open_at_month_end": sum(
                1
                for c in started
                if c["opened_month"] <= month
                and (c["closed_month"] is None or c["closed_month"] > month)
            ),
            "overdue": sum(
                1 for c in started if open_then(c) and any(late(a) for a in c["actions"])
            ),
        }
