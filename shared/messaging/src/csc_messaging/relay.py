"""Outbox relay: publishes what the event store committed, exactly once.

Request handlers only write to the store. The relay follows the store's
notification log and produces each batch of public events in one Kafka
transaction, together with a record of how far it got on the
``csc.relay.offsets`` topic (the way Kafka Connect's exactly-once source
connectors keep their offsets, KIP-618). Either both the events and the new
position become visible to ``read_committed`` readers, or neither does; so
a crash anywhere loses nothing and a restart publishes nothing twice. The
transactional id fences a zombie relay of the same service.

As it reads the log the relay extends the store's hash chains (``csc_messaging.chain``):
each public record carries its place in them as CloudEvents extension attributes,
the chain's head is kept with the position (so a restarted relay continues it), and
every so many notifications or seconds the head goes to ``csc.audit.v1`` as a
checkpoint, in the same transaction as the batch (ISO 9001 §7.5.3: records protected
from unnoticed alteration).

One event that cannot be published (the mapping raises on it, or its record would be
larger than the broker takes) never stops the stream: it is *held*, with its reason,
and later events of the same aggregate wait behind it so that a case's order holds;
everything else goes on. The held list travels with the position, so a restart keeps
it; each start (a fixed release) and every ``RELEASE_SECONDS`` the relay tries the held
events again, and publishes each that now maps, then those that waited behind it, in
order. A released record carries ``cscheld`` (CloudEvents extension): it comes later in
its partition than records of higher ``cscseq``, on purpose.

A relay with a journal (``csc_messaging.journal``) also writes every notification, in
the same transaction, to ``csc.<service>.journal``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog
from aiokafka import AIOKafkaProducer
from eventsourcing.application import Application

from csc_contracts import PublicEvent, Topics
from csc_messaging import failpoints, tracing
from csc_messaging.chain import SEQ, AggregateHashes, ChainHead, ChainWriter, Checkpoint, Link
from csc_messaging.codec import OutgoingMessage, add_extensions, encode
from csc_messaging.journal import journal_messages
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_to_end

log = structlog.get_logger(__name__)

ToPublic = Callable[[Any], PublicEvent | None]

# Under load, one Kafka transaction per commit costs the broker and this process's
# event loop (which also serves HTTP) more than the events do: spacing transactions
# at least this far apart lets each carry what was committed meanwhile. When idle,
# a commit is published at once.
MIN_BATCH_INTERVAL = 0.02
CHECKPOINT_EVERY = 1000
CHECKPOINT_SECONDS = 60.0
RELEASE_SECONDS = 60.0
# What a record costs the broker beyond its key, value and headers (batch and record
# framing), and the chain's own headers, which are added after the size is checked.
RECORD_OVERHEAD = 1024
HELD = "cscheld"


class RelayPositionAhead(RuntimeError):
    """Kafka says more was published than this store holds: wrong store for this topic."""


class Unpublishable(Exception):
    """This one event cannot go out as a record; the reason says why."""


def record_size(message: OutgoingMessage) -> int:
    """What a record costs the broker: key, value, headers and ``RECORD_OVERHEAD``."""
    size = RECORD_OVERHEAD + len(message.key) + len(message.value)
    return size + sum(len(name) + len(value) for name, value in message.headers)


def public_record(
    to_public: ToPublic, mapper: Any, notification: Any, max_bytes: int
) -> OutgoingMessage | None:
    """The record the relay publishes for one stored notification; None for an internal event.

    ``Unpublishable``, with the reason, when ``to_public`` raises on it or the record would
    be larger than ``max_bytes`` (what the broker takes): the relay holds such an event.
    The one rule, so that a test of every accepted request checks what the relay does.
    """
    try:
        public = to_public(mapper.to_domain_event(notification))
        if public is None:
            return None
        message = encode(public)
    except Exception as exc:
        raise Unpublishable(f"cannot be mapped to a public event: {exc!r}"[:2000]) from exc
    size = record_size(message)
    if size > max_bytes:
        raise Unpublishable(
            f"its record would be {size} bytes, more than the {max_bytes} "
            "the broker takes (CSC_RELAY_MAX_RECORD_BYTES)"
        )
    return message


@dataclass(frozen=True)
class HeldEvent:
    """A stored event the relay has not published, and why; its place in the chains."""

    seq: int
    originator_id: str
    version: int
    agg: str
    head: str
    reason: str
    since: str
    behind: int | None = None
    """The held notification of the same aggregate it waits behind, if that is why."""

    def link(self) -> Link:
        return Link(self.seq, self.originator_id, self.version, self.agg, self.head)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HeldEvent:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class RelayState:
    """What a relay keeps on ``csc.relay.offsets`` beside its position."""

    position: int = 0
    chain: ChainHead | None = field(default_factory=ChainHead)
    held: list[HeldEvent] = field(default_factory=list)
    journaled: int = 0


@dataclass
class RelayStatus:
    position: int = 0
    store_head: int = 0
    running: bool = False
    started: bool = False
    """The relay has read where it stands since this process began (``position`` is true)."""
    published: int = 0
    chain_head: str = ""
    checkpointed: int = 0
    held: list[HeldEvent] = field(default_factory=list)
    last_progress: float = field(default_factory=time.monotonic)
    """When a transaction last committed, or the relay last found nothing to publish."""

    @property
    def lag(self) -> int:
        return max(0, self.store_head - self.position)


class OutboxRelay:
    def __init__(
        self,
        *,
        app: Application[Any],
        service: str,
        to_public: ToPublic,
        kafka: KafkaConnection | str,
        topics: Topics,
        batch_size: int = 500,
        poll_seconds: float = 0.05,
        min_batch_interval: float = MIN_BATCH_INTERVAL,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        aggregate_cache: int = 10_000,
        max_record_bytes: int = 1_000_000,
        journal: bool = False,
        release_seconds: float = RELEASE_SECONDS,
    ) -> None:
        self._app = app
        self._service = service
        self._to_public = to_public
        self._kafka = KafkaConnection.of(kafka)
        self._topics = topics
        self._topic = topics.events(service)
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._min_batch_interval = min_batch_interval
        self._checkpoint_every = checkpoint_every
        self._checkpoint_seconds = checkpoint_seconds
        self._aggregate_cache = aggregate_cache
        self._max_record_bytes = max_record_bytes
        self._journal = topics.journal(service) if journal else None
        self._journaled = 0
        self._release_seconds = release_seconds
        self._released_at = -math.inf
        self._held: dict[int, HeldEvent] = {}
        self._producer: AIOKafkaProducer | None = None
        self._chain = ChainWriter(ChainHead())
        self._checkpointed: int | None = None
        self._checkpointed_at = -math.inf
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.status = RelayStatus()

    @property
    def relay_id(self) -> str:
        return self._service

    def wake(self) -> None:
        """Called (from any thread) after a commit, so the relay need not wait for its poll."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        producer = AIOKafkaProducer(
            **self._kafka.client_options(),
            client_id=f"csc-relay-{self._service}",
            transactional_id=f"{self._topics.prefix}csc-relay-{self._service}",
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
        )
        # start() runs InitProducerId: any open transaction of an earlier
        # incarnation is aborted and that incarnation is fenced off.
        await producer.start()
        self._producer = producer
        try:
            state = await read_relay_record(self._kafka, self._topics, self.relay_id)
            position, chain = state.position, state.chain
            self._held = {h.seq: h for h in state.held}
            self._journaled = state.journaled if self._journal else position
            self._released_at = -math.inf  # a fresh process tries what is held at once
            head = await asyncio.to_thread(self._store_head)
            if position > head:
                raise RelayPositionAhead(
                    f"{self._topics.relay_offsets} says notification {position} of "
                    f"{self._service} was published, but the store ends at {head}"
                )
            if chain is None:
                # Published before the chains existed: they begin at the store's start.
                chain = await asyncio.to_thread(self._chain_from_store, position)
            self._chain = ChainWriter(
                chain, AggregateHashes(self._load_previous, self._aggregate_cache)
            )
            # Whatever was checkpointed before, a fresh process checkpoints its start.
            self._checkpointed, self._checkpointed_at = None, -math.inf
            self.status.position, self.status.store_head, self.status.running = position, head, True
            self.status.started = True
            self.status.chain_head = chain.head
            self.status.held = sorted(self._held.values(), key=lambda h: h.seq)
            log.info(
                "relay.started",
                position=position,
                store_head=head,
                topic=self._topic,
                held=len(self._held),
            )
            await self._backfill_journal(producer)
            last_published = -self._min_batch_interval
            while not stop.is_set():
                spacing = last_published + self._min_batch_interval - time.monotonic()
                if spacing > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=spacing)
                    continue
                began = time.monotonic()
                published = await self._publish_next_batch(producer)
                self.status.last_progress = time.monotonic()
                if published:
                    last_published = began
                else:
                    await self._checkpoint_if_due(producer)
                    self._wakeup.clear()
                    stopper = asyncio.ensure_future(stop.wait())
                    waker = asyncio.ensure_future(self._wakeup.wait())
                    await asyncio.wait(
                        {stopper, waker},
                        timeout=self._poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    stopper.cancel()
                    waker.cancel()
        finally:
            self.status.running = False
            self._producer = None
            await producer.stop()

    async def problem(self, stall_seconds: float = 15.0) -> str | None:
        """Why this relay cannot publish now, or None (for ``/readyz``)."""
        status = self.status
        if not status.running or self._producer is None:
            return "outbox relay is not running (Kafka unreachable?)"
        stalled = time.monotonic() - status.last_progress
        if stalled > stall_seconds:
            return f"outbox relay has not published for {stalled:.0f} s ({status.lag} waiting)"
        try:
            # An idle relay sends nothing: ask the broker, as consumers' pings do.
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=3)
        except Exception as exc:
            return f"Kafka broker does not answer the relay: {exc!r}"
        return None

    def _trace(self, topic: str, message: OutgoingMessage, spans: list[Any]) -> list[Any]:
        """The publish span of a record whose commit was traced, and its context as headers."""
        seq = next((v for n, v in message.headers if n == f"ce_{SEQ}"), None)
        parent = tracing.commit_context(self._app, int(seq)) if seq is not None else None
        if parent is None:
            return []
        span = tracing.start_publish(topic, parent)
        spans.append(span)
        return list(tracing.trace_headers(span.get_span_context()))

    def _store_head(self) -> int:
        return self._app.recorder.max_notification_id() or 0

    def _load_previous(self, originator_id: str, up_to_version: int) -> Sequence[Any]:
        try:
            key: UUID | str = UUID(originator_id)
        except ValueError:
            key = originator_id
        return self._app.recorder.select_events(key, lte=up_to_version)

    def _chain_from_store(self, position: int) -> ChainHead:
        writer = ChainWriter(ChainHead())
        while writer.head.position < position:
            page = self._app.recorder.select_notifications(
                writer.head.position + 1, self._batch_size, stop=position
            )
            if not page:
                break
            for notification in page:
                writer.advance(notification)
        return ChainHead(position=position, head=writer.head.head)

    def _prepare(self, start: int) -> tuple[int, list[tuple[str, OutgoingMessage]]]:
        """The next batch as (topic, sealed record) pairs (in a thread: it reads the store).

        Held events whose time has come go first, then the log's next notifications.
        """
        records: list[tuple[str, OutgoingMessage]] = []
        now = time.monotonic()
        if self._held and now - self._released_at >= self._release_seconds:
            self._released_at = now
            records.extend((self._topic, m) for m in self._release())
        notifications = self._app.recorder.select_notifications(start, self._batch_size)
        for notification in notifications:
            link = self._chain.advance(notification)
            if self._journal is not None and notification.id > self._journaled:
                records.extend(
                    (self._journal, m) for m in journal_messages(self._service, notification)
                )
            try:
                message = self._message(notification)
            except Unpublishable as exc:
                self._hold(link, str(exc))
                continue
            if message is None:
                continue
            blocking = self._held_aggregate(link.originator_id)
            if blocking is not None:
                self._hold(link, f"waits behind notification {blocking}", behind=blocking)
                continue
            records.append((self._topic, self._chain.seal(message, link)))
        return len(notifications), records

    def _message(self, notification: Any) -> OutgoingMessage | None:
        """The public record of a notification, None for an internal event."""
        return public_record(
            self._to_public, self._app.mapper, notification, self._max_record_bytes
        )

    def _held_aggregate(self, originator_id: str) -> int | None:
        return next((h.seq for h in self._held.values() if h.originator_id == originator_id), None)

    def _hold(self, link: Link, reason: str, behind: int | None = None) -> None:
        held = HeldEvent(
            seq=link.position,
            originator_id=link.originator_id,
            version=link.version,
            agg=link.agg,
            head=link.head,
            reason=reason,
            since=datetime.now(UTC).isoformat(),
            behind=behind,
        )
        self._held[held.seq] = held
        log.error(
            "relay.held",
            notification=held.seq,
            aggregate=held.originator_id,
            version=held.version,
            reason=reason,
            held=len(self._held),
        )

    def _release(self) -> list[OutgoingMessage]:
        """Held events that now map, in log order; an aggregate's wait behind its first."""
        released: list[OutgoingMessage] = []
        blocked: set[str] = set()
        for seq in sorted(self._held):
            held = self._held[seq]
            if held.originator_id in blocked:
                continue
            page = self._app.recorder.select_notifications(seq, 1, stop=seq)
            try:
                message = self._message(page[0]) if page else None
            except Unpublishable as exc:
                blocked.add(held.originator_id)
                if held.behind is None and str(exc) != held.reason:
                    self._held[seq] = HeldEvent(**{**asdict(held), "reason": str(exc)})
                continue
            del self._held[seq]
            if message is None:
                continue
            message = add_extensions(message, {HELD: held.since})
            released.append(self._chain.seal(message, held.link()))
            log.warning("relay.released", notification=seq, aggregate=held.originator_id)
        return released

    async def _backfill_journal(self, producer: AIOKafkaProducer) -> None:
        """Journal what was published before this relay kept a journal."""
        journal = self._journal
        if journal is None:
            return
        while self._journaled < self.status.position:
            page = await asyncio.to_thread(
                self._app.recorder.select_notifications,
                self._journaled + 1,
                self._batch_size,
                stop=self.status.position,
            )
            if not page:
                break
            async with producer.transaction():
                for notification in page:
                    for m in journal_messages(self._service, notification):
                        await producer.send(journal, value=m.value, key=m.key, headers=m.headers)
                await self._send_state(producer, self._chain.head, journaled=page[-1].id)
            self._journaled = page[-1].id
            self.status.last_progress = time.monotonic()
            log.info("relay.journal_backfilled", up_to=self._journaled)

    async def _send_state(
        self, producer: AIOKafkaProducer, head: ChainHead, *, journaled: int | None = None
    ) -> None:
        state = {
            "relay": self.relay_id,
            "position": head.position,
            "chain": head.as_dict(),
            "held": [asdict(h) for h in sorted(self._held.values(), key=lambda h: h.seq)],
        }
        if self._journal is not None:
            state["journaled"] = head.position if journaled is None else journaled
        await producer.send(
            self._topics.relay_offsets,
            key=self.relay_id.encode(),
            value=json.dumps(state).encode(),
        )

    def _checkpoint_due(self, position: int, now: float) -> bool:
        if position == 0 or position == self._checkpointed:
            return False
        if self._checkpointed is None:
            return True
        return (
            position - self._checkpointed >= self._checkpoint_every
            or now - self._checkpointed_at >= self._checkpoint_seconds
        )

    async def _send_checkpoint(self, producer: AIOKafkaProducer, head: ChainHead) -> None:
        checkpoint = Checkpoint.of(self._service, head)
        await producer.send(
            self._topics.audit, key=self._service.encode(), value=checkpoint.to_json()
        )

    def _checkpointed_now(self, position: int, at: float) -> None:
        self._checkpointed, self._checkpointed_at = position, at
        self.status.checkpointed = position

    async def _checkpoint_if_due(self, producer: AIOKafkaProducer) -> None:
        """When idle: the head goes out on time even if no new batch carries it."""
        now = time.monotonic()
        head = self._chain.head
        if head.position != self.status.position or not self._checkpoint_due(head.position, now):
            return
        async with producer.transaction():
            await self._send_checkpoint(producer, head)
        self._checkpointed_now(head.position, now)

    async def _publish_next_batch(self, producer: AIOKafkaProducer) -> int:
        start = self.status.position + 1
        before = self._chain.head
        held_before = dict(self._held)
        spans: list[Any] = []  # the publish spans of traced records
        try:
            count, records = await asyncio.to_thread(self._prepare, start)
            if not count and not records:
                self.status.store_head = self.status.position
                return 0
            head = self._chain.head
            last = head.position
            now = time.monotonic()
            checkpoint = bool(count) and self._checkpoint_due(last, now)
            async with producer.transaction():
                for topic, message in records:
                    headers = message.headers
                    if topic == self._topic:
                        headers = headers + self._trace(topic, message, spans)
                    await producer.send(
                        topic, value=message.value, key=message.key, headers=headers
                    )
                await self._send_state(producer, head)
                if checkpoint:
                    await self._send_checkpoint(producer, head)
                failpoints.hit("relay.before_commit")
        except BaseException as exc:
            # Nothing of this batch was published, nothing held or released by it.
            self._chain.head = before
            self._held = held_before
            tracing.end_all(spans, exc)
            raise
        tracing.end_all(spans)
        failpoints.hit("relay.after_commit")
        if checkpoint:
            self._checkpointed_now(last, now)
        if self._journal is not None:
            self._journaled = max(self._journaled, last)
        self.status.published += count
        self.status.position = last
        self.status.store_head = max(self.status.store_head, last)
        self.status.chain_head = head.head
        self.status.held = sorted(self._held.values(), key=lambda h: h.seq)
        return count or len(records)


async def read_relay_position(kafka: KafkaConnection | str, topics: Topics, relay_id: str) -> int:
    """The last committed position of one relay: 0 when it never published."""
    position, _ = await read_relay_state(kafka, topics, relay_id)
    return position


async def read_relay_state(
    kafka: KafkaConnection | str, topics: Topics, relay_id: str
) -> tuple[int, ChainHead | None]:
    """The last committed position of one relay and its chain head there.

    (0, a fresh head) when it never published; (position, None) when it last
    published before the chains existed.
    """
    state = await read_relay_record(kafka, topics, relay_id)
    return state.position, state.chain


async def read_relay_record(
    kafka: KafkaConnection | str, topics: Topics, relay_id: str
) -> RelayState:
    """Everything one relay last committed beside its position (a fresh state if none)."""
    state = RelayState()
    wanted = relay_id.encode()
    async for record in read_to_end(kafka, topics.relay_offsets):
        if record.key == wanted and record.value:
            data = json.loads(record.value)
            state = RelayState(
                position=int(data["position"]),
                chain=ChainHead.from_dict(data["chain"]) if "chain" in data else None,
                held=[HeldEvent.from_dict(h) for h in data.get("held", ())],
                journaled=int(data.get("journaled", 0)),
            )
    return state
