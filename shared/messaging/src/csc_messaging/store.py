"""Where each service keeps its events: SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

import re

import psycopg

from csc_messaging.idempotency import recorder_topics
from csc_messaging.settings import ServiceSettings

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def eventsourcing_env(settings: ServiceSettings, service: str) -> dict[str, str]:
    """The eventsourcing environment for one service's own store (with its idempotency keys)."""
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.data_dir / f"{service}.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
            **recorder_topics("sqlite"),
        }
    schema = settings.postgres_schema or service
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"CSC_POSTGRES_SCHEMA {schema!r} is not a plain lower-case identifier")
    _create_schema(settings, schema)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": settings.postgres_db,
        "POSTGRES_HOST": settings.postgres_host,
        "POSTGRES_PORT": str(settings.postgres_port),
        "POSTGRES_USER": settings.postgres_user,
        "POSTGRES_PASSWORD": settings.postgres_password,
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_LOCK_TIMEOUT": "10",
        **recorder_topics("postgres"),
    }


def _create_schema(settings: ServiceSettings, schema: str) -> None:
    # eventsourcing creates its tables but not the schema that holds them.
    with _connect(settings) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def wipe_store(settings: ServiceSettings, service: str) -> None:
    """Delete one service's store: the SQLite file, or its PostgreSQL schema."""
    if settings.store == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            (settings.data_dir / f"{service}.sqlite{suffix}").unlink(missing_ok=True)
        return
    with _connect(settings) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{settings.postgres_schema or service}" CASCADE')


def _connect(settings: ServiceSettings) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname=settings.postgres_db,
        autocommit=True,
    )
