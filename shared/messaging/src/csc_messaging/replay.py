"""Rebuilding a service's state from a topic's first offset."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from csc_messaging.ingest import Ingestor
from csc_messaging.topology import partitions_of


@dataclass
class ReplayResult:
    records: int
    counts: dict[str, int]


async def replay_topic(bootstrap_servers: str, topic: str, ingestor: Ingestor) -> ReplayResult:
    """Apply every committed record of ``topic``, from offset 0 to the end as it was when we began."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    partitions = await partitions_of(bootstrap_servers, topic)
    await consumer.start()
    records = 0
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset < end[tp]:
                        await ingestor.handle(record)
                        records += 1
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return ReplayResult(records=records, counts=dict(ingestor.stats.counts))
