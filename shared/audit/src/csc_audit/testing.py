"""For tests and demonstrations: one quality complaint's story on the four topics.

The records are made by the real codec (CloudEvents binary mode), as Kafka
would hand them to an auditor, and read back through ``MemoryHistory``, an
in-memory ``KafkaHistory``: everything but the broker is the code that reads
the real topics.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from aiokafka.structs import ConsumerRecord

import csc_contracts as pub
from csc_audit.history import AuditRecord, KafkaHistory, Wanted, audit_record
from csc_contracts import SERVICES, Actor, PublicEvent, Topics
from csc_contracts.capa import ComplaintConfirmed, InvestigationOpened, InvestigationSource
from csc_contracts.intake import OnSiteReason, RemedialMeasure, UnitsLoaded
from csc_messaging.codec import encode
from csc_messaging.kafka_conn import KafkaConnection

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
RECEIVED = T0 - timedelta(minutes=10)
MARKETING = Actor(user="li.wei", department="marketing")
AFTER_SALES = Actor(user="zhang.san", department="after_sales")
QUALITY = Actor(user="wang.fang", department="quality")
CHIEF = Actor(user="zhou.gong", department="chief_engineer")
SYSTEM = Actor(user="sla", department="system")
CUSTOMER = pub.CustomerRef(
    code="OEM-001", name="东风汽车 Dongfeng Motor", oem=True, timezone="Asia/Shanghai"
)
TOPICS = Topics(prefix="audit-test.")


def raw(
    event: PublicEvent | None, topic: str, offset: int, *, override: dict[str, Any] | None = None
) -> ConsumerRecord[bytes, bytes]:
    assert event is not None
    message = encode(event)
    value = message.value
    headers = list(message.headers)
    if override is not None:  # a type this reader does not know, or a body its contract refuses
        body = {**json.loads(value), **override.get("body", {})}
        value = json.dumps(body).encode()
        headers = [(k, override["ce_type"].encode()) if k == "ce_type" else (k, v)
                   for k, v in headers]  # fmt: skip
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=message.key,
        value=value,
        checksum=None,
        serialized_key_size=len(message.key),
        serialized_value_size=len(value),
        headers=headers,
    )


@dataclass
class MemoryHistory(KafkaHistory):
    """``KafkaHistory`` over records in memory: the same filters, decoding and bookkeeping."""

    raws: dict[str, list[ConsumerRecord[bytes, bytes]]] = field(default_factory=dict)

    async def records(self, service: str, want: Wanted | None = None) -> AsyncIterator[AuditRecord]:
        topic = self.topics.events(service)
        self.read[topic] = len(self.raws.get(service, []))
        for r in self.raws.get(service, []):
            if want is None or want(r):
                yield audit_record(service, topic, r.partition, r.offset, r.key, r.value, r.headers)


@dataclass
class Topic:
    service: str
    records: list[ConsumerRecord[bytes, bytes]] = field(default_factory=list)

    def add(self, event: PublicEvent, **override: Any) -> PublicEvent:
        self.records.append(
            raw(event, TOPICS.events(self.service), len(self.records), override=override or None)
        )
        return event


def envelope(case: UUID, at: datetime, actor: Actor) -> dict[str, Any]:
    return {"event_id": uuid4(), "case_id": case, "occurred_at": at, "actor": actor}


@dataclass
class Story:
    case: UUID
    other: UUID
    record: UUID
    topics: dict[str, Topic]
    events: dict[str, PublicEvent]

    def history(self) -> MemoryHistory:
        return MemoryHistory(
            KafkaConnection("memory:0"),
            TOPICS,
            raws={s: list(t.records) for s, t in self.topics.items()},
        )

    def records(self, service: str | None = None) -> list[AuditRecord]:
        services = [service] if service else list(SERVICES)
        return [
            audit_record(s, r.topic, r.partition, r.offset, r.key, r.value, r.headers)
            for s in services
            for r in self.topics[s].records
        ]


def tell_story() -> Story:
    case, other, record = uuid4(), uuid4(), uuid4()
    topics = {s: Topic(s) for s in SERVICES}
    intake, returns, capa, sla = (topics[s] for s in ("intake", "returns", "capa", "sla"))
    ev: dict[str, PublicEvent] = {}

    intake.add(
        pub.CustomerRegistered(
            **envelope(uuid4(), T0 - timedelta(days=30), MARKETING),
            code="OEM-001",
            name="东风汽车 Dongfeng Motor",
            oem=True,
        )
    )
    # Another case's complaint, received in October: never in this case nor in November.
    intake.add(
        pub.ComplaintLogged(
            **envelope(other, datetime(2026, 10, 30, 2, tzinfo=UTC), MARKETING),
            category="delivery",
            channel="email",
            receiving_department="marketing",
            received_at=datetime(2026, 10, 30, 2, tzinfo=UTC),
            customer=CUSTOMER,
            text="Delivery DN-0999 arrived two days late.",
        )
    )
    ev["logged"] = intake.add(
        pub.ComplaintLogged(
            **envelope(case, T0, MARKETING),
            category="quality",
            channel="phone",
            receiving_department="after_sales",
            received_at=RECEIVED,
            customer=CUSTOMER,
            text="外壳开裂 Housings cracked at line 3; 40 units affected.",
            product="CN-220 connector",
            lot="L2026-11-07",
        )
    )
    intake.add(pub.EngineeringNotified(**envelope(case, T0, MARKETING)))
    ev["impact"] = intake.add(
        pub.QualityImpactAssessed(
            **envelope(case, T0 + timedelta(minutes=20), MARKETING),
            lines_stopped=1,
            quantity_affected=40,
            remedial_measure=RemedialMeasure.SWAP_UNITS,
        )
    )
    intake.add(pub.QualityNotified(**envelope(case, T0 + timedelta(minutes=20), MARKETING)))
    ev["important"] = intake.add(
        pub.ImportantInformationReported(
            **envelope(case, T0 + timedelta(minutes=25), MARKETING), reason="Line stopped at OEM"
        )
    )
    intake.add(
        pub.ImportantInformationAcknowledged(
            **envelope(case, T0 + timedelta(minutes=50), CHIEF), comment="Noted"
        )
    )
    ev["reply"] = intake.add(
        pub.ReplySent(
            **envelope(case, T0 + timedelta(hours=2), AFTER_SALES),
            replied_at=T0 + timedelta(hours=2),
            channel="phone",
            summary="Replacement units on their way; QC will call.",
        )
    )
    intake.add(
        pub.OnSiteServiceRequired(
            **envelope(case, T0 + timedelta(hours=2, minutes=5), AFTER_SALES),
            reason=OnSiteReason.QUALITY_PROBLEM,
        )
    )
    intake.add(
        pub.OnSiteVisitCompleted(
            **envelope(case, T0 + timedelta(hours=7), AFTER_SALES),
            arrived_at=T0 + timedelta(hours=6),
            departed_at=T0 + timedelta(hours=8, minutes=30),  # 17:30 in Shanghai
            engineers=("zhang.san",),
            diagnosis="Cracks start at the gate",
            solution="Sorted 400 units, 40 swapped",
        )
    )
    ev["follow_up"] = intake.add(
        pub.FollowUpRecorded(
            **envelope(case, datetime(2026, 12, 2, 1, tzinfo=UTC), AFTER_SALES),
            month="2026-11",
            result="No recurrence in December's deliveries",
            closed=True,
        )
    )
    # Field service at the OEM (4.1.4), amended; a half-yearly visit (4.5).
    ev["daily"] = intake.add(
        pub.FieldServiceRecorded(
            **envelope(record, T0 + timedelta(hours=10), AFTER_SALES),
            customer=CUSTOMER,
            site="Wuhan plant 2",
            work_date=date(2026, 11, 24),
            engineer="zhang.san",
            arrived_at=T0 - timedelta(minutes=30),  # 08:30 in Shanghai
            departed_at=T0 + timedelta(hours=8),  # 17:00
            units_loaded=(UnitsLoaded(model="DF-H7", quantity=120),),
            problems="2 connectors not latched on the line",
            actions="Re-seated and trained the operators",
        )
    )
    intake.add(
        pub.FieldServiceRecordAmended(
            **envelope(record, T0 + timedelta(hours=11), AFTER_SALES),
            customer=CUSTOMER,
            site="Wuhan plant 2",
            work_date=date(2026, 11, 24),
            engineer="zhang.san",
            arrived_at=T0 - timedelta(minutes=30),
            departed_at=T0 + timedelta(hours=10),  # 19:00: stayed for the night shift
            units_loaded=(UnitsLoaded(model="DF-H7", quantity=126),),
            problems="2 connectors not latched on the line",
            actions="Re-seated and trained the operators",
            reason="Six vehicles of the night shift were missed",
        )
    )
    intake.add(
        pub.CustomerVisited(
            **envelope(uuid4(), T0 + timedelta(days=2), MARKETING),
            customer=CUSTOMER,
            site="Wuhan plant 2",
            work_date=date(2026, 11, 26),
            engineer="li.wei",
            survey="Satisfied with response times",
            product_use="CN-220 on the H7 line",
        )
    )
    intake.add(
        pub.FeedbackReceived(
            **envelope(uuid4(), T0 + timedelta(days=3), MARKETING),
            channel="email",
            kind="suggestion",
            receiving_department="marketing",
            received_at=T0 + timedelta(days=3),
            customer=CUSTOMER,
            text="Label the cartons with QR codes",
        )
    )

    returns.add(
        pub.ReturnCaseOpened(
            **envelope(case, RECEIVED, MARKETING),
            clause="4.3",
            opened_by_event=ev["logged"].event_id,
            opened_by_type=ev["logged"].event_type(),
            reported_at=RECEIVED,
            customer=CUSTOMER,
            product="CN-220 connector",
            lot="L2026-11-07",
            description="Housings cracked",
        )
    )
    ev["requested"] = returns.add(
        pub.ReturnRequested(
            **envelope(case, T0 + timedelta(hours=3), MARKETING),
            clause="4.3.2",
            customer=CUSTOMER,
            delivery="DN-1107",
            lot="L2026-11-07",
            quantity=40,
            reason="cracked housings",
        )
    )
    returns.add(
        pub.ReturnConfirmationRequested(
            **envelope(case, T0 + timedelta(hours=3, minutes=5), MARKETING),
            clause="4.3.2.1",
            note="line 3",
        )
    )
    ev["confirmed"] = returns.add(
        pub.ReturnConfirmedByQuality(
            **envelope(case, T0 + timedelta(hours=4), QUALITY),
            clause="4.3.2.2",
            finding="moulding cracks, lot-wide",
        )
    )

    ev["investigation"] = capa.add(
        InvestigationOpened(
            **envelope(case, RECEIVED, QUALITY),
            clause="4.4.3",
            capa_no="CAPA-0001",
            source=InvestigationSource.COMPLAINT,
            source_event_id=ev["logged"].event_id,
            reported_at=RECEIVED,
            customer=CUSTOMER,
            description="Housings cracked",
        )
    )
    capa.add(
        ComplaintConfirmed(
            **envelope(case, T0 + timedelta(hours=5), QUALITY),
            clause="4.4.3",
            capa_no="CAPA-0001",
            finding="Gate cracks confirmed on 3 samples",
        )
    )
    # A type this reader does not know yet: still shown, with its raw body.
    capa.add(
        pub.EngineeringNotified(**envelope(case, T0 + timedelta(hours=6), QUALITY)),
        ce_type="csc.capa.SamplesArchived.v1",
        body={"shelf": "R-12"},
    )

    clock = uuid4()
    clock_fields = {"clock_id": clock, "clock": "reply", "clause": "4.2.1"}
    sla.add(
        pub.ClockStarted(
            **envelope(case, T0 + timedelta(seconds=1), SYSTEM),
            **clock_fields,
            customer=CUSTOMER,
            customer_class="oem",
            started_at=RECEIVED,
            target_hours=8,
            business_hours=False,
            timezone="Asia/Shanghai",
            warn_at=RECEIVED + timedelta(hours=6),
            due_at=RECEIVED + timedelta(hours=8),
            escalate_at=RECEIVED + timedelta(hours=12),
        )
    )
    ev["paused"] = sla.add(
        pub.ClockPaused(
            **envelope(case, T0 + timedelta(minutes=30), MARKETING),
            **clock_fields,
            paused_at=T0 + timedelta(minutes=30),
            reason="customer_unreachable",
            note="Line manager in a meeting",
        )
    )
    sla.add(
        pub.ClockResumed(
            **envelope(case, T0 + timedelta(hours=1), MARKETING),
            **clock_fields,
            resumed_at=T0 + timedelta(hours=1),
            paused_hours=0.5,
            warn_at=RECEIVED + timedelta(hours=6.5),
            due_at=RECEIVED + timedelta(hours=8.5),
            escalate_at=RECEIVED + timedelta(hours=12.5),
        )
    )
    sla.add(
        pub.ClockMet(
            **envelope(case, T0 + timedelta(hours=2, seconds=1), SYSTEM),
            **clock_fields,
            met_at=T0 + timedelta(hours=2),
            within_target=True,
            paused_hours=0.5,
        )
    )
    # The other case's clock: on the same topic, never in this case's timeline.
    sla.add(
        pub.ClockMet(
            **envelope(other, T0, SYSTEM),
            **{**clock_fields, "clock_id": uuid4()},
            met_at=T0,
            within_target=True,
            paused_hours=0,
        )
    )
    return Story(case, other, record, topics, ev)
