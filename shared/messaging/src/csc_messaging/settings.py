"""Settings every service reads from its environment (twelve-factor, pydantic-settings)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from csc_contracts import Topics
from csc_messaging.auth import AuthSettings
from csc_messaging.kafka_conn import KafkaConnection, SaslMechanism, SecurityProtocol
from csc_messaging.problems import HttpLimits


class ServiceSettings(BaseSettings):
    """``CSC_*`` variables, plus the conventional ``KAFKA_BOOTSTRAP_SERVERS`` and ``POSTGRES_*``."""

    model_config = SettingsConfigDict(env_prefix="CSC_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "CSC_KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL", "CSC_KAFKA_SECURITY_PROTOCOL"),
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SASL_MECHANISM", "CSC_KAFKA_SASL_MECHANISM"),
    )
    kafka_sasl_username: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SASL_USERNAME", "CSC_KAFKA_SASL_USERNAME"),
    )
    kafka_sasl_password: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SASL_PASSWORD", "CSC_KAFKA_SASL_PASSWORD"),
    )
    kafka_ssl_cafile: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_SSL_CAFILE", "CSC_KAFKA_SSL_CAFILE"),
        description="CA certificate of the brokers' TLS listener (Strimzi's cluster CA).",
    )
    topic_prefix: str = ""
    consumer_max_records: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Records the consumer takes from Kafka at a time (over all partitions); "
        "each partition's run of them goes into the store in one transaction.",
    )

    store: Literal["sqlite", "postgres"] = "sqlite"
    data_dir: Path = Path(".csc/data")
    postgres_host: str = Field(
        default="127.0.0.1", validation_alias=AliasChoices("POSTGRES_HOST", "CSC_POSTGRES_HOST")
    )
    postgres_port: int = Field(
        default=5432, validation_alias=AliasChoices("POSTGRES_PORT", "CSC_POSTGRES_PORT")
    )
    postgres_user: str = Field(
        default="postgres", validation_alias=AliasChoices("POSTGRES_USER", "CSC_POSTGRES_USER")
    )
    postgres_password: str = Field(
        default="",
        validation_alias=AliasChoices("POSTGRES_PASSWORD", "CSC_POSTGRES_PASSWORD"),
    )
    postgres_db: str = Field(
        default="postgres", validation_alias=AliasChoices("POSTGRES_DB", "CSC_POSTGRES_DB")
    )
    postgres_schema: str | None = Field(
        default=None,
        description="Schema holding this service's tables; the service name when unset.",
    )

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="The largest request body a route takes unless it says otherwise "
        "(evidence uploads: CSC_EVIDENCE_MAX_BYTES); larger ones get 413. Kept far below "
        "Kafka's 1 MiB record limit, since an event carries a request's text.",
    )
    http_body_idle_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request body that pauses this long gets 408 and the connection closes.",
    )
    http_body_total_seconds: float = Field(
        default=60.0, gt=0, description="... and one that takes this long in all."
    )

    metrics_enabled: bool = Field(
        default=True,
        description="Serve /metrics and count requests and commits (CSC_METRICS_ENABLED); "
        "off only to measure what counting costs (`python -m bench --only observability`).",
    )
    relay_enabled: bool = True
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=0.05, gt=0)
    relay_max_record_bytes: int = Field(
        default=1_000_000,
        ge=10_000,
        description="The largest record the relay publishes (CSC_RELAY_MAX_RECORD_BYTES): "
        "at most the broker's message.max.bytes. A public event that would be larger is held.",
    )
    audit_checkpoint_every: int = Field(
        default=1000,
        ge=1,
        description="The relay checkpoints its chain head to csc.audit.v1 every this many "
        "notifications (CSC_AUDIT_CHECKPOINT_EVERY) ...",
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0,
        gt=0,
        description="... or this many seconds, whichever comes first, when the log moved "
        "(CSC_AUDIT_CHECKPOINT_SECONDS).",
    )

    log_format: Literal["json", "console"] = "json"

    auth_hs256_secret: str | None = Field(
        default=None,
        min_length=32,
        description="Shared secret of locally issued HS256 tokens (`csc token`), 32+ bytes.",
    )
    auth_jwks_url: str | None = Field(
        default=None, description="JWKS of the identity provider; RS256 tokens in production."
    )
    auth_audience: str | None = None
    auth_issuer: str | None = None
    auth_max_token_lifetime_hours: float = Field(
        default=12,
        gt=0,
        le=24 * 31,
        description="A token valid longer than this (exp - iat) is refused, whoever issued it.",
    )
    auth_leeway_seconds: float = Field(
        default=60,
        ge=0,
        le=600,
        description="How far the issuer's clock may be from ours when exp and iat are checked.",
    )

    auth_roles_claim: str = Field(
        default="roles",
        min_length=1,
        description="The claim naming a person's roles (CSC_AUTH_ROLES_CLAIM): a list or a "
        "space-separated string; a dotted path reads a nested one (realm_access.roles).",
    )
    auth_manager_role: str = Field(
        default="manager",
        min_length=1,
        description="The role that makes a person their department's manager "
        "(CSC_AUTH_MANAGER_ROLE): Marketing's and QC's managers set the SLA rules (clause 3).",
    )

    @property
    def kafka(self) -> KafkaConnection:
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password,
            ssl_cafile=self.kafka_ssl_cafile,
        )

    @property
    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            max_body_bytes=self.http_max_body_bytes,
            body_idle_seconds=self.http_body_idle_seconds,
            body_total_seconds=self.http_body_total_seconds,
        )

    @property
    def auth(self) -> AuthSettings:
        return AuthSettings(
            hs256_secret=self.auth_hs256_secret,
            jwks_url=self.auth_jwks_url,
            audience=self.auth_audience,
            issuer=self.auth_issuer,
            max_token_lifetime=timedelta(hours=self.auth_max_token_lifetime_hours),
            leeway=timedelta(seconds=self.auth_leeway_seconds),
            roles_claim=self.auth_roles_claim,
            manager_role=self.auth_manager_role,
        )

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)
