"""The delivery worker: sends what is due, each notification on its own.

Every pass takes the due notifications from the read model, then, for each,
reads it again from the store (one already sent is never sent again because
the view had not caught up), sends it and records the outcome. Sends run side
by side, each with its own timeout: one recipient's slow or failing provider
never holds back another's.

A crash between the provider's acceptance and the record of it sends that
message again on restart: SMTP cannot be made exactly-once (RFC 1047), so the
e-mail carries the same Message-ID on every attempt and a receiver recognises
the resend.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import structlog

from csc_notify.application import NotifyApplication
from csc_notify.channels import (
    DeliveryFailed,
    SmtpSettings,
    chat_request,
    email_message,
    send_chat,
    send_email,
)
from csc_notify.domain import Notification, message_key
from csc_notify.messages import render
from csc_notify.projections import NotifyBoard

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    smtp: SmtpSettings | None
    console_url: str
    message_domain: str
    poll_seconds: float = 0.2
    concurrency: int = 8
    send_timeout: float = 30.0
    batch: int = 100


class Deliverer:
    def __init__(
        self,
        app: NotifyApplication,
        board: NotifyBoard,
        settings: DeliverySettings,
        sends: Callable[[str, str], None] | None = None,
    ) -> None:
        self.app, self.board, self.settings = app, board, settings
        # Counts each attempt by channel and outcome (sent, failed, failed_permanent).
        self._count = sends or (lambda channel, outcome: None)

    def message_id(self, notification: Notification) -> str:
        key = message_key(UUID(notification.about["event_id"]), notification.handle)
        return f"<{key}@{self.settings.message_domain}>"

    async def run(self, stop: asyncio.Event) -> None:
        limits = asyncio.Semaphore(self.settings.concurrency)
        async with httpx.AsyncClient(timeout=self.settings.send_timeout) as client:
            while not stop.is_set():
                sent = 0
                try:
                    now = self.app.now()
                    due = await asyncio.to_thread(self.board.due_ids, now, self.settings.batch)
                    if due:
                        outcomes = await asyncio.gather(
                            *(self._one(UUID(i), now, client, limits) for i in due)
                        )
                        sent = sum(outcomes)
                except Exception:
                    log.exception("notify.delivery_failed")
                if not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_seconds)

    async def _one(
        self,
        notification_id: UUID,
        now: datetime,
        client: httpx.AsyncClient,
        limits: asyncio.Semaphore,
    ) -> int:
        async with limits:
            found = await asyncio.to_thread(self.app.due, notification_id, now)
            if found is None:
                return 0
            notification, recipient = found
            message_id: str | None = None
            try:
                if recipient is None:
                    raise DeliveryFailed(
                        f"{notification.handle} is no longer in the directory", permanent=True
                    )
                message_id = await asyncio.wait_for(
                    self._send(notification, recipient, client),
                    timeout=self.settings.send_timeout + 5,
                )
            except DeliveryFailed as failure:
                await self._failed(notification, recipient, failure.reason, failure.permanent)
                return 1
            except Exception as exc:
                await self._failed(notification, recipient, f"{type(exc).__name__}: {exc}", False)
                return 1
            await asyncio.to_thread(
                self.app.record_sent,
                notification.id,
                message_id=message_id,
                recipient=recipient,
            )
            self._count(notification.channel, "sent")
            log.info(
                "notify.sent",
                notification=str(notification.id),
                channel=notification.channel,
                handle=notification.handle,
                attempt=notification.attempts + 1,
            )
            return 1

    async def _failed(
        self,
        notification: Notification,
        recipient: dict[str, Any] | None,
        reason: str,
        permanent: bool,
    ) -> None:
        self._count(notification.channel, "failed_permanent" if permanent else "failed")
        log.warning(
            "notify.attempt_failed",
            notification=str(notification.id),
            channel=notification.channel,
            reason=reason,
        )
        await asyncio.to_thread(
            self.app.record_failed,
            notification.id,
            reason=reason,
            permanent=permanent,
            recipient=recipient,
        )

    async def _send(
        self, notification: Notification, recipient: dict[str, Any], client: httpx.AsyncClient
    ) -> str | None:
        message = render(
            notification.about, notification.clause, recipient, self.settings.console_url
        )
        if notification.channel == "email":
            smtp = self.settings.smtp
            if smtp is None or not recipient.get("email"):
                raise DeliveryFailed("no SMTP server is set (CSC_NOTIFY_SMTP_HOST)")
            message_id = self.message_id(notification)
            mail = email_message(
                message,
                sender=smtp.sender,
                to_name=recipient["name"],
                to=recipient["email"],
                message_id=message_id,
                at=self.app.now(),
            )
            await send_email(smtp, mail)
            return message_id
        chat = recipient.get("chat")
        if not chat or chat["kind"] != notification.channel:
            raise DeliveryFailed(
                f"{notification.handle} has no {notification.channel} chat any more",
                permanent=True,
            )
        url, body = chat_request(chat["kind"], chat["url"], chat.get("secret"), message)
        await send_chat(client, chat["kind"], url, body)
        return None
