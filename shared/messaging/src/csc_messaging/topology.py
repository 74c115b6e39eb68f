"""The topics the system needs, with the settings they are created with.

In Kubernetes these are Strimzi ``KafkaTopic`` resources; locally and in tests
``ensure_topics`` creates them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from csc_contracts import JOURNALED, SERVICES, Topics
from csc_messaging.kafka_conn import KafkaConnection

_TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(topics: Topics, partitions: int = 3) -> list[TopicSpec]:
    # Event topics are the system of record for subscribers and auditors: kept forever.
    forever = {"retention.ms": "-1", "retention.bytes": "-1"}
    specs: list[TopicSpec] = []
    for service in SERVICES:
        name = topics.events(service)
        specs.append(TopicSpec(name, partitions, dict(forever)))
        specs.append(TopicSpec(topics.dlq(name), 1, dict(forever)))
    # A journal is the only copy of a consumer's own decisions outside its store: kept
    # forever, one partition so the log keeps its order.
    specs.extend(TopicSpec(topics.journal(service), 1, dict(forever)) for service in JOURNALED)
    specs.append(
        TopicSpec(
            topics.relay_offsets,
            1,
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
        )
    )
    # Every checkpoint is evidence (csc audit verify compares each): not compacted, one
    # partition so they stay in the order written.
    specs.append(TopicSpec(topics.audit, 1, dict(forever)))
    return specs


async def ensure_topics(
    kafka: KafkaConnection | str,
    topics: Topics,
    partitions: int = 3,
    replication_factor: int = 1,
) -> list[str]:
    """Create every topic the system needs that is missing; returns the names created."""
    return await create_topics(
        kafka, topic_specs(topics, partitions), replication_factor=replication_factor
    )


async def create_topics(
    kafka: KafkaConnection | str,
    specs: Sequence[TopicSpec],
    *,
    replication_factor: int = 1,
    timeout_ms: int = 30_000,
) -> list[str]:
    """Create topics, leaving existing ones alone; returns the names actually created.

    Retries what the broker calls retriable (a controller still starting), then
    waits until every partition has a leader, so producers can use them at once.
    """
    if not specs:
        return []
    deadline = time.monotonic() + timeout_ms / 1000
    created: list[str] = []
    admin = AIOKafkaAdminClient(
        **KafkaConnection.of(kafka).client_options(), client_id="csc-topics"
    )
    await admin.start()
    try:
        pending = {spec.name: spec for spec in specs}
        while pending:
            response = await admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.config)
                    for s in pending.values()
                ],
                timeout_ms=timeout_ms,
            )
            retry: dict[str, TopicSpec] = {}
            for entry in response.topic_errors:
                name, code = entry[0], entry[1]
                message = entry[2] if len(entry) > 2 else None
                if code == 0:
                    created.append(name)
                elif code == _TOPIC_ALREADY_EXISTS:
                    pass
                elif for_code(code).retriable and time.monotonic() < deadline:
                    retry[name] = pending[name]
                else:
                    raise for_code(code)(f"creating topic {name!r}: {message or code}")
            pending = retry
            if pending:
                await asyncio.sleep(0.2)
        await _wait_for_leaders(admin, [s.name for s in specs], deadline)
    finally:
        await admin.close()
    return created


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], deadline: float) -> None:
    while True:
        described = await admin.describe_topics(names)
        if all(
            topic["error_code"] == 0
            and topic["partitions"]
            and all(p["leader"] >= 0 for p in topic["partitions"])
            for topic in described
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics {names} have no leaders yet: {described}")
        await asyncio.sleep(0.1)


async def partitions_of(kafka: KafkaConnection | str, topic: str) -> list[int]:
    """The partition numbers of ``topic``; an error naming it when it does not exist."""
    connection = KafkaConnection.of(kafka)
    admin = AIOKafkaAdminClient(**connection.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for d in described for p in d.get("partitions", ()))
    if not partitions:
        raise RuntimeError(
            f"topic {topic} does not exist on {connection.bootstrap_servers}; "
            "create the topics first (`csc topics create`)"
        )
    return partitions
