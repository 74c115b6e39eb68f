"""CAPA through the real path: intake / returns -> Kafka -> capa -> HTTP decisions -> csc.capa.v1.

A quality complaint logged in intake opens QC's investigation; QC contacts
the customer, receives a photo, confirms; the cross-functional team runs the
8D to closure, with an ineffective verification on the way; every step comes
out on csc.capa.v1, and the 8D report prints what was recorded. A PNPR from
returns opens a CAPA of its own; misuse found by Marketing closes an
investigation without one; a replay from offset 0 rebuilds the same state.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from csc_contracts import EVENT_TYPES
from e2e.conftest import Stack
from e2e.support import SECRET, complaint, intake_client, read, read_topic, wait_until

pytestmark = pytest.mark.integration

TEAM = {
    "leader": {"name": "Wang Fang", "department": "quality"},
    "members": [
        {"name": "Li Wei", "department": "marketing", "role": "customer contact"},
        {"name": "Sun Li", "department": "development", "role": "design"},
        {"name": "Chen Jie", "department": "engineering", "role": "process engineer"},
        {"name": "Zhou Min", "department": "production", "role": "line 3 lead"},
    ],
}
PROBLEM = {
    "what": "Housing cracks at the gate",
    "where": "Customer line 3, Wuhan plant 2",
    "when": "2026-11-23 night shift",
    "who": "Customer incoming inspection",
    "why": "Drawing CN-220 rev C allows no cracks",
    "how": "Visual inspection at assembly",
    "how_many": "40 of 2,000",
}


def capa_events(stack: Stack, case_id: str, at_least: int) -> list[tuple[str, dict[str, Any]]]:
    def events() -> list[tuple[str, dict[str, Any]]] | None:
        found = []
        for r in read_topic(stack.bootstrap, stack.topics.events("capa")):
            body = json.loads(r.value)
            if body["case_id"] == case_id:
                ce_type = dict(r.headers)["ce_type"].decode()
                EVENT_TYPES[ce_type].model_validate(body)  # every record keeps the contract
                found.append((ce_type.split(".")[2], body))
        return found if len(found) >= at_least else None

    return wait_until(events, what=f"{at_least} capa events of {case_id}")


class Qc:
    """QC and the team at capa's HTTP API."""

    def __init__(self, stack: Stack, url: str, case_id: str) -> None:
        self.stack, self.url, self.case_id = stack, url, case_id
        self.round = 1  # the same path again in a later 8D round is a new request

    def post(self, path: str, body: dict[str, Any], department: str = "quality") -> httpx.Response:
        key = f"{self.case_id}:{path}:{self.round}"
        headers = {**self.stack.auth(department), "Idempotency-Key": key}
        return httpx.post(
            f"{self.url}/investigations/{self.case_id}/{path}",
            json=body,
            headers=headers,
            timeout=30,
        )

    def step(self, path: str, body: dict[str, Any], department: str = "quality") -> dict[str, Any]:
        response = self.post(path, body, department)
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())


def test_4_4_quality_complaint_to_a_closed_8d_with_verified_effectiveness(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    case_id = intake_client(stack, intake).post("/complaints", json=complaint(1)).json()["case_id"]
    wait_until(
        lambda: read(f"{capa.url}/investigations/{case_id}").status_code == 200,
        what="QC's investigation opened from the complaint",
    )
    qc = Qc(stack, capa.url, case_id)

    # 4.4.3: contact, ask for photos, receive one (stored by its hash), confirm.
    qc.step("contacts", {"contact": "Mr. Zhao, SQE", "means": "phone",
                         "summary": "Cracks at the gate on 40 units"})  # fmt: skip
    qc.step("evidence-requests", {"kinds": ["photos", "samples"], "details": "2 cracked units"})
    photo = b"\xff\xd8\xff\xe0" + b"crack at the gate, unit 7 " * 40
    uploaded = httpx.post(
        f"{capa.url}/investigations/{case_id}/evidence",
        content=photo,
        params={"filename": "unit7.jpg", "request_no": 1, "description": "unit 7"},
        headers={**stack.auth("quality"), "Content-Type": "image/jpeg"},
    )
    assert uploaded.status_code == 201, uploaded.text
    digest = hashlib.sha256(photo).hexdigest()
    assert uploaded.json()["sha256"] == digest
    assert read(f"{capa.url}/investigations/{case_id}/evidence/{digest}").content == photo
    qc.step("confirmation", {"finding": "Cracks confirmed on both samples"})

    # 4.4.4: the team, then D0-D8; not effective once, so back to root cause (4.3.4).
    qc.step("d0/emergency-response", {"actions": "Sorted 2,000 units at the customer"})
    qc.step("team", TEAM)
    qc.step("d2/problem", PROBLEM)
    qc.step("d3/containment", {"actions": "Blocked lot L2026-11-0001", "scope": "FG and WIP",
                               "quantity": 800})  # fmt: skip
    qc.step("d4/root-cause", {"root_cause": "Gate heater 15 K low after maintenance",
                              "escape_point": "Final inspection misses cracks under 0.2 mm",
                              "method": "5 whys"}, "engineering")  # fmt: skip
    owner = {"name": "Chen Jie", "department": "engineering"}
    qc.step("d5/actions", {"description": "Heater alarm at 5 K below set point",
                           "owner": owner, "due": "2099-12-31"}, "engineering")  # fmt: skip
    early = qc.post("d8/closure", {"summary": "s", "recognition": "r"})
    assert early.status_code == 409 and early.json()["clause"] == "4.3.4"
    qc.step("d6/actions/1/implementation", {"validation": "Alarm tested on 3 shifts"},
            "engineering")  # fmt: skip
    reopened = qc.step("effectiveness", {"effective": False, "method": "3 lots audited",
                                         "result": "Cracks again on lot 3"})  # fmt: skip
    assert reopened["round"] == 2
    qc.round = 2
    qc.step("d4/root-cause", {"root_cause": "Resin moisture above 0.02 %",
                              "escape_point": "No dew-point check at the dryer",
                              "method": "Ishikawa"}, "engineering")  # fmt: skip
    qc.step("d5/actions", {"description": "Dryer with dew-point interlock", "owner": owner,
                           "due": "2099-12-31"}, "engineering")  # fmt: skip
    qc.step("d6/actions/2/implementation", {"validation": "Dew point logged 2 weeks"},
            "engineering")  # fmt: skip
    qc.step("effectiveness", {"effective": True, "method": "5 lots audited",
                              "result": "No cracks in 10,000 units"})  # fmt: skip
    qc.step("d7/prevention", {"updates": [
        {"kind": "fmea", "reference": "PFMEA-220 rev D", "change": "Resin moisture cause"},
        {"kind": "control_plan", "reference": "CP-220 rev F", "change": "Dew point per lot"},
    ]})  # fmt: skip
    closure = {"summary": "Effective after the second root cause",
               "recognition": "Team thanked at the plant meeting"}  # fmt: skip
    closed = qc.step("d8/closure", closure)
    assert closed["status"] == "closed"

    events = capa_events(stack, case_id, 20)
    assert [name for name, _ in events] == [
        "InvestigationOpened",
        "CustomerContactedByQuality",
        "EvidenceRequested",
        "EvidenceReceived",
        "ComplaintConfirmed",
        "EmergencyResponseRecorded",
        "TeamConvened",
        "ProblemDescribed",
        "ContainmentRecorded",
        "RootCauseIdentified",
        "CorrectiveActionPlanned",
        "CorrectiveActionImplemented",
        "EffectivenessVerified",
        "CapaReopened",
        "RootCauseIdentified",
        "CorrectiveActionPlanned",
        "CorrectiveActionImplemented",
        "EffectivenessVerified",
        "RecurrencePrevented",
        "CapaClosed",
    ]
    bodies = dict(events)
    assert bodies["EvidenceReceived"]["sha256"] == digest
    assert bodies["TeamConvened"]["leader"] == TEAM["leader"]
    assert bodies["CapaClosed"]["clause"] == "4.4.4" and bodies["CapaClosed"]["days_open"] == 0
    assert {b["capa_no"] for _, b in events} == {closed["capa_no"]}
    assert bodies["CapaClosed"]["actor"] == {"user": "quality.user", "department": "quality"}

    # The 8D report prints what was recorded, each discipline under its name.
    pdf = read(f"{capa.url}/investigations/{case_id}/report.pdf", params={"format": "8d"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = _pdf_text(pdf.content, stack)
    for expected in (
        closed["capa_no"],
        "D0",
        "D4",
        "D8",
        "Gate heater 15 K low after maintenance",
        "Resin moisture above 0.02 %",
        "Final inspection misses cracks under 0.2 mm",
        "Dryer with dew-point interlock",
        "PFMEA-220 rev D",
        "No cracks in 10,000 units",
        "Team thanked at the plant meeting",
        "Zhou Min",
        "根本原因",
    ):
        assert "".join(expected.split()) in text, expected
    xlsx = read(f"{capa.url}/investigations/{case_id}/report.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]


def test_4_4_4_the_team_records_the_8d_and_owners_implement_their_actions(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    marketing = intake_client(stack, intake)
    # Nobody receives a complaint for the system (4.1.2: a department of the company).
    as_system = marketing.post("/complaints", json=complaint(5, receiving_department="system"))
    assert as_system.status_code == 422 and "services' own" in as_system.text
    case_id = marketing.post("/complaints", json=complaint(5)).json()["case_id"]
    wait_until(
        lambda: read(f"{capa.url}/investigations/{case_id}").status_code == 200,
        what="QC's investigation opened from the complaint",
    )
    qc = Qc(stack, capa.url, case_id)
    contact = {"contact": "Mr. Zhao, SQE", "means": "phone", "summary": "Cracks on 40 units"}

    # Tokens that say too much: the system's department, 31 years, a control character.
    now = datetime.now(UTC)
    for claims in (
        {"sub": "sla", "department": "system"},
        {"sub": "wang.fang", "department": "quality", "exp": now + timedelta(days=31 * 365)},
        {"sub": "wang.fang\nadmin", "department": "quality"},
    ):
        forged = jwt.encode({"iat": now, "exp": now + timedelta(hours=1), **claims}, SECRET,
                            algorithm="HS256")  # fmt: skip
        response = httpx.post(f"{capa.url}/investigations/{case_id}/contacts", json=contact,
                              headers={"Authorization": f"Bearer {forged}"})  # fmt: skip
        assert response.status_code == 401, (claims, response.text)

    # D0 before the team exists is QC's alone (4.4.4).
    d0 = qc.post("d0/emergency-response", {"actions": "Sorted stock"}, "marketing")
    assert d0.status_code == 403 and d0.json()["detail"].startswith("4.4.4:"), d0.text
    assert "is for quality;" in d0.json()["detail"]
    qc.step("contacts", contact)
    qc.step("confirmation", {"finding": "Cracks confirmed"})
    qc.step("team", TEAM)
    qc.step("d2/problem", PROBLEM)
    # The warehouse is not on this team: its D3 is refused; the team's marketing records it.
    d3 = {"actions": "Blocked lot L2026-11-0005", "scope": "FG"}
    refused = qc.post("d3/containment", d3, "warehouse")
    assert refused.status_code == 403 and refused.json()["detail"].startswith("4.4.4:")
    assert "acts for warehouse" in refused.json()["detail"]
    qc.step("d3/containment", d3, "marketing")
    qc.step("d4/root-cause", {"root_cause": "Gate heater low", "escape_point": "Final check",
                              "method": "5 whys"}, "engineering")  # fmt: skip
    owner = {"name": "Zhou Min", "department": "production"}
    qc.step("d5/actions", {"description": "Heater alarm", "owner": owner, "due": "2099-12-31"},
            "engineering")  # fmt: skip

    # 4.3.4: the owner implements (or the team leader); a date before the case opened is wrong.
    implementation = "d6/actions/1/implementation"
    not_owner = qc.post(implementation, {"validation": "Alarm tested"}, "engineering")
    assert not_owner.status_code == 403, not_owner.text
    assert not_owner.json()["detail"].startswith("4.3.4:")
    assert "is for production, quality;" in not_owner.json()["detail"]
    long_ago = qc.post(implementation, {"validation": "Alarm tested",
                                        "implemented_on": "2001-11-24"}, "production")  # fmt: skip
    assert long_ago.status_code == 422, long_ago.text
    problem = long_ago.json()
    assert (
        problem["clause"] == "4.3.4" and "implemented_on 2001-11-24 is before" in problem["detail"]
    )
    done = qc.step(implementation, {"validation": "Alarm tested"}, "production")
    assert done["actions"][0]["status"] == "implemented"

    events = capa_events(stack, case_id, 9)
    assert [name for name, _ in events] == [
        "InvestigationOpened",
        "CustomerContactedByQuality",
        "ComplaintConfirmed",
        "TeamConvened",
        "ProblemDescribed",
        "ContainmentRecorded",
        "RootCauseIdentified",
        "CorrectiveActionPlanned",
        "CorrectiveActionImplemented",
    ]
    bodies = dict(events)
    assert bodies["ContainmentRecorded"]["actor"]["department"] == "marketing"
    implemented = bodies["CorrectiveActionImplemented"]
    assert implemented["actor"] == {"user": "production.user", "department": "production"}
    assert implemented["clause"] == "4.3.4"


def _pdf_text(content: bytes, stack: Stack) -> str:
    path = stack.data_dir / "report.pdf"
    path.write_bytes(content)
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    # Long texts wrap in table cells: compare without whitespace to find them across wraps.
    return "".join(done.stdout.split())


def test_4_3_4_a_pnpr_of_returned_goods_opens_a_capa(stack: Stack) -> None:
    returns = stack.start("returns")
    capa = stack.start("capa")

    def post(path: str, body: dict[str, Any], department: str) -> dict[str, Any]:
        response = httpx.post(
            f"{returns.url}{path}",
            json=body,
            headers={**stack.auth(department), "Idempotency-Key": f"pnpr:{path}"},
            timeout=30,
        )
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())

    # A return requested before any complaint: returns opens its own case (4.3.2).
    request = {"customer_code": "OEM-002", "customer_name": "FAW", "delivery": "DN-9",
               "lot": "L9", "quantity": 20, "reason": "burrs"}  # fmt: skip
    case = post("/returns", request, "marketing")
    case_id = case["case_id"]
    for path, body, department in (
        ("quality-confirmation-request", {}, "marketing"),
        ("quality-confirmation", {"finding": "burrs on the flange"}, "quality"),
        ("receipt-authorization", {}, "marketing"),
        ("receipt", {"quantity": 20, "location": "bay 1", "lot": "L9"}, "warehouse"),
        ("samples", {"condition": "as reported", "sample_count": 1, "sample_ids": ["S1"]},
         "quality"),
        ("pnpr/identification", {"tag": "NC-7"}, "quality"),
        ("pnpr/isolation", {"location": "Q-2"}, "warehouse"),
        ("pnpr/report", {"description": "Flange burrs from a worn trim die"}, "quality"),
    ):  # fmt: skip
        post(f"/cases/{case_id}/{path}", body, department)

    events = capa_events(stack, case_id, 3)
    assert [name for name, _ in events] == [
        "InvestigationOpened",
        "NonconformanceLinked",
        "ComplaintConfirmed",
    ]
    opened, linked, confirmed = (body for _, body in events)
    assert opened["source"] == "pnpr" and opened["clause"] == "4.4.3"
    assert linked["report_no"] == f"PNPR-{case_id.replace('-', '')[:8].upper()}"
    assert linked["description"] == "Flange burrs from a worn trim die"
    assert confirmed["by_pnpr"] is True and confirmed["actor"]["department"] == "system"
    row = read(f"{capa.url}/investigations/{case_id}").json()
    assert row["status"] == "confirmed" and row["customer"]["code"] == "OEM-002"
    # The CAPA can start: QC convenes the team on it.
    qc = Qc(stack, capa.url, case_id)
    assert qc.step("team", TEAM)["status"] == "in_progress"


def test_4_2_3_misuse_closes_the_investigation_without_a_capa(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    marketing = intake_client(stack, intake)
    case_id = marketing.post("/complaints", json=complaint(3)).json()["case_id"]
    wait_until(
        lambda: read(f"{capa.url}/investigations/{case_id}").status_code == 200,
        what="investigation opened",
    )
    found = marketing.post(
        f"/register-entries/{case_id}/misuse",
        json={"finding": "Connectors forced in at an angle with a hammer"},
        headers=stack.auth("quality"),
    )
    assert found.status_code in (200, 201), found.text
    events = capa_events(stack, case_id, 2)
    assert [name for name, _ in events] == ["InvestigationOpened", "InvestigationClosedAsMisuse"]
    misuse = events[1][1]
    assert misuse["clause"] == "4.2.3" and misuse["determined_by"] == "intake"
    assert misuse["finding"] == "Connectors forced in at an angle with a hammer"
    qc = Qc(stack, capa.url, case_id)
    team = qc.post("team", TEAM)
    assert team.status_code == 409 and team.json()["clause"] == "4.4.4"
    assert read(f"{capa.url}/investigations/{case_id}").json()["status"] == "misuse"


def _replay(stack: Stack, wipe: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csc_capa", "replay", *(["--wipe"] if wipe else [])],
        env={**os.environ, **stack.env("capa")},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_replay_from_offset_zero_gives_the_same_digest(stack: Stack) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    marketing = intake_client(stack, intake)
    cases = []
    for n in range(6):
        category = ("quality", "service")[n % 2]
        cases.append(marketing.post("/complaints", json=complaint(n, category=category)).json())
    misuse_case = cases[0]["case_id"]
    marketing.post(f"/register-entries/{misuse_case}/misuse", json={"finding": "misuse"},
                   headers=stack.auth("quality"))  # fmt: skip
    wait_until(
        lambda: (
            len(read(f"{capa.url}/investigations").json()) == 3
            and read(f"{capa.url}/investigations/{misuse_case}").json()["status"] == "misuse"
        ),
        what="3 investigations, one closed as misuse",
    )
    live = read(f"{capa.url}/digest").json()
    capa.stop()

    replayed = _replay(stack)
    assert replayed.returncode == 0, replayed.stderr
    result = json.loads(replayed.stdout.strip().splitlines()[-1])
    assert result["digest"] == live["digest"]
    capa = stack.restart(capa)
    assert read(f"{capa.url}/digest").json()["digest"] == live["digest"]

    # QC's decisions live in capa's store (and on csc.capa.v1): a replay keeps them.
    qc = Qc(stack, capa.url, cases[2]["case_id"])
    qc.step("contacts", {"contact": "Mr. Zhao", "means": "phone", "summary": "called"})
    decided = read(f"{capa.url}/digest").json()
    wait_until(
        lambda: read(f"{capa.url}/readyz").json()["relay"]["position"] == decided["position"],
        what="capa's relay to journal the decision",
    )
    capa.stop()
    rebuilt = _replay(stack)  # from capa's journal: the decision comes back
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout.strip().splitlines()[-1])["digest"] == decided["digest"]
    kept = _replay(stack, wipe=False)
    assert json.loads(kept.stdout.strip().splitlines()[-1])["digest"] == decided["digest"]


def _pages(url: str, limit: int, between: Any = None) -> list[dict[str, Any]]:
    """Every page of a capa list, following ``Link: <...>; rel="next"`` to the end."""
    rows: list[dict[str, Any]] = []
    base = url.split("/", 3)
    response = read(url, params={"limit": limit})
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        if between is not None:
            between()
        link = response.headers.get("link")
        if link is None:
            return rows
        response = read(f"{base[0]}//{base[2]}{link.split('>')[0][1:]}")


def test_lists_page_while_cases_arrive_and_the_view_rebuilt_or_restarted_is_the_same(
    stack: Stack,
) -> None:
    intake = stack.start("intake")
    capa = stack.start("capa")
    marketing = intake_client(stack, intake)
    first = [marketing.post("/complaints", json=complaint(n)).json()["case_id"] for n in range(9)]
    wait_until(
        lambda: len(_pages(f"{capa.url}/investigations", 1000)) == 9, what="9 investigations"
    )
    added: list[str] = []

    def arrive() -> None:
        added.append(marketing.post("/complaints", json=complaint(100)).json()["case_id"])

    seen = [row["case_id"] for row in _pages(f"{capa.url}/investigations", 2, arrive)]
    assert len(seen) == len(set(seen))
    assert [c for c in seen if c in first] == first  # each once, oldest report first
    assert set(seen) - set(first) <= set(added)
    wait_until(
        lambda: len(_pages(f"{capa.url}/investigations", 1000)) == 9 + len(added),
        what="the cases added while paging",
    )
    live = read(f"{capa.url}/digest").json()

    # A rebuild beside the running service: new tables, swapped in, the same digest.
    rebuilt = subprocess.run(
        [sys.executable, "-m", "csc_capa", "views", "rebuild"],
        env={**os.environ, **stack.env("capa")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    line = json.loads(rebuilt.stdout.strip().splitlines()[-1])
    assert (line["view"], line["digest"]) == ("investigations", live["digest"])
    assert read(f"{capa.url}/digest").json() == live

    # A restart reads the view's position from the store: it folds nothing.
    capa.stop()
    status = subprocess.run(
        [sys.executable, "-m", "csc_capa", "views", "status"],
        env={**os.environ, **stack.env("capa")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout.strip().splitlines()[-1]) == {
        "view": "investigations",
        "position": live["position"],
        "behind": 0,
    }
    capa = stack.restart(capa)
    assert read(f"{capa.url}/digest").json() == live
    bad = read(f"{capa.url}/investigations", params={"cursor": "W10"})
    assert bad.status_code == 422 and "query.cursor" in bad.text
    assert read(f"{capa.url}/overdue-actions", params={"limit": 1001}).status_code == 422
