"""The public contract of Customer Service Control."""

from csc_contracts.common import (
    Actor,
    Channel,
    ComplaintCategory,
    CustomerRef,
    Department,
    FeedbackKind,
    UtcDatetime,
)
from csc_contracts.events import EVENT_TYPES, ComplaintLogged, FeedbackReceived, PublicEvent
from csc_contracts.topics import SERVICES, Topics

__all__ = [
    "EVENT_TYPES",
    "SERVICES",
    "Actor",
    "Channel",
    "ComplaintCategory",
    "ComplaintLogged",
    "CustomerRef",
    "Department",
    "FeedbackKind",
    "FeedbackReceived",
    "PublicEvent",
    "Topics",
    "UtcDatetime",
]
