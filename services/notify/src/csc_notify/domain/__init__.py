"""The directory, the notifications, what notify keeps of cases and clocks, and the
morning digests, and the site's working days. Pure: no I/O."""

from csc_notify.domain.calendars import WorkingDays, works_on
from csc_notify.domain.cases import CaseFacts
from csc_notify.domain.clocks import ClockFacts
from csc_notify.domain.digests import DIGEST_TYPE, Digest
from csc_notify.domain.directory import (
    DIRECTORY_ID,
    Directory,
    Recipient,
    quiet_until,
    recipient_id,
)
from csc_notify.domain.notifications import (
    CHANNELS,
    DEAD,
    PENDING,
    RETRYING,
    SENT,
    STATUSES,
    Notification,
    message_key,
    notification_id,
)

__all__ = [
    "CHANNELS",
    "DEAD",
    "DIGEST_TYPE",
    "DIRECTORY_ID",
    "PENDING",
    "RETRYING",
    "SENT",
    "STATUSES",
    "CaseFacts",
    "ClockFacts",
    "Digest",
    "Directory",
    "Notification",
    "Recipient",
    "WorkingDays",
    "message_key",
    "notification_id",
    "quiet_until",
    "recipient_id",
    "works_on",
]
