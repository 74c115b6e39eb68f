"""Every public event type, by its CloudEvents ``type``."""

from __future__ import annotations

from csc_contracts.capa import CAPA_EVENTS
from csc_contracts.events import PublicEvent
from csc_contracts.intake import INTAKE_EVENTS
from csc_contracts.notify import NOTIFY_EVENTS
from csc_contracts.returns import RETURNS_EVENTS
from csc_contracts.sla import SLA_EVENTS

EVENT_TYPES: dict[str, type[PublicEvent]] = {
    cls.event_type(): cls
    for cls in (
        *INTAKE_EVENTS,
        *RETURNS_EVENTS,
        *CAPA_EVENTS,
        *SLA_EVENTS,
        *NOTIFY_EVENTS,
    )
}
