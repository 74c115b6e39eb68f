"""Intake's read models, folded from its own event log.

The Customer Information Register (form att. 3), Engineering's and the
Chief Engineer's inboxes, customers' pages and the field service records.
"""

from __future__ import annotations

from typing import Any

from csc_intake.domain import Complaint, Customer, FeedbackEntry, FieldServiceRecord, RegisterEntry
from csc_intake.public import public_class
from csc_messaging.readmodel import ReadModel


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _stamp(event: Any) -> dict[str, Any]:
    return {"at": event.timestamp.isoformat(), "by": event.actor}


class IntakeView(ReadModel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._entries: dict[str, dict[str, Any]] = {}
        self._customers: dict[str, dict[str, Any]] = {}
        self._records: dict[str, dict[str, Any]] = {}

    # Folding -----------------------------------------------------------------------------

    def apply(self, event: Any) -> None:
        case = str(event.originator_id)
        if isinstance(event, FeedbackEntry.Received | Complaint.Logged):
            self._entries[case] = self._new_entry(event)
        elif isinstance(event, RegisterEntry.Event):
            self._apply_to_entry(self._entries[case], event)
        elif isinstance(event, Customer.Registered):
            self._customers[event.code] = {
                "customer_id": case,
                "code": event.code,
                "registered": _stamp(event),
                "contact_log": [],
                "surveys": [],
                "visits": [],
                **self._customer_fields(event),
            }
        elif isinstance(event, Customer.Updated):
            self._customers[event.code].update(self._customer_fields(event), updated=_stamp(event))
        elif isinstance(event, Customer.Contacted):
            self._customers[event.code]["contact_log"].append(
                {
                    "contacted_at": _iso(event.contacted_at),
                    "channel": event.channel,
                    "summary": event.summary,
                    **_stamp(event),
                }
            )
        elif isinstance(event, Customer.SurveyRecorded):
            self._customers[event.code]["surveys"].append(
                {
                    "year": event.year,
                    "scores": event.scores,
                    "comments": event.comments,
                    **_stamp(event),
                }
            )
        elif isinstance(event, FieldServiceRecord.Recorded):
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
            self._records[case] = record
            if event.kind == "visit" and event.customer["code"] in self._customers:
                self._customers[event.customer["code"]]["visits"].append(case)
        elif isinstance(event, FieldServiceRecord.Amended):
            record = self._records[case]
            before = {k: record.get(k) for k in event.details}
            record.update(event.details)
            record["amendments"].append({"reason": event.reason, "before": before, **_stamp(event)})

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

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"entries": list(self._entries.values())},
            {"customers": sorted(self._customers.values(), key=lambda c: c["code"])},
            {"field_service": list(self._records.values())},
        ]

    # Queries -------------------------------------------------------------------------------

    def entries(self, **filters: str | None) -> list[dict[str, Any]]:
        """Register entries in the order recorded, filtered on equal top-level fields."""
        self.catch_up()
        wanted = {k: v for k, v in filters.items() if v is not None}
        return [
            e
            for e in self._entries.values()
            if all(
                (e["customer"]["code"] if k == "customer" else e.get(k)) == v
                for k, v in wanted.items()
            )
        ]

    def entry(self, case_id: str) -> dict[str, Any] | None:
        self.catch_up()
        return self._entries.get(case_id)

    def engineering_inbox(self) -> list[dict[str, Any]]:
        """Every entry Engineering was notified of (4.1.2), newest first."""
        self.catch_up()
        return [e for e in reversed(self._entries.values()) if e["engineering_notified"]]

    def chief_engineer_inbox(self, include_acknowledged: bool = False) -> list[dict[str, Any]]:
        """Important information reported to the Chief Engineer (4.1.3), newest first."""
        self.catch_up()
        return [
            e
            for e in reversed(self._entries.values())
            if e["important"] and (include_acknowledged or not e["important"]["acknowledged"])
        ]

    def customers(self) -> list[dict[str, Any]]:
        self.catch_up()
        return sorted(self._customers.values(), key=lambda c: c["code"])

    def customer(self, code: str) -> dict[str, Any] | None:
        self.catch_up()
        found = self._customers.get(code)
        if found is None:
            return None
        return {
            **found,
            "visits": [self._records[r] for r in found["visits"]],
            "register_entries": [
                e["case_id"] for e in self._entries.values() if e["customer"]["code"] == code
            ],
        }

    def field_service_records(self, **filters: str | None) -> list[dict[str, Any]]:
        self.catch_up()
        wanted = {k: v for k, v in filters.items() if v is not None}
        return [
            r
            for r in self._records.values()
            if all(
                (r["customer"]["code"] if k == "customer" else r.get(k)) == v
                for k, v in wanted.items()
            )
        ]

    def field_service_record(self, record_id: str) -> dict[str, Any] | None:
        self.catch_up()
        return self._records.get(record_id)


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
