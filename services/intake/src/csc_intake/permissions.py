"""Who may record what, after the procedure's division of work (clause 3 and each clause)."""

from __future__ import annotations

from csc_contracts import Department
from csc_messaging.permissions import Permissions

M = Department.MARKETING
AS = Department.AFTER_SALES
ENG = Department.ENGINEERING
QC = Department.QUALITY
CE = Department.CHIEF_ENGINEER

# action -> (departments that may do it, the clause that says so)
WRITES: dict[str, tuple[frozenset[Department], str]] = {
    "register_customer": (frozenset({M}), "4.1.5"),
    "update_customer": (frozenset({M}), "4.1.5"),
    "log_contact": (frozenset({M, AS}), "4.1.5"),
    "record_survey": (frozenset({M}), "4.1.5"),
    # 4.1.2 / 4.4.1: any department may receive; Marketing records it in the Register.
    "register_feedback": (frozenset({M}), "4.1.2"),
    "log_complaint": (frozenset({M}), "4.4.1"),
    "report_important": (frozenset({M, AS, ENG, QC}), "4.1.3"),
    "acknowledge_important": (frozenset({CE}), "4.1.3"),
    "send_reply": (frozenset({M, AS}), "4.2.1"),
    "require_on_site": (frozenset({M, AS}), "4.2.2"),
    "complete_visit": (frozenset({AS, ENG, QC}), "4.2.2"),
    "determine_misuse": (frozenset({QC, ENG}), "4.2.3"),
    "dispatch_technician": (frozenset({M, AS}), "4.2.3"),
    "assess_quality_impact": (frozenset({M}), "4.4.2"),
    "record_follow_up": (frozenset({M, AS}), "4.6"),
    "record_field_service": (frozenset({AS}), "4.1.4"),
    "record_visit": (frozenset({M, AS}), "4.5"),
}


PERMISSIONS = Permissions(WRITES)
authorize = PERMISSIONS.authorize
