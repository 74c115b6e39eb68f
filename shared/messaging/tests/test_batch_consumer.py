"""The live consumer on a real broker: the store says where each partition starts, a
store error loses no run, and a backlog goes in a few transactions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import singledispatchmethod
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import PersistenceError, Tracking

from csc_contracts import ComplaintLogged
from csc_messaging.application import ConsumerApplication
from csc_messaging.codec import encode
from csc_messaging.consumer import BatchConsumer
from csc_messaging.ingest import Ingestor
from csc_messaging.journal import RecordApplied
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_messaging.topology import TopicSpec, create_topics

pytestmark = pytest.mark.integration

PARTITIONS = 3


class Case(Aggregate):
    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    @event("Opened")
    def __init__(self, case_id: UUID) -> None:
        pass


class Cases(ConsumerApplication):
    """A case per complaint; the store refuses the first ``failures`` transactions."""

    name = "cases"
    failures = 0

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if self.failures:
            self.failures -= 1
            raise PersistenceError("the disk is full")
        super().process_event(domain_event, tracking)

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Nothing else matters here."""

    @react.register
    def _(self, e: ComplaintLogged, pe: ProcessingEvent[UUID]) -> None:
        if self.find(Case.create_id(e.case_id), Case) is None:
            pe.collect_events(Case(case_id=e.case_id))


def complaint(n: int) -> ComplaintLogged:
    return ComplaintLogged.model_validate(
        {
            "event_id": str(uuid.uuid4()),
            "case_id": str(uuid.UUID(int=n + 1)),
            "occurred_at": datetime.now(UTC).isoformat(),
            "actor": {"user": "li.wei", "department": "marketing"},
            "category": "quality",
            "channel": "phone",
            "receiving_department": "marketing",
            "received_at": datetime.now(UTC).isoformat(),
            "customer": {"code": "OEM-001"},
            "text": f"complaint {n}",
        }
    )


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:
    name = f"t{uuid.uuid4().hex[:10]}.csc.intake.v1"
    await create_topics(kafka_bootstrap, [TopicSpec(name, PARTITIONS)])
    return name


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Cases]:
    settings = ServiceSettings(store="sqlite", data_dir=tmp_path)
    cases = Cases(env=eventsourcing_env(settings, "cases"))
    yield cases
    cases.close()


async def produce(bootstrap: str, topic: str, count: int, first: int = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(first, first + count):
            message = encode(complaint(n))
            await producer.send(topic, message.value, key=message.key, headers=message.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def commit_group(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


class Running:
    def __init__(self, consumer: BatchConsumer, ingestor: Ingestor) -> None:
        self.consumer, self.ingestor = consumer, ingestor
        self.problems: list[str] = []

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(60):
            while not done():
                if self.consumer.problem:
                    self.problems.append(self.consumer.problem)
                await asyncio.sleep(0.05)


async def consume(
    app: Cases, bootstrap: str, topic: str, group: str, done: Callable[[Running], bool]
) -> Running:
    ingestor = Ingestor(app, None)
    consumer = BatchConsumer(
        app=app,
        kafka=KafkaConnection(bootstrap),
        group_id=group,
        client_id="test",
        ingestors={topic: ingestor},
    )
    running = Running(consumer, ingestor)
    stop = asyncio.Event()
    await consumer.start()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await running.until(lambda: done(running))
    finally:
        stop.set()
        await task
    return running


def positions(app: Cases, topic: str) -> dict[TopicPartition, int]:
    return {
        TopicPartition(topic, p): app.recorder.max_tracking_id(f"{topic}:{p}") or 0
        for p in range(PARTITIONS)
    }


def stored(app: Cases) -> tuple[int, int]:
    """(cases opened, transactions that applied records) in the whole log."""
    notifications = app.recorder.select_notifications(start=1, limit=100_000)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    applied = sum(isinstance(e, RecordApplied) for e in events)
    return len(events) - applied, applied


async def test_a_backlog_goes_in_far_fewer_transactions_than_records(
    app: Cases, kafka_bootstrap: str, topic: str
) -> None:
    await produce(kafka_bootstrap, topic, 600)
    end = await end_offsets(kafka_bootstrap, topic)
    running = await consume(
        app, kafka_bootstrap, topic, "g-backlog", lambda _: positions(app, topic) == end
    )
    opened, transactions = stored(app)
    assert opened == 600
    assert transactions <= 600 / 20, f"{transactions} transactions for 600 records"
    assert running.ingestor.stats.counts["applied"] == 600


async def test_a_store_error_loses_no_run_and_applies_none_twice(
    app: Cases, kafka_bootstrap: str, topic: str
) -> None:
    await produce(kafka_bootstrap, topic, 200)
    end = await end_offsets(kafka_bootstrap, topic)
    app.failures = 3
    running = await consume(
        app, kafka_bootstrap, topic, "g-store-error", lambda _: positions(app, topic) == end
    )
    assert app.failures == 0
    assert any("the disk is full" in problem for problem in running.problems)
    assert running.consumer.problem is None  # /readyz is ready again
    assert stored(app)[0] == 200
    assert running.ingestor.stats.counts["applied"] == 200


async def test_kafka_offsets_behind_the_store_read_nothing_twice(
    app: Cases, kafka_bootstrap: str, topic: str
) -> None:
    await produce(kafka_bootstrap, topic, 90)
    first = await end_offsets(kafka_bootstrap, topic)
    await consume(app, kafka_bootstrap, topic, "g-behind", lambda _: positions(app, topic) == first)
    # The group's offsets back at 0 (a reset, or commits that never arrived).
    await commit_group(kafka_bootstrap, "g-behind", dict.fromkeys(first, 0))
    await produce(kafka_bootstrap, topic, 30, first=90)
    end = await end_offsets(kafka_bootstrap, topic)
    running = await consume(
        app, kafka_bootstrap, topic, "g-behind", lambda _: positions(app, topic) == end
    )
    # Read from the store's positions: not one of the 90 again, each of the 30 once.
    assert running.ingestor.stats.counts["duplicate"] == 0
    assert running.ingestor.stats.counts["applied"] == 30
    assert stored(app)[0] == 120


async def test_kafka_offsets_ahead_of_the_store_skip_nothing(
    app: Cases, kafka_bootstrap: str, topic: str
) -> None:
    await produce(kafka_bootstrap, topic, 60)
    end = await end_offsets(kafka_bootstrap, topic)
    # The group says everything was read; the store (restored from an older state,
    # here an empty one) has none of it.
    await commit_group(kafka_bootstrap, "g-ahead", end)
    running = await consume(
        app, kafka_bootstrap, topic, "g-ahead", lambda _: positions(app, topic) == end
    )
    assert running.ingestor.stats.counts["applied"] == 60
    assert stored(app)[0] == 60
    # Offsets are committed after the store, so the group's lag shows it caught up.
    committed = await committed_offsets(kafka_bootstrap, "g-ahead", list(end))
    assert committed == end


async def committed_offsets(
    bootstrap: str, group: str, tps: list[TopicPartition]
) -> dict[TopicPartition, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()


class Seeks:
    """Stands in for the aiokafka consumer where only its seeks matter."""

    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


def test_a_batch_read_while_the_listener_is_still_at_work_is_read_again(app: Cases) -> None:
    # The listener has sought partition 0 to the store and is reading the store's
    # position of partition 1 when a batch of both comes back. Partition 0's records
    # were read from the store's position: dropping them without seeking back would
    # leave them unread until the next rebalance.
    consumer = BatchConsumer(
        app=app, kafka=KafkaConnection("127.0.0.1:9"), group_id="g", client_id="t",
        ingestors={"t": Ingestor(app, None)},
    )  # fmt: skip
    p0, p1 = TopicPartition("t", 0), TopicPartition("t", 1)
    consumer._positioning, consumer._next = 1, {p0: 32}
    seeks = Seeks()
    consumer._read_again(seeks, {p0: [], p1: []})
    assert seeks.seeks == [(p0, 32)]  # p1 is the listener's to seek, when it gets there
