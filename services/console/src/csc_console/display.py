"""Times and clocks as a person reads them: their own zone, the site's beside it; badges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from markupsafe import Markup, escape

from csc_console import vocab
from csc_console.i18n import babel_locale, gettext, ngettext


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def zone(name: str | None, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def _local(at: datetime, tz: ZoneInfo) -> str:
    return format_datetime(at, "yyyy-MM-dd HH:mm", tzinfo=tz, locale=babel_locale())


def when(value: object, viewer_tz: str, site_tz: str) -> Markup:
    """``<time>`` in the viewer's zone; the site's time beside it where the zones differ."""
    at = parse_time(value)
    if at is None:
        return Markup("")
    viewer, site = zone(viewer_tz, site_tz), zone(site_tz, site_tz)
    text = _local(at, viewer)
    here, there = at.astimezone(viewer), at.astimezone(site)
    if viewer.key != site.key and here.utcoffset() != there.utcoffset():
        # The site's time beside: its clock only, or its date too where the day differs.
        pattern = "HH:mm" if here.date() == there.date() else "yyyy-MM-dd HH:mm"
        site_time = format_datetime(at, pattern, tzinfo=site, locale=babel_locale())
        text += f" ({site.key} {site_time})"
    iso = at.isoformat()
    return Markup(f'<time datetime="{escape(iso)}" title="{escape(iso)}">{escape(text)}</time>')


def duration(span: timedelta) -> str:
    """ "3 h 20 min", "2 d 4 h", "< 1 min": what a clerk reads at a glance."""
    minutes = int(abs(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(d)s d %(h)s h", d=days, h=hours)
    if hours:
        return gettext("%(h)s h %(m)s min", h=hours, m=mins)
    if mins:
        return gettext("%(m)s min", m=mins)
    return gettext("< 1 min")


@dataclass(frozen=True)
class Badge:
    """One clock as a badge: a state (its colour and icon) and words that say it."""

    state: str
    text: str
    due_at: str | None
    tooltip: str
    live: bool
    """True while the clock runs: the page counts it down."""


# Beside a badge's words (never colour alone); glyphs the usual text fonts carry.
ICONS = {"running": "◷", "warned": "⚠", "breached": "✖", "paused": "‖", "met": "✓", "stopped": "■"}


def badge(clock: dict[str, Any], now: datetime, viewer_tz: str, site_tz: str) -> Badge:
    status = str(clock.get("status", "running"))
    due = parse_time(clock.get("due_at"))
    due_text = when(clock.get("due_at"), viewer_tz, site_tz).striptags()
    if status == "met":
        met = parse_time(clock.get("met_at"))
        late = clock.get("within_target") is False
        text = gettext("met late") if late else gettext("met")
        met_text = when(clock.get("met_at"), viewer_tz, site_tz).striptags()
        tooltip = gettext("Met at %(at)s; due %(due)s", at=met_text, due=due_text)
        return Badge("met", text, None, tooltip if met else due_text, live=False)
    if status == "stopped":
        # 4.6: the entry was closed by its follow-up; the clock counts no more.
        stop = clock.get("stop") or {}
        stop_text = when(stop.get("at"), viewer_tz, site_tz).striptags()
        tooltip = gettext(
            "Stopped at %(at)s by the follow-up of %(month)s; due %(due)s",
            at=stop_text, month=stop.get("month") or "", due=due_text,
        )  # fmt: skip
        return Badge("stopped", gettext("stopped: entry closed"), None, tooltip, live=False)
    if status == "paused":
        pauses = clock.get("pauses") or []
        last = pauses[-1] if pauses else {}
        reason = vocab.label(vocab.PAUSE_REASONS, last.get("reason")) if last else ""
        if last.get("note"):
            reason = f"{reason} · {last['note']}"
        text = gettext("paused: %(reason)s", reason=reason) if reason else gettext("paused")
        return Badge("paused", text, None, gettext("Due %(due)s", due=due_text), live=False)
    if due is None:
        return Badge("running", vocab.label(vocab.CLOCK_STATES, status), None, "", live=False)
    left = due - now
    if left <= timedelta(0) or status in ("breached", "escalated"):
        state, text = "breached", gettext("overdue by %(d)s", d=duration(left))
    elif status == "warned":
        state, text = "warned", gettext("due in %(d)s", d=duration(left))
    else:
        state, text = "running", gettext("due in %(d)s", d=duration(left))
    return Badge(state, text, due.isoformat(), gettext("Due %(due)s", due=due_text), live=True)


def urgency(clock: dict[str, Any] | None, now: datetime) -> tuple[int, float]:
    """Sorts a queue: overdue first, then the soonest due; met, paused, stopped, none last."""
    if clock is None or clock.get("status") in ("met", "paused", "stopped"):
        return (3, 0.0)
    due = parse_time(clock.get("due_at"))
    if due is None:
        return (3, 0.0)
    left = (due - now).total_seconds()
    return (0 if left <= 0 else 1 if left < 2 * 3600 else 2, left)


def day_badge(row: dict[str, Any], today: date) -> Badge:
    """A schedule's next day (a visit, 4.5; a survey, 4.1.5) as the queue's badge shows a clock.

    sla gives the day and its state: overdue (past due), due (within 30 days), ok (later).
    """
    try:
        due = date.fromisoformat(str(row.get("due_on")))
    except ValueError:
        return Badge("running", str(row.get("due_on") or ""), None, "", live=False)
    left = (due - today).days
    days = ngettext("%(num)d day", "%(num)d days", abs(left))  # a day's count, not its hours
    status = row.get("status")
    if status == "overdue" or left < 0:
        state, text = "breached", gettext("overdue by %(d)s", d=days)
    elif left == 0:
        state, text = "warned", gettext("due today")
    else:
        state = "warned" if status == "due" else "running"
        text = gettext("due in %(d)s", d=days)
    return Badge(state, text, None, gettext("Due %(due)s", due=due.isoformat()), live=False)


def follow_up_due(entry_month: object, now: datetime) -> bool:
    """Whether an entry received in ``entry_month`` (``YYYY-MM``, UTC) is followed up now.

    4.6: at the start of every month after-sales follows up *last* month's feedback, so an
    entry is followed up from the month after the one it came in (intake refuses before).
    """
    if not isinstance(entry_month, str):
        return False
    return entry_month < f"{now.astimezone(UTC):%Y-%m}"


ISO_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})"
)


def local_times(text: str | None, viewer_tz: str, site_tz: str) -> str:
    """A service's message with its ISO 8601 times (UTC) shown in the viewer's zone.

    A refusal such as "arrived_at ... is before ..." names the times the service compared;
    a clerk reads them as typed, in their own zone, to the second.
    """
    if not text:
        return ""
    viewer = zone(viewer_tz, site_tz)

    def local(match: re.Match[str]) -> str:
        at = parse_time(match.group(0))
        if at is None:
            return match.group(0)
        return format_datetime(at, "yyyy-MM-dd HH:mm:ss", tzinfo=viewer, locale=babel_locale())

    return ISO_MOMENT.sub(local, text)
