"""The topics the system needs, with the settings they are created with.

In Kubernetes these are Strimzi ``KafkaTopic`` resources; locally and in tests
``ensure_topics`` creates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from csc_contracts import SERVICES, Topics


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(topics: Topics, partitions: int = 3) -> list[TopicSpec]:
    # Event topics are the system of record for subscribers and auditors: kept forever.
    forever = {"retention.ms": "-1", "retention.bytes": "-1"}
    specs: list[TopicSpec] = []
    for service in SERVICES:
        name = topics.events(service)
        specs.append(TopicSpec(name, partitions, dict(forever)))
        specs.append(TopicSpec(topics.dlq(name), 1, dict(forever)))
    specs.append(
        TopicSpec(
            topics.relay_offsets,
            1,
            {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
        )
    )
    return specs


async def ensure_topics(
    bootstrap_servers: str, topics: Topics, partitions: int = 3, replication_factor: int = 1
) -> list[str]:
    """Create what is missing; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in topic_specs(topics, partitions) if s.name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            name=s.name,
                            num_partitions=s.partitions,
                            replication_factor=replication_factor,
                            topic_configs=s.config,
                        )
                        for s in missing
                    ]
                )
            except TopicAlreadyExistsError:
                pass
        return [s.name for s in missing]
    finally:
        await admin.close()


async def partitions_of(bootstrap_servers: str, topic: str) -> list[int]:
    """The partition numbers of ``topic``; an error naming it when it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for d in described for p in d.get("partitions", ()))
    if not partitions:
        raise RuntimeError(
            f"topic {topic} does not exist on {bootstrap_servers}; "
            "create the topics first (`csc topics create`)"
        )
    return partitions
