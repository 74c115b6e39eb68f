"""What the three layouts print alike: the header, the footer, an action's status, a file name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from csc_capa.report_forms.labels import ACTION_STATUSES, OVERDUE, SOURCES, STATUSES
from csc_forms import (
    REMEDIES,
    HeaderField,
    bilingual,
    customer_text,
    department,
    file_safe,
    from_history,
    label,
    moment,
    who,
)


def _header(capa: Mapping[str, Any]) -> list[HeaderField]:
    return [
        HeaderField("编号", "CAPA No.", capa["capa_no"]),
        HeaderField("案件", "Case", capa["case_id"]),
        HeaderField("顾客", "Customer", customer_text(capa["customer"])),
        HeaderField("来源", "Source", label(SOURCES, capa["source"])),
        HeaderField("产品", "Product", capa["product"]),
        HeaderField("批号", "Lot", capa["lot"]),
        HeaderField("报告日期", "Reported", moment(capa["reported_at"])),
        HeaderField("状态", "Status", label(STATUSES, capa["status"])),
        HeaderField("轮次", "Round", capa["round"]),
        HeaderField("责任部门", "Owner department", department(capa["owner_department"])),
    ]


def _footer(capa: Mapping[str, Any], digest: str, position: int, generated_at: datetime) -> str:
    return from_history(generated_at, digest=digest, position=position, subject=capa["capa_no"])


def _impact(impact: Mapping[str, Any]) -> str:
    remedy = label(REMEDIES, impact["remedial_measure"])
    details = f" — {impact['remedial_details']}" if impact.get("remedial_details") else ""
    return (
        f"{bilingual('停线', 'lines stopped')}: {impact['lines_stopped']}; "
        f"{bilingual('受影响数量', 'quantity affected')}: {impact['quantity_affected']}\n"
        f"{remedy}{details}"
    )


def _status(action: Mapping[str, Any]) -> str:
    status = label(ACTION_STATUSES, action["status"])
    return f"{status}\n{bilingual(*OVERDUE)}" if action.get("overdue") else status


def _recorded(step: Mapping[str, Any]) -> str | None:
    by, when = who(step.get("actor")), moment(step.get("at"))
    return ", ".join(p for p in (by, when) if p) or None


def _owner(person: Mapping[str, Any]) -> str:
    return f"{person['name']}\n{department(person['department'])}"


def filename(capa: Mapping[str, Any], fmt: str, kind: str) -> str:
    """``CAPA-1A2B3C4D-8d.pdf``: the CAPA, the format it is printed in, the file type."""
    name = "-".join(file_safe(p, keep="-_") for p in (capa["capa_no"], fmt))
    return f"{name}.{file_safe(kind, keep='-_')}"
