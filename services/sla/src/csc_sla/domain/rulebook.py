"""The rules clocks count by, as recorded versions: who changed what, when and why.

One ``Rulebook`` per named calendar and one for the SLA policy. Each version
keeps its content as recorded (a calendar with the official days expanded,
the policy's targets and ladders), the moment it took effect, and whether it
re-times the clocks already running; clocks started after it count by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

RULEBOOK_NAMESPACE = UUID("6c2f0e8a-3b1d-4f57-9e0a-7d4c1b2a9e36")

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""
Kind = Literal["calendar", "policy"]
POLICY = "policy"


class Rulebook(Aggregate):
    @staticmethod
    def create_id(kind: Kind, name: str) -> UUID:
        return uuid5(RULEBOOK_NAMESPACE, f"{kind}:{name}")

    class Opened(Aggregate.Created):
        kind: str
        name: str
        content: dict[str, Any]
        effective_at: datetime | None  # None: in force from the start (CSC_SLA_POLICY's)
        actor: ActorRecord
        reason: str
        retime_running: bool
        source: str

    class Revised(Aggregate.Event):
        kind: str
        name: str
        content: dict[str, Any]
        effective_at: datetime
        actor: ActorRecord
        reason: str
        retime_running: bool
        source: str

    @event(Opened)
    def __init__(
        self,
        *,
        kind: str,
        name: str,
        content: dict[str, Any],
        effective_at: datetime | None,
        actor: ActorRecord,
        reason: str,
        retime_running: bool,
        source: str,
    ) -> None:
        self.kind = kind
        self.name = name
        self.versions: list[dict[str, Any]] = []
        self._add(content, effective_at, actor, reason, retime_running, source)

    def revise(
        self,
        *,
        content: dict[str, Any],
        effective_at: datetime,
        actor: ActorRecord,
        reason: str,
        retime_running: bool,
        source: str,
    ) -> None:
        latest = self.versions[-1]["effective_at"]
        # Versions follow each other in time, so "the version in force then" has one answer.
        self._revised(
            kind=self.kind,
            name=self.name,
            content=content,
            effective_at=effective_at if latest is None else max(effective_at, latest),
            actor=actor,
            reason=reason,
            retime_running=retime_running,
            source=source,
        )

    @event(Revised)
    def _revised(
        self,
        *,
        kind: str,
        name: str,
        content: dict[str, Any],
        effective_at: datetime,
        actor: ActorRecord,
        reason: str,
        retime_running: bool,
        source: str,
    ) -> None:
        self._add(content, effective_at, actor, reason, retime_running, source)

    def _add(
        self,
        content: dict[str, Any],
        effective_at: datetime | None,
        actor: ActorRecord,
        reason: str,
        retime_running: bool,
        source: str,
    ) -> None:
        self.versions.append(
            {
                "version": len(self.versions) + 1,
                "content": content,
                "effective_at": effective_at,
                "actor": actor,
                "reason": reason,
                "retime_running": retime_running,
                "source": source,
            }
        )

    @property
    def current(self) -> dict[str, Any]:
        return self.versions[-1]

    def in_force(self, at: datetime) -> dict[str, Any]:
        """The version in force at ``at``: the last that took effect by then, else the first
        (a fact recorded before the rules were: they were the first version's then)."""
        found = self.versions[0]
        for version in self.versions:
            if version["effective_at"] is None or version["effective_at"] <= at:
                found = version
        return found
