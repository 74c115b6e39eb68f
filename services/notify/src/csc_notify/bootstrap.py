"""Composition root of the notify service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta

from pydantic import Field

from csc_contracts.intake import TimeZone
from csc_messaging.runtime import Background, ConsumerSpec, Service
from csc_messaging.settings import ServiceSettings
from csc_notify.application import Backoff, NotifyApplication
from csc_notify.channels import SmtpSettings
from csc_notify.delivery import Deliverer, DeliverySettings
from csc_notify.digest import Digester, DigestSchedule
from csc_notify.entrypoints.http import routes
from csc_notify.projections import NotifyBoard
from csc_notify.public import to_public


class NotifySettings(ServiceSettings):
    http_port: int = 8005
    console_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The console's address: each message links to the case's page there.",
    )
    notify_smtp_host: str | None = Field(
        default=None, description="The SMTP server mail goes through; no e-mail without it."
    )
    notify_smtp_port: int = 25
    notify_smtp_username: str | None = None
    notify_smtp_password: str | None = None
    notify_smtp_starttls: bool | None = Field(
        default=None,
        description="true: require STARTTLS; false: never; unset: when the server offers it.",
    )
    notify_smtp_tls: bool = Field(default=False, description="Implicit TLS (port 465).")
    notify_mail_from: str = "Customer Service Control <csc@localhost>"
    notify_message_domain: str = Field(
        default="csc.notify",
        description="The right-hand side of every Message-ID (<id@domain>).",
    )
    notify_max_attempts: int = Field(
        default=5, ge=1, le=100, description="Tries before a notification is dead-lettered."
    )
    notify_retry_seconds: float = Field(
        default=30, gt=0, description="The wait after the first failed try; doubles each time."
    )
    notify_retry_max_seconds: float = Field(default=3600, gt=0)
    notify_poll_seconds: float = Field(default=0.2, gt=0)
    notify_concurrency: int = Field(default=8, ge=1, le=256)
    notify_send_timeout_seconds: float = Field(default=30, gt=0)
    notify_digest: bool = Field(
        default=True, description="Send each department its morning digest of deadlines."
    )
    notify_digest_at: time = Field(
        default=time(8, 30), description="When the digest goes, the site's local time."
    )
    notify_digest_until: time = Field(
        default=time(12, 0),
        description="No digest after this time of the morning (a service started later "
        "sends none that day).",
    )
    notify_digest_timezone: TimeZone = Field(
        default="Asia/Shanghai", description="The site's IANA time zone for the digest."
    )
    notify_digest_calendar: str = Field(
        default="default",
        max_length=64,
        description="sla's calendar whose working days the digest goes on (its holidays "
        "none, its make-up days one), as csc.sla.v1 publishes it; empty: the weekdays below.",
    )
    notify_digest_weekdays: list[int] = Field(
        default=[0, 1, 2, 3, 4],
        description="Working days the digest goes on until notify has read the calendar, "
        "or with no calendar; Monday = 0.",
    )
    notify_digest_hours: float = Field(
        default=2,
        gt=0,
        le=24 * 7,
        description="Clocks due within this many hours are listed ('breaching soon').",
    )
    notify_digest_poll_seconds: float = Field(default=30, gt=0)


def _settings(settings: ServiceSettings) -> NotifySettings:
    return settings if isinstance(settings, NotifySettings) else NotifySettings()


def _application(settings: ServiceSettings, env: dict[str, str]) -> NotifyApplication:
    s = _settings(settings)
    return NotifyApplication(
        env=env,
        backoff=Backoff(
            attempts=s.notify_max_attempts,
            first=timedelta(seconds=s.notify_retry_seconds),
            longest=timedelta(seconds=s.notify_retry_max_seconds),
        ),
    )


def _deliverer(service: Service) -> list[Background]:
    app, board = service.app, service.read_model
    assert isinstance(app, NotifyApplication) and isinstance(board, NotifyBoard)
    s = _settings(service.settings)
    smtp = (
        SmtpSettings(
            host=s.notify_smtp_host,
            port=s.notify_smtp_port,
            sender=s.notify_mail_from,
            username=s.notify_smtp_username,
            password=s.notify_smtp_password,
            starttls=s.notify_smtp_starttls,
            use_tls=s.notify_smtp_tls,
            timeout=s.notify_send_timeout_seconds,
        )
        if s.notify_smtp_host
        else None
    )
    deliverer = Deliverer(
        app,
        board,
        DeliverySettings(
            smtp=smtp,
            console_url=s.console_url,
            message_domain=s.notify_message_domain,
            poll_seconds=s.notify_poll_seconds,
            concurrency=s.notify_concurrency,
            send_timeout=s.notify_send_timeout_seconds,
        ),
        sends=_sends_counter(service),
    )
    background: list[Background] = [deliverer.run]
    if s.notify_digest:
        schedule = DigestSchedule(
            at=s.notify_digest_at,
            until=s.notify_digest_until,
            timezone=s.notify_digest_timezone,
            weekdays=frozenset(s.notify_digest_weekdays),
            hours=s.notify_digest_hours,
            poll_seconds=s.notify_digest_poll_seconds,
            calendar=s.notify_digest_calendar or None,
        )
        background.append(Digester(app, board, schedule).run)
    return background


def _sends_counter(service: Service) -> Callable[[str, str], None]:
    sends = service.metrics.counter(
        "csc_notify_sends",
        "Attempts to send a notification, by channel and outcome (sent, failed: tried "
        "again later, failed_permanent).",
        ["channel", "outcome"],
    )

    def count(channel: str, outcome: str) -> None:
        sends.labels(service.name, channel, outcome).inc()

    return count


NOTIFY = ConsumerSpec(
    name="notify",
    settings_class=NotifySettings,
    application_class=NotifyApplication,
    read_model_class=NotifyBoard,
    routes=routes,
    subscribes_to=["intake", "returns", "sla"],
    title="Customer Service Control — notify",
    description="Every notification of the procedure reaches a person: Engineering of "
    "customer information (4.1.2), the Chief Engineer of important information (4.1.3), "
    "QC of whole-batch returns (4.3.2.1) and goods received (4.3.2.3), the Warehouse of "
    "goods to receive (4.3.2.2), QC of quality complaints (4.4.2), and each promise's "
    "department of its clock's warning, breach and escalation (4.2). By e-mail (SMTP, "
    "text and HTML, in the recipient's language) and by WeCom, DingTalk or Feishu robot; "
    "each outcome is published on csc.notify.v1.",
    to_public=to_public,
    make_application=_application,
    background=_deliverer,
)

# The HTTP app, as ``csc-notify serve`` runs it and tests build it.
create_app = NOTIFY.http_app
