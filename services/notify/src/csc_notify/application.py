"""Notify's reactions to the public events, its directory, and the outcome of each delivery.

A record read from Kafka makes its notifications (one per recipient and
channel) in the same store transaction as the record's tracking position, so
a replay or a redelivery after a crash never makes a second one. The
delivery worker (``csc_notify.delivery``) records each attempt's outcome;
the outbox relay publishes it on ``csc.notify.v1``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

import csc_contracts as pub
from csc_contracts import Actor, Department, PublicEvent
from csc_messaging.application import ConsumerApplication
from csc_messaging.commands import Now, by, utcnow
from csc_messaging.permissions import Permissions
from csc_messaging.refusals import NotFound
from csc_notify import routing
from csc_notify.commands import RecipientIn
from csc_notify.domain import (
    DIRECTORY_ID,
    CaseFacts,
    ClockFacts,
    Digest,
    Directory,
    Notification,
    WorkingDays,
    quiet_until,
)

_ENVELOPE = {"event_id", "case_id", "occurred_at", "actor"}
# What a message says of its case, from the customer's report (4.1.2, 4.4.1).
_REPORTED = (pub.ComplaintLogged, pub.FeedbackReceived)
_FACTS = ("customer", "product", "lot", "text", "category", "kind", "received_at")

# 3: Marketing owns the whole process; the Chief Engineer gets what is important. They
# keep the directory of who is told and send a dead-lettered notification again.
PERMISSIONS = Permissions(
    {
        "manage_directory": (frozenset({Department.MARKETING, Department.CHIEF_ENGINEER}), "3"),
        "redrive": (frozenset({Department.MARKETING, Department.CHIEF_ENGINEER}), "3"),
        # Auditors read every history; everyone else reads what was meant for them.
        "read_others_notifications": (
            frozenset({Department.MARKETING, Department.CHIEF_ENGINEER, Department.AUDITOR}),
            "3",
        ),
    }
)


def authorize_reading(actor: Actor, *, handle: str | None, department: str | None) -> None:
    """A person reads the notifications meant for them (``handle`` their own user) and for
    their department; Marketing, the Chief Engineer and auditors read all of them (3)."""
    if handle is not None and handle == actor.user:
        return
    if handle is None and department is not None and department == actor.department.value:
        return
    PERMISSIONS.authorize("read_others_notifications", actor)


@dataclass(frozen=True)
class Backoff:
    """How often a notification is tried, and how long it waits between tries."""

    attempts: int = 5
    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=1)

    def retry_at(self, attempt: int, now: datetime) -> datetime | None:
        """When the next try is due after try ``attempt`` failed; None after the last."""
        if attempt >= self.attempts:
            return None
        wait: timedelta = min(self.longest, self.first * 2 ** (attempt - 1))
        return now + wait


_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CLOCK_CHANGES = (
    pub.ClockPaused,
    pub.ClockResumed,
    pub.ClockRetimed,
    pub.ClockWarned,
    pub.ClockBreached,
    pub.ClockEscalated,
    pub.ClockMet,
    pub.ClockStopped,
)


def _clauses(lists: dict[str, list[dict[str, Any]]]) -> str:
    """The promises a digest is about, e.g. ``4.2.1, 4.4.3``."""
    found = {item["clause"] for items in lists.values() for item in items}
    return ", ".join(sorted(found))


def channels_of(recipient: dict[str, Any]) -> list[str]:
    found = ["email"] if recipient.get("email") else []
    if recipient.get("chat"):
        found.append(recipient["chat"]["kind"])
    return found


class NotifyApplication(ConsumerApplication):
    name = "notify"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        now: Now = utcnow,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(env)
        self.now = now
        self.backoff = backoff or Backoff()

    # Reactions ---------------------------------------------------------------------------

    @singledispatchmethod
    def react(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events nobody is told of change nothing."""

    @react.register
    def on_public_event(self, event: PublicEvent, processing_event: ProcessingEvent[UUID]) -> None:
        fields = event.model_dump(mode="json", exclude=_ENVELOPE)
        known = self.find(CaseFacts.create_id(event.case_id), CaseFacts)
        if isinstance(event, _REPORTED) and known is None:
            facts = {k: fields[k] for k in _FACTS if fields.get(k) is not None}
            processing_event.collect_events(CaseFacts(case_id=event.case_id, facts=facts))
        self._follow_clock(event, processing_event)
        self._follow_calendar(event, processing_event)
        directory = self.directory()
        if directory is None:
            return
        routes = routing.routes(event, directory)
        if not routes:
            return
        now = self.now()
        about = {
            "type": event.event_type(),
            "event_id": str(event.event_id),
            "case_id": str(event.case_id),
            "occurred_at": event.occurred_at.isoformat(),
            # The case's report first; the event's own fields say what happened now.
            "fields": {**(known.facts if known else {}), **fields},
        }
        for route in routes:
            recipient = directory.recipients[route.handle]
            held = quiet_until(recipient.get("quiet_hours"), now) if route.quiet_hours else None
            for channel in channels_of(recipient):
                made = Notification(
                    about=about,
                    handle=route.handle,
                    department=recipient["department"],
                    channel=channel,
                    clause=route.clause,
                    not_before=held or now,
                )
                # A record applied again (its position not yet stored) finds what it made.
                if self.find(made.id, Notification) is None:
                    processing_event.collect_events(made)

    def _follow_clock(self, event: PublicEvent, pe: ProcessingEvent[UUID]) -> None:
        """Where an sla clock stands, for the morning digest: notify's own view of
        csc.sla.v1 (sla publishes a clock's events in order, keyed by its case)."""
        if isinstance(event, pub.ClockStarted):
            if self.find(ClockFacts.create_id(event.clock_id), ClockFacts) is None:
                pe.collect_events(
                    ClockFacts(
                        clock_id=event.clock_id,
                        case_id=event.case_id,
                        clock=event.clock,
                        clause=event.clause,
                        department=routing.CLOCK_OWNERS[event.clock],
                        due_at=event.due_at,
                    )
                )
            return
        if not isinstance(event, _CLOCK_CHANGES):
            return
        facts = self.find(ClockFacts.create_id(event.clock_id), ClockFacts)
        if facts is None:
            return  # started before notify followed csc.sla.v1: not in its view
        if isinstance(event, pub.ClockPaused):
            facts.change(status="paused")
        elif isinstance(event, pub.ClockResumed):
            facts.change(status="breached" if facts.breached_at else "running", due_at=event.due_at)
        elif isinstance(event, pub.ClockRetimed):
            facts.change(due_at=event.due_at)
        elif isinstance(event, pub.ClockWarned):
            facts.change(status="warned" if facts.status == "running" else facts.status)
        elif isinstance(event, pub.ClockBreached):
            facts.change(status="breached", breached_at=event.at)
        elif isinstance(event, pub.ClockEscalated):
            facts.change(status="escalated")
        else:  # met, or stopped by the follow-up that closed the entry (4.6)
            facts.change(status=type(event).__name__[5:].lower(), open=False)
        pe.collect_events(facts)

    def _follow_calendar(self, event: PublicEvent, pe: ProcessingEvent[UUID]) -> None:
        """A calendar's working days, for the morning digest: its latest version, official
        days folded in under its own, as sla counts them."""
        if not isinstance(event, pub.CalendarVersionRecorded):
            return
        own_off, own_on = set(event.holidays), set(event.makeup_days)
        official = event.official
        off = own_off | (set(official.holidays) - own_on if official else set())
        on = own_on | (set(official.makeup_days) - own_off if official else set())
        version = event.calendar_version
        weekdays = [n for n, name in enumerate(_WEEK) if event.week.get(name)]
        holidays = sorted(d.isoformat() for d in off)
        makeup_days = sorted(d.isoformat() for d in on)
        known = self.find(WorkingDays.create_id(event.calendar), WorkingDays)
        if known is None:
            pe.collect_events(
                WorkingDays(
                    name=event.calendar,
                    version=version,
                    weekdays=weekdays,
                    holidays=holidays,
                    makeup_days=makeup_days,
                )
            )
        else:
            known.revise(
                version=version, weekdays=weekdays, holidays=holidays, makeup_days=makeup_days
            )
            pe.collect_events(known)

    # The morning digest (issue 19) ---------------------------------------------------------

    def prepare_digests(
        self, day: date, open_clocks: Iterable[dict[str, Any]], hours: float
    ) -> list[Digest]:
        """Record ``day``'s digest of each department with something to say, and its
        notifications (one per recipient and channel), unless recorded already.

        ``open_clocks``: the view's rows of the clocks still open. Due soon: counting,
        unbreached, due within ``hours`` from now; breached: breached and still open.
        A department with nothing of either gets no message (nothing to act on), nor one
        with nobody in the directory yet (one added later that morning still gets it).
        """
        with self.lock:
            now = self.now()
            horizon = now + timedelta(hours=hours)
            found: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for row in sorted(open_clocks, key=lambda r: (r["due_at"], r["clock_id"])):
                due = datetime.fromisoformat(row["due_at"])
                if row.get("breached_at") or row["status"] in ("breached", "escalated"):
                    which = "breached"  # paused after its breach, it is still breached
                elif row["status"] != "paused" and due <= horizon:
                    which = "due_soon"
                else:
                    continue
                item = {k: row[k] for k in ("clock_id", "case_id", "clock", "clause", "due_at")}
                item["breached_at"] = row.get("breached_at")
                known = self.find(CaseFacts.create_id(UUID(row["case_id"])), CaseFacts)
                customer = (known.facts if known else {}).get("customer") or {}
                item["customer"] = customer.get("name") or customer.get("code")
                lists = found.setdefault(row["department"], {"due_soon": [], "breached": []})
                lists[which].append(item)
            directory = self.directory()
            made: list[Digest] = []
            for department, lists in sorted(found.items()):
                if self.find(Digest.create_id(department, day), Digest) is not None:
                    continue  # this morning's is recorded: a restart sends nothing again
                digest = Digest(department=department, day=day, at=now, hours=hours, **lists)
                notes = []
                for handle in directory.of_department(department) if directory else []:
                    recipient = directory.recipients[handle] if directory else {}
                    for channel in channels_of(recipient):
                        notes.append(
                            Notification(
                                about=digest.about,
                                handle=handle,
                                department=recipient["department"],
                                channel=channel,
                                clause=_clauses(lists),
                                not_before=now,
                            )
                        )
                if not notes:
                    continue
                self.save(digest, *notes)
                made.append(digest)
            return made

    def digest(self, department: str, day: date) -> Digest | None:
        return self.find(Digest.create_id(department, day), Digest)

    # The directory -----------------------------------------------------------------------

    def directory(self) -> Directory | None:
        return self.find(DIRECTORY_ID, Directory)

    def set_recipient(
        self, handle: str, body: RecipientIn, actor: Actor, key: str | None = None
    ) -> bool:
        """Record the recipient as given; True when that changed the directory."""
        PERMISSIONS.authorize("manage_directory", actor)
        with self.lock:
            directory = self.directory() or Directory()
            changed = directory.set_recipient(
                handle, body.model_dump(mode="json"), **by(actor, key)
            )
            if changed:
                self.save(directory)
            return changed

    def remove_recipient(self, handle: str, actor: Actor, key: str | None = None) -> None:
        PERMISSIONS.authorize("manage_directory", actor)
        with self.lock:
            directory = self.directory()
            if directory is None or handle not in directory.recipients:
                raise NotFound(
                    f"no recipient {handle}",
                    code="notify.recipient.not_found",
                    params={"handle": handle},
                )
            directory.remove_recipient(handle, **by(actor, key))
            self.save(directory)

    # Deliveries --------------------------------------------------------------------------

    def notification(self, notification_id: UUID) -> Notification | None:
        return self.find(notification_id, Notification)

    def due(
        self, notification_id: UUID, now: datetime
    ) -> tuple[Notification, dict[str, Any] | None] | None:
        """The notification and its recipient's entry now, if it is still to be sent.

        Read from the store, not the read model: one just sent is never sent again
        because a view had not caught up yet.
        """
        with self.lock:
            found = self.notification(notification_id)
            if found is None or not found.is_due(now):
                return None
            directory = self.directory()
            recipient = directory.recipients.get(found.handle) if directory else None
            return found, recipient

    def record_sent(
        self,
        notification_id: UUID,
        *,
        message_id: str | None,
        recipient: dict[str, Any],
    ) -> None:
        with self.lock:
            found = self._notification(notification_id)
            found.sent(at=self.now(), message_id=message_id, name=recipient["name"])
            self.save(found)

    def record_failed(
        self,
        notification_id: UUID,
        *,
        reason: str,
        permanent: bool,
        recipient: dict[str, Any] | None,
    ) -> None:
        with self.lock:
            found = self._notification(notification_id)
            now = self.now()
            retry_at = None if permanent else self.backoff.retry_at(found.round + 1, now)
            found.fail(
                at=now,
                reason=reason,
                retry_at=retry_at,
                name=recipient["name"] if recipient else None,
            )
            self.save(found)

    def redrive(self, notification_id: UUID, actor: Actor, key: str | None = None) -> Notification:
        PERMISSIONS.authorize("redrive", actor)
        with self.lock:
            found = self._notification(notification_id)
            found.redrive(**by(actor, key))
            self.save(found)
            return found

    def _notification(self, notification_id: UUID) -> Notification:
        found = self.notification(notification_id)
        if found is None:
            raise NotFound(
                f"no notification {notification_id}",
                code="notify.notification.not_found",
                params={"notification": str(notification_id)},
            )
        return found
