"""Refusals every service speaks alike, and how each becomes an HTTP answer: the domain's own
(``csc_messaging.refusals``: a broken rule, a missing case) and a department acting outside its
remit (``Forbidden``, checked by the application against its ``Permissions`` table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from csc_messaging.permissions import Forbidden, Permissions, Writes
from csc_messaging.refusals import BadCursor, NotFound, RuleViolation

__all__ = [
    "BadCursor",
    "Forbidden",
    "NotFound",
    "Permissions",
    "RuleViolation",
    "Writes",
    "found",
]

_T = TypeVar("_T")


def found(
    row: _T | None, what: str, *, code: str, params: Mapping[str, object] | None = None
) -> _T:
    """``row``, or 404 saying what was not found: ``NotFound`` with its ``code``."""
    if row is None:
        raise NotFound(f"no {what}", code=code, params=params)
    return row
