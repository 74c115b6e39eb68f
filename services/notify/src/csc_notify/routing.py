"""Who is told of which public event: the procedure's "notify", as one table.

Each rule names the departments told and the clause that says so. Warnings
wait for the end of a recipient's quiet hours; everything else, breaches and
escalations above all, goes at once (4.2.1, 4.2.2: the 8-hour promises).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import csc_contracts as pub
from csc_contracts import PublicEvent
from csc_notify.domain import Directory

# The department that owns each promise (4.2.1 Marketing replies; 4.2.2 after-sales go on
# site; 4.1.3 the Chief Engineer acknowledges; 4.4.3 QC contacts the customer): it is told
# of its clock's breach and escalation too, beside whoever sla names.
CLOCK_OWNERS = {
    "reply": "marketing",
    "on_site": "after_sales",
    "important_ack": "chief_engineer",
    "qc_contact": "quality",
}


@dataclass(frozen=True)
class Route:
    handle: str
    clause: str
    quiet_hours: bool
    """Waits for the end of the recipient's quiet hours (warnings only)."""


@dataclass(frozen=True)
class Rule:
    clause: Callable[[Any], str]
    departments: Callable[[Any, Directory], list[str]]
    quiet_hours: bool = False


def _fixed(clause: str) -> Callable[[Any], str]:
    return lambda _: clause


def _department(name: str) -> Callable[[Any, Directory], list[str]]:
    return lambda _, directory: directory.of_department(name)


def _named(field: str) -> Callable[[Any, Directory], list[str]]:
    """The department the event itself names as told (its contract's default is the
    procedure's: Engineering for 4.1.2, QC for 4.4.2 and 4.3.2.1, the Warehouse for 4.3.2.2)."""
    return lambda e, directory: directory.of_department(str(getattr(e, field)))


def _warned(e: pub.ClockWarned, directory: Directory) -> list[str]:
    # A warning found late (the fact was entered after the deadline had passed) warns of
    # nothing still ahead: its breach, if the promise is broken, tells them.
    if e.found_late:
        return []
    return directory.of_department(e.notify_department)


def _breached(e: pub.ClockBreached, directory: Directory) -> list[str]:
    # sla names the department and role told of a breach (Marketing's manager).
    return [
        *directory.of_department(e.notify_department, e.notify_role),
        *directory.of_department(CLOCK_OWNERS[e.clock]),
    ]


def _escalated(e: pub.ClockEscalated, directory: Directory) -> list[str]:
    return [
        *directory.of_department(e.notify_department),
        *directory.of_department(CLOCK_OWNERS[e.clock]),
    ]


RULES: dict[type[PublicEvent], Rule] = {
    # 4.1.2: the receiving department notifies Engineering of customer information.
    pub.EngineeringNotified: Rule(_fixed("4.1.2"), _named("notified_department")),
    # 4.1.3: important information is reported to the Chief Engineer promptly.
    pub.ImportantInformationReported: Rule(_fixed("4.1.3"), _department("chief_engineer")),
    # 4.4.2: Marketing notifies QC of a product-quality complaint.
    pub.QualityNotified: Rule(_fixed("4.4.2"), _named("notified_department")),
    # 4.3.2.1: Marketing asks QC to confirm a whole-batch return.
    pub.ReturnConfirmationRequested: Rule(_fixed("4.3.2.1"), _named("notify_department")),
    # 4.3.2.2: Marketing tells the Warehouse to receive the returned goods.
    pub.ReturnReceiptAuthorized: Rule(_fixed("4.3.2.2"), _named("notify_department")),
    # 4.3.2.3: the Warehouse tells QC the goods are in.
    pub.ReturnReceived: Rule(_fixed("4.3.2.3"), _department("quality")),
    pub.ClockWarned: Rule(lambda e: e.clause, _warned, quiet_hours=True),
    pub.ClockBreached: Rule(lambda e: e.clause, _breached),
    pub.ClockEscalated: Rule(lambda e: e.clause, _escalated),
}


def routes(event: PublicEvent, directory: Directory) -> list[Route]:
    """Everyone told of ``event``, each once, with the clause; empty when nobody is."""
    rule = RULES.get(type(event))
    if rule is None:
        return []
    clause = rule.clause(event)
    handles = dict.fromkeys(rule.departments(event, directory))
    return [Route(handle, clause, rule.quiet_hours) for handle in handles]
