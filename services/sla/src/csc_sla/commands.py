"""SLA's own steps, each declared once: pausing and resuming a clock, recording the
calendars' and the policy's versions; and the facts sla records from other services' events.

A clock is sla's own reaction to another service's fact (an entry received, a reply sent):
no one's command. Its kind names the promise and so the clause each of its events follows
(``CLAUSES``, read from the facts declared here). Who may do sla's own steps, their routes
and the public event of everything sla records are read from ``STEPS``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

import csc_contracts.sla as pub
from csc_contracts import Department, UtcDatetime
from csc_messaging.steps import Steps
from csc_sla.calendars import CalendarDefinition
from csc_sla.domain import CapaFile, CaseFile, Clock, CustomerProfile, ReturnFile
from csc_sla.domain.rulebook import Rulebook
from csc_sla.policy import ClockKind, ClockPolicy

STEPS = Steps()

# Each clock keeps one promise of the procedure; its events follow that promise's clause.
PROMISES = {
    ClockKind.REPLY: "4.2.1",
    ClockKind.ON_SITE: "4.2.2",
    ClockKind.IMPORTANT_ACK: "4.1.3",
    ClockKind.QC_CONTACT: "4.4.3",
}
CLOCK_FACTS = (
    (Clock.Started, pub.ClockStarted),
    (Clock.Retimed, pub.ClockRetimed),
    (Clock.Warned, pub.ClockWarned),
    (Clock.Breached, pub.ClockBreached),
    (Clock.Escalated, pub.ClockEscalated),
    (Clock.Met, pub.ClockMet),
    (Clock.Stopped, pub.ClockStopped),
)
for _kind, _clause in PROMISES.items():
    for _event, _public in CLOCK_FACTS:
        STEPS.fact(_event, _public, _clause, when={"kind": _kind.value})

# The policy's and the calendars' first versions (CSC_SLA_POLICY's, or a new calendar's).
STEPS.fact(Rulebook.Opened, pub.PolicyVersionRecorded, "3", when={"kind": "policy"})
STEPS.fact(Rulebook.Opened, pub.CalendarVersionRecorded, "3", when={"kind": "calendar"})

# What sla keeps of other services' facts: its own bookkeeping, published as nothing.
STEPS.fact(CaseFile.Opened, None, "4.1.2")
STEPS.fact(CaseFile.FollowedUp, None, "4.6")
STEPS.fact(CustomerProfile.Known, None, "4.1.5")
STEPS.fact(CustomerProfile.Registered, None, "4.1.5")
STEPS.fact(CustomerProfile.Updated, None, "4.1.5")
STEPS.fact(CustomerProfile.Visited, None, "4.5")
STEPS.fact(CustomerProfile.Surveyed, None, "4.1.5")
STEPS.fact(CustomerProfile.Serviced, None, "4.1.4")
STEPS.fact(ReturnFile.Opened, None, "4.3")
STEPS.fact(ReturnFile.Closed, None, "4.3")
for _file_event in (CapaFile.Opened, CapaFile.Started, CapaFile.ActionPlanned,
               CapaFile.ActionImplemented, CapaFile.Closed):  # fmt: skip
    STEPS.fact(_file_event, None, "4.4.4")

CLAUSES: dict[ClockKind, str] = {
    ClockKind(dict(f.when)["kind"]): f.clause for f in STEPS.facts if f.event is Clock.Started
}
"""The clause each kind of clock follows, as its facts declare."""

M, AS, QC = Department.MARKETING, Department.AFTER_SALES, Department.QUALITY
# Who may stop a clock: the departments that deal with the customer. Who may change what
# clocks count by: the managers of Marketing, which owns the promises to the customer, and
# of QC, which owns the quality side of them (clause 3). Everyone else, auditors too, reads.
MAY_PAUSE = frozenset({M, AS, QC})
MAY_SET_RULES = frozenset({M, QC})
RULES_CLAUSE = "3"

Reason = Annotated[
    str, Field(min_length=1, max_length=2000, description="Why: kept with the version.")
]


@STEPS.step("set_calendar", "/calendars/{name}", verb="PUT", event=Rulebook.Revised,
            public=pub.CalendarVersionRecorded, clause=RULES_CLAUSE, may=MAY_SET_RULES,
            when={"kind": "calendar"}, aggregate=Rulebook, method="revise", tag="calendars",
            doc="Record the calendar's next version (its first, for a new name). Clocks whose\n"
            "starting fact is recorded from now on count by it; running clocks keep theirs\n"
            "unless `retime_running`. Marketing's and QC's managers may (clause 3).")  # fmt: skip
class CalendarChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calendar: CalendarDefinition
    reason: Reason
    retime_running: bool = Field(
        default=False,
        description="Also re-time the clocks running by this calendar now (the time they "
        "counted stays counted; the rest counts by the new version). Otherwise only clocks "
        "whose starting fact is recorded from now on count by it.",
    )


@STEPS.step("set_policy", "/policy", verb="PUT", event=Rulebook.Revised,
            public=pub.PolicyVersionRecorded, clause=RULES_CLAUSE, may=MAY_SET_RULES,
            when={"kind": "policy"}, aggregate=Rulebook, method="revise", tag="policy",
            doc="Record the policy's next version. Clocks whose starting fact is recorded from\n"
            "now on are measured by it; running clocks keep theirs unless `retime_running`.\n"
            "Marketing's and QC's managers may (clause 3).")  # fmt: skip
class PolicyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: ClockPolicy
    reason: Reason
    retime_running: bool = Field(
        default=False,
        description="Also re-time every running clock by the new targets, ladders and "
        "calendar rules. Otherwise only clocks started from now on are measured by it.",
    )


# A pause and a resume follow the clause of the clock's promise (the event carries it);
# the step's clause is the one that says who may (clause 3).
@STEPS.step("pause", "/clocks/{clock_id}/pause", event=Clock.Paused, public=pub.ClockPaused,
            clause=RULES_CLAUSE, may=MAY_PAUSE, aggregate=Clock, method="pause", tag="clocks",
            doc="Stop the clock, saying why; the paused time does not count.")  # fmt: skip
class Pause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["customer_unreachable", "waiting_for_customer_samples", "other"]
    note: Annotated[str, Field(max_length=10_000)] | None = None
    at: UtcDatetime | None = Field(
        default=None,
        description="When the clock stopped counting (e.g. the customer became unreachable), "
        "not before it started nor before a deadline it already recorded; now when omitted.",
    )


@STEPS.step("resume", "/clocks/{clock_id}/resume", event=Clock.Resumed,
            public=pub.ClockResumed, clause=RULES_CLAUSE, may=MAY_PAUSE, aggregate=Clock,
            method="resume", tag="clocks",
            doc="Start counting again; deadlines move by the paused time.")  # fmt: skip
class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: UtcDatetime | None = Field(
        default=None,
        description="When it started counting again, not before the pause; now when omitted.",
    )
