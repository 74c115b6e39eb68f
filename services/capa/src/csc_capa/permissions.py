"""Who may record what in capa, after the procedure's division of work (clauses 3, 4.3.4, 4.4).

QC (品管部) owns the investigation (4.4.3) and the CAPA (4.4.4): it contacts
the customer, asks for samples or photos, confirms or not, convenes the
cross-functional team and closes. Marketing may pass on what the customer
sent (evidence) and choose report formats with QC, since it holds the
customer relationship. The team's departments record the 8D steps that are
theirs: containment where the stock is, root cause and actions where the
process is, implementation by whoever owns the action. Auditors read only.
"""

from __future__ import annotations

from csc_contracts import Department
from csc_messaging.rules import Permissions, Writes

M = Department.MARKETING
QC = Department.QUALITY
ENG = Department.ENGINEERING
DEV = Department.DEVELOPMENT
P = Department.PRODUCTION
WH = Department.WAREHOUSE
TEAM = frozenset({QC, M, ENG, DEV, P})

WRITES: Writes = {
    "contact_customer": (frozenset({QC}), "4.4.3"),
    "request_evidence": (frozenset({QC}), "4.4.3"),
    "receive_evidence": (frozenset({QC, M}), "4.4.3"),
    "confirm": (frozenset({QC}), "4.4.3"),
    "not_confirm": (frozenset({QC}), "4.4.3"),
    "find_misuse": (frozenset({QC}), "4.2.3"),
    "convene_team": (frozenset({QC}), "4.4.4"),
    "record_emergency_response": (TEAM | {WH}, "4.4.4"),
    "describe_problem": (frozenset({QC}), "4.4.4"),
    "record_containment": (TEAM | {WH}, "4.4.4"),
    "identify_root_cause": (frozenset({QC, ENG, DEV, P}), "4.3.4"),
    "plan_action": (frozenset({QC, ENG, DEV, P}), "4.3.4"),
    "implement_action": (TEAM | {WH}, "4.3.4"),
    "verify_effectiveness": (frozenset({QC}), "4.3.4"),
    "prevent_recurrence": (frozenset({QC, ENG, DEV, P}), "4.4.4"),
    "close": (frozenset({QC}), "4.4.4"),
    "choose_report_format": (frozenset({QC, M}), "4.3.4"),
    "register_report_format": (frozenset({QC, M}), "4.3.4"),
}

authorize = Permissions(WRITES).authorize
