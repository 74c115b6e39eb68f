"""What ``csc audit`` tells, over a service's HTTP API: for pages that may only use HTTP.

- ``chain_router``: ``GET /audit/chain``, the service's hash chain checked as
  ``csc audit verify --service <svc>`` checks it (its store, as the running service
  holds it, against its topic and the checkpoints), every service one each;
- ``history_router``: read from Kafka as ``csc audit`` reads it — a case as it was
  at a moment (``csc audit as-of``), a case's or a month's bundle (``csc audit
  export``), and the register's forms, att. 3 and att. 2 (``csc audit forms``).

Read-only: nothing here records anything. Each answer is computed on request from
the store and the topics; nothing is kept.
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import Application
from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from csc_audit.chain_verify import Finding, ServiceReport
from csc_audit.export import (
    RenderedForm,
    case_timeline,
    export_case,
    export_month,
    field_service_document,
    register_document,
)
from csc_audit.history import KafkaHistory
from csc_audit.register_forms import Period, Selection
from csc_audit.timeline import as_of, clocks_as_of
from csc_forms import PDF_MEDIA_TYPE, XLSX_MEDIA_TYPE, Kind
from csc_messaging.settings import ServiceSettings

ZIP_MEDIA_TYPE = "application/zip"
MAX_FINDINGS = 20
"""Findings answered beyond the first: enough to see the extent, bounded."""

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
MonthPath = Annotated[str, Path(pattern=MONTH, description="A calendar month, YYYY-MM (UTC).")]
MonthQuery = Annotated[
    str | None, Query(pattern=MONTH, description="A calendar month, YYYY-MM (UTC).")
]
Code = Annotated[str | None, Query(min_length=1, max_length=200)]


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "where": finding.where,
        "kind": finding.kind,
        "position": finding.position,
        "message": finding.message,
        "changes": list(finding.changes),
    }


def report_json(report: ServiceReport) -> dict[str, Any]:
    """A service's chain as ``csc audit verify --json`` gives it (findings bounded)."""
    ordered = sorted(report.findings, key=Finding.sort_key)
    return {
        "service": report.service,
        "mode": report.mode,
        "ok": report.ok,
        "events": report.events,
        "records": report.records,
        "checkpoints": report.checkpoints,
        "unpublished": report.unpublished,
        "held": report.held,
        "head": report.head,
        "note": report.note,
        "first": finding_json(ordered[0]) if ordered else None,
        "findings": [finding_json(f) for f in ordered[:MAX_FINDINGS]],
        "more_findings": max(0, len(ordered) - MAX_FINDINGS),
        "lines": report.lines(),
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def chain_router(
    service: str, settings: ServiceSettings, application: Application[Any]
) -> APIRouter:
    """``GET /audit/chain`` for one service, over the store its application holds."""
    # Here, not at the top: csc_audit.chain_commands imports the services' modules.
    from csc_audit.chain_commands import verify_running

    router = APIRouter(tags=["audit"])

    @router.get("/audit/chain")
    async def chain() -> dict[str, Any]:
        """The service's hash chain (ISO 9001 §7.5.3), as ``csc audit verify --service``
        reports it: its store against its topic and the checkpoints on ``csc.audit.v1``;
        ``ok``, or the first broken link (``first``: where, kind, notification, the event
        named) and the others. Computed on request; records nothing."""
        report = await asyncio.to_thread(verify_running, service, settings, application)
        return report_json(report)

    return router


def _case(case_id: UUID) -> str:
    return str(case_id)


def _moment(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "at: give the moment with its time zone, e.g. 2026-11-24T08:00:00Z",
        )
    return at


def _month(month: str) -> Period:
    try:
        return Period.month(month)
    except ValueError as exc:  # year 0000
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"month: {exc}") from None


def _attachment(content: bytes, media_type: str, name: str, **headers: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', **headers},
    )


def history_router(settings: ServiceSettings) -> APIRouter:
    """Reads of the four topics, as ``csc audit`` makes them (from offset 0 to the end)."""
    router = APIRouter(tags=["audit"])

    def history() -> KafkaHistory:
        return KafkaHistory(settings.kafka, settings.topics)

    @router.get("/audit/cases/{case_id}/as-of")
    async def case_as_of(
        case_id: UUID,
        at: Annotated[datetime, Query(description="The moment, ISO 8601 with its zone.")],
    ) -> dict[str, Any]:
        """The case as it was at a moment in each service and each clock, as
        ``csc audit as-of`` tells it: in the time things happened (received, replied,
        arrived; a clock's start, pause, deadlines and meeting), not the time they were
        recorded."""
        moment = _moment(at)
        entries = await case_timeline(history(), _case(case_id))
        return {
            "case_id": _case(case_id),
            "at": moment.astimezone(UTC).isoformat(timespec="milliseconds"),
            "events": len(entries),
            "services": {s: state.to_json() for s, state in as_of(entries, moment).items()},
            "clocks": {k: state.to_json() for k, state in clocks_as_of(entries, moment).items()},
        }

    async def bundle(scope: str, make: Any) -> Response:
        generated_at = datetime.now(UTC)
        with tempfile.TemporaryDirectory(prefix="csc-audit-") as folder:
            path = pathlib.Path(folder) / f"csc-audit-{scope}.zip"
            summary = await make(history(), path, generated_at)
            content = path.read_bytes()
        return _attachment(
            content,
            ZIP_MEDIA_TYPE,
            path.name,
            **{"X-Manifest-SHA256": summary.manifest_sha256},
        )

    @router.get(
        "/audit/cases/{case_id}/bundle.zip",
        response_class=Response,
        responses={200: {"content": {ZIP_MEDIA_TYPE: {}}}},
    )
    async def case_bundle(case_id: UUID) -> Response:
        """A case's bundle, as ``csc audit export CASE`` makes it: its events from every
        topic, its timeline and forms, a manifest (its sha256 in ``X-Manifest-SHA256``:
        keep it with the audit's papers, and check the bundle later with ``csc audit
        verify --bundle``)."""
        case = _case(case_id)
        return await bundle(f"case-{case}", lambda h, p, g: export_case(h, case, p, g))

    @router.get(
        "/audit/months/{month}/bundle.zip",
        response_class=Response,
        responses={200: {"content": {ZIP_MEDIA_TYPE: {}}}},
    )
    async def month_bundle(month: MonthPath) -> Response:
        """A month's bundle, as ``csc audit export --month`` makes it: every event that
        occurred in it (UTC), the month's att. 3 and att. 2, a manifest."""
        _month(month)
        return await bundle(month, lambda h, p, g: export_month(h, month, p, g))

    def period_of(month: str | None, day: date | None) -> Period:
        if month is not None and day is None:
            return _month(month)
        if day is not None and month is None:
            return Period.day(day)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give month (YYYY-MM) or day (YYYY-MM-DD), one"
        )

    def document(kind: Kind, rendered: RenderedForm) -> Response:
        content, media_type = rendered.document(kind)
        return _attachment(content, media_type, f"{rendered.name}.{kind}")

    @router.get(
        "/forms/register.{kind}",
        tags=["forms"],
        response_class=Response,
        responses={200: {"content": {PDF_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}}}},
    )
    async def register(
        kind: Kind,
        month: MonthQuery = None,
        day: date | None = None,
        customer: Code = None,
    ) -> Response:
        """The Customer Information Register (顾客信息登记表, att. 3) of a month or a day, as
        ``csc audit forms register`` makes it; PDF or XLSX, in Chinese and English."""
        period = period_of(month, day)
        return document(
            kind, await register_document(history(), period, datetime.now(UTC), customer)
        )

    @router.get(
        "/forms/field-service.{kind}",
        tags=["forms"],
        response_class=Response,
        responses={200: {"content": {PDF_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}}}},
    )
    async def field_service(
        kind: Kind,
        month: MonthQuery = None,
        day: date | None = None,
        customer: Code = None,
        engineer: Code = None,
        site: Code = None,
    ) -> Response:
        """The Field Service Work Record (现场服务工作记录表, att. 2) of a month or a day, for
        an engineer, a site, a customer (any of them), as ``csc audit forms field-service``
        makes it; PDF or XLSX, in Chinese and English."""
        selection = Selection(period_of(month, day), engineer, site, customer)
        return document(kind, await field_service_document(history(), selection, datetime.now(UTC)))

    return router
