"""Return cases. Pure: no I/O."""

from csc_returns.domain.cases import IN_QUARANTINE, STATUSES, ReturnCase, report_no
from csc_returns.domain.errors import RuleViolation

__all__ = ["IN_QUARANTINE", "STATUSES", "ReturnCase", "RuleViolation", "report_no"]
