"""One consumer's dead letters, and applying them again once their cause is fixed.

A record a consumer could not apply went to ``<topic>.dlq`` with the reason and
its source position in headers (``csc_messaging.consumer.dlq_headers``), and the
consumer went on. ``redrive`` applies this consumer's dead letters in DLQ order
(DLQ topic by topic, in the order the consumer subscribes), each at most once:
the dead letter's own position (``<topic>.dlq:<partition>``, offset) is the
tracking record stored with the events it causes, exactly as a live record's
is. It stops at the first one that still fails, so nothing is applied past it
out of order; ``skip`` passes over a dead letter no fix will make readable,
recorded as a tracking position that caused no events. A second copy of the
same source record (dead-lettered twice, say after a crash) is a ``duplicate``:
recorded as passed over, never applied twice.

A replay from offset 0 reads the source topics, not the DLQ: it applies, from
their source records, the letters the running release can now read, and a
redrive after it would apply those a second time. After a replay, pass such
letters over with ``--skip`` (a later release may record which source
positions a replay applied, so the redrive can tell by itself).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking

from csc_messaging.application import ConsumerApplication
from csc_messaging.codec import PoisonMessage, decode, event_type_of, header_text
from csc_messaging.consumer import DLQ_REASON
from csc_messaging.ingest import Record, header_pairs, tracking_for
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_to_end
from csc_messaging.topology import partitions_of

DLQ_HEADER_PREFIX = "csc_dlq_"


@dataclass
class DeadLetter:
    """One dead letter of one consumer, and where it stands.

    ``status``: ``pending`` (not applied yet), ``done`` (applied, or skipped, before),
    ``duplicate`` (a copy of an earlier letter's source record), and after a redrive
    ``applied``, ``skipped``, ``failing`` (``detail`` says why) or ``blocked`` (an
    earlier one still fails).
    """

    id: str
    source: str
    event_type: str | None
    reason: str
    status: str
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        text = f"{self.id}  {self.event_type or '?'}  from {self.source}  {self.status}"
        text += f"\n    dead-lettered: {self.reason}"
        if self.detail:
            text += f"\n    now: {self.detail}"
        return text


def letter_id(record: Record) -> str:
    return f"{record.topic}:{record.partition}@{record.offset}"


def original_headers(record: Record) -> list[tuple[str, bytes]]:
    """The source record's headers, without what the DLQ added."""
    return [(k, v) for k, v in header_pairs(record.headers) if not k.startswith(DLQ_HEADER_PREFIX)]


def _header(record: Record, name: str) -> str | None:
    return header_text(header_pairs(record.headers), name)


async def read_dead_letters(
    kafka: KafkaConnection | str, dlq_topic: str, consumer: str
) -> list[Record]:
    """``consumer``'s records on ``dlq_topic``, in partition and offset order; none when the
    DLQ does not exist yet."""
    try:
        await partitions_of(kafka, dlq_topic)
    except RuntimeError:
        return []
    found = [
        r async for r in read_to_end(kafka, dlq_topic) if _header(r, "csc_dlq_consumer") == consumer
    ]
    return sorted(found, key=lambda r: (r.partition, r.offset))


def describe(app: ConsumerApplication, record: Record) -> DeadLetter:
    tracking = tracking_for(record)
    done = app.recorder.has_tracking_id(tracking.application_name, tracking.notification_id)
    source = "{}:{}@{}".format(
        _header(record, "csc_dlq_topic"),
        _header(record, "csc_dlq_partition"),
        _header(record, "csc_dlq_offset"),
    )
    return DeadLetter(
        id=letter_id(record),
        source=source,
        event_type=event_type_of(original_headers(record)),
        reason=_header(record, DLQ_REASON) or "",
        status="done" if done else "pending",
    )


def describe_all(app: ConsumerApplication, records: Iterable[Record]) -> list[DeadLetter]:
    """Where each dead letter stands, without changing anything."""
    letters: list[DeadLetter] = []
    first: dict[str, str] = {}
    for record in records:
        letter = describe(app, record)
        earlier = first.setdefault(letter.source, letter.id)
        if earlier != letter.id and letter.status == "pending":
            letter.status, letter.detail = "duplicate", f"the same source record as {earlier}"
        letters.append(letter)
    return letters


def redrive(
    app: ConsumerApplication, records: Iterable[Record], skip: frozenset[str] = frozenset()
) -> list[DeadLetter]:
    """Apply the pending dead letters in order; stop at the first that still fails."""
    records = list(records)
    letters = describe_all(app, records)
    failed = False
    for record, letter in zip(records, letters, strict=True):
        if letter.status == "done":
            continue
        if failed:
            letter.status = "blocked"
            continue
        tracking = tracking_for(record)
        if letter.status == "duplicate":
            _skip(app, tracking)  # recorded as passed over: never applied twice
            continue
        if letter.id in skip:
            _skip(app, tracking)
            letter.status = "skipped"
            continue
        letter.status, letter.detail = _apply(app, record, tracking)
        failed = letter.status == "failing"
    return letters


def _skip(app: ConsumerApplication, tracking: Tracking) -> None:
    with contextlib.suppress(IntegrityError):  # skipped (or applied) by someone else meanwhile
        app.recorder.insert_tracking(tracking)


def _apply(app: ConsumerApplication, record: Record, tracking: Tracking) -> tuple[str, str | None]:
    headers = original_headers(record)
    try:
        event = decode(headers, record.key, record.value)
    except PoisonMessage as exc:
        return "failing", exc.reason
    if event is None:
        return "failing", f"this consumer does not know event type {event_type_of(headers)}"
    try:
        app.apply_public(event, tracking)
    except IntegrityError as exc:
        if app.recorder.has_tracking_id(tracking.application_name, tracking.notification_id):
            return "done", "applied by someone else meanwhile"
        return "failing", f"conflicts with a concurrent write, run again: {exc!r}"
    except PersistenceError:
        raise  # the store is unwell: nothing was recorded; run again later
    except Exception as exc:
        return "failing", f"{event.event_type()} {event.event_id} could not be applied: {exc!r}"
    return "applied", None


async def redrive_topics(
    app: ConsumerApplication,
    kafka: KafkaConnection | str,
    dlq_topics: Iterable[str],
    consumer: str,
    *,
    apply: bool,
    skip: frozenset[str] = frozenset(),
) -> list[DeadLetter]:
    """List (``apply=False``) or redrive ``consumer``'s dead letters on ``dlq_topics``, in
    that order: a letter still failing on one topic blocks the next topics' too."""
    records = [r for topic in dlq_topics for r in await read_dead_letters(kafka, topic, consumer)]
    unknown = skip - {letter_id(r) for r in records}
    if unknown:
        raise LookupError(f"no such dead letter: {', '.join(sorted(unknown))}")
    if not apply:
        return describe_all(app, records)
    return await asyncio.to_thread(redrive, app, records, skip)
