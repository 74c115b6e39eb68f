"""4.3.4: one CAPA printed three ways (8D, the company's CPAR, the customer's own template).

Each is read back as a person reads it: the PDF's text through poppler's
``pdftotext``, its first page drawn with ``pdftoppm``, the XLSX opened with
openpyxl. Section titles come back whole from ``pdftotext -layout``; a long
value wraps inside its cell, so values are looked for in the plain text with
the whitespace taken out.
"""

from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image

import csc_capa.report_forms as report_forms
from csc_capa.report_forms import (
    ACTION_KINDS,
    EXAMPLE_TEMPLATE,
    LARGE_SAMPLE_CAPA,
    SAMPLE_CAPA,
    SOURCES,
    STATUSES,
    TemplateProblem,
    cpar_form,
    customer_form,
    eight_d_form,
    filename,
    validate_template,
)
from csc_contracts import Department
from csc_contracts.capa import ActionKind, InvestigationSource
from csc_contracts.intake import RemedialMeasure
from csc_forms import DEPARTMENTS, Form, render_pdf, render_xlsx

GENERATED = datetime(2027, 1, 22, 2, 0, tzinfo=UTC)
DIGEST = "5a" * 32
STAMP: dict[str, Any] = {"digest": DIGEST, "position": 97, "generated_at": GENERATED}
TITLE = "东风汽车问题报告 | Dongfeng Motor Problem Report"
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (./dev test installs it)")

# What every format must print of SAMPLE_CAPA: the facts a reader signs for.
RECORDED = (
    "CAPA-1A2B3C4D",
    "OEM-001 Dongfeng Motor",
    "HV connector housing HC-200",
    "L2026-11-07",
    "Mould temperature drifted below 80 °C on machine M7.",  # round 1's root cause
    "Gate too narrow for PA66 GF30: high shear stress at the gate.",  # round 2's
    "No crack check at final inspection.",  # escape points
    "Final inspection without magnification.",
    "Ishikawa",
    "Widen the gate from 1.2 mm to 1.6 mm.",
    "Sun Li",  # the action's owner
    "Chen Jie",
    "No cracks in 25000 housings.",  # the effective verification
    "Cracks again in lot L2026-12-10.",  # the ineffective one
    "Swapped 1200 housings at the customer from lot L2026-11-09.",  # D0
    "Sorted all stock and WIP of lot L2026-11-07 under 10x magnification.",  # D3
    "36 of 1200 (3%)",  # D2 how many
    "PFMEA-HC200 rev D",  # D7
    "Crack check under 10x at final inspection",
    "Gate widened; no cracks in five lots.",
    "Thanks to the line 3 team for the weekend sort.",  # D8 recognition
)
# The standard Chinese names of the disciplines, in their order.
DISCIPLINE_TITLES = (
    "D0 紧急响应措施 D0 Emergency response",
    "D1 成立小组 D1 Team",
    "D2 问题描述（5W2H） D2 Problem description (5W2H)",
    "D3 临时遏制措施 D3 Interim containment",
    "D4 根本原因分析 D4 Root cause analysis",
    "D5 永久纠正措施 D5 Permanent corrective actions",
    "D6 实施与验证 D6 Implementation and validation",
    "效果验证 Verification of effectiveness",
    "D7 预防再发生 D7 Prevent recurrence",
    "D8 小组祝贺/结案 D8 Team recognition and closure",
)
# The internal form's sections, in its order.
CPAR_TITLES = (
    "问题描述 Problem",
    "问题来源 Source",
    "不合格确认 Nonconformity found",
    "责任小组 Team",
    "应急及临时措施 Emergency response and containment",
    "原因分析 Cause analysis",
    "纠正措施 Corrective action",
    "预防措施 Preventive action",
    "预防措施：文件更新 Preventive action: documents updated",
    "效果验证 Verification of effectiveness",
    "结案 Closure",
)
EIGHT_D_LABELS = (
    *DISCIPLINE_TITLES,
    *("什么 What", "何地 Where", "何时 When", "何人 Who", "为何 Why", "如何 How", "多少 How many"),
    *("根本原因 Root cause", "流出点 Escape point", "分析方法 Method"),
    *("组长 Leader", "组员 Member", "开发部 Development", "生产部 Production"),
    *("有效", "Effective", "是 Yes", "否 No", "实施日期", "Implemented on", "逾期天数"),
    *("小组祝贺 Team recognition", "组长 Team leader", "批准 Approved by"),
)
CPAR_LABELS = (
    "纠正/预防措施要求单",
    "Corrective/Preventive Action Request",
    *CPAR_TITLES,
    *("编制 Prepared by", "审核 Reviewed by", "批准 Approved by"),
)


@dataclass(frozen=True)
class Printed:
    layout: str
    """``pdftotext -layout``: the page as laid out."""
    squashed: str
    """``pdftotext`` with no whitespace: a value reads the same however its cell wraps."""
    page: Image.Image
    """Page 1 at 50 dpi."""

    def shows(self, *values: str) -> None:
        for value in values:
            assert re.sub(r"\s+", "", value) in self.squashed, value


def printed(form: Form, tmp: Path) -> Printed:
    pdf = tmp / "report.pdf"
    pdf.write_bytes(render_pdf(form))

    def text(*options: str) -> str:
        done = subprocess.run(
            ["pdftotext", *options, "-enc", "UTF-8", str(pdf), "-"],
            capture_output=True,
            check=True,
            text=True,
        )
        return done.stdout

    png = tmp / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)],
        check=True,
    )
    return Printed(text("-layout"), re.sub(r"\s+", "", text()), Image.open(f"{png}.png"))


def cells(form: Form) -> list[str]:
    sheet = load_workbook(io.BytesIO(render_xlsx(form))).active
    assert isinstance(sheet, Worksheet)
    return [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]


def holds(sheet: list[str], *values: str) -> None:
    """Each value in a cell of its own or in one it shares (a result and why it was reopened)."""
    for value in values:
        assert any(value in cell for cell in sheet), value


def assert_a_page_to_sign(page: Image.Image) -> None:
    # A4 at 50 dpi is 413 x 585 pixels.
    assert abs(page.width - 413) <= 2 and abs(page.height - 585) <= 2, page.size
    grey = page.convert("L")
    inked = sum(grey.histogram()[:160]) / (page.width * page.height)
    assert 0.02 < inked < 0.5, inked  # text and ruled tables on a mostly white page
    ink = grey.point(lambda v: 255 if v < 160 else 0)
    # Ink all down the page (tables, not a title on a blank sheet) ...
    bands = [
        ink.crop((0, top, page.width, top + 20)).getbbox() for top in range(0, page.height, 20)
    ]
    assert sum(1 for b in bands if b) > 15, bands
    # ... ruled: the tables' lines run across most of the width.
    rules = [y for y in range(page.height) if ink.crop((0, y, page.width, y + 1)).histogram()[255]
             > 0.6 * page.width]  # fmt: skip
    assert len(rules) >= 5, rules


def in_progress() -> dict[str, Any]:
    """Just opened: nothing but the customer's report, every list empty."""
    capa = copy.deepcopy(dict(SAMPLE_CAPA))
    capa.update(
        status="investigating", closed_at=None, round=1, product=None, lot=None, impact=None,
        finding=None, team=None, d2=None, closure=None,
    )  # fmt: skip
    for key in ("contacts", "evidence_requests", "evidence", "pnprs", "d0", "d3", "d4"):
        capa[key] = []
    for key in ("actions", "verifications", "reopenings", "d7"):
        capa[key] = []
    return capa


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return {
        "8d": eight_d_form(SAMPLE_CAPA, **STAMP),
        "cpar": cpar_form(SAMPLE_CAPA, **STAMP),
        "customer": customer_form(SAMPLE_CAPA, template=EXAMPLE_TEMPLATE, title=TITLE, **STAMP),
    }


# The 8D -----------------------------------------------------------------------------------


@needs_poppler
def test_the_8d_pdf_names_every_discipline_and_prints_the_record(
    forms: dict[str, Form], tmp_path: Path
) -> None:
    pdf = printed(forms["8d"], tmp_path)
    for text in ("8D 报告", "8D Report", "CSC-F-8D / 4.3.4", *EIGHT_D_LABELS):
        assert text in pdf.layout, text
    pdf.shows(*RECORDED)
    pdf.shows("合格品换不合格品 good units for bad ones — Swap 1200 units from lot L2026-11-09.")
    pdf.shows("已结案 closed", "工程部 Engineering", "2027-01-08", "Three lots of 5000 without")
    pdf.shows("第2轮重新分析 reopened, round 2: Cracks again after the temperature alarm.")
    pdf.shows(f"(up to event 97); digest {DIGEST}", "2027-01-22T02:00:00Z")
    # D4 keeps every round, the latest last.
    assert pdf.squashed.index("Mouldtemperature") < pdf.squashed.index("Gatetoonarrow")
    # The disciplines in their order, D0 to D8.
    where = [pdf.layout.index(title) for title in DISCIPLINE_TITLES]
    assert where == sorted(where)
    assert_a_page_to_sign(pdf.page)


def test_the_8d_xlsx_holds_the_same_values(forms: dict[str, Form]) -> None:
    sheet = cells(forms["8d"])
    holds(sheet, *RECORDED, "8D 报告", "D4 根本原因分析 D4 Root cause analysis")
    assert "OEM-001 Dongfeng Motor" in sheet and "CAPA-1A2B3C4D" in sheet
    assert "根本原因 Root cause" in sheet and "流出点 Escape point" in sheet
    assert "开发部 Development" in sheet  # the owner's department
    assert "是 Yes" in sheet and "否 No" in sheet
    assert "Cracks again in lot L2026-12-10.\n第2轮重新分析 reopened, round 2: " in "".join(sheet)


# The company's CPAR -----------------------------------------------------------------------


@needs_poppler
def test_the_cpar_pdf_has_the_internal_forms_sections_in_order(
    forms: dict[str, Form], tmp_path: Path
) -> None:
    pdf = printed(forms["cpar"], tmp_path)
    for text in (*CPAR_LABELS, "CSC-F-CPAR / 4.3.4"):
        assert text in pdf.layout, text
    pdf.shows(*RECORDED)
    pdf.shows("确认属实 confirmed", "Cracks at the gate confirmed on 36 of 40 returned housings.")
    pdf.shows("PNPR-5E6F7A8B", "crack-photos.zip", "Mr. Zhao, SQE (phone)")
    pdf.shows("逾期 3 天 3 days late")
    where = [pdf.layout.index(title) for title in CPAR_TITLES]
    assert where == sorted(where)
    assert_a_page_to_sign(pdf.page)


def test_the_cpar_splits_corrective_from_preventive_actions(forms: dict[str, Form]) -> None:
    sections = {s.title_en: s for s in forms["cpar"].sections}
    corrective = [r[0] for r in sections["Corrective action"].rows]
    preventive = [r[0] for r in sections["Preventive action"].rows]
    assert (corrective, preventive) == ([1, 2], [3])
    assert len(sections["Preventive action: documents updated"].rows) == 3  # 2 updates + note
    holds(cells(forms["cpar"]), *RECORDED, *CPAR_LABELS)
    sheet = cells(forms["cpar"])
    assert "Sun Li\n开发部 Development" in sheet


# The customer's own format ---------------------------------------------------------------


@needs_poppler
def test_the_customers_template_prints_in_its_own_layout(
    forms: dict[str, Form], tmp_path: Path
) -> None:
    pdf = printed(forms["customer"], tmp_path)
    for text in ("东风汽车问题报告", "Dongfeng Motor Problem Report", "根本原因 Root cause",
                 "对策 Countermeasures", "效果确认 Effectiveness", "结案 Closure",
                 "流出原因 Why it escaped", "负责人 Owner", "编制 Prepared by"):  # fmt: skip
        assert text in pdf.layout, text
    pdf.shows(
        "CAPA-1A2B3C4D", "Dongfeng Motor", "2027-01-22",  # now
        "Gate too narrow for PA66 GF30: high shear stress at the gate.",
        "Final inspection without magnification.",
        "Sun Li, 开发部 Development, 2027-01-05",
        "有效 No cracks in 25000 housings.",
        "Gate widened; no cracks in five lots.",
        f"digest {DIGEST}",
    )  # fmt: skip
    assert_a_page_to_sign(pdf.page)
    sheet = cells(forms["customer"])
    assert "原因（第2轮） Cause (round 2)" in sheet and "2027-01-20" in sheet
    assert "Gate too narrow for PA66 GF30: high shear stress at the gate." in sheet


def test_the_template_layout_fields_sections_notes() -> None:
    template = (
        "编号 | No.: {{ capa.capa_no }}\n"
        "\n"
        "# 问题 | Problem\n"
        "描述 | Description: {{ capa.description }}\n"
        "原因：{{ capa.d4[-1].root_cause }}\n"  # a full-width colon, no English
        "{{ capa.d4[0].method }}\n"  # a note: no label
        "# 空 | Empty\n"
    )
    capa = copy.deepcopy(dict(SAMPLE_CAPA))
    # Data never makes layout: its newlines, colons, '#' and bars stay in the value.
    capa["description"] = "Line 1: cracked\n# not a section\nTel | 123"
    form = customer_form(capa, template=template, title=None, **STAMP)
    assert (form.title_zh, form.title_en) == report_forms.CUSTOMER_TITLE
    [field] = form.fields
    assert (field.label_zh, field.label_en, field.value) == ("编号", "No.", "CAPA-1A2B3C4D")
    problem, empty = form.sections
    assert (problem.title_zh, problem.title_en) == ("问题", "Problem")
    assert [list(r) for r in problem.rows] == [
        ["描述 Description", "Line 1: cracked\n# not a section\nTel | 123"],
        ["原因", "Gate too narrow for PA66 GF30: high shear stress at the gate."],
        ["", "5 whys"],
    ]
    assert (empty.title, empty.rows) == ("空 Empty", [])
    assert "无 None" in cells(form)


# A CAPA still in progress ------------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("kind", ["8d", "cpar", "customer"])
def test_a_capa_just_opened_prints_none_where_nothing_is_recorded(
    kind: str, tmp_path: Path
) -> None:
    capa = in_progress()
    form = {
        "8d": lambda: eight_d_form(capa, **STAMP),
        "cpar": lambda: cpar_form(capa, **STAMP),
        "customer": lambda: customer_form(capa, template=EXAMPLE_TEMPLATE, title=None, **STAMP),
    }[kind]()
    pdf = printed(form, tmp_path)
    nones = pdf.layout.count("无 None")
    assert nones == {"8d": 9, "cpar": 9, "customer": 3}[kind], nones
    pdf.shows("Cracked housings found at incoming inspection, line 3.", "调查中 investigating"
              if kind != "customer" else "CAPA-1A2B3C4D")  # fmt: skip
    for value in ("Gate too narrow", "Thanks to the line 3 team", "Sun Li"):
        assert re.sub(r"\s+", "", value) not in pdf.squashed, value
    assert cells(form).count("无 None") == nones
    assert_a_page_to_sign(pdf.page)


def test_the_8d_of_a_capa_in_progress_keeps_the_5w2h_grid_to_fill_in() -> None:
    d2 = next(
        s for s in eight_d_form(in_progress(), **STAMP).sections if s.title_zh.startswith("D2")
    )
    assert [r[0] for r in d2.rows][1:] == [
        "什么 What", "何地 Where", "何时 When", "何人 Who", "为何 Why", "如何 How", "多少 How many"
    ]  # fmt: skip
    assert all(r[1] is None for r in d2.rows[1:])  # printed as "—"


def test_an_open_action_past_due_says_so() -> None:
    capa = copy.deepcopy(dict(SAMPLE_CAPA))
    capa.update(status="in_progress", closure=None, closed_at=None)
    capa["actions"][1].update(implemented_on=None, validation=None, overdue_days=None,
                              overdue=True, status="open")  # fmt: skip
    sheet = cells(cpar_form(capa, **STAMP))
    assert "未完成 open\n逾期 overdue" in sheet
    assert "未完成 open\n逾期 overdue" in cells(eight_d_form(capa, **STAMP))


# Registering a customer's template ---------------------------------------------------------


def test_the_example_template_is_valid_and_is_the_one_documented() -> None:
    validate_template(EXAMPLE_TEMPLATE)
    doc = report_forms.__doc__ or ""
    example = doc.split("``EXAMPLE_TEMPLATE``::\n\n", 1)[1]
    documented = "\n".join(line.removeprefix("    ") for line in example.splitlines())
    assert documented.strip() == EXAMPLE_TEMPLATE.strip()


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(TemplateProblem, match=r"^line 4: Unexpected end of template.*endfor"):
        validate_template("# A | A\nx: 1\n{% for a in capa.actions %}\n{{ a.description }}\n")
    with pytest.raises(TemplateProblem, match=r"^line 2: "):
        validate_template("# A | A\n原因 | Cause: {{ capa.d4[0].root_cause }\n")


def test_an_unknown_name_is_refused_with_its_line() -> None:
    with pytest.raises(TemplateProblem, match=r"^line 3: UndefinedError: .*root_case"):
        validate_template("# A | A\n\n原因 | Cause: {{ capa.d4[0].root_case }}\n")
    with pytest.raises(TemplateProblem, match=r"line 1: .*'customer_name' is undefined"):
        validate_template("顾客 | Customer: {{ customer_name }}\n")


@pytest.mark.parametrize(
    "escape",
    [
        "{{ capa.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ now.__class__.__init__.__globals__ }}",
        "{{ capa.closure.__class__ }}",
        "{{ capa.actions.append(1) }}",  # the CAPA is read-only
        "{{ capa.items.__self__ }}",
        "{{ 'x' * 1000000000 }}",
        "{{ 10 ** 100000000 }}",
        "{{ (2 ** 5000) ** 100 }}",
    ],
)
def test_sandbox_escapes_and_runaways_are_refused(escape: str) -> None:
    with pytest.raises(TemplateProblem, match=r"^line 2: not allowed: "):
        validate_template(f"# A | A\nx: {escape}\n")


LOOPS_IN_LOOPS = (
    "# A | A\n{% for a in capa.actions %}{% for d in capa.d4 %}{% for c in capa.contacts %}"
    "{{ c.summary }}{% endfor %}{% endfor %}{% endfor %}\n"
)


@pytest.mark.parametrize(
    ("template", "why"),
    [
        # Two loops over ranges: 9 million iterations, seconds of CPU on every print.
        ("# A | A\n{% for a in range(3000) %}{% for b in range(3000) %}{{ a }}{% endfor %}"
         "{% endfor %}\n", r"^line 2: too much work: rendering takes more than 50,000 steps"),
        (LOOPS_IN_LOOPS, r"^line 2: loops nest 3 deep; a template may nest them at most 2 deep"),
        ("# A | A\n{% for a in capa.actions recursive %}{{ loop(a) }}{% endfor %}\n",
         r"^line 2: a recursive loop is not allowed"),
        ("# A | A\n{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}"
         "x: {{ m(30) }}\n", "too much work: rendering takes more than 50,000 steps"),
        # Fine on the sample, too much on a CAPA with many actions and team members.
        ("# A | A\n{% for a in capa.actions %}{% for m in capa.team.members %}\n"
         "x: {{ a.description|upper|lower|trim|title|upper|lower }} "
         "{{ m.name|upper|lower|trim|title }}\n"
         "{% endfor %}{% endfor %}\n", r"steps .* \(rendering a large CAPA: 60 actions"),
        ("# A | A\nx: {{ 'x' | center(1000000000) }}\n",
         "too much work: a width, count or length of 1,000,000,000; at most 10,000"),
        ("# A | A\nx: {{ 'x'.ljust(1000000000) }}\n", "a width, count or length of 1,000,000,000"),
        ("# A | A\nx: {{ '%999999999d' % 1 }}\n", "a width, count or length of 999,999,999"),
        ("# A | A\nx: {{ '{:>999999999}'.format(1) }}\n", "a width, count or length"),
        ("# A | A\nx: {{ '%999999999s' | format(1) }}\n", "a width, count or length"),
        ("# A | A\n{% set s = 'x' * 60000 %}{% set s = s ~ s %}x: {{ s | length }}\n",
         "too much work: a value of more than 100,000 characters or items"),
        ("# A | A\n{% set s = 'x' * 60000 %}x: {{ (s + s) | length }}\n", "a value of more than"),
        ("# A | A\nx: {{ ('x' * 1000).replace('x', 'y' * 1000) }}\n", "a value of more than"),
        ("# A | A\nx: {{ ('x' * 1000) | replace('x', 'y' * 1000) }}\n", "a value of more than"),
        ("# A | A\nx: {{ lipsum(10000) }}\n", "'lipsum' is undefined"),
        ("# A | A\nx: 1\n{# " + "说明" * 33_000 + " #}\n",
         r"^the template is 66,\d{3} characters; a template may be at most 65,536 characters "
         r"\(64 Ki\)$"),
    ],
)  # fmt: skip
def test_a_template_over_the_bounds_of_size_and_work_is_refused_saying_which(
    template: str, why: str
) -> None:
    started = time.process_time()
    with pytest.raises(TemplateProblem, match=why):
        validate_template(template)
    assert time.process_time() - started < 2  # refused quickly, not after the work


def test_a_template_within_the_bounds_renders_a_large_capa() -> None:
    within = (
        "# 对策 | Actions\n{% for a in capa.actions %}{% for d in capa.d4 if d.round == a.round %}"
        "{% if loop.first %}\n"
        "对策{{ a.action_no }} | Action {{ a.action_no }}: "
        "{{ a.description }} / {{ d.root_cause }}\n"
        "{% endif %}{% endfor %}{% endfor %}\n"
    )
    validate_template(within)
    validate_template(EXAMPLE_TEMPLATE)
    form = customer_form(LARGE_SAMPLE_CAPA, template=within, title=None, **STAMP)
    assert len(form.sections[0].rows) == len(LARGE_SAMPLE_CAPA["actions"]) == 60


def test_text_before_the_first_section_must_be_a_field() -> None:
    with pytest.raises(TemplateProblem, match=r"rendered line 2 \('Dear customer'\)"):
        validate_template("编号 | No.: {{ capa.capa_no }}\nDear customer\n# A | A\n")
    with pytest.raises(TemplateProblem, match="no fields and no sections"):
        validate_template("{# nothing #}\n\n")
    with pytest.raises(TemplateProblem, match="section needs a title"):
        validate_template("# \nx: 1\n")


def test_a_template_valid_for_the_sample_but_failing_for_a_case_is_a_problem() -> None:
    template = "# A | A\n{% if capa.status == 'investigating' %}{{ 1 / 0 }}{% endif %}\n"
    validate_template(template)
    with pytest.raises(TemplateProblem, match=r"^line 2: ZeroDivisionError"):
        customer_form(in_progress(), template=template, title=None, **STAMP)


def test_filters_print_departments_and_times() -> None:
    form = customer_form(
        SAMPLE_CAPA,
        template=(
            "# A | A\n部门 | Dept: {{ capa.owner_department | department }}\n"
            "报告 | Reported: {{ capa.reported_at | moment }}\n"
            "日 | Day: {{ capa.reported_at | day }}\n"
            "最后 | Last: {{ (capa.d4 | last).method }}\n"
        ),
        title="客户格式",
        **STAMP,
    )
    assert (form.title_zh, form.title_en) == ("客户格式", "")
    assert [r[1] for r in form.sections[0].rows] == [
        "品管部 Quality", "2026-11-24 01:00", "2026-11-24", "Ishikawa",
    ]  # fmt: skip
    empty = customer_form(in_progress(), template="# A\nx: {{ (capa.d4 | last).method }}",
                          title=None, **STAMP)  # fmt: skip
    assert empty.sections[0].rows == [["x", None]]


# Names and labels -------------------------------------------------------------------------


def test_filenames_say_which_capa_and_format() -> None:
    assert filename(SAMPLE_CAPA, "8d", "pdf") == "CAPA-1A2B3C4D-8d.pdf"
    assert filename(SAMPLE_CAPA, "cpar", "xlsx") == "CAPA-1A2B3C4D-cpar.xlsx"
    assert filename({"capa_no": 'CAPA-1"; x=/'}, "customer", "pdf") == "CAPA-1___x__-customer.pdf"


def test_every_value_the_contracts_allow_has_both_labels() -> None:
    def complete(labels: Mapping[str, tuple[str, str]], values: set[str]) -> None:
        assert set(labels) == values
        assert all(zh and en for zh, en in labels.values())

    complete(DEPARTMENTS, {d.value for d in Department})
    complete(ACTION_KINDS, {k.value for k in ActionKind})
    complete(SOURCES, {s.value for s in InvestigationSource})
    complete(report_forms.REMEDIES, {m.value for m in RemedialMeasure})
    complete(STATUSES, {"investigating", "not_confirmed", "misuse", "confirmed", "in_progress",
                        "closed"})  # fmt: skip
