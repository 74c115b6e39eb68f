"""Who may record what in returns, after the procedure's division of work (clause 3, 4.3).

Marketing owns the case with the customer: it agrees replacements, records
return requests, asks QC and authorizes the Warehouse. QC (品管部) is the gate:
it confirms or rejects, checks what came back, picks samples and runs the
PNPR. The Warehouse (仓务部) receives, isolates and ships replacement units.
Dispositions are carried out where the work is done (rework and repair in
Production, scrap and return to supplier through the Warehouse) and recorded
by whoever did it or QC. Auditors read everything and record nothing.
"""

from __future__ import annotations

from csc_contracts import Department
from csc_messaging.permissions import Permissions

M = Department.MARKETING
QC = Department.QUALITY
WH = Department.WAREHOUSE
P = Department.PRODUCTION

# action -> (departments that may do it, the clause that says so)
WRITES: dict[str, tuple[frozenset[Department], str]] = {
    "agree_replacement": (frozenset({M}), "4.3.1"),
    "ship_replacement": (frozenset({WH}), "4.3.1"),
    "request_return": (frozenset({M}), "4.3.2"),
    "request_confirmation": (frozenset({M}), "4.3.2.1"),
    "confirm_return": (frozenset({QC}), "4.3.2.2"),
    "reject_return": (frozenset({QC}), "4.3.2.2"),
    "authorize_receipt": (frozenset({M}), "4.3.2.2"),
    "receive_return": (frozenset({WH}), "4.3.2.2"),
    "take_samples": (frozenset({QC}), "4.3.2.3"),
    "identify_nonconforming": (frozenset({QC}), "4.3.3"),
    "isolate_nonconforming": (frozenset({WH}), "4.3.3"),
    "report_nonconformance": (frozenset({QC}), "4.3.3"),
    "review_nonconformance": (frozenset({QC}), "4.3.3"),
    "disposition_nonconforming": (frozenset({QC, WH, P}), "4.3.3"),
}


PERMISSIONS = Permissions(WRITES)
authorize = PERMISSIONS.authorize
