"""Composition root of the sla service."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import structlog
from pydantic import Field

from csc_messaging.runtime import Background, ConsumerSpec, Service
from csc_messaging.settings import ServiceSettings
from csc_sla import metrics
from csc_sla.application import SlaApplication
from csc_sla.entrypoints.http import routes
from csc_sla.policy import SlaPolicy
from csc_sla.projections import ClockBoard
from csc_sla.public import to_public

log = structlog.get_logger(__name__)


class SlaSettings(ServiceSettings):
    http_port: int = 8004
    sla_policy: SlaPolicy = Field(
        default_factory=SlaPolicy,
        description="Targets, calendars and ladders per customer class, as JSON (CSC_SLA_POLICY).",
    )
    sla_tick_seconds: float = Field(
        default=1.0, gt=0, description="How often the timer looks for deadlines that passed."
    )
    sla_settling_seconds: float = Field(
        default=900,
        ge=0,
        description="A clock started in the past (a call entered days later) holds the "
        "deadlines that had already passed this long after it was recorded, so the reply "
        "entered with it can meet it first; then, if still unmet, they are recorded as "
        "found late (CSC_SLA_SETTLING_SECONDS).",
    )


def _application(settings: ServiceSettings, env: dict[str, str]) -> SlaApplication:
    if isinstance(settings, SlaSettings):
        return SlaApplication(
            env=env,
            policy=settings.sla_policy,
            settling=timedelta(seconds=settings.sla_settling_seconds),
        )
    return SlaApplication(env=env, policy=SlaPolicy())


def _timer(service: Service) -> list[Background]:
    app, board = service.app, service.read_model
    assert isinstance(app, SlaApplication) and isinstance(board, ClockBoard)
    tick = service.settings.sla_tick_seconds if isinstance(service.settings, SlaSettings) else 1.0
    tick_duration = metrics.instrument(service, board).labels(service.name)

    async def timer(stop: asyncio.Event) -> None:
        # CSC_SLA_POLICY's calendars and policy become their first recorded versions
        # (if the store has none yet), listed and audited like every later one.
        try:
            recorded = await asyncio.to_thread(app.record_first_versions)
            if recorded:
                log.info("sla.first_versions_recorded", rulebooks=recorded)
        except Exception:
            log.exception("sla.first_versions_failed")
        # Deadlines live in the store, so the first tick after a restart fires what
        # passed while the service was down, each once, at its true time.
        while not stop.is_set():
            began = time.perf_counter()
            try:
                now = app.now()
                # Batch after batch, soonest due first, until none is left that was due
                # at ``now``: each batch an index seek on next_deadline, never a scan of
                # every clock. A fired clock's next deadline moves past ``now``; one whose
                # firing failed stays behind the cursor, for the next tick.
                cursor: str | None = None
                while True:
                    due, cursor = await asyncio.to_thread(board.due_page, now, cursor)
                    if due:
                        fired = await asyncio.to_thread(app.fire_due, due, now)
                        log.info("sla.fired", clocks=len(due), events=fired)
                    if cursor is None or stop.is_set():
                        break
            except Exception:
                log.exception("sla.timer_failed")
            tick_duration.observe(time.perf_counter() - began)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=tick)

    return [timer]


SLA = ConsumerSpec(
    name="sla",
    settings_class=SlaSettings,
    application_class=SlaApplication,
    read_model_class=ClockBoard,
    routes=routes,
    subscribes_to=["intake", "returns", "capa"],
    title="Customer Service Control — sla",
    description="The procedure's promises as clocks: reply (4.2.1), on site (4.2.2), "
    "important information acknowledged (4.1.3), QC's first contact on a quality "
    "complaint (4.4.3); schedules (4.1.5, 4.5, 4.6); the monthly field service report "
    "(att. 4), with returns and CAPAs.",
    to_public=to_public,
    make_application=_application,
    background=_timer,
)

# The HTTP app, as ``csc-sla serve`` runs it and tests build it.
create_app = SLA.http_app
