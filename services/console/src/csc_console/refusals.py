"""A service's refusal in the reader's language: by its ``code``, with its ``params``.

Every refusal of a service names a code (``capa.d4.before_d2``) and the values its sentence
names; here each code has its sentence, marked for gettext with the same named values. A
code this console does not know (a newer service) shows the service's own English sentence,
so a refusal is never lost for want of a translation. The same for 403 (who may act) and
for the common kinds of a field's error (pydantic's ``type``, with its context).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csc_console import vocab
from csc_console.i18n import N_, gettext
from csc_console.services import FieldProblem, Problem

SENTENCES: dict[str, str] = {
    # Any service: what a request is refused for before its rule is read.
    "forbidden": N_("This is for %(allowed)s; %(user)s acts for %(department)s."),
    "forbidden.manager": N_(
        "This is for the managers of %(allowed)s; %(user)s (%(department)s) is not one of them."
    ),
    "input.future": N_("%(field)s lies in the future."),
    "path.not_found": N_("The service has no page %(path)s."),
    "request.write_conflict": N_(
        "Others changed the same record while this request ran, %(attempts)s times in a row; "
        "nothing was recorded: please send it again."
    ),
    "request.key_reused": N_(
        "This form was already sent for a different request; reload the page and send it again."
    ),
    # intake (4.1, 4.2, 4.4, 4.6)
    "intake.customer.not_found": N_("There is no customer %(customer)s in the archive."),
    "intake.entry.not_found": N_("There is no such entry in the Register."),
    "intake.field_service.record_not_found": N_("There is no such field service record."),
    "intake.record.other_kind": N_("This identifier names another kind of record."),
    "intake.customer.exists": N_(
        "Customer %(customer)s is already in the archive; change it on its own page."
    ),
    "intake.customer.unknown_register_first": N_(
        "Unknown customer %(customer)s: register it in the customer archive first."
    ),
    "intake.customer.unknown": N_("Unknown customer %(customer)s."),
    "intake.field_service.not_oem": N_(
        "Daily Field Service Work Records are kept at OEM customers; %(customer)s is not one."
    ),
    "intake.field_service.unknown_site": N_(
        "%(customer)s has no site %(site)s (known: %(known)s)."
    ),
    "intake.field_service.work_date_future": N_("The work date lies in the future."),
    "intake.field_service.record_exists": N_(
        "This engineer's record of this site and day exists; amend that record instead."
    ),
    "intake.field_service.arrival_not_work_date": N_(
        "The arrival falls on %(local)s at the site (%(zone)s), not on the record's work "
        "date %(work_date)s."
    ),
    "intake.field_service.stay_over_a_day": N_(
        "The departure lies more than a day after the arrival."
    ),
    "intake.departed_before_arrived": N_("The departure lies before the arrival."),
    "intake.impact.not_complaint": N_("The impact is assessed for complaints, not feedback."),
    "intake.impact.not_quality": N_(
        "The impact is assessed for quality complaints; this is a %(category)s one."
    ),
    "intake.impact.already_assessed": N_("The impact of this complaint is already assessed."),
    "intake.survey.already_recorded": N_(
        "The %(year)s satisfaction survey of %(customer)s is already recorded."
    ),
    "intake.important.already_reported": N_(
        "This entry was already reported to the Chief Engineer."
    ),
    "intake.important.not_reported": N_(
        "Nothing to acknowledge: this entry was never reported as important."
    ),
    "intake.important.already_acknowledged": N_(
        "The Chief Engineer has already acknowledged this entry."
    ),
    "intake.important.ack_before_report": N_(
        "The acknowledgement (%(acknowledged_at)s) is before the information was reported to "
        "the Chief Engineer (%(reported_at)s)."
    ),
    "intake.on_site.already_required": N_("On-site service is already required for this case."),
    "intake.visit.not_required": N_(
        "No on-site service was required for this case: record the request before the visit."
    ),
    "intake.visit.before_request": N_(
        "The arrival (%(arrived_at)s) is before on-site service was required (%(requested_at)s)."
    ),
    "intake.misuse.already_determined": N_("Misuse is already determined for this case."),
    "intake.technician.no_misuse": N_(
        "A technician is dispatched under 4.2.3 only once misuse is determined; for a problem "
        "of ours, require on-site service (4.2.2)."
    ),
    "intake.follow_up.current_month": N_(
        "Follow-ups are for past months' feedback; this entry is from %(month)s."
    ),
    "intake.follow_up.closed": N_("This entry's follow-up is already closed."),
    "intake.before_receipt": N_(
        "%(moment)s is before the customer's message arrived (%(received_at)s)."
    ),
    # returns (4.3)
    "returns.case.not_found": N_("There is no such return case."),
    "returns.pnpr.not_found": N_(
        "This case has no PNPR yet: its goods are not tagged as nonconforming."
    ),
    "returns.case.unknown": N_(
        "Returns has no case %(case_id)s: a quality complaint or quality-problem report opens one."
    ),
    "returns.case.other_customer": N_(
        "Case %(case_id)s is of customer %(customer)s, not %(given)s."
    ),
    "returns.case.customer_needed": N_("A request without a case opens one: name the customer."),
    "returns.replace.not_reported": N_(
        "Units are replaced only on a case that is neither being replaced nor returned whole; "
        "this case is %(status)s."
    ),
    "returns.replace.unit_count": N_("%(units)s unit ids for a quantity of %(quantity)s."),
    "returns.ship.not_agreed": N_(
        "Replacement units are shipped once, after Marketing agreed the replacement; this case "
        "is %(status)s."
    ),
    "returns.ship.quantity": N_(
        "%(quantity)s units shipped for the %(agreed)s agreed with the customer."
    ),
    "returns.request.not_reported": N_(
        "A batch return is requested once per case, and not for units being replaced (4.3.1); "
        "this case is %(status)s."
    ),
    "returns.ask.not_requested": N_(
        "Marketing asks QC to confirm a return once, after the customer's request is recorded; "
        "this case is %(status)s."
    ),
    "returns.quality.not_asked": N_(
        "QC confirms or rejects a return once, after Marketing asked for it (4.3.2.1); this "
        "case is %(status)s."
    ),
    "returns.authorize.not_confirmed": N_(
        "Marketing authorizes the Warehouse to receive only after QC confirmed the quality "
        "abnormality; this case is %(status)s."
    ),
    "returns.receive.not_authorized": N_(
        "The Warehouse receives a return once, only after QC confirmed it and Marketing "
        "authorized receipt; this case is %(status)s."
    ),
    "returns.receive.rejected": N_("QC rejected this return (%(rejection)s); nothing is received."),
    "returns.receive.too_many": N_(
        "Receiving %(quantity)s units is more than the %(authorized)s requested and authorized."
    ),
    "returns.receive.other_lot": N_(
        "Lot %(lot)s is not the lot whose return was authorized (%(authorized_lot)s)."
    ),
    "returns.samples.not_received": N_(
        "QC confirms the condition and picks samples once, from goods the Warehouse received; "
        "this case is %(status)s."
    ),
    "returns.more_samples.not_received": N_(
        "QC asks the customer for more samples of goods the Warehouse received, before picking "
        "them; this case is %(status)s."
    ),
    "returns.samples.too_many": N_("%(samples)s samples from %(received)s units received."),
    "returns.identify.not_sampled": N_(
        "Returned goods are tagged as nonconforming once, after QC checked them on site "
        "(4.3.2.3); this case is %(status)s."
    ),
    "returns.isolate.not_identified": N_(
        "Nonconforming goods are isolated once, after they are tagged; this case is %(status)s."
    ),
    "returns.nc_report.not_isolated": N_(
        "The nonconformance is reported once, after the goods are isolated; this case is "
        "%(status)s."
    ),
    "returns.review.not_reported": N_(
        "The review board decides once, on a reported nonconformance; this case is %(status)s."
    ),
    "returns.review.disposition_twice": N_(
        "Each disposition appears once in the decision, with all its units."
    ),
    "returns.review.quantities": N_(
        "Quantities must add up: the decision covers %(decided)s units, %(received)s were received."
    ),
    "returns.disposition.not_reviewed": N_(
        "Units are dispositioned only as the review board decided, until all are; this case is "
        "%(status)s."
    ),
    "returns.disposition.concession_needed": N_("Use as is needs the concession that allows it."),
    "returns.disposition.exceeds": N_(
        "The review board sent %(decided)s units to %(disposition)s; %(quantity)s more would "
        "exceed it by %(over)s."
    ),
    # capa (4.3.4, 4.4.2-4.4.4)
    "capa.case_finished": N_("The case is %(status)s: nothing more is recorded."),
    "capa.evidence.case_finished": N_(
        "Evidence is received: the case is %(status)s, nothing more."
    ),
    "capa.before_opening": N_("%(day)s is before this case opened (%(opened)s)."),
    "capa.contact.before_report": N_(
        "The contact (%(contacted_at)s) is before the customer's report (%(reported_at)s)."
    ),
    "capa.due_past": N_("The due date %(due)s is already past."),
    "capa.evidence.no_request": N_(
        "There is no evidence request %(request_no)s; this case has %(requests)s."
    ),
    "capa.confirm.before_contact": N_(
        "QC confirms the nonconformity after contacting the customer: record the contact first."
    ),
    "capa.confirm.not_investigating": N_(
        "Only an open investigation is confirmed; this case is %(status)s."
    ),
    "capa.not_confirm.not_investigating": N_(
        "Only an open investigation is closed unconfirmed; this case is %(status)s."
    ),
    "capa.misuse.not_investigating": N_(
        "Misuse closes an investigation before any confirmation; this case is %(status)s."
    ),
    "capa.team.not_confirmed": N_(
        "The team is convened once, for a complaint confirmed genuine; this case is %(status)s."
    ),
    "capa.team.members_missing": N_(
        "The cross-functional team needs marketing, development, engineering and production; "
        "missing: %(missing)s."
    ),
    "capa.team.member_twice": N_("A member is listed twice."),
    "capa.step.before_team": N_(
        "The CAPA starts when QC convenes the cross-functional team: convene it first."
    ),
    "capa.step.not_running": N_("This step belongs to a running CAPA; this case is %(status)s."),
    "capa.d0.case_finished": N_(
        "A D0 emergency response is for a case still open; this case is %(status)s."
    ),
    "capa.d4.before_d2": N_("The D4 root cause follows D2: describe the problem first."),
    "capa.d4.on_record": N_(
        "The root cause of round %(round)s is on record; an ineffective verification reopens "
        "the CAPA for a new one."
    ),
    "capa.d5.before_d4": N_("Actions are chosen after root-cause analysis: record D4 first."),
    "capa.d6.no_action": N_("There is no action %(action_no)s on this CAPA."),
    "capa.d6.already_implemented": N_("Action %(action_no)s is already implemented."),
    "capa.verify.before_d5": N_(
        "There is no corrective action of this round to verify: plan D5 first."
    ),
    "capa.verify.not_implemented": N_(
        "Effectiveness is verified after implementation; action(s) %(pending)s not implemented."
    ),
    "capa.verify.already_verified": N_("The effectiveness of this round is already verified."),
    "capa.d7.before_d4": N_("D7 prevents the recurrence of a known root cause: record D4 first."),
    "capa.close.not_verified": N_("A CAPA closes only after its actions are verified effective."),
    "capa.close.steps_missing": N_("An 8D closes with every step; missing: %(missing)s."),
    "capa.investigation.not_found": N_("This case has no investigation."),
    "capa.evidence.not_found": N_("This case has no evidence %(sha256)s."),
    "capa.evidence.missing_from_store": N_(
        "The evidence %(sha256)s is on record, but its file is missing from the evidence store."
    ),
    "capa.report_format.not_found": N_("Customer %(customer)s has no report format registered."),
    "capa.format.no_customer_format": N_(
        "Customer %(customer)s has no report format of its own registered: register its "
        "template first."
    ),
    "capa.format.template_needed": N_("The customer's own format needs its template."),
    "capa.format.template_fails": N_("The template does not render: %(problem)s"),
    "capa.format.template_not_customer": N_(
        "A template belongs to the customer's own format, not %(format)s."
    ),
    "capa.report.no_customer_format": N_(
        "Customer %(customer)s has no report format of its own registered."
    ),
    "capa.report.template_fails": N_(
        "The template of customer %(customer)s does not render this CAPA: %(problem)s; fix the "
        "template or print as 8D or CPAR."
    ),
    # sla (4.2, 4.5, 4.6)
    "sla.clock.not_found": N_("There is no such clock."),
    "sla.case.no_clock": N_("No clock of this case has started yet."),
    "sla.calendar.not_found": N_("There is no calendar %(calendar)s."),
    "sla.pause.met": N_("The clock is met; there is nothing to pause."),
    "sla.pause.stopped": N_(
        "The clock is stopped: its entry was closed by a follow-up (4.6); there is nothing "
        "to pause."
    ),
    "sla.pause.already_paused": N_("The clock is already paused."),
    "sla.pause.before_start": N_("A clock cannot be paused before it started (%(started_at)s)."),
    "sla.pause.before_deadline": N_(
        "The clock already recorded a deadline at %(announced)s; a pause cannot be dated before it."
    ),
    "sla.resume.not_paused": N_("The clock is not paused."),
    "sla.resume.stopped": N_(
        "The clock is stopped: its entry was closed by a follow-up (4.6); there is nothing "
        "to resume."
    ),
    "sla.resume.before_pause": N_("A clock cannot resume before it was paused (%(paused_at)s)."),
    "sla.policy.unknown_calendar": N_("There is no calendar %(calendar)s: record it first."),
    # notify
    "notify.recipient.not_found": N_("There is no recipient %(handle)s in the directory."),
    "notify.notification.not_found": N_("There is no such notification."),
    "notify.redrive.not_dead": N_(
        "Notification %(notification)s is %(status)s: only a dead-lettered one is sent again."
    ),
}

FIELD_KINDS: dict[str, str] = {
    "missing": N_("Please fill this in."),
    "string_too_short": N_("Please fill this in."),
    "string_too_long": N_("This is too long: at most %(max_length)s characters."),
    "too_long": N_("There are too many: at most %(max_length)s."),
    "too_short": N_("Please give at least one."),
    "enum": N_("Please choose one of the options."),
    "literal_error": N_("Please choose one of the options."),
    "string_pattern_mismatch": N_("Only letters, digits and . _ - are allowed here."),
    "string_type": N_("Please give a text."),
    "datetime_from_date_parsing": N_("Please give a date and time."),
    "datetime_parsing": N_("Please give a date and time."),
    "datetime_type": N_("Please give a date and time."),
    "timezone_aware": N_("Please give a date and time with its time zone."),
    "date_parsing": N_("Please give a date."),
    "date_from_datetime_parsing": N_("Please give a date."),
    "date_from_datetime_inexact": N_("Please give a date without a time."),
    "date_type": N_("Please give a date."),
    "int_parsing": N_("Please give a whole number."),
    "int_from_float": N_("Please give a whole number."),
    "int_type": N_("Please give a whole number."),
    "float_parsing": N_("Please give a number."),
    "decimal_parsing": N_("Please give a number."),
    "greater_than_equal": N_("This number is too small: at least %(ge)s."),
    "greater_than": N_("This number is too small: more than %(gt)s."),
    "less_than_equal": N_("This number is too large: at most %(le)s."),
    "less_than": N_("This number is too large: less than %(lt)s."),
    "bool_parsing": N_("Please choose yes or no."),
    "uuid_parsing": N_("This is not a valid identifier."),
    "value_error": N_("This value is not accepted here."),
}
"""pydantic's kinds of error on a field, in the reader's words; the values from its context."""

LIST_SEPARATOR = N_(", ")
CAPA_STATUS = {  # as the CAPA pages name them
    "investigating": N_("investigating"),
    "not_confirmed": N_("not confirmed"),
    "misuse": N_("misuse"),
    "confirmed": N_("confirmed"),
    "in_progress": N_("CAPA under way"),
    "closed": N_("closed"),
}
_STATUS_TABLES = (vocab.RETURN_STATUS, CAPA_STATUS, vocab.ENTRY_STATUS, vocab.CLOCK_STATES)


def _status(value: object) -> str:
    for table in _STATUS_TABLES:
        if str(value) in table:
            return vocab.label(table, value)
    return str(value)


def _shown(params: Mapping[str, Any]) -> dict[str, object]:
    """The values as a reader sees them: departments and states in words."""
    shown: dict[str, object] = dict(params)
    if "allowed" in params and isinstance(params["allowed"], list):
        shown["allowed"] = gettext(LIST_SEPARATOR).join(
            vocab.label(vocab.DEPARTMENTS, d) for d in params["allowed"]
        )
    if "department" in params:
        shown["department"] = vocab.label(vocab.DEPARTMENTS, params["department"])
    if "status" in params:
        shown["status"] = _status(params["status"])
    return shown


def _say(table: Mapping[str, str], code: str | None, params: Mapping[str, Any]) -> str | None:
    sentence = table.get(code or "")
    if sentence is None:
        return None
    try:
        return gettext(sentence) % _shown(params)
    except (KeyError, TypeError, ValueError):
        # A service that names fewer values than this sentence: its own words, not a gap.
        return None


def sentence(problem: Problem) -> str:
    """The refusal as a whole, in the reader's language where its code is known."""
    return _say(SENTENCES, problem.code, problem.params) or problem.detail


def field_sentence(error: FieldProblem) -> str:
    """One field's error: a rule's by its code, pydantic's by its kind, else the service's."""
    if error.code:
        return _say(SENTENCES, error.code, error.params) or error.msg
    return _say(FIELD_KINDS, error.type, error.params) or error.msg
