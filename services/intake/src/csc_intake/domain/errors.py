"""Rules of the procedure that a command broke."""

from csc_messaging.rules import RuleViolation

__all__ = ["RuleViolation"]
