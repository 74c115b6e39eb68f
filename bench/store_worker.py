"""One store measurement, in a process of its own: ``python -m bench.store_worker '<spec>'``.

``impl``: ``eventsourcing`` saves new ``Ticket`` aggregates (the size of sla's case
file: a handful of short fields) with ``Application.save``; ``raw`` INSERTs the very
bytes eventsourcing stores for them (computed before the clock starts) into a table
of the same shape, with the driver alone. ``per_save``: aggregates per save, one
transaction each. ``engine``: ``sqlite`` (WAL, eventsourcing's settings) or
``postgres``. Prints one JSON document.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent

from bench.harness import latency_summary
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env

WARMUP_SAVES = 50


class BenchStore(Application[UUID]):
    name = "bench_store"


class Ticket(Aggregate):
    class Opened(Aggregate.Created):
        case_id: UUID
        entry_type: str
        category: str
        channel: str
        customer: dict[str, Any]
        received_at: datetime

    @event(Opened)
    def __init__(
        self,
        *,
        case_id: UUID,
        entry_type: str,
        category: str,
        channel: str,
        customer: dict[str, Any],
        received_at: datetime,
    ) -> None:
        self.case_id = case_id
        self.entry_type = entry_type
        self.category = category
        self.channel = channel
        self.customer = customer
        self.received_at = received_at


def tickets(count: int) -> list[Ticket]:
    now = datetime.now(UTC)
    return [
        Ticket(
            case_id=uuid4(),
            entry_type="complaint",
            category="quality",
            channel="phone",
            customer={"code": "OEM-001", "name": "Dongfeng Motor"},
            received_at=now,
        )
        for _ in range(count)
    ]


def settings_for(spec: dict[str, Any]) -> ServiceSettings:
    if spec["engine"] == "sqlite":
        return ServiceSettings(store="sqlite", data_dir=Path(spec["data_dir"]))
    pg = spec["postgres"]
    return ServiceSettings(
        store="postgres",
        postgres_host=pg["host"],
        postgres_port=pg["port"],
        postgres_user=pg["user"],
        postgres_password=pg["password"],
        postgres_db=pg["dbname"],
        postgres_schema=spec["schema"],
    )


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def measure_eventsourcing(app: BenchStore, saves: list[list[Ticket]]) -> list[float]:
    timings = []
    for batch in saves:
        began = time.perf_counter()
        app.save(*batch)
        timings.append(time.perf_counter() - began)
    return timings


def stored(app: BenchStore, saves: list[list[Ticket]]) -> list[list[StoredEvent]]:
    return [
        [app.mapper.to_stored_event(event) for ticket in batch for event in ticket.collect_events()]
        for batch in saves
    ]


def measure_sqlite_raw(path: Path, saves: list[list[StoredEvent]]) -> list[float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS raw_events (originator_id TEXT, originator_version INTEGER, "
        "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    timings = []
    for batch in saves:
        rows = [(e.originator_id.hex, e.originator_version, e.topic, e.state) for e in batch]  # type: ignore[union-attr]
        began = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO raw_events VALUES (?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        timings.append(time.perf_counter() - began)
    conn.close()
    return timings


def measure_postgres_raw(spec: dict[str, Any], saves: list[list[StoredEvent]]) -> list[float]:
    pg = spec["postgres"]
    schema = spec["schema"]
    with psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        user=pg["user"],
        password=pg["password"],
        dbname=pg["dbname"],
    ) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".raw_events (notification_id BIGSERIAL, '
            "originator_id UUID, originator_version BIGINT, topic TEXT, state BYTEA, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        conn.commit()
        statement = (
            f'INSERT INTO "{schema}".raw_events '
            "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
        )
        timings = []
        for batch in saves:
            rows = [(e.originator_id, e.originator_version, e.topic, e.state) for e in batch]
            began = time.perf_counter()
            with conn.cursor() as cursor:
                cursor.executemany(statement, rows)
            conn.commit()
            timings.append(time.perf_counter() - began)
    return timings


def run(spec: dict[str, Any]) -> dict[str, Any]:
    per_save, saves_count = spec["per_save"], spec["saves"]
    app = BenchStore(env=eventsourcing_env(settings_for(spec), "bench_store"))
    try:
        warm = chunks(tickets(WARMUP_SAVES * per_save), per_save)
        measured = chunks(tickets(saves_count * per_save), per_save)
        if spec["impl"] == "eventsourcing":
            measure_eventsourcing(app, warm)
            timings = measure_eventsourcing(app, measured)
        else:
            warm_rows, measured_rows = stored(app, warm), stored(app, measured)
            if spec["engine"] == "sqlite":
                path = Path(spec["data_dir"]) / "raw.sqlite"
                measure_sqlite_raw(path, warm_rows)
                timings = measure_sqlite_raw(path, measured_rows)
            else:
                measure_postgres_raw(spec, warm_rows)
                timings = measure_postgres_raw(spec, measured_rows)
    finally:
        app.close()
    elapsed = sum(timings)
    return {
        "events": saves_count * per_save,
        "saves": saves_count,
        "elapsed_s": elapsed,
        "events_per_s": saves_count * per_save / elapsed if elapsed else None,
        "latency_ms": latency_summary(timings),
    }


def main() -> None:
    print(json.dumps(run(json.loads(sys.argv[1]))))


if __name__ == "__main__":
    main()
