"""SLA's reactions to intake's, returns' and capa's public events, its timer, and pause/resume."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import retry

import csc_contracts as pub
import csc_contracts.capa as capa
from csc_contracts import Actor, PublicEvent
from csc_messaging.application import ConsumerApplication
from csc_messaging.commands import Now, utcnow
from csc_messaging.retries import CONFLICT_ATTEMPTS, CONFLICT_PAUSE
from csc_sla.calendars import (
    DEFAULT_CALENDAR,
    CalendarDefinition,
    CalendarVersion,
    calendar_for,
)
from csc_sla.commands import CLAUSES
from csc_sla.domain import (
    CapaFile,
    CaseFile,
    Clock,
    ClockRuleViolation,
    CustomerProfile,
    ReturnFile,
)
from csc_sla.domain.clocks import SYSTEM
from csc_sla.domain.rulebook import POLICY, Kind, Rulebook
from csc_sla.domain.timeline import timeline
from csc_sla.policy import OWNERS, ClockKind, ClockPolicy, SlaPolicy, hours

log = structlog.get_logger(__name__)

# How long the facts entered with a backdated clock have to meet it before deadlines
# that had already passed are recorded as found late.
DEFAULT_SETTLING = timedelta(minutes=15)


class UnknownCalendar(ValueError):
    """A policy's rule names a calendar sla does not have."""

    def __init__(self, field: str, message: str, calendar: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.calendar = calendar


class SlaApplication(ConsumerApplication):
    name = "sla"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        policy: SlaPolicy | None = None,
        now: Now = utcnow,
        settling: timedelta = DEFAULT_SETTLING,
    ) -> None:
        super().__init__(env)
        self.sla_policy = policy or SlaPolicy()
        self.now = now
        self.settling = settling
        self._parsed: dict[tuple[str, str, int], Any] = {}

    # Reactions ------------------------------------------------------------------------

    @singledispatchmethod
    def looks_up(self, event: Any) -> Iterable[UUID]:
        """What the reactions below look up first, asked of the store once per run: for
        the events that open something, mostly aggregates the run itself creates."""
        return ()

    @looks_up.register
    def _customer_looked_up(
        self, event: pub.CustomerRegistered | pub.CustomerUpdated
    ) -> tuple[UUID, ...]:
        return (CustomerProfile.create_id(event.code),)

    @looks_up.register
    def _case_looked_up(
        self, event: pub.ComplaintLogged | pub.FeedbackReceived
    ) -> tuple[UUID, ...]:
        # _open_case: its file; _start_clock: the reply clock (4.2.1), the profile.
        return (
            CaseFile.create_id(event.case_id),
            Clock.create_id(event.case_id, ClockKind.REPLY.value),
            CustomerProfile.create_id(event.customer.code),
        )

    @looks_up.register
    def _return_looked_up(self, event: pub.ReturnCaseOpened) -> tuple[UUID, ...]:
        return (ReturnFile.create_id(event.case_id),)

    @looks_up.register
    def _investigation_looked_up(self, event: capa.InvestigationOpened) -> tuple[UUID, ...]:
        return (
            CapaFile.create_id(event.case_id),
            Clock.create_id(event.case_id, ClockKind.QC_CONTACT.value),
            CustomerProfile.create_id(event.customer.code),
        )

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events this service does not react to change nothing."""

    @react.register
    def on_customer_registered(
        self, event: pub.CustomerRegistered, pe: ProcessingEvent[UUID]
    ) -> None:
        profile = self._known(event.code, event.occurred_at, pe)
        if not profile.registered:
            profile.register(
                name=event.name,
                oem=event.oem,
                timezone=event.sites[0].timezone if event.sites else None,
                registered_at=event.occurred_at,
            )
        pe.collect_events(profile)

    @react.register
    def on_customer_updated(self, event: pub.CustomerUpdated, pe: ProcessingEvent[UUID]) -> None:
        profile = self._known(event.code, event.occurred_at, pe)
        profile.update(
            name=event.name,
            oem=event.oem,
            timezone=event.sites[0].timezone if event.sites else None,
        )
        pe.collect_events(profile)

    @react.register
    def on_feedback_received(self, event: pub.FeedbackReceived, pe: ProcessingEvent[UUID]) -> None:
        self._open_case(event, "feedback", event.kind.value, None, pe)

    @react.register
    def on_complaint_logged(self, event: pub.ComplaintLogged, pe: ProcessingEvent[UUID]) -> None:
        self._open_case(event, "complaint", None, event.category.value, pe)

    @react.register
    def on_reply_sent(self, event: pub.ReplySent, pe: ProcessingEvent[UUID]) -> None:
        self._meet(event.case_id, ClockKind.REPLY, event.replied_at, event, pe)

    @react.register
    def on_on_site_service_required(
        self, event: pub.OnSiteServiceRequired, pe: ProcessingEvent[UUID]
    ) -> None:
        # 4.2.2: the on-site clock starts only when on-site service is required, from
        # when that was decided (requested_at; events before it had only their record time).
        at = event.requested_at or event.occurred_at
        self._start(event.case_id, ClockKind.ON_SITE, at, event, pe)

    @react.register
    def on_on_site_visit_completed(
        self, event: pub.OnSiteVisitCompleted, pe: ProcessingEvent[UUID]
    ) -> None:
        self._meet(event.case_id, ClockKind.ON_SITE, event.arrived_at, event, pe)

    @react.register
    def on_important_information_reported(
        self, event: pub.ImportantInformationReported, pe: ProcessingEvent[UUID]
    ) -> None:
        at = event.reported_at or event.occurred_at
        self._start(event.case_id, ClockKind.IMPORTANT_ACK, at, event, pe)

    @react.register
    def on_important_information_acknowledged(
        self, event: pub.ImportantInformationAcknowledged, pe: ProcessingEvent[UUID]
    ) -> None:
        at = event.acknowledged_at or event.occurred_at
        self._meet(event.case_id, ClockKind.IMPORTANT_ACK, at, event, pe)

    @react.register
    def on_follow_up_recorded(self, event: pub.FollowUpRecorded, pe: ProcessingEvent[UUID]) -> None:
        case = self.find(CaseFile.create_id(event.case_id), CaseFile)
        if case is not None:
            case.follow_up(month=event.month, closed=event.closed, at=event.occurred_at)
            pe.collect_events(case)
        if event.closed:
            self._stop_clocks(event, pe)

    def _stop_clocks(self, event: pub.FollowUpRecorded, pe: ProcessingEvent[UUID]) -> None:
        """4.6: the entry is closed, so nothing more is owed on it: every clock of the case
        still open stops, at the time the follow-up was recorded, and fires nothing more."""
        actor = event.actor.model_dump(mode="json")
        for kind in ClockKind:
            clock = self.find(Clock.create_id(event.case_id, kind.value), Clock)
            if clock is not None and clock.stop(
                at=event.occurred_at, closed_by_event=event.event_id, month=event.month,
                actor=actor,
            ):  # fmt: skip
                pe.collect_events(clock)

    @react.register
    def on_customer_visited(self, event: pub.CustomerVisited, pe: ProcessingEvent[UUID]) -> None:
        profile = self._known(event.customer.code, event.occurred_at, pe, event.customer)
        if event.case_id not in profile.records:
            profile.visited(visit_date=event.work_date.isoformat(), record_id=event.case_id)
        pe.collect_events(profile)

    @react.register
    def on_field_service_recorded(
        self, event: pub.FieldServiceRecorded, pe: ProcessingEvent[UUID]
    ) -> None:
        profile = self._known(event.customer.code, event.occurred_at, pe, event.customer)
        if event.case_id not in profile.records:
            profile.serviced(
                work_date=event.work_date.isoformat(),
                engineer=event.engineer,
                site=event.site,
                record_id=event.case_id,
            )
        pe.collect_events(profile)

    @react.register
    def on_satisfaction_survey_recorded(
        self, event: pub.SatisfactionSurveyRecorded, pe: ProcessingEvent[UUID]
    ) -> None:
        profile = self._known(event.code, event.occurred_at, pe)
        if event.year not in profile.survey_years:
            profile.surveyed(year=event.year, at=event.occurred_at)
        pe.collect_events(profile)

    # Returns (4.3), for the monthly report -------------------------------------------------

    @react.register
    def on_return_case_opened(self, event: pub.ReturnCaseOpened, pe: ProcessingEvent[UUID]) -> None:
        if self.find(ReturnFile.create_id(event.case_id), ReturnFile) is None:
            pe.collect_events(
                ReturnFile(
                    case_id=event.case_id,
                    customer=event.customer.model_dump(mode="json"),
                    reported_at=event.reported_at,
                )
            )

    @react.register
    def on_return_rejected_by_quality(
        self, event: pub.ReturnRejectedByQuality, pe: ProcessingEvent[UUID]
    ) -> None:
        self._close_return(event.case_id, event.occurred_at, "rejected_by_quality", pe)

    @react.register
    def on_replacement_shipped(
        self, event: pub.ReplacementShipped, pe: ProcessingEvent[UUID]
    ) -> None:
        self._close_return(event.case_id, event.occurred_at, "replacement_shipped", pe)

    @react.register
    def on_nonconformance_dispositioned(
        self, event: pub.NonconformanceDispositioned, pe: ProcessingEvent[UUID]
    ) -> None:
        if event.complete:
            self._close_return(event.case_id, event.occurred_at, "dispositioned", pe)

    def _close_return(
        self, case_id: UUID, at: datetime, how: str, pe: ProcessingEvent[UUID]
    ) -> None:
        # Returns publishes its case's opening before anything that closes it, on the
        # same partition (key = case id), so the file is there.
        returned = self.find(ReturnFile.create_id(case_id), ReturnFile)
        if returned is not None and not returned.closed:
            returned.close(at=at, how=how)
            pe.collect_events(returned)

    # Capa (4.4.3-4.4.4): QC's first contact, and CAPAs for the monthly report -----------------

    @react.register
    def on_investigation_opened(
        self, event: capa.InvestigationOpened, pe: ProcessingEvent[UUID]
    ) -> None:
        if self.find(CapaFile.create_id(event.case_id), CapaFile) is None:
            pe.collect_events(
                CapaFile(
                    case_id=event.case_id,
                    capa_no=event.capa_no,
                    source=event.source.value,
                    customer=event.customer.model_dump(mode="json"),
                    reported_at=event.reported_at,
                )
            )
        # 4.4.3: QC owes the customer a contact on a quality complaint. A PNPR (4.3.4) is
        # QC's own report on returned goods: no complaint, so no contact owed, no clock.
        if event.source is not capa.InvestigationSource.COMPLAINT:
            return
        # It runs from when QC learnt of the complaint: the investigation's opening,
        # whose occurred_at capa dates at the customer's report (the complaint's
        # received_at), so a replay of any topic starts it at the same moment. The
        # event names the customer: intake's ComplaintLogged, on another topic, may
        # not have been read yet.
        # Its recorded_at is when intake recorded the complaint: a complaint entered days
        # after the call has its past deadlines found late, not announced as live alarms.
        self._start_clock(
            event.case_id,
            event.customer.model_dump(mode="json"),
            ClockKind.QC_CONTACT,
            event.occurred_at,
            event.event_id,
            pe,
            recorded_at=event.recorded_at or event.occurred_at,
        )

    @react.register
    def on_customer_contacted_by_quality(
        self, event: capa.CustomerContactedByQuality, pe: ProcessingEvent[UUID]
    ) -> None:
        # The first contact meets the promise, at the time QC says it spoke to the customer.
        self._meet(event.case_id, ClockKind.QC_CONTACT, event.contacted_at, event, pe)

    # An investigation that finishes before QC contacted anyone (not confirmed, misuse,
    # or a CAPA closed, e.g. confirmed by a PNPR, without a contact on record) meets the
    # clock at its closing: capa records no contact on a finished case, and the clock
    # contract has no cancel. QC answered the case; within_target says whether in time.

    @react.register
    def on_complaint_not_confirmed(
        self, event: capa.ComplaintNotConfirmed, pe: ProcessingEvent[UUID]
    ) -> None:
        self._meet(event.case_id, ClockKind.QC_CONTACT, event.occurred_at, event, pe)

    @react.register
    def on_investigation_closed_as_misuse(
        self, event: capa.InvestigationClosedAsMisuse, pe: ProcessingEvent[UUID]
    ) -> None:
        self._meet(event.case_id, ClockKind.QC_CONTACT, event.occurred_at, event, pe)

    @react.register
    def on_team_convened(self, event: capa.TeamConvened, pe: ProcessingEvent[UUID]) -> None:
        # 4.4.4: the CAPA starts when QC convenes the cross-functional team.
        found = self._capa(event.case_id)
        if found is not None and not found.started:
            found.start(at=event.occurred_at)
            pe.collect_events(found)

    @react.register
    def on_corrective_action_planned(
        self, event: capa.CorrectiveActionPlanned, pe: ProcessingEvent[UUID]
    ) -> None:
        found = self._capa(event.case_id)
        if found is not None and event.action_no not in found.actions:
            found.plan(action_no=event.action_no, due=event.due, at=event.occurred_at)
            pe.collect_events(found)

    @react.register
    def on_corrective_action_implemented(
        self, event: capa.CorrectiveActionImplemented, pe: ProcessingEvent[UUID]
    ) -> None:
        found = self._capa(event.case_id)
        if found is not None and found.actions.get(event.action_no) is False:
            found.implement(action_no=event.action_no, implemented_on=event.implemented_on)
            pe.collect_events(found)

    @react.register
    def on_capa_closed(self, event: capa.CapaClosed, pe: ProcessingEvent[UUID]) -> None:
        found = self._capa(event.case_id)
        if found is not None and not found.closed:
            found.close(at=event.occurred_at)
            pe.collect_events(found)
        self._meet(event.case_id, ClockKind.QC_CONTACT, event.occurred_at, event, pe)

    def _capa(self, case_id: UUID) -> CapaFile | None:
        return self.find(CapaFile.create_id(case_id), CapaFile)

    def _known(
        self,
        code: str,
        at: datetime,
        pe: ProcessingEvent[UUID],
        ref: pub.CustomerRef | None = None,
    ) -> CustomerProfile:
        """The customer's profile, started by whichever of its events comes first.

        The caller collects it once changed: collecting takes the events pending then.
        """
        profile = pe.aggregates.get(CustomerProfile.create_id(code)) or self._profile(code)
        if profile is None:
            profile = CustomerProfile(
                code=code,
                name=ref.name if ref else None,
                oem=ref.oem if ref else None,
                timezone=ref.timezone if ref else None,
                known_at=at,
            )
        assert isinstance(profile, CustomerProfile)
        return profile

    # Clocks -------------------------------------------------------------------------------

    def _open_case(
        self,
        event: pub.FeedbackReceived | pub.ComplaintLogged,
        entry_type: str,
        kind: str | None,
        category: str | None,
        pe: ProcessingEvent[UUID],
    ) -> None:
        if self.find(CaseFile.create_id(event.case_id), CaseFile) is not None:
            return  # the same event republished
        case = CaseFile(
            case_id=event.case_id,
            entry_type=entry_type,
            kind=kind,
            category=category,
            channel=event.channel.value,
            customer=event.customer.model_dump(mode="json"),
            received_at=event.received_at,
        )
        pe.collect_events(case)
        # 4.2.1: the reply clock runs from when the call or letter arrived.
        self._start_for(case, ClockKind.REPLY, event.received_at, event, pe)

    def _start(
        self,
        case_id: UUID,
        kind: ClockKind,
        at: datetime,
        by: pub.PublicEvent,
        pe: ProcessingEvent[UUID],
    ) -> None:
        case = self.find(CaseFile.create_id(case_id), CaseFile)
        if case is not None:
            self._start_for(case, kind, at, by, pe)

    def _start_for(
        self,
        case: CaseFile,
        kind: ClockKind,
        at: datetime,
        by: pub.PublicEvent,
        pe: ProcessingEvent[UUID],
    ) -> None:
        # ``at`` is when the fact happened; the event's occurred_at when it was recorded.
        self._start_clock(
            case.case_id, case.customer, kind, at, by.event_id, pe, recorded_at=by.occurred_at
        )

    def _start_clock(
        self,
        case_id: UUID,
        customer: dict[str, Any],
        kind: ClockKind,
        at: datetime,
        by_event: UUID,
        pe: ProcessingEvent[UUID],
        *,
        recorded_at: datetime,
    ) -> None:
        if self.find(Clock.create_id(case_id, kind.value), Clock) is not None:
            return
        # The event names the customer's class and zone; the profile is only for
        # events recorded before they did.
        profile = self._profile(customer["code"])
        oem = customer.get("oem")
        if oem is None:
            oem = bool(profile and profile.oem)
        customer_class = "oem" if oem else "standard"
        # The rules in force when the fact was recorded: a change applies to clocks started
        # after it, however late the consumer reads the fact.
        as_of = max(recorded_at, at)
        policy_no, policy = self._policy_in_force(as_of, pe)
        rules = policy.for_class(oem)
        target = policy.target(oem, kind)
        name = calendar_for(policy.calendar_rules, customer["code"], customer_class)
        calendar_no, version = self._calendar_in_force(name, as_of, pe)
        # The clock keeps what it can meet of the calendar: its deadlines and pauses
        # come within a few years of its start, and a replay needs no other record.
        calendar = version.calendar(
            business=target.calendar == "business",
            timezone=self._timezone(customer, policy),
            around=at.date(),
        )
        pe.collect_events(
            Clock.start(
                case_id=case_id,
                kind=kind.value,
                clause=CLAUSES[kind],
                customer=customer,
                customer_class=customer_class,
                started_at=at,
                started_by_event=by_event,
                target=hours(target.hours),
                calendar=calendar,
                warn_share=rules.ladder.warn_share,
                escalate_after=hours(rules.ladder.escalate_after_hours),
                owner=OWNERS[kind],
                breach_notifies=rules.ladder.breach_notifies,
                escalate_notifies=rules.ladder.escalate_notifies,
                recorded_at=max(recorded_at, at),
                settling=self.settling,
                calendar_name=name,
                calendar_version=calendar_no,
                policy_version=policy_no,
            )
        )

    def _meet(
        self,
        case_id: UUID,
        kind: ClockKind,
        at: datetime,
        answer: pub.PublicEvent,
        pe: ProcessingEvent[UUID],
    ) -> None:
        clock = self.find(Clock.create_id(case_id, kind.value), Clock)
        if clock is not None:
            # Deadlines that passed before the answer was recorded were announced then
            # (live, by the timer), even if the answer is dated before them: fire them
            # first, so a replay from offset 0 announces exactly what the live service did.
            # Those found late the timer held until the clock's facts settled; if the
            # answer was recorded before then, it still holds them (Clock.advance).
            clock.advance(answer.occurred_at)
            clock.meet(at=at, by_event=answer.event_id)
            pe.collect_events(clock)

    def _profile(self, code: str) -> CustomerProfile | None:
        return self.find(CustomerProfile.create_id(code), CustomerProfile)

    def _timezone(self, customer: dict[str, Any], policy: ClockPolicy) -> str:
        """The customer's site zone, for a calendar that names none."""
        profile = self._profile(customer["code"])
        return str(
            customer.get("timezone") or (profile and profile.timezone) or policy.default_timezone
        )

    # Calendars and policy as recorded versions ------------------------------------------------

    def _first_content(self, kind: Kind, name: str) -> dict[str, Any] | None:
        """What ``CSC_SLA_POLICY`` says of the rulebook: its first version, or None."""
        if kind == "policy":
            fields = set(ClockPolicy.model_fields)
            return self.sla_policy.model_dump(mode="json", include=fields)
        definition = self.sla_policy.first_calendars().get(name)
        if definition is None:
            return None
        return CalendarVersion.record(definition).model_dump(mode="json")

    def _first(self, kind: Kind, name: str) -> Rulebook | None:
        content = self._first_content(kind, name)
        if content is None:
            return None
        return Rulebook(
            kind=kind,
            name=name,
            content=content,
            # In force from the start: what CSC_SLA_POLICY said before versions were kept.
            effective_at=None,
            actor=SYSTEM,
            reason="CSC_SLA_POLICY, the rules in force before any were recorded",
            retime_running=False,
            source="CSC_SLA_POLICY",
        )

    def rulebook(
        self, kind: Kind, name: str, pe: ProcessingEvent[UUID] | None = None
    ) -> Rulebook | None:
        """The recorded rulebook; the first version from ``CSC_SLA_POLICY`` recorded now
        (collected into ``pe``, or saved) when there is none yet."""
        book_id = Rulebook.create_id(kind, name)
        if pe is not None and book_id in pe.aggregates:
            found = pe.aggregates[book_id]
            assert isinstance(found, Rulebook)
            return found
        book = self.find(book_id, Rulebook)
        if book is not None:
            return book
        book = self._first(kind, name)
        if book is not None:
            if pe is not None:
                pe.collect_events(book)
            else:
                self.save(book)
        return book

    def record_first_versions(self) -> int:
        """Record what ``CSC_SLA_POLICY`` says as the first versions, where none is recorded
        yet: at the service's start, so that they are listed and audited from then on."""
        recorded = 0
        with self.lock:
            wanted: list[tuple[Kind, str]] = [("policy", POLICY)]
            wanted += [("calendar", n) for n in self.sla_policy.first_calendars()]
            for kind, name in wanted:
                if self.find(Rulebook.create_id(kind, name), Rulebook) is None:
                    self.rulebook(kind, name)
                    recorded += 1
        return recorded

    def _parse(self, kind: Kind, name: str, version: dict[str, Any]) -> Any:
        key = (kind, name, version["version"])
        if key not in self._parsed:
            model = ClockPolicy if kind == "policy" else CalendarVersion
            self._parsed[key] = model.model_validate(version["content"])
        return self._parsed[key]

    def _policy_in_force(
        self, at: datetime, pe: ProcessingEvent[UUID] | None = None
    ) -> tuple[int, ClockPolicy]:
        book = self.rulebook("policy", POLICY, pe)
        assert book is not None  # the policy always has a first version
        version = book.in_force(at)
        return version["version"], self._parse("policy", POLICY, version)

    def _calendar_in_force(
        self, name: str, at: datetime, pe: ProcessingEvent[UUID] | None = None
    ) -> tuple[int, CalendarVersion]:
        book = self.rulebook("calendar", name, pe)
        if book is None:
            # Only a policy recorded with a rule naming a calendar can name one; the
            # policy is checked against the calendars when recorded.
            raise LookupError(f"no calendar {name!r}")
        version = book.in_force(at)
        return version["version"], self._parse("calendar", name, version)

    def has_calendar(self, name: str) -> bool:
        recorded = self.find(Rulebook.create_id("calendar", name), Rulebook) is not None
        return recorded or name in self.sla_policy.first_calendars()

    def set_calendar(
        self,
        name: str,
        definition: CalendarDefinition,
        *,
        reason: str,
        retime_running: bool,
        actor: Actor,
        open_clocks: Callable[[], Iterable[UUID]] = tuple,
    ) -> tuple[Rulebook, list[Clock]]:
        """Record a calendar's new version; with ``retime_running``, the open clocks that
        count by it count the rest of their promise by it, in the same transaction."""
        with self.lock:
            now = self.now()
            content = CalendarVersion.record(definition).model_dump(mode="json")
            who = _who(actor)
            book = self.rulebook("calendar", name)
            if book is None:
                book = Rulebook(
                    kind="calendar", name=name, content=content, effective_at=now, actor=who,
                    reason=reason, retime_running=retime_running, source="api",
                )  # fmt: skip
            else:
                book.revise(
                    content=content, effective_at=now, actor=who, reason=reason,
                    retime_running=retime_running, source="api",
                )  # fmt: skip
            retimed: list[Clock] = []
            if retime_running:
                number = book.current["version"]
                version = CalendarVersion.model_validate(content)
                for clock in self._open(open_clocks):
                    if (clock.calendar_name or DEFAULT_CALENDAR) != name:
                        continue
                    if not clock.calendar.business:
                        continue  # wall-clock time: no calendar counts it
                    if clock.retime(
                        at=now,
                        reason=reason,
                        actor=who,
                        calendar=version.calendar(
                            business=True,
                            timezone=self._clock_zone(clock),
                            around=clock.started_at.date(),
                        ),
                        calendar_name=name,
                        calendar_version=number,
                        policy_version=clock.policy_version,
                        target=clock.target,
                        warn_share=clock.ladder["warn_share"],
                        escalate_after=timedelta(seconds=clock.ladder["escalate_after_seconds"]),
                        breach_notifies=clock.ladder["breach_notifies"],
                        escalate_notifies=clock.ladder["escalate_notifies"],
                    ):
                        retimed.append(clock)
            self.save(book, *retimed)
            return book, retimed

    def set_policy(
        self,
        policy: ClockPolicy,
        *,
        reason: str,
        retime_running: bool,
        actor: Actor,
        open_clocks: Callable[[], Iterable[UUID]] = tuple,
    ) -> tuple[Rulebook, list[Clock]]:
        """Record the policy's new version; with ``retime_running``, every open clock counts
        the rest of its promise by the new targets, ladder and calendar rules."""
        with self.lock:
            for n, rule in enumerate(policy.calendar_rules):
                if not self.has_calendar(rule.calendar):
                    raise UnknownCalendar(
                        f"calendar_rules.{n}.calendar",
                        f"no calendar {rule.calendar!r}: record it first (PUT /calendars/"
                        f"{rule.calendar})",
                        rule.calendar,
                    )
            now = self.now()
            who = _who(actor)
            book = self.rulebook("policy", POLICY)
            assert book is not None
            book.revise(
                content=policy.model_dump(mode="json"), effective_at=now, actor=who,
                reason=reason, retime_running=retime_running, source="api",
            )  # fmt: skip
            retimed: list[Clock] = []
            if retime_running:
                number = book.current["version"]
                for clock in self._open(open_clocks):
                    oem = clock.customer_class == "oem"
                    kind = ClockKind(clock.kind)
                    target = policy.target(oem, kind)
                    ladder = policy.for_class(oem).ladder
                    name = calendar_for(
                        policy.calendar_rules, clock.customer["code"], clock.customer_class
                    )
                    calendar_no, version = self._calendar_in_force(name, now)
                    if clock.retime(
                        at=now,
                        reason=reason,
                        actor=who,
                        calendar=version.calendar(
                            business=target.calendar == "business",
                            timezone=self._clock_zone(clock, policy),
                            around=clock.started_at.date(),
                        ),
                        calendar_name=name,
                        calendar_version=calendar_no,
                        policy_version=number,
                        target=hours(target.hours),
                        warn_share=ladder.warn_share,
                        escalate_after=hours(ladder.escalate_after_hours),
                        breach_notifies=ladder.breach_notifies,
                        escalate_notifies=ladder.escalate_notifies,
                    ):
                        retimed.append(clock)
            self.save(book, *retimed)
            return book, retimed

    def timeline(self, clock_id: UUID, until: datetime | None = None) -> dict[str, Any]:
        """The clock's SLA timeline, up to its meeting or ``until`` (now)."""
        events = list(self.events.get(clock_id))
        if not events or not isinstance(events[0], Clock.Started):
            raise LookupError(f"no clock {clock_id}")
        told = timeline(events, until or self.now())
        # Times as the read side gives them: ISO 8601 in UTC, whatever zone counted them.
        for row in (*told["moments"], *told["segments"]):
            for key in ("at", "start", "end"):
                if key in row:
                    row[key] = _utc(row[key])
        return {"clock_id": clock_id, **told, "until": _utc(told["until"])}

    def _open(self, clock_ids: Callable[[], Iterable[UUID]]) -> list[Clock]:
        found = (self.find(clock_id, Clock) for clock_id in clock_ids())
        return [clock for clock in found if clock is not None and clock.is_open]

    def _clock_zone(self, clock: Clock, policy: ClockPolicy | None = None) -> str:
        if policy is None:
            _, policy = self._policy_in_force(clock.started_at)
        return self._timezone(clock.customer, policy)

    # The timer and people ------------------------------------------------------------------

    def fire_due(self, clock_ids: Iterable[UUID], now: datetime | None = None) -> int:
        """Fire what is due among ``clock_ids`` by ``now``; returns the number of events."""
        moment = now or self.now()

        @retry(IntegrityError, max_attempts=CONFLICT_ATTEMPTS, wait=CONFLICT_PAUSE)
        def fire(clock_id: UUID) -> int:
            # Another writer (pause or an answer, in another process) may have moved the
            # clock since it was read: read it again and fire what is still due.
            with self.lock:
                clock = self.find(clock_id, Clock)
                if clock is None or not clock.advance(moment):
                    return 0
                fired = len(clock.pending_events)
                self.save(clock)
                return fired

        fired = 0
        for clock_id in clock_ids:
            try:
                fired += fire(clock_id)
            except IntegrityError:
                # Still moving under us: the next tick fires it; the others go on now.
                log.warning("sla.timer_conflict", clock_id=str(clock_id))
        return fired

    def pause(
        self,
        clock_id: UUID,
        reason: str,
        note: str | None,
        actor: Actor,
        at: datetime | None = None,
        key: str | None = None,
    ) -> Clock:
        return self._change(
            clock_id,
            key,
            lambda c: c.pause(
                at=at or self.now(), reason=reason, note=note, actor=_who(actor), request_key=key
            ),
        )

    def resume(
        self, clock_id: UUID, actor: Actor, at: datetime | None = None, key: str | None = None
    ) -> Clock:
        return self._change(
            clock_id,
            key,
            lambda c: c.resume(at=at or self.now(), actor=_who(actor), request_key=key),
        )

    def _change(self, clock_id: UUID, key: str | None, change: Callable[[Clock], None]) -> Clock:
        with self.lock:
            clock = self.find(clock_id, Clock)
            if clock is None:
                raise LookupError(f"no clock {clock_id}")
            # A retried request (same Idempotency-Key) finds its effect already recorded.
            if not clock.has_handled(key):
                change(clock)
                self.save(clock)
            return clock


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _who(actor: Actor) -> dict[str, str]:
    return actor.model_dump(mode="json")


__all__ = ["ClockRuleViolation", "PublicEvent", "SlaApplication"]
