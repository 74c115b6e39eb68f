"""FastStream wiring of a consumer: one subscriber and one DLQ publisher per topic."""

from __future__ import annotations

from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

from csc_messaging.ingest import Ingestor, Record

DLQ_REASON = "csc_dlq_reason"


async def _raw_body(msg: StreamMessage[Any]) -> bytes:
    # The body is parsed by the ingestor, which knows what to do with garbage;
    # FastStream's own JSON decoding would fail before our handler ran.
    return msg.body


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


def subscribe(
    broker: KafkaBroker,
    *,
    topic: str,
    group_id: str,
    ingestor_factory: Any,
) -> Ingestor:
    """Subscribe ``group_id`` to ``topic``; records that cannot be read go to ``<topic>.dlq``."""
    dlq = broker.publisher(
        f"{topic}.dlq",
        title=f"{topic}.dlq:{group_id}",
        description="Records this consumer could not read, with the reason in csc_dlq_reason.",
    )

    async def dead_letter(record: Record, reason: str) -> None:
        await dlq.publish(
            record.value or b"", key=record.key, headers=dlq_headers(record, reason, group_id)
        )

    ingestor: Ingestor = ingestor_factory(dead_letter)

    async def on_topic(body: bytes, msg: KafkaMessage) -> None:
        await ingestor.handle(msg.raw_message)  # type: ignore[arg-type]

    # One handler per topic, named on_<topic> (it names the operation in AsyncAPI).
    on_topic.__name__ = on_topic.__qualname__ = "on_" + topic.replace(".", "_").replace("-", "_")
    broker.subscriber(
        topic,
        group_id=group_id,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_body,
        title=f"{topic}:{group_id}",
    )(on_topic)
    return ingestor
