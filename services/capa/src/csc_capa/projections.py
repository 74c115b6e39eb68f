"""QC's work list: investigations and their CAPAs, each 8D step, overdue actions, report formats.

Folded from capa's own event log. The timeline speaks the public events'
vocabulary, so what an auditor reads here is what subscribers of csc.capa.v1
received. What depends on today (an action overdue) or on another record (the
customer's report format) is worked out when read, so the stored rows (and
the digest) depend on the events alone.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from csc_capa.domain import CustomerReportFormat, Investigation, capa_no
from csc_capa.evidence import safe_filename
from csc_capa.public import occurred_at, to_public
from csc_contracts.capa import ReportFormat
from csc_messaging.readmodel import ReadModel

I = Investigation  # noqa: E741
_ENVELOPE = {"event_id", "case_id", "occurred_at", "actor", "clause", "capa_no"}
DEFAULT_FORMAT = ReportFormat.CPAR.value  # 4.3.4: "otherwise the company's own form"


def _when(event: Any) -> str:
    return str(occurred_at(event).isoformat())


def _by(event: Any) -> dict[str, Any]:
    return {"at": _when(event), "actor": event.actor}


class Investigations(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items: dict[str, dict[str, Any]] = {}
        self._formats: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any) -> None:
        if isinstance(event, CustomerReportFormat.Event):
            self._apply_format(event)
            return
        if not isinstance(event, Investigation.Event):
            return
        key = str(event.originator_id)
        if isinstance(event, I.Opened):
            self._items[key] = {
                "case_id": key,
                "capa_no": capa_no(event.originator_id),
                "status": "investigating",
                "source": event.source,
                "source_event_id": str(event.source_event_id),
                "reported_at": event.reported_at.isoformat(),
                "opened_at": event.reported_at.isoformat(),
                "closed_at": None,
                "round": 1,
                "customer": event.customer,
                "product": event.product,
                "lot": event.lot,
                "description": event.description,
                "owner_department": event.owner_department,
                "impact": None,
                "contacts": [],
                "evidence_requests": [],
                "evidence": [],
                "pnprs": [],
                "finding": None,
                "team": None,
                "d0": [],
                "d2": None,
                "d3": [],
                "d4": [],
                "actions": [],
                "verifications": [],
                "reopenings": [],
                "d7": [],
                "closure": None,
                "report_format_chosen": None,
                "timeline": [],
            }
        row = self._items.get(key)
        if row is None:
            return
        self._fold(row, event)
        public = to_public(event)
        if public is not None:
            body = public.model_dump(mode="json")
            row["timeline"].append(
                {
                    "event": type(public).__name__,
                    "clause": body["clause"],
                    "at": body["occurred_at"],
                    "actor": body["actor"],
                    "details": {k: v for k, v in body.items() if k not in _ENVELOPE},
                }
            )

    def _fold(self, row: dict[str, Any], e: Any) -> None:
        if isinstance(e, I.ImpactNoted):
            row["impact"] = {
                "lines_stopped": e.lines_stopped,
                "quantity_affected": e.quantity_affected,
                "remedial_measure": e.remedial_measure,
                "remedial_details": e.remedial_details,
            }
        elif isinstance(e, I.CustomerContacted):
            row["contacts"].append(
                {
                    "contacted_at": e.contacted_at.isoformat(),
                    "contact": e.contact,
                    "means": e.means,
                    "summary": e.summary,
                    "actor": e.actor,
                }
            )
        elif isinstance(e, I.EvidenceRequested):
            row["evidence_requests"].append(
                {
                    "request_no": e.request_no,
                    "kinds": list(e.kinds),
                    "details": e.details,
                    "due": e.due.isoformat() if e.due else None,
                    **_by(e),
                }
            )
        elif isinstance(e, I.EvidenceReceived):
            row["evidence"].append(
                {
                    "sha256": e.sha256,
                    # Events from before names were made safe carry the name as sent.
                    "filename": safe_filename(e.filename),
                    "original_filename": e.original_filename or e.filename,
                    "media_type": e.media_type,
                    "size": e.size,
                    "description": e.description,
                    "request_no": e.request_no,
                    **_by(e),
                }
            )
        elif isinstance(e, I.NonconformanceLinked):
            row["pnprs"].append(
                {
                    "report_no": e.report_no,
                    "description": e.description,
                    "lot": e.lot,
                    "quantity": e.quantity,
                    "at": _when(e),
                }
            )
        elif isinstance(e, I.Confirmed):
            row["status"] = "confirmed"
            row["finding"] = {
                "outcome": "confirmed",
                "text": e.finding,
                "by_pnpr": e.by_pnpr,
                **_by(e),
            }
        elif isinstance(e, I.NotConfirmed):
            row["status"] = "not_confirmed"
            row["closed_at"] = _when(e)
            row["finding"] = {"outcome": "not_confirmed", "text": e.reason, "by_pnpr": False}
            row["finding"].update(_by(e))
        elif isinstance(e, I.ClosedAsMisuse):
            row["status"] = "misuse"
            row["closed_at"] = _when(e)
            row["finding"] = {"outcome": "misuse", "text": e.finding, "by_pnpr": False}
            row["finding"].update(_by(e), determined_by=e.determined_by)
        elif isinstance(e, I.TeamConvened):
            row["status"] = "in_progress"
            row["team"] = {"leader": e.leader, "members": list(e.members), **_by(e)}
        elif isinstance(e, I.EmergencyResponseRecorded):
            row["d0"].append({"actions": e.actions, **_by(e)})
        elif isinstance(e, I.ProblemDescribed):
            row["d2"] = {**e.problem, **_by(e)}
        elif isinstance(e, I.ContainmentRecorded):
            row["d3"].append(
                {"actions": e.actions, "scope": e.scope, "quantity": e.quantity, **_by(e)}
            )
        elif isinstance(e, I.RootCauseIdentified):
            row["d4"].append(
                {
                    "round": e.round,
                    "root_cause": e.root_cause,
                    "escape_point": e.escape_point,
                    "method": e.method,
                    **_by(e),
                }
            )
        elif isinstance(e, I.ActionPlanned):
            row["actions"].append(
                {
                    "action_no": e.action_no,
                    "round": e.round,
                    "kind": e.kind,
                    "description": e.description,
                    "owner": e.owner,
                    "due": e.due.isoformat(),
                    "implemented_on": None,
                    "validation": None,
                    "overdue_days": None,
                    "status": "open",
                    **_by(e),
                }
            )
        elif isinstance(e, I.ActionImplemented):
            action = next(a for a in row["actions"] if a["action_no"] == e.action_no)
            action.update(
                implemented_on=e.implemented_on.isoformat(),
                validation=e.validation,
                overdue_days=e.overdue_days,
                status="implemented",
            )
        elif isinstance(e, I.EffectivenessVerified):
            row["verifications"].append(
                {
                    "round": e.round,
                    "effective": e.effective,
                    "method": e.method,
                    "result": e.result,
                    "verified_on": e.verified_on.isoformat(),
                    **_by(e),
                }
            )
        elif isinstance(e, I.Reopened):
            row["round"] = e.round
            row["reopenings"].append({"round": e.round, "reason": e.reason, "at": _when(e)})
        elif isinstance(e, I.RecurrencePrevented):
            row["d7"].append({"updates": list(e.updates), "note": e.note, **_by(e)})
        elif isinstance(e, I.Closed):
            row["status"] = "closed"
            row["closed_at"] = _when(e)
            row["closure"] = {
                "summary": e.summary,
                "recognition": e.recognition,
                "days_open": e.days_open,
                **_by(e),
            }
        elif isinstance(e, I.ReportFormatChosen):
            row["report_format_chosen"] = {"format": e.format, "reason": e.reason, **_by(e)}

    def _apply_format(self, e: Any) -> None:
        self._formats[e.customer_code] = {
            "customer_code": e.customer_code,
            "format": e.format,
            "title": e.title,
            "template": e.template,
            "template_sha256": e.template_sha256,
            "revision": e.originator_version,
            "at": e.timestamp.isoformat(),
            "actor": e.actor,
        }

    # Reading --------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        cases = sorted(self._items.values(), key=lambda r: (r["reported_at"], r["case_id"]))
        formats = [self._formats[k] for k in sorted(self._formats)]
        return [*cases, *({"report_format": f} for f in formats)]

    def investigations(
        self,
        status: str | None = None,
        customer: str | None = None,
        today: date | None = None,
    ) -> list[dict[str, Any]]:
        """Investigations, oldest report first, without their timelines."""
        self.catch_up()
        found = []
        for row in sorted(self._items.values(), key=lambda r: (r["reported_at"], r["case_id"])):
            if status and row["status"] != status:
                continue
            if customer and row["customer"].get("code") != customer:
                continue
            out = self._served(row, today)
            out.pop("timeline")
            found.append(out)
        return found

    def get(self, case_id: str, today: date | None = None) -> dict[str, Any] | None:
        self.catch_up()
        row = self._items.get(case_id)
        return None if row is None else self._served(row, today)

    def overdue_actions(self, today: date) -> list[dict[str, Any]]:
        """Actions past their due date and not implemented, most overdue first (4.4.4)."""
        self.catch_up()
        late = []
        for row in self._items.values():
            if row["status"] != "in_progress":
                continue
            for action in row["actions"]:
                if action["status"] == "open" and date.fromisoformat(action["due"]) < today:
                    late.append(
                        {
                            "case_id": row["case_id"],
                            "capa_no": row["capa_no"],
                            "customer": row["customer"],
                            **action,
                            "days_overdue": (today - date.fromisoformat(action["due"])).days,
                        }
                    )
        return sorted(late, key=lambda a: (-a["days_overdue"], a["capa_no"], a["action_no"]))

    def report_format(self, customer_code: str) -> dict[str, Any] | None:
        self.catch_up()
        found = self._formats.get(customer_code)
        return copy.deepcopy(found) if found else None

    def _served(self, row: dict[str, Any], today: date | None) -> dict[str, Any]:
        out = copy.deepcopy(row)
        for action in out["actions"]:
            action["overdue"] = (
                today is not None
                and action["status"] == "open"
                and out["status"] == "in_progress"
                and date.fromisoformat(action["due"]) < today
            )
        chosen = out.pop("report_format_chosen")
        registered = self._formats.get(out["customer"].get("code", ""))
        if chosen is not None:
            out["report_format"], out["report_format_source"] = chosen["format"], "case"
        elif registered is not None:
            out["report_format"], out["report_format_source"] = registered["format"], "customer"
        else:
            out["report_format"], out["report_format_source"] = DEFAULT_FORMAT, "default"
        return out
