"""The Product Nonconformance Processing Report (产品不合格处理报告, PNPR, 4.3.3) as a form.

Built from ``ReturnCases.pnpr`` alone, so the PDF, the spreadsheet and the JSON
always say the same thing. The labels live here, once, for both formats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from csc_contracts import Disposition
from csc_forms import (
    PREPARED_REVIEWED_APPROVED,
    TOTAL,
    Cell,
    Column,
    Form,
    HeaderField,
    Labels,
    Section,
    bilingual,
    customer_text,
    department,
    from_history,
    label,
    moment,
    who,
)

FORM_NUMBER = "CSC-F-PNPR"
TITLE = ("产品不合格处理报告", "Product Nonconformance Processing Report")

DISPOSITIONS: Labels = {
    Disposition.REWORK: ("返工", "rework"),
    Disposition.REPAIR: ("返修", "repair"),
    Disposition.SCRAP: ("报废", "scrap"),
    Disposition.USE_AS_IS: ("让步接收", "use as is by concession"),
    Disposition.RETURN_TO_SUPPLIER: ("退回供方", "return to supplier"),
}
STATUSES: Labels = {
    "identified": ("已标识", "identified"),
    "isolated": ("已隔离", "isolated"),
    "nonconformance_reported": ("已报告", "reported"),
    "reviewed": ("已评审", "reviewed"),
    "dispositioned": ("已处置", "dispositioned"),
}
STEP_COLUMNS = (
    Column("步骤", "Step", 2.2),
    Column("内容", "Details", 4),
    Column("人员", "By", 1.6),
    Column("时间", "Time (UTC)", 1.6),
)


def pnpr_form(
    report: Mapping[str, Any], *, digest: str, position: int, generated_at: datetime
) -> Form:
    request = report["request"] or {}
    return Form(
        title_zh=TITLE[0],
        title_en=TITLE[1],
        number=FORM_NUMBER,
        attachment="4.3.3",
        fields=[
            HeaderField("报告编号", "Report No.", report["report_no"]),
            HeaderField("案件", "Case", report["case_id"]),
            HeaderField("顾客", "Customer", customer_text(report["customer"])),
            HeaderField("产品", "Product", report["product"]),
            HeaderField("交付", "Delivery", request.get("delivery")),
            HeaderField("批号", "Lot", request.get("lot")),
            HeaderField("状态", "Status", label(STATUSES, report["status"])),
        ],
        sections=[
            _return(report),
            _nonconformance(report),
            _board(report),
            _decision(report),
            _dispositions(report),
        ],
        signatures=PREPARED_REVIEWED_APPROVED,
        footer=from_history(generated_at, digest=digest, position=position),
    )


def _return(report: Mapping[str, Any]) -> Section:
    request, quality = report["request"], report["quality"] or {}
    receipt, samples = report["receipt"], report["samples"]
    decision = quality.get("decision") or {}
    rows: list[list[Cell]] = [
        _row(("顾客投诉", "Customer complaint"), report["complaint"], None, report["reported_at"]),
        _row(
            ("退货申请 4.3.2", "Return requested 4.3.2"),
            f"{request['quantity']} — {request['reason']}",
            request["by"],
            request["at"],
        ),
        _row(
            ("品管确认 4.3.2.2", "QC confirmation 4.3.2.2"),
            decision.get("finding"),
            decision.get("by"),
            decision.get("at"),
        ),
        _row(
            ("仓库接收 4.3.2.2", "Received by Warehouse 4.3.2.2"),
            f"{receipt['quantity']} @ {receipt['location']}",
            receipt["by"],
            receipt["received_at"],
        ),
        _row(
            ("现场确认与取样 4.3.2.3", "Condition and samples 4.3.2.3"),
            f"{samples['condition']}\n{samples['sample_count']}: "
            + ", ".join(samples["sample_ids"]),
            samples["by"],
            samples["at"],
        ),
    ]
    return Section("退货", "Return", STEP_COLUMNS, rows)


def _nonconformance(report: Mapping[str, Any]) -> Section:
    identified, isolated = report["identified"], report["isolated"]
    reported, reviewed = report["reported"], report["reviewed"]
    rows: list[list[Cell]] = [
        _row(("标识", "Identified (tag)"), identified["tag"], identified["by"], identified["at"])
    ]
    if isolated:
        rows.append(
            _row(("隔离", "Isolated (quarantine)"), isolated["location"], isolated["by"],
                 isolated["at"])
        )  # fmt: skip
    if reported:
        rows.append(
            _row(("报告", "Reported"), reported["description"], reported["by"], reported["at"])
        )
    if reviewed:
        rows.append(_row(("评审", "Reviewed"), reviewed["note"], reviewed["by"], reviewed["at"]))
    return Section("不合格品处理 4.3.3", "Nonconformance 4.3.3", STEP_COLUMNS, rows)


def _board(report: Mapping[str, Any]) -> Section:
    members = (report["reviewed"] or {}).get("board", [])
    rows: list[list[Cell]] = [[m["name"], department(m["department"])] for m in members]
    return Section(
        "评审小组",
        "Review board",
        [Column("姓名", "Name", 2), Column("部门", "Department", 2)],
        rows,
    )


def _decision(report: Mapping[str, Any]) -> Section:
    decided = {
        line["disposition"]: line["quantity"]
        for line in (report["reviewed"] or {}).get("decision", [])
    }
    done: dict[str, int] = {}
    for d in report["dispositions"]:
        done[d["disposition"]] = done.get(d["disposition"], 0) + d["quantity"]
    rows: list[list[Cell]] = [
        [label(DISPOSITIONS, k), decided[k], done.get(k, 0), decided[k] - done.get(k, 0)]
        for k in (*DISPOSITIONS, *(k for k in decided if k not in DISPOSITIONS))
        if k in decided
    ]
    if rows:
        # 4.3.3: quantities add up, dispositioned = received.
        rows.append([TOTAL, sum(decided.values()), report["dispositioned"], report["remaining"]])
    columns = [
        Column("处置", "Disposition", 2.4),
        Column("决定数量", "Decided"),
        Column("已处置", "Dispositioned"),
        Column("剩余", "Remaining"),
    ]
    return Section("处置决定", "Decision", columns, rows)


def _dispositions(report: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [
            label(DISPOSITIONS, d["disposition"]),
            d["quantity"],
            d["concession"],
            d["note"],
            who(d["by"]),
            moment(d["at"]),
        ]
        for d in report["dispositions"]
    ]
    columns = [
        Column("处置", "Disposition", 2),
        Column("数量", "Quantity"),
        Column("让步", "Concession", 1.6),
        Column("说明", "Note", 2),
        Column("人员", "By", 1.6),
        Column("时间", "Time (UTC)", 1.6),
    ]
    return Section("处置记录", "Dispositions", columns, rows)


def _row(
    step: tuple[str, str], details: Cell, by: Mapping[str, str] | None, at: str | None
) -> list[Cell]:
    return [bilingual(*step), details, who(by), moment(at)]


def filename(report: Mapping[str, Any], extension: str) -> str:
    return f"{report['report_no']}.{extension}"


__all__: Sequence[str] = ("DISPOSITIONS", "filename", "label", "pnpr_form")
