"""Applying public events from Kafka exactly once in effect.

Each record's position (topic, partition, offset) is stored as an
eventsourcing tracking record in the same transaction as the events it
caused. A redelivered record finds its position already recorded and
changes nothing, whatever Kafka's committed offsets say.

A run of one partition's records (as a replay reads them) can be applied in
one transaction that records only the run's last position. Tracking is one
row per topic:partition that only moves forward, so recording offset N says
the same as recording every offset up to N: a later redelivery of any record
of the run finds it covered, exactly as if each had been recorded in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, cast

import structlog
from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking

from csc_contracts import PublicEvent
from csc_messaging import tracing
from csc_messaging.application import ConsumerApplication
from csc_messaging.codec import PoisonMessage, decode, event_type_of
from csc_messaging.journal import record_applied
from csc_messaging.runs import Run, RunConflict

log = structlog.get_logger(__name__)

# How often a record is applied again when another writer moved an aggregate under it.
CONFLICT_RETRIES = 5


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


@dataclass
class _Read:
    """One record of a run, read but not yet applied."""

    record: Record
    event: PublicEvent | None = None
    outcome: Outcome | None = None
    poison: str | None = None


class Ingestor:
    def __init__(
        self,
        app: ConsumerApplication,
        dead_letter: DeadLetter | None,
    ) -> None:
        self._app = app
        self._dead_letter = dead_letter
        app.notes_records = True
        self.stats = IngestStats()

    async def handle(self, record: Record) -> Outcome:
        outcome = await self._handle(record)
        self.stats.add(outcome)
        return outcome

    async def handle_run(self, records: Sequence[Record]) -> list[Outcome]:
        """Apply records of one partition, in offset order, in one store transaction.

        Each record gets the outcome ``handle`` would give it, and the same counts.
        Policies see the aggregates that earlier records of the run changed. If a
        policy raises, or the store refuses the run (someone else recorded part of it,
        or two records collide), the run is applied again record by record, so the one
        at fault is dealt with exactly as ``handle`` deals with it.

        Only one writer may apply a partition at a time (a replay, or one consumer of
        the group): the run trusts the partition's position read at its start.
        """
        if not records:
            return []
        contexts = [c for r in records if (c := tracing.record_context(header_pairs(r.headers)))]
        if not contexts:
            return await self._handle_run(records)
        span = tracing.start_apply(records[0].topic, contexts)
        token = tracing.attach(span)
        try:
            return await self._handle_run(records)
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            tracing.detach(token)
            span.end()

    async def _handle_run(self, records: Sequence[Record]) -> list[Outcome]:
        reads = await asyncio.to_thread(self._read_run, records)
        for read in reads:
            if read.poison is not None:
                await self._send_to_dlq(read.record, read.poison)
        try:
            await asyncio.to_thread(self._apply_run, reads)
        except (IntegrityError, RunConflict):
            outcomes = await self._one_by_one(reads)
        except PersistenceError:
            raise  # the store is unwell: let the caller retry the run
        except Exception:
            outcomes = await self._one_by_one(reads)
        else:
            outcomes = [read.outcome or Outcome.APPLIED for read in reads]
        for outcome in outcomes:
            self.stats.add(outcome)
        return outcomes

    async def _handle(self, record: Record) -> Outcome:
        tracking = tracking_for(record)
        recorder = self._app.recorder
        if await asyncio.to_thread(
            recorder.has_tracking_id, tracking.application_name, tracking.notification_id
        ):
            return Outcome.DUPLICATE
        headers = header_pairs(record.headers)
        try:
            event = decode(headers, record.key, record.value)
        except PoisonMessage as exc:
            return await self._reject(record, tracking, exc.reason)
        if event is None:
            log.info("ingest.skipped_unknown_type", type=event_type_of(headers), **_where(record))
            return Outcome.SKIPPED_UNKNOWN_TYPE
        try:
            await asyncio.to_thread(self._apply_one, event, tracking)
        except IntegrityError:
            return Outcome.DUPLICATE
        except PersistenceError:
            raise  # the store is unwell: let Kafka redeliver
        except Exception as exc:
            reason = f"{event.event_type()} {event.event_id} could not be applied: {exc!r}"
            return await self._reject(record, tracking, reason)
        return Outcome.APPLIED

    def _apply_one(self, event: PublicEvent, tracking: Tracking) -> None:
        """Apply ``event``; IntegrityError only when its position is already recorded.

        The store also refuses a write when another writer (a redrive of dead letters,
        a command over HTTP in another process) moved an aggregate the policy read:
        then the record is applied again, on the state as it now is.
        """
        recorder = self._app.recorder
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                self._app.apply_public(event, tracking)
                return
            except IntegrityError:
                if recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
                    raise
                if attempt == CONFLICT_RETRIES:
                    raise PersistenceError(
                        f"{event.event_type()} {event.event_id} conflicted with another "
                        f"writer {CONFLICT_RETRIES} times; Kafka will deliver it again"
                    ) from None
                log.info("ingest.conflict_retry", event_id=str(event.event_id), attempt=attempt)

    async def _reject(self, record: Record, tracking: Tracking, reason: str) -> Outcome:
        await self._send_to_dlq(record, reason)
        return await self._track_rejected(tracking)

    async def _send_to_dlq(self, record: Record, reason: str) -> None:
        log.warning("ingest.dead_lettered", reason=reason, **_where(record))
        if self._dead_letter is not None:
            await self._dead_letter(record, reason)

    async def _track_rejected(self, tracking: Tracking) -> Outcome:
        # The log says so too: a store restored from its journal must not read it again.
        stored = self._app.mapper.to_stored_event(record_applied(tracking, "dead_lettered"))
        with contextlib.suppress(IntegrityError):
            await asyncio.to_thread(self._app.recorder.insert_events, [stored], tracking=tracking)
        return Outcome.DEAD_LETTERED

    def _read_run(self, records: Sequence[Record]) -> list[_Read]:
        topic, partition = records[0].topic, records[0].partition
        if any(r.partition != partition or r.topic != topic for r in records):
            raise ValueError(
                f"a run holds one partition's records, not {topic}:{partition}'s and more"
            )
        name = tracking_for(records[0]).application_name
        position = self._app.recorder.max_tracking_id(name) or 0
        reads: list[_Read] = []
        for record in records:
            read = _Read(record)
            reads.append(read)
            if tracking_for(record).notification_id <= position:
                read.outcome = Outcome.DUPLICATE
                continue
            headers = header_pairs(record.headers)
            try:
                read.event = decode(headers, record.key, record.value)
            except PoisonMessage as exc:
                read.outcome, read.poison = Outcome.DEAD_LETTERED, exc.reason
                continue
            if read.event is None:
                kind = event_type_of(headers)
                log.info("ingest.skipped_unknown_type", type=kind, **_where(record))
                read.outcome = Outcome.SKIPPED_UNKNOWN_TYPE
        return reads

    def _apply_run(self, reads: list[_Read]) -> None:
        # handle() records no position for a skipped record and neither does a run
        # that ends in them: a consumer that learns the type later still sees them.
        tracked = [r for r in reads if r.event is not None or r.poison is not None]
        if not tracked:
            return
        run = Run([r.event for r in tracked if r.event is not None])
        # The application's own process_event, so whatever it adds (its lock: the timer and
        # HTTP change the same aggregates) covers the run as one event; its policy
        # (ConsumerApplication.policy) applies each of the run's events in turn.
        self._app.process_event(cast(Any, run), tracking_for(tracked[-1].record))

    async def _one_by_one(self, reads: list[_Read]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for read in reads:
            if read.poison is not None:  # already sent to the DLQ
                outcomes.append(await self._track_rejected(tracking_for(read.record)))
            elif read.outcome is not None:
                outcomes.append(read.outcome)
            else:
                outcomes.append(await self._handle(read.record))
        return outcomes


def header_pairs(raw: Any) -> list[tuple[str, bytes]]:
    """A record's headers as (name, bytes) pairs, however the client gave them."""
    items: Iterable[tuple[str, Any]] = raw.items() if isinstance(raw, dict) else (raw or ())
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def _where(record: Record) -> dict[str, Any]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}
