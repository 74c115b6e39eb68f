"""CAPA's HTTP API: investigations."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, HTTPException, status

from csc_capa.bootstrap import CAPA
from csc_capa.projections import Investigations
from csc_messaging.runtime import ConsumingService
from csc_messaging.settings import ServiceSettings


def routes(service: ConsumingService) -> APIRouter:
    view = service.read_model
    assert isinstance(view, Investigations)
    router = APIRouter(tags=["investigations"])

    @router.get("/investigations")
    def list_investigations() -> list[dict[str, Any]]:
        """QC's investigations of quality complaints, oldest complaint first."""
        return view.list()

    @router.get("/investigations/{case_id}")
    def get_investigation(case_id: UUID) -> dict[str, Any]:
        found = view.get(str(case_id))
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no investigation for case {case_id}")
        return found

    return router


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return CAPA.http_app(routes, settings)
