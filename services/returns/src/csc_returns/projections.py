"""Return cases by status, customer and month; a case's timeline; quarantine stock; the PNPR.

All folded from returns' own event log. The timeline speaks the public events'
vocabulary (names, clauses, fields), so what an auditor reads here is what
subscribers of csc.returns.v1 received.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from csc_messaging.readmodel import ReadModel
from csc_returns.domain import ReturnCase, report_no
from csc_returns.domain.cases import IN_QUARANTINE, ISOLATED, NC_REPORTED, REVIEWED
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


def _step(event: Any) -> dict[str, Any]:
    return {"at": event.timestamp.isoformat(), "by": event.actor}


class ReturnCases(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cases: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        key = str(event.originator_id)
        if isinstance(event, C.Opened):
            self._cases[key] = {
                "case_id": key,
                "status": "reported",
                "opened_by_event": str(event.opened_by_event) if event.opened_by_event else None,
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
                "timeline": [],
            }
        row = self._cases.get(key)
        if row is None:
            return
        self._timeline(row, event)
        self._fold(row, event)

    @staticmethod
    def _timeline(row: dict[str, Any], event: Any) -> None:
        public = to_public(event)
        if public is None:
            return
        row["timeline"].append(
            {
                "version": event.originator_version,
                "at": public.occurred_at.isoformat(),
                "event": type(public).__name__,
                "type": public.event_type(),
                "event_id": str(public.event_id),
                "clause": getattr(public, "clause", None),
                "actor": public.actor.model_dump(mode="json"),
                "fields": public.model_dump(mode="json", exclude=_ENVELOPE),
            }
        )

    @staticmethod
    def _fold(row: dict[str, Any], e: Any) -> None:
        match e:
            case C.ReplacementAgreed():
                row.update(status="replacement_agreed", product=e.product)
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
                row["status"] = "replacement_shipped"
                row["replacement"]["shipment"] = {
                    "quantity": e.quantity,
                    "lot": e.lot,
                    "units": e.units,
                    "shipped_at": e.shipped_at.isoformat(),
                    "shipping_note": e.shipping_note,
                    **_step(e),
                }
            case C.ReturnRequested():
                row.update(status="return_requested", product=e.product)
                row["request"] = {
                    "delivery": e.delivery,
                    "lot": e.lot,
                    "quantity": e.quantity,
                    "reason": e.reason,
                    **_step(e),
                }
            case C.ConfirmationRequested():
                row["status"] = "awaiting_quality"
                row["quality"] = {"requested": {**_step(e), "note": e.note}, "decision": None}
            case C.ConfirmedByQuality():
                row["status"] = "confirmed_by_quality"
                row["quality"]["decision"] = {"confirmed": True, "finding": e.finding, **_step(e)}
            case C.RejectedByQuality():
                row["status"] = "rejected_by_quality"
                row["quality"]["decision"] = {"confirmed": False, "reason": e.reason, **_step(e)}
            case C.ReceiptAuthorized():
                row["status"] = "receipt_authorized"
                row["receipt_authorized"] = {"quantity": e.quantity, "lot": e.lot, **_step(e)}
            case C.Received():
                row["status"] = "received"
                row["receipt"] = {
                    "quantity": e.quantity,
                    "location": e.location,
                    "lot": e.lot,
                    "received_at": e.received_at.isoformat(),
                    **_step(e),
                }
            case C.SamplesTaken():
                row["status"] = "sampled"
                row["samples"] = {
                    "condition": e.condition,
                    "sample_count": len(e.sample_ids),
                    "sample_ids": e.sample_ids,
                    **_step(e),
                }
            case C.Identified():
                row["status"] = "identified"
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
                row["status"] = "isolated"
                row["pnpr"]["isolated"] = {"location": e.location, **_step(e)}
            case C.NonconformanceReported():
                row["status"] = "nonconformance_reported"
                row["pnpr"]["reported"] = {"description": e.description, **_step(e)}
            case C.Reviewed():
                row["status"] = "reviewed"
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
                if e.remaining == 0:
                    row["status"] = "dispositioned"

    def rows(self) -> list[dict[str, Any]]:
        return sorted(self._cases.values(), key=lambda r: (r["reported_at"], r["case_id"]))

    # Queries ----------------------------------------------------------------------------------

    def cases(
        self,
        status: str | None = None,
        customer: str | None = None,
        month: str | None = None,
    ) -> list[dict[str, Any]]:
        """Cases, oldest report first, without their timelines."""
        self.catch_up()
        return [
            {k: v for k, v in copy.deepcopy(r).items() if k != "timeline"}
            for r in self.rows()
            if (status is None or r["status"] == status)
            and (customer is None or r["customer"]["code"] == customer)
            and (month is None or r["month"] == month)
        ]

    def case(self, case_id: str) -> dict[str, Any] | None:
        self.catch_up()
        row = self._cases.get(case_id)
        return copy.deepcopy(row) if row is not None else None

    def timeline(self, case_id: str) -> list[dict[str, Any]] | None:
        row = self.case(case_id)
        return row["timeline"] if row is not None else None

    def quarantine(self) -> list[dict[str, Any]]:
        """What is isolated where, awaiting which decision (4.3.3), longest waiting first."""
        self.catch_up()
        stock = []
        for row in self.rows():
            if row["status"] not in IN_QUARANTINE:
                continue
            pnpr = row["pnpr"]
            awaiting = AWAITING[row["status"]]
            open_lines: dict[str, int] = {}
            if row["status"] == REVIEWED:
                done: dict[str, int] = {}
                for d in pnpr["dispositions"]:
                    done[d["disposition"]] = done.get(d["disposition"], 0) + d["quantity"]
                for line in pnpr["reviewed"]["decision"]:
                    left = line["quantity"] - done.get(line["disposition"], 0)
                    if left:
                        open_lines[line["disposition"]] = left
            stock.append(
                {
                    "case_id": row["case_id"],
                    "report_no": pnpr["report_no"],
                    "location": pnpr["isolated"]["location"],
                    "tag": pnpr["identified"]["tag"],
                    "quantity": pnpr["remaining"],
                    "customer": row["customer"],
                    "product": row["product"],
                    "lot": row["receipt"]["lot"],
                    "isolated_at": pnpr["isolated"]["at"],
                    "awaiting": awaiting,
                    "awaiting_dispositions": open_lines,
                }
            )
        return sorted(stock, key=lambda s: (s["isolated_at"], s["case_id"]))

    def pnpr(self, case_id: str) -> dict[str, Any] | None:
        """The PNPR of one case (4.3.3), with what led to it (4.3.2), once its goods are tagged."""
        row = self.case(case_id)
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
