"""The directory: who is told, in which language, over which channels, and when not.

One aggregate holds every recipient, so the reaction to an event reads one
consistent directory from the store (never a read model that may lag behind
a change just made over HTTP).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

DIRECTORY_NAMESPACE = UUID("4b0e6f1c-9a2d-4c57-8e13-6d2f0a7b9c45")
DIRECTORY_ID = uuid5(DIRECTORY_NAMESPACE, "directory")

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""
Recipient = dict[str, Any]
"""name, department, roles, email, chat {kind, url, secret}, language, quiet_hours."""


def recipient_id(handle: str) -> UUID:
    return uuid5(DIRECTORY_NAMESPACE, f"recipient:{handle}")


class Directory(Aggregate):
    """Every recipient by handle (a user id such as ``wang.fang``)."""

    @staticmethod
    def create_id() -> UUID:
        return DIRECTORY_ID

    class Opened(Aggregate.Created):
        pass

    class RecipientSet(Aggregate.Event):
        handle: str
        recipient: Recipient
        actor: ActorRecord
        request_key: str | None

    class RecipientRemoved(Aggregate.Event):
        handle: str
        actor: ActorRecord
        request_key: str | None

    @event(Opened)
    def __init__(self) -> None:
        self.recipients: dict[str, Recipient] = {}

    def set_recipient(
        self, handle: str, recipient: Recipient, actor: ActorRecord, request_key: str | None
    ) -> bool:
        """Record the recipient as given; False (nothing recorded) when it already is so."""
        if self.recipients.get(handle) == recipient:
            return False
        self._set(handle=handle, recipient=recipient, actor=actor, request_key=request_key)
        return True

    @event(RecipientSet)
    def _set(
        self, *, handle: str, recipient: Recipient, actor: ActorRecord, request_key: str | None
    ) -> None:
        self.recipients[handle] = recipient

    def remove_recipient(self, handle: str, actor: ActorRecord, request_key: str | None) -> bool:
        if handle not in self.recipients:
            return False
        self._removed(handle=handle, actor=actor, request_key=request_key)
        return True

    @event(RecipientRemoved)
    def _removed(self, *, handle: str, actor: ActorRecord, request_key: str | None) -> None:
        del self.recipients[handle]

    def of_department(self, department: str, role: str | None = None) -> list[str]:
        """Handles of the department's recipients; with ``role``, those who hold it, or the
        whole department when nobody does (so nobody is left untold)."""
        members = sorted(h for h, r in self.recipients.items() if r["department"] == department)
        if role is not None:
            holders = [h for h in members if role in self.recipients[h].get("roles", ())]
            if holders:
                return holders
        return members


def quiet_until(quiet_hours: dict[str, str] | None, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours when ``now`` lies within them, else None.

    ``quiet_hours`` is {start: "HH:MM", end: "HH:MM", timezone}; a span that crosses
    midnight (22:00-07:00) ends the next morning.
    """
    if not quiet_hours:
        return None
    zone = ZoneInfo(quiet_hours["timezone"])
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet_hours["start"]), time.fromisoformat(quiet_hours["end"])
    at = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside = start <= at < end
        end_day = local.date()
    else:
        inside = at >= start or at < end
        end_day = local.date() + timedelta(days=1) if at >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)
