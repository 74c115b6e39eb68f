"""Rules of the procedure that a command broke."""

from csc_messaging.refusals import RuleViolation

__all__ = ["RuleViolation"]
