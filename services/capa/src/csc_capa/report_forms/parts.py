"""What the three layouts print alike: the header, the footer, a person, a moment, a file name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from csc_capa.report_forms.labels import ACTION_STATUSES, OVERDUE, REMEDIES, SOURCES, STATUSES
from csc_forms import DEPARTMENTS, Cell, Column, HeaderField, Section, bilingual, label


def _header(capa: Mapping[str, Any]) -> list[HeaderField]:
    return [
        HeaderField("编号", "CAPA No.", capa["capa_no"]),
        HeaderField("案件", "Case", capa["case_id"]),
        HeaderField("顾客", "Customer", _customer(capa["customer"])),
        HeaderField("来源", "Source", label(SOURCES, capa["source"])),
        HeaderField("产品", "Product", capa["product"]),
        HeaderField("批号", "Lot", capa["lot"]),
        HeaderField("报告日期", "Reported", _moment(capa["reported_at"])),
        HeaderField("状态", "Status", label(STATUSES, capa["status"])),
        HeaderField("轮次", "Round", capa["round"]),
        HeaderField("责任部门", "Owner department", _department(capa["owner_department"])),
    ]


def _section(title: tuple[str, str], columns: Sequence[Column], rows: list[list[Cell]]) -> Section:
    return Section(title[0], title[1], columns, rows)


def _footer(capa: Mapping[str, Any], digest: str, position: int, generated_at: datetime) -> str:
    when = generated_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return (
        f"{capa['capa_no']}: generated from the event history at {when} "
        f"(up to event {position}); digest {digest}"
    )


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
    who, when = _who(step.get("actor")), _moment(step.get("at"))
    return ", ".join(p for p in (who, when) if p) or None


def _owner(person: Mapping[str, Any]) -> str:
    return f"{person['name']}\n{_department(person['department'])}"


def _department(value: str) -> str:
    return label(DEPARTMENTS, value)


def _who(actor: Mapping[str, Any] | None) -> str | None:
    if not actor:
        return None
    return f"{actor['user']} ({_department(actor['department'])})"


def _customer(customer: Mapping[str, Any]) -> str:
    name = customer.get("name")
    return f"{customer['code']} {name}" if name else str(customer["code"])


def _moment(value: str | None) -> str | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def filename(capa: Mapping[str, Any], fmt: str, kind: str) -> str:
    """``CAPA-1A2B3C4D-8d.pdf``: the CAPA, the format it is printed in, the file type."""
    return "-".join(_safe(p) for p in (capa["capa_no"], fmt)) + f".{_safe(kind)}"


def _safe(text: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in text)
