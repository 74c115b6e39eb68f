"""How a service reaches Kafka: where, and with which credentials.

Locally a plaintext broker on loopback; on the cluster, Strimzi's TLS
listener with SCRAM-SHA-512 users (deploy/base/kafka). Every Kafka client of
a service (relay, consumers, replay, topic admin) is made from one of these.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None

    @classmethod
    def of(cls, where: KafkaConnection | str) -> KafkaConnection:
        return where if isinstance(where, KafkaConnection) else cls(bootstrap_servers=where)

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.security_protocol not in ("SSL", "SASL_SSL"):
            return None
        context: ssl.SSLContext = create_ssl_context(cafile=self.ssl_cafile)
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        context = self._ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            if not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
                raise ValueError(
                    f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                    "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
                )
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return options

    def faststream_security(self) -> BaseSecurity | None:
        """The same credentials for FastStream's KafkaBroker."""
        context = self._ssl_context()
        if not self.uses_sasl:
            return BaseSecurity(ssl_context=context) if context is not None else None
        self.client_options()  # says what is missing
        assert self.sasl_username is not None and self.sasl_password is not None
        kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256,
                "SCRAM-SHA-512": SASLScram512}[self.sasl_mechanism or "PLAIN"]  # fmt: skip
        return kind(
            username=self.sasl_username,
            password=self.sasl_password,
            ssl_context=context,
            use_ssl=context is not None,
        )
