"""Reading a topic from its first offset to its end, as it stands when the read begins."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.topology import partitions_of

# Large enough that a store transaction per batch costs little next to the records it
# carries, small enough that a batch of ~1 KiB records stays a few MiB.
MAX_BATCH = 2000


async def read_to_end(
    kafka: KafkaConnection | str, topic: str, *, isolation_level: str = "read_committed"
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of every partition up to the end offsets taken at the start.

    ``read_committed`` (the default) leaves out aborted transactions and stops at
    the last stable offset, so what it yields is what was really published.
    """
    async for batch in read_batches_to_end(kafka, topic, isolation_level=isolation_level):
        for record in batch:
            yield record


async def read_batches_to_end(
    kafka: KafkaConnection | str,
    topic: str,
    *,
    isolation_level: str = "read_committed",
    max_records: int = MAX_BATCH,
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """The records of ``read_to_end``, as runs of one partition's records in offset order.

    A run never mixes partitions, so whoever applies it can store it with one
    tracking position: the position of its last record.
    """
    tps = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
    consumer = AIOKafkaConsumer(
        **KafkaConnection.of(kafka).client_options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, batch in batches.items():
                run = batch if batch and batch[-1].offset < end[tp] else _before(batch, end[tp])
                if run:
                    yield run
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()


def _before(
    batch: list[ConsumerRecord[bytes, bytes]], end: int
) -> list[ConsumerRecord[bytes, bytes]]:
    return [record for record in batch if record.offset < end]
