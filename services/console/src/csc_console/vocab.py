"""The procedure's words, as the pages show them: marked here, translated where shown."""

from __future__ import annotations

import re

from csc_console.i18n import N_, gettext

DEPARTMENTS = {
    "marketing": N_("Marketing"),
    "after_sales": N_("After-sales service"),
    "quality": N_("Quality (QC)"),
    "engineering": N_("Engineering"),
    "development": N_("Development"),
    "production": N_("Production"),
    "warehouse": N_("Warehouse"),
    "chief_engineer": N_("Chief Engineer"),
    "auditor": N_("Auditor"),
    "system": N_("The system"),
}
CHANNELS = {
    "letter": N_("Letter"),
    "phone": N_("Phone"),
    "fax": N_("Fax"),
    "visit": N_("Visit"),
    "email": N_("E-mail"),
    "web": N_("Web"),
}
CATEGORIES = {  # 4.4.1
    "service": N_("Service complaint"),
    "quality": N_("Quality complaint"),
    "delivery": N_("Delivery complaint"),
}
ENTRY_KINDS = {  # 4.1.2
    "current_product_requirements": N_("Current product requirements"),
    "potential_product_requirements": N_("Potential product requirements"),
    "quality_problem": N_("Quality problem"),
    "quality_commitment": N_("Quality commitment"),
    "suggestion": N_("Suggestion"),
}
ENTRY_TYPES = {  # the Register's two kinds of entry (4.1.2, 4.4.1)
    "feedback": N_("Customer feedback"),
    "complaint": N_("Complaint"),
}
CLOCKS = {
    "reply": N_("Reply to the customer (4.2.1)"),
    "qc_contact": N_("QC contacts the customer (4.4.3)"),
    "on_site": N_("On site (4.2.2)"),
    "important_ack": N_("Chief Engineer acknowledges (4.1.3)"),
}
CLOCK_STATES = {
    "running": N_("running"),
    "warned": N_("warned"),
    "breached": N_("breached"),
    "escalated": N_("escalated"),
    "paused": N_("paused"),
    "met": N_("met"),
    "stopped": N_("stopped"),
}
PAUSE_REASONS = {  # why a promise's clock stops counting (sla's pause)
    "customer_unreachable": N_("the customer cannot be reached"),
    "waiting_for_customer_samples": N_("waiting for the customer's samples"),
    "other": N_("another reason"),
}
ON_SITE_REASONS = {  # 4.2.2
    "not_solved_by_phone": N_("not solved by phone"),
    "quality_problem": N_("a quality problem"),
}
REMEDIAL_MEASURES = {  # 4.4.2: what the customer needs from us to keep producing
    "rework_on_site": N_("send people to rework on site"),
    "repair_on_site": N_("send people to repair on site"),
    "swap_units": N_("swap good units for the bad ones"),
    "other": N_("another measure"),
}

ENTRY_STATUS = {"open": N_("open"), "closed": N_("closed")}
FIELD_SERVICE_KINDS = {
    "daily": N_("Daily field service record (4.1.4)"),
    "visit": N_("Customer visit (4.5)"),
}
# Att. 2: what a day's record says, in the form's order; a visit (4.5) says the same.
FIELD_SERVICE_DETAILS = {
    "problems": N_("Problems that occurred"),
    "actions": N_("What was done"),
    "survey": N_("Survey of the customer"),
    "product_use": N_("How the products are used"),
    "technical_consulting": N_("Technical consulting"),
}
FIELD_SERVICE_FIELDS = {
    "arrived_at": N_("Arrived on site"),
    "departed_at": N_("Left the site"),
    "units_loaded": N_("Vehicles or units loaded"),
    **FIELD_SERVICE_DETAILS,
}
# 4.1.5: the questions of the yearly satisfaction survey the console asks (intake keeps
# any question; these are the company's own).
SURVEY_QUESTIONS = {
    "product_quality": N_("Product quality"),
    "delivery": N_("Delivery on time"),
    "service": N_("After-sales service"),
    "technical_support": N_("Technical support"),
    "complaint_handling": N_("Handling of complaints"),
}
SCORES = {
    "1": N_("1 · very dissatisfied"),
    "2": N_("2 · dissatisfied"),
    "3": N_("3 · neutral"),
    "4": N_("4 · satisfied"),
    "5": N_("5 · very satisfied"),
}

EVENTS = {
    # intake
    "ComplaintLogged": N_("Complaint logged (4.4.1)"),
    "CustomerContacted": N_("Customer contacted (4.1.5)"),
    "CustomerRegistered": N_("Customer registered in the archive (4.1.5)"),
    "CustomerUpdated": N_("Customer archive updated (4.1.5)"),
    "CustomerVisited": N_("Customer visited (4.5)"),
    "EngineeringNotified": N_("Engineering notified (4.1.2)"),
    "FeedbackReceived": N_("Customer information registered (4.1.2)"),
    "FieldServiceRecordAmended": N_("Field service record amended (4.1.4)"),
    "FieldServiceRecorded": N_("Field service recorded (4.1.4)"),
    "FollowUpRecorded": N_("Follow-up recorded (4.6)"),
    "ImportantInformationAcknowledged": N_("Chief Engineer acknowledged (4.1.3)"),
    "ImportantInformationReported": N_("Reported to the Chief Engineer (4.1.3)"),
    "MisuseDetermined": N_("Misuse determined (4.2.3)"),
    "OnSiteServiceRequired": N_("On-site service required (4.2.2)"),
    "OnSiteVisitCompleted": N_("On-site visit completed (4.2.2)"),
    "QualityImpactAssessed": N_("Quality impact assessed (4.4.2)"),
    "QualityNotified": N_("QC notified (4.4.2)"),
    "ReplySent": N_("Reply sent to the customer (4.2.1)"),
    "SatisfactionSurveyRecorded": N_("Satisfaction survey recorded (4.1.5)"),
    "TechnicianDispatched": N_("Technician dispatched (4.2.3)"),
    # returns
    "NonconformanceDispositioned": N_("Nonconforming product dispositioned (PNPR)"),
    "NonconformanceReported": N_("Nonconformance reported (PNPR)"),
    "NonconformanceReviewed": N_("Nonconformance reviewed (PNPR)"),
    "NonconformingProductIdentified": N_("Nonconforming product identified (PNPR)"),
    "NonconformingProductIsolated": N_("Nonconforming product isolated (PNPR)"),
    "ReplacementAgreed": N_("Replacement agreed (4.3.1)"),
    "ReplacementShipped": N_("Replacement shipped (4.3.1)"),
    "ReturnCaseOpened": N_("Returns case opened (4.3)"),
    "ReturnConfirmationRequested": N_("QC confirmation of the return requested (4.3.2)"),
    "ReturnConfirmedByQuality": N_("Return confirmed by QC (4.3.2)"),
    "ReturnReceiptAuthorized": N_("Receipt of the return authorized (4.3.2)"),
    "ReturnReceived": N_("Returned product received (4.3.2.2)"),
    "ReturnRejectedByQuality": N_("Return rejected by QC (4.3.2)"),
    "ReturnRequested": N_("Return requested (4.3.2)"),
    "ReturnSamplesTaken": N_("Samples of the return taken (4.3.3)"),
    "ReturnMoreSamplesRequested": N_("More samples asked of the customer (4.3.2.3)"),
    # capa
    "CapaClosed": N_("CAPA closed (D8)"),
    "CapaReopened": N_("CAPA reopened"),
    "ComplaintConfirmed": N_("Complaint confirmed by QC (4.4.3)"),
    "ComplaintNotConfirmed": N_("Complaint not confirmed by QC (4.4.3)"),
    "ContainmentRecorded": N_("Containment recorded (D3)"),
    "CorrectiveActionImplemented": N_("Corrective action implemented (D6)"),
    "CorrectiveActionPlanned": N_("Corrective action planned (D5)"),
    "CustomerContactedByQuality": N_("QC contacted the customer (4.4.3)"),
    "CustomerReportFormatRegistered": N_("Customer's report format registered"),
    "EffectivenessVerified": N_("Effectiveness verified (4.4.5)"),
    "EmergencyResponseRecorded": N_("Emergency response recorded (D0)"),
    "EvidenceReceived": N_("Evidence received (4.4.3)"),
    "EvidenceRequested": N_("Evidence requested (4.4.3)"),
    "InvestigationClosedAsMisuse": N_("Investigation closed as misuse"),
    "InvestigationOpened": N_("QC investigation opened (4.4.3)"),
    "NonconformanceLinked": N_("Nonconformance linked"),
    "ProblemDescribed": N_("Problem described (D2)"),
    "RecurrencePrevented": N_("Recurrence prevented (D7)"),
    "ReportFormatChosen": N_("Report format chosen"),
    "RootCauseIdentified": N_("Root cause identified (D4)"),
    "TeamConvened": N_("Cross-functional team convened (4.4.4)"),
    # sla
    "ClockBreached": N_("Clock breached"),
    "ClockEscalated": N_("Clock escalated"),
    "ClockMet": N_("Clock met"),
    "ClockRetimed": N_("Clock re-timed by a new calendar or policy"),
    "ClockStopped": N_("Clock stopped: the entry was closed by its follow-up (4.6)"),
    "CalendarVersionRecorded": N_("Calendar changed"),
    "PolicyVersionRecorded": N_("Clock policy changed"),
    # notify
    "NotificationSent": N_("Notification sent"),
    "NotificationFailed": N_("Notification failed"),
    "ClockPaused": N_("Clock paused"),
    "ClockResumed": N_("Clock resumed"),
    "ClockStarted": N_("Clock started"),
    "ClockWarned": N_("Clock warned"),
}


def label(table: dict[str, str], key: object) -> str:
    """The translated word for ``key``, or the key itself in words when the table lacks it."""
    if key is None:
        return ""
    text = table.get(str(key))
    if text is not None:
        return gettext(text)
    return re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", str(key))


# Returns (4.3): where a return case stands, and what becomes of nonconforming product.
RETURN_STATUS = {
    "reported": N_("reported, not yet settled"),
    "replacement_agreed": N_("replacement agreed (4.3.1)"),
    "replacement_shipped": N_("replacement shipped (4.3.1)"),
    "return_requested": N_("return requested (4.3.2)"),
    "awaiting_quality": N_("awaiting QC's confirmation (4.3.2.1)"),
    "confirmed_by_quality": N_("confirmed by QC (4.3.2.2)"),
    "rejected_by_quality": N_("rejected by QC (4.3.2.2)"),
    "receipt_authorized": N_("receipt authorized (4.3.2.2)"),
    "received": N_("received by the Warehouse (4.3.2.2)"),
    "sampled": N_("checked on site, samples taken (4.3.2.3)"),
    "identified": N_("identified as nonconforming (4.3.3)"),
    "isolated": N_("isolated in quarantine (4.3.3)"),
    "nonconformance_reported": N_("nonconformance reported (4.3.3)"),
    "reviewed": N_("reviewed, being dispositioned (4.3.3)"),
    "dispositioned": N_("dispositioned, PNPR closed (4.3.3)"),
}
DISPOSITIONS = {  # 4.3.3
    "rework": N_("rework"),
    "repair": N_("repair"),
    "scrap": N_("scrap"),
    "use_as_is": N_("use as is, by concession"),
    "return_to_supplier": N_("return to supplier"),
}
QUARANTINE_AWAITING = {  # what goods in quarantine wait for (4.3.3)
    "nonconformance report": N_("the nonconformance report"),
    "review board decision": N_("the review board's decision"),
    "disposition": N_("disposition"),
}


# The auditor's view (audit_pages.py).
SERVICES = {
    "intake": N_("Register (intake)"),
    "returns": N_("Returns"),
    "capa": N_("Investigation and CAPA"),
    "sla": N_("Clocks and schedules (sla)"),
    "notify": N_("Notifications"),
}
CHAIN_WHERE = {  # where a broken link shows (csc audit verify)
    "store": N_("the service's store"),
    "kafka": N_("the records on Kafka"),
    "checkpoint": N_("the checkpoints"),
}
CHAIN_KINDS = {
    "edited": N_("an event was edited"),
    "deleted": N_("an event was deleted"),
    "inserted": N_("an event was inserted"),
    "reordered": N_("events were reordered"),
    "missing": N_("an event is missing"),
    "unreadable": N_("an event cannot be read"),
}
