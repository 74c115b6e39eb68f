"""What a notification says, in the recipient's language (zh-CN or en). Pure: no I/O.

A message is built from the public event it tells of (kept in the notification
as the event's JSON) and the recipient's entry in the directory.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("zh-CN", "en")

# ce_type name -> (zh-CN, en) headline.
TITLES: dict[str, tuple[str, str]] = {
    "EngineeringNotified": ("新的顾客信息已通知工程部", "Customer information for Engineering"),
    "ImportantInformationReported": (
        "重要信息报告总工",
        "Important information for the Chief Engineer",
    ),
    "QualityNotified": ("产品质量投诉通知品管部", "Product-quality complaint for QC"),
    "ReturnConfirmationRequested": ("整批退货请品管部确认", "Whole-batch return: QC to confirm"),
    "ReturnReceiptAuthorized": ("请仓务部接收退货", "Warehouse to receive returned goods"),
    "ReturnReceived": (
        "退货已入库,请品管部现场确认并取样",
        "Returned goods are in: QC to confirm and sample",
    ),
    "ClockWarned": ("时限即将到期", "Deadline approaching"),
    "ClockBreached": ("时限已超期", "Deadline breached"),
    "ClockEscalated": ("超期升级", "Deadline escalated"),
}

CLOCKS: dict[str, tuple[str, str]] = {
    "reply": ("8小时内答复", "reply within 8 hours"),
    "on_site": ("8小时内到达现场", "on site within 8 hours"),
    "important_ack": ("总工确认重要信息", "Chief Engineer's acknowledgement"),
    "qc_contact": ("品管部联系顾客", "QC's contact with the customer"),
}

LABELS: dict[str, tuple[str, str]] = {
    "clause": ("条款", "Clause"),
    "customer": ("顾客", "Customer"),
    "product": ("产品", "Product"),
    "lot": ("批次", "Lot"),
    "clock": ("时限", "Deadline"),
    "at": ("时间", "At"),
    "text": ("内容", "Text"),
    "reason": ("原因", "Reason"),
    "quantity": ("数量", "Quantity"),
    "case": ("案件", "Case"),
    "open": ("在控制台打开案件", "Open the case in the console"),
    "greeting": ("您好", "Hello"),
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    markdown: str
    link: str


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "zh-CN" else pair[1]


def _when(value: str, zone: str) -> str:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def render(
    about: dict[str, Any], clause: str, recipient: dict[str, Any], console_url: str
) -> Message:
    language = recipient.get("language", "zh-CN")
    zone = (recipient.get("quiet_hours") or {}).get("timezone") or "Asia/Shanghai"
    name = about["type"].split(".")[2]
    fields: dict[str, Any] = about["fields"]
    title = _pick(TITLES.get(name, (name, name)), language)
    customer = fields.get("customer") or {}
    ref = customer.get("name") or customer.get("code")
    case = str(about["case_id"])
    subject = f"[CSC {clause}] {title}" + (f" · {ref}" if ref else "") + f" · {case[:8]}"
    facts: list[tuple[str, str]] = [(_pick(LABELS["clause"], language), clause)]
    if ref:
        facts.append((_pick(LABELS["customer"], language), f"{ref} ({customer.get('code')})"))
    for key in ("product", "lot", "quantity"):
        if fields.get(key) is not None:
            facts.append((_pick(LABELS[key], language), str(fields[key])))
    if fields.get("clock"):
        facts.append((_pick(LABELS["clock"], language), _pick(CLOCKS[fields["clock"]], language)))
    if fields.get("at"):
        facts.append((_pick(LABELS["at"], language), _when(fields["at"], zone)))
    for key in ("text", "reason"):
        if fields.get(key):
            value = str(fields[key])
            facts.append((_pick(LABELS[key], language), value[:500]))
    facts.append((_pick(LABELS["case"], language), case))
    link = f"{console_url.rstrip('/')}/cases/{case}"
    open_label = _pick(LABELS["open"], language)
    greeting = f"{_pick(LABELS['greeting'], language)} {recipient['name']},"
    text = "\n".join(
        [greeting, "", title, "", *(f"{k}: {v}" for k, v in facts), "", f"{open_label}: {link}"]
    )
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in facts
    )
    lang = "zh-CN" if language == "zh-CN" else "en"
    body_html = (
        f"<!doctype html><html lang='{lang}'><body><p>{html.escape(greeting)}</p>"
        f"<h2>{html.escape(title)}</h2><table>{rows}</table>"
        f"<p><a href='{html.escape(link)}'>{html.escape(open_label)}</a></p></body></html>"
    )
    markdown = "\n".join(
        [f"### {title}", *(f"> **{k}**: {v}" for k, v in facts), f"[{open_label}]({link})"]
    )
    return Message(subject=subject, text=text, html=body_html, markdown=markdown, link=link)
