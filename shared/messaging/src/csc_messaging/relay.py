"""Outbox relay: publishes what the event store committed, exactly once.

Request handlers only write to the store. The relay follows the store's
notification log and produces each batch of public events in one Kafka
transaction, together with a record of how far it got on the
``csc.relay.offsets`` topic (the way Kafka Connect's exactly-once source
connectors keep their offsets, KIP-618). Either both the events and the new
position become visible to ``read_committed`` readers, or neither does; so
a crash anywhere loses nothing and a restart publishes nothing twice. The
transactional id fences a zombie relay of the same service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from eventsourcing.application import Application

from csc_contracts import PublicEvent, Topics
from csc_messaging import failpoints
from csc_messaging.codec import encode
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_to_end

log = structlog.get_logger(__name__)

ToPublic = Callable[[Any], PublicEvent | None]

# Under load, one Kafka transaction per commit costs the broker and this process's
# event loop (which also serves HTTP) more than the events do: spacing transactions
# at least this far apart lets each carry what was committed meanwhile. When idle,
# a commit is published at once.
MIN_BATCH_INTERVAL = 0.02


class RelayPositionAhead(RuntimeError):
    """Kafka says more was published than this store holds: wrong store for this topic."""


@dataclass
class RelayStatus:
    position: int = 0
    store_head: int = 0
    running: bool = False
    published: int = 0

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
            position = await read_relay_position(self._kafka, self._topics, self.relay_id)
            head = await asyncio.to_thread(self._store_head)
            if position > head:
                raise RelayPositionAhead(
                    f"{self._topics.relay_offsets} says notification {position} of "
                    f"{self._service} was published, but the store ends at {head}"
                )
            self.status.position, self.status.store_head, self.status.running = position, head, True
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

    async def _publish_next_batch(self, producer: AIOKafkaProducer) -> int:
        start = self.status.position + 1
        notifications = await asyncio.to_thread(
            self._app.recorder.select_notifications, start, self._batch_size
        )
        if not notifications:
            self.status.store_head = self.status.position
            return 0
        last = notifications[-1].id
        async with producer.transaction():
            for notification in notifications:
                public = self._to_public(self._app.mapper.to_domain_event(notification))
                if public is None:
                    continue
                message = encode(public)
                await producer.send(
                    self._topic, value=message.value, key=message.key, headers=message.headers
                )
            await producer.send(
                self._topics.relay_offsets,
                key=self.relay_id.encode(),
                value=json.dumps({"relay": self.relay_id, "position": last}).encode(),
            )
            failpoints.hit("relay.before_commit")
        failpoints.hit("relay.after_commit")
        self.status.published += len(notifications)
        self.status.position = last
        self.status.store_head = max(self.status.store_head, last)
        return len(notifications)


async def read_relay_position(kafka: KafkaConnection | str, topics: Topics, relay_id: str) -> int:
    """The last committed position of one relay: 0 when it never published."""
    position = 0
    wanted = relay_id.encode()
    async for record in read_to_end(kafka, topics.relay_offsets):
        if record.key == wanted and record.value:
            position = int(json.loads(record.value)["position"])
    return position
