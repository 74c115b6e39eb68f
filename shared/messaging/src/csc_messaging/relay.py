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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from aiokafka import AIOKafkaProducer
from eventsourcing.application import Application

from csc_contracts import PublicEvent, Topics
from csc_messaging import failpoints
from csc_messaging.chain import AggregateHashes, ChainHead, ChainWriter, Checkpoint
from csc_messaging.codec import OutgoingMessage, encode
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


class RelayPositionAhead(RuntimeError):
    """Kafka says more was published than this store holds: wrong store for this topic."""


@dataclass
class RelayStatus:
    position: int = 0
    store_head: int = 0
    running: bool = False
    published: int = 0
    chain_head: str = ""
    checkpointed: int = 0

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
        try:
            position, chain = await read_relay_state(self._kafka, self._topics, self.relay_id)
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
            self.status.chain_head = chain.head
            log.info("relay.started", position=position, store_head=head, topic=self._topic)
            last_published = -self._min_batch_interval
            while not stop.is_set():
                spacing = last_published + self._min_batch_interval - time.monotonic()
                if spacing > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=spacing)
                    continue
                began = time.monotonic()
                published = await self._publish_next_batch(producer)
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
            await producer.stop()

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

    def _prepare(self, start: int) -> tuple[int, list[OutgoingMessage]]:
        """The next batch as sealed records (in a thread: it reads the store)."""
        notifications = self._app.recorder.select_notifications(start, self._batch_size)
        messages = []
        for notification in notifications:
            link = self._chain.advance(notification)
            public = self._to_public(self._app.mapper.to_domain_event(notification))
            if public is not None:
                messages.append(self._chain.seal(encode(public), link))
        return len(notifications), messages

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
        try:
            count, messages = await asyncio.to_thread(self._prepare, start)
            if not count:
                self.status.store_head = self.status.position
                return 0
            head = self._chain.head
            last = head.position
            now = time.monotonic()
            checkpoint = self._checkpoint_due(last, now)
            async with producer.transaction():
                for message in messages:
                    await producer.send(
                        self._topic, value=message.value, key=message.key, headers=message.headers
                    )
                await producer.send(
                    self._topics.relay_offsets,
                    key=self.relay_id.encode(),
                    value=json.dumps(
                        {"relay": self.relay_id, "position": last, "chain": head.as_dict()}
                    ).encode(),
                )
                if checkpoint:
                    await self._send_checkpoint(producer, head)
                failpoints.hit("relay.before_commit")
        except BaseException:
            self._chain.head = before  # nothing of this batch was published
            raise
        failpoints.hit("relay.after_commit")
        if checkpoint:
            self._checkpointed_now(last, now)
        self.status.published += count
        self.status.position = last
        self.status.store_head = max(self.status.store_head, last)
        self.status.chain_head = head.head
        return count


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
    position = 0
    found: ChainHead | None = ChainHead()
    wanted = relay_id.encode()
    async for record in read_to_end(kafka, topics.relay_offsets):
        if record.key == wanted and record.value:
            data = json.loads(record.value)
            position = int(data["position"])
            found = ChainHead.from_dict(data["chain"]) if "chain" in data else None
    return position, found
