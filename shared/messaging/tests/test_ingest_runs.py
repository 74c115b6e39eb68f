"""Applying a run of records in one transaction changes nothing that record-by-record
application would not: same events, same positions, same outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import singledispatchmethod
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking

from csc_contracts import ComplaintLogged, FeedbackReceived, PublicEvent
from csc_messaging.application import ConsumerApplication
from csc_messaging.codec import encode
from csc_messaging.ingest import Ingestor, Outcome, Record
from csc_messaging.journal import RecordApplied
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env

TOPIC = "csc.intake.v1"


class Case(Aggregate):
    @staticmethod
    def create_id(case_id: UUID) -> UUID:
        return case_id

    @event("Opened")
    def __init__(self, case_id: UUID, text: str) -> None:
        self.notes = [text]

    @event("Noted")
    def note(self, text: str) -> None:
        self.notes.append(text)


class Cases(ConsumerApplication):
    """Opens a case per complaint (once), notes feedback on a case that is open."""

    name = "cases"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.inside = 0
        self.policies_inside: list[bool] = []

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        # As ConsumerApplication's lock does: whatever process_event adds covers a run too.
        self.inside += 1
        try:
            super().process_event(domain_event, tracking)
        finally:
            self.inside -= 1

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Nothing else matters here."""

    @react.register
    def _(self, e: ComplaintLogged, pe: ProcessingEvent[UUID]) -> None:
        self.policies_inside.append(self.inside > 0)
        if e.text == "explode":
            raise RuntimeError("this complaint cannot be handled")
        if self.find(Case.create_id(e.case_id), Case) is None:
            pe.collect_events(Case(case_id=e.case_id, text=e.text))

    @react.register
    def _(self, e: FeedbackReceived, pe: ProcessingEvent[UUID]) -> None:
        case = self.find(Case.create_id(e.case_id), Case)
        if case is not None:
            case.note(e.text)
            pe.collect_events(case)


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


def complaint(case_id: UUID, text: str = "cracked housings") -> ComplaintLogged:
    return ComplaintLogged.model_validate(
        {
            "event_id": str(uuid4()),
            "case_id": str(case_id),
            "occurred_at": "2026-11-24T08:00:00Z",
            "actor": {"user": "li.wei", "department": "marketing"},
            "category": "quality",
            "channel": "phone",
            "receiving_department": "production",
            "received_at": "2026-11-24T07:55:00Z",
            "customer": {"code": "OEM-001"},
            "text": text,
        }
    )


def feedback(case_id: UUID, text: str) -> FeedbackReceived:
    data = complaint(case_id, text).model_dump(mode="json")
    data.pop("category")
    return FeedbackReceived.model_validate({**data, "event_id": str(uuid4()), "kind": "suggestion"})


def records(items: list[PublicEvent | str], partition: int = 0) -> list[Record]:
    out: list[Record] = []
    for offset, item in enumerate(items):
        if item == "poison":
            out.append(FakeRecord(TOPIC, partition, offset, b"k", b"\x00garbage", []))
            continue
        assert not isinstance(item, str)
        message = encode(item)
        headers = message.headers
        if getattr(item, "text", "") == "from the future":
            headers = [
                (k, b"csc.intake.ComplaintEscalated.v1" if k == "ce_type" else v)
                for k, v in headers
            ]
        out.append(FakeRecord(TOPIC, partition, offset, message.key, message.value, headers))
    return out


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[tuple[Cases, Cases]]:
    one = Cases(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path / "one"), "cases"))
    run = Cases(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path / "run"), "cases"))
    yield one, run
    one.close()
    run.close()


def one_by_one(app: Cases, batch: list[Record]) -> tuple[list[Outcome], Ingestor]:
    ingestor = Ingestor(app, None)

    async def go() -> list[Outcome]:
        return [await ingestor.handle(r) for r in batch]

    return asyncio.run(go()), ingestor


def as_run(app: Cases, batch: list[Record]) -> tuple[list[Outcome], Ingestor]:
    ingestor = Ingestor(app, None)
    return asyncio.run(ingestor.handle_run(batch)), ingestor


APPLIED = f"{RecordApplied.__module__}:{RecordApplied.__qualname__}"


def stored(app: Cases) -> list[tuple[str, int, str, bytes]]:
    # Event timestamps differ between the two stores; everything else must not. Which
    # records each transaction applied is stored per transaction: see applied().
    return [
        (str(n.originator_id), n.originator_version, n.topic, n.state.split(b'"timestamp"')[0])
        for n in app.recorder.select_notifications(1, 1000)
        if n.topic != APPLIED
    ]


def applied(app: Cases) -> list[tuple[str, int, str]]:
    """The RecordApplied events: (tracking name, position, outcome) of each transaction."""
    return [
        (e.application_name, e.notification_id, e.outcome)
        for n in app.recorder.select_notifications(1, 1000)
        if n.topic == APPLIED
        for e in [cast(RecordApplied, app.mapper.to_domain_event(n))]
    ]


def test_a_run_stores_what_one_by_one_stores(apps: tuple[Cases, Cases]) -> None:
    first, second = uuid4(), uuid4()
    opened = complaint(first)
    batch = records(
        [
            opened,
            feedback(first, "called back"),  # changes the case opened just before, same run
            complaint(second),
            opened,  # republished at a new offset: no second case
            "poison",
            complaint(uuid4(), "from the future"),  # a type this consumer does not know
            feedback(second, "on site tomorrow"),
        ]
    )
    one_app, run_app = apps
    outcomes_one, ingest_one = one_by_one(one_app, batch)
    outcomes_run, ingest_run = as_run(run_app, batch)

    assert outcomes_run == outcomes_one
    assert (
        ingest_run.stats.counts
        == ingest_one.stats.counts
        == {
            "applied": 5,
            "duplicate": 0,
            "skipped_unknown_type": 1,
            "dead_lettered": 1,
        }
    )
    assert stored(run_app) == stored(one_app)
    # One transaction for the run, one per record that changed something (or was
    # dead-lettered) one by one: each names the last record it covers.
    name = f"{TOPIC}:0"
    assert applied(run_app) == [(name, len(batch), "applied")]
    assert applied(one_app) == [
        (name, 1, "applied"),
        (name, 2, "applied"),
        (name, 3, "applied"),
        (name, 5, "dead_lettered"),
        (name, 7, "applied"),
    ]
    assert run_app.repository.get(first).notes == ["cracked housings", "called back"]
    assert run_app.recorder.max_tracking_id(f"{TOPIC}:0") == len(batch)
    assert one_app.recorder.max_tracking_id(f"{TOPIC}:0") == len(batch)
    assert run_app.policies_inside and all(run_app.policies_inside)


def test_a_redelivered_run_changes_nothing(apps: tuple[Cases, Cases]) -> None:
    _, app = apps
    batch = records([complaint(uuid4()), complaint(uuid4()), complaint(uuid4())])
    as_run(app, batch)
    before = stored(app)

    outcomes, ingestor = as_run(app, batch)

    assert outcomes == [Outcome.DUPLICATE] * 3
    assert ingestor.stats.counts["duplicate"] == 3
    assert stored(app) == before
    # Part of it again, beside new records: only the new ones count.
    more = records([complaint(uuid4()), complaint(uuid4()), complaint(uuid4()), complaint(uuid4())])
    outcomes, _ = as_run(app, [*batch[1:], more[3]])
    assert outcomes == [Outcome.DUPLICATE, Outcome.DUPLICATE, Outcome.APPLIED]


def test_a_run_that_ends_in_unknown_types_records_no_position_for_them(
    apps: tuple[Cases, Cases],
) -> None:
    _, app = apps
    batch = records([complaint(uuid4()), complaint(uuid4(), "from the future")])
    as_run(app, batch)
    assert app.recorder.max_tracking_id(f"{TOPIC}:0") == 1


def test_a_record_whose_policy_fails_is_dead_lettered_and_the_rest_applied(
    apps: tuple[Cases, Cases],
) -> None:
    one_app, run_app = apps
    batch = records([complaint(uuid4()), complaint(uuid4(), "explode"), complaint(uuid4())])
    outcomes_one, _ = one_by_one(one_app, batch)
    outcomes_run, ingestor = as_run(run_app, batch)

    assert (
        outcomes_run
        == outcomes_one
        == [
            Outcome.APPLIED,
            Outcome.DEAD_LETTERED,
            Outcome.APPLIED,
        ]
    )
    assert ingestor.stats.counts["dead_lettered"] == 1
    assert stored(run_app) == stored(one_app)
    assert run_app.recorder.max_tracking_id(f"{TOPIC}:0") == 3


def test_a_run_holds_one_partition(apps: tuple[Cases, Cases]) -> None:
    _, app = apps
    mixed = [*records([complaint(uuid4())], 0), *records([complaint(uuid4())], 1)]
    with pytest.raises(ValueError, match="one partition"):
        as_run(app, mixed)


def test_records_one_by_one_still_see_only_what_is_stored(apps: tuple[Cases, Cases]) -> None:
    _, app = apps
    case_id = uuid4()
    one_by_one(app, records([complaint(case_id), feedback(case_id, "noted")]))
    assert app.repository.get(case_id).notes == ["cracked housings", "noted"]
    assert app.find(uuid4(), Case) is None


def test_another_writer_moving_the_aggregate_meanwhile_is_not_taken_for_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two writers on one store: the live consumer, and e.g. a redrive of dead letters.
    env = eventsourcing_env(ServiceSettings(data_dir=tmp_path), "cases")
    live, other = Cases(env=env), Cases(env=env)
    case_id = uuid4()
    opened, noted = records([complaint(case_id), feedback(case_id, "more")])
    ingestor = Ingestor(live, None)
    assert asyncio.run(ingestor.handle(opened)) is Outcome.APPLIED

    note = Case.note
    interfered: list[bool] = []

    def note_after_another_writer(case: Case, text: str) -> None:
        if not interfered:  # between the policy's read and its save
            interfered.append(True)
            theirs = other.find(case_id, Case)
            assert theirs is not None
            theirs.note("written meanwhile")
            other.save(theirs)
        note(case, text)

    monkeypatch.setattr(Case, "note", note_after_another_writer)
    assert asyncio.run(ingestor.handle(noted)) is Outcome.APPLIED
    case = live.find(case_id, Case)
    assert case is not None
    assert case.notes == ["cracked housings", "written meanwhile", "more"]
    other.close()
    live.close()


class LookingUp(Cases):
    """Cases that says which aggregates its reactions look up."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.meanwhile: Callable[[], None] | None = None

    def looks_up(self, event: Any) -> list[UUID]:
        return [Case.create_id(event.case_id)]

    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:  # once: after the run asked, before it reacts
            meanwhile()
        super().react(domain_event, processing_event)


def test_a_run_asks_once_which_aggregates_exist_and_reads_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = Cases(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path / "one"), "cases"))
    app = LookingUp(env=eventsourcing_env(ServiceSettings(data_dir=tmp_path / "run"), "cases"))
    known, new = uuid4(), uuid4()
    earlier = records([complaint(known)])
    later: list[Record] = [
        replace(cast(FakeRecord, r), offset=r.offset + 1)
        for r in records([feedback(known, "called back"), complaint(new), feedback(new, "noted")])
    ]
    for target in (one, app):
        as_run(target, earlier)
    reads: list[UUID] = []
    select_events = app.recorder.select_events

    def counted(originator_id: UUID, **kwargs: Any) -> Any:
        reads.append(originator_id)
        return select_events(originator_id, **kwargs)

    monkeypatch.setattr(app.recorder, "select_events", counted)
    outcomes, _ = as_run(app, later)

    assert outcomes == [Outcome.APPLIED] * 3
    # The case stored before is read; the one the run opens is known missing, not read.
    assert reads == [known]
    one_outcomes, _ = as_run(one, later)
    assert one_outcomes == outcomes
    assert stored(app) == stored(one)
    assert app.repository.get(new).notes == ["cracked housings", "noted"]
    one.close()
    app.close()


def test_an_aggregate_another_writer_creates_after_the_question_refuses_the_run(
    tmp_path: Path,
) -> None:
    env = eventsourcing_env(ServiceSettings(data_dir=tmp_path), "cases")
    app, other = LookingUp(env=env), Cases(env=env)
    case_id = uuid4()
    app.meanwhile = lambda: other.save(Case(case_id=case_id, text="opened meanwhile"))
    outcomes, _ = as_run(app, records([complaint(case_id), complaint(uuid4())]))

    # The run collided with the other writer's case; applied again record by record,
    # the complaint finds that case and opens none of its own.
    assert outcomes == [Outcome.APPLIED, Outcome.APPLIED]
    assert app.repository.get(case_id).notes == ["opened meanwhile"]
    assert app.recorder.max_tracking_id(f"{TOPIC}:0") == 2
    other.close()
    app.close()
