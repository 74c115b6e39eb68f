"""Which department may take which action: the forms a page offers.

The services decide (each answers 403 naming the clause and who may); the
console offers a form only to a department the service would accept, so
nobody is shown a form that can only be refused. This mirrors the services'
published rules (intake's README, "Who may do what"; sla's pause routes); a service's refusal
is still shown should the two ever differ.
"""

from __future__ import annotations

from csc_contracts import PERSON_DEPARTMENTS, Department

M = Department.MARKETING
AS = Department.AFTER_SALES
QC = Department.QUALITY
ENG = Department.ENGINEERING
CE = Department.CHIEF_ENGINEER

MAY: dict[str, frozenset[Department]] = {
    "register_customer": frozenset({M}),  # 4.1.5
    "log_complaint": frozenset({M}),  # 4.4.1: Marketing records it in the Register
    "send_reply": frozenset({M, AS}),  # 4.2.1
    "require_on_site": frozenset({M, AS}),  # 4.2.2
    "complete_visit": frozenset({AS, ENG, QC}),  # 4.2.2
    "acknowledge_important": frozenset({CE}),  # 4.1.3
    # 4.1.3: whoever learns of important information reports it to the Chief Engineer.
    "report_important": frozenset({M, AS, ENG, QC}),
    "determine_misuse": frozenset({QC, ENG}),  # 4.2.3: the finding is a technical one
    "dispatch_technician": frozenset({M, AS}),  # 4.2.3: sent to help and teach correct use
    "assess_quality_impact": frozenset({M}),  # 4.4.2: Marketing contacts the customer
    "record_follow_up": frozenset({M, AS}),  # 4.6: after-sales follows up last month's
    "record_field_service": frozenset({AS}),  # 4.1.4: the engineer's daily record, amended
    "record_visit": frozenset({M, AS}),  # 4.5: visits are recorded as field service records
    "record_survey": frozenset({M}),  # 4.1.5
    # Reading the records: who writes them, and auditors (who record nothing).
    "read_field_service": frozenset({AS, Department.AUDITOR}),
    # The clocks of 4.2.1, 4.2.2, 4.1.3 and 4.4.3 stop while the customer holds things up:
    # for the departments that deal with the customer (sla's MAY_PAUSE).
    "pause_clock": frozenset({M, AS, QC}),
    "resume_clock": frozenset({M, AS, QC}),
}


def may(department: str, action: str) -> bool:
    return any(d.value == department for d in MAY.get(action, ()))


# Returns (4.3), as returns' permissions table has them (a unit test holds them to it):
# Marketing owns the case with the customer, QC is the gate and runs the PNPR, the
# Warehouse receives, isolates and ships; dispositions are recorded where the work is done.
WH = Department.WAREHOUSE
PROD = Department.PRODUCTION
MAY.update(
    {
        "agree_replacement": frozenset({M}),  # 4.3.1
        "ship_replacement": frozenset({WH}),  # 4.3.1
        "request_return": frozenset({M}),  # 4.3.2
        "request_confirmation": frozenset({M}),  # 4.3.2.1
        "confirm_return": frozenset({QC}),  # 4.3.2.2
        "reject_return": frozenset({QC}),  # 4.3.2.2
        "authorize_receipt": frozenset({M}),  # 4.3.2.2
        "receive_return": frozenset({WH}),  # 4.3.2.2
        "take_samples": frozenset({QC}),  # 4.3.2.3
        "request_more_samples": frozenset({QC}),  # 4.3.2.3
        "identify_nonconforming": frozenset({QC}),  # 4.3.3
        "isolate_nonconforming": frozenset({WH}),  # 4.3.3
        "report_nonconformance": frozenset({QC}),  # 4.3.3
        "review_nonconformance": frozenset({QC}),  # 4.3.3
        "disposition_nonconforming": frozenset({QC, WH, PROD}),  # 4.3.3
    }
)
# notify (3): Marketing owns the process, the Chief Engineer gets what is important, auditors
# read every history; they read every notification, as notify's permissions have it.
MAY["read_others_notifications"] = frozenset({M, CE, Department.AUDITOR})
# capa (4.4.3, 4.4.4, 4.3.4): as capa's WRITES (csc_capa.permissions), each prefixed
# ``capa_``; the page narrows the 8D's steps to QC and the case's team, as capa does.
_CAPA_TEAM = frozenset({QC, M, ENG, Department.DEVELOPMENT, Department.PRODUCTION})
MAY |= {
    "capa_contact_customer": frozenset({QC}),
    "capa_request_evidence": frozenset({QC}),
    "capa_receive_evidence": frozenset({QC, M}),
    "capa_confirm": frozenset({QC}),
    "capa_not_confirm": frozenset({QC}),
    "capa_find_misuse": frozenset({QC}),
    "capa_convene_team": frozenset({QC}),
    "capa_record_emergency_response": _CAPA_TEAM | {Department.WAREHOUSE},
    "capa_describe_problem": frozenset({QC}),
    "capa_record_containment": _CAPA_TEAM | {Department.WAREHOUSE},
    "capa_identify_root_cause": frozenset({QC, ENG, Department.DEVELOPMENT, Department.PRODUCTION}),
    "capa_plan_action": frozenset({QC, ENG, Department.DEVELOPMENT, Department.PRODUCTION}),
    "capa_implement_action": frozenset(PERSON_DEPARTMENTS) - {Department.AUDITOR},
    "capa_verify_effectiveness": frozenset({QC}),
    "capa_prevent_recurrence": frozenset({QC, ENG, Department.DEVELOPMENT, Department.PRODUCTION}),
    "capa_close": frozenset({QC}),
    "capa_choose_report_format": frozenset({QC, M}),
    "capa_register_report_format": frozenset({QC, M}),
}
