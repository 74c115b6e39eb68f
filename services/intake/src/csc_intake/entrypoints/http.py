"""Intake's HTTP API: register customer information and complaints, read the Register."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from fastapi import FastAPI, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse

from csc_intake.application import RuleViolation
from csc_intake.bootstrap import Intake, bootstrap
from csc_intake.commands import LogComplaint, RegisterFeedback
from csc_messaging.runtime import probes, store_check, supervise_relay
from csc_messaging.settings import ServiceSettings

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a request with the same key and it finds the case it created.",
    ),
]


def create_app(settings: ServiceSettings | None = None, intake: Intake | None = None) -> FastAPI:
    intake = intake or bootstrap(settings)
    stop = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        relay_task = (
            asyncio.create_task(supervise_relay(intake.relay, stop))
            if intake.settings.relay_enabled
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if relay_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(relay_task, timeout=15)
            intake.app.close()

    async def relay_check() -> str | None:
        if not intake.settings.relay_enabled:
            return None
        return None if intake.relay.status.running else "outbox relay is not running"

    app = FastAPI(
        title="Customer Service Control — intake",
        description="Customer Information Register (4.1) and complaints (4.4.1).",
        lifespan=lifespan,
    )
    app.include_router(probes({"store": store_check(intake.app), "relay": relay_check}))

    @app.exception_handler(RuleViolation)
    async def rule_violation(_: Request, exc: RuleViolation) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
            if exc.field == "received_at"
            else status.HTTP_403_FORBIDDEN
            if exc.field == "actor.department"
            else status.HTTP_409_CONFLICT,
            content={"detail": [{"rule": exc.clause, "loc": exc.field, "msg": exc.message}]},
        )

    def recorded(response: Response, aggregate: Aggregate, created: bool) -> dict[str, Any]:
        if created:
            intake.relay.wake()
        else:
            response.status_code = status.HTTP_200_OK  # a retry: the first result again
        return _found(intake.register.entry(str(aggregate.id)), aggregate.id)

    @app.post("/register-entries", status_code=status.HTTP_201_CREATED, tags=["register"])
    def register_feedback(
        command: RegisterFeedback, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record customer information in the Customer Information Register (4.1.1-4.1.2)."""
        return recorded(response, *intake.app.register_feedback(command, idempotency_key))

    @app.post("/complaints", status_code=status.HTTP_201_CREATED, tags=["complaints"])
    def log_complaint(
        command: LogComplaint, response: Response, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record a service, quality or delivery complaint (4.4.1)."""
        return recorded(response, *intake.app.log_complaint(command, idempotency_key))

    @app.get("/register-entries", tags=["register"])
    def list_entries(
        entry_type: Annotated[str | None, Query(pattern="^(feedback|complaint)$")] = None,
    ) -> list[dict[str, Any]]:
        """The Register: customer information and complaints, in the order recorded."""
        return intake.register.entries(entry_type)

    @app.get("/register-entries/{case_id}", tags=["register"])
    def get_entry(case_id: UUID) -> dict[str, Any]:
        return _found(intake.register.entry(str(case_id)), case_id)

    @app.get("/complaints", tags=["complaints"])
    def list_complaints() -> list[dict[str, Any]]:
        return intake.register.entries("complaint")

    @app.get("/relay", tags=["operations"])
    def relay_status() -> dict[str, Any]:
        """How far the outbox relay has published the store to Kafka."""
        s = intake.relay.status
        return {
            "running": s.running,
            "position": s.position,
            "store_head": s.store_head,
            "lag": s.lag,
            "published_since_start": s.published,
        }

    return app


def _found(row: dict[str, Any] | None, case_id: UUID) -> dict[str, Any]:
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no register entry {case_id}")
    return row
