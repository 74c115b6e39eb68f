"""Refusals every service speaks alike, and how each becomes an HTTP answer: the domain's own
(``csc_messaging.refusals``: a broken rule, a missing case) and a department acting outside its
remit (``Forbidden``, checked by the application against its ``Permissions`` table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from fastapi import HTTPException, status

from csc_contracts import Actor, Department
from csc_messaging.refusals import BadCursor, NotFound, RuleViolation

__all__ = [
    "BadCursor",
    "Forbidden",
    "NotFound",
    "Permissions",
    "RuleViolation",
    "Writes",
    "found",
]

_T = TypeVar("_T")

Writes = Mapping[str, tuple[frozenset[Department], str]]
"""action -> (departments that may do it, the clause that says so)."""


class Forbidden(Exception):
    def __init__(self, action: str, actor: Actor, writes: Writes) -> None:
        allowed, clause = writes[action]
        names = ", ".join(sorted(d.value for d in allowed))
        super().__init__(
            f"{clause}: {action.replace('_', ' ')} is for {names}; "
            f"{actor.user} acts for {actor.department.value}"
        )
        self.clause = clause
        self.allowed = allowed


class Permissions:
    """Who may record what: one table per service, checked before anything is recorded."""

    def __init__(self, writes: Writes) -> None:
        self.writes = writes

    def authorize(self, action: str, actor: Actor) -> None:
        allowed, _ = self.writes[action]
        if actor.department not in allowed:
            raise Forbidden(action, actor, self.writes)


def found(row: _T | None, what: str) -> _T:
    """``row``, or 404 saying what was not found."""
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")
    return row
