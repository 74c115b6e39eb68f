"""QC's work list: investigations and their CAPAs, each 8D step, overdue actions, report formats.

Folded from capa's own event log into tables of capa's store (``csc_messaging.views``):

- ``investigations``: one row a case, without its timeline or actions; indexed by
  when it was reported (the list's order), and by status and customer code (its filters);
- ``timeline``: one row an event of a case, keyed (case, version), so a list never
  reads a timeline;
- ``actions``: one row a D5 action, keyed (case, action no); indexed by whether it is
  still to be implemented and its due date, so the overdue actions are a range of an
  index (4.4.4) whatever the history;
- ``formats``: one row a customer's report format, by its code (4.3.4).

The timeline speaks the public events' vocabulary, so what an auditor reads here is
what subscribers of csc.capa.v1 received. What depends on today (an action overdue)
or on another row (the customer's report format) is worked out when read, so the
stored rows (and the digest) depend on the events alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from csc_capa.domain import CustomerReportFormat, Investigation, capa_no
from csc_capa.evidence import safe_filename
from csc_capa.public import occurred_at, to_public
from csc_contracts.capa import ReportFormat
from csc_messaging.views import Cmp, Column, In, Page, Rows, Table, View

I = Investigation  # noqa: E741
_ENVELOPE = {"event_id", "case_id", "occurred_at", "actor", "clause", "capa_no"}
DEFAULT_FORMAT = ReportFormat.CPAR.value  # 4.3.4: "otherwise the company's own form"
IN_PROGRESS = "in_progress"

INVESTIGATIONS, TIMELINE, ACTIONS, FORMATS = "investigations", "timeline", "actions", "formats"


def _when(event: Any) -> str:
    return str(occurred_at(event).isoformat())


def _by(event: Any) -> dict[str, Any]:
    return {"at": _when(event), "actor": event.actor}


def _pending(row: Mapping[str, Any]) -> bool:
    """An action still to be implemented on a CAPA under way: overdue once past due."""
    return bool(row["action"]["status"] == "open" and row["case_status"] == IN_PROGRESS)


class Investigations(View):
    name = "investigations"
    version = 1
    tables = (
        Table(
            INVESTIGATIONS,
            columns=(
                Column("case_id"),
                Column("reported_at"),
                Column("status"),
                Column("customer_code", of=lambda r: r["customer"].get("code")),
            ),
            key=("case_id",),
            # Each list's order ends with the key, so the index gives it without a sort.
            indexes=(
                ("reported_at", "case_id"),
                ("status", "reported_at", "case_id"),
                ("customer_code", "reported_at", "case_id"),
            ),
        ),
        Table(
            TIMELINE,
            columns=(Column("case_id"), Column("version", "int")),
            key=("case_id", "version"),
        ),
        Table(
            ACTIONS,
            columns=(
                Column("case_id"),
                Column("action_no", "int", of=lambda r: r["action"]["action_no"]),
                Column("capa_no"),
                Column("due", of=lambda r: r["action"]["due"]),
                Column("pending", "int", of=_pending),
            ),
            key=("case_id", "action_no"),
            indexes=(("pending", "due", "capa_no", "action_no", "case_id"),),
        ),
        Table(FORMATS, columns=(Column("customer_code"),), key=("customer_code",)),
    )

    def apply(self, event: Any, rows: Rows) -> None:
        if isinstance(event, CustomerReportFormat.Event):
            self._apply_format(event, rows)
            return
        if not isinstance(event, Investigation.Event):
            return
        key = str(event.originator_id)
        if isinstance(event, I.Opened):
            rows.put(
                INVESTIGATIONS,
                {
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
                    "verifications": [],
                    "reopenings": [],
                    "d7": [],
                    "closure": None,
                    "report_format_chosen": None,
                },
            )
        row = rows.get(INVESTIGATIONS, key)
        if row is None:
            return
        status = row["status"]
        self._fold(row, event, rows)
        if row["status"] != status:
            for action in rows.find(ACTIONS, "case_id", key):
                action["case_status"] = row["status"]
        public = to_public(event)
        if public is not None:
            body = public.model_dump(mode="json")
            rows.put(
                TIMELINE,
                {
                    "case_id": key,
                    "version": event.originator_version,
                    "entry": {
                        "event": type(public).__name__,
                        "clause": body["clause"],
                        "at": body["occurred_at"],
                        "actor": body["actor"],
                        "details": {k: v for k, v in body.items() if k not in _ENVELOPE},
                    },
                },
            )

    def _fold(self, row: dict[str, Any], e: Any, rows: Rows) -> None:
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
            # Actions are rows of their own: overdue actions are an indexed query (4.4.4).
            rows.put(
                ACTIONS,
                {
                    "case_id": row["case_id"],
                    "capa_no": row["capa_no"],
                    "customer": row["customer"],
                    "case_status": row["status"],
                    "action": {
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
                    },
                },
            )
        elif isinstance(e, I.ActionImplemented):
            planned = rows.get(ACTIONS, row["case_id"], e.action_no)
            if planned is not None:
                planned["action"].update(
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

    def _apply_format(self, e: Any, rows: Rows) -> None:
        rows.put(
            FORMATS,
            {
                "customer_code": e.customer_code,
                "format": e.format,
                "title": e.title,
                "template": e.template,
                "template_sha256": e.template_sha256,
                "revision": e.originator_version,
                "at": e.timestamp.isoformat(),
                "actor": e.actor,
            },
        )

    # Reading --------------------------------------------------------------------------------

    def investigations(
        self,
        status: str | None = None,
        customer: str | None = None,
        today: date | None = None,
        *,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Investigations, oldest report first (then by case id), without their timelines."""
        page = self.page(
            INVESTIGATIONS,
            where={"status": status or None, "customer_code": customer or None},
            order=("reported_at",),
            cursor=cursor,
            limit=limit,
        )
        return Page(list(self._served(page.rows, today)), page.next_cursor)

    def investigation(self, case_id: str, today: date | None = None) -> dict[str, Any] | None:
        """One investigation with its timeline; ``overdue`` flags as of ``today``."""
        row = self.get(INVESTIGATIONS, case_id)
        if row is None:
            return None
        [out] = self._served([row], today)
        out["timeline"] = [
            t["entry"]
            for t in self.scan(
                TIMELINE, where={"case_id": case_id}, order=("version",), catch_up=False
            )
        ]
        return out

    def timeline(self, case_id: str, *, cursor: str | None = None, limit: int = 100) -> Page:
        """One case's events in the order they were recorded (its aggregate's versions)."""
        page = self.page(
            TIMELINE, where={"case_id": case_id}, order=("version",), cursor=cursor, limit=limit
        )
        return Page([t["entry"] for t in page.rows], page.next_cursor)

    def overdue_actions(self, today: date, *, cursor: str | None = None, limit: int = 100) -> Page:
        """Actions past their due date and not implemented, most overdue first (4.4.4):
        by due date, then CAPA number and action number."""
        page = self.page(
            ACTIONS,
            where={"pending": True, "due": Cmp("<", today.isoformat())},
            order=("due", "capa_no", "action_no"),
            cursor=cursor,
            limit=limit,
        )
        late = [
            {
                "case_id": row["case_id"],
                "capa_no": row["capa_no"],
                "customer": row["customer"],
                **row["action"],
                "days_overdue": (today - date.fromisoformat(row["action"]["due"])).days,
            }
            for row in page.rows
        ]
        return Page(late, page.next_cursor)

    def report_format(self, customer_code: str) -> dict[str, Any] | None:
        return self.get(FORMATS, customer_code)

    def _served(self, rows: list[dict[str, Any]], today: date | None) -> Iterator[dict[str, Any]]:
        """The rows as answered: their actions (flagged overdue as of ``today``) and the
        report format that applies, read in one query each for all the rows."""
        ids = tuple(row["case_id"] for row in rows)
        actions: dict[str, list[dict[str, Any]]] = {}
        for action in self._rows_of(ACTIONS, "case_id", ids, ("case_id", "action_no")):
            actions.setdefault(action["case_id"], []).append(action["action"])
        codes = tuple({row["customer"].get("code", "") for row in rows})
        formats = {f["customer_code"]: f for f in self._rows_of(FORMATS, "customer_code", codes)}
        for row in rows:
            out = dict(row)
            out["actions"] = [
                {
                    **action,
                    "overdue": (
                        today is not None
                        and action["status"] == "open"
                        and out["status"] == IN_PROGRESS
                        and date.fromisoformat(action["due"]) < today
                    ),
                }
                for action in actions.get(row["case_id"], [])
            ]
            chosen = out.pop("report_format_chosen")
            registered = formats.get(out["customer"].get("code", ""))
            if chosen is not None:
                out["report_format"], out["report_format_source"] = chosen["format"], "case"
            elif registered is not None:
                out["report_format"] = registered["format"]
                out["report_format_source"] = "customer"
            else:
                out["report_format"], out["report_format_source"] = DEFAULT_FORMAT, "default"
            yield out

    def _rows_of(
        self, table: str, column: str, values: Iterable[Any], order: tuple[str, ...] = ()
    ) -> Iterator[dict[str, Any]]:
        wanted = tuple(values)
        if not wanted:
            return iter(())
        return self.scan(table, where={column: In(wanted)}, order=order, catch_up=False)
