"""Refusals a domain raises: a broken rule of the procedure, a missing case, a cursor this list
did not give. Plain exceptions of the standard library, so a domain that raises them imports
nothing of HTTP; ``csc_messaging.problems`` turns each into its answer at the entrypoint.

A refusal is raised before any event is triggered, so nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal


class BadCursor(ValueError):
    """A list's ``cursor`` parameter that this list did not give (or gave for another order)."""


class RuleViolation(Exception):
    """``clause`` names the rule; ``kind`` says whether the input or the case's state is at fault.

    ``invalid``: the request itself is wrong (422, with the ``field``).
    ``conflict``: the request is well formed but the case is not in a state that allows it (409).

    ``code`` names the refusal for a reader in another language (``reply.already_sent``): one
    code, one sentence; ``params`` are the values that sentence names, so a console can say
    it in its user's language. ``message`` is the English sentence, as every client reads it.
    """

    def __init__(
        self,
        clause: str,
        message: str,
        *,
        code: str,
        params: Mapping[str, object] | None = None,
        field: str | None = None,
        kind: Literal["invalid", "conflict"] = "conflict",
    ) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause
        self.message = message
        self.code = code
        self.params = dict(params or {})
        self.field = field
        self.kind = kind


class NotFound(Exception):
    """The case (or record) named does not exist in this service.

    ``code`` and ``params`` as a ``RuleViolation``'s (``intake.entry.not_found``, with the
    ``case_id``): a console says it in its reader's language; ``message`` is the English.
    """

    def __init__(
        self, message: str, *, code: str, params: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = dict(params or {})
