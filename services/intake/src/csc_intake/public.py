"""The one place where intake's internal events become public events.

Internal and public events carry the same field names, so the mapping is a
table from internal to public class; the contract's models validate (and
drop what is internal, such as ``request_key``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import csc_contracts as pub
from csc_contracts import PublicEvent
from csc_intake.domain import Complaint, Customer, FeedbackEntry, FieldServiceRecord, RegisterEntry

# The public event id is derived from the stored event's position in its
# aggregate, so every republication of it carries the same id.
EVENT_NAMESPACE = UUID("0d6c1c1e-2b8a-4f44-b0a5-8f3c2f6a9e10")

PUBLIC: tuple[tuple[type[Any], type[PublicEvent]], ...] = (
    (Customer.Registered, pub.CustomerRegistered),
    (Customer.Updated, pub.CustomerUpdated),
    (Customer.Contacted, pub.CustomerContacted),
    (Customer.SurveyRecorded, pub.SatisfactionSurveyRecorded),
    (FeedbackEntry.Received, pub.FeedbackReceived),
    (Complaint.Logged, pub.ComplaintLogged),
    (RegisterEntry.EngineeringNotified, pub.EngineeringNotified),
    (RegisterEntry.ImportantReported, pub.ImportantInformationReported),
    (RegisterEntry.ImportantAcknowledged, pub.ImportantInformationAcknowledged),
    (RegisterEntry.ReplySent, pub.ReplySent),
    (RegisterEntry.OnSiteRequired, pub.OnSiteServiceRequired),
    (RegisterEntry.OnSiteVisitCompleted, pub.OnSiteVisitCompleted),
    (RegisterEntry.MisuseDetermined, pub.MisuseDetermined),
    (RegisterEntry.TechnicianDispatched, pub.TechnicianDispatched),
    (RegisterEntry.FollowUpRecorded, pub.FollowUpRecorded),
    (Complaint.QualityImpactAssessed, pub.QualityImpactAssessed),
    (Complaint.QualityNotified, pub.QualityNotified),
    (FieldServiceRecord.Amended, pub.FieldServiceRecordAmended),
)


FIELD_SERVICE_EVENTS = (FieldServiceRecord.Recorded, FieldServiceRecord.Amended)


def public_event_id(originator_id: UUID, originator_version: int) -> UUID:
    return uuid5(EVENT_NAMESPACE, f"intake:{originator_id}:{originator_version}")


def public_class(domain_event: Any) -> type[PublicEvent] | None:
    if isinstance(domain_event, FieldServiceRecord.Recorded):
        # 4.5: a visit is kept as a field service record of kind visit.
        return pub.CustomerVisited if domain_event.kind == "visit" else pub.FieldServiceRecorded
    return next((p for internal, p in PUBLIC if isinstance(domain_event, internal)), None)


def to_public(domain_event: Any) -> PublicEvent | None:
    cls = public_class(domain_event)
    if cls is None:
        return None
    fields = dict(vars(domain_event))
    if isinstance(domain_event, FIELD_SERVICE_EVENTS):
        # A day's record keeps its details as one dict; the public event has them as fields.
        # (Elsewhere ``details`` is a field of its own: the on-site request's text.)
        fields.update(fields.pop("details", None) or {})
    fields.update(
        event_id=public_event_id(domain_event.originator_id, domain_event.originator_version),
        case_id=domain_event.originator_id,
        occurred_at=domain_event.timestamp,
    )
    return cls.model_validate(fields)
