from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from csc_devkit import localkafka
from csc_devkit.localkafka import (
    LocalKafka,
    LocalKafkaError,
    _parse_java_major,
    _random_cluster_id,
)
from csc_messaging.topology import TopicSpec, create_topics


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_parse_java_major() -> None:
    assert _parse_java_major('openjdk version "17.0.15" 2025-04-15') == 17
    assert _parse_java_major('java version "1.8.0_292"') == 8
    assert _parse_java_major('openjdk version "21" 2023-09-19') == 21
    assert _parse_java_major("garbage") is None


def test_cluster_id_is_kafka_uuid() -> None:
    for _ in range(200):
        cluster_id = _random_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")


def test_server_properties_are_single_node(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path, port=19092, controller_port=19093)
    props = broker.server_properties()
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["share.coordinator.state.topic.replication.factor"] == "1"
    assert props["log.dirs"] == str(tmp_path / "logs")


@pytest.mark.integration
async def test_transactional_producer_commits(kafka_bootstrap: str) -> None:
    topic = _unique("devkit-tx")
    assert await create_topics(kafka_bootstrap, [TopicSpec(topic)]) == [topic]
    # Creating it again must be a no-op, not an error.
    assert await create_topics(kafka_bootstrap, [TopicSpec(topic)]) == []

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id=_unique("devkit-producer"),
        enable_idempotence=True,
        acks="all",
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted", key=b"k")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed", key=b"k")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=_unique("devkit-group"),
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
        assert message.value == b"committed"
        assert message.key == b"k"
        # The aborted record precedes the committed one on the same partition, so a
        # read_committed consumer that got "committed" first has skipped it.
        more = await consumer.getmany(timeout_ms=500)
        assert not any(records for records in more.values())
    finally:
        await consumer.stop()


@pytest.mark.integration
async def test_broker_restarts_on_same_data_dir(tmp_path: Path) -> None:
    topic = _unique("devkit-keep")
    with LocalKafka(tmp_path) as broker:
        await create_topics(broker.bootstrap_servers, [TopicSpec(topic, 1)])
    assert not broker.is_running()
    # New ports on the second start; the formatted storage and the topic must survive.
    with LocalKafka(tmp_path) as broker:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            assert topic in await admin.list_topics()
        finally:
            await admin.close()


@pytest.mark.integration
def test_start_failure_reports_log_tail(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path, config={"num.partitions": "not-a-number"})
    with pytest.raises(LocalKafkaError, match=r"num\.partitions"):
        broker.start(timeout=60)
    assert not broker.is_running()


@pytest.mark.integration
def test_taken_port_is_reported_or_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]

        with pytest.raises(LocalKafkaError, match="is taken"):
            LocalKafka(tmp_path / "explicit", port=taken).start(timeout=60)

        # Auto-picked ports can lose a race with another process; start() retries.
        picks = iter([[taken, localkafka.free_port()]])
        real_free_ports = localkafka._free_ports
        monkeypatch.setattr(
            localkafka, "_free_ports", lambda count: next(picks, None) or real_free_ports(count)
        )
        with LocalKafka(tmp_path / "auto") as broker:
            assert broker.port != taken
