"""Intake, clause by clause, through the real path: HTTP -> store -> relay -> Kafka.

Each test asserts the public events on csc.intake.v1 (what other company
systems see) and intake's read model. One intake process serves the module;
each test keeps to its own cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from csc_contracts import EVENT_TYPES
from csc_devkit.processes import ServiceProcess
from e2e.conftest import Stack
from e2e.support import CUSTOMER, complaint, intake_client, read_topic, wait_until

pytestmark = pytest.mark.integration
As = Callable[[str], httpx.Client]


@pytest.fixture(scope="module")
def intake(module_stack: Stack) -> ServiceProcess:
    return module_stack.start("intake")


@pytest.fixture(scope="module")
def marketing(module_stack: Stack, intake: ServiceProcess) -> Iterator[httpx.Client]:
    client = intake_client(module_stack, intake)
    yield client
    client.close()


@pytest.fixture
def as_(module_stack: Stack, intake: ServiceProcess) -> As:
    def client(department: str) -> httpx.Client:
        return httpx.Client(base_url=intake.url, headers=module_stack.auth(department))

    return client


def published(stack: Stack, case_id: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, body) pairs of one case on Kafka, once ``count`` have arrived."""

    def events() -> list[tuple[str, dict[str, Any]]] | None:
        found = [
            (dict(r.headers)["ce_type"].decode(), json.loads(r.value))
            for r in read_topic(stack.bootstrap, stack.topics.intake)
            if r.key == case_id.encode()
        ]
        return found if len(found) >= count else None

    pairs = wait_until(events, what=f"{count} events of {case_id}")
    for ce_type, body in pairs:
        # Every body is a valid event of the versioned contract.
        EVENT_TYPES[ce_type].model_validate(body)
    return [(t.split(".")[2], b) for t, b in pairs]


def test_4_1_5_customer_archive_contact_and_survey(
    module_stack: Stack, marketing: httpx.Client, as_: As
) -> None:
    customer = marketing.get("/customers/OEM-001").json()
    marketing.post("/customers/OEM-001/contacts", json={"channel": "visit", "summary": "review"})
    as_("after_sales").post(
        "/customers/OEM-001/contacts", json={"channel": "phone", "summary": "call"}
    )
    marketing.post(
        "/customers/OEM-001/satisfaction-surveys",
        json={"year": 2026, "scores": {"quality": 4, "delivery": 5}, "comments": "good"},
    )
    events = published(module_stack, customer["customer_id"], 4)
    assert [e for e, _ in events] == [
        "CustomerRegistered",
        "CustomerContacted",
        "CustomerContacted",
        "SatisfactionSurveyRecorded",
    ]
    assert events[0][1]["code"] == CUSTOMER["code"] and events[0][1]["oem"] is True
    assert events[2][1]["actor"]["department"] == "after_sales"
    assert events[3][1]["scores"] == {"quality": 4, "delivery": 5}


def test_4_1_2_and_4_1_3_feedback_engineering_and_chief_engineer(
    module_stack: Stack, marketing: httpx.Client, as_: As
) -> None:
    body = complaint(1, important_reason="The OEM may stop its line")
    body.pop("category")
    entry = marketing.post("/register-entries", json={**body, "kind": "quality_problem"}).json()
    case = entry["case_id"]
    ack = as_("chief_engineer").post(
        f"/register-entries/{case}/important/acknowledgement", json={"comment": "call me"}
    )
    assert ack.status_code == 201, ack.text
    events = published(module_stack, case, 4)
    assert [e for e, _ in events] == [
        "FeedbackReceived",
        "EngineeringNotified",
        "ImportantInformationReported",
        "ImportantInformationAcknowledged",
    ]
    assert events[0][1]["kind"] == "quality_problem"
    assert events[2][1]["reason"] == "The OEM may stop its line"
    assert events[3][1]["actor"]["department"] == "chief_engineer"
    inbox = as_("engineering").get("/inbox/engineering").json()
    assert case in [e["case_id"] for e in inbox]


def test_4_2_reply_on_site_visit(module_stack: Stack, marketing: httpx.Client, as_: As) -> None:
    case = marketing.post(
        "/complaints", json=complaint(2, received_at="2026-11-24T01:00:00Z")
    ).json()["case_id"]
    after_sales = as_("after_sales")
    after_sales.post(f"/register-entries/{case}/replies",
                     json={"replied_at": "2026-11-24T02:00:00Z", "channel": "phone",
                           "summary": "Engineer on the way"})  # fmt: skip
    after_sales.post(f"/register-entries/{case}/on-site-requests",
                     json={"reason": "quality_problem",
                           "requested_at": "2026-11-24T02:00:00Z"})  # fmt: skip
    visit = after_sales.post(
        f"/register-entries/{case}/on-site-visits",
        json={"arrived_at": "2026-11-24T06:30:00Z", "engineers": ["zhao.liu"],
              "diagnosis": "Flash at gate 2", "solution": "Sorted and swapped 40"},
    )  # fmt: skip
    assert visit.status_code == 201, visit.text
    events = published(module_stack, case, 5)
    assert [e for e, _ in events] == [
        "ComplaintLogged",
        "EngineeringNotified",
        "ReplySent",
        "OnSiteServiceRequired",
        "OnSiteVisitCompleted",
    ]
    assert events[2][1]["replied_at"] == "2026-11-24T02:00:00Z"
    assert events[4][1]["arrived_at"] == "2026-11-24T06:30:00Z"


def test_4_2_3_misuse_and_technician(module_stack: Stack, marketing: httpx.Client, as_: As) -> None:
    case = marketing.post("/complaints", json=complaint(3, category="service")).json()["case_id"]
    as_("quality").post(f"/register-entries/{case}/misuse", json={"finding": "Wrong crimp tool"})
    as_("after_sales").post(
        f"/register-entries/{case}/technician-dispatches",
        json={"technician": "sun.tech", "purpose": "Teach correct crimping"},
    )
    events = published(module_stack, case, 4)
    assert [e for e, _ in events][2:] == ["MisuseDetermined", "TechnicianDispatched"]
    assert events[2][1]["responsibility"] == "customer"


def test_4_4_1_and_4_4_2_quality_complaint_impact_and_qc(
    module_stack: Stack, marketing: httpx.Client
) -> None:
    case = marketing.post("/complaints", json=complaint(4)).json()["case_id"]
    marketing.post(
        f"/register-entries/{case}/quality-impact",
        json={"lines_stopped": 1, "quantity_affected": 40, "remedial_measure": "swap_units"},
    )
    events = published(module_stack, case, 4)
    assert [e for e, _ in events] == [
        "ComplaintLogged",
        "EngineeringNotified",
        "QualityImpactAssessed",
        "QualityNotified",
    ]
    assert events[0][1]["category"] == "quality"
    assert events[2][1]["remedial_measure"] == "swap_units"
    assert events[3][1]["notified_department"] == "quality"


def test_4_1_4_and_4_5_field_service_and_visit(
    module_stack: Stack, marketing: httpx.Client, as_: As
) -> None:
    day = {"kind": "daily", "customer_code": "OEM-001", "site": "Wuhan plant 2",
           "work_date": "2026-11-20", "units_loaded": [{"model": "EQ1180", "quantity": 12}],
           "problems": "none"}  # fmt: skip
    record = as_("after_sales").post("/field-service-records", json=day).json()
    as_("after_sales").post(
        f"/field-service-records/{record['record_id']}/amendments",
        json={"units_loaded": [{"model": "EQ1180", "quantity": 14}], "reason": "recount"},
    )
    visit = marketing.post(
        "/field-service-records",
        json={**day, "kind": "visit", "units_loaded": [], "survey": "satisfied"},
    ).json()
    daily_events = published(module_stack, record["record_id"], 2)
    assert [e for e, _ in daily_events] == ["FieldServiceRecorded", "FieldServiceRecordAmended"]
    assert daily_events[1][1]["units_loaded"] == [{"model": "EQ1180", "quantity": 14}]
    assert daily_events[1][1]["engineer"] == "after_sales.user"
    visit_events = published(module_stack, visit["record_id"], 1)
    assert visit_events[0][0] == "CustomerVisited"
    assert visit_events[0][1]["survey"] == "satisfied"


def test_4_6_follow_up_is_published(module_stack: Stack, marketing: httpx.Client, as_: As) -> None:
    body = complaint(6, received_at="2026-10-15T08:00:00Z")
    case = marketing.post("/complaints", json=body).json()["case_id"]
    followed = as_("after_sales").post(
        f"/register-entries/{case}/follow-ups", json={"result": "Solved", "closed": True}
    )
    assert followed.status_code == 201, followed.text
    events = published(module_stack, case, 3)
    assert events[2][0] == "FollowUpRecorded"
    assert events[2][1]["month"] == "2026-10"
    assert marketing.get(f"/register-entries/{case}").json()["status"] == "closed"
