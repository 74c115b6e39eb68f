"""Rules of the procedure that a command broke."""

from __future__ import annotations

from typing import Literal


class RuleViolation(Exception):
    """``clause`` names the rule; ``kind`` says whether the input or the case's state is at fault.

    ``invalid``: the request itself is wrong (422, with the ``field``).
    ``conflict``: the request is well formed but the case is not in a state that allows it (409).
    """

    def __init__(
        self,
        clause: str,
        message: str,
        *,
        field: str | None = None,
        kind: Literal["invalid", "conflict"] = "conflict",
    ) -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause
        self.message = message
        self.field = field
        self.kind = kind
