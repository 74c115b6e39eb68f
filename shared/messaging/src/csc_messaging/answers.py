"""What every service's GETs answer with: typed rows, so the OpenAPI names every field.

An answer is validated against its model on the way out: ``extra="forbid"`` makes a
field the model forgot fail loudly in the tests instead of vanishing from the answer.
Times stay the text the read model holds (ISO 8601 with the offset it was given), typed
``date-time`` in the schema: re-serialising them as datetimes would rewrite
``+00:00`` as ``Z`` and change answers that subscribers and auditors compare.
Routes answer with ``response_model_exclude_unset=True`` (``READ``) so a field a row
leaves out stays out, as before the models.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
MonthText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", description="A month, YYYY-MM.")]
Uuid = Annotated[str, Field(json_schema_extra={"format": "uuid"})]

READ: dict[str, Any] = {"response_model_exclude_unset": True}
"""Keyword arguments of every typed GET route."""


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActorOut(Answer):
    """Who did it: a user acting for a department."""

    user: str
    department: str


class CustomerOut(Answer):
    """A customer by its code in the customer archive (4.1.5), and its name if known."""

    code: str
    name: str | None = None
    oem: bool | None = Field(default=None, description="An OEM customer (4.1.4), as archived.")
    timezone: str | None = Field(
        default=None, description="IANA time zone of the customer's first site, as archived."
    )
