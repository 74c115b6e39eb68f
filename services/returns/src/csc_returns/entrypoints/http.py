"""Returns' HTTP API: return cases."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, HTTPException, Query, status

from csc_messaging.runtime import ConsumingService
from csc_messaging.settings import ServiceSettings
from csc_returns.bootstrap import RETURNS
from csc_returns.projections import ReturnCases


def routes(service: ConsumingService) -> APIRouter:
    view = service.read_model
    assert isinstance(view, ReturnCases)
    router = APIRouter(tags=["return cases"])

    @router.get("/cases")
    def list_cases(
        status_: Annotated[str | None, Query(alias="status")] = None,
    ) -> list[dict[str, Any]]:
        """Return cases, oldest report first."""
        return view.cases(status_)

    @router.get("/cases/{case_id}")
    def get_case(case_id: UUID) -> dict[str, Any]:
        case = view.case(str(case_id))
        if case is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no return case {case_id}")
        return case

    return router


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    return RETURNS.http_app(routes, settings)
