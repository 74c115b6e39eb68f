"""Reading Kafka into what an auditor takes away: a case's timeline, the forms, a bundle.

Everything streams: a case is filtered by key while its topics are read; a
month's events go into the bundle as they are read, and the register's forms
are folded in the same pass over ``csc.intake.v1``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from csc_audit.bundle import BundleSummary, BundleWriter
from csc_audit.case_form import case_history_form
from csc_audit.history import AuditRecord, KafkaHistory, RawRecord, by_case, by_month, in_month
from csc_audit.register_forms import (
    FieldServiceFold,
    Period,
    RegisterFold,
    Selection,
    field_service_form,
    field_service_name,
    provenance,
    register_form,
    register_name,
)
from csc_audit.timeline import TimelineEntry, as_of, timeline
from csc_contracts import SERVICES
from csc_forms import MEDIA_TYPES, Form, Kind, render

JSON_MEDIA_TYPE = "application/json"
EVERYTHING = Period(date.min, date.max)


async def case_timeline(history: KafkaHistory, case_id: str) -> list[TimelineEntry]:
    records = await history.case(case_id)
    return timeline(r for service in SERVICES for r in records[service])


# The register's forms ------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedForm:
    name: str
    """File name without extension."""
    rows: list[dict[str, Any]] | None
    """What the form prints, as JSON (None: the bundle has it elsewhere)."""
    form: Form

    def documents(self) -> dict[str, tuple[bytes, str]]:
        """File name -> (content, media type), in every format."""
        documents = {f"{self.name}.{kind}": self.document(kind) for kind in MEDIA_TYPES}
        if self.rows is not None:
            documents[f"{self.name}.json"] = (_json(self.rows), JSON_MEDIA_TYPE)
        return documents

    def document(self, kind: Kind) -> tuple[bytes, str]:
        """The form in one format: (content, media type)."""
        return render(self.form, kind)


def _register(
    fold: RegisterFold,
    history: KafkaHistory,
    generated_at: datetime,
    name: str | None = None,
    period: Period | None = None,
) -> RenderedForm:
    rows = fold.rows()
    period = period or fold.period
    footer = provenance(_read(history, "intake"), _count(history, "intake"), generated_at)
    form = register_form(rows, period=period, customer=fold.customer, footer=footer)
    return RenderedForm(name or register_name(period, fold.customer), rows, form)


def _field_service(
    fold: FieldServiceFold,
    history: KafkaHistory,
    generated_at: datetime,
    name: str | None = None,
    selection: Selection | None = None,
) -> RenderedForm:
    rows = fold.rows()
    selection = selection or fold.selection
    footer = provenance(_read(history, "intake"), _count(history, "intake"), generated_at)
    form = field_service_form(rows, selection=selection, footer=footer)
    return RenderedForm(name or field_service_name(selection), rows, form)


async def register_document(
    history: KafkaHistory, period: Period, generated_at: datetime, customer: str | None = None
) -> RenderedForm:
    """Att. 3 for a period, in one pass over csc.intake.v1."""
    fold = RegisterFold(period, customer=customer)
    await _fold_intake(history, [fold.wants], [fold.apply])
    return _register(fold, history, generated_at)


async def field_service_document(
    history: KafkaHistory, selection: Selection, generated_at: datetime
) -> RenderedForm:
    """Att. 2 for a selection, in one pass over csc.intake.v1."""
    fold = FieldServiceFold(selection)
    await _fold_intake(history, [fold.wants], [fold.apply])
    return _field_service(fold, history, generated_at)


async def _fold_intake(
    history: KafkaHistory,
    wants: list[Callable[[RawRecord], bool]],
    applies: list[Callable[[AuditRecord], None]],
) -> None:
    async for record in history.records("intake", lambda raw: any(w(raw) for w in wants)):
        for apply in applies:
            apply(record)


# Bundles -------------------------------------------------------------------------------------


async def export_case(
    history: KafkaHistory, case_id: str, out: Path, generated_at: datetime
) -> BundleSummary:
    """A case's bundle: its events from every topic, its timeline, its forms."""
    want = by_case(case_id)
    with BundleWriter(out, {"case": case_id}) as bundle:
        kept: dict[str, list[AuditRecord]] = {}
        for service in SERVICES:
            kept[service] = []
            with bundle.jsonl(f"events/{service}.jsonl") as lines:
                async for record in history.records(service, want):
                    lines.write(record.to_json())
                    kept[service].append(record)
        entries = timeline(r for service in SERVICES for r in kept[service])
        bundle.add("timeline.json", _json([e.to_json() for e in entries]), JSON_MEDIA_TYPE)
        footer = provenance(sorted(history.read), sum(history.read.values()), generated_at)
        case_form = case_history_form(case_id, entries, as_of(entries, generated_at), footer=footer)
        forms = [RenderedForm(f"case-history-{case_id}", None, case_form)]  # timeline.json

        # The case's line of the Register (att. 3), or its Field Service Work Record (att. 2).
        register = RegisterFold(EVERYTHING, case_id=case_id)
        work = FieldServiceFold(Selection(EVERYTHING, record_id=case_id))
        for record in kept["intake"]:
            register.apply(record)
            work.apply(record)
        if rows := register.rows():
            day = Period.day(date.fromisoformat(rows[0]["received_at"][:10]))
            forms.append(_register(register, history, generated_at, f"register-{case_id}", day))
        if rows := work.rows():
            days = [date.fromisoformat(r["work_date"]) for r in rows]
            selection = Selection(Period(min(days), max(days)), record_id=case_id)
            forms.append(
                _field_service(work, history, generated_at, f"field-service-{case_id}", selection)
            )
        _add_forms(bundle, forms)
        return bundle.close(generated_at, _source(history))


async def export_month(
    history: KafkaHistory, month: str, out: Path, generated_at: datetime
) -> BundleSummary:
    """A month's bundle: every event that occurred in it, and the month's att. 3 and att. 2."""
    period = Period.month(month)
    register = RegisterFold(period)
    work = FieldServiceFold(Selection(period))
    of_month = by_month(month)
    with BundleWriter(out, {"month": month}) as bundle:
        for service in SERVICES:
            intake = service == "intake"

            def want(raw: RawRecord, intake: bool = intake) -> bool:
                return of_month(raw) or (intake and (register.wants(raw) or work.wants(raw)))

            with bundle.jsonl(f"events/{service}.jsonl") as lines:
                async for record in history.records(service, want):
                    if in_month(record.occurred_at, month):
                        lines.write(record.to_json())
                    if intake:
                        register.apply(record)
                        work.apply(record)
        _add_forms(
            bundle,
            [
                _register(register, history, generated_at),
                _field_service(work, history, generated_at),
            ],
        )
        return bundle.close(generated_at, _source(history))


def _add_forms(bundle: BundleWriter, forms: list[RenderedForm]) -> None:
    for rendered in forms:
        for name, (content, media_type) in rendered.documents().items():
            bundle.add(f"forms/{name}", content, media_type)


def _source(history: KafkaHistory) -> dict[str, Any]:
    return {
        "kafka": history.kafka.bootstrap_servers,
        "records_read": dict(sorted(history.read.items())),
        "missing_topics": list(history.missing),
        "note": "read from Kafka only, read_committed, from offset 0 to the end at the start",
    }


def _read(history: KafkaHistory, service: str) -> list[str]:
    return [history.topics.events(service)]


def _count(history: KafkaHistory, service: str) -> int:
    return history.read.get(history.topics.events(service), 0)


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode() + b"\n"
