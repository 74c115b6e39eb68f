"""Rebuilding a service's state from a topic's first offset, on the live consumer's path.

Each partition has a worker of its own, reading from offset 0 to the partition's end
as it stood when the replay began, and applying each run through
``Ingestor.handle_run``: one store transaction per run, as the live consumer applies
a batch. Partitions are independent (each has its own tracking row), so their
workers run side by side; where two partitions' records touch one aggregate, the
store's optimistic concurrency refuses the later run and ``handle_run`` applies it
again record by record. Records the store already holds (a journal restored first)
are read and counted as duplicates, not applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from csc_messaging.ingest import Ingestor
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import MAX_BATCH
from csc_messaging.topology import partitions_of

log = structlog.get_logger(__name__)

# A run that fails on a store error is tried again this many times, then the replay
# stops (and can be run again: nothing it applied is applied twice).
RUN_ATTEMPTS = 6


class Progress(Protocol):
    """Told how many offsets a topic's replay covers; returns what to call as it goes."""

    def topic(self, topic: str, total: int) -> Callable[[int], None]: ...


@dataclass
class ReplayResult:
    records: int
    counts: dict[str, int]


async def replay_topic(
    kafka: KafkaConnection | str,
    topic: str,
    ingestor: Ingestor,
    *,
    progress: Progress | None = None,
    max_records: int = MAX_BATCH,
) -> ReplayResult:
    """Apply every committed record of ``topic``, from offset 0 to its end when we began.

    Records are applied a partition's run at a time, one store transaction per run:
    a transaction per record would make the store's commits, not the records, the cost
    of a rebuild.
    """
    connection = KafkaConnection.of(kafka)
    tps = [TopicPartition(topic, p) for p in await partitions_of(connection, topic)]
    begin, end = await _bounds(connection, tps)
    advance = progress.topic(topic, sum(end[tp] - begin[tp] for tp in tps)) if progress else None
    counts = await asyncio.gather(
        *(
            _replay_partition(connection, tp, end[tp], ingestor, advance, max_records)
            for tp in tps
            if end[tp] > begin[tp]
        )
    )
    return ReplayResult(records=sum(counts), counts=dict(ingestor.stats.counts))


async def _bounds(
    kafka: KafkaConnection, tps: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    consumer = AIOKafkaConsumer(
        **kafka.client_options(), group_id=None, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        # read_committed: the end is the last stable offset, what was really published.
        return await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    finally:
        await consumer.stop()


async def _replay_partition(
    kafka: KafkaConnection,
    tp: TopicPartition,
    end: int,
    ingestor: Ingestor,
    advance: Callable[[int], None] | None,
    max_records: int,
) -> int:
    """One partition's worker: its runs, in offset order, up to ``end``."""
    consumer = AIOKafkaConsumer(
        **kafka.client_options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        # The whole partition is read: fetch as much as a run holds in one go.
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    records = 0
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        done = await consumer.position(tp)
        while done < end:
            batches = await consumer.getmany(tp, timeout_ms=500, max_records=max_records)
            run = [r for r in batches.get(tp, ()) if r.offset < end]
            if run:
                await _apply(ingestor, run)
                records += len(run)
            position = min(await consumer.position(tp), end)
            if advance is not None and position > done:
                advance(position - done)
            done = position
    finally:
        await consumer.stop()
    return records


async def _apply(ingestor: Ingestor, run: list[ConsumerRecord[bytes, bytes]]) -> None:
    delay = 0.5
    for attempt in range(1, RUN_ATTEMPTS + 1):
        try:
            await ingestor.handle_run(run)
            return
        except Exception:
            # The store did not move past the run: the same run again, as the live
            # consumer reads it again from the store's position.
            if attempt == RUN_ATTEMPTS:
                raise
            log.exception(
                "replay.run_failed", topic=run[0].topic, partition=run[0].partition,
                first=run[0].offset, attempt=attempt, retry_in=delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            delay *= 2
