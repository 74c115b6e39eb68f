"""A consumer's whole store log on Kafka, so that a replay restores its history exactly.

returns, capa and sla derive most of their stores from other services' events, but
not all: the timer's warnings and breaches, QC's confirmation, a pause, a PNPR's
disposition are their own decisions, and the order in which records of several topics
arrived is theirs too. No topic they consume can give those back, so each relay also
writes every notification of its store, byte for byte, to ``csc.<service>.journal``,
in the same Kafka transaction as the public records and its position (Kafka Streams
keeps a state store's changelog the same way). A replay into an empty store copies
the journal back under the same notification ids: the same events, the same digest,
the same hash chain; ``csc audit verify`` finds the store as it was published.

Which input records the restored store has applied is part of the log as well: every
transaction that applies a Kafka record (or dead-letters one) stores a
``RecordApplied`` event naming it. A restore sets each partition's tracking position
from them, and the consumer goes on from there as after any restart.

Journal records: key = the service, value = the stored state (split into parts of at
most ``PART_BYTES``), headers ``csc_n`` (notification id), ``csc_id``, ``csc_v``,
``csc_topic`` and ``csc_part`` ("i/k").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification, StoredEvent, Tracking

from csc_messaging.codec import OutgoingMessage, header_text
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_batches_to_end

# Well under the broker's 1 MiB default, with room for the headers.
PART_BYTES = 512 * 1024
_APPLIED_NAMESPACE = UUID("5b8f6d0e-1c2a-4f7e-8a43-3e9b1f0c7d25")


@dataclass(frozen=True)
class RecordApplied(DomainEvent):
    """A Kafka record this store applied (``outcome`` "applied") or dead-lettered.

    Stored in the same transaction as the events the record caused, so the log says
    which record caused what, and a restored store knows where each partition stands.
    """

    application_name: str
    notification_id: int
    outcome: str


def record_applied(tracking: Tracking, outcome: str = "applied") -> RecordApplied:
    name, position = tracking.application_name, tracking.notification_id
    return RecordApplied(
        originator_id=uuid5(_APPLIED_NAMESPACE, f"{name}@{position}"),
        originator_version=1,
        timestamp=RecordApplied.create_timestamp(),
        application_name=name,
        notification_id=position,
        outcome=outcome,
    )


def journal_messages(service: str, notification: Notification) -> list[OutgoingMessage]:
    """One notification as journal records (one, or more for a very large state)."""
    state = bytes(notification.state)
    parts = [state[i : i + PART_BYTES] for i in range(0, len(state), PART_BYTES)] or [b""]
    common = [
        ("csc_n", str(notification.id).encode()),
        ("csc_id", str(notification.originator_id).encode()),
        ("csc_v", str(notification.originator_version).encode()),
        ("csc_topic", notification.topic.encode()),
    ]
    return [
        OutgoingMessage(
            service.encode(), part, [*common, ("csc_part", f"{i}/{len(parts)}".encode())]
        )
        for i, part in enumerate(parts, start=1)
    ]


class JournalBroken(RuntimeError):
    """The journal cannot be restored as it stands (a part missing, ids out of order)."""


@dataclass
class RestoreResult:
    notifications: int = 0
    positions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"notifications": self.notifications, "positions": dict(self.positions)}


@dataclass
class _Assembling:
    n: int
    originator_id: str
    version: int
    topic: str
    parts: list[bytes]
    of: int


async def restore(app: Any, kafka: KafkaConnection | str, topic: str) -> RestoreResult:
    """Copy the journal into ``app``'s store, which must be empty; then its positions."""
    recorder = app.recorder
    if await asyncio.to_thread(recorder.max_notification_id):
        raise JournalBroken("a journal is restored into an empty store only")
    result = RestoreResult()
    assembling: _Assembling | None = None
    batch: list[Notification] = []
    applied_topic = f"{RecordApplied.__module__}:{RecordApplied.__qualname__}"

    async def flush() -> None:
        if batch:
            await asyncio.to_thread(_insert, recorder, list(batch))
            result.notifications += len(batch)
            batch.clear()

    async for run in read_batches_to_end(kafka, topic):
        for record in run:
            headers = list(record.headers or ())
            n = int(header_text(headers, "csc_n") or 0)
            index, of = (int(x) for x in (header_text(headers, "csc_part") or "1/1").split("/"))
            if index == 1:
                if assembling is not None:
                    raise JournalBroken(f"notification {assembling.n} lacks a part")
                assembling = _Assembling(
                    n,
                    header_text(headers, "csc_id") or "",
                    int(header_text(headers, "csc_v") or 0),
                    header_text(headers, "csc_topic") or "",
                    [],
                    of,
                )
            if assembling is None or assembling.n != n or index != len(assembling.parts) + 1:
                raise JournalBroken(f"journal offset {record.offset}: a part out of order")
            assembling.parts.append(record.value or b"")
            if index < of:
                continue
            done, assembling = assembling, None
            notification = Notification(
                id=done.n,
                originator_id=_originator(done.originator_id),
                originator_version=done.version,
                topic=done.topic,
                state=b"".join(done.parts),
            )
            if done.topic == applied_topic:
                event = app.mapper.to_domain_event(notification)
                name, position = event.application_name, event.notification_id
                result.positions[name] = max(result.positions.get(name, 0), position)
            batch.append(notification)
            if len(batch) >= 1000:
                await flush()
    if assembling is not None:
        raise JournalBroken(f"notification {assembling.n} lacks its last part")
    await flush()
    for name, position in result.positions.items():
        await asyncio.to_thread(recorder.insert_tracking, Tracking(name, position))
    return result


def _originator(raw: str) -> UUID | str:
    try:
        return UUID(raw)
    except ValueError:
        return raw


def _insert(recorder: Any, notifications: Sequence[Notification]) -> None:
    """Store ``notifications`` under their own ids (in order; PostgreSQL may have gaps)."""
    start = 0
    while start < len(notifications):
        expected = (recorder.max_notification_id() or 0) + 1
        first = notifications[start].id
        if first != expected:
            if first < expected or not hasattr(recorder.datastore, "schema"):
                raise JournalBroken(f"notification {first} follows {expected - 1} in the journal")
            _skip_to(recorder, first)
        end = start + 1
        while end < len(notifications) and notifications[end].id == notifications[end - 1].id + 1:
            end += 1
        stored = [
            StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
            for n in notifications[start:end]
        ]
        ids = recorder.insert_events(stored)
        if ids is not None and list(ids) != [n.id for n in notifications[start:end]]:
            raise JournalBroken(f"the store numbered notifications {first}.. differently")
        start = end


def _skip_to(recorder: Any, notification_id: int) -> None:
    """PostgreSQL: the next notification id is ``notification_id`` (the live store's
    sequence skipped numbers where a transaction rolled back)."""
    from psycopg.sql import SQL, Identifier, Literal

    datastore = recorder.datastore
    table = SQL("{}.{}").format(
        Identifier(datastore.schema), Identifier(recorder.events_table_name)
    )
    with datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL("SELECT setval(pg_get_serial_sequence({}, 'notification_id'), {})").format(
                Literal(table.as_string(None)), Literal(notification_id - 1)
            )
        )
