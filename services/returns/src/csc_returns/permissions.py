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

from csc_returns.commands import STEPS

# action -> (departments that may do it, the clause that says so), as each step declares.
WRITES = STEPS.writes
PERMISSIONS = STEPS.permissions()
authorize = PERMISSIONS.authorize
