"""What notify's GETs answer with."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from csc_messaging.answers import ActorOut, Answer, Moment, Uuid


class ChatOut(Answer):
    kind: Literal["wecom", "dingtalk", "feishu"]
    url: str = Field(description="The webhook, its query's values (the robot's key) hidden.")
    signed: bool = Field(description="A signing secret is set (never shown).")


class QuietHoursOut(Answer):
    start: str
    end: str
    timezone: str


class RecipientOut(Answer):
    handle: str
    recipient_id: Uuid
    name: str
    department: str
    roles: list[str]
    email: str | None
    chat: ChatOut | None
    language: Literal["zh-CN", "en"]
    quiet_hours: QuietHoursOut | None


class AboutOut(Answer):
    event_id: Uuid
    type: str = Field(description="ce_type of the event told of.")
    occurred_at: Moment


class AttemptOut(Answer):
    at: Moment
    outcome: Literal["sent", "failed", "dead_lettered", "redriven"]
    attempt: int | None = None
    reason: str | None = None
    by: ActorOut | None = None


class NotificationOut(Answer):
    notification_id: Uuid
    status: Literal["pending", "retrying", "sent", "dead"]
    due: Moment | None = Field(description="When it is tried next (none once sent or dead).")
    created: Moment
    case_id: Uuid
    handle: str
    department: str
    channel: Literal["email", "wecom", "dingtalk", "feishu"]
    clause: str
    about: AboutOut
    attempts: int
    last_reason: str | None
    sent_at: Moment | None
    message_id: str | None
    history: list[AttemptOut]
