"""Applying public events from Kafka exactly once in effect.

Each record's position (topic, partition, offset) is stored as an
eventsourcing tracking record in the same transaction as the events it
caused. A redelivered record finds its position already recorded and
changes nothing, whatever Kafka's committed offsets say.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import structlog
from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking

from csc_messaging.application import ConsumerApplication
from csc_messaging.codec import PoisonMessage, decode, event_type_of

log = structlog.get_logger(__name__)


class Record(Protocol):
    """What we need of a consumed Kafka record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    SKIPPED_UNKNOWN_TYPE = "skipped_unknown_type"
    DEAD_LETTERED = "dead_lettered"


DeadLetter = Callable[[Record, str], Awaitable[None]]


@dataclass
class IngestStats:
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.value] += 1


def tracking_for(record: Record) -> Tracking:
    # Offsets start at 0, notification ids at 1.
    return Tracking(
        application_name=f"{record.topic}:{record.partition}", notification_id=record.offset + 1
    )


class Ingestor:
    def __init__(
        self,
        app: ConsumerApplication,
        dead_letter: DeadLetter | None,
    ) -> None:
        self._app = app
        self._dead_letter = dead_letter
        self.stats = IngestStats()

    async def handle(self, record: Record) -> Outcome:
        outcome = await self._handle(record)
        self.stats.add(outcome)
        return outcome

    async def _handle(self, record: Record) -> Outcome:
        tracking = tracking_for(record)
        recorder = self._app.recorder
        if await asyncio.to_thread(
            recorder.has_tracking_id, tracking.application_name, tracking.notification_id
        ):
            return Outcome.DUPLICATE
        headers = _headers(record.headers)
        try:
            event = decode(headers, record.key, record.value)
        except PoisonMessage as exc:
            return await self._reject(record, tracking, exc.reason)
        if event is None:
            log.info("ingest.skipped_unknown_type", type=event_type_of(headers), **_where(record))
            return Outcome.SKIPPED_UNKNOWN_TYPE
        try:
            await asyncio.to_thread(self._app.apply_public, event, tracking)
        except IntegrityError:
            return Outcome.DUPLICATE
        except PersistenceError:
            raise  # the store is unwell: let Kafka redeliver
        except Exception as exc:
            reason = f"{event.event_type()} {event.event_id} could not be applied: {exc!r}"
            return await self._reject(record, tracking, reason)
        return Outcome.APPLIED

    async def _reject(self, record: Record, tracking: Tracking, reason: str) -> Outcome:
        log.warning("ingest.dead_lettered", reason=reason, **_where(record))
        if self._dead_letter is not None:
            await self._dead_letter(record, reason)
        with contextlib.suppress(IntegrityError):
            await asyncio.to_thread(self._app.recorder.insert_tracking, tracking)
        return Outcome.DEAD_LETTERED


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    items: Iterable[tuple[str, Any]] = raw.items() if isinstance(raw, dict) else (raw or ())
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def _where(record: Record) -> dict[str, Any]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}
