"""Who may record what in capa, after the procedure's division of work (clauses 3, 4.3.4, 4.4).

QC (品管部) owns the investigation (4.4.3) and the CAPA (4.4.4): it contacts
the customer, asks for samples or photos, confirms or not, convenes the
cross-functional team and closes. Marketing may pass on what the customer
sent (evidence) and choose report formats with QC, since it holds the
customer relationship. The team's departments record the 8D steps that are
theirs: containment where the stock is, root cause and actions where the
process is, implementation by whoever owns the action. Auditors read only.

The table says which departments may ever record a step; the case narrows it
(``authorize_on_case``): an 8D step is for QC and the departments on the team
QC convened at D1 (4.4.4), so before D1 only QC records D0; an action's
implementation is for its owner's department and the team leader's (4.3.4).
The team names people with their departments, not user ids, so membership is
by department.
"""

from __future__ import annotations

from csc_capa.commands import STEPS
from csc_capa.domain import Investigation
from csc_contracts import Actor, Department
from csc_messaging.permissions import Forbidden

QC = Department.QUALITY
AUDITOR = Department.AUDITOR

# action -> (departments that may do it, the clause that says so), as each step declares.
WRITES = STEPS.writes
PERMISSIONS = STEPS.permissions()
authorize = PERMISSIONS.authorize

# The 8D's steps after QC's investigation, D0 to D8 (D1 itself is QC's: convene_team),
# as their commands say (``commands.TeamCommand``).
EIGHT_D_STEPS = frozenset(s.action for s in STEPS if s.command.team_step)


def authorize_on_case(action: str, actor: Actor, case: Investigation) -> None:
    """``Forbidden`` unless this case's team lets ``actor`` do ``action`` (after ``authorize``)."""
    if action not in EIGHT_D_STEPS:
        return
    allowed, _ = WRITES[action]
    # 4.4.4: the team QC convened runs the CAPA, QC leading; nobody else records its steps.
    on_team = frozenset(Department(d) for d in case.team_departments) | {QC}
    _refuse_unless(f"{action}_on_this_CAPA_(QC_and_its_team)", allowed & on_team, "4.4.4", actor)


def authorize_implementation(action_no: int, actor: Actor, case: Investigation) -> None:
    """``Forbidden`` unless ``actor`` is of the action's owner's or the team leader's department."""
    action = case.actions.get(action_no)
    if action is None or case.leader is None:
        return  # no such action: the domain says so (422)
    # 4.3.4: the owner implements what was assigned to it, or the leader on its behalf.
    allowed = {Department(action["owner"]["department"]), Department(case.leader["department"])}
    _refuse_unless(
        f"implement_action_{action_no}_(its_owner_or_the_team_leader)",
        frozenset(allowed) - {AUDITOR},
        "4.3.4",
        actor,
    )


def _refuse_unless(what: str, allowed: frozenset[Department], clause: str, actor: Actor) -> None:
    if actor.department not in allowed:
        raise Forbidden(what, actor, {what: (allowed, clause)})
