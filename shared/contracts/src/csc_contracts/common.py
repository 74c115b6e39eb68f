"""Value types shared by every public event."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema


def _require_utc(value: datetime) -> datetime:
    # Events are compared and ordered across services; a naive time is ambiguous.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone (e.g. 2026-11-24T08:00:00Z)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class Department(StrEnum):
    """Departments are the roles of the procedure (clause 3)."""

    MARKETING = "marketing"  # 市场部: owns the whole process
    AFTER_SALES = "after_sales"  # 售后服务: on site at OEM customers (4.1.4)
    QUALITY = "quality"  # 品管部 (QC): confirms problems, picks samples, runs CAPA
    ENGINEERING = "engineering"  # is notified of all customer information (4.1.2)
    DEVELOPMENT = "development"  # sits on the cross-functional team (4.4.4)
    PRODUCTION = "production"
    WAREHOUSE = "warehouse"  # 仓务部: receives returns (4.3.2.2)
    CHIEF_ENGINEER = "chief_engineer"  # 总工: gets important information (4.1.3)
    AUDITOR = "auditor"  # reads every history, records nothing
    SYSTEM = "system"  # the services themselves, e.g. an SLA clock's timer


PERSON_DEPARTMENTS: tuple[Department, ...] = tuple(
    d for d in Department if d is not Department.SYSTEM
)
"""The departments a person can belong to: every one but ``system``."""


def _of_a_person(value: Department) -> Department:
    # ``system`` marks what the services decide themselves (an SLA clock's timer, a PNPR's
    # confirmation): nobody may speak for it, neither with a token nor in a request.
    if value is Department.SYSTEM:
        raise ValueError("'system' is the services' own department; no person belongs to it")
    return value


PersonDepartment = Annotated[
    Department,
    AfterValidator(_of_a_person),
    WithJsonSchema(
        {
            "type": "string",
            "enum": [d.value for d in PERSON_DEPARTMENTS],
            "title": "PersonDepartment",
            "description": "A department a person belongs to (clause 3); never `system`.",
        }
    ),
]
"""A department a person can belong to: what tokens and requests may name."""


class Channel(StrEnum):
    """How customer information arrived (4.1.1: letter, phone, fax, visit; today e-mail, web)."""

    LETTER = "letter"
    PHONE = "phone"
    FAX = "fax"
    VISIT = "visit"
    EMAIL = "email"
    WEB = "web"


class FeedbackKind(StrEnum):
    """The five kinds of entry in the Customer Information Register (4.1.2)."""

    CURRENT_PRODUCT_REQUIREMENTS = "current_product_requirements"
    POTENTIAL_PRODUCT_REQUIREMENTS = "potential_product_requirements"
    QUALITY_PROBLEM = "quality_problem"
    QUALITY_COMMITMENT = "quality_commitment"
    SUGGESTION = "suggestion"


class ComplaintCategory(StrEnum):
    """What a complaint is about (4.4.1)."""

    SERVICE = "service"
    QUALITY = "quality"
    DELIVERY = "delivery"


class Actor(BaseModel):
    """Who did it: a user acting for a department."""

    model_config = ConfigDict(frozen=True)

    user: NonEmpty
    department: Department


class CustomerRef(BaseModel):
    """The customer an entry is about, by its code in the customer archive (4.1.5)."""

    model_config = ConfigDict(frozen=True)

    code: NonEmpty
    name: NonEmpty | None = None
    # Carried on every event that names the customer, so a consumer needs no other
    # event (perhaps on another partition, read later) to apply the right policy.
    oem: bool | None = Field(default=None, description="An OEM customer (4.1.4), as archived.")
    timezone: str | None = Field(
        default=None, description="IANA time zone of the customer's first site, as archived."
    )
