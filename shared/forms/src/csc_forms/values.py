"""How recorded values print on every form: a moment, a person, a customer, a total, a file name.

The read models the forms are built from hold times as ISO 8601 text, people as
``{"user", "department"}`` and customers as ``{"code", "name"}``; each form
prints them the same way, from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from csc_forms.departments import DEPARTMENTS
from csc_forms.model import bilingual, label

TOTAL = bilingual("合计", "Total")
"""The label of a table's last row where its numbers add up."""


def moment(value: str | datetime | None) -> str | None:
    """A time as the forms print it: UTC, to the minute; nothing recorded prints nothing."""
    if not value:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def stamp(value: datetime) -> str:
    """A time to the second in UTC, as the footer says when the form was generated."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def department(value: str) -> str:
    """``品管部 Quality``: a department by its key (csc_forms.departments)."""
    return label(DEPARTMENTS, value)


def who(actor: Mapping[str, Any] | None) -> str | None:
    """``wang.fang (品管部 Quality)``: the user and the department they acted for."""
    if not actor:
        return None
    return f"{actor['user']} ({department(str(actor['department']))})"


def customer_text(customer: Mapping[str, Any] | None) -> str | None:
    """``OEM-001 Dongfeng Motor``: the customer's code, and its name where it has one."""
    if not customer:
        return None
    name = customer.get("name")
    return f"{customer['code']} {name}" if name else str(customer["code"])


def from_history(
    generated_at: datetime, *, digest: str, position: int, subject: str | None = None
) -> str:
    """The footer of a form printed from a service's read model: when, up to which event,
    and the digest of what it printed; ``subject`` first, where the form names one."""
    text = f"from the event history at {stamp(generated_at)} (up to event {position}); "
    text += f"digest {digest}"
    return f"{subject}: generated {text}" if subject else f"Generated {text}"


def file_safe(text: str, keep: str = "-_.") -> str:
    """Text for a file name: ASCII letters and digits and ``keep`` as they are, else ``_``."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in keep) else "_" for ch in text)
