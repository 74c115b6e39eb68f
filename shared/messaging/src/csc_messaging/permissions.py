"""Who may record what: each service's table of actions and the departments that may do
them, checked by the application before anything is recorded. No HTTP here: the entrypoint
answers ``Forbidden`` with 403 (``csc_messaging.problems``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from csc_contracts import Actor, Department


@dataclass(frozen=True)
class Principal:
    """Who is asking, and in what capacity: the actor recorded, and whether their token makes
    them their department's manager (``csc_messaging.auth``, ``CSC_AUTH_MANAGER_ROLE``)."""

    actor: Actor
    manager: bool = False


Writes = Mapping[str, tuple[frozenset[Department], str]]
"""action -> (departments that may do it, the clause that says so)."""


class Forbidden(Exception):
    """``managers``: the action is for the managers of the departments allowed, not for
    everyone of them (code ``forbidden.manager``)."""

    def __init__(
        self, action: str, actor: Actor, writes: Writes, *, managers: bool = False
    ) -> None:
        allowed, clause = writes[action]
        names = ", ".join(sorted(d.value for d in allowed))
        whose = f"the managers of {names}" if managers else names
        capacity = " (not as its manager)" if managers and actor.department in allowed else ""
        super().__init__(
            f"{clause}: {action.replace('_', ' ')} is for {whose}; "
            f"{actor.user} acts for {actor.department.value}{capacity}"
        )
        self.clause = clause
        self.allowed = allowed
        self.code = "forbidden.manager" if managers else "forbidden"
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

    def authorize_manager(self, action: str, principal: Principal) -> None:
        """For actions left to a department's manager: the department and the capacity."""
        allowed, _ = self.writes[action]
        if principal.actor.department not in allowed or not principal.manager:
            raise Forbidden(action, principal.actor, self.writes, managers=True)
