"""Intake's aggregates. Pure: no I/O; times, ids and actors come in as arguments.

Event attributes are plain values (str, int, dict, list, datetime, UUID) so
the store never depends on the public contract's classes. Every event names
its ``actor``; ``request_key`` is the Idempotency-Key of the request that
caused it, so a retried request is recognised and records nothing twice.
"""

from csc_intake.domain.customers import Customer
from csc_intake.domain.errors import RuleViolation
from csc_intake.domain.field_service import FieldServiceRecord
from csc_intake.domain.register import Complaint, FeedbackEntry, RegisterEntry

__all__ = [
    "Complaint",
    "Customer",
    "FeedbackEntry",
    "FieldServiceRecord",
    "RegisterEntry",
    "RuleViolation",
]
