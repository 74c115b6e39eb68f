"""The notify service's public events, on ``csc.notify.v1``: who was told what, and when.

The procedure is people telling people: the receiving department notifies
Engineering (4.1.2), important information goes to the Chief Engineer (4.1.3),
QC hears of a whole-batch return (4.3.2.1), the Warehouse of goods to receive
(4.3.2.2), QC of goods that are in (4.3.2.3) and of a quality complaint (4.4.2),
and a promise's clock warns, breaches and escalates (4.2). Each notification
is one message to one recipient over one channel, about one public event;
``case_id`` is the case of that event, so the audit timeline shows beside each
step who was told of it.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from csc_contracts.common import Department, UtcDatetime
from csc_contracts.events import PublicEvent

NotifyChannel = Literal["email", "wecom", "dingtalk", "feishu"]


class _NotifyEvent(PublicEvent):
    service: ClassVar[str] = "notify"

    notification_id: UUID = Field(
        description="The notification: one event, one recipient, one channel."
    )
    about_event_id: UUID = Field(description="event_id of the public event it tells of.")
    about_event_type: str = Field(description="ce_type of that event.")
    clause: str = Field(description="The procedure's clause that says this person is told.")
    recipient_id: UUID
    recipient_name: str
    department: Department = Field(description="The recipient's department.")
    channel: NotifyChannel
    attempt: int = Field(ge=1, description="Which attempt this was.")


class NotificationSent(_NotifyEvent):
    """The provider accepted the message (the SMTP server's 250, the chat's ok)."""

    sent_at: UtcDatetime
    message_id: str | None = Field(
        default=None, description="The e-mail's Message-ID, the same on every attempt."
    )


class NotificationFailed(_NotifyEvent):
    """An attempt failed; another follows at ``retry_at`` unless it was the last."""

    failed_at: UtcDatetime
    reason: str
    dead_lettered: bool = Field(
        description="No attempt follows until someone redrives it (POST .../redrive)."
    )
    retry_at: UtcDatetime | None = None


NOTIFY_EVENTS: tuple[type[PublicEvent], ...] = (NotificationSent, NotificationFailed)
