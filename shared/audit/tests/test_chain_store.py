"""Hash chains over a real SQLite event store: every edit, deletion, reordering, insertion shows.

A real intake store (eventsourcing on SQLite) is published as the relay publishes
it (``ChainWriter``: chain attributes on each record, checkpoints); then the
store, or the published records, are tampered with one way at a time and
``verify_service`` must name the event (ISO 9001 §7.5.3: records protected from
loss of integrity). No Kafka here: tests/e2e/test_audit_chain.py does it live.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from csc_audit.chain_verify import (
    Finding,
    PublishedRecord,
    ServiceReport,
    chain_store,
    verify_service,
)
from csc_contracts import Actor, ComplaintLogged, Department, PublicEvent
from csc_intake import commands as c
from csc_intake.application import IntakeApplication
from csc_intake.domain import RegisterEntry
from csc_intake.public import to_public as intake_to_public
from csc_messaging.chain import AggregateHashes, ChainHead, ChainWriter, Checkpoint, chain_log
from csc_messaging.codec import encode

TOPIC = "csc.intake.v1"
MARKETING = Actor(user="li.wei", department=Department.MARKETING)
ToPublic = Callable[[Any], PublicEvent | None]


def env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def internal_engineering(event: Any) -> PublicEvent | None:
    """intake's mapping with EngineeringNotified kept internal: a log with unpublished events."""
    return None if isinstance(event, RegisterEntry.EngineeringNotified) else intake_to_public(event)


@contextmanager
def intake(path: Path) -> Iterator[IntakeApplication]:
    app = IntakeApplication(env=env(path))
    try:
        yield app
    finally:
        app.close()


def fill(path: Path, complaints: int = 4) -> list[str]:
    """A customer, then complaints (each: ComplaintLogged, EngineeringNotified); case ids."""
    with intake(path) as app:
        app.record(
            "register_customer",
            c.RegisterCustomer(code="OEM-001", name="Dongfeng Motor", oem=True),
            MARKETING,
        )
        cases = []
        for n in range(complaints):
            complaint, _ = app.record(
                "log_complaint",
                c.LogComplaint(
                    channel="phone",
                    receiving_department="after_sales",
                    customer_code="OEM-001",
                    text=f"Housings cracked at line {n}; 40 units affected.",
                    category="quality",
                    lot=f"L2026-11-{n:04d}",
                ),
                MARKETING,
            )
            cases.append(str(complaint.id))
        return cases


@dataclass
class Published:
    """What the relay put on Kafka: the records in partition order, checkpoints, its head."""

    records: list[PublishedRecord] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    relay: ChainHead = field(default_factory=ChainHead)

    def by_seq(self, seq: int) -> PublishedRecord:
        return next(r for r in self.records if r.attributes["cscseq"] == str(seq))


def publish(path: Path, to_public: ToPublic = intake_to_public, every: int = 4) -> Published:
    """Publish the store as OutboxRelay does (ChainWriter.advance, seal), checkpoint every N."""
    published = Published()
    offsets: dict[int, int] = defaultdict(int)
    writer = ChainWriter(ChainHead())
    with intake(path) as app:
        for notification in app.recorder.select_notifications(1, 10_000):
            link = writer.advance(notification)
            public = to_public(app.mapper.to_domain_event(notification))
            if public is not None:
                message = writer.seal(encode(public), link)
                partition = zlib.crc32(message.key) % 3
                published.records.append(
                    PublishedRecord(
                        TOPIC,
                        partition,
                        offsets[partition],
                        message.key,
                        message.value,
                        tuple(message.headers),
                    )
                )
                offsets[partition] += 1
            if notification.id % every == 0:
                published.checkpoints.append(Checkpoint.of("intake", writer.head))
    published.relay = writer.head
    published.records.sort(key=lambda r: (r.partition, r.offset))
    return published


def verify(
    path: Path,
    published: Published,
    to_public: ToPublic = intake_to_public,
    *,
    kafka_only: bool = False,
) -> ServiceReport:
    common: dict[str, Any] = {
        "records": published.records,
        "checkpoints": published.checkpoints,
        "relay": published.relay,
    }
    if kafka_only:
        return verify_service("intake", **common)
    with intake(path) as app:
        store = chain_store(
            app.recorder.select_notifications(1, 10_000),
            lambda n: to_public(app.mapper.to_domain_event(n)),
        )
    return verify_service("intake", store=store, **common)


def sql(path: Path, statement: str, *params: Any) -> list[Any]:
    with closing(sqlite3.connect(path)) as db, db:
        return db.execute(statement, params).fetchall()


def row(path: Path, rowid: int) -> tuple[str, int, str, bytes]:
    (found,) = sql(
        path,
        "SELECT originator_id, originator_version, topic, state FROM stored_events WHERE rowid = ?",
        rowid,
    )
    return found  # type: ignore[no-any-return]


# The log of ``fill``: 1 the customer; then per complaint k (k = 0..3) its ComplaintLogged at
# 2 + 2k and its EngineeringNotified at 3 + 2k.
LOGGED = {k: 2 + 2 * k for k in range(4)}


@dataclass
class Store:
    path: Path
    cases: list[str]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    path = tmp_path / "intake.sqlite"
    return Store(path, fill(path))


def first(report: ServiceReport) -> Finding:
    assert not report.ok, "verify found nothing"
    found = report.first
    assert found is not None
    return found


def test_the_log_is_what_the_tests_assume(store: Store) -> None:
    kinds = [row(store.path, n)[2].rsplit(".", 1)[-1] for n in range(1, 10)]
    assert kinds == ["Registered", *["Logged", "EngineeringNotified"] * 4]
    assert [row(store.path, LOGGED[k])[0] for k in range(4)] == [
        UUID(case).hex for case in store.cases
    ]


def test_a_clean_store_and_topic_verify(store: Store) -> None:
    published = publish(store.path)
    assert len(published.records) == 9 and len(published.checkpoints) == 2

    report = verify(store.path, published)
    assert report.ok, report.lines()
    assert report.lines() == [f"intake: OK 9 events, head {published.relay.head}"]
    # The chain is a function of the store: published again, the same head.
    assert publish(store.path).relay == published.relay
    kafka_only = verify(store.path, published, kafka_only=True)
    assert kafka_only.lines() == [f"intake: OK 9 records (Kafka only), head {published.relay.head}"]


def test_the_relay_continues_the_chain_from_its_head(store: Store) -> None:
    whole = publish(store.path).relay
    with intake(store.path) as app:
        log = list(app.recorder.select_notifications(1, 100))
    first_half = chain_log(log[:4])
    # Restarted at position 4 with only the head: a miss in its aggregate cache reads the store.
    with intake(store.path) as app:
        writer = ChainWriter(
            first_half,
            AggregateHashes(lambda key, v: app.recorder.select_events(UUID(key), lte=v), size=1),
        )
        for notification in log[4:]:
            writer.advance(notification)
    assert writer.head.head == whole.head


def test_an_edited_stored_event_is_named_with_the_field_that_changed(store: Store) -> None:
    published = publish(store.path)
    state = row(store.path, LOGGED[1])[3]
    assert b"line 1;" in state
    sql(
        store.path,
        "UPDATE stored_events SET state = ? WHERE rowid = ?",
        state.replace(b"line 1;", b"line 9;"),
        LOGGED[1],
    )

    found = first(verify(store.path, published))
    assert (found.position, found.kind, found.where) == (LOGGED[1], "edited", "store")
    assert store.cases[1] in found.message and "ComplaintLogged" in found.message
    assert found.changes == [
        'text: "Housings cracked at line 1; 40 units affected." in Kafka, '
        '"Housings cracked at line 9; 40 units affected." in the store'
    ]
    assert (
        verify(store.path, published)
        .lines()[0]
        .startswith(f"intake: BROKEN at notification {LOGGED[1]} [edited, store]: ")
    )


def test_a_deleted_stored_event_is_named(store: Store) -> None:
    published = publish(store.path)
    sql(store.path, "DELETE FROM stored_events WHERE rowid = ?", LOGGED[2])

    found = first(verify(store.path, published))
    assert (found.position, found.kind, found.where) == (LOGGED[2], "deleted", "store")
    assert "csc.intake.ComplaintLogged.v1" in found.message and store.cases[2] in found.message


def test_two_swapped_stored_events_are_named(store: Store) -> None:
    published = publish(store.path)
    a, b = LOGGED[1], LOGGED[2]
    sql(store.path, "UPDATE stored_events SET rowid = -1 WHERE rowid = ?", a)
    sql(store.path, "UPDATE stored_events SET rowid = ? WHERE rowid = ?", a, b)
    sql(store.path, "UPDATE stored_events SET rowid = ? WHERE rowid = -1", b)

    found = first(verify(store.path, published))
    assert (found.position, found.kind, found.where) == (a, "reordered", "store")
    assert f"swapped with notification {b}" in found.message
    assert store.cases[1] in found.message and store.cases[2] in found.message


def test_events_of_one_aggregate_swapped_are_named(store: Store) -> None:
    published = publish(store.path)
    a, b = LOGGED[3], LOGGED[3] + 1  # case 3's ComplaintLogged v1, EngineeringNotified v2
    sql(store.path, "UPDATE stored_events SET rowid = -1 WHERE rowid = ?", a)
    sql(store.path, "UPDATE stored_events SET rowid = ? WHERE rowid = ?", a, b)
    sql(store.path, "UPDATE stored_events SET rowid = ? WHERE rowid = -1", b)

    found = first(verify(store.path, published))
    assert (found.position, found.kind) == (a, "reordered")
    assert store.cases[3] in found.message


def test_an_event_inserted_into_the_store_is_named(store: Store) -> None:
    published = publish(store.path)
    at = LOGGED[2]
    later = sql(
        store.path, "SELECT rowid FROM stored_events WHERE rowid >= ? ORDER BY rowid DESC", at
    )
    for (rowid,) in later:  # make room: the forger renumbers what follows
        sql(store.path, "UPDATE stored_events SET rowid = ? WHERE rowid = ?", rowid + 1, rowid)
    _, _, topic, state = row(store.path, LOGGED[1])
    forged = uuid4()
    sql(
        store.path,
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
        "VALUES (?, ?, 1, ?, ?)",
        at,
        forged.hex,
        topic,
        state.replace(b"line 1;", b"line 5;"),
    )

    found = first(verify(store.path, published))
    assert (found.position, found.kind, found.where) == (at, "inserted", "store")
    assert str(forged) in found.message and store.cases[2] in found.message


def test_an_edited_internal_event_is_located_between_the_anchors(store: Store) -> None:
    published = publish(store.path, internal_engineering)
    assert len(published.records) == 5  # the customer and the four ComplaintLogged
    assert verify(store.path, published, internal_engineering).ok
    internal = LOGGED[1] + 1  # case 1's EngineeringNotified: never published
    state = row(store.path, internal)[3]
    sql(
        store.path,
        "UPDATE stored_events SET state = ? WHERE rowid = ?",
        state.replace(b"li.wei", b"li.wu"),
        internal,
    )

    found = first(verify(store.path, published, internal_engineering))
    assert (found.position, found.kind, found.where) == (internal, "edited", "store")
    assert (
        f"{internal}: RegisterEntry.EngineeringNotified (internal) of aggregate {store.cases[1]} v2"
        in (found.message)
    )


def test_an_edit_after_the_last_record_shows_against_the_relay_head(store: Store) -> None:
    published = publish(store.path, internal_engineering)
    last = LOGGED[3] + 1  # internal, after every record and every checkpoint but the relay's
    state = row(store.path, last)[3]
    sql(
        store.path,
        "UPDATE stored_events SET state = ? WHERE rowid = ?",
        state.replace(b"li.wei", b"li.wu"),
        last,
    )

    found = first(verify(store.path, published, internal_engineering))
    assert (found.position, found.kind) == (last, "edited")
    assert "the relay's offset" in found.message


# The topic tampered with (a copy of the records; the store is intact) ----------------------


def _replace(published: Published, old: PublishedRecord, new: list[PublishedRecord]) -> None:
    """``old`` replaced by ``new`` where it was; each partition's offsets numbered anew."""
    i = published.records.index(old)
    published.records[i : i + 1] = new
    _renumber(published)


def _renumber(published: Published) -> None:
    offsets: dict[int, int] = defaultdict(int)
    for k, record in enumerate(published.records):
        published.records[k] = replace(record, offset=offsets[record.partition])
        offsets[record.partition] += 1


@pytest.mark.parametrize("kafka_only", [False, True])
def test_an_edited_record_is_named(store: Store, kafka_only: bool) -> None:
    published = publish(store.path)
    record = published.by_seq(LOGGED[1])
    assert record.value is not None
    edited = replace(record, value=record.value.replace(b"line 1;", b"line 8;"))
    _replace(published, record, [edited])

    found = first(verify(store.path, published, kafka_only=kafka_only))
    assert (found.position, found.kind, found.where) == (LOGGED[1], "edited", "kafka")
    assert store.cases[1] in found.message
    if not kafka_only:  # the store says which field
        assert found.changes == [
            'text: "Housings cracked at line 8; 40 units affected." in Kafka, '
            '"Housings cracked at line 1; 40 units affected." in the store'
        ]


@pytest.mark.parametrize("kafka_only", [False, True])
def test_a_deleted_record_is_named(store: Store, kafka_only: bool) -> None:
    published = publish(store.path)
    _replace(published, published.by_seq(LOGGED[2]), [])

    found = first(verify(store.path, published, kafka_only=kafka_only))
    assert (found.position, found.kind, found.where) == (LOGGED[2], "deleted", "kafka")
    if not kafka_only:
        assert store.cases[2] in found.message


@pytest.mark.parametrize("kafka_only", [False, True])
def test_the_last_record_deleted_shows_against_the_relay_head(
    store: Store, kafka_only: bool
) -> None:
    published = publish(store.path)
    _replace(published, published.by_seq(9), [])

    found = first(verify(store.path, published, kafka_only=kafka_only))
    assert found.position == 9
    assert found.kind == ("deleted" if kafka_only else "missing")
    if not kafka_only:
        assert "deleted from the topic" in found.message and store.cases[3] in found.message


@pytest.mark.parametrize("kafka_only", [False, True])
def test_two_swapped_records_are_named(store: Store, kafka_only: bool) -> None:
    published = publish(store.path)
    logged, notified = published.by_seq(LOGGED[1]), published.by_seq(LOGGED[1] + 1)
    assert logged.partition == notified.partition  # one case: one partition
    i, j = published.records.index(logged), published.records.index(notified)
    published.records[i], published.records[j] = notified, logged
    _renumber(published)

    found = first(verify(store.path, published, kafka_only=kafka_only))
    assert (found.position, found.kind, found.where) == (LOGGED[1], "reordered", "kafka")
    assert store.cases[1] in found.message


@pytest.mark.parametrize("kafka_only", [False, True])
def test_a_forged_record_with_copied_chain_attributes_is_named(
    store: Store, kafka_only: bool
) -> None:
    published = publish(store.path)
    genuine = published.by_seq(LOGGED[1])
    body = json.loads(genuine.value or b"")
    forged_id = str(uuid4())
    body.update(event_id=forged_id, text="Nothing wrong with the housings.")
    forged = encode(ComplaintLogged.model_validate(body))
    chain_headers = [(n, v) for n, v in genuine.headers if n.startswith("ce_csc")]
    record = replace(genuine, value=forged.value, headers=(*forged.headers, *chain_headers))
    _replace(published, genuine, [genuine, record])

    found = first(verify(store.path, published, kafka_only=kafka_only))
    assert (found.position, found.kind, found.where) == (LOGGED[1], "inserted", "kafka")
    assert forged_id in found.message


def test_a_record_without_chain_attributes_is_named(store: Store) -> None:
    published = publish(store.path)
    forged = encode(
        ComplaintLogged.model_validate(
            {**json.loads(published.by_seq(LOGGED[0]).value or b""), "event_id": str(uuid4())}
        )
    )
    published.records.append(
        PublishedRecord(TOPIC, 0, 99, forged.key, forged.value, tuple(forged.headers))
    )
    found = first(verify(store.path, published))
    assert (found.kind, found.where) == ("inserted", "kafka")
    assert "no (or malformed) chain attributes" in found.message and "offset 99" in found.message
