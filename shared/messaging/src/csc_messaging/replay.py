"""Rebuilding a service's state from a topic's first offset."""

from __future__ import annotations

from dataclasses import dataclass

from csc_messaging.ingest import Ingestor
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_batches_to_end


@dataclass
class ReplayResult:
    records: int
    counts: dict[str, int]


async def replay_topic(
    kafka: KafkaConnection | str, topic: str, ingestor: Ingestor
) -> ReplayResult:
    """Apply every committed record of ``topic``, from offset 0 to its end when we began.

    Records are applied a partition's run at a time, one store transaction per run:
    a transaction per record would make the store's commits, not the records, the cost
    of a rebuild.
    """
    records = 0
    async for run in read_batches_to_end(kafka, topic):
        await ingestor.handle_run(run)
        records += len(run)
    return ReplayResult(records=records, counts=dict(ingestor.stats.counts))
