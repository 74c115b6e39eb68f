"""One case's whole story across the four services, and its state at any moment.

The order rule. Each service's events of a case are on one partition (key =
case id), so each service's own order is the order things happened to the
case there, and is kept. Services are interleaved by ``occurred_at``. Two
corrections keep cause before effect, because a few events are dated by the
fact they record rather than by when they were published (returns'
``ReturnCaseOpened`` and capa's ``InvestigationOpened`` carry the customer's
report time):

- an event counts from its own time or from the time of the event before it
  in its service, whichever is later;
- an event that names its cause (``opened_by_event``, ``source_event_id``)
  counts from its cause's time at the earliest.

At equal times the upstream service comes first (intake, returns, capa, sla:
the order of ``SERVICES``), then the topic's order.

The as-of rule. The state of the case at moment T is told in the time things
happened, not the time they were recorded: a call received on Friday and
entered on Wednesday was there on Friday. Each event happened at the field that
says so (``HAPPENED_AT``: received, replied, arrived, a clock's start, pause,
deadline or meeting) or, for events that have none, at the time the order
rule gives it. The state in a service is the fold, in the order things
happened (timeline order at equal times), of that service's events that
happened at T or earlier: ``stage`` is the last event's name, ``fields`` the
latest value of every field any of those events carried, ``events`` how many
there were. sla's clocks are also folded one by one (``clocks_as_of``): a case
has up to four promises, and each has its own stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from csc_audit.history import AuditRecord, parse_time
from csc_contracts import SERVICES

CAUSE_FIELDS = ("opened_by_event", "source_event_id")
"""Fields by which an event names the event that caused it."""

REASON_FIELDS = ("reason", "finding", "note")
"""Fields that say why; shown in the timeline's reason column, in this order."""

HAPPENED_AT = {
    "FeedbackReceived": "received_at",
    "ComplaintLogged": "received_at",
    "ImportantInformationReported": "reported_at",
    "ImportantInformationAcknowledged": "acknowledged_at",
    "ReplySent": "replied_at",
    "OnSiteServiceRequired": "requested_at",
    "OnSiteVisitCompleted": "arrived_at",
    "CustomerContacted": "contacted_at",
    "CustomerContactedByQuality": "contacted_at",
    "ClockStarted": "started_at",
    "ClockPaused": "paused_at",
    "ClockResumed": "resumed_at",
    "ClockWarned": "at",
    "ClockBreached": "at",
    "ClockEscalated": "at",
    "ClockMet": "met_at",
    "ClockStopped": "stopped_at",
}
"""Event -> the field that says when it happened (the as-of rule)."""

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    """``occurred_at`` as the event says (None only for an unreadable record)."""
    counts_from: datetime
    """Where the order and as-of rules place it (see the module's docstring)."""
    service: str
    event: str
    ce_type: str | None
    event_id: str | None
    user: str | None
    department: str | None
    fields: Mapping[str, Any]
    reason: str | None
    problem: str | None
    topic: str
    partition: int
    offset: int
    happened_at: datetime | None = None
    """When it happened, where the event says (``HAPPENED_AT``); else ``counts_from``."""

    @property
    def happened(self) -> datetime:
        return self.happened_at or self.counts_from

    @property
    def actor(self) -> str:
        if self.user is None:
            return ""
        return f"{self.user} ({self.department})" if self.department else self.user

    def to_json(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "counts_from": _iso(self.counts_from),
            "happened_at": _iso(self.happened),
            "service": self.service,
            "event": self.event,
            "type": self.ce_type,
            "event_id": self.event_id,
            "actor": {"user": self.user, "department": self.department},
            "fields": dict(self.fields),
            "reason": self.reason,
            "problem": self.problem,
            "source": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def reason_of(fields: Mapping[str, Any]) -> str | None:
    said = [str(fields[name]) for name in REASON_FIELDS if fields.get(name) not in (None, "")]
    return "; ".join(said) or None


def _rank(service: str) -> int:
    return SERVICES.index(service) if service in SERVICES else len(SERVICES)


def timeline(records: Iterable[AuditRecord]) -> list[TimelineEntry]:
    """The case's events in order (the order rule of this module's docstring)."""
    ordered = sorted(
        enumerate(records),
        key=lambda pair: (_rank(pair[1].service), pair[1].partition, pair[1].offset, pair[0]),
    )
    items = [record for _, record in ordered]
    own = [record.occurred_at or _NEVER for record in items]
    by_event_id = {
        str(record.body.get("event_id")): i
        for i, record in enumerate(items)
        if record.body.get("event_id")
    }
    causes = [
        [
            by_event_id[str(record.body[name])]
            for name in CAUSE_FIELDS
            if str(record.body.get(name)) in by_event_id
        ]
        for record in items
    ]
    # Fixpoint: a cause in a later-ranked service moves its effect, which may move the
    # effect's successors; each round settles at least one more event.
    counts = list(own)
    for _ in range(len(items) + 1):
        changed = False
        previous: dict[tuple[str, int], datetime] = {}
        for i, record in enumerate(items):
            lane = (record.service, record.partition)
            moment = max([own[i], previous.get(lane, _NEVER), *(counts[c] for c in causes[i])])
            if moment != counts[i]:
                counts[i], changed = moment, True
            previous[lane] = moment
        if not changed:
            break
    entries = [
        _entry(record, counts[i])
        for i, record in sorted(
            enumerate(items), key=lambda pair: (counts[pair[0]], _rank(pair[1].service), pair[0])
        )
    ]
    return entries


def _entry(record: AuditRecord, counts_from: datetime) -> TimelineEntry:
    fields = record.fields
    actor = record.actor
    return TimelineEntry(
        at=record.occurred_at,
        counts_from=counts_from,
        service=record.service,
        event=record.name,
        ce_type=record.ce_type,
        event_id=str(record.body["event_id"]) if record.body.get("event_id") else None,
        user=actor.get("user"),
        department=actor.get("department"),
        fields=fields,
        reason=reason_of(fields),
        problem=record.problem,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        happened_at=parse_time(fields.get(HAPPENED_AT.get(record.name, ""))),
    )


@dataclass(frozen=True)
class ServiceState:
    """What one service knew of the case at a moment (the as-of rule)."""

    service: str
    stage: str | None = None
    clock: str | None = None
    """For one of sla's clocks: its kind (reply, on_site, important_ack, qc_contact)."""
    events: int = 0
    last_at: datetime | None = None
    last_actor: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    history: Sequence[str] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            **({"clock": self.clock} if self.clock else {}),
            "stage": self.stage,
            "events": self.events,
            "last_at": _iso(self.last_at),
            "last_actor": self.last_actor,
            "fields": dict(self.fields),
            "history": list(self.history),
        }


def _in_event_time(entries: Sequence[TimelineEntry], at: datetime) -> list[TimelineEntry]:
    if at.tzinfo is None:
        raise ValueError("the moment must carry a time zone (e.g. 2026-11-24T08:00:00Z)")
    happened = [(e.happened, i, e) for i, e in enumerate(entries) if e.happened <= at]
    return [e for _, _, e in sorted(happened, key=lambda t: (t[0], t[1]))]


def _fold(service: str, entries: Sequence[TimelineEntry], clock: str | None = None) -> ServiceState:
    fields: dict[str, Any] = {}
    for entry in entries:
        fields.update(entry.fields)
    last = entries[-1] if entries else None
    return ServiceState(
        service=service,
        stage=last.event if last else None,
        clock=clock,
        events=len(entries),
        last_at=last.happened if last else None,
        last_actor=last.actor if last else None,
        fields=fields,
        history=tuple(e.event for e in entries),
    )


def as_of(entries: Sequence[TimelineEntry], at: datetime) -> dict[str, ServiceState]:
    """The state of the case in each service at ``at`` (every service, even one with nothing),
    in the time things happened."""
    happened = _in_event_time(entries, at)
    services = [*SERVICES, *sorted({e.service for e in entries} - set(SERVICES))]
    return {s: _fold(s, [e for e in happened if e.service == s]) for s in services}


def clocks_as_of(entries: Sequence[TimelineEntry], at: datetime) -> dict[str, ServiceState]:
    """Each of sla's clocks of the case at ``at``, by kind, in the time things happened: the
    reply may be met while the on-site visit is still due. Clocks not started by then are
    absent."""
    happened = [e for e in _in_event_time(entries, at) if e.service == "sla"]
    kinds = sorted({str(e.fields["clock"]) for e in happened if e.fields.get("clock")})
    return {
        kind: _fold("sla", [e for e in happened if e.fields.get("clock") == kind], clock=kind)
        for kind in kinds
    }
