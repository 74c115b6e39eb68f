"""A notification: one message about one public event, to one recipient, over one channel.

    pending ──► sent
       │ ▲
       ▼ │ (retry_at passed)
    retrying ──► dead ──(redrive)──► pending

Its id derives from the event, the recipient and the channel, so a record read
again (a replay, a redelivery after a crash) finds the notification it made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from csc_messaging.refusals import RuleViolation

NOTIFICATION_NAMESPACE = UUID("9f3a2c61-7b4e-4d08-a5c2-1e6b8d0f3a97")

PENDING, RETRYING, SENT, DEAD = "pending", "retrying", "sent", "dead"
STATUSES = (PENDING, RETRYING, SENT, DEAD)
CHANNELS = ("email", "wecom", "dingtalk", "feishu")

ActorRecord = dict[str, str]
"""Who acted, as an event records it: csc_contracts.Actor dumped, {"user", "department"}."""


def notification_id(event_id: UUID, handle: str, channel: str) -> UUID:
    return uuid5(NOTIFICATION_NAMESPACE, f"{event_id}:{handle}:{channel}")


def message_key(event_id: UUID, handle: str) -> UUID:
    """What an e-mail's Message-ID is made of: the same on every attempt and after a crash."""
    return uuid5(NOTIFICATION_NAMESPACE, f"message:{event_id}:{handle}")


class Notification(Aggregate):
    @staticmethod
    def create_id(about: dict[str, Any], handle: str, channel: str) -> UUID:
        return notification_id(UUID(about["event_id"]), handle, channel)

    class Created(Aggregate.Created):
        about: dict[str, Any]
        handle: str
        department: str
        channel: str
        clause: str
        not_before: datetime

    class Failed(Aggregate.Event):
        attempt: int
        at: datetime
        reason: str
        retry_at: datetime | None
        notice: dict[str, Any]

    class Sent(Aggregate.Event):
        attempt: int
        at: datetime
        message_id: str | None
        notice: dict[str, Any]

    class Redriven(Aggregate.Event):
        actor: ActorRecord
        request_key: str | None

    @event(Created)
    def __init__(
        self,
        *,
        about: dict[str, Any],
        handle: str,
        department: str,
        channel: str,
        clause: str,
        not_before: datetime,
    ) -> None:
        self.about, self.handle, self.channel = about, handle, channel
        self.department = department
        self.clause = clause
        self.status = PENDING
        self.due_at = not_before
        self.attempts = 0
        # Attempts since the last redrive: what the limit counts.
        self.round = 0
        self.request_keys: list[str] = []

    def is_due(self, now: datetime) -> bool:
        return self.status in (PENDING, RETRYING) and self.due_at <= now

    def notice(self, name: str | None) -> dict[str, Any]:
        """What an outcome says of the notification (never an address, URL or secret)."""
        return {
            "about_event_id": self.about["event_id"],
            "about_event_type": self.about["type"],
            "case_id": self.about["case_id"],
            "clause": self.clause,
            "channel": self.channel,
            "handle": self.handle,
            "name": name or self.handle,
            "department": self.department,
        }

    def fail(
        self, *, at: datetime, reason: str, retry_at: datetime | None, name: str | None
    ) -> None:
        self._failed(
            attempt=self.attempts + 1,
            at=at,
            reason=reason[:2000],
            retry_at=retry_at,
            notice=self.notice(name),
        )

    @event(Failed)
    def _failed(
        self,
        *,
        attempt: int,
        at: datetime,
        reason: str,
        retry_at: datetime | None,
        notice: dict[str, Any],
    ) -> None:
        self.attempts, self.round = attempt, self.round + 1
        self.last_reason = reason
        if retry_at is None:
            self.status = DEAD
        else:
            self.status, self.due_at = RETRYING, retry_at

    def sent(self, *, at: datetime, message_id: str | None, name: str | None) -> None:
        self._sent(
            attempt=self.attempts + 1, at=at, message_id=message_id, notice=self.notice(name)
        )

    @event(Sent)
    def _sent(
        self, *, attempt: int, at: datetime, message_id: str | None, notice: dict[str, Any]
    ) -> None:
        self.attempts, self.status = attempt, SENT

    def redrive(self, *, actor: ActorRecord, request_key: str | None) -> None:
        if request_key is not None and request_key in self.request_keys:
            return
        if self.status != DEAD:
            raise RuleViolation(
                "notify",
                f"notification {self.id} is {self.status}: only a dead-lettered one is redriven",
                code="notify.redrive.not_dead",
                params={"notification": str(self.id), "status": self.status},
            )
        self._redriven(actor=actor, request_key=request_key)

    @event(Redriven)
    def _redriven(self, *, actor: ActorRecord, request_key: str | None) -> None:
        self.status, self.round = PENDING, 0
        if request_key is not None:
            self.request_keys.append(request_key)
