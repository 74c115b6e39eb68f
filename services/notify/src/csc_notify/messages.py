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

from csc_notify.domain.digests import DIGEST_TYPE

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


DIGEST: dict[str, tuple[str, str]] = {
    "title": ("今日时限提醒", "Deadlines this morning"),
    "due_soon": ("{hours:g} 小时内到期", "Due within {hours:g} h"),
    "breached": ("已超期且尚未完成", "Breached and still open"),
    "due": ("到期", "due"),
    "breached_at": ("超期于", "breached"),
    "none": ("无", "none"),
}
DEPARTMENTS: dict[str, tuple[str, str]] = {
    "marketing": ("市场部", "Marketing"),
    "after_sales": ("售后服务部", "After-sales service"),
    "quality": ("品管部", "Quality (QC)"),
    "chief_engineer": ("总工程师", "Chief Engineer"),
}


def render(
    about: dict[str, Any], clause: str, recipient: dict[str, Any], console_url: str
) -> Message:
    if about["type"] == DIGEST_TYPE:
        return render_digest(about, clause, recipient, console_url)
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


def render_digest(
    about: dict[str, Any], clause: str, recipient: dict[str, Any], console_url: str
) -> Message:
    """The morning digest (issue 19): a department's clocks due soon and those breached."""
    language = recipient.get("language", "zh-CN")
    zone = (recipient.get("quiet_hours") or {}).get("timezone") or "Asia/Shanghai"
    fields: dict[str, Any] = about["fields"]
    department = fields["department"]
    title = _pick(DIGEST["title"], language)
    who = _pick(DEPARTMENTS.get(department, (department, department)), language)
    due_soon, breached = fields["due_soon"], fields["breached"]
    subject = (
        f"[CSC {clause}] {title} · {who} · {fields['day']} ({len(due_soon)} · {len(breached)})"
    )
    base = console_url.rstrip("/")
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for key, items, moment in (
        ("due_soon", due_soon, "due"),
        ("breached", breached, "breached_at"),
    ):
        heading = _pick(DIGEST[key], language).format(hours=fields["hours"])
        lines = []
        for item in items:
            at = item["breached_at"] if moment == "breached_at" else item["due_at"]
            parts = [
                f"{_pick(CLOCKS[item['clock']], language)} ({item['clause']})",
                *([str(item["customer"])] if item.get("customer") else []),
                f"{_pick(DIGEST[moment], language)} {_when(at, zone)}",
            ]
            lines.append((" · ".join(parts), f"{base}/cases/{item['case_id']}"))
        sections.append((f"{heading} ({len(items)})", lines))
    greeting = f"{_pick(LABELS['greeting'], language)} {recipient['name']},"
    none = _pick(DIGEST["none"], language)
    text_lines = [greeting, "", f"{title} · {who} · {fields['day']}"]
    md_lines = [f"### {title} · {who} · {fields['day']}"]
    html_parts = [
        f"<p>{html.escape(greeting)}</p><h2>{html.escape(title)} · {html.escape(who)}</h2>"
    ]
    for heading, lines in sections:
        text_lines += ["", heading, *(f"- {t}: {link}" for t, link in lines or [(none, base)])]
        md_lines += [f"**{heading}**", *(f"> [{t}]({link})" for t, link in lines)]
        items_html = "".join(
            f"<li><a href='{html.escape(link)}'>{html.escape(t)}</a></li>" for t, link in lines
        )
        items_html = items_html or f"<li>{html.escape(none)}</li>"
        html_parts.append(f"<h3>{html.escape(heading)}</h3><ul>{items_html}</ul>")
    lang = "zh-CN" if language == "zh-CN" else "en"
    body_html = f"<!doctype html><html lang='{lang}'><body>{''.join(html_parts)}</body></html>"
    return Message(
        subject=subject,
        text="\n".join(text_lines),
        html=body_html,
        markdown="\n".join(md_lines),
        link=f"{base}/",
    )
