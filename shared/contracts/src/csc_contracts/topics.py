"""Topic names. One topic per publishing service, keyed by case id."""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("intake", "returns", "capa", "sla", "notify")
# Services whose store is derived from other services' events and their own decisions:
# each keeps its whole store log on a journal topic, so a replay restores it exactly.
JOURNALED = ("returns", "capa", "sla", "notify")


@dataclass(frozen=True)
class Topics:
    """Topic names under an optional prefix (one Kafka cluster, several environments)."""

    prefix: str = ""

    def events(self, service: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
        return f"{self.prefix}csc.{service}.v1"

    def dlq(self, topic: str) -> str:
        return f"{topic}.dlq"

    def journal(self, service: str) -> str:
        """Every stored event of one service, in log order (internal: the service's own)."""
        if service not in JOURNALED:
            raise ValueError(f"{service!r} keeps no journal; those that do: {', '.join(JOURNALED)}")
        return f"{self.prefix}csc.{service}.journal"

    @property
    def relay_offsets(self) -> str:
        """Where each relay records, in the same transaction as its events, how far it got."""
        return f"{self.prefix}csc.relay.offsets"

    @property
    def audit(self) -> str:
        """Each relay's hash-chain checkpoints (ISO 9001 §7.5.3), key = service; kept forever."""
        return f"{self.prefix}csc.audit.v1"

    @property
    def intake(self) -> str:
        return self.events("intake")

    def all_event_topics(self) -> list[str]:
        return [self.events(s) for s in SERVICES]
