"""Reading the public history back from Kafka, as an auditor does: the topics, nothing else.

No service's store is consulted: what was published is the record (README,
"Events, not tables, are the record"). A topic may hold millions of events,
so records are filtered on what Kafka gives without decoding (the key, which
is the case id, and the ``ce_*`` headers) and only the wanted ones are parsed;
callers fold them as they stream past instead of collecting them.

Every record is kept as it was published: an event type this version does
not know, or a body its contract refuses, still reaches the auditor, with the
raw JSON body and the reason it could not be read as a known event.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from csc_contracts import EVENT_TYPES, SERVICES, PublicEvent, Topics
from csc_messaging.kafka_conn import KafkaConnection
from csc_messaging.kafka_io import read_batches_to_end
from csc_messaging.topology import partitions_of

ENVELOPE = ("event_id", "case_id", "occurred_at", "actor")
"""Fields every public event carries; what an event *says* is everything else."""

RawRecord: TypeAlias = "ConsumerRecord[bytes, bytes]"
Wanted: TypeAlias = "Callable[[RawRecord], bool]"


# One record ------------------------------------------------------------------------------


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def headers_of(record: RawRecord) -> dict[str, str]:
    return {name: _text(value) or "" for name, value in record.headers or ()}


def header(record: RawRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return _text(value)
    return None


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class AuditRecord:
    """One published record: where it sits in Kafka, what it carried, and what it means."""

    service: str
    topic: str
    partition: int
    offset: int
    key: str | None
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    """The JSON body; ``{"raw": text}`` when it is not a JSON object."""
    value_sha256: str
    """Of the record's value as published, to match a bundle's line with the topic later."""
    event: PublicEvent | None = None
    """The body as its contract reads it; None for an unknown type or an unreadable body."""
    problem: str | None = None

    @property
    def ce_type(self) -> str | None:
        return self.headers.get("ce_type")

    @property
    def name(self) -> str:
        """The event's name: ``ComplaintLogged`` for ``csc.intake.ComplaintLogged.v1``."""
        parts = (self.ce_type or "").split(".")
        return parts[2] if len(parts) == 4 else (self.ce_type or "(no ce_type)")

    @property
    def known(self) -> bool:
        return self.ce_type in EVENT_TYPES

    @property
    def case_id(self) -> str | None:
        value = self.body.get("case_id")
        return str(value) if value is not None else self.key

    @property
    def occurred_at(self) -> datetime | None:
        if self.event is not None:
            return self.event.occurred_at
        return parse_time(self.body.get("occurred_at")) or parse_time(self.headers.get("ce_time"))

    @property
    def actor(self) -> Mapping[str, Any]:
        actor = self.body.get("actor")
        return actor if isinstance(actor, Mapping) else {}

    @property
    def fields(self) -> dict[str, Any]:
        """What the event says: its fields without the envelope every event carries."""
        data = self.event.model_dump(mode="json") if self.event is not None else dict(self.body)
        return {k: v for k, v in data.items() if k not in ENVELOPE}

    def to_json(self) -> dict[str, Any]:
        """One line of a bundle's ``events/<service>.jsonl``."""
        return {
            "service": self.service,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key,
            "headers": dict(self.headers),
            "event": dict(self.body),
            "value_sha256": self.value_sha256,
        }


def audit_record(
    service: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes]],
) -> AuditRecord:
    """Reads one record as far as it can be read, never failing on what it finds."""
    header_map = {name: _text(v) or "" for name, v in headers}
    raw = value or b""
    body: Mapping[str, Any]
    problem: str | None = None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        body = parsed
    else:
        body = {"raw": _text(raw) or ""}
        problem = "the body is not a JSON object"
    event: PublicEvent | None = None
    cls = EVENT_TYPES.get(header_map.get("ce_type", ""))
    if cls is not None and problem is None:
        try:
            event = cls.model_validate(body)
        except ValidationError as exc:
            problem = f"does not match its contract: {exc.errors()[0]['msg']}"
        else:
            if header_map.get("ce_id") not in (None, str(event.event_id)):
                problem = f"ce_id {header_map['ce_id']} is not the body's event_id"
    return AuditRecord(
        service=service,
        topic=topic,
        partition=partition,
        offset=offset,
        key=_text(key),
        headers=header_map,
        body=body,
        value_sha256=hashlib.sha256(raw).hexdigest(),
        event=event,
        problem=problem,
    )


def from_json(line: Mapping[str, Any]) -> AuditRecord:
    """A bundle's line back as a record (the body re-encoded: its hash is the line's own)."""
    value = json.dumps(line["event"], ensure_ascii=False).encode()
    record = audit_record(
        line["service"],
        line["topic"],
        line["partition"],
        line["offset"],
        line["key"].encode() if line.get("key") is not None else None,
        value,
        [(k, v.encode()) for k, v in line.get("headers", {}).items()],
    )
    return dataclasses.replace(record, value_sha256=str(line.get("value_sha256", "")))


# Filters on what Kafka gives without decoding ----------------------------------------------


def by_case(case_id: str) -> Wanted:
    """Records of one case: the key is the case id (codec: key = case id, one partition)."""
    wanted = case_id.encode()

    def want(record: RawRecord) -> bool:
        if record.key is not None:
            return bool(record.key == wanted)
        return header(record, "ce_subject") == case_id

    return want


def in_month(moment: datetime | None, month: str) -> bool:
    return moment is not None and moment.astimezone(UTC).strftime("%Y-%m") == month


def by_month(month: str) -> Wanted:
    """Records whose ``ce_time`` (the event's occurred_at) falls in ``month`` (YYYY-MM, UTC).

    A record without a readable ``ce_time`` is let through, for its body to decide.
    """

    def want(record: RawRecord) -> bool:
        moment = parse_time(header(record, "ce_time"))
        return moment is None or in_month(moment, month)

    return want


# Progress ----------------------------------------------------------------------------------


class ReadProgress(Protocol):
    def start(self, topic: str, total: int) -> None: ...
    def advance(self, topic: str, records: int) -> None: ...
    def finish(self, topic: str) -> None: ...


class NoProgress:
    def start(self, topic: str, total: int) -> None:
        pass

    def advance(self, topic: str, records: int) -> None:
        pass

    def finish(self, topic: str) -> None:
        pass


# Reading -------------------------------------------------------------------------------


@dataclass
class KafkaHistory:
    """The four services' topics on one Kafka, read from offset 0 to their current end."""

    kafka: KafkaConnection
    topics: Topics = field(default_factory=Topics)
    progress: ReadProgress = field(default_factory=NoProgress)
    missing: list[str] = field(default_factory=list)
    """Topics that did not exist when read; an audit says so rather than failing."""
    read: dict[str, int] = field(default_factory=dict)
    """Records read per topic (all of them, wanted or not)."""

    async def records(self, service: str, want: Wanted | None = None) -> AsyncIterator[AuditRecord]:
        """The wanted records of one service's topic, in each partition's order."""
        topic = self.topics.events(service)
        try:
            total = await topic_extent(self.kafka, topic)
        except RuntimeError:
            self.missing.append(topic)
            return
        self.progress.start(topic, total)
        count = 0
        try:
            async for batch in read_batches_to_end(self.kafka, topic):
                count += len(batch)
                self.progress.advance(topic, len(batch))
                for raw in batch:
                    if want is None or want(raw):
                        yield audit_record(
                            service,
                            topic,
                            raw.partition,
                            raw.offset,
                            raw.key,
                            raw.value,
                            raw.headers or (),
                        )
        finally:
            self.read[topic] = count
            self.progress.finish(topic)

    async def case(self, case_id: str) -> dict[str, list[AuditRecord]]:
        """Every record of one case, per service; a case is small, so these are lists."""
        want = by_case(case_id)
        return {s: [r async for r in self.records(s, want)] for s in SERVICES}


async def topic_extent(kafka: KafkaConnection | str, topic: str) -> int:
    """How many offsets the topic spans now (records, plus transaction markers)."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
    consumer = AIOKafkaConsumer(
        **KafkaConnection.of(kafka).client_options(), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return sum(end[tp] - begin[tp] for tp in tps)
