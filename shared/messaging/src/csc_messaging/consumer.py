"""The live consumer: batches from Kafka, each partition's run applied in one transaction.

A plain aiokafka consumer in the service's consumer group, run as a background task
of the service. Each ``getmany`` gives up to ``MAX_RECORDS`` records; the records of
one partition go through ``Ingestor.handle_run``, one store transaction for the run,
so under a burst the store commits once per run instead of once per record.

Where a partition stands is the store's word, not Kafka's: the tracking row the same
transaction moved (``csc_messaging.ingest``). On every assignment the consumer seeks
each partition to that position (a ``ConsumerRebalanceListener``, as Kafka's own
clients do when offsets live outside Kafka), so a committed offset behind the store
reads nothing twice into it, and one ahead of it (a store restored from an older
state) skips nothing. Offsets are still committed, after the store and in the
background, only so that tools watching the group see its lag.

A store error (or a DLQ that cannot be written) loses nothing: the partition has not
moved in the store, so the consumer seeks back to the store's position and reads the
run again after a backoff.

Records that cannot be read go to ``<topic>.dlq`` through the service's FastStream
broker (its publishers are what the event catalog documents).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from csc_messaging.application import ConsumerApplication
from csc_messaging.ingest import DeadLetter, Ingestor, Record
from csc_messaging.kafka_conn import KafkaConnection

log = structlog.get_logger(__name__)

DLQ_REASON = "csc_dlq_reason"

# Records per getmany, over all partitions. Large enough that a transaction per run
# costs little next to its records under a backlog; small enough that a run of ~1 KiB
# records is quick to apply, so a rebalance or a stop does not wait long for it.
MAX_RECORDS = 500
# How long getmany waits when nothing is there; it returns at once when something is.
POLL_MS = 200
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


def dlq_headers(record: Record, reason: str, consumer: str) -> dict[str, str]:
    headers = {
        k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
        for k, v in (record.headers or ())
    }
    headers.update(
        {
            DLQ_REASON: reason[:4000],
            "csc_dlq_consumer": consumer,
            "csc_dlq_topic": record.topic,
            "csc_dlq_partition": str(record.partition),
            "csc_dlq_offset": str(record.offset),
        }
    )
    return headers


def dead_letter_publisher(broker: KafkaBroker, *, topic: str, group_id: str) -> DeadLetter:
    """What ``group_id`` does with a record of ``topic`` it cannot read: ``<topic>.dlq``."""
    dlq = broker.publisher(
        f"{topic}.dlq",
        title=f"{topic}.dlq:{group_id}",
        description="Records this consumer could not read, with the reason in csc_dlq_reason.",
    )

    async def dead_letter(record: Record, reason: str) -> None:
        await dlq.publish(
            record.value or b"", key=record.key, headers=dlq_headers(record, reason, group_id)
        )

    return dead_letter


async def store_position(app: ConsumerApplication, tp: TopicPartition) -> int:
    """The next offset of ``tp`` to apply: the tracking row holds offset + 1 of the last."""
    name = f"{tp.topic}:{tp.partition}"
    return await asyncio.to_thread(app.recorder.max_tracking_id, name) or 0


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class BatchConsumer:
    """The service's consumer group member: every topic of ``ingestors``, batch by batch."""

    def __init__(
        self,
        *,
        app: ConsumerApplication,
        kafka: KafkaConnection,
        group_id: str,
        client_id: str,
        ingestors: Mapping[str, Ingestor],
        max_records: int = MAX_RECORDS,
    ) -> None:
        self.app = app
        self.kafka = kafka
        self.group_id = group_id
        self.client_id = client_id
        self.ingestors = ingestors
        self.max_records = max_records
        # What /readyz reports: why the consumer is not applying records right now.
        self.problem: str | None = None
        self._consumer: AIOKafkaConsumer | None = None
        # Held while a batch is applied: a rebalance waits for it before the partitions
        # go to another member, so two members never apply one partition at once.
        self._applying = asyncio.Lock()
        self._to_commit: dict[TopicPartition, int] = {}
        self._commit_wanted = asyncio.Event()
        # The next offset to apply of each partition this member owns, from the store at
        # its assignment on. A partition not in it is not ours (yet): nothing is applied.
        self._next: dict[TopicPartition, int] = {}
        # aiokafka lets fetches start as soon as the group assigns partitions, before
        # the listener below has sought them to the store's positions: a batch read
        # while that was under way may come from Kafka's committed offsets instead.
        self._positioning = 0
        self._generation = 0
        # Each owned partition's fetch position after the last batch applied (metrics).
        self._fetched: dict[TopicPartition, int] = {}

    @property
    def topics(self) -> list[str]:
        return list(self.ingestors)

    def lags(self) -> dict[tuple[str, int], int]:
        """Records not applied yet of each partition this member owns (for metrics): the
        high watermark the last fetch saw, less where the consumer stands (its fetch
        position once a fetch moved it, which steps over transaction markers, else the
        store's position)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        lags: dict[tuple[str, int], int] = {}
        for tp, position in list(self._next.items()):
            highwater = consumer.highwater(tp)
            if highwater is not None:
                at = max(position, self._fetched.get(tp, position))
                lags[(tp.topic, tp.partition)] = max(0, highwater - at)
        return lags

    async def _note_positions(self, consumer: AIOKafkaConsumer) -> None:
        fetched: dict[TopicPartition, int] = {}
        for tp in list(self._next):
            if consumer.highwater(tp) is None:
                continue  # nothing fetched yet: its position may not be set
            with contextlib.suppress(Exception):
                fetched[tp] = await asyncio.wait_for(consumer.position(tp), timeout=0.1)
        self._fetched = fetched

    async def start(self) -> None:
        """Join the group (fails if Kafka does not answer); ``run`` then applies."""
        consumer = AIOKafkaConsumer(
            **self.kafka.client_options(),
            group_id=self.group_id,
            client_id=self.client_id,
            # Offsets are committed by hand, after the store; they are only a hint.
            enable_auto_commit=False,
            isolation_level="read_committed",
            # Only for a partition the store has no position for and whose offset 0
            # has gone (event topics keep everything, so not expected).
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
        )
        consumer.subscribe(self.topics, listener=_SeekToStore(self, consumer))
        await consumer.start()
        self._consumer = consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Apply batches until ``stop``; then commit what was applied and leave the group."""
        consumer = self._consumer
        if consumer is None:
            raise RuntimeError("start the consumer first")
        committer = asyncio.create_task(self._commit_loop(consumer))
        backoff = RETRY_FIRST_S
        try:
            while not stop.is_set():
                generation = self._generation
                try:
                    batches = await consumer.getmany(
                        timeout_ms=POLL_MS, max_records=self.max_records
                    )
                except ConsumerStoppedError:
                    return
                except KafkaError as exc:
                    self.problem = f"reading from Kafka: {exc!r}"
                    log.warning("consumer.kafka_error", error=repr(exc), retry_in=backoff)
                    await _pause(stop, backoff)
                    backoff = min(backoff * 2, RETRY_MAX_S)
                    continue
                if self._positioning or generation != self._generation:
                    self._read_again(consumer, batches)
                    continue
                failed = await self._apply(consumer, batches)
                if failed:
                    self.problem = failed
                    await _pause(stop, backoff)
                    backoff = min(backoff * 2, RETRY_MAX_S)
                else:
                    self.problem = None
                    backoff = RETRY_FIRST_S
                    await self._note_positions(consumer)
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await committer
            await self._commit(consumer)
            await consumer.stop()
            self._consumer = None

    async def _apply(
        self,
        consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]],
    ) -> str | None:
        """Each partition's run in one transaction; what failed, or None."""
        failures: list[str] = []
        async with self._applying:
            for tp, run in batches.items():
                if not run or tp not in self._next:
                    continue  # revoked meanwhile: its new owner reads it from the store
                try:
                    await self.ingestors[tp.topic].handle_run(run)
                except Exception as exc:
                    # The store did not move past the run (or only partly, one by one):
                    # read again from where it stands.
                    position = await self._position_or(tp, run[0].offset)
                    log.exception(
                        "consumer.run_failed", topic=tp.topic, partition=tp.partition,
                        first=run[0].offset, last=run[-1].offset, again_from=position,
                    )  # fmt: skip
                    consumer.seek(tp, position)
                    self._next[tp] = position
                    failures.append(
                        f"{tp.topic}:{tp.partition} offsets {run[0].offset}-{run[-1].offset}: "
                        f"{exc!r}; reading again from {position}"
                    )
                else:
                    self._next[tp] = self._to_commit[tp] = run[-1].offset + 1
                    self._commit_wanted.set()
        return "; ".join(failures) or None

    def _read_again(
        self,
        consumer: AIOKafkaConsumer,
        batches: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        """Drop a batch read across an assignment: it may not start at the store's
        position. Partitions already sought are read again from there, even while the
        listener is still at work on others (the dropped records moved the fetch
        position past them); the rest are sought by the listener when it gets to them."""
        for tp in batches:
            if tp in self._next:
                consumer.seek(tp, self._next[tp])

    async def _position_or(self, tp: TopicPartition, fallback: int) -> int:
        try:
            return await store_position(self.app, tp)
        except Exception:
            # The store cannot say; the run's first offset is no further than it
            # (everything before the run was applied), so reading from there is safe.
            return fallback

    async def assigned(self, consumer: AIOKafkaConsumer, tps: set[TopicPartition]) -> None:
        """Seek each newly assigned partition to the store's position."""
        self._positioning += 1
        try:
            backoff = RETRY_FIRST_S
            for tp in sorted(tps):
                while True:
                    try:
                        position = await store_position(self.app, tp)
                        break
                    except Exception as exc:
                        # Not Kafka's committed offset instead: it may be ahead of the store.
                        self.problem = f"reading the store's position of {tp}: {exc!r}"
                        log.warning("consumer.position_unknown", tp=str(tp), retry_in=backoff)
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, RETRY_MAX_S)
                consumer.seek(tp, position)
                self._next[tp] = position
                self._to_commit.pop(tp, None)
                log.info(
                    "consumer.assigned", topic=tp.topic, partition=tp.partition, position=position
                )
        finally:
            self._generation += 1
            self._positioning -= 1

    async def revoked(self, tps: set[TopicPartition]) -> None:
        # Wait for the batch being applied, if any: its partitions are about to move.
        async with self._applying:
            for tp in tps:
                self._next.pop(tp, None)

    async def _commit_loop(self, consumer: AIOKafkaConsumer) -> None:
        # One commit in flight at a time; whatever runs were applied meanwhile go with
        # the next. The store never waits for Kafka's answer.
        while True:
            await self._commit_wanted.wait()
            self._commit_wanted.clear()
            await self._commit(consumer)

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        offsets, self._to_commit = self._to_commit, {}
        assigned = consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # Harmless: the store says where each partition stands.
            log.info("consumer.commit_failed", error=repr(exc))


class _SeekToStore(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka calls this after an assignment and before it fetches anything for it."""

    def __init__(self, owner: BatchConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._owner.assigned(self._consumer, assigned)
