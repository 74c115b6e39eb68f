"""The three layouts of one CAPA (4.3.4): the 8D, the company's CPAR and the customer's own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from csc_capa.commands import MAX_TEMPLATE_CHARS  # the request's maxLength
from csc_capa.report_forms.labels import (
    ACTION_KINDS,
    BY,
    CLAUSE,
    CPAR_NUMBER,
    CPAR_SECTIONS,
    CPAR_TITLE,
    CUSTOMER_NUMBER,
    CUSTOMER_TITLE,
    DETAILS,
    DISCIPLINES,
    DOCUMENT_KINDS,
    EIGHT_D_NUMBER,
    EIGHT_D_SIGNATURES,
    EIGHT_D_TITLE,
    FIVE_W_TWO_H,
    ITEM,
    LEADER,
    MEMBER,
    NO,
    NOTE,
    NUMBER,
    OUTCOMES,
    RECORDED,
    ROUND,
    SOURCES,
    TIME,
    YES,
)
from csc_capa.report_forms.language import TemplateProblem, _layout, _split
from csc_capa.report_forms.parts import (
    _footer,
    _header,
    _impact,
    _owner,
    _recorded,
    _status,
)
from csc_capa.report_forms.samples import (
    LARGE_SAMPLE_CAPA,
    LARGE_SAMPLE_SIZE,
    SAMPLE_CAPA,
    SAMPLE_NOW,
)
from csc_capa.report_forms.sandbox import _render
from csc_forms import (
    PREPARED_REVIEWED_APPROVED,
    Cell,
    Column,
    Form,
    Section,
    bilingual,
    department,
    label,
    moment,
    who,
)

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
        [bilingual("紧急措施", "Emergency action"), d["actions"], who(d["actor"]),
         moment(d["at"])]
        for d in capa["d0"]
    ]  # fmt: skip
    return Section(*DISCIPLINES["d0"], [ITEM, Column("措施", "Actions", 4), BY, TIME], rows)


def _d1(capa: Mapping[str, Any]) -> Section:
    team = capa["team"]
    rows: list[list[Cell]] = []
    if team:
        leader = team["leader"]
        rows.append([bilingual(*LEADER), leader["name"], department(leader["department"]), None])
        rows += [
            [bilingual(*MEMBER), m["name"], department(m["department"]), m.get("role")]
            for m in team["members"]
        ]
    columns = [
        Column("角色", "Team role", 1),
        Column("姓名", "Name", 1.6),
        Column("部门", "Department", 1.6),
        Column("职责", "Responsibility", 2.4),
    ]
    return Section(*DISCIPLINES["d1"], columns, rows)


def _d2(capa: Mapping[str, Any]) -> Section:
    return Section(*DISCIPLINES["d2"], [ITEM, DETAILS], _problem_rows(capa))


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
        [d["actions"], d["scope"], d["quantity"], who(d["actor"]), moment(d["at"])]
        for d in capa["d3"]
    ]
    columns = [
        Column("遏制措施", "Containment actions", 3),
        Column("范围", "Scope", 2),
        Column("数量", "Quantity", 0.9),
        BY,
        TIME,
    ]
    return Section(*DISCIPLINES["d3"], columns, rows)


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
    return Section(*title, [ROUND, ITEM, DETAILS], rows)


def _d5(capa: Mapping[str, Any]) -> Section:
    rows: list[list[Cell]] = [
        [a["action_no"], a["round"], label(ACTION_KINDS, a["kind"]), a["description"],
         a["owner"]["name"], department(a["owner"]["department"]), a["due"]]
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
    return Section(*DISCIPLINES["d5"], columns, rows)


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
    return Section(*DISCIPLINES["d6"], columns, rows)


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
        rows.append([v["round"], v["verified_on"], v["method"], result, effective, who(v["actor"])])
    columns = [
        ROUND,
        Column("验证日期", "Verified on", 1.3),
        Column("验证方法", "Method", 1.7),
        Column("验证结果", "Result", 3.6),
        Column("有效", "Effective", 0.9),
        BY,
    ]
    return Section(*title, columns, rows)


def _d7(capa: Mapping[str, Any], title: tuple[str, str]) -> Section:
    rows: list[list[Cell]] = []
    for d in capa["d7"]:
        by, when = who(d["actor"]), moment(d["at"])
        rows += [
            [label(DOCUMENT_KINDS, u["kind"]), u["reference"], u["change"], by, when]
            for u in d["updates"]
        ]
        if d.get("note"):
            rows.append([bilingual(*NOTE), None, d["note"], by, when])
    columns = [
        Column("文件类别", "Document", 1.3),
        Column("文件编号/版本", "Reference", 1.9),
        Column("更改内容", "Change", 2.8),
        BY,
        TIME,
    ]
    return Section(*title, columns, rows)


def _closure(capa: Mapping[str, Any], title: tuple[str, str]) -> Section:
    closure = capa["closure"]
    rows: list[list[Cell]] = []
    if closure:
        rows = [
            [bilingual("总结", "Summary"), closure["summary"]],
            [bilingual("小组祝贺", "Team recognition"), closure["recognition"]],
            [bilingual("结案日期", "Closed"), moment(closure["at"])],
            [bilingual("历时天数", "Days open"), closure["days_open"]],
            [bilingual("结案人", "Closed by"), who(closure["actor"])],
        ]
    return Section(*title, [ITEM, DETAILS], rows)


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
            Section(*CPAR_SECTIONS["problem"], [ITEM, DETAILS], _problem_rows(capa)),
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
         moment(capa["reported_at"])]
    ]  # fmt: skip
    rows += [
        [bilingual("联系顾客 4.4.3", "Customer contacted 4.4.3"),
         f"{c['contact']} ({c['means']}): {c['summary']}", who(c["actor"]),
         moment(c["contacted_at"])]
        for c in capa["contacts"]
    ]  # fmt: skip
    for r in capa["evidence_requests"]:
        due = f"\n{bilingual('期限', 'due')} {r['due']}" if r.get("due") else ""
        rows.append(
            [bilingual(f"索取证据 {r['request_no']}", f"Evidence requested {r['request_no']}"),
             f"{', '.join(r['kinds'])}: {r['details']}{due}", who(r["actor"]), moment(r["at"])]
        )  # fmt: skip
    rows += [
        [bilingual("收到证据", "Evidence received"),
         " — ".join(p for p in (e["filename"], e.get("description")) if p), who(e["actor"]),
         moment(e["at"])]
        for e in capa["evidence"]
    ]  # fmt: skip
    rows += [
        [bilingual("产品不合格处理报告", "PNPR"),
         f"{p['report_no']}: {p['description']} ({p['lot']}, {p['quantity']})", None,
         moment(p["at"])]
        for p in capa["pnprs"]
    ]  # fmt: skip
    return Section(*CPAR_SECTIONS["source"], [ITEM, Column("内容", "Details", 4), BY, TIME], rows)


def _finding(capa: Mapping[str, Any]) -> Section:
    finding = capa["finding"]
    rows: list[list[Cell]] = []
    if finding:
        text = finding["text"]
        if finding.get("by_pnpr"):
            text += "\n" + bilingual("（由PNPR确认）", "(confirmed by the PNPR)")
        rows.append(
            [label(OUTCOMES, finding["outcome"]), text, who(finding.get("actor")),
             moment(finding.get("at"))]
        )  # fmt: skip
    columns = [Column("结论", "Outcome", 1.4), Column("确认内容", "Finding", 4.4), BY, TIME]
    return Section(*CPAR_SECTIONS["finding"], columns, rows)


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
         who(d["actor"]), moment(d["at"])]
        for d in capa["d3"]
    ]  # fmt: skip
    columns = [ITEM, Column("措施", "Actions", 4), BY, TIME]
    return Section(*CPAR_SECTIONS["containment"], columns, rows)


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
    return Section(*CPAR_SECTIONS[kind], columns, rows)


# The customer's own format -------------------------------------------------------------------


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
