"""An auditor replays one quality complaint from Kafka alone: timeline, as-of, bundle, forms.

The four services run as processes on a real broker. A quality complaint goes
through intake (complaint, impact and QC notified, reply), returns (its case,
a return request and QC's confirmation, 4.3.2), sla's reply clock (4.2.1) and
capa; then ``csc audit`` reads the topics, and nothing else, back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

from csc_audit.cli import app
from e2e.conftest import Stack
from e2e.support import complaint, intake_client, read_topic, wait_until

pytestmark = pytest.mark.integration

# capa opens an investigation of every quality complaint by itself (4.4.3) once its
# public events are published on csc.capa.v1; until then its part is not asserted.
CAPA_OPENS_INVESTIGATIONS = True


def published(stack: Stack, service: str, case_id: str, *names: str) -> list[str]:
    """Waits until the case's events on the service's topic include ``names``."""

    def found() -> list[str] | None:
        events = [
            dict(r.headers)["ce_type"].decode().split(".")[2]
            for r in read_topic(stack.bootstrap, stack.topics.events(service))
            if r.key == case_id.encode()
        ]
        return events if set(names) <= set(events) else None

    return wait_until(found, what=f"{', '.join(names)} of {case_id} on {service}'s topic")


def csc() -> str:
    return shutil.which("csc") or str(Path(sys.executable).with_name("csc"))


def pdf_text(pdf: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    return re.sub(r"\s+", "", out)


def contains(text: str, *needles: str) -> None:
    for needle in needles:
        assert re.sub(r"\s+", "", needle) in text, needle


def test_an_auditor_replays_a_quality_complaint_from_kafka_alone(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = stack.start("intake")
    sla = stack.start("sla")
    returns = stack.start("returns")
    stack.start("capa")
    marketing = intake_client(stack, intake)
    after_sales = httpx.Client(base_url=intake.url, headers=stack.auth("after_sales"), timeout=30)

    logged = marketing.post("/complaints", json=complaint(7)).json()
    case_id = logged["case_id"]
    impact = {"lines_stopped": 1, "quantity_affected": 40, "remedial_measure": "swap_units"}
    assert marketing.post(f"/register-entries/{case_id}/quality-impact", json=impact).is_success
    # Everything the complaint caused, before the moment the auditor will ask about.
    published(stack, "intake", case_id, "QualityImpactAssessed", "QualityNotified")
    published(stack, "sla", case_id, "ClockStarted")  # the reply clock (4.2.1)
    published(stack, "returns", case_id, "ReturnCaseOpened")  # 4.3
    if CAPA_OPENS_INVESTIGATIONS:
        published(stack, "capa", case_id, "InvestigationOpened")  # 4.4.3
    time.sleep(0.5)
    between = datetime.now(UTC)
    time.sleep(0.5)

    reply = {"channel": "phone", "summary": "Replacement units leave today; QC will call."}
    assert after_sales.post(f"/register-entries/{case_id}/replies", json=reply).is_success

    def decide(path: str, body: dict[str, Any], department: str) -> None:
        response = httpx.post(f"{returns.url}{path}", json=body, headers=stack.auth(department))
        assert response.status_code == 201, (path, response.text)

    decide("/returns", {"case_id": case_id, "delivery": "DN-1107", "lot": "L2026-11-0007",
                        "quantity": 40, "reason": "cracked housings"}, "marketing")  # fmt: skip
    decide(f"/cases/{case_id}/quality-confirmation-request", {"note": "line 3"}, "marketing")
    finding = "moulding cracks at the gate, lot-wide"
    decide(f"/cases/{case_id}/quality-confirmation", {"finding": finding}, "quality")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    arrived, departed = now - timedelta(hours=3), now - timedelta(hours=1)
    shanghai = ZoneInfo("Asia/Shanghai")  # the site's zone, as archived
    today = arrived.astimezone(shanghai).date()  # the work date is the site's
    record = {
        "kind": "daily",
        "customer_code": "OEM-001",
        "site": "Wuhan plant 2",
        "work_date": today.isoformat(),
        "engineer": "zhang.san",
        "arrived_at": arrived.isoformat(),
        "departed_at": departed.isoformat(),
        "units_loaded": [{"model": "DF-H7", "quantity": 126}],
        "problems": "2 connectors not latched",
        "actions": "Re-seated; operators trained",
    }
    assert after_sales.post("/field-service-records", json=record).status_code == 201
    published(stack, "returns", case_id, "ReturnConfirmedByQuality")
    published(stack, "sla", case_id, "ClockMet")  # the reply met the clock

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap)
    monkeypatch.setenv("CSC_TOPIC_PREFIX", stack.prefix)

    # The timeline, by the installed command, as an auditor runs it.
    ran = subprocess.run(
        [csc(), "audit", "timeline", case_id, "--json"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    timeline = json.loads(ran.stdout)["timeline"]
    assert "clocks" not in json.loads(ran.stdout)  # Kafka alone, unless sla is asked for

    # With --sla, each clock's SLA timeline too: its moments, and each stretch of its time
    # with the rule that counted it, as sla tells it to the auditor's token.
    token = stack.auth("auditor", "wu.hua")["Authorization"].removeprefix("Bearer ")
    with_sla = {**os.environ, "CSC_TOKEN": token}
    ran_sla = subprocess.run(
        [csc(), "audit", "timeline", case_id, "--json", "--sla", sla.url],
        capture_output=True, text=True, timeout=120, env=with_sla,
    )  # fmt: skip
    assert ran_sla.returncode == 0, ran_sla.stderr
    clocks = json.loads(ran_sla.stdout)["clocks"]
    (reply_clock,) = [c for c in clocks.values() if c["clock"] == "reply"]
    events = [m["event"] for m in reply_clock["moments"]]
    assert events[0] == "started" and events[-1] == "met", events
    assert reply_clock["segments"], reply_clock
    assert all(re.match(r"calendar \S+ v\d+", s["rule"]) for s in reply_clock["segments"])
    table = subprocess.run(
        [csc(), "audit", "timeline", case_id, "--sla", sla.url],
        capture_output=True, text=True, timeout=120, env=with_sla,
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "SLA timeline: reply clock" in table.stdout
    story = [(e["service"], e["event"]) for e in timeline]

    def of(service: str) -> list[str]:
        return [name for s, name in story if s == service]

    assert of("intake") == [
        "ComplaintLogged",
        "EngineeringNotified",
        "QualityImpactAssessed",
        "QualityNotified",
        "ReplySent",
    ]
    assert of("returns") == [
        "ReturnCaseOpened",
        "ReturnRequested",
        "ReturnConfirmationRequested",
        "ReturnConfirmedByQuality",
    ]
    assert of("sla")[0] == "ClockStarted" and "ClockMet" in of("sla")
    position = {step: i for i, step in enumerate(story)}
    assert story[0] == ("intake", "ComplaintLogged")
    assert (
        position[("intake", "QualityNotified")]
        < position[("intake", "ReplySent")]
        < position[("returns", "ReturnRequested")]
    )
    assert position[("intake", "ReplySent")] < position[("sla", "ClockMet")]
    assert position[("intake", "ComplaintLogged")] < position[("returns", "ReturnCaseOpened")]
    if CAPA_OPENS_INVESTIGATIONS:
        assert of("capa")[0] == "InvestigationOpened"
        assert position[("intake", "ComplaintLogged")] < position[("capa", "InvestigationOpened")]
    by_event = {(e["service"], e["event"]): e for e in timeline}
    assert by_event[("intake", "ComplaintLogged")]["actor"] == {
        "user": "marketing.user",
        "department": "marketing",
    }
    assert by_event[("intake", "ComplaintLogged")]["fields"]["lot"] == "L2026-11-0007"
    assert by_event[("intake", "ReplySent")]["actor"]["department"] == "after_sales"
    assert by_event[("intake", "ReplySent")]["fields"]["summary"] == reply["summary"]
    confirmed = by_event[("returns", "ReturnConfirmedByQuality")]
    assert confirmed["actor"] == {"user": "quality.user", "department": "quality"}
    assert confirmed["reason"] == finding
    assert by_event[("returns", "ReturnConfirmationRequested")]["reason"] == "line 3"
    assert by_event[("sla", "ClockStarted")]["actor"]["department"] == "system"
    assert all(e["problem"] is None for e in timeline)

    runner = CliRunner()

    def audit(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    # As of the moment between the impact and the reply: the earlier state only.
    then = json.loads(audit("as-of", case_id, "--at", between.isoformat(), "--json"))["services"]
    assert then["intake"]["stage"] == "QualityNotified"
    assert "ReplySent" not in then["intake"]["history"]
    assert "summary" not in then["intake"]["fields"]
    assert then["intake"]["fields"]["quantity_affected"] == 40
    assert then["returns"]["history"] == ["ReturnCaseOpened"]
    assert "ClockMet" not in then["sla"]["history"] and then["sla"]["events"] >= 1
    now = json.loads(audit("as-of", case_id, "--at", datetime.now(UTC).isoformat(), "--json"))
    assert now["services"]["intake"]["stage"] == "ReplySent"
    assert now["services"]["returns"]["stage"] == "ReturnConfirmedByQuality"
    assert now["services"]["returns"]["fields"]["finding"] == finding

    # The case's bundle: checked on its own, and found out when changed.
    bundle = tmp_path / "case.zip"
    made = json.loads(audit("export", case_id, "--out", str(bundle), "--json"))
    report = json.loads(audit("verify", "--bundle", str(bundle), "--expect-manifest-sha256",
                              made["manifest_sha256"], "--json"))  # fmt: skip
    assert report["ok"], report["problems"]
    assert report["events"] == len(timeline)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "events/returns.jsonl":
                data = data.replace(finding.encode(), b"no abnormality found")
            dst.writestr(name, data)
    refused = runner.invoke(app, ["verify", "--bundle", str(tampered), "--json"])
    assert refused.exit_code == 1, refused.output
    changed = json.loads(refused.output)
    assert not changed["ok"]
    assert any(p.startswith("events/returns.jsonl: sha256") for p in changed["problems"])

    # The register's forms of the month, from csc.intake.v1.
    month = logged["received_at"][:7]
    audit("forms", "register", "--month", month, "--out", str(tmp_path))
    text = pdf_text(tmp_path / f"customer-information-register-{month}.pdf")
    contains(text, "顾客信息登记表", "Customer Information Register", "附件3 Attachment 3")
    contains(text, "内容", "Content", "答复 / 处理结果", "Reply / result", "关闭", "Closed")
    contains(
        text, "OEM-001 Dongfeng Motor", "电话 phone", "投诉：产品质量", "complaint: product quality"
    )
    contains(text, complaint(7)["text"], "CN-220 connector", "L2026-11-0007", reply["summary"])
    contains(text, "售后服务 After-sales", "marketing.user (市场部 Marketing)", case_id)
    audit("forms", "field-service", "--engineer", "zhang.san", "--site", "Wuhan plant 2",
          "--date", today.isoformat(), "--out", str(tmp_path))  # fmt: skip
    text = pdf_text(
        tmp_path / f"field-service-work-record-{today.isoformat()}-Wuhan_plant_2-zhang.san.pdf"
    )
    contains(text, "现场服务工作记录表", "Field Service Work Record", "附件2 Attachment 2")
    contains(text, "服务人员签字", "Engineer's signature", "顾客签字", "Customer's signature")
    contains(text, "DF-H7", "126", "2 connectors not latched", "Re-seated; operators trained")

    def at_site(moment: datetime) -> str:
        local = moment.astimezone(shanghai)  # with its date after midnight
        return f"{local:%H:%M} CST" if local.date() == today else f"{local:%Y-%m-%d %H:%M} CST"

    contains(text, f"到达 arrived: {at_site(arrived)}", f"离开 left: {at_site(departed)}")
