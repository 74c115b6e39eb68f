"""A complete example CAPA and the example template: what a customer's template is tried on."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from csc_contracts import Department
from csc_contracts.intake import RemedialMeasure

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

SAMPLE_NOW = datetime(2027, 1, 22, 2, 0, tzinfo=UTC)

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
