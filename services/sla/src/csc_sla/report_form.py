"""The Field Service Monthly Report (现场服务月报表, attachment 4) as a printable form.

Built from ``ClockBoard.monthly_report`` alone, so the PDF, the spreadsheet and
the JSON always say the same thing. The labels live here, once, for both formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from csc_contracts import ComplaintCategory, FeedbackKind
from csc_forms import (
    CHANNELS,
    PREPARED_REVIEWED_APPROVED,
    TOTAL,
    Cell,
    Column,
    Form,
    HeaderField,
    Labels,
    Section,
    bilingual,
    file_safe,
    from_history,
    label,
    moment,
)
from csc_sla.policy import ClockKind

FORM_NUMBER = "CSC-F-04"
ATTACHMENT = "附件4 Attachment 4"
TITLE = ("现场服务月报表", "Field Service Monthly Report")

# In the order the procedure lists them (4.1.1, 4.1.2, 4.4.1), which is the order
# the form prints them, counted or not.
FEEDBACK_KINDS: Labels = {
    FeedbackKind.CURRENT_PRODUCT_REQUIREMENTS: (
        "现有产品的期望和要求",
        "current product requirements",
    ),
    FeedbackKind.POTENTIAL_PRODUCT_REQUIREMENTS: (
        "潜在产品的期望和要求",
        "potential product requirements",
    ),
    FeedbackKind.QUALITY_PROBLEM: ("质量问题的意见", "quality problem"),
    FeedbackKind.QUALITY_COMMITMENT: ("质量承诺履行的意见", "quality commitment"),
    FeedbackKind.SUGGESTION: ("管理、服务和发展的建议", "suggestion"),
}
COMPLAINT_CATEGORIES: Labels = {
    ComplaintCategory.SERVICE: ("服务", "service"),
    ComplaintCategory.QUALITY: ("质量", "quality"),
    ComplaintCategory.DELIVERY: ("交付", "delivery"),
}
CLOCKS: Labels = {
    ClockKind.REPLY: ("答复", "reply"),
    ClockKind.ON_SITE: ("到达现场", "on site"),
    ClockKind.IMPORTANT_ACK: ("重要信息确认", "important information acknowledged"),
    ClockKind.QC_CONTACT: ("品管联系顾客", "QC contacted the customer"),
}
PAUSE_REASONS: Labels = {
    "customer_unreachable": ("联系不上顾客", "customer unreachable"),
    "waiting_for_customer_samples": ("等待顾客样品", "waiting for customer samples"),
    "other": ("其他", "other"),
}

SECTIONS = {
    "feedback_by_kind": ("顾客反馈（按类别）", "Feedback by kind"),
    "feedback_by_channel": ("顾客反馈（按渠道）", "Feedback by channel"),
    "complaints_by_category": ("顾客投诉（按类别）", "Complaints by category"),
    "within_8h": ("8小时响应", "Response within 8 hours"),
    "by_calendar": ("按工作日历（工作时间计时）", "By calendar (business-hours clocks)"),
    "breaches": ("超时", "Breaches"),
    "escalations": ("升级（本月记录）", "Escalations (recorded this month)"),
    "field_service": ("现场服务与走访", "Field service and visits"),
    "returns_capa": ("退货与纠正预防措施", "Returns and CAPA"),
}
MEASURES = {
    "replied_within_8h": ("8小时内答复率", "replied within 8 h"),
    "on_site_within_8h": ("8小时内到达现场率", "on site within 8 h"),
    "visits_made": ("走访（本月已完成）", "visits made this month"),
    "visits_due": ("走访（到期或逾期）", "visits due or overdue"),
    "field_service_days": ("现场服务天数", "field service days"),
    "returns": ("退货", "returns"),
    "capa": ("纠正预防措施", "CAPA"),
}
# The columns of "Returns and CAPA", in the JSON report's keys; returns have no due
# dates, so no overdue figure (printed as a dash, not a zero).
CASE_COUNTS: Labels = {
    "opened": ("已开启", "opened"),
    "closed": ("已关闭", "closed"),
    "open_at_month_end": ("月末未结", "open at month end"),
    "overdue": ("逾期", "overdue"),
}
ALL_CUSTOMERS = ("全部顾客", "all customers")


def monthly_report_form(
    report: Mapping[str, Any], *, digest: str, position: int, generated_at: datetime
) -> Form:
    customer = report["customer"]
    return Form(
        title_zh=TITLE[0],
        title_en=TITLE[1],
        number=FORM_NUMBER,
        attachment=ATTACHMENT,
        fields=[
            HeaderField("月份", "Month", report["month"]),
            HeaderField("顾客", "Customer", customer or bilingual(*ALL_CUSTOMERS)),
        ],
        sections=[
            _counts("feedback_by_kind", "类别", "Kind", FEEDBACK_KINDS, report),
            _counts("feedback_by_channel", "渠道", "Channel", CHANNELS, report),
            _counts("complaints_by_category", "类别", "Category", COMPLAINT_CATEGORIES, report),
            _within_8h(report),
            _by_calendar(report.get("by_calendar", [])),
            _breaches(report["breaches"]),
            _escalations(report.get("escalations", [])),
            _field_service(report),
            _returns_capa(report),
        ],
        signatures=PREPARED_REVIEWED_APPROVED,
        footer=from_history(generated_at, digest=digest, position=position),
    )


def _counts(key: str, zh: str, en: str, labels: Labels, report: Mapping[str, Any]) -> Section:
    counted: Mapping[str, int] = report[key]
    # Values the labels do not know yet still count, after the known ones.
    keys = [*labels, *(k for k in counted if k not in labels)]
    rows: list[list[Cell]] = [[label(labels, k), counted.get(k, 0)] for k in keys]
    rows.append([TOTAL, sum(counted.values())])
    return Section(*SECTIONS[key], [Column(zh, en, 3), Column("数量", "Count")], rows)


def _within_8h(report: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = []
    for key in ("replied_within_8h", "on_site_within_8h"):
        share = report[key]
        rows.append(
            [bilingual(*MEASURES[key]), share["started"], share["met_within_target"],
             share.get("stopped", 0), share["share"]]
        )  # fmt: skip
    columns = [
        Column("指标", "Measure", 2.4),
        Column("启动", "Clocks started"),
        Column("按时完成", "Met within target"),
        # 4.6: closed by the follow-up before met or breached; not in the share.
        Column("跟踪关闭时停止", "Stopped at close (4.6)"),
        Column("比率", "Share", percent=True),
    ]
    return Section(*SECTIONS["within_8h"], columns, rows)


def _by_calendar(rows_: list[Mapping[str, Any]]) -> Section:
    columns = [
        Column("日历", "Calendar", 2),
        Column("时钟", "Clock", 1.6),
        Column("启动", "Started"),
        Column("按时完成", "Met within target"),
        Column("跟踪关闭时停止", "Stopped at close (4.6)"),
        Column("比率", "Share", percent=True),
        Column("已完成", "Met"),
        # Counted in that calendar's working windows, pauses left out.
        Column("平均工作小时", "Mean working hours"),
        Column("最长工作小时", "Longest working hours"),
    ]
    rows: list[list[Cell]] = [
        [
            f"{r['calendar']} v{r['calendar_version']}" if r["calendar_version"] else r["calendar"],
            label(CLOCKS, r["clock"]),
            r["started"],
            r["met_within_target"],
            r["stopped"],
            r["share"],
            r["met"],
            r["working_hours_mean"],
            r["working_hours_max"],
        ]
        for r in rows_
    ]
    return Section(*SECTIONS["by_calendar"], columns, rows)


def _when(row: Mapping[str, Any], at: str) -> str | None:
    """``row[at]``, marked when it was found after the fact (entered after its deadlines),
    not announced live."""
    when = moment(row[at])
    return f"{when}\n{bilingual('补记', 'found late')}" if row.get("found_late") else when


def _breaches(breaches: list[Mapping[str, Any]]) -> Section:
    columns = [
        # Wide enough for a case id on one line: auditors search for it.
        Column("案件", "Case", 36),
        Column("时钟", "Clock", 13),
        Column("到期", "Due (UTC)", 13),
        Column("超时", "Breached (UTC)", 13),
        Column("完成", "Met (UTC)", 13),
        Column("暂停原因", "Paused for", 12),
    ]
    rows: list[list[Cell]] = [
        [
            b["case_id"],
            label(CLOCKS, b["clock"]),
            moment(b["due_at"]),
            _when(b, "breached_at"),
            moment(b["met_at"]),
            "\n".join(label(PAUSE_REASONS, p) for p in b["pauses"]) or None,
        ]
        for b in breaches
    ]
    return Section(*SECTIONS["breaches"], columns, rows)


def _escalations(escalations: list[Mapping[str, Any]]) -> Section:
    """4.2: the breaches taken higher in the month, whichever month their clock started."""
    columns = [
        Column("案件", "Case", 36),
        Column("时钟", "Clock", 13),
        Column("到期", "Due (UTC)", 13),
        Column("升级", "Escalated (UTC)", 13),
        Column("完成", "Met (UTC)", 13),
    ]
    rows: list[list[Cell]] = [
        [
            e["case_id"],
            label(CLOCKS, e["clock"]),
            moment(e["due_at"]),
            _when(e, "escalated_at"),
            moment(e["met_at"]),
        ]
        for e in escalations
    ]
    return Section(*SECTIONS["escalations"], columns, rows)


def _field_service(report: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [bilingual(*MEASURES[key]), report[key]]
        for key in ("visits_made", "visits_due", "field_service_days")
    ]
    return Section(
        *SECTIONS["field_service"], [Column("项目", "Item", 3), Column("数量", "Count")], rows
    )


def _returns_capa(report: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [bilingual(*MEASURES[key]), *(report[key].get(count) for count in CASE_COUNTS)]
        for key in ("returns", "capa")
    ]
    columns = [Column("项目", "Item", 3)]
    columns += [Column(zh, en, 1.2) for zh, en in CASE_COUNTS.values()]
    return Section(*SECTIONS["returns_capa"], columns, rows)


def filename(report: Mapping[str, Any], extension: str) -> str:
    customer = report["customer"]
    suffix = f"-{file_safe(customer)}" if customer else ""
    return f"field-service-monthly-report-{report['month']}{suffix}.{extension}"
