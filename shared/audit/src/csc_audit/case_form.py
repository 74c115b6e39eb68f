"""One case's history as a printable form, for an export bundle or an auditor's file."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from csc_audit.layout import spill
from csc_audit.timeline import ServiceState, TimelineEntry
from csc_forms import (
    Cell,
    Column,
    Form,
    HeaderField,
    Labels,
    Section,
    Signature,
    bilingual,
    customer_text,
    department,
    label,
    moment,
)

FORM_NUMBER = "CSC-AUD-01"
TITLE = ("案件履历", "Case history")
SERVICE_LABELS: Labels = {
    "intake": ("登记", "intake"),
    "returns": ("退货", "returns"),
    "capa": ("纠正预防", "CAPA"),
    "sla": ("时限", "SLA"),
}

HISTORY_COLUMNS = (
    Column("时间", "Time (UTC)", 60),
    Column("服务", "Service", 50),
    Column("事件", "Event", 72),
    Column("人员", "Actor", 70),
    Column("内容", "Fields", 155),
    Column("原因", "Reason", 86),
)


def case_history_form(
    case_id: str,
    entries: Sequence[TimelineEntry],
    states: Mapping[str, ServiceState],
    *,
    footer: str = "",
) -> Form:
    customer = next(
        (e.fields["customer"] for e in entries if isinstance(e.fields.get("customer"), Mapping)),
        None,
    )
    history = [
        line
        for e in entries
        for line in spill(
            HISTORY_COLUMNS,
            [
                (moment(e.at) or "").replace(" ", "\n"),
                label(SERVICE_LABELS, e.service),
                words(e.event)
                + (f"\n{bilingual('问题', 'problem')}: {e.problem}" if e.problem else ""),
                _actor(e),
                _fields(e.fields),
                e.reason,
            ],
        )
    ]
    state_rows: list[list[Cell]] = [
        [label(SERVICE_LABELS, s.service), s.stage and words(s.stage), s.events, moment(s.last_at)]
        for s in states.values()
    ]
    return Form(
        title_zh=TITLE[0],
        title_en=TITLE[1],
        number=FORM_NUMBER,
        fields=[
            HeaderField("案件", "Case", case_id),
            HeaderField("顾客", "Customer", customer_text(customer)),
            HeaderField("事件数", "Events", len(entries)),
            HeaderField("首末", "First / last (UTC)", _span(entries)),
        ],
        sections=[
            Section("履历", "History", HISTORY_COLUMNS, history),
            Section(
                "各服务状态",
                "State in each service",
                [
                    Column("服务", "Service", 1.2),
                    Column("阶段", "Stage (last event)", 2),
                    Column("事件数", "Events", 0.8),
                    Column("最后", "Last (UTC)", 1.2),
                ],
                state_rows,
            ),
        ],
        signatures=(Signature("审核员", "Auditor"),),
        footer=footer,
    )


def words(name: str) -> str:
    """``ImportantInformationAcknowledged`` as words, so a narrow column can wrap it."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _span(entries: Sequence[TimelineEntry]) -> str | None:
    return f"{moment(entries[0].at)} / {moment(entries[-1].at)}" if entries else None


def _actor(entry: TimelineEntry) -> str | None:
    if entry.user is None:
        return None
    if entry.department is None:
        return entry.user
    return f"{entry.user} ({department(entry.department)})"


def _fields(fields: Mapping[str, Any]) -> str | None:
    lines = [f"{k}: {_value(v)}" for k, v in fields.items() if v not in (None, "", [], {})]
    return "\n".join(lines) or None


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "code" in value:
        return customer_text(value) or ""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
