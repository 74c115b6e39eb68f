"""The register's forms, from the event history on ``csc.intake.v1`` alone.

- **Customer Information Register** (顾客信息登记表, attachment 3): every
  entry received in a period (4.1.2 feedback, 4.4.1 complaints), with what was
  done about it afterwards (4.2 replies and visits, 4.4.2 impact, 4.6
  follow-up), whenever that was recorded.
- **Field Service Work Record** (现场服务工作记录表, attachment 2): the daily
  records at OEM customers (4.1.4), the customer visits (4.5), and the
  on-site services of register entries (4.2.2), for an engineer, a site, a
  customer, a day or a period; amendments shown with what they replaced.

Each is folded from intake's public events as they stream past (``wants``
looks only at a record's key and headers, so most records of a large topic are
never decoded) into JSON-ready rows, and the rows into a bilingual form; the
PDF and the XLSX are rendered from the same form.

Dates are UTC calendar dates, as in the Register's ``month`` (intake) and the
monthly report (sla), except a record's own work date, which is the site's.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from csc_audit.history import AuditRecord, RawRecord, header
from csc_audit.layout import spill
from csc_contracts import (
    ComplaintCategory,
    ComplaintLogged,
    CustomerVisited,
    EngineeringNotified,
    FeedbackKind,
    FeedbackReceived,
    FieldServiceRecordAmended,
    FieldServiceRecorded,
    FollowUpRecorded,
    ImportantInformationAcknowledged,
    ImportantInformationReported,
    MisuseDetermined,
    OnSiteServiceRequired,
    OnSiteVisitCompleted,
    QualityImpactAssessed,
    QualityNotified,
    ReplySent,
    TechnicianDispatched,
)
from csc_contracts.intake import OnSiteReason
from csc_forms import (
    CHANNELS,
    REMEDIES,
    TOTAL,
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
    file_safe,
    label,
    moment,
    stamp,
    who,
)

REGISTER_NUMBER, REGISTER_ATTACHMENT = "CSC-F-03", "附件3 Attachment 3"
REGISTER_TITLE = ("顾客信息登记表", "Customer Information Register")
WORK_RECORD_NUMBER, WORK_RECORD_ATTACHMENT = "CSC-F-02", "附件2 Attachment 2"
WORK_RECORD_TITLE = ("现场服务工作记录表", "Field Service Work Record")

# Labels in the procedure's own words ---------------------------------------------------------

# 4.1.2: the five kinds of customer information, as the procedure lists them.
FEEDBACK_KINDS: Labels = {
    FeedbackKind.CURRENT_PRODUCT_REQUIREMENTS: (
        "对现行产品的期望和要求",
        "expectations and requirements for current products",
    ),
    FeedbackKind.POTENTIAL_PRODUCT_REQUIREMENTS: (
        "对潜在产品的期望和要求",
        "expectations and requirements for potential products",
    ),
    FeedbackKind.QUALITY_PROBLEM: ("对产品质量问题的意见", "opinion on product quality problems"),
    FeedbackKind.QUALITY_COMMITMENT: (
        "对公司质量承诺执行情况的意见",
        "opinion on the keeping of quality commitments",
    ),
    FeedbackKind.SUGGESTION: (
        "对公司管理、服务和发展方面的建议和希望",
        "suggestions on management, service and development",
    ),
}
# 4.4.1: complaints about service, product quality, delivery.
COMPLAINT_CATEGORIES: Labels = {
    ComplaintCategory.SERVICE: ("投诉：服务", "complaint: service"),
    ComplaintCategory.QUALITY: ("投诉：产品质量", "complaint: product quality"),
    ComplaintCategory.DELIVERY: ("投诉：交付", "complaint: delivery"),
}
ON_SITE_REASONS: Labels = {
    OnSiteReason.NOT_SOLVED_BY_PHONE: ("电话内不能解决", "not solved by phone"),
    OnSiteReason.QUALITY_PROBLEM: ("产品质量问题", "product quality problem"),
}
RECORD_KINDS: Labels = {
    "daily": ("OEM现场服务 4.1.4", "daily OEM field service"),
    "visit": ("顾客访问 4.5", "customer visit"),
    "on_site": ("到达现场 4.2.2", "on-site service"),
}
YES, NO = bilingual("是", "Yes"), bilingual("否", "No")
ALL = ("全部", "all")
BLANK = ""
"""Printed where the history holds nothing and a person fills it in by hand."""


# The period ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def month(cls, text: str) -> Period:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
            raise ValueError(f"not a month: {text!r} (YYYY-MM, e.g. 2026-11)")
        year, month = int(text[:4]), int(text[5:])
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day)

    def contains(self, moment: date | datetime) -> bool:
        day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
        return self.start <= day <= self.end

    @property
    def label(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        last = calendar.monthrange(self.start.year, self.start.month)[1]
        if (self.start.day, self.end) == (1, self.start.replace(day=last)):
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    @property
    def slug(self) -> str:
        return self.label.replace(" – ", "_")


# Small helpers -----------------------------------------------------------------------------


def _actor(record: AuditRecord) -> dict[str, Any]:
    return dict(record.actor)


def _customer(ref: Any) -> dict[str, Any]:
    return {"code": ref.code, "name": ref.name, "timezone": ref.timezone}


def _key(raw: RawRecord) -> str | None:
    return raw.key.decode("utf-8", "replace") if raw.key is not None else None


def provenance(topics: Sequence[str], records: int, generated_at: datetime) -> str:
    return (
        f"Generated by csc audit from the event history on Kafka ({', '.join(topics)}: "
        f"{records} records read) at {stamp(generated_at)}; no service's database was consulted."
    )


# Att. 3: the Customer Information Register ---------------------------------------------------

ENTRY_TYPES = frozenset({FeedbackReceived.event_type(), ComplaintLogged.event_type()})


class RegisterFold:
    """Att. 3 rows: entries received in the period, and all later recorded on them.

    Holds the period's entries only; a later event of an entry is on the same
    partition (key = case id), after it, so one pass over the topic suffices.
    """

    def __init__(
        self, period: Period, *, customer: str | None = None, case_id: str | None = None
    ) -> None:
        self.period, self.customer, self.case_id = period, customer, case_id
        self._entries: dict[str, dict[str, Any]] = {}

    def wants(self, raw: RawRecord) -> bool:
        return header(raw, "ce_type") in ENTRY_TYPES or _key(raw) in self._entries

    def apply(self, record: AuditRecord) -> None:
        event, case = record.event, record.case_id
        if isinstance(event, FeedbackReceived | ComplaintLogged):
            if (
                self.period.contains(event.received_at)
                and self.customer in (None, event.customer.code)
                and self.case_id in (None, case)
            ):
                self._entries[str(case)] = self._new(record, event)
            return
        entry = self._entries.get(str(case))
        if entry is None or event is None:
            return
        self._apply(entry, record, event)

    @staticmethod
    def _new(record: AuditRecord, event: FeedbackReceived | ComplaintLogged) -> dict[str, Any]:
        complaint = isinstance(event, ComplaintLogged)
        return {
            "case_id": str(event.case_id),
            "entry_type": "complaint" if complaint else "feedback",
            "kind": event.kind.value if isinstance(event, FeedbackReceived) else None,
            "category": event.category.value if isinstance(event, ComplaintLogged) else None,
            "channel": event.channel.value,
            "receiving_department": event.receiving_department.value,
            "received_at": event.received_at.isoformat(),
            "recorded_at": event.occurred_at.isoformat(),
            "recorded_by": _actor(record),
            "customer": _customer(event.customer),
            "product": event.product,
            "lot": event.lot,
            "text": event.text,
            "engineering_notified": False,
            "important": None,
            "results": [],
            "handled_by": [],
            "closed": None,
        }

    def _apply(self, entry: dict[str, Any], record: AuditRecord, event: Any) -> None:
        at = event.occurred_at.isoformat()

        def result(zh: str, en: str, text: str, when: str = at) -> None:
            entry["results"].append({"at": when, "what": bilingual(zh, en), "text": text})

        def handled(name: str | None) -> None:
            # One line per person: "zhang.san" named as an engineer is the user already
            # listed as "zhang.san (售后服务 After-sales)".
            people = entry["handled_by"]
            if name and not any(p == name or p.startswith(f"{name} (") for p in people):
                people.append(name)

        if isinstance(event, EngineeringNotified):
            entry["engineering_notified"] = True  # 4.1.2
            return
        handled(who(record.actor))
        if isinstance(event, ImportantInformationReported):  # 4.1.3
            entry["important"] = {"reason": event.reason, "at": at, "acknowledged": None}
        elif isinstance(event, ImportantInformationAcknowledged):
            if entry["important"] is not None:
                entry["important"]["acknowledged"] = at
            result("总工已确认", "acknowledged by the Chief Engineer", event.comment or "")
        elif isinstance(event, ReplySent):  # 4.2.1
            result(
                "答复",
                "reply",
                f"{label(CHANNELS, event.channel.value)}: {event.summary}",
                event.replied_at.isoformat(),
            )
        elif isinstance(event, OnSiteServiceRequired):  # 4.2.2
            details = f" — {event.details}" if event.details else ""
            result("需到现场", "on site required",
                   label(ON_SITE_REASONS, event.reason.value) + details)  # fmt: skip
        elif isinstance(event, OnSiteVisitCompleted):
            for engineer in event.engineers:
                handled(engineer)
            result(
                "到达现场",
                "on site",
                f"{event.diagnosis} → {event.solution}",
                event.arrived_at.isoformat(),
            )
        elif isinstance(event, MisuseDetermined):  # 4.2.3
            result("使用不当", "misuse", event.finding)
        elif isinstance(event, TechnicianDispatched):
            handled(event.technician)
            result("派技术人员", "technician sent", f"{event.technician}: {event.purpose}")
        elif isinstance(event, QualityImpactAssessed):  # 4.4.2
            remedy = label(REMEDIES, event.remedial_measure.value)
            details = f" — {event.remedial_details}" if event.remedial_details else ""
            result(
                "影响及补救措施",
                "impact and remedy",
                f"{event.lines_stopped} 条线停产 lines stopped, {event.quantity_affected} "
                f"件受影响 units affected; {remedy}{details}",
            )
        elif isinstance(event, QualityNotified):
            result("已通知品管部", "QC notified", "")
        elif isinstance(event, FollowUpRecorded):  # 4.6
            result("跟进", f"follow-up {event.month}", event.result)
            if event.closed:
                entry["closed"] = {"at": at, "by": _actor(record)}

    def rows(self) -> list[dict[str, Any]]:
        entries = sorted(self._entries.values(), key=lambda e: (e["received_at"], e["recorded_at"]))
        return [{"no": n, **e} for n, e in enumerate(entries, start=1)]


# A4 portrait (csc_forms): seven columns, the narrow facts stacked in cells.
REGISTER_COLUMNS = (
    Column("序号 / 接收日期", "No. / received (UTC)", 60),
    Column("顾客 / 方式", "Customer / channel", 64),
    Column("信息类别", "Kind", 64),
    Column("内容", "Content", 94),
    Column("接收部门 / 登记人 / 处理人", "Received by / recorded by / handled by", 76),
    Column("答复 / 处理结果", "Reply / result", 95),
    Column("关闭", "Closed", 40),
)


def register_form(
    rows: Sequence[Mapping[str, Any]],
    *,
    period: Period,
    customer: str | None = None,
    footer: str = "",
) -> Form:
    """Att. 3 (4.1.2, 4.4.1, 4.6) as a form: one line per entry, then the entries' case ids."""
    table = [line for r in rows for line in spill(REGISTER_COLUMNS, _register_line(r))]
    index: list[list[Cell]] = [
        [
            r["no"],
            r["case_id"],
            YES if r["engineering_notified"] else NO,
            _important(r["important"]),
        ]
        for r in rows
    ]
    open_entries = sum(1 for r in rows if not r["closed"])
    return Form(
        title_zh=REGISTER_TITLE[0],
        title_en=REGISTER_TITLE[1],
        number=REGISTER_NUMBER,
        attachment=REGISTER_ATTACHMENT,
        fields=[
            HeaderField("期间", "Period", period.label),
            HeaderField("顾客", "Customer", customer or bilingual(*ALL)),
            HeaderField("登记条数", "Entries", len(rows)),
            HeaderField("未关闭", "Still open", open_entries),
        ],
        sections=[
            Section("登记", "Entries", REGISTER_COLUMNS, table),
            Section(
                "案件索引",
                "Case index",
                [
                    Column("序号", "No.", 0.6),
                    Column("案件", "Case", 4.2),
                    Column("已通知工程部 4.1.2", "Engineering notified", 1.4),
                    Column("重要信息 4.1.3", "Important information", 2),
                ],
                index,
            ),
        ],
        signatures=(
            Signature("登记人（市场部）", "Recorded by (Marketing)"),
            Signature("审核", "Reviewed by"),
        ),
        footer=footer,
    )


def _register_line(row: Mapping[str, Any]) -> list[Cell]:
    kind = (
        label(COMPLAINT_CATEGORIES, row["category"])
        if row["entry_type"] == "complaint"
        else label(FEEDBACK_KINDS, row["kind"])
    )
    content = [row["text"]]
    content += [
        f"{bilingual(zh, en)}: {row[key]}"
        for key, zh, en in (("product", "产品", "Product"), ("lot", "批号", "Lot"))
        if row[key]
    ]
    if row["important"]:
        content.append(f"{bilingual('重要', 'Important')} 4.1.3: {row['important']['reason']}")
    people = [
        f"{bilingual('接收', 'Received')}: {department(row['receiving_department'])}",
        f"{bilingual('登记', 'Recorded')}: {who(row['recorded_by'])}",
    ]
    if row["handled_by"]:
        people.append(f"{bilingual('处理', 'Handled')}: " + "; ".join(row["handled_by"]))
    results = [
        f"{moment(r['at'])} {r['what']}" + (f": {r['text']}" if r["text"] else "")
        for r in row["results"]
    ]
    closed = row["closed"]
    return [
        f"{row['no']}\n{_stacked(row['received_at'])}",
        f"{customer_text(row['customer'])}\n{label(CHANNELS, row['channel'])}",
        kind,
        "\n".join(content),
        "\n".join(people),
        "\n".join(results) or None,
        YES if closed else NO,  # when: the follow-up's line (4.6)
    ]


def _stacked(value: str) -> str:
    """A time on two short lines, date over time, for a narrow column."""
    return (moment(value) or "").replace(" ", "\n")


def _important(important: Mapping[str, Any] | None) -> str | None:
    if not important:
        return None
    reported = f"{bilingual('已报告总工', 'reported')} {moment(important['at'])}"
    if important["acknowledged"]:
        acknowledged = moment(important["acknowledged"])
        reported += f"\n{bilingual('总工已确认', 'acknowledged')} {acknowledged}"
    return reported


def register_name(period: Period, customer: str | None = None) -> str:
    """The documents' file name, without its extension."""
    suffix = f"-{file_safe(customer)}" if customer else ""
    return f"customer-information-register-{period.slug}{suffix}"


# Att. 2: the Field Service Work Record -------------------------------------------------------

WORK_TYPES = frozenset(
    {
        FieldServiceRecorded.event_type(),
        CustomerVisited.event_type(),
        FieldServiceRecordAmended.event_type(),
        OnSiteVisitCompleted.event_type(),
    }
)


@dataclass(frozen=True)
class Selection:
    """Which field service an att. 2 covers: a period, and any of engineer, site, customer."""

    period: Period
    engineer: str | None = None
    site: str | None = None
    customer: str | None = None
    record_id: str | None = None

    def matches(self, row: Mapping[str, Any]) -> bool:
        return (
            self.period.contains(date.fromisoformat(row["work_date"]))
            and self.engineer in (None, *row["engineers"])
            and self.site in (None, row["site"])
            and self.customer in (None, (row["customer"] or {}).get("code"))
            and self.record_id in (None, row["record_id"])
        )

    @property
    def slug(self) -> str:
        parts = [self.period.slug, self.customer, self.site, self.engineer]
        return "-".join(file_safe(p) for p in parts if p)


class FieldServiceFold:
    """Att. 2 rows: field service records (4.1.4, 4.5) and on-site visits (4.2.2) selected.

    Keeps the selected records, and of every register entry only its customer
    (a 4.2.2 visit names its case, not the customer).
    """

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self._rows: dict[str, dict[str, Any]] = {}
        self._customers: dict[str, dict[str, Any]] = {}

    def wants(self, raw: RawRecord) -> bool:
        ce_type = header(raw, "ce_type")
        return ce_type in WORK_TYPES or ce_type in ENTRY_TYPES

    def apply(self, record: AuditRecord) -> None:
        event, case = record.event, str(record.case_id)
        if isinstance(event, FeedbackReceived | ComplaintLogged):
            self._customers[case] = _customer(event.customer)
        elif isinstance(event, FieldServiceRecorded | CustomerVisited):
            self._keep(self._record_row(record, event))
        elif isinstance(event, FieldServiceRecordAmended):
            self._amend(record, event)
        elif isinstance(event, OnSiteVisitCompleted):
            self._keep(self._visit_row(record, event))

    def _keep(self, row: dict[str, Any]) -> None:
        if self.selection.matches(row):
            self._rows[row["record_id"]] = row

    @staticmethod
    def _record_row(
        record: AuditRecord, event: FieldServiceRecorded | CustomerVisited
    ) -> dict[str, Any]:
        visit = isinstance(event, CustomerVisited)
        fields = event.model_dump(mode="json")
        return {
            "record_id": str(event.case_id),
            "kind": "visit" if visit else "daily",
            "work_date": event.work_date.isoformat(),
            "engineers": [event.engineer],
            "customer": _customer(event.customer),
            "site": event.site,
            "arrived_at": fields.get("arrived_at"),
            "departed_at": fields.get("departed_at"),
            "units_loaded": fields.get("units_loaded", []),
            "problems": fields.get("problems"),
            "actions": fields.get("actions"),
            "survey": fields.get("survey"),
            "product_use": fields.get("product_use"),
            "technical_consulting": fields.get("technical_consulting"),
            "recorded_at": event.occurred_at.isoformat(),
            "recorded_by": _actor(record),
            "amendments": [],
        }

    def _amend(self, record: AuditRecord, event: FieldServiceRecordAmended) -> None:
        # The amendment carries every value anew; the row keeps what each replaced.
        case = str(event.case_id)
        new = event.model_dump(mode="json")
        values = {
            "work_date": new["work_date"],
            "engineers": [new["engineer"]],
            "customer": _customer(event.customer),
            "site": new["site"],
            "arrived_at": new.get("arrived_at"),
            "departed_at": new.get("departed_at"),
            "units_loaded": new["units_loaded"],
            "problems": new["problems"],
            "actions": new["actions"],
        }
        row = self._rows.pop(case, None)
        if row is None:  # recorded outside the selection, amended into it
            row = {
                "record_id": case,
                "kind": "daily",
                "survey": None,
                "product_use": None,
                "technical_consulting": None,
                "recorded_at": None,
                "recorded_by": None,
                "amendments": [],
                **values,
            }
        before = {k: row[k] for k in values if row.get(k) != values[k]}
        row.update(values)
        row["amendments"].append(
            {
                "at": event.occurred_at.isoformat(),
                "by": _actor(record),
                "reason": event.reason,
                "before": before,
            }
        )
        self._keep(row)

    def _visit_row(self, record: AuditRecord, event: OnSiteVisitCompleted) -> dict[str, Any]:
        customer = self._customers.get(str(event.case_id))
        zone = ZoneInfo((customer or {}).get("timezone") or "UTC")
        return {
            "record_id": str(event.case_id),
            "kind": "on_site",
            "work_date": event.arrived_at.astimezone(zone).date().isoformat(),
            "engineers": list(event.engineers),
            "customer": customer,
            "site": None,
            "arrived_at": event.arrived_at.isoformat(),
            "departed_at": event.departed_at.isoformat() if event.departed_at else None,
            "units_loaded": [],
            "problems": event.diagnosis,
            "actions": event.solution,
            "survey": None,
            "product_use": None,
            "technical_consulting": None,
            "recorded_at": event.occurred_at.isoformat(),
            "recorded_by": _actor(record),
            "amendments": [],
        }

    def rows(self) -> list[dict[str, Any]]:
        return sorted(
            self._rows.values(),
            key=lambda r: (r["work_date"], r["engineers"], r["site"] or "", r["record_id"]),
        )


WORK_COLUMNS = (
    Column("日期 / 类别", "Date / kind", 62),
    Column("服务人员", "Engineer", 56),
    Column("顾客 / 现场", "Customer / site", 80),
    Column("到达 / 离开", "Arrival / departure", 56),
    Column("发生的问题", "Problems found", 118),
    Column("工作内容及结果", "Work done and result", 121),
)


AMENDMENT_COLUMNS = (
    Column("日期", "Date", 1),
    Column("修改时间", "Amended (UTC)", 1.2),
    Column("修改人", "By", 1.4),
    Column("原因", "Reason", 2),
    Column("修改前", "Before", 2.4),
)


def field_service_form(
    rows: Sequence[Mapping[str, Any]], *, selection: Selection, footer: str = ""
) -> Form:
    """Att. 2 (4.1.4, 4.5, 4.2.2): the work, the units loaded, amendments, two signatures."""
    everyone = bilingual(*ALL)
    units: list[list[Cell]] = [
        [r["work_date"], ", ".join(r["engineers"]), r["site"], u["model"], u["quantity"]]
        for r in rows
        for u in r["units_loaded"]
    ]
    if units:
        total = sum(int(u[-1] or 0) for u in units)
        units.append([TOTAL, None, None, None, total])
    work = [line for r in rows for line in spill(WORK_COLUMNS, _work_line(r))]
    amendments = [
        line
        for r in rows
        for a in r["amendments"]
        for line in spill(
            AMENDMENT_COLUMNS,
            [r["work_date"], moment(a["at"]), who(a["by"]), a["reason"], _before(a["before"], r)],
        )
    ]
    return Form(
        title_zh=WORK_RECORD_TITLE[0],
        title_en=WORK_RECORD_TITLE[1],
        number=WORK_RECORD_NUMBER,
        attachment=WORK_RECORD_ATTACHMENT,
        fields=[
            HeaderField("服务人员", "Engineer", selection.engineer or everyone),
            HeaderField("日期", "Date", selection.period.label),
            HeaderField("顾客", "Customer", selection.customer or everyone),
            HeaderField("现场", "Site", selection.site or everyone),
            HeaderField("记录数", "Records", len(rows)),
        ],
        sections=[
            Section("工作记录", "Work record", WORK_COLUMNS, work),
            Section(
                "装车情况 4.1.4",
                "Vehicles / units loaded",
                [
                    Column("日期", "Date", 1),
                    Column("服务人员", "Engineer", 1.2),
                    Column("现场", "Site", 1.6),
                    Column("车型", "Model", 1.6),
                    Column("数量", "Quantity", 0.8),
                ],
                units,
            ),
            Section("修改记录", "Amendments", AMENDMENT_COLUMNS, amendments),
        ],
        signatures=(
            Signature("服务人员签字", "Engineer's signature"),
            Signature("顾客签字", "Customer's signature"),
            Signature("审核", "Reviewed by"),
        ),
        footer=footer,
    )


def _work_line(row: Mapping[str, Any]) -> list[Cell]:
    problems = [row["problems"]] if row["problems"] else []
    work = [row["actions"]] if row["actions"] else []
    for key, zh, en, into in (
        ("survey", "顾客意见", "Customer's opinion", problems),
        ("product_use", "产品使用情况", "Product use", problems),
        ("technical_consulting", "技术咨询和服务", "Technical consulting", work),
    ):
        if row[key]:
            into.append(f"{bilingual(zh, en)}: {row[key]}")
    place = [customer_text(row["customer"]), row["site"]]
    # Arrival and departure are printed where the history has them (4.2.2's arrival);
    # otherwise the line is left for the engineer to fill in on the printed record.
    zone = (row["customer"] or {}).get("timezone")
    day = row["work_date"]
    arrived, departed = _clock(row["arrived_at"], zone, day), _clock(row["departed_at"], zone, day)
    times = "\n".join(
        f"{bilingual(zh, en)}: {t}"
        for zh, en, t in (("到达", "arrived", arrived), ("离开", "left", departed))
        if t
    )
    return [
        f"{row['work_date']}\n{label(RECORD_KINDS, row['kind'])}",
        ", ".join(row["engineers"]),
        "\n".join(p for p in place if p) or None,
        times or BLANK,
        "\n".join(problems) or None,
        "\n".join(work) or None,
    ]


def _clock(value: str | None, zone: str | None, day: str | None = None) -> str | None:
    """A time of day at the site (its zone as archived), else in UTC; with its date when
    that is not ``day`` (a stay past midnight)."""
    if not value:
        return None
    local = datetime.fromisoformat(value).astimezone(ZoneInfo(zone or "UTC"))
    return local.strftime("%H:%M %Z" if local.date().isoformat() == day else "%Y-%m-%d %H:%M %Z")


RECORD_FIELDS: Labels = {
    "work_date": ("日期", "Date"),
    "engineers": ("服务人员", "Engineer"),
    "customer": ("顾客", "Customer"),
    "site": ("现场", "Site"),
    "arrived_at": ("到达", "Arrived"),
    "departed_at": ("离开", "Left"),
    "units_loaded": ("装车情况", "Units loaded"),
    "problems": ("发生的问题", "Problems found"),
    "actions": ("工作内容", "Work done"),
}


def _before(before: Mapping[str, Any], row: Mapping[str, Any]) -> str | None:
    zone = (row["customer"] or {}).get("timezone")

    def show(key: str, value: Any) -> str:
        if key in ("arrived_at", "departed_at"):
            return _clock(value, zone, row["work_date"]) or "—"
        if isinstance(value, list):
            return ", ".join(
                f"{v['model']} × {v['quantity']}" if isinstance(v, Mapping) else str(v)
                for v in value
            )
        if isinstance(value, Mapping):
            return customer_text(value) or ""
        return "—" if value is None else str(value)

    return "\n".join(f"{label(RECORD_FIELDS, k)}: {show(k, v)}" for k, v in before.items()) or None


def field_service_name(selection: Selection) -> str:
    """The documents' file name, without its extension."""
    return f"field-service-work-record-{selection.slug}"
