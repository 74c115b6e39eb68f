from __future__ import annotations

import uuid

import psycopg
import pytest

from csc_devkit.localpg import PgParams, create_database


@pytest.mark.integration
async def test_select_one(postgres_params: PgParams) -> None:
    async with await psycopg.AsyncConnection.connect(**postgres_params) as conn:
        cursor = await conn.execute("select 1")
        assert await cursor.fetchone() == (1,)


@pytest.mark.integration
def test_create_database_is_idempotent(postgres_params: PgParams) -> None:
    name = f"devkit_{uuid.uuid4().hex[:8]}"
    first = create_database(postgres_params, name)
    second = create_database(postgres_params, name)
    assert first == second
    assert first["dbname"] == name
    with psycopg.connect(**first) as conn:
        assert conn.execute("select current_database()").fetchone() == (name,)
