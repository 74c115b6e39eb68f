"""Public events: the only messages that leave a service.

Every event type is versioned. Its CloudEvents ``type`` is
``csc.<service>.<Name>.v<version>``; a new incompatible shape is a new class
with a higher version, published beside the old one until subscribers move.
Within a version, fields are only ever added as optional, and readers ignore
fields they do not know, so adding one breaks nobody.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from csc_contracts.common import Actor, UtcDatetime


class PublicEvent(BaseModel):
    """Fields every public event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    service: ClassVar[str]
    version: ClassVar[int] = 1

    event_id: UUID = Field(description="Unique, and the same on every redelivery.")
    case_id: UUID = Field(description="The register entry this event belongs to.")
    occurred_at: UtcDatetime
    actor: Actor

    @classmethod
    def event_type(cls) -> str:
        return f"csc.{cls.service}.{cls.__name__}.v{cls.version}"
