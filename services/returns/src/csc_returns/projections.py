"""Return cases by status, customer and month; a case's timeline; quarantine stock; the PNPR.

All folded from returns' own event log. The timeline speaks the public events'
vocabulary (names, clauses, fields), so what an auditor reads here is what
subscribers of csc.returns.v1 received.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from csc_messaging.views import Column, In, Page, Rows, Table, View, row_digest
from csc_returns.domain import ReturnCase, report_no
from csc_returns.domain.cases import IN_QUARANTINE, ISOLATED, NC_REPORTED, REPORTED, REVIEWED
from csc_returns.public import to_public

C = ReturnCase
_ENVELOPE = {"event_id", "case_id", "occurred_at", "actor", "clause", "report_no"}

# What quarantined goods wait for, per status (4.3.3).
AWAITING = {
    ISOLATED: "nonconformance report",
    NC_REPORTED: "review board decision",
    REVIEWED: "disposition",
}


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _stock(row: dict[str, Any]) -> dict[str, Any]:
    """One case's goods in quarantine (4.3.3): where, how many, awaiting what."""
    pnpr = row["pnpr"]
    open_lines: dict[str, int] = {}
    if row["status"] == REVIEWED:
        done: dict[str, int] = {}
        for d in pnpr["dispositions"]:
            done[d["disposition"]] = done.get(d["disposition"], 0) + d["quantity"]
        for line in pnpr["reviewed"]["decision"]:
            left = line["quantity"] - done.get(line["disposition"], 0)
            if left:
                open_lines[line["disposition"]] = left
    return {
        "case_id": row["case_id"],
        "report_no": pnpr["report_no"],
        "location": pnpr["isolated"]["location"],
        "tag": pnpr["identified"]["tag"],
        "quantity": pnpr["remaining"],
        "customer": row["customer"],
        "product": row["product"],
        "lot": row["receipt"]["lot"],
        "isolated_at": pnpr["isolated"]["at"],
        "awaiting": AWAITING[row["status"]],
        "awaiting_dispositions": open_lines,
    }


def _step(event: Any) -> dict[str, Any]:
    return {"at": event.timestamp.isoformat(), "by": event.actor}


def _sort_time(row: Mapping[str, Any]) -> str:
    # reported_at is ISO 8601 with its offset: ordered as the moment it names, in UTC.
    return datetime.fromisoformat(row["reported_at"]).astimezone(UTC).isoformat()


def _isolated_at(row: Mapping[str, Any]) -> str | None:
    pnpr = row["pnpr"]
    if pnpr is None or pnpr["isolated"] is None:
        return None
    return datetime.fromisoformat(pnpr["isolated"]["at"]).astimezone(UTC).isoformat()


class ReturnCases(View):
    """Return cases (a row each, without its timeline) and their timelines (a row an event).

    Lists are in the order the cases were reported (then their id), which never changes
    for a case; quarantine stock in the order the goods were isolated.
    """

    name = "returns"
    version = 1
    tables = (
        Table(
            "cases",
            columns=(
                Column("case_id"),
                Column("status"),
                Column("customer", of=lambda r: r["customer"]["code"]),
                Column("month"),
                Column("reported", of=_sort_time),
                Column("isolated", of=_isolated_at),
            ),
            key=("case_id",),
            indexes=(
                ("reported",),
                ("status", "reported"),
                ("customer", "reported"),
                ("month", "reported"),
                ("status", "isolated"),
            ),
        ),
        Table(
            "timeline",
            columns=(Column("case_id"), Column("version", "int")),
            key=("case_id", "version"),
        ),
    )

    def apply(self, event: Any, rows: Rows) -> None:
        key = str(event.originator_id)
        if isinstance(event, C.Opened):
            rows.put(
                "cases",
                {
                    "case_id": key,
                    "status": REPORTED,
                    "opened_by_event": str(event.opened_by_event)
                    if event.opened_by_event
                    else None,
                    "opened_by_type": event.opened_by_type,
                    "reported_at": event.reported_at.isoformat(),
                    "month": month_of(event.reported_at),
                    "customer": event.customer,
                    "product": event.product,
                    "lot": event.lot,
                    "description": event.description,
                    "replacement": None,
                    "request": None,
                    "quality": None,
                    "receipt_authorized": None,
                    "receipt": None,
                    "samples": None,
                    "pnpr": None,
                },
            )
        row = rows.get("cases", key)
        if row is None:
            return
        entry = self._timeline(event)
        if entry is not None:
            rows.put("timeline", {"case_id": key, **entry})
        self._fold(row, event)

    @staticmethod
    def _timeline(event: Any) -> dict[str, Any] | None:
        public = to_public(event)
        if public is None:
            return None
        return {
            "version": event.originator_version,
            "at": public.occurred_at.isoformat(),
            "event": type(public).__name__,
            "type": public.event_type(),
            "event_id": str(public.event_id),
            "clause": getattr(public, "clause", None),
            "actor": public.actor.model_dump(mode="json"),
            "fields": public.model_dump(mode="json", exclude=_ENVELOPE),
        }

    @staticmethod
    def _fold(row: dict[str, Any], e: Any) -> None:
        # Where a step leaves the case is the domain's word (``leads_to``), not retyped here.
        if isinstance(e, C.Step) and (status := e.moves_to()) is not None:
            row["status"] = status
        match e:
            case C.ReplacementAgreed():
                row["product"] = e.product
                row["replacement"] = {
                    "delivery": e.delivery,
                    "lot": e.lot,
                    "quantity": e.quantity,
                    "units": e.units,
                    "agreed_with": e.agreed_with,
                    "agreed": _step(e),
                    "shipment": None,
                }
            case C.ReplacementShipped():
                row["replacement"]["shipment"] = {
                    "quantity": e.quantity,
                    "lot": e.lot,
                    "units": e.units,
                    "shipped_at": e.shipped_at.isoformat(),
                    "shipping_note": e.shipping_note,
                    **_step(e),
                }
            case C.ReturnRequested():
                row["product"] = e.product
                row["request"] = {
                    "delivery": e.delivery,
                    "lot": e.lot,
                    "quantity": e.quantity,
                    "reason": e.reason,
                    **_step(e),
                }
            case C.ConfirmationRequested():
                row["quality"] = {"requested": {**_step(e), "note": e.note}, "decision": None}
            case C.ConfirmedByQuality():
                row["quality"]["decision"] = {"confirmed": True, "finding": e.finding, **_step(e)}
            case C.RejectedByQuality():
                row["quality"]["decision"] = {"confirmed": False, "reason": e.reason, **_step(e)}
            case C.ReceiptAuthorized():
                row["receipt_authorized"] = {"quantity": e.quantity, "lot": e.lot, **_step(e)}
            case C.Received():
                row["receipt"] = {
                    "quantity": e.quantity,
                    "location": e.location,
                    "lot": e.lot,
                    "received_at": e.received_at.isoformat(),
                    **_step(e),
                }
            case C.SamplesTaken():
                row["samples"] = {
                    "condition": e.condition,
                    "sample_count": len(e.sample_ids),
                    "sample_ids": e.sample_ids,
                    **_step(e),
                }
            case C.Identified():
                row["pnpr"] = {
                    "report_no": report_no(e.originator_id),
                    "quantity": e.quantity,
                    "identified": {"tag": e.tag, **_step(e)},
                    "isolated": None,
                    "reported": None,
                    "reviewed": None,
                    "dispositions": [],
                    "dispositioned": 0,
                    "remaining": e.quantity,
                }
            case C.Isolated():
                row["pnpr"]["isolated"] = {"location": e.location, **_step(e)}
            case C.NonconformanceReported():
                row["pnpr"]["reported"] = {"description": e.description, **_step(e)}
            case C.Reviewed():
                row["pnpr"]["reviewed"] = {
                    "board": e.board,
                    "decision": e.decision,
                    "note": e.note,
                    **_step(e),
                }
            case C.Dispositioned():
                pnpr = row["pnpr"]
                pnpr["dispositions"].append(
                    {
                        "disposition": e.disposition,
                        "quantity": e.quantity,
                        "concession": e.concession,
                        "note": e.note,
                        **_step(e),
                    }
                )
                pnpr.update(dispositioned=e.dispositioned, remaining=e.remaining)

    # Queries ----------------------------------------------------------------------------------

    def cases(
        self,
        status: str | None = None,
        customer: str | None = None,
        month: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Cases, oldest report first, without their timelines."""
        where = {"status": status, "customer": customer, "month": month}
        return self.page("cases", where=where, order=("reported",), cursor=cursor, limit=limit)

    def case(self, case_id: str) -> dict[str, Any] | None:
        """One case with its timeline."""
        row = self.get("cases", case_id)
        if row is None:
            return None
        return {**row, "timeline": self.timeline(case_id, catch_up=False) or []}

    def timeline(self, case_id: str, *, catch_up: bool = True) -> list[dict[str, Any]] | None:
        entries = [
            {k: v for k, v in entry.items() if k != "case_id"}
            for entry in self.scan("timeline", where={"case_id": case_id}, catch_up=catch_up)
        ]
        if not entries and self.get("cases", case_id) is None:
            return None
        return entries

    def quarantine(self, *, cursor: str | None = None, limit: int = 100) -> Page:
        """What is isolated where, awaiting which decision (4.3.3), longest waiting first."""
        page = self.page(
            "cases",
            where={"status": In(tuple(sorted(IN_QUARANTINE)))},
            order=("isolated",),
            cursor=cursor,
            limit=limit,
        )
        return Page([_stock(row) for row in page.rows], page.next_cursor)

    def case_digest(self, case_id: str) -> str | None:
        """SHA-256 of one case as its documents print it: the row and its timeline."""
        row = self.case(case_id)
        return None if row is None else row_digest(row)

    def pnpr(self, case_id: str) -> dict[str, Any] | None:
        """The PNPR of one case (4.3.3), with what led to it (4.3.2), once its goods are tagged."""
        row = self.get("cases", case_id)
        if row is None or row["pnpr"] is None:
            return None
        return {
            **row["pnpr"],
            "case_id": row["case_id"],
            "status": row["status"],
            "customer": row["customer"],
            "product": row["product"],
            "complaint": row["description"],
            "reported_at": row["reported_at"],
            "request": row["request"],
            "quality": row["quality"],
            "receipt": row["receipt"],
            "samples": row["samples"],
        }
