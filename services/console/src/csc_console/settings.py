"""The console's settings: where the four services and Kafka are, how people sign in.

The console reads the same ``CSC_*`` variables as the services (Kafka, topic
prefix, the tokens' HS256 secret) and a few of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from csc_contracts import PersonDepartment
from csc_messaging.settings import ServiceSettings

ServiceName = Literal["intake", "returns", "capa", "sla", "notify"]


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CSC_", extra="ignore")

    http_port: int = 8000

    intake_url: str = Field(default="http://127.0.0.1:8001", description="intake's HTTP API.")
    returns_url: str = Field(default="http://127.0.0.1:8002", description="returns' HTTP API.")
    capa_url: str = Field(default="http://127.0.0.1:8003", description="capa's HTTP API.")
    sla_url: str = Field(default="http://127.0.0.1:8004", description="sla's HTTP API.")
    notify_url: str = Field(default="http://127.0.0.1:8005", description="notify's HTTP API.")
    service_timeout_seconds: float = Field(default=10.0, gt=0)

    console_session_secret: str | None = Field(
        default=None,
        min_length=32,
        description="Signs the session cookie (CSC_CONSOLE_SESSION_SECRET). Locally, when "
        "unset, one is derived from CSC_AUTH_HS256_SECRET.",
    )
    console_secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie Secure (CSC_CONSOLE_SECURE_COOKIES): true in "
        "production, where the console is reached over HTTPS only.",
    )
    console_session_hours: float = Field(default=12, gt=0, le=24)
    console_local_users: dict[str, PersonDepartment] = Field(
        default_factory=dict,
        description="User id -> department, offered by the local sign-in form "
        "(CSC_CONSOLE_LOCAL_USERS, JSON; `csc up` sets one per department). The console "
        "issues these users' HS256 tokens with CSC_AUTH_HS256_SECRET: local use only.",
    )
    console_local_managers: list[str] = Field(
        default_factory=list,
        description="Which local users sign in as their department's manager "
        "(CSC_CONSOLE_LOCAL_MANAGERS, JSON list of user ids; their tokens name the manager "
        "role): Marketing's and QC's managers set the SLA calendars and policy (clause 3).",
    )
    console_oidc_issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer URL (CSC_CONSOLE_OIDC_ISSUER): with a "
        "client id, the sign-in page offers the company's sign-in (OpenID Connect, "
        "authorization code with PKCE); its discovery document is read at first use.",
    )
    console_oidc_client_id: str | None = Field(
        default=None, description="The console's client id at the provider; the ID token's aud."
    )
    console_oidc_client_secret: str | None = Field(
        default=None,
        description="Its secret, for a confidential client (HTTP Basic at the token endpoint); "
        "unset for a public client, which PKCE alone protects.",
    )
    console_oidc_scope: str = Field(default="openid profile")
    console_oidc_api_token: Literal["access_token", "id_token"] = Field(
        default="access_token",
        description="Which of the provider's tokens the console sends to the services (they "
        "check it with CSC_AUTH_JWKS_URL): its access token, or the ID token where the "
        "provider's access tokens are opaque.",
    )
    console_public_url: str | None = Field(
        default=None,
        description="The console's URL as browsers reach it (CSC_CONSOLE_PUBLIC_URL), for the "
        "redirect URI registered at the provider; else the URL of the request.",
    )
    console_queue_page: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Rows a work queue's section (and a customer's entries) shows on one page; "
        "the rest a link away. 50: a few screens of work, read and drawn in one page's time.",
    )
    console_site_timezone: str = Field(
        default="Asia/Shanghai",
        description="The site's zone, shown beside the viewer's own where they differ.",
    )
    console_instance: str = Field(
        default_factory=socket.gethostname,
        description="Names this replica to Kafka (its client id): each replica follows "
        "every topic by itself, to push to the pages it serves.",
    )

    @field_validator("console_site_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value

    def service_url(self, service: ServiceName) -> str:
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")

    @property
    def local_sign_in(self) -> bool:
        """The local form: only where the console can issue tokens the services accept."""
        return bool(self.console_local_users and self.auth_hs256_secret)

    @property
    def oidc_sign_in(self) -> bool:
        """The company's sign-in: where a provider and the console's client id are named."""
        return bool(self.console_oidc_issuer and self.console_oidc_client_id)

    def session_secret(self) -> str:
        if self.console_session_secret:
            return self.console_session_secret
        if self.auth_hs256_secret:
            # A different key from the tokens' own: a session cookie is not a token.
            return hmac.new(
                self.auth_hs256_secret.encode(), b"csc-console-session", hashlib.sha256
            ).hexdigest()
        raise ValueError(
            "the console needs CSC_CONSOLE_SESSION_SECRET (32+ bytes) to sign its sessions"
        )
