"""Investigations and their CAPAs. Pure: no I/O."""

from csc_capa.domain.investigation import (
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
    "FINISHED",
    "STATUSES",
    "TEAM_DEPARTMENTS",
    "CustomerReportFormat",
    "Investigation",
    "RuleViolation",
    "capa_no",
    "format_id",
]
