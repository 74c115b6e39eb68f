"""SLA's HTTP API: the clocks."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, HTTPException, status

from csc_messaging.runtime import ConsumingService
from csc_messaging.settings import ServiceSettings
from csc_sla.bootstrap import SLA
from csc_sla.projections import ClockBoard


def routes(service: ConsumingService) -> APIRouter:
    board = service.read_model
    assert isinstance(board, ClockBoard)
    router = APIRouter(tags=["clocks"])

    @router.get("/clocks")
    def list_clocks() -> list[dict[str, Any]]:
        """Every clock, soonest due first."""
        return board.clocks()

    @router.get("/cases/{case_id}/clocks")
    def case_clocks(case_id: UUID) -> list[dict[str, Any]]:
        clocks = board.clocks(str(case_id))
        if not clocks:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no clock for case {case_id}")
        return clocks

    return router


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return SLA.http_app(routes, settings)
