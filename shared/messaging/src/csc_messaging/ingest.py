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
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, cast
from uuid import UUID

import structlog
from eventsourcing.application import ProcessingEvent, Repository
from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking

from csc_contracts import PublicEvent
from csc_messaging import tracing
from csc_messaging.application import ConsumerApplication
from csc_messaging.codec import PoisonMessage, decode, event_type_of
from csc_messaging.journal import record_applied

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


class _RunConflict(Exception):
    """The run's events collide with each other; its records go one by one instead."""


class Ingestor:
    def __init__(
        self,
        app: ConsumerApplication,
        dead_letter: DeadLetter | None,
    ) -> None:
        self._app = app
        self._dead_letter = dead_letter
        _RunPolicy.install(app)
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
        except (IntegrityError, _RunConflict):
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
        run = _Run([r.event for r in tracked if r.event is not None])
        # The application's own process_event, so whatever it adds (sla holds its lock:
        # the timer and pause/resume change clocks too) covers the run as one event.
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


class _Run:
    """The public events of a run, handed to process_event as if they were one event."""

    def __init__(self, events: list[PublicEvent]) -> None:
        self.events = events


class _RunPolicy:
    """The application's policy, which also takes a run: each of its events in turn,
    into the one ProcessingEvent that process_event then records in one transaction.

    Policies look aggregates up (``ConsumerApplication.find``) to tell a new case from
    one they already handled, or to change it. Within a run, an earlier record may
    have created or changed that aggregate in events still waiting for the run's
    transaction: while the run's policies run, the repository shows them its
    aggregates (``_RunRepository``), or a policy would handle a case twice or act on
    stale state.
    """

    def __init__(self, app: ConsumerApplication, repository: _RunRepository) -> None:
        # The class's own descriptor, bound to app: ``type(app).policy`` would bind the
        # singledispatchmethod to no instance and dispatch on the app instead.
        self._policy = inspect.getattr_static(type(app), "policy").__get__(app, type(app))
        self._repository = repository

    def __call__(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if not isinstance(domain_event, _Run):
            self._policy(domain_event, processing_event)
        else:
            with self._repository.seeing(processing_event):
                for event in domain_event.events:
                    self._policy(event, processing_event)
            _check_no_collisions(processing_event)
        tracking = processing_event.tracking
        if processing_event.events and tracking is not None:
            # Which record caused these events, stored with them (csc_messaging.journal).
            processing_event.collect_events(record_applied(tracking))

    @classmethod
    def install(cls, app: ConsumerApplication) -> None:
        if isinstance(vars(app).get("policy"), cls):
            return
        # An attribute of the instance comes before the class's singledispatchmethod;
        # process_event calls self.policy, so a run goes through the app's own flow.
        vars(app)["policy"] = cls(app, _RunRepository.over(app))


class _RunRepository(Repository[UUID]):
    """The application's repository, except that the thread applying a run sees each
    aggregate as the run left it so far: the one the run created or changed and has not
    stored yet, or else the one it read before, rather than a fresh copy from the store.

    A run is one transaction under the application's own process_event, so its policies
    read one consistent state, as a single event's policy does; a policy that changes an
    aggregate collects its events (it would lose them otherwise), so what later records
    of the run see is what the run will store.
    """

    def __init__(self, stored: Repository[UUID]) -> None:
        # Not Repository.__init__: this is the same repository, read through the run.
        self._stored = stored
        self._local = threading.local()

    @classmethod
    def over(cls, app: ConsumerApplication) -> _RunRepository:
        current = app.repository
        if isinstance(current, cls):
            return current
        view = cls(current)
        # eventsourcing's Application.repository property returns this attribute; the
        # application's own methods and its policies all read through it.
        app._repository = view
        return view

    def __getattr__(self, name: str) -> Any:
        if name in ("_stored", "_local"):
            raise AttributeError(name)
        return getattr(self._stored, name)

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        run: _RunState | None = getattr(self._local, "run", None)
        if run is None or version is not None or kwargs:
            return self._stored.get(aggregate_id, version=version, **kwargs)
        pending = run.processing.aggregates.get(aggregate_id)
        if pending is not None:
            return pending
        read = run.read.get(aggregate_id)
        if read is None:
            # A customer's profile, say, read for each of its complaints in the run:
            # rebuilt from its events once per run instead of once per complaint.
            read = run.read[aggregate_id] = self._stored.get(aggregate_id)
        return read

    @contextlib.contextmanager
    def seeing(self, processing: ProcessingEvent[UUID]) -> Iterator[None]:
        self._local.run = _RunState(processing)
        try:
            yield
        finally:
            self._local.run = None


@dataclass
class _RunState:
    processing: ProcessingEvent[UUID]
    read: dict[UUID, Any] = field(default_factory=dict)


def _check_no_collisions(processing: ProcessingEvent[UUID]) -> None:
    seen: set[tuple[Any, int]] = set()
    for event in processing.events:
        key = (event.originator_id, event.originator_version)
        if key in seen:
            raise _RunConflict(f"two events for version {key[1]} of {key[0]}")
        seen.add(key)


def header_pairs(raw: Any) -> list[tuple[str, bytes]]:
    """A record's headers as (name, bytes) pairs, however the client gave them."""
    items: Iterable[tuple[str, Any]] = raw.items() if isinstance(raw, dict) else (raw or ())
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def _where(record: Record) -> dict[str, Any]:
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}
