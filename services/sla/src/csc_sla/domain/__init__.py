"""SLA's aggregates: clocks, case files and customer profiles. Pure: no I/O, no wall clock."""

from csc_sla.domain.calendar import Calendar
from csc_sla.domain.clocks import Clock, ClockRuleViolation
from csc_sla.domain.facts import CapaFile, CaseFile, CustomerProfile, ReturnFile

__all__ = [
    "Calendar",
    "CapaFile",
    "CaseFile",
    "Clock",
    "ClockRuleViolation",
    "CustomerProfile",
    "ReturnFile",
]
