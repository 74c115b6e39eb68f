"""Rebuilding a service's state from a topic's first offset."""

from __future__ import annotations

from dataclasses import dataclass

from csc_messaging.ingest import Ingestor
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_to_end


@dataclass
class ReplayResult:
    records: int
    counts: dict[str, int]


async def replay_topic(
    kafka: KafkaConnection | str, topic: str, ingestor: Ingestor
) -> ReplayResult:
    """Apply every committed record of ``topic``, from offset 0 to its end when we began."""
    records = 0
    async for record in read_to_end(kafka, topic):
        await ingestor.handle(record)
        records += 1
    return ReplayResult(records=records, counts=dict(ingestor.stats.counts))
