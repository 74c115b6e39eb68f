"""The intake write path's baseline: a bare FastAPI endpoint on uvicorn that validates the
same body as intake and makes one SQLite insert, committed before it answers.

``python -m bench.baseline_http --port N --db PATH``. It runs like intake does: one
uvicorn process, a synchronous handler on FastAPI's thread pool, SQLite in WAL mode
with its default (full) synchronous commits, a connection per thread.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import uvicorn
from fastapi import FastAPI, status

from csc_intake.commands import LogComplaint


def create_app(db: Path) -> FastAPI:
    local = threading.local()
    with sqlite3.connect(db) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE IF NOT EXISTS complaints (case_id TEXT PRIMARY KEY, body BLOB)")

    def connection() -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=30)
            local.conn = conn
        return conn

    app = FastAPI(title="bench baseline: validate + one SQLite insert")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/complaints", status_code=status.HTTP_201_CREATED)
    def log_complaint(command: LogComplaint) -> dict[str, Any]:
        case_id = uuid4()
        recorded_at = datetime.now(UTC)
        conn = connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO complaints VALUES (?, ?)",
                (case_id.hex, command.model_dump_json().encode()),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return {"case_id": str(case_id), "recorded_at": recorded_at.isoformat()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.db),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
