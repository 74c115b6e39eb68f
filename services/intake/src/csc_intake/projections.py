"""Intake's read models, kept as tables in its own store by following its own log.

The Customer Information Register (form att. 3), Engineering's and the
Chief Engineer's inboxes, customers' pages and the field service records.
Every list is read from these tables a page at a time, in an order that never
changes once a row exists: the Register and the field service records in the
order recorded (``seq``, the row's place among its kind in the log), the
customers by code. A restart applies only what the log gained since; nothing
is folded from the whole log, and nothing of the history is held in memory.
"""

from __future__ import annotations

from typing import Any

from csc_intake.domain import Complaint, Customer, FeedbackEntry, FieldServiceRecord, RegisterEntry
from csc_intake.public import public_class
from csc_messaging.views import Column, Page, Rows, Table, View, Where


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _stamp(event: Any) -> dict[str, Any]:
    return {"at": event.timestamp.isoformat(), "by": event.actor}


def _code(row: Any) -> Any:
    return row["customer"]["code"]


ENTRY_FILTERS = ("entry_type", "kind", "category", "channel", "customer", "month", "status")
RECORD_FILTERS = ("kind", "customer", "site", "engineer", "work_date")


class IntakeView(View):
    """The Register's entries, the customers and the field service records, as tables.

    ``seq`` numbers the entries (and, apart, the records) in the order the log
    recorded them, from a counter row of the view: it is what "in the order
    recorded" means, equal in a view rebuilt from the same log, and never changes.
    """

    name = "intake"
    version = 1
    tables = (
        Table(
            "entries",
            columns=(
                Column("case_id"),
                Column("seq", "int"),
                Column("entry_type"),
                Column("kind"),
                Column("category"),
                Column("channel"),
                Column("customer", of=_code),
                Column("month"),
                Column("status"),
                Column("engineering", "int", of=lambda r: r["engineering_notified"] is not None),
                # 4.2.1: replied to (a queue's open entries that wait for nobody's reply).
                Column("replied", "int", of=lambda r: bool(r["replies"])),
                # 4.2.2: asked on site (4.1.4: the sites whose daily record is due).
                Column("on_site", "int", of=lambda r: r["on_site"] is not None),
                Column("important", "int", of=lambda r: r["important"] is not None),
                Column(
                    "acknowledged",
                    "int",
                    of=lambda r: bool(r["important"] and r["important"]["acknowledged"]),
                ),
            ),
            key=("case_id",),
            # Each filter, then the order (seq, then the key, as pages read them): a page is
            # one range of one index, in order, whatever the log's length.
            indexes=(
                ("seq", "case_id"),
                *((name, "seq", "case_id") for name in ENTRY_FILTERS),
                ("engineering", "seq", "case_id"),
                ("on_site", "status", "seq", "case_id"),
                ("replied", "status", "seq", "case_id"),
                ("important", "seq", "case_id"),
                ("important", "acknowledged", "seq", "case_id"),
            ),
        ),
        Table("customers", columns=(Column("code"),), key=("code",)),
        Table(
            "records",
            columns=(
                Column("record_id"),
                Column("seq", "int"),
                Column("kind"),
                Column("customer", of=_code),
                Column("site"),
                Column("engineer"),
                Column("work_date"),
            ),
            key=("record_id",),
            indexes=(
                ("seq", "record_id"),
                *((name, "seq", "record_id") for name in RECORD_FILTERS),
                ("customer", "kind", "seq", "record_id"),
            ),
        ),
        # How many entries and records the log has created so far: the next one's seq.
        Table("counters", columns=(Column("name"),), key=("name",)),
    )

    # Folding -----------------------------------------------------------------------------

    def apply(self, event: Any, rows: Rows) -> None:
        case = str(event.originator_id)
        if isinstance(event, FeedbackEntry.Received | Complaint.Logged):
            if rows.get("entries", case) is None:
                rows.put("entries", {**self._new_entry(event), "seq": self._next(rows, "entries")})
        elif isinstance(event, RegisterEntry.Event):
            entry = rows.get("entries", case)
            if entry is not None:
                self._apply_to_entry(entry, event)
        elif isinstance(event, Customer.Registered):
            rows.put(
                "customers",
                {
                    "customer_id": case,
                    "code": event.code,
                    "registered": _stamp(event),
                    "contact_log": [],
                    "surveys": [],
                    "visits": [],
                    **self._customer_fields(event),
                },
            )
        elif isinstance(event, Customer.Updated | Customer.Contacted | Customer.SurveyRecorded):
            customer = rows.get("customers", event.code)
            if customer is not None:
                self._apply_to_customer(customer, event)
        elif isinstance(event, FieldServiceRecord.Recorded):
            if rows.get("records", case) is not None:
                return
            record = {
                "record_id": case,
                "kind": event.kind,
                "customer": event.customer,
                "site": event.site,
                "work_date": event.work_date,
                "engineer": event.engineer,
                # Records stored before att. 2 had the times have none.
                "arrived_at": None,
                "departed_at": None,
                **event.details,
                "recorded": _stamp(event),
                "amendments": [],
            }
            rows.put("records", {**record, "seq": self._next(rows, "records")})
            customer = rows.get("customers", event.customer["code"])
            if event.kind == "visit" and customer is not None:
                customer["visits"].append(case)
        elif isinstance(event, FieldServiceRecord.Amended):
            found = rows.get("records", case)
            if found is not None:
                before = {k: found.get(k) for k in event.details}
                found.update(event.details)
                found["amendments"].append(
                    {"reason": event.reason, "before": before, **_stamp(event)}
                )

    @staticmethod
    def _next(rows: Rows, name: str) -> int:
        counter = rows.get("counters", name) or rows.put("counters", {"name": name, "n": 0})
        counter["n"] += 1
        return int(counter["n"])

    @classmethod
    def _apply_to_customer(cls, customer: dict[str, Any], event: Any) -> None:
        if isinstance(event, Customer.Updated):
            customer.update(cls._customer_fields(event), updated=_stamp(event))
        elif isinstance(event, Customer.Contacted):
            customer["contact_log"].append(
                {
                    "contacted_at": _iso(event.contacted_at),
                    "channel": event.channel,
                    "summary": event.summary,
                    **_stamp(event),
                }
            )
        elif isinstance(event, Customer.SurveyRecorded):
            customer["surveys"].append(
                {
                    "year": event.year,
                    "scores": event.scores,
                    "comments": event.comments,
                    **_stamp(event),
                }
            )

    @staticmethod
    def _customer_fields(event: Any) -> dict[str, Any]:
        return {
            "name": event.name,
            "oem": event.oem,
            "contacts": event.contacts,
            "sites": event.sites,
        }

    @staticmethod
    def _new_entry(event: FeedbackEntry.Received | Complaint.Logged) -> dict[str, Any]:
        received = event.received_at
        return {
            "case_id": str(event.originator_id),
            "entry_type": "complaint" if isinstance(event, Complaint.Logged) else "feedback",
            "kind": getattr(event, "kind", None),
            "category": getattr(event, "category", None),
            "channel": event.channel,
            "receiving_department": event.receiving_department,
            "received_at": received.isoformat(),
            "month": f"{received.year:04d}-{received.month:02d}",
            "recorded_at": event.timestamp.isoformat(),
            "recorded_by": event.actor,
            "customer": event.customer,
            "product": event.product,
            "lot": event.lot,
            "text": event.text,
            "status": "open",
            "engineering_notified": None,
            "important": None,
            "replies": [],
            "on_site": None,
            "misuse": None,
            "technicians": [],
            "quality_impact": None,
            "quality_notified": None,
            "follow_ups": [],
        }

    @staticmethod
    def _apply_to_entry(entry: dict[str, Any], event: Any) -> None:
        stamp = _stamp(event)
        if isinstance(event, RegisterEntry.EngineeringNotified):
            entry["engineering_notified"] = stamp
        elif isinstance(event, RegisterEntry.ImportantReported):
            entry["important"] = {
                "reason": event.reason,
                "reported_at": _iso(event.reported_at),
                "reported": stamp,
                "acknowledged": None,
            }
        elif isinstance(event, RegisterEntry.ImportantAcknowledged):
            entry["important"]["acknowledged"] = {
                "comment": event.comment,
                "acknowledged_at": _iso(event.acknowledged_at),
                **stamp,
            }
        elif isinstance(event, RegisterEntry.ReplySent):
            entry["replies"].append(
                {
                    "replied_at": _iso(event.replied_at),
                    "channel": event.channel,
                    "summary": event.summary,
                    **stamp,
                }
            )
        elif isinstance(event, RegisterEntry.OnSiteRequired):
            entry["on_site"] = {
                "reason": event.reason,
                "details": event.details,
                "requested_at": _iso(event.requested_at),
                "required": stamp,
                "visits": [],
            }
        elif isinstance(event, RegisterEntry.OnSiteVisitCompleted):
            entry["on_site"]["visits"].append(
                {
                    "arrived_at": _iso(event.arrived_at),
                    "departed_at": _iso(getattr(event, "departed_at", None)),
                    "engineers": event.engineers,
                    "diagnosis": event.diagnosis,
                    "solution": event.solution,
                    **stamp,
                }
            )
        elif isinstance(event, RegisterEntry.MisuseDetermined):
            entry["misuse"] = {"finding": event.finding, "responsibility": "customer", **stamp}
        elif isinstance(event, RegisterEntry.TechnicianDispatched):
            entry["technicians"].append(
                {"technician": event.technician, "purpose": event.purpose, **stamp}
            )
        elif isinstance(event, RegisterEntry.FollowUpRecorded):
            entry["follow_ups"].append(
                {"month": event.month, "result": event.result, "closed": event.closed, **stamp}
            )
            if event.closed:
                entry["status"] = "closed"
        elif isinstance(event, Complaint.QualityImpactAssessed):
            entry["quality_impact"] = {
                "lines_stopped": event.lines_stopped,
                "quantity_affected": event.quantity_affected,
                "remedial_measure": event.remedial_measure,
                "remedial_details": event.remedial_details,
                **stamp,
            }
        elif isinstance(event, Complaint.QualityNotified):
            entry["quality_notified"] = stamp

    # Queries -------------------------------------------------------------------------------
    # The row's ``seq`` is the view's own bookkeeping: answers are the rows without it.

    def entries(
        self,
        where: Where | None = None,
        *,
        cursor: str | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> Page:
        """Register entries in the order recorded (or newest first), filtered on equal
        fields (customer: its code) or on any of several cases (``In``)."""
        page = self.page(
            "entries",
            where=where,
            order=("seq",),
            descending=newest_first,
            cursor=cursor,
            limit=limit,
        )
        return _answers(page)

    def entry(self, case_id: str) -> dict[str, Any] | None:
        return _answer(self.get("entries", case_id))

    def engineering_inbox(self, *, cursor: str | None = None, limit: int = 100) -> Page:
        """Every entry Engineering was notified of (4.1.2), newest first."""
        return _answers(
            self.page(
                "entries",
                where={"engineering": True},
                order=("seq",),
                descending=True,
                cursor=cursor,
                limit=limit,
            )
        )

    def chief_engineer_inbox(
        self, include_acknowledged: bool = False, *, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Important information reported to the Chief Engineer (4.1.3), newest first."""
        where: dict[str, Any] = {"important": True}
        if not include_acknowledged:
            where["acknowledged"] = False
        return _answers(
            self.page(
                "entries", where=where, order=("seq",), descending=True, cursor=cursor, limit=limit
            )
        )

    def customers(self, *, cursor: str | None = None, limit: int = 100) -> Page:
        """The customer archive by code."""
        return self.page("customers", cursor=cursor, limit=limit)

    def customer(self, code: str) -> dict[str, Any] | None:
        """The customer's page: its row, its visits' records and its entries' case ids."""
        found = self.get("customers", code)
        if found is None:
            return None
        visits = set(found["visits"])
        return {
            **found,
            "visits": [
                _strip(r)
                for r in self.scan(
                    "records",
                    where={"customer": code, "kind": "visit"},
                    order=("seq",),
                    catch_up=False,
                )
                if r["record_id"] in visits
            ],
            "register_entries": [
                case_id
                for (case_id,) in self.keys(
                    "entries", where={"customer": code}, order=("seq",), catch_up=False
                )
            ],
        }

    def field_service_records(
        self, where: Where | None = None, *, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Field service records in the order recorded, filtered on equal fields."""
        return _answers(self.page("records", where=where, order=("seq",), cursor=cursor,
                                  limit=limit))  # fmt: skip

    def field_service_record(self, record_id: str) -> dict[str, Any] | None:
        return _answer(self.get("records", record_id))


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("seq", None)
    return row


def _answer(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else _strip(row)


def _answers(page: Page) -> Page:
    for row in page.rows:
        _strip(row)
    return page


def history(events: list[Any]) -> list[dict[str, Any]]:
    """One aggregate's whole story in the public vocabulary: when, what, who, which fields."""
    from csc_intake.public import to_public

    story = []
    for event in events:
        public = to_public(event)
        cls = public_class(event)
        if public is None or cls is None:
            continue
        fields = public.model_dump(
            mode="json", exclude={"event_id", "case_id", "occurred_at", "actor"}
        )
        story.append(
            {
                "version": event.originator_version,
                "at": event.timestamp.isoformat(),
                "event": cls.__name__,
                "type": cls.event_type(),
                "event_id": str(public.event_id),
                "actor": event.actor,
                "fields": fields,
            }
        )
    return story
