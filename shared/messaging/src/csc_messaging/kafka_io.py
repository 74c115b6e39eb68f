"""Reading a topic from its first offset to its end, as it stands when the read begins."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.topology import partitions_of


async def read_to_end(
    kafka: KafkaConnection | str, topic: str, *, isolation_level: str = "read_committed"
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record of every partition up to the end offsets taken at the start.

    ``read_committed`` (the default) leaves out aborted transactions and stops at
    the last stable offset, so what it yields is what was really published.
    """
    tps = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
    consumer = AIOKafkaConsumer(
        **KafkaConnection.of(kafka).client_options(),
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
        auto_offset_reset="earliest",
        max_poll_records=2000,
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
                for record in batch:
                    if record.offset < end[tp]:
                        yield record
            for tp in list(pending):
                if await consumer.position(tp) >= end[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
