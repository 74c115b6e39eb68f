"""Tamper evidence through the real path: intake and sla publish hash-chained events.

Real processes on the real broker: complaints go in through intake's HTTP API,
the relays publish them with their chain attributes and checkpoints, and
``csc audit verify`` says OK. Then a copy of csc.intake.v1 with one record
edited, deleted, reordered or inserted (one at a time), and finally intake's
store (its SQLite file, or its PostgreSQL table) edited after publishing: each
is caught, naming the event (ISO 9001 §7.5.3: records protected from loss of
integrity).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from uuid import UUID, uuid4

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from typer.testing import CliRunner

from csc_contracts import SERVICES, ComplaintLogged
from csc_devkit.cli import app as csc
from csc_devkit.processes import ServiceProcess
from csc_messaging.codec import encode
from csc_messaging.topology import TopicSpec, create_topics
from e2e.conftest import STORE, Stack
from e2e.support import complaint, intake_client, read, read_topic, wait_caught_up, wait_until

pytestmark = pytest.mark.integration

COMPLAINTS = 4


@dataclass
class Published:
    stack: Stack
    intake: ServiceProcess
    cases: list[str]


@pytest.fixture(scope="module")
def published(module_stack: Stack) -> Iterator[Published]:
    # Checkpoints often, so that more than one is compared.
    intake = module_stack.start("intake", CSC_AUDIT_CHECKPOINT_SECONDS="0.3")
    sla = module_stack.start("sla", CSC_AUDIT_CHECKPOINT_SECONDS="0.3")
    marketing = intake_client(module_stack, intake)
    cases = []
    for n in range(COMPLAINTS):
        if n == COMPLAINTS // 2:
            # A restarted relay continues the chain from the head kept with its offset.
            wait_caught_up(marketing, sla.url)
            intake.stop()
            intake = module_stack.restart(intake, CSC_AUDIT_CHECKPOINT_SECONDS="0.3")
        created = marketing.post("/complaints", json=complaint(n))
        assert created.status_code == 201, created.text
        cases.append(created.json()["case_id"])
    # An event of an aggregate from before the restart: the relay reads its earlier
    # versions from the store to continue its chain (4.2.1: the reply).
    reply = {"channel": "phone", "summary": "Replacement units leave today."}
    assert marketing.post(f"/register-entries/{cases[0]}/replies", json=reply).is_success
    wait_caught_up(marketing, sla.url)
    # sla's relay publishes a reply clock per complaint (4.2.1).
    wait_until(
        lambda: (
            len(read_topic(module_stack.bootstrap, module_stack.topics.events("sla"))) >= COMPLAINTS
        ),
        what="sla's clocks on csc.sla.v1",
    )
    yield Published(module_stack, intake, cases)


def verify(stack: Stack, *args: str, service: str = "intake") -> tuple[int, list[str]]:
    """``csc audit verify ARGS`` in ``service``'s environment (its store, the test's topics)."""
    env = stack.env(service)
    result = CliRunner().invoke(csc, ["audit", "verify", *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout.splitlines()


def records_of(stack: Stack) -> list[ConsumerRecord[bytes, bytes]]:
    return sorted(
        read_topic(stack.bootstrap, stack.topics.intake), key=lambda r: (r.partition, r.offset)
    )


def record_of(records: list[ConsumerRecord[bytes, bytes]], case: str, kind: str) -> int:
    """The index of the case's record of one type (ComplaintLogged, EngineeringNotified)."""
    return next(
        i
        for i, r in enumerate(records)
        if r.key == case.encode() and dict(r.headers)["ce_type"].endswith(f".{kind}.v1".encode())
    )


def copy_topic(stack: Stack, name: str, records: list[ConsumerRecord[bytes, bytes]]) -> str:
    """A copy of csc.intake.v1 holding ``records``, each in its own partition, in list order."""
    topic = f"{stack.prefix}{name}"

    async def go() -> None:
        await create_topics(stack.bootstrap, [TopicSpec(topic, 3)])
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        try:
            for r in records:
                await producer.send_and_wait(
                    topic, value=r.value, key=r.key, headers=list(r.headers), partition=r.partition
                )
        finally:
            await producer.stop()

    asyncio.run(go())
    return topic


def test_every_service_verifies_from_its_store_and_from_kafka(published: Published) -> None:
    stack = published.stack
    lines = []
    for service in SERVICES:
        code, found = verify(stack, "--service", service, service=service)
        assert code == 0, found
        lines += found
    intake_line, returns_line, capa_line, sla_line, notify_line = lines
    digest = read(f"{published.intake.url}/digest")
    stored = digest.json()["position"]
    assert intake_line.startswith(f"intake: OK {stored} events, head ")
    assert sla_line.startswith("sla: OK ")
    # Not started here: nothing stored, nothing published.
    assert returns_line.startswith("returns: OK 0 events"), returns_line
    assert capa_line.startswith("capa: OK 0 events"), capa_line
    assert notify_line.startswith("notify: OK 0 events"), notify_line
    if STORE == "sqlite":  # one environment for all: every store under CSC_DATA_DIR
        code, together = verify(stack, "--service", "all")
        assert code == 0 and together[0] == intake_line, together

    # Each record carries the chain; the relay checkpointed its head to csc.audit.v1.
    records = records_of(stack)
    assert all({b"ce_cscseq", b"ce_csclink"} <= {n.encode() for n, _ in r.headers} for r in records)
    checkpoints = [json.loads(r.value) for r in read_topic(stack.bootstrap, stack.topics.audit)]
    assert {c["service"] for c in checkpoints} == {"intake", "sla"}
    head = intake_line.split("head ")[1].split()[0]
    assert any(c["service"] == "intake" and c["head"] == head for c in checkpoints)

    code, lines = verify(stack, "--service", "intake", "--kafka-only")
    assert code == 0 and lines[0].startswith(f"intake: OK {stored} records (Kafka only)"), lines
    # A faithful copy of the topic verifies too: the copying below changes only what it says.
    code, lines = verify(
        stack,
        "--service",
        "intake",
        "--topic",
        copy_topic(stack, "copy-faithful", records_of(stack)),
    )
    assert code == 0, lines


@pytest.mark.parametrize("change", ["edited", "deleted", "reordered", "inserted"])
def test_a_tampered_copy_of_the_topic_is_caught(published: Published, change: str) -> None:
    stack, cases = published.stack, published.cases
    records = records_of(stack)
    named = cases[1]
    i = record_of(records, named, "ComplaintLogged")
    seq = int(dict(records[i].headers)["ce_cscseq"])
    if change == "edited":
        body = json.loads(records[i].value)
        body["text"] = "Nothing wrong with the housings."
        records[i] = _with(records[i], value=json.dumps(body).encode())
    elif change == "deleted":
        del records[i]
    elif change == "reordered":
        j = record_of(records, named, "EngineeringNotified")
        records[i], records[j] = records[j], records[i]
    else:
        body = {**json.loads(records[i].value), "event_id": str(uuid4()), "text": "Forged."}
        forged = encode(ComplaintLogged.model_validate(body))
        chain = [(n, v) for n, v in records[i].headers if n.startswith("ce_csc")]
        records.insert(i + 1, _with(records[i], value=forged.value, headers=forged.headers + chain))
    topic = copy_topic(stack, f"copy-{change}", records)

    code, lines = verify(stack, "--service", "intake", "--topic", topic)
    assert code == 1, lines
    assert lines[0].startswith(f"intake: BROKEN at notification {seq} [{change}, kafka]: "), lines
    assert named in lines[0]
    if change == "edited":  # the store says what the record said
        assert lines[1].strip().startswith('text: "Nothing wrong with the housings." in Kafka'), (
            lines
        )
    # Without the store, the record chain and the checkpoints alone still catch it.
    code, lines = verify(stack, "--service", "intake", "--topic", topic, "--kafka-only")
    assert code == 1 and f"[{change}, kafka]" in lines[0], lines


def _with(record: ConsumerRecord[bytes, bytes], **changes: object) -> ConsumerRecord[bytes, bytes]:
    fields = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "timestamp_type": record.timestamp_type,
        "key": record.key,
        "value": record.value,
        "checksum": record.checksum,
        "serialized_key_size": record.serialized_key_size,
        "serialized_value_size": record.serialized_value_size,
        "headers": record.headers,
        **changes,
    }
    return ConsumerRecord(**fields)


def edit_complaint_text(stack: Stack, case: str, old: bytes, new: bytes) -> int:
    """Change a ComplaintLogged in intake's store as someone with database access would."""
    if STORE == "sqlite":
        with closing(sqlite3.connect(stack.data_dir / "intake.sqlite")) as db, db:
            position, state = db.execute(
                "SELECT rowid, state FROM stored_events "
                "WHERE originator_id = ? AND originator_version = 1",
                (UUID(case).hex,),
            ).fetchone()
            assert old in state
            db.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                (state.replace(old, new), position),
            )
        return int(position)
    env, schema = stack.store_env, stack.env("intake")["CSC_POSTGRES_SCHEMA"]
    with psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        dbname=env["POSTGRES_DB"],
        autocommit=True,
    ) as pg:
        (table,) = pg.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = %s AND column_name = 'notification_id'",
            (schema,),
        ).fetchone() or ("?",)
        events = f'"{schema}"."{table}"'  # the test's own identifiers
        found = pg.execute(
            f"SELECT notification_id, state FROM {events} "
            "WHERE originator_id = %s AND originator_version = 1",
            (UUID(case),),
        ).fetchone()
        assert found is not None and old in found[1]
        pg.execute(
            f"UPDATE {events} SET state = %s WHERE notification_id = %s",
            (bytes(found[1]).replace(old, new), found[0]),
        )
        return int(found[0])


def test_the_store_edited_after_publishing_is_caught(published: Published) -> None:
    # Runs last in this module: it leaves intake's store changed.
    stack, cases = published.stack, published.cases
    published.intake.stop()
    named = cases[2]
    rowid = edit_complaint_text(stack, named, b"(report 2)", b"(report 7)")

    code, lines = verify(stack, "--service", "intake")
    assert code == 1, lines
    assert lines[0].startswith(f"intake: BROKEN at notification {rowid} [edited, store]: ")
    assert named in lines[0] and "ComplaintLogged" in lines[0]
    assert lines[1].strip() == (
        'text: "Housings cracked at the customer\'s line 3 (report 2)." in Kafka, '
        '"Housings cracked at the customer\'s line 3 (report 7)." in the store'
    )
    # ... against the checkpoints too: the store's chain no longer reaches their heads.
    assert any("differs from" in line and "checkpoint" in line for line in lines), lines
    # Kafka alone is intact: it is the store that changed.
    code, lines = verify(stack, "--service", "intake", "--kafka-only")
    assert code == 0, lines
