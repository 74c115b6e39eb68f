"""The four services in-process over real SQLite stores, without Kafka, and how to reach
each of their commands: a case in the state the step needs, the path's ids, the values
of the body that depend on that case.

Intake runs its own FastAPI app (relay disabled); returns, capa and sla their routes at a
``Desk`` (csc_devkit.desk) with the body limits of their real app, and the upstream events
they consume fed by hand, as Kafka would.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient

import csc_contracts as pub
from csc_contracts import Actor, Department
from csc_devkit.desk import SECRET, Desk, auth
from csc_messaging.problems import install_problems
from csc_messaging.relay import ToPublic
from csc_messaging.runtime import ConsumingService
from property.bodies import OMIT, Known

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LOT = "L2026-11-07"
CUSTOMER = "OEM-001"
SITE = "Wuhan plant 2"
MARKETING = Actor(user="li.wei", department=Department.MARKETING)
Adjust = Callable[[Any], Any]


def omit() -> object:
    return OMIT


def same(body: Any) -> Any:
    return body


@dataclass
class Target:
    """How to reach one operation: ``prepare`` makes a case in the state the step needs and
    returns the path's parameters; ``known`` and ``adjust`` make a body fit that case."""

    prepare: Callable[[], dict[str, str]]
    known: Known = field(default_factory=dict)
    adjust: Adjust = same


class World:
    """One service over HTTP: its client, its store, its mapping to public events."""

    name: str
    client: TestClient
    service_app: Any
    to_public: ToPublic
    max_record_bytes: int
    max_body_bytes: int
    departments: tuple[str, ...]
    targets: dict[str, Target]
    known: ClassVar[Known] = {}
    """Values every command of the service takes where it names the field."""

    def close(self) -> None:
        self.service_app.close()

    def head(self) -> int:
        return int(self.service_app.recorder.max_notification_id() or 0)

    def notifications(self, after: int) -> list[Any]:
        head = self.head()
        if head <= after:
            return []
        return list(self.service_app.recorder.select_notifications(after + 1, head - after))

    def post(self, path: str, body: Any, department: str, method: str = "POST") -> Any:
        response = self.client.request(
            method, path, json=body, headers=auth(department, key=uuid4().hex)
        )
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()


def _desk_client(
    service: ConsumingService, routes: Callable[[ConsumingService], Any], *extra: Any
) -> TestClient:
    """The service's routes with its real app's problems and body limits (BodyGuard)."""

    def limits(http: FastAPI) -> None:
        install_problems(http, service.settings.http_limits)

    return Desk(service, routes, *extra, limits).http


# Intake ---------------------------------------------------------------------------------------


class IntakeWorld(World):
    name = "intake"
    departments = ("marketing", "after_sales", "quality", "engineering", "chief_engineer")
    known: ClassVar[Known] = {"timezone": lambda: "Asia/Shanghai"}

    def __init__(self, tmp_path: Path) -> None:
        from csc_intake.application import IntakeApplication
        from csc_intake.bootstrap import INTAKE, IntakeSettings, create_app
        from csc_intake.public import to_public

        settings = IntakeSettings(
            data_dir=tmp_path / "intake", relay_enabled=False, auth_hs256_secret=SECRET
        )
        intake = INTAKE.bootstrap(settings)
        assert isinstance(intake.app, IntakeApplication)
        intake.app.clock = lambda: NOW
        self.service_app = intake.app
        self.client = TestClient(create_app(service=intake))
        self.to_public = to_public
        self.max_record_bytes = settings.relay_max_record_bytes
        self.max_body_bytes = settings.http_max_body_bytes
        self.codes = (f"C-{n:05d}" for n in itertools.count(1))
        self.customer(CUSTOMER)
        entries = "/register-entries/{case_id}"
        self.targets = {
            "POST /customers": Target(lambda: {}, {"code": lambda: next(self.codes)}),
            "PUT /customers/{code}": Target(lambda: {"code": self.customer()}),
            "POST /customers/{code}/contacts": Target(
                lambda: {"code": self.customer()}, {"contacted_at": omit}
            ),
            "POST /customers/{code}/satisfaction-surveys": Target(
                lambda: {"code": self.customer()}
            ),
            "POST /register-entries": Target(lambda: {}, ENTRY),
            "POST /complaints": Target(lambda: {}, ENTRY),
            f"POST {entries}/important": Target(self.entry, {"reported_at": omit}),
            f"POST {entries}/important/acknowledgement": Target(
                lambda: self.entry(important=True), {"acknowledged_at": omit}
            ),
            f"POST {entries}/replies": Target(self.entry, {"replied_at": omit}),
            f"POST {entries}/on-site-requests": Target(self.entry, {"requested_at": omit}),
            f"POST {entries}/on-site-visits": Target(
                lambda: self.entry(on_site=True),
                {"arrived_at": NOW.isoformat, "departed_at": omit},
            ),
            f"POST {entries}/misuse": Target(self.entry),
            f"POST {entries}/technician-dispatches": Target(lambda: self.entry(misuse=True)),
            f"POST {entries}/quality-impact": Target(self.entry),
            f"POST {entries}/follow-ups": Target(lambda: self.entry(days_ago=40)),
            "POST /field-service-records": Target(lambda: {}, FIELD_SERVICE),
            "POST /field-service-records/{record_id}/amendments": Target(
                self.field_service_record, {"arrived_at": omit, "departed_at": omit}
            ),
        }

    def customer(self, code: str | None = None) -> str:
        code = code or next(self.codes)
        self.post(
            "/customers",
            {"code": code, "name": "Dongfeng Motor", "oem": True, "sites": [{"name": SITE}]},
            "marketing",
        )
        return code

    def entry(
        self,
        important: bool = False,
        on_site: bool = False,
        misuse: bool = False,
        days_ago: int = 0,
    ) -> dict[str, str]:
        body = {
            "category": "quality",
            "channel": "phone",
            "receiving_department": "production",
            "customer_code": CUSTOMER,
            "text": "Housings cracked on line 3; 40 units affected.",
            "received_at": (NOW - timedelta(days=days_ago)).isoformat(),
        }
        case = self.post("/complaints", body, "marketing")["case_id"]
        steps = "/register-entries/" + case
        if important:
            self.post(f"{steps}/important", {"reason": "OEM line stopped"}, "marketing")
        if on_site:
            self.post(f"{steps}/on-site-requests", {"reason": "quality_problem"}, "marketing")
        if misuse:
            self.post(f"{steps}/misuse", {"finding": "Pressed in by hand"}, "quality")
        return {"case_id": case}

    def field_service_record(self) -> dict[str, str]:
        body = {
            "kind": "daily",
            "customer_code": CUSTOMER,
            "site": SITE,
            "work_date": NOW.date().isoformat(),
            "engineer": f"engineer {uuid4().hex[:8]}",
        }
        return {"record_id": self.post("/field-service-records", body, "after_sales")["record_id"]}


ENTRY: Known = {"customer_code": lambda: CUSTOMER, "received_at": omit}
FIELD_SERVICE: Known = {
    "customer_code": lambda: CUSTOMER,
    "site": lambda: SITE,
    "work_date": NOW.date().isoformat,
    "arrived_at": omit,
    "departed_at": omit,
}


# Returns -------------------------------------------------------------------------------------

QUANTITY = 1000  # returned and received: samples and decisions up to their list limits
RECEIPT = {"quantity": QUANTITY, "location": "WH-A returns bay 2", "lot": LOT}
BOARD = [
    {"name": "Wang Fang", "department": "quality"},
    {"name": "Chen Jie", "department": "production"},
]
DECISION = [{"disposition": "rework", "quantity": 600}, {"disposition": "scrap", "quantity": 400}]
WHOLE_BATCH: list[tuple[str, dict[str, Any], str]] = [
    ("quality-confirmation-request", {"note": "customer line 3"}, "marketing"),
    ("quality-confirmation", {"finding": "cracks from the moulding, lot-wide"}, "quality"),
    ("receipt-authorization", {}, "marketing"),
    ("receipt", RECEIPT, "warehouse"),
    ("samples", {"condition": "cracked", "sample_count": 1, "sample_ids": ["S1"]}, "quality"),
    ("pnpr/identification", {"tag": "NC-0042"}, "quality"),
    ("pnpr/isolation", {"location": "Q-1 quarantine cage"}, "warehouse"),
    ("pnpr/report", {"description": "Housing cracks at the gate"}, "quality"),
    ("pnpr/review", {"board": BOARD, "decision": DECISION}, "quality"),
]


def complaint(case_id: UUID, category: str = "quality") -> pub.ComplaintLogged:
    return pub.ComplaintLogged(
        event_id=uuid4(),
        case_id=case_id,
        occurred_at=NOW,
        actor=MARKETING,
        category=pub.ComplaintCategory(category),
        channel=pub.Channel.PHONE,
        receiving_department=Department.AFTER_SALES,
        received_at=NOW - timedelta(hours=1),
        customer=pub.CustomerRef(code=CUSTOMER, name="Dongfeng Motor", oem=True),
        text="Housings cracked on line 3; 40 units affected.",
        product="CN-220 connector",
        lot=LOT,
    )


class _DeskWorld(World):
    def __init__(self, service: ConsumingService, client: TestClient) -> None:
        self.service = service
        self.service_app = service.app
        self.client = client
        self.offsets: dict[str, Iterator[int]] = {}
        self.max_record_bytes = service.settings.relay_max_record_bytes
        self.max_body_bytes = service.settings.http_max_body_bytes

    def feed(self, event: pub.PublicEvent) -> None:
        from eventsourcing.persistence import Tracking

        topic = f"csc.{event.service}.v1:0"
        offset = next(self.offsets.setdefault(topic, itertools.count(1)))
        self.service.app.apply_public(event, Tracking(topic, offset))

    def complaint(self) -> str:
        case_id = uuid4()
        self.feed(complaint(case_id))
        return str(case_id)


def samples(body: Any) -> Any:
    """As many sample ids as counted, each once, no more than were received (4.3.2.3)."""
    if not isinstance(body, dict) or not isinstance(body.get("sample_ids"), list):
        return body
    ids = [f"{i}{text[len(str(i)) :]}" for i, text in enumerate(body["sample_ids"][:QUANTITY])]
    return {**body, "sample_ids": ids, "sample_count": len(ids)}


def units_match(body: Any) -> Any:
    """A replacement's unit ids, if any, one per unit agreed (4.3.1)."""
    if isinstance(body, dict) and body.get("units"):
        return {**body, "quantity": len(body["units"])}
    return body


def one_per_disposition(body: Any) -> Any:
    """The board's decision: each disposition once, adding up to the units received."""
    if not isinstance(body, dict) or not isinstance(body.get("decision"), list):
        return body
    return {**body, "decision": DECISION}


class ReturnsWorld(_DeskWorld):
    name = "returns"
    departments = ("marketing", "quality", "warehouse", "production")

    def __init__(self, tmp_path: Path) -> None:
        from csc_returns.application import ReturnsApplication
        from csc_returns.bootstrap import RETURNS, ReturnsSettings
        from csc_returns.entrypoints.http import routes
        from csc_returns.public import to_public

        service = RETURNS.bootstrap(
            ReturnsSettings(
                data_dir=tmp_path / "returns", relay_enabled=False, auth_hs256_secret=SECRET
            )
        )
        assert isinstance(service.app, ReturnsApplication)
        service.app.now = lambda: NOW
        super().__init__(service, _desk_client(service, routes))
        self.to_public = to_public
        cases = "/cases/{case_id}"
        opening: Known = {"case_id": self.complaint, "customer_code": omit}
        self.targets = {
            "POST /replacements": Target(lambda: {}, opening, units_match),
            "POST /returns": Target(lambda: {}, opening),
            f"POST {cases}/replacement/shipment": Target(
                self.replacement, {"quantity": lambda: QUANTITY, "shipped_at": omit}
            ),
            **{
                f"POST {cases}/{path}": Target(functools.partial(self.returned, n))
                for n, (path, _, _) in enumerate(WHOLE_BATCH)
            },
            f"POST {cases}/quality-rejection": Target(lambda: self.returned(1)),
            f"POST {cases}/receipt": Target(
                lambda: self.returned(3),
                {"quantity": lambda: QUANTITY, "lot": lambda: LOT, "received_at": omit},
            ),
            f"POST {cases}/samples": Target(lambda: self.returned(4), adjust=samples),
            f"POST {cases}/more-samples-request": Target(lambda: self.returned(4)),
            f"POST {cases}/pnpr/review": Target(
                lambda: self.returned(8), adjust=one_per_disposition
            ),
            f"POST {cases}/pnpr/dispositions": Target(
                lambda: self.returned(len(WHOLE_BATCH)),
                {"disposition": lambda: "rework", "quantity": lambda: 600},
            ),
        }

    def replacement(self) -> dict[str, str]:
        case = self.complaint()
        body = {"case_id": case, "lot": LOT, "quantity": QUANTITY}
        self.post("/replacements", body, "marketing")
        return {"case_id": case}

    def returned(self, steps: int) -> dict[str, str]:
        """A whole-batch return requested, then its first ``steps`` steps."""
        case = self.complaint()
        body = {"case_id": case, "delivery": "DN-1107", "lot": LOT, "quantity": QUANTITY,
                "reason": "cracked housings"}  # fmt: skip
        self.post("/returns", body, "marketing")
        for path, step, department in WHOLE_BATCH[:steps]:
            self.post(f"/cases/{case}/{path}", step, department)
        return {"case_id": case}


# Capa ----------------------------------------------------------------------------------------

TEAM = {
    "leader": {"name": "Wang Fang", "department": "quality"},
    "members": [
        {"name": "Li Wei", "department": "marketing"},
        {"name": "Sun Li", "department": "development"},
        {"name": "Chen Jie", "department": "engineering"},
        {"name": "Zhou Min", "department": "production"},
    ],
}
PROBLEM = {k: "see the complaint" for k in ("what", "where", "when", "who", "why", "how")}
EIGHT_D: list[tuple[str, dict[str, Any], str]] = [
    ("contacts", {"contact": "Mr. Zhao", "means": "phone", "summary": "Cracks"}, "quality"),
    ("confirmation", {"finding": "Cracks confirmed on 2 returned samples"}, "quality"),
    ("team", TEAM, "quality"),
    ("d2/problem", {**PROBLEM, "how_many": "40 of 2,000"}, "quality"),
    ("d3/containment", {"actions": "Sort stock", "scope": "FG stock", "quantity": 0}, "quality"),
    ("d4/root-cause", {"root_cause": "Gate", "escape_point": "Sampling", "method": "5 whys"},
     "quality"),
    ("d5/actions", {"description": "Heater alarm", "due": "2026-12-10",
                    "owner": {"name": "Chen Jie", "department": "engineering"}}, "quality"),
    ("d6/actions/1/implementation", {"validation": "Alarm tested"}, "engineering"),
    ("effectiveness", {"effective": True, "method": "5 lots", "result": "No cracks"}, "quality"),
    ("d7/prevention", {"updates": [{"kind": "fmea", "reference": "PFMEA-220",
                                    "change": "Gate temperature"}]}, "quality"),
]  # fmt: skip
CAPA_NOW = NOW + timedelta(hours=2)


def whole_team(body: Any) -> Any:
    """D1's team has marketing, development, engineering and production at least (4.4.4)."""
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        return body
    needed = ("marketing", "development", "engineering", "production")
    members = []
    for i, member in enumerate(body["members"]):
        if isinstance(member, dict) and isinstance(member.get("name"), str):
            # Each member once (a name made distinct by its number).
            member = {**member, "name": f"{i}{member['name'][len(str(i)) :]}"}
            if i < len(needed):
                member["department"] = needed[i]
        members.append(member)
    return {**body, "members": members}


def owned_on_team(body: Any) -> Any:
    """An action owned by a department of the team."""
    if isinstance(body, dict) and isinstance(body.get("owner"), dict):
        return {**body, "owner": {**body["owner"], "department": "engineering"}}
    return body


def laid_out(body: Any) -> Any:
    """A customer's template opens with a section, so every rendered line has its place."""
    if not isinstance(body, dict) or not isinstance(body.get("template"), str):
        return body
    head = "# 报告 | Report\n"
    return {**body, "template": head + body["template"][len(head) :]}


class CapaWorld(_DeskWorld):
    name = "capa"
    departments = ("quality", "marketing", "engineering", "production", "development")

    def __init__(self, tmp_path: Path) -> None:
        from csc_capa.application import CapaApplication
        from csc_capa.bootstrap import CAPA, CapaSettings
        from csc_capa.entrypoints.http import evidence_handlers, routes
        from csc_capa.public import to_public

        service = CAPA.bootstrap(
            CapaSettings(data_dir=tmp_path / "capa", relay_enabled=False, auth_hs256_secret=SECRET)
        )
        assert isinstance(service.app, CapaApplication)
        service.app.now = lambda: CAPA_NOW
        super().__init__(service, _desk_client(service, routes, evidence_handlers))
        self.to_public = to_public
        cases = "/investigations/{case_id}"
        dates: Known = {
            "contacted_at": omit,
            "due": lambda: "2026-12-10",
            "implemented_on": omit,
            "verified_on": omit,
        }
        self.targets = {
            f"POST {cases}/{path}": Target(functools.partial(self.investigation, n), dates)
            for n, (path, _, _) in enumerate(EIGHT_D)
            if not path.startswith("d6/")
        }
        self.targets.update(
            {
                f"POST {cases}/evidence-requests": Target(lambda: self.investigation(0), dates),
                f"POST {cases}/non-confirmation": Target(lambda: self.investigation(0)),
                f"POST {cases}/misuse": Target(lambda: self.investigation(0)),
                f"POST {cases}/team": Target(lambda: self.investigation(2), adjust=whole_team),
                f"POST {cases}/d0/emergency-response": Target(lambda: self.investigation(2)),
                f"POST {cases}/d5/actions": Target(
                    lambda: self.investigation(6), dates, owned_on_team
                ),
                f"POST {cases}/d6/actions/{{action_no}}/implementation": Target(
                    lambda: {**self.investigation(7), "action_no": "1"}, dates
                ),
                f"POST {cases}/d8/closure": Target(lambda: self.investigation(len(EIGHT_D))),
                f"POST {cases}/report-format": Target(
                    lambda: self.investigation(0), {"format": lambda: "8d"}
                ),
                "PUT /report-formats/{customer_code}": Target(
                    lambda: {"customer_code": CUSTOMER}, adjust=laid_out
                ),
            }
        )

    def investigation(self, steps: int) -> dict[str, str]:
        """An investigation opened by a quality complaint, then its first ``steps`` steps."""
        case = self.complaint()
        for path, body, department in EIGHT_D[:steps]:
            self.post(f"/investigations/{case}/{path}", body, department)
        return {"case_id": case}


# SLA -----------------------------------------------------------------------------------------


class SlaWorld(_DeskWorld):
    name = "sla"
    departments = ("marketing", "after_sales", "quality")

    def __init__(self, tmp_path: Path) -> None:
        from csc_sla.application import SlaApplication
        from csc_sla.bootstrap import SLA, SlaSettings
        from csc_sla.entrypoints.http import routes
        from csc_sla.public import to_public

        service = SLA.bootstrap(
            SlaSettings(data_dir=tmp_path / "sla", relay_enabled=False, auth_hs256_secret=SECRET)
        )
        assert isinstance(service.app, SlaApplication)
        service.app.now = lambda: NOW
        super().__init__(service, _desk_client(service, routes))
        self.to_public = to_public
        self.feed(
            pub.CustomerRegistered(
                event_id=uuid4(),
                case_id=uuid4(),
                occurred_at=NOW - timedelta(days=400),
                actor=MARKETING,
                code=CUSTOMER,
                name="Dongfeng Motor",
                oem=True,
            )
        )
        self.targets = {
            "POST /clocks/{clock_id}/pause": Target(self.clock, {"at": omit}),
            "POST /clocks/{clock_id}/resume": Target(lambda: self.clock(paused=True), {"at": omit}),
            "PUT /calendars/{name}": Target(
                lambda: {"name": f"site-{next(self.sites)}"},
                {
                    "week": lambda: {"mon": ["08:00-12:00", "13:00-17:30"], "sat": ["08:00-12:00"]},
                    "timezone": lambda: "Asia/Shanghai",
                    "makeup_windows": omit,
                    # Ten years of days off, the most a calendar is likely to list.
                    "holidays": lambda: days(date(2020, 1, 1), 3650),
                    "makeup_days": lambda: days(date(2030, 1, 1), 100),
                },
                adjust=disjoint_days,
            ),
            "PUT /policy": Target(
                dict,
                {
                    "targets": lambda: {"reply": {"hours": 8, "calendar": "business"}},
                    "default_timezone": lambda: "Asia/Shanghai",
                    "warn_share": lambda: 0.75,
                },
                adjust=rules_name_default,
            ),
        }
        self.sites = itertools.count(1)

    def clock(self, paused: bool = False) -> dict[str, str]:
        """The reply clock (4.2.1) of a new complaint, running or paused."""
        from csc_sla.domain import Clock

        case_id = uuid4()
        self.feed(complaint(case_id, "service"))
        clock = str(Clock.create_id(case_id, "reply"))
        if paused:
            self.post(f"/clocks/{clock}/pause", {"reason": "customer_unreachable"}, "marketing")
        return {"clock_id": clock}


def days(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range(count)]


def disjoint_days(body: Any) -> Any:
    """A day is a holiday or a make-up day, not both."""
    calendar = body.get("calendar") if isinstance(body, dict) else None
    if isinstance(calendar, dict) and calendar.get("makeup_days"):
        holidays = set(calendar.get("holidays") or [])
        calendar["makeup_days"] = [d for d in calendar["makeup_days"] if d not in holidays]
    return body


def rules_name_default(body: Any) -> Any:
    """Rules name a calendar sla has."""
    policy = body.get("policy") if isinstance(body, dict) else None
    if isinstance(policy, dict):
        for rule in policy.get("calendar_rules") or []:
            if isinstance(rule, dict):
                rule["calendar"] = "default"
    return body


WORLDS: dict[str, Callable[[Path], World]] = {
    "intake": IntakeWorld,
    "returns": ReturnsWorld,
    "capa": CapaWorld,
    "sla": SlaWorld,
}
