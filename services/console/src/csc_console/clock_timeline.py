"""A clock's SLA timeline (sla's ``GET /clocks/{id}/timeline``) in the reader's language.

sla tells each moment and each segment with the rule that counted it in English words of a
few known shapes ("mon 08:00-17:30", "holiday 2026-10-01", "calendar wuhan v2, policy v1");
here each shape has its sentence, marked for gettext, so a reader in Wuhan reads it in
Chinese. A shape this console does not know (a newer sla) shows sla's own English, so
nothing sla says is lost for want of a translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from csc_console import vocab
from csc_console.i18n import N_, gettext

EVENTS = {
    "started": N_("Started"),
    "paused": N_("Paused"),
    "resumed": N_("Resumed"),
    "retimed": N_("Re-timed by a new calendar or policy"),
    "warned": N_("Warned"),
    "breached": N_("Breached"),
    "escalated": N_("Escalated"),
    "met": N_("Met"),
    "stopped": N_("Stopped at the entry's close (4.6)"),
}
STATES = {
    "counting": N_("counting"),
    "out_of_working_hours": N_("out of working hours"),
    "paused": N_("paused"),
}
WEEKDAYS = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}

_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_WINDOW = r"(\d\d:\d\d-\d\d:\d\d)"
_ISO = r"(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d))"
_CALENDAR = re.compile(r"calendar ([a-z0-9][a-z0-9._-]*) v(\d+)(?:, policy v(\d+))?")
_BEFORE_VERSIONS = "calendar of CSC_SLA_POLICY (before versions were recorded)"


def _day(key: str) -> str:
    return vocab.label(WEEKDAYS, key)


def rule(text: str) -> str:
    """The versions a segment or moment counted by: ``calendar X vN, policy vM``."""
    if text == _BEFORE_VERSIONS:
        return gettext("the calendar of CSC_SLA_POLICY (before versions were recorded)")
    found = _CALENDAR.fullmatch(text)
    if found is None:
        return text
    name, version, policy = found.groups()
    if policy is None:
        return gettext("calendar %(name)s, version %(version)s", name=name, version=version)
    return gettext(
        "calendar %(name)s, version %(version)s; policy version %(policy)s",
        name=name,
        version=version,
        policy=policy,
    )


def why(text: str) -> str:
    """Why a segment counted or did not: a working window, a holiday, a pause ..."""
    if m := re.fullmatch(rf"{_DAY} {_WINDOW}", text):
        return gettext("working window %(day)s %(window)s", day=_day(m[1]), window=m[2])
    if m := re.fullmatch(rf"make-up working day (\S+), {_DAY} {_WINDOW}", text):
        return gettext("make-up working day %(date)s, %(window)s", date=m[1], window=m[3])
    if m := re.fullmatch(r"holiday (\S+)", text):
        return gettext("holiday %(date)s", date=m[1])
    if m := re.fullmatch(rf"no working window on {_DAY}", text):
        return gettext("no working window on %(day)s", day=_day(m[1]))
    if text == "out of working hours":
        return gettext("out of working hours")
    if text == "wall-clock time: every hour counts":
        return gettext("wall-clock time: every hour counts")
    if m := re.fullmatch(r"paused, (\w+)(?:: (.*))?", text, re.DOTALL):
        reason = vocab.label(vocab.PAUSE_REASONS, m[1])
        if m[2]:
            return gettext("paused: %(reason)s · %(note)s", reason=reason, note=m[2])
        return gettext("paused: %(reason)s", reason=reason)
    return text


def moment(item: dict[str, Any], when: Callable[[object], Markup]) -> Markup:
    """What made a moment happen, with its times in the reader's zone."""
    text, event = str(item["rule"]), item["event"]
    if event == "started" and (
        m := re.fullmatch(r"([\d.]+) h (business|wall-clock) hours, clause (\S+) \((.*)\)", text)
    ):
        hours, kind, clause, versions = m.groups()
        if kind == "business":
            said = gettext(
                "%(hours)s h in business hours, clause %(clause)s (%(rule)s)",
                hours=hours, clause=clause, rule=rule(versions),
            )  # fmt: skip
        else:
            said = gettext(
                "%(hours)s h of wall-clock time, clause %(clause)s (%(rule)s)",
                hours=hours, clause=clause, rule=rule(versions),
            )  # fmt: skip
        return Markup.escape(said)
    if event == "paused" and (m := re.fullmatch(r"reason (\w+)", text)):
        return Markup.escape(vocab.label(vocab.PAUSE_REASONS, m[1]))
    if event == "resumed" and (
        m := re.fullmatch(rf"([\d.]+) counted hours paused; due {_ISO}", text)
    ):
        said = gettext("%(hours)s counted hours paused; due %(due)s", hours=m[1], due="\x00")
        before, _, after = said.partition("\x00")
        return Markup.escape(before) + when(m[2]) + Markup.escape(after)
    if event == "met":
        if text == "within the target":
            return Markup.escape(gettext("within the target"))
        if text == "after the due time":
            return Markup.escape(gettext("after the due time"))
    # Another shape: sla's own words, its times in the reader's zone.
    parts = re.split(_ISO, text)
    out = Markup("")
    for n, part in enumerate(parts):
        out += when(part) if n % 2 else Markup.escape(part)
    return out
