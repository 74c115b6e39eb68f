"""Refusals every service speaks alike: a broken rule of the procedure, a missing case, a
department acting outside its remit; and how each becomes an HTTP answer.

A refusal is raised before any event is triggered, so nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

from fastapi import FastAPI, HTTPException, status

from csc_contracts import Actor, Department

_T = TypeVar("_T")

Writes = Mapping[str, tuple[frozenset[Department], str]]
"""action -> (departments that may do it, the clause that says so)."""


class BadCursor(ValueError):
    """A list's ``cursor`` parameter that this list did not give (or gave for another order)."""


class RuleViolation(Exception):
    """``clause`` names the rule; ``kind`` says whether the input or the case's state is at fault.

    ``invalid``: the request itself is wrong (422, with the ``field``).
    ``conflict``: the request is well formed but the case is not in a state that allows it (409).
    """

    def __init__(
        self,
        clause: str,
        message: str,
        *,
        field: str | None = None,
        kind: Literal["invalid", "conflict"] = "conflict",
    ) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause
        self.message = message
        self.field = field
        self.kind = kind


class NotFound(Exception):
    """The case (or record) named does not exist in this service."""


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


def install_error_handlers(app: FastAPI) -> None:
    """409/422 naming the clause, 403 naming who may, 404 naming what is missing: each an
    RFC 9457 problem (``csc_messaging.problems``)."""
    from csc_messaging.problems import install_error_handlers as install

    install(app)


def found(row: _T | None, what: str) -> _T:
    """``row``, or 404 saying what was not found."""
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")
    return row
