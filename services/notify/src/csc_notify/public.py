"""The one place where notify's internal events become public events on csc.notify.v1.

The directory stays inside: addresses, webhook URLs and secrets never leave
the service. An outcome names the recipient, the department and the channel.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

import csc_contracts as pub
from csc_contracts import PublicEvent
from csc_notify.domain import Notification, recipient_id

EVENT_NAMESPACE = UUID("6c1d8e4a-2f7b-4a93-b5e0-3d9c7f1a2b68")
# Sending is notify's own act, not a person's.
SYSTEM: dict[str, str] = {"user": "notify", "department": "system"}


def to_public(domain_event: Any) -> PublicEvent | None:
    e: Any = domain_event
    if not isinstance(e, Notification.Sent | Notification.Failed):
        return None
    notice = e.notice
    fields: dict[str, Any] = {
        "event_id": uuid5(EVENT_NAMESPACE, f"notify:{e.originator_id}:{e.originator_version}"),
        "case_id": notice["case_id"],
        "occurred_at": e.at,
        "actor": SYSTEM,
        "notification_id": e.originator_id,
        "about_event_id": notice["about_event_id"],
        "about_event_type": notice["about_event_type"],
        "clause": notice["clause"],
        "recipient_id": recipient_id(notice["handle"]),
        "recipient_name": notice["name"],
        "department": notice["department"],
        "channel": notice["channel"],
        "attempt": e.attempt,
    }
    if isinstance(e, Notification.Sent):
        return pub.NotificationSent(**fields, sent_at=e.at, message_id=e.message_id)
    return pub.NotificationFailed(
        **fields,
        failed_at=e.at,
        reason=e.reason,
        dead_lettered=e.retry_at is None,
        retry_at=e.retry_at,
    )
