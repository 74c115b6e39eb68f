"""Who may record what: each service's table of actions and the departments that may do
them, checked by the application before anything is recorded. No HTTP here: the entrypoint
answers ``Forbidden`` with 403 (``csc_messaging.problems``).
"""

from __future__ import annotations

from collections.abc import Mapping

from csc_contracts import Actor, Department

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
        self.params: dict[str, object] = {
            "action": action,
            "allowed": sorted(d.value for d in allowed),
            "user": actor.user,
            "department": actor.department.value,
        }


class Permissions:
    """Who may record what: one table per service, checked before anything is recorded."""

    def __init__(self, writes: Writes) -> None:
        self.writes = writes

    def authorize(self, action: str, actor: Actor) -> None:
        allowed, _ = self.writes[action]
        if actor.department not in allowed:
            raise Forbidden(action, actor, self.writes)
