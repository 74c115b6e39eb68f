"""The CAPA report in the format 4.3.4 asks for: the customer's own, an 8D, or the company's CPAR.

"Where the customer has its own report format, QC uses it; where the customer
asks for 8D, an 8D is run; otherwise the company's own Corrective/Preventive
Request Form records it." One CAPA, as the capa read model serves it
(``GET /capas/{case_id}``), prints three ways, each as PDF and XLSX through
``csc_forms``:

- ``eight_d_form``: the 8D report, D0 to D8;
- ``cpar_form``: the company's Corrective/Preventive Action Request form
  (纠正/预防措施要求单; the procedure calls it 纠正预防要求表), the same facts
  in the internal form's order;
- ``customer_form``: the customer's own layout, from a Jinja2 template the
  customer's format was registered with.

The customer's template
-----------------------
A template is rendered in Jinja2's immutable sandbox with ``StrictUndefined``
and no autoescaping. It sees ``capa`` (the CAPA, as above) and ``now`` (when
the report is generated, a UTC ``datetime``), and three filters:
``department`` (``quality`` -> ``品管部 Quality``), ``moment`` (an ISO time ->
``2026-11-24 09:00``, UTC) and ``day`` (an ISO time or date -> ``2026-11-24``).

What it renders is read line by line into the same form model as the other
two formats:

- ``# 中文标题 | English title`` starts a section: a two-column table of
  items and details;
- ``中文标签 | English label: value`` is a line of the current section, or a
  header field of the form before the first section (a full-width ``：``
  works as the colon too);
- any other line is a note: a row of the current section with no label;
- blank lines are ignored, so loops and conditions need no whitespace control.

Only the template's own text makes the layout: whatever ``{{ ... }}`` prints
(a description with newlines, a colon or a ``#``) stays one value. A section
with no lines prints "无 None". Something not recorded yet (``capa.closure``
before closure, ``capa.d4[-1]`` before a root cause) prints as "—", and so
does anything read from it, so a template renders at every stage of a CAPA;
a name the CAPA does not have (a typo) is an error. ``validate_template``
renders a template against ``SAMPLE_CAPA`` before it is registered and names
the line of what is wrong.

A template's cost is bounded, so no customer's format can stall capa: it is
at most 65,536 characters, its loops nest at most two deep (a loop in a loop; a
``recursive`` loop is refused), and one render takes at most ``MAX_STEPS``
steps (each loop iteration, call and filter is one), makes no value longer
than ``MAX_VALUE`` characters or items and no report longer than
``MAX_OUTPUT``. A template over any bound is refused when it is registered,
saying which bound; to find the ones only a large CAPA reaches, it is also
rendered against ``LARGE_SAMPLE_CAPA``, the sample with every list many times
over. The example, ``EXAMPLE_TEMPLATE``::

"""

from __future__ import annotations

import functools
import re
import string
import textwrap
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from csc_capa.commands import MAX_TEMPLATE_CHARS  # the request's maxLength
from csc_contracts import Department
from csc_contracts.intake import RemedialMeasure
from csc_forms import (
    DEPARTMENTS,
    EMPTY_CELL,
    PREPARED_REVIEWED_APPROVED,
    Cell,
    Column,
    Form,
    HeaderField,
    Labels,
    Section,
    Signature,
    bilingual,
    label,
)

EIGHT_D_NUMBER = "CSC-F-8D"
CPAR_NUMBER = "CSC-F-CPAR"
CUSTOMER_NUMBER = "CSC-F-CUSTOMER"
CLAUSE = "4.3.4"
EIGHT_D_TITLE = ("8D 报告", "8D Report")
CPAR_TITLE = ("纠正/预防措施要求单", "Corrective/Preventive Action Request")
CUSTOMER_TITLE = ("纠正预防措施报告（顾客格式）", "Corrective and Preventive Action Report")

STATUSES: Labels = {
    "investigating": ("调查中", "investigating"),
    "not_confirmed": ("未确认", "not confirmed"),
    "misuse": ("客户误用", "customer misuse"),
    "confirmed": ("已确认", "confirmed"),
    "in_progress": ("进行中", "in progress"),
    "closed": ("已结案", "closed"),
}
SOURCES: Labels = {
    "complaint": ("顾客投诉 4.4", "customer complaint"),
    "pnpr": ("退货不合格处理报告 4.3.3", "PNPR of returned goods"),
}
OUTCOMES: Labels = {
    "confirmed": ("确认属实", "confirmed"),
    "not_confirmed": ("未确认", "not confirmed"),
    "misuse": ("客户误用", "customer misuse"),
}
ACTION_KINDS: Labels = {
    "corrective": ("纠正", "corrective"),
    "preventive": ("预防", "preventive"),
}
ACTION_STATUSES: Labels = {
    "open": ("未完成", "open"),
    "implemented": ("已实施", "implemented"),
}
DOCUMENT_KINDS: Labels = {
    "standard": ("标准", "standard"),
    "fmea": ("失效模式分析", "FMEA"),
    "control_plan": ("控制计划", "control plan"),
    "work_instruction": ("作业指导书", "work instruction"),
    "drawing": ("图纸", "drawing"),
    "specification": ("规格书", "specification"),
}
REMEDIES: Labels = {
    RemedialMeasure.REWORK_ON_SITE: ("至客户处返工", "rework at the customer"),
    RemedialMeasure.REPAIR_ON_SITE: ("至客户处返修", "repair at the customer"),
    RemedialMeasure.SWAP_UNITS: ("合格品换不合格品", "good units for bad ones"),
    RemedialMeasure.OTHER: ("其他", "other"),
}
YES, NO = ("是", "Yes"), ("否", "No")
OVERDUE = ("逾期", "overdue")
LEADER, MEMBER = ("组长", "Leader"), ("组员", "Member")
RECORDED = ("记录", "Recorded")
NOTE = ("说明", "Note")
# D2 in 5W2H, as the team writes it.
FIVE_W_TWO_H = (
    ("what", "什么", "What"),
    ("where", "何地", "Where"),
    ("when", "何时", "When"),
    ("who", "何人", "Who"),
    ("why", "为何", "Why"),
    ("how", "如何", "How"),
    ("how_many", "多少", "How many"),
)
DISCIPLINES = {
    "d0": ("D0 紧急响应措施", "D0 Emergency response"),
    "d1": ("D1 成立小组", "D1 Team"),
    "d2": ("D2 问题描述（5W2H）", "D2 Problem description (5W2H)"),
    "d3": ("D3 临时遏制措施", "D3 Interim containment"),
    "d4": ("D4 根本原因分析", "D4 Root cause analysis"),
    "d5": ("D5 永久纠正措施", "D5 Permanent corrective actions"),
    "d6": ("D6 实施与验证", "D6 Implementation and validation"),
    "verification": ("效果验证", "Verification of effectiveness"),
    "d7": ("D7 预防再发生", "D7 Prevent recurrence"),
    "d8": ("D8 小组祝贺/结案", "D8 Team recognition and closure"),
}
CPAR_SECTIONS = {
    "problem": ("问题描述", "Problem"),
    "source": ("问题来源", "Source"),
    "finding": ("不合格确认", "Nonconformity found"),
    "team": ("责任小组", "Team"),
    "containment": ("应急及临时措施", "Emergency response and containment"),
    "cause": ("原因分析", "Cause analysis"),
    "corrective": ("纠正措施", "Corrective action"),
    "preventive": ("预防措施", "Preventive action"),
    "documents": ("预防措施：文件更新", "Preventive action: documents updated"),
    "verification": ("效果验证", "Verification of effectiveness"),
    "closure": ("结案", "Closure"),
}
EIGHT_D_SIGNATURES = (
    Signature("组长", "Team leader"),
    Signature("审核", "Reviewed by"),
    Signature("批准", "Approved by"),
)

ITEM, DETAILS = Column("项目", "Item", 1.8), Column("内容", "Details", 5)
BY, TIME = Column("人员", "By", 1.6), Column("时间", "Time (UTC)", 1.3)
ROUND = Column("轮次", "Round", 0.8)
NUMBER = Column("编号", "No.", 0.6)


# The 8D ------------------------------------------------------------------------------------


def eight_d_form(
    capa: Mapping[str, Any], *, digest: str, position: int, generated_at: datetime
) -> Form:
    return Form(
        title_zh=EIGHT_D_TITLE[0],
        title_en=EIGHT_D_TITLE[1],
        number=EIGHT_D_NUMBER,
        attachment=CLAUSE,
        fields=_header(capa),
        sections=[
            _d0(capa),
            _d1(capa),
            _d2(capa),
            _d3(capa),
            _d4(capa, DISCIPLINES["d4"]),
            _d5(capa),
            _d6(capa),
            _verification(capa, DISCIPLINES["verification"]),
            _d7(capa, DISCIPLINES["d7"]),
            _closure(capa, DISCIPLINES["d8"]),
        ],
        signatures=EIGHT_D_SIGNATURES,
        footer=_footer(capa, digest, position, generated_at),
    )


def _d0(capa: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = []
    impact = capa["impact"]
    if impact:
        # 4.4.2: what the customer needed to keep producing.
        rows.append(
            [bilingual("顾客影响及补救措施 4.4.2", "Impact and remedial measure 4.4.2"),
             _impact(impact), None, None]
        )  # fmt: skip
    rows += [
        [bilingual("紧急措施", "Emergency action"), d["actions"], _who(d["actor"]),
         _moment(d["at"])]
        for d in capa["d0"]
    ]  # fmt: skip
    return _section(DISCIPLINES["d0"], [ITEM, Column("措施", "Actions", 4), BY, TIME], rows)


def _d1(capa: Mapping[str, Any]) -> Section:
    team = capa["team"]
    rows: list[list[Cell]] = []
    if team:
        leader = team["leader"]
        rows.append([bilingual(*LEADER), leader["name"], _department(leader["department"]), None])
        rows += [
            [bilingual(*MEMBER), m["name"], _department(m["department"]), m.get("role")]
            for m in team["members"]
        ]
    columns = [
        Column("角色", "Team role", 1),
        Column("姓名", "Name", 1.6),
        Column("部门", "Department", 1.6),
        Column("职责", "Responsibility", 2.4),
    ]
    return _section(DISCIPLINES["d1"], columns, rows)


def _d2(capa: Mapping[str, Any]) -> Section:
    return _section(DISCIPLINES["d2"], [ITEM, DETAILS], _problem_rows(capa))


def _problem_rows(capa: Mapping[str, Any]) -> list[list[Cell]]:
    """What the customer said, then the 5W2H: its rows print even before D2 is recorded."""
    d2 = capa["d2"] or {}
    rows: list[list[Cell]] = [[bilingual("顾客反映", "Customer's report"), capa["description"]]]
    rows += [[bilingual(zh, en), d2.get(key)] for key, zh, en in FIVE_W_TWO_H]
    if d2:
        rows.append([bilingual(*RECORDED), _recorded(d2)])
    return rows


def _d3(capa: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [d["actions"], d["scope"], d["quantity"], _who(d["actor"]), _moment(d["at"])]
        for d in capa["d3"]
    ]
    columns = [
        Column("遏制措施", "Containment actions", 3),
        Column("范围", "Scope", 2),
        Column("数量", "Quantity", 0.9),
        BY,
        TIME,
    ]
    return _section(DISCIPLINES["d3"], columns, rows)


def _d4(capa: Mapping[str, Any], title: tuple[str, str]) -> Section:
    # Every round, the latest last: a reopened CAPA shows why its first cause was wrong.
    # A cause is a sentence or more: it gets the width of the page, not a narrow column.
    rows: list[list[Cell]] = []
    for d in sorted(capa["d4"], key=lambda d: (d["round"], d["at"])):
        rows += [
            [d["round"], bilingual("根本原因", "Root cause"), d["root_cause"]],
            [d["round"], bilingual("流出点", "Escape point"), d["escape_point"]],
            [d["round"], bilingual("分析方法", "Method"), d["method"]],
            [d["round"], bilingual(*RECORDED), _recorded(d)],
        ]
    return _section(title, [ROUND, ITEM, DETAILS], rows)


def _d5(capa: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [a["action_no"], a["round"], label(ACTION_KINDS, a["kind"]), a["description"],
         a["owner"]["name"], _department(a["owner"]["department"]), a["due"]]
        for a in capa["actions"]
    ]  # fmt: skip
    columns = [
        NUMBER,
        ROUND,
        Column("类别", "Kind", 1.1),
        Column("措施", "Action", 3),
        Column("负责人", "Owner", 1.3),
        Column("部门", "Department", 1.3),
        Column("完成期限", "Due", 1.1),
    ]
    return _section(DISCIPLINES["d5"], columns, rows)


def _d6(capa: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [a["action_no"], a["implemented_on"], a["validation"], a["overdue_days"], _status(a)]
        for a in capa["actions"]
    ]
    columns = [
        NUMBER,
        Column("实施日期", "Implemented on", 1.2),
        Column("实施验证", "Validation", 4),
        Column("逾期天数", "Days overdue", 0.9),
        Column("状态", "Status", 1.2),
    ]
    return _section(DISCIPLINES["d6"], columns, rows)


def _verification(capa: Mapping[str, Any], title: tuple[str, str]) -> Section:
    reopened = {r["round"]: r for r in capa["reopenings"]}
    rows: list[list[Cell]] = []
    for v in sorted(capa["verifications"], key=lambda v: (v["round"], v["at"])):
        result = v["result"]
        again = reopened.get(v["round"] + 1)
        if not v["effective"] and again:
            # Ineffective actions send the CAPA back to root cause (4.3.4).
            n = again["round"]
            result += (
                f"\n{bilingual(f'第{n}轮重新分析', f'reopened, round {n}')}: {again['reason']}"
            )
        effective = bilingual(*(YES if v["effective"] else NO))
        rows.append(
            [v["round"], v["verified_on"], v["method"], result, effective, _who(v["actor"])]
        )
    columns = [
        ROUND,
        Column("验证日期", "Verified on", 1.3),
        Column("验证方法", "Method", 1.7),
        Column("验证结果", "Result", 3.6),
        Column("有效", "Effective", 0.9),
        BY,
    ]
    return _section(title, columns, rows)


def _d7(capa: Mapping[str, Any], title: tuple[str, str]) -> Section:
    rows: list[list[Cell]] = []
    for d in capa["d7"]:
        who, when = _who(d["actor"]), _moment(d["at"])
        rows += [
            [label(DOCUMENT_KINDS, u["kind"]), u["reference"], u["change"], who, when]
            for u in d["updates"]
        ]
        if d.get("note"):
            rows.append([bilingual(*NOTE), None, d["note"], who, when])
    columns = [
        Column("文件类别", "Document", 1.3),
        Column("文件编号/版本", "Reference", 1.9),
        Column("更改内容", "Change", 2.8),
        BY,
        TIME,
    ]
    return _section(title, columns, rows)


def _closure(capa: Mapping[str, Any], title: tuple[str, str]) -> Section:
    closure = capa["closure"]
    rows: list[list[Cell]] = []
    if closure:
        rows = [
            [bilingual("总结", "Summary"), closure["summary"]],
            [bilingual("小组祝贺", "Team recognition"), closure["recognition"]],
            [bilingual("结案日期", "Closed"), _moment(closure["at"])],
            [bilingual("历时天数", "Days open"), closure["days_open"]],
            [bilingual("结案人", "Closed by"), _who(closure["actor"])],
        ]
    return _section(title, [ITEM, DETAILS], rows)


# The company's CPAR ------------------------------------------------------------------------


def cpar_form(
    capa: Mapping[str, Any], *, digest: str, position: int, generated_at: datetime
) -> Form:
    return Form(
        title_zh=CPAR_TITLE[0],
        title_en=CPAR_TITLE[1],
        number=CPAR_NUMBER,
        attachment=CLAUSE,
        fields=_header(capa),
        sections=[
            _section(CPAR_SECTIONS["problem"], [ITEM, DETAILS], _problem_rows(capa)),
            _source(capa),
            _finding(capa),
            _team(capa),
            _containment(capa),
            _d4(capa, CPAR_SECTIONS["cause"]),
            _actions(capa, "corrective"),
            _actions(capa, "preventive"),
            _d7(capa, CPAR_SECTIONS["documents"]),
            _verification(capa, CPAR_SECTIONS["verification"]),
            _closure(capa, CPAR_SECTIONS["closure"]),
        ],
        signatures=PREPARED_REVIEWED_APPROVED,
        footer=_footer(capa, digest, position, generated_at),
    )


def _source(capa: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [bilingual("来源", "Source"), label(SOURCES, capa["source"]), None,
         _moment(capa["reported_at"])]
    ]  # fmt: skip
    rows += [
        [bilingual("联系顾客 4.4.3", "Customer contacted 4.4.3"),
         f"{c['contact']} ({c['means']}): {c['summary']}", _who(c["actor"]),
         _moment(c["contacted_at"])]
        for c in capa["contacts"]
    ]  # fmt: skip
    for r in capa["evidence_requests"]:
        due = f"\n{bilingual('期限', 'due')} {r['due']}" if r.get("due") else ""
        rows.append(
            [bilingual(f"索取证据 {r['request_no']}", f"Evidence requested {r['request_no']}"),
             f"{', '.join(r['kinds'])}: {r['details']}{due}", _who(r["actor"]), _moment(r["at"])]
        )  # fmt: skip
    rows += [
        [bilingual("收到证据", "Evidence received"),
         " — ".join(p for p in (e["filename"], e.get("description")) if p), _who(e["actor"]),
         _moment(e["at"])]
        for e in capa["evidence"]
    ]  # fmt: skip
    rows += [
        [bilingual("产品不合格处理报告", "PNPR"),
         f"{p['report_no']}: {p['description']} ({p['lot']}, {p['quantity']})", None,
         _moment(p["at"])]
        for p in capa["pnprs"]
    ]  # fmt: skip
    return _section(CPAR_SECTIONS["source"], [ITEM, Column("内容", "Details", 4), BY, TIME], rows)


def _finding(capa: Mapping[str, Any]) -> Section:
    finding = capa["finding"]
    rows: list[list[Cell]] = []
    if finding:
        text = finding["text"]
        if finding.get("by_pnpr"):
            text += "\n" + bilingual("（由PNPR确认）", "(confirmed by the PNPR)")
        rows.append(
            [label(OUTCOMES, finding["outcome"]), text, _who(finding.get("actor")),
             _moment(finding.get("at"))]
        )  # fmt: skip
    columns = [Column("结论", "Outcome", 1.4), Column("确认内容", "Finding", 4.4), BY, TIME]
    return _section(CPAR_SECTIONS["finding"], columns, rows)


def _team(capa: Mapping[str, Any]) -> Section:
    d1 = _d1(capa)
    return Section(*CPAR_SECTIONS["team"], columns=d1.columns, rows=d1.rows)


def _containment(capa: Mapping[str, Any]) -> Section:
    rows = [list(r) for r in _d0(capa).rows]
    rows += [
        [bilingual("临时遏制", "Containment"),
         f"{d['actions']}\n{bilingual('范围', 'scope')}: {d['scope']}"
         + (f"; {bilingual('数量', 'quantity')}: {d['quantity']}" if d["quantity"] is not None
            else ""),
         _who(d["actor"]), _moment(d["at"])]
        for d in capa["d3"]
    ]  # fmt: skip
    columns = [ITEM, Column("措施", "Actions", 4), BY, TIME]
    return _section(CPAR_SECTIONS["containment"], columns, rows)


def _actions(capa: Mapping[str, Any], kind: str) -> Section:
    rows: list[list[Cell]] = []
    for a in capa["actions"]:
        if a["kind"] != kind:
            continue
        implemented = a["implemented_on"]
        if implemented and a["overdue_days"]:
            implemented += "\n" + bilingual(
                f"逾期 {a['overdue_days']} 天", f"{a['overdue_days']} days late"
            )
        rows.append(
            [a["action_no"], a["description"], _owner(a["owner"]), a["due"],
             implemented or _status(a), a["validation"]]
        )  # fmt: skip
    columns = [
        NUMBER,
        Column("措施", "Action", 3),
        Column("负责人", "Owner", 1.5),
        Column("完成期限", "Due", 1.1),
        Column("实施", "Implemented", 1.2),
        Column("实施验证", "Validation", 2.2),
    ]
    return _section(CPAR_SECTIONS[kind], columns, rows)


# The customer's own format -------------------------------------------------------------------


class TemplateProblem(ValueError):
    """A customer's template that cannot make a report; the message names the line."""


EXAMPLE_TEMPLATE = """\
报告编号 | Report No.: {{ capa.capa_no }}
顾客 | Customer: {{ capa.customer.name or capa.customer.code }}
产品 | Product: {{ capa.product }}
批号 | Lot: {{ capa.lot }}
报告日期 | Date: {{ now.strftime("%Y-%m-%d") }}

# 问题描述 | Problem
顾客反映 | Customer's report: {{ capa.description }}
不良数量 | Quantity: {{ capa.d2.how_many }}
品管确认 | QC finding: {{ capa.finding.text }}

# 根本原因 | Root cause
{% for d in capa.d4 %}
原因（第{{ d.round }}轮） | Cause (round {{ d.round }}): {{ d.root_cause }}
流出原因 | Why it escaped: {{ d.escape_point }}
{% endfor %}

# 对策 | Countermeasures
{% for a in capa.actions %}
对策{{ a.action_no }} | Action {{ a.action_no }}: {{ a.description }}
负责人 | Owner: {{ a.owner.name }}, {{ a.owner.department | department }}, {{ a.due }}
{% endfor %}

# 效果确认 | Effectiveness
{% for v in capa.verifications %}
第{{ v.round }}轮 | Round {{ v.round }}: {{ "有效" if v.effective else "无效" }} {{ v.result }}
{% endfor %}

# 结案 | Closure
总结 | Summary: {{ capa.closure.summary }}
结案日期 | Closed: {{ capa.closed_at | day }}
"""

# The example, shown in this module's documentation as it is.
__doc__ = (__doc__ or "") + textwrap.indent(EXAMPLE_TEMPLATE, "    ")

MAX_LOOP_DEPTH = 2  # a loop inside a loop
MAX_STEPS = 50_000  # loop iterations, calls and filters one render may take
MAX_OUTPUT = 1_000_000  # characters a template may render
MAX_VALUE = 100_000  # characters or items one value may have
MAX_REPEAT = MAX_VALUE  # items or characters one "*" may make
MAX_NUMBER_ARGUMENT = 10_000  # a width, a count, a length given to a call or filter
MAX_POWER_BITS = 10_000
SAMPLE_NOW = datetime(2027, 1, 22, 2, 0, tzinfo=UTC)
_SOURCE = "<template>"

# What an expression prints is value text: these stand for its newlines, colons, "#" and "|"
# while the output is read into lines and labels, so data never changes the layout.
_PROTECTED = {"\n": "\ue000", ":": "\ue001", "：": "\ue002", "#": "\ue003", "|": "\ue004"}
_RESTORE = str.maketrans({v: k for k, v in _PROTECTED.items()})
_PROTECT = str.maketrans(_PROTECTED)
_COLON = re.compile("[:：]")


def customer_form(
    capa: Mapping[str, Any],
    *,
    template: str,
    title: str | None,
    digest: str,
    position: int,
    generated_at: datetime,
) -> Form:
    """The CAPA in the customer's own layout (see the module's docstring).

    Raises ``TemplateProblem`` when the template does not render for this CAPA.
    """
    fields, sections = _layout(_render(template, capa, generated_at))
    title_zh, title_en = _split(title) if title else CUSTOMER_TITLE
    return Form(
        title_zh=title_zh,
        title_en=title_en,
        number=CUSTOMER_NUMBER,
        attachment=CLAUSE,
        fields=fields,
        sections=sections,
        signatures=PREPARED_REVIEWED_APPROVED,
        footer=_footer(capa, digest, position, generated_at),
    )


def validate_template(template: str) -> None:
    """Refuses a template that would not make a report, naming the line: raises TemplateProblem.

    It must be within the bounds (the module's docstring), compile, render
    against ``SAMPLE_CAPA`` (so a name the CAPA does not have is found now, not
    when QC prints) and against ``LARGE_SAMPLE_CAPA`` within the render's
    bounds, and lay out as the module describes.
    """
    size = len(template)
    if size > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(
            f"the template is {size:,} characters; a template may be at most "
            f"{MAX_TEMPLATE_CHARS:,} characters (64 Ki)"
        )
    fields, sections = _layout(_render(template, SAMPLE_CAPA, SAMPLE_NOW))
    if not fields and not sections:
        raise TemplateProblem("the template renders no fields and no sections")
    try:
        _render(template, LARGE_SAMPLE_CAPA, SAMPLE_NOW)
    except TemplateProblem as problem:
        raise TemplateProblem(
            f"{problem} (rendering a large CAPA: {LARGE_SAMPLE_SIZE})"
        ) from problem


class NotRecorded(ChainableUndefined):
    """What is read from something not recorded yet: prints as a dash, has nothing in it."""

    __slots__ = ()

    def __str__(self) -> str:
        return EMPTY_CELL


class TooMuchWork(SecurityError):
    """A render past one of the bounds on a template's work (the module's docstring)."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's sandbox, with nothing recorded yet read as such and its work bounded.

    One environment renders one template once: ``steps`` counts what it did.
    Loops are counted through ``_Counted`` (the template's loops iterate
    through it), calls through ``call``, filters through their wrappers, and
    every operation that can make a long value from short ones ("*", "**",
    "+", "%", "~", str.format, replace, any number given as a width or count)
    is checked before it runs.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.steps = 0

    def spend(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise TooMuchWork(
                f"rendering takes more than {MAX_STEPS:,} steps (loop iterations, calls and "
                "filters); loop over fewer items or do less in each"
            )

    def getattr(self, obj: Any, attribute: str) -> Any:
        return _not_recorded(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        return _not_recorded(obj, argument, super().getitem(obj, argument))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.spend()
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and right > 0 and left.bit_length() * right > MAX_POWER_BITS:
            raise SecurityError("the power is too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_REPEAT:
                    raise SecurityError("the repetition is too long")
        if operator == "+" and _sized(left) and _sized(right):
            _check_size(len(left) + len(right))
        if operator == "%" and isinstance(left, str):
            _check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.spend()
        _check_arguments(args, kwargs)
        target = getattr(__obj, "__wrapped__", __obj)
        owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
        if isinstance(owner, str) and name in ("format", "format_map"):
            _check_brace_format(owner)
        if isinstance(owner, str) and name == "replace":
            _check_replace(owner, *args)
        result = super().call(__context, __obj, *args, **kwargs)
        if _sized(result):
            _check_size(len(result))
        return result

    def counted(self, items: Any) -> Iterator[Any]:
        for item in items:
            self.spend()
            yield item

    def sized(self, value: Any) -> Any:
        if _sized(value):
            _check_size(len(value))
        return value


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _check_size(size: int) -> None:
    if size > MAX_VALUE:
        raise TooMuchWork(f"a value of more than {MAX_VALUE:,} characters or items")


def _check_number(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER_ARGUMENT:
        raise TooMuchWork(
            f"a width, count or length of {value:,}; at most {MAX_NUMBER_ARGUMENT:,} is allowed"
        )


def _check_arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _check_number(value)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(text: str, values: Any) -> None:
    """``"%9999999d" % 1`` would make a value of that width before any size is seen."""
    for width, precision in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*":
                raise TooMuchWork("a width given as '*' in a % format")
            if number:
                _check_number(int(number))


def _check_brace_format(text: str) -> None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format will say what is wrong with it
    for _, _, spec, _ in parsed:
        for number in re.findall(r"\d+", spec or ""):
            _check_number(int(number))


def _check_replace(text: str, old: Any = None, new: Any = None, *_: Any) -> None:
    if isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        _check_size(len(text) + count * max(0, len(new) - len(old)))


def _filter(env: _Sandbox, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and whose numbers and result are in bounds."""

    @functools.wraps(function)  # keeps Jinja2's pass_context / pass_environment mark
    def bounded(*args: Any, **kwargs: Any) -> Any:
        env.spend()
        values = [a for a in args if not isinstance(a, Context | EvalContext | _Sandbox)]
        _check_arguments(values[1:], kwargs)
        if name == "format" and values and isinstance(values[0], str):
            _check_percent_format(values[0], values[1:])
        if name == "replace" and values and isinstance(values[0], str):
            _check_replace(*values[:3])
        result = function(*args, **kwargs)
        return env.sized(result)

    return bounded


class _Bounded(NodeTransformer):
    """Loops iterate through the environment's counter; a concatenation is size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        assert isinstance(node.iter, nodes.Expr)
        node.iter = _through(node.iter, "csc_counted")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _through(node, "csc_sized")


def _through(node: nodes.Expr, name: str) -> nodes.Expr:
    wrapped = nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)
    if node.environment is not None:
        wrapped.set_environment(node.environment)
    return wrapped


def _check_shape(template: nodes.Template) -> None:
    """Loops nest at most MAX_LOOP_DEPTH deep; a recursive loop has no depth bound at all."""

    def walk(node: nodes.Node, depth: int) -> None:
        for child in node.iter_child_nodes():
            inner = depth
            if isinstance(child, nodes.For):
                inner += 1
                if child.recursive:
                    raise TemplateProblem(
                        f"line {child.lineno}: a recursive loop is not allowed (its depth has "
                        "no bound); loop over the items themselves"
                    )
                if inner > MAX_LOOP_DEPTH:
                    raise TemplateProblem(
                        f"line {child.lineno}: loops nest {inner} deep; a template may nest "
                        f"them at most {MAX_LOOP_DEPTH} deep (a loop inside a loop)"
                    )
            walk(child, inner)

    walk(template, 0)


def _not_recorded(obj: Any, name: Any, value: Any) -> Any:
    missing = isinstance(value, Undefined) and not isinstance(value, NotRecorded)
    # Only a plain miss, never the sandbox's refusal, which must still fail.
    if missing and getattr(value, "_undefined_exception", None) is UndefinedError:
        empty_list = isinstance(obj, list) and isinstance(name, int)
        if obj is None or empty_list:
            return NotRecorded(obj=obj, name=name)
    return value


def _finalize(value: Any) -> str:
    if value is None or isinstance(value, NotRecorded):
        return EMPTY_CELL
    # str() of any other Undefined raises: an unknown name is an error, not a blank.
    return str(value).replace("\r\n", "\n").translate(_PROTECT)


def _first(items: Iterable[Any]) -> Any:
    return next(iter(items), NotRecorded(name="first"))


def _last(items: Sequence[Any]) -> Any:
    return items[-1] if items else NotRecorded(name="last")


def _moment_filter(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return _moment(str(value)) or EMPTY_CELL if value else EMPTY_CELL


def _day(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)[:10] if value else EMPTY_CELL


def _department_filter(value: Any) -> str:
    return _department(str(value)) if value else EMPTY_CELL


def _environment() -> _Sandbox:
    env = _Sandbox(
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., Any]] = {
        "department": _department_filter,
        "moment": _moment_filter,
        "day": _day,
        "first": _first,
        "last": _last,
    }
    env.filters.update(filters)
    for name, function in list(env.filters.items()):
        env.filters[name] = _filter(env, name, function)
    env.filters["csc_counted"] = env.counted
    env.filters["csc_sized"] = env.sized
    # lipsum(n) writes n paragraphs of filler: nothing a report needs, and a way around
    # the size bounds.
    env.globals.pop("lipsum", None)
    return env


def _render(template: str, capa: Mapping[str, Any], now: datetime) -> str:
    env = _environment()
    try:
        parsed = env.parse(template)
        _check_shape(parsed)
        compiled = env.from_string(_Bounded().visit(parsed))
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"line {error.lineno}: {error.message}") from error
    try:
        out: list[str] = []
        size = 0
        for chunk in compiled.generate(capa=capa, now=now):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateProblem(f"the report is longer than {MAX_OUTPUT} characters")
            out.append(chunk)
    except TemplateProblem:
        raise
    except Exception as error:  # anything a user's template can raise is its problem
        where = _template_line(error)
        if isinstance(error, TooMuchWork):
            what = "too much work"
        elif isinstance(error, SecurityError):
            what = "not allowed"
        else:
            what = type(error).__name__
        raise TemplateProblem(f"{where}{what}: {error}") from error
    return "".join(out)


def _template_line(error: BaseException) -> str:
    """Jinja2 rewrites the traceback so the template's own lines appear in it."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == _SOURCE]
    return f"line {lines[-1]}: " if lines else ""


def _layout(rendered: str) -> tuple[list[HeaderField], list[Section]]:
    fields: list[HeaderField] = []
    sections: list[Section] = []
    title: tuple[str, str] | None = None
    rows: list[list[Cell]] = []

    def close() -> None:
        if title is not None:
            sections.append(_section(title, [ITEM, DETAILS], rows))

    for number, raw in enumerate(rendered.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            close()
            heading = line.lstrip("#").strip()
            if not heading:
                raise TemplateProblem(f"rendered line {number}: a section needs a title")
            title, rows = _split(heading), []
            continue
        colon = _COLON.search(line)
        if colon and colon.start() > 0:
            zh, en = _split(line[: colon.start()])
            text = _restore(line[colon.end() :].strip())
            value = None if text in ("", EMPTY_CELL) else text
            if title is None:
                fields.append(HeaderField(zh, en, value))
            else:
                rows.append([bilingual(zh, en), value])
        elif title is None:
            raise TemplateProblem(
                f"rendered line {number} ({_restore(line)[:60]!r}): before the first "
                "'# title' section a line must read 'label: value'"
            )
        else:
            rows.append(["", _restore(line)])
    close()
    return fields, sections


def _split(text: str) -> tuple[str, str]:
    """``中文 | English`` into its halves; text without a bar is one label."""
    zh, _, en = text.partition("|")
    return _restore(zh.strip()), _restore(en.strip())


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


# Shared ------------------------------------------------------------------------------------


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


# A complete example CAPA: what validate_template renders a template against ---------------

_QC = {"user": "wang.fang", "department": Department.QUALITY.value}
SAMPLE_CAPA: Mapping[str, Any] = {
    "case_id": "1a2b3c4d-0000-4000-8000-000000000001",
    "capa_no": "CAPA-1A2B3C4D",
    "status": "closed",
    "source": "complaint",
    "reported_at": "2026-11-24T01:00:00+00:00",
    "opened_at": "2026-11-24T01:00:00+00:00",
    "closed_at": "2027-01-20T08:00:00+00:00",
    "round": 2,
    "customer": {
        "code": "OEM-001",
        "name": "Dongfeng Motor",
        "oem": True,
        "timezone": "Asia/Shanghai",
    },
    "product": "HV connector housing HC-200",
    "lot": "L2026-11-07",
    "description": "Cracked housings found at incoming inspection, line 3.",
    "owner_department": Department.QUALITY.value,
    "impact": {
        "lines_stopped": 1,
        "quantity_affected": 1200,
        "remedial_measure": RemedialMeasure.SWAP_UNITS.value,
        "remedial_details": "Swap 1200 units from lot L2026-11-09.",
    },
    "contacts": [
        {
            "contacted_at": "2026-11-24T02:00:00+00:00",
            "contact": "Mr. Zhao, SQE",
            "means": "phone",
            "summary": "Cracks at the gate on 3% of housings.",
            "actor": _QC,
        }
    ],
    "evidence_requests": [
        {
            "request_no": 1,
            "kinds": ["samples", "photos"],
            "details": "Ten cracked housings and photos of the crack.",
            "due": "2026-11-27",
            "at": "2026-11-24T02:10:00+00:00",
            "actor": _QC,
        }
    ],
    "evidence": [
        {
            "sha256": "9f" * 32,
            "filename": "crack-photos.zip",
            "original_filename": "D:\\质量\\crack-photos.zip",
            "media_type": "application/zip",
            "size": 2_048_000,
            "description": "Photos of cracks at the gate",
            "request_no": 1,
            "at": "2026-11-25T06:00:00+00:00",
            "actor": _QC,
        }
    ],
    "pnprs": [
        {
            "report_no": "PNPR-5E6F7A8B",
            "description": "Cracks at the gate",
            "lot": "L2026-11-07",
            "quantity": 40,
            "at": "2026-11-28T03:00:00+00:00",
        }
    ],
    "finding": {
        "outcome": "confirmed",
        "text": "Cracks at the gate confirmed on 36 of 40 returned housings.",
        "by_pnpr": False,
        "at": "2026-11-26T07:00:00+00:00",
        "actor": _QC,
    },
    "team": {
        "leader": {"name": "Wang Fang", "department": "quality"},
        "members": [
            {"name": "Li Wei", "department": "marketing", "role": "customer contact"},
            {"name": "Sun Li", "department": "development", "role": "design"},
            {"name": "Chen Jie", "department": "engineering", "role": "process engineer"},
            {"name": "Zhou Min", "department": "production", "role": "line 3 lead"},
        ],
        "at": "2026-11-26T08:00:00+00:00",
        "actor": _QC,
    },
    "d0": [
        {
            "actions": "Swapped 1200 housings at the customer from lot L2026-11-09.",
            "at": "2026-11-24T06:00:00+00:00",
            "actor": _QC,
        }
    ],
    "d2": {
        "what": "Cracked housing at the gate",
        "where": "Customer incoming inspection, line 3",
        "when": "2026-11-23, lot L2026-11-07",
        "who": "Customer SQE",
        "why": "Drawing HC-200 rev C: no cracks allowed",
        "how": "Visual inspection under 10x magnification",
        "how_many": "36 of 1200 (3%)",
        "at": "2026-11-26T09:00:00+00:00",
        "actor": _QC,
    },
    "d3": [
        {
            "actions": "Sorted all stock and WIP of lot L2026-11-07 under 10x magnification.",
            "scope": "Stock, WIP, in transit",
            "quantity": 5400,
            "at": "2026-11-26T10:00:00+00:00",
            "actor": _QC,
        }
    ],
    "d4": [
        {
            "round": 1,
            "root_cause": "Mould temperature drifted below 80 °C on machine M7.",
            "escape_point": "No crack check at final inspection.",
            "method": "5 whys",
            "at": "2026-11-30T08:00:00+00:00",
            "actor": _QC,
        },
        {
            "round": 2,
            "root_cause": "Gate too narrow for PA66 GF30: high shear stress at the gate.",
            "escape_point": "Final inspection without magnification.",
            "method": "Ishikawa",
            "at": "2026-12-21T08:00:00+00:00",
            "actor": _QC,
        },
    ],
    "actions": [
        {
            "action_no": 1,
            "round": 1,
            "kind": "corrective",
            "description": "Mould temperature alarm at 85 °C on M7.",
            "owner": {"name": "Chen Jie", "department": "engineering"},
            "due": "2026-12-05",
            "implemented_on": "2026-12-04",
            "validation": "Alarm tested at 84 °C.",
            "overdue_days": 0,
            "overdue": False,
            "status": "implemented",
        },
        {
            "action_no": 2,
            "round": 2,
            "kind": "corrective",
            "description": "Widen the gate from 1.2 mm to 1.6 mm.",
            "owner": {"name": "Sun Li", "department": "development"},
            "due": "2027-01-05",
            "implemented_on": "2027-01-08",
            "validation": "Three lots of 5000 without cracks.",
            "overdue_days": 3,
            "overdue": False,
            "status": "implemented",
        },
        {
            "action_no": 3,
            "round": 2,
            "kind": "preventive",
            "description": "Gate width rule for glass-filled PA in the design guideline.",
            "owner": {"name": "Sun Li", "department": "development"},
            "due": "2027-01-15",
            "implemented_on": "2027-01-12",
            "validation": "Design review checklist updated and used.",
            "overdue_days": 0,
            "overdue": False,
            "status": "implemented",
        },
    ],
    "verifications": [
        {
            "round": 1,
            "effective": False,
            "method": "Audit of the next five lots",
            "result": "Cracks again in lot L2026-12-10.",
            "verified_on": "2026-12-18",
            "at": "2026-12-18T08:00:00+00:00",
            "actor": _QC,
        },
        {
            "round": 2,
            "effective": True,
            "method": "Audit of the next five lots",
            "result": "No cracks in 25000 housings.",
            "verified_on": "2027-01-19",
            "at": "2027-01-19T08:00:00+00:00",
            "actor": _QC,
        },
    ],
    "reopenings": [
        {
            "round": 2,
            "reason": "Cracks again after the temperature alarm.",
            "at": "2026-12-18T09:00:00+00:00",
        }
    ],
    "d7": [
        {
            "updates": [
                {"kind": "fmea", "reference": "PFMEA-HC200 rev D", "change": "Gate shear added"},
                {
                    "kind": "control_plan",
                    "reference": "CP-HC200 rev F",
                    "change": "Crack check under 10x at final inspection",
                },
            ],
            "note": "Applies to every PA66 GF30 housing.",
            "at": "2027-01-19T09:00:00+00:00",
            "actor": _QC,
        }
    ],
    "closure": {
        "summary": "Gate widened; no cracks in five lots.",
        "recognition": "Thanks to the line 3 team for the weekend sort.",
        "days_open": 57,
        "at": "2027-01-20T08:00:00+00:00",
        "actor": _QC,
    },
    "report_format": "8d",
    "report_format_source": "customer",
}

LARGE_SAMPLE_TIMES = 20


def _many(value: Any) -> Any:
    if isinstance(value, list):
        return [_many(item) for _ in range(LARGE_SAMPLE_TIMES) for item in value]
    if isinstance(value, dict):
        return {key: _many(item) for key, item in value.items()}
    return value


# The sample with every list (actions, rounds, contacts, team members ...) 20 times over:
# a template's cost on a large CAPA is known when it is registered, not when QC prints one.
LARGE_SAMPLE_CAPA: Mapping[str, Any] = _many(SAMPLE_CAPA)
LARGE_SAMPLE_SIZE = (
    f"{len(LARGE_SAMPLE_CAPA['actions'])} actions, {len(LARGE_SAMPLE_CAPA['d4'])} root-cause "
    f"rounds, {len(LARGE_SAMPLE_CAPA['contacts'])} contacts, every list {LARGE_SAMPLE_TIMES} "
    "times the sample's"
)

__all__: Sequence[str] = (
    "EXAMPLE_TEMPLATE",
    "LARGE_SAMPLE_CAPA",
    "SAMPLE_CAPA",
    "TemplateProblem",
    "cpar_form",
    "customer_form",
    "eight_d_form",
    "filename",
    "validate_template",
)
