"""The one place where capa's internal events become public events on csc.capa.v1."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import csc_contracts.capa as pub
from csc_capa.domain import CLAUSES, CustomerReportFormat, Investigation, capa_no
from csc_contracts import PublicEvent

EVENT_NAMESPACE = UUID("8c3f5a2e-7d41-4b9a-b6e0-2f9d1c4a7e58")
# Investigations opened and facts taken from other services are capa's bookkeeping.
SYSTEM: dict[str, str] = {"user": "capa", "department": "system"}

I = Investigation  # noqa: E741

# Internal and public events carry the same field names, so the mapping is a table;
# the contract's models validate and drop what is internal. None: stays internal.
PUBLIC: dict[type[Any], type[PublicEvent] | None] = {
    I.Opened: pub.InvestigationOpened,
    I.ImpactNoted: None,  # intake's QualityImpactAssessed already says it
    I.CustomerContacted: pub.CustomerContactedByQuality,
    I.EvidenceRequested: pub.EvidenceRequested,
    I.EvidenceReceived: pub.EvidenceReceived,
    I.NonconformanceLinked: pub.NonconformanceLinked,
    I.Confirmed: pub.ComplaintConfirmed,
    I.NotConfirmed: pub.ComplaintNotConfirmed,
    I.ClosedAsMisuse: pub.InvestigationClosedAsMisuse,
    I.TeamConvened: pub.TeamConvened,
    I.EmergencyResponseRecorded: pub.EmergencyResponseRecorded,
    I.ProblemDescribed: pub.ProblemDescribed,
    I.ContainmentRecorded: pub.ContainmentRecorded,
    I.RootCauseIdentified: pub.RootCauseIdentified,
    I.ActionPlanned: pub.CorrectiveActionPlanned,
    I.ActionImplemented: pub.CorrectiveActionImplemented,
    I.EffectivenessVerified: pub.EffectivenessVerified,
    I.Reopened: pub.CapaReopened,
    I.RecurrencePrevented: pub.RecurrencePrevented,
    I.Closed: pub.CapaClosed,
    I.ReportFormatChosen: pub.ReportFormatChosen,
    CustomerReportFormat.Registered: pub.CustomerReportFormatRegistered,
    CustomerReportFormat.Revised: pub.CustomerReportFormatRegistered,
}


def occurred_at(e: Any) -> Any:
    """When it happened: the report for an opening, the source's time for a fact from Kafka."""
    if isinstance(e, I.Opened):
        return e.reported_at
    if isinstance(e, I.Step):
        return e.at
    return e.timestamp


def to_public(domain_event: Any) -> PublicEvent | None:
    if not isinstance(domain_event, (Investigation.Event, CustomerReportFormat.Event)):
        return None
    e: Any = domain_event
    cls = next((v for k, v in PUBLIC.items() if isinstance(e, k)), None)
    if cls is None:
        return None
    fields = dict(vars(e))
    fields.update(
        # The same id however often the relay publishes this event.
        event_id=uuid5(EVENT_NAMESPACE, f"capa:{e.originator_id}:{e.originator_version}"),
        case_id=e.originator_id,
        occurred_at=occurred_at(e),
        actor=getattr(e, "actor", None) or SYSTEM,
        clause=CLAUSES[type(e)],
    )
    if isinstance(e, Investigation.Event):
        fields["capa_no"] = capa_no(e.originator_id)
    else:
        fields["revision"] = e.originator_version
    return cls.model_validate(fields)
