"""Investigations and their CAPAs. Pure: no I/O."""

from csc_capa.domain.investigation import (
    CLAUSES,
    FINISHED,
    STATUSES,
    TEAM_DEPARTMENTS,
    CustomerReportFormat,
    Investigation,
    capa_no,
    format_id,
)
from csc_messaging.refusals import RuleViolation

__all__ = [
    "CLAUSES",
    "FINISHED",
    "STATUSES",
    "TEAM_DEPARTMENTS",
    "CustomerReportFormat",
    "Investigation",
    "RuleViolation",
    "capa_no",
    "format_id",
]
