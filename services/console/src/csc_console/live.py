"""Live pages: the public topics, followed from Kafka, pushed to the open pages (SSE).

Each replica of the console follows every public topic by itself, from the
end, committing nothing: it pushes to the pages it serves, so it must see
every record, and a change that happened while it was down is already in
what a page reads when it opens. The consumer is therefore assigned every
partition rather than sharing a group's (its client id names the replica).

A record pushes only "case X changed" (its key), never its content: the page
reads what changed from the services with its own user's token, so nobody
sees through the push what the services would not show them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from csc_console.settings import ConsoleSettings

log = structlog.get_logger("csc_console.live")

FOLLOWED = ("intake", "returns", "capa", "sla")


@dataclass(frozen=True)
class Change:
    case_id: str
    type: str
    topic: str
    user: str | None = None
    """Who did it (the event's actor), where the event says."""


@dataclass(frozen=True)
class Interest:
    """Which changes a page wants."""

    case_id: str | None = None
    """Only this case's changes; every change when None (a work queue)."""
    topic: str | None = None
    """Only those of this topic (one service's events)."""
    not_by: str | None = None
    """Not those this user made (a page of forms: its own steps come back as a new page)."""

    def wants(self, change: Change) -> bool:
        return (
            self.case_id in (None, change.case_id)
            and self.topic in (None, change.topic)
            and (self.not_by is None or change.user != self.not_by)
        )


@dataclass(eq=False)
class Listener:
    interest: Interest
    queue: asyncio.Queue[Change] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


class Hub:
    """Fans each change out to the listeners (open pages) that want it."""

    RECENT = 1000

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        # Every change gets the next number; the recent ones are kept so a page that
        # connects after it was read learns what changed in between (see changed_since).
        self.seq = 0
        self._recent: deque[tuple[int, Change]] = deque(maxlen=self.RECENT)

    def changed_since(self, since: int, interest: Interest | str | None) -> bool:
        """Whether a change the page wants came after ``since`` (the number when the
        page began to read): a page is read, then connects; what happened between the
        two would otherwise never reach it. ``interest``: which changes (a case id, or
        None for every change, as short)."""
        wanted = interest if isinstance(interest, Interest) else Interest(interest)
        if since >= self.seq:
            return False
        if not self._recent or self._recent[0][0] > since + 1:
            return True  # older than what is kept: assume it changed
        return any(seq > since and wanted.wants(change) for seq, change in self._recent)

    def listen(self, interest: Interest | str | None) -> Listener:
        wanted = interest if isinstance(interest, Interest) else Interest(interest)
        listener = Listener(wanted)
        self._listeners.add(listener)
        return listener

    def leave(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def publish(self, change: Change) -> None:
        self.seq += 1
        self._recent.append((self.seq, change))
        for listener in list(self._listeners):
            if listener.interest.wants(change):
                # A page that stopped reading loses pushes, not the console its memory:
                # it refreshes on the next one anyway.
                with contextlib.suppress(asyncio.QueueFull):
                    listener.queue.put_nowait(change)

    @property
    def listeners(self) -> int:
        return len(self._listeners)


class Follower:
    """The Kafka consumer feeding the hub; ``ready`` once it reads from every partition."""

    def __init__(self, settings: ConsoleSettings, hub: Hub) -> None:
        self.settings, self.hub = settings, hub
        self.ready = asyncio.Event()
        self.error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="console-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        topics = [self.settings.topics.events(s) for s in FOLLOWED]
        while True:
            consumer = AIOKafkaConsumer(
                **self.settings.kafka.client_options(),
                group_id=None,
                enable_auto_commit=False,
                client_id=f"csc-console.{self.settings.console_instance}",
                auto_offset_reset="latest",
                # Only what the services have committed: a page must not show what they
                # may yet roll back.
                isolation_level="read_committed",
            )
            try:
                await consumer.start()
                # No group: every partition of every followed topic is this replica's own.
                consumer.subscribe(topics)
                partitions = await _assignment(consumer, len(topics))
                for tp in partitions:  # resolves the end now, before anything is pushed
                    await consumer.position(tp)
                self.error = None
                self.ready.set()
                log.info("live.following", topics=topics, partitions=len(partitions))
                async for record in consumer:
                    self._push(record.topic, record.key, dict(record.headers or ()), record.value)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka away: pages stay, pushes resume when it is back
                self.ready.clear()
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("live.kafka_error", error=self.error)
                await asyncio.sleep(2)
            finally:
                await consumer.stop()

    def _push(
        self, topic: str, key: bytes | None, headers: dict[str, bytes], value: bytes | None = None
    ) -> None:
        if not key:
            return
        try:
            case_id = key.decode()
            kind = headers.get("ce_type", b"").decode()
        except UnicodeDecodeError:
            return
        self.hub.publish(Change(case_id=case_id, type=kind, topic=topic, user=_actor(value)))


def _actor(value: bytes | None) -> str | None:
    """The user of the event's ``actor`` (every public event has one); None where the
    value says otherwise: a push is a hint to look again, never refused."""
    try:
        data = json.loads(value or b"")
    except ValueError:
        return None
    actor = data.get("actor") if isinstance(data, dict) else None
    user = actor.get("user") if isinstance(actor, dict) else None
    return user if isinstance(user, str) else None


async def _assignment(consumer: AIOKafkaConsumer, topics: int) -> set[TopicPartition]:
    for _ in range(100):
        assigned: set[TopicPartition] = consumer.assignment()
        if len({tp.topic for tp in assigned}) == topics:
            return assigned
        await asyncio.sleep(0.1)
    raise RuntimeError("not every followed topic has partitions yet (are they created?)")
