"""Who may record what, after the procedure's division of work (clause 3 and each clause)."""

from __future__ import annotations

from csc_intake.commands import STEPS

# action -> (departments that may do it, the clause that says so), as each step declares.
WRITES = STEPS.writes
PERMISSIONS = STEPS.permissions()
authorize = PERMISSIONS.authorize
