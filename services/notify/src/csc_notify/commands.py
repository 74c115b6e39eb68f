"""What notify's HTTP API takes: a recipient of the directory."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from csc_contracts import PersonDepartment
from csc_contracts.common import NonEmpty
from csc_contracts.intake import TimeZone

# A mailbox as SMTP takes it: local@domain, no spaces or angle brackets (RFC 5321, in short).
_MAILBOX = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


def _mailbox(value: str) -> str:
    if not _MAILBOX.match(value):
        raise ValueError("must be an e-mail address such as wang.fang@example.com")
    return value


def _web_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError("must be an http(s) URL, the robot's webhook address")
    return value


Mailbox = Annotated[str, Field(max_length=254), AfterValidator(_mailbox)]
WebhookUrl = Annotated[str, Field(max_length=2000), AfterValidator(_web_url)]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["22:00"])]


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Chat(_Value):
    """A group robot: WeCom (企业微信), DingTalk (钉钉) or Feishu/Lark (飞书)."""

    kind: Literal["wecom", "dingtalk", "feishu"]
    url: WebhookUrl
    secret: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="DingTalk's signing secret (SEC...) or Feishu's signature secret; "
        "WeCom's robot has none (its key is in the URL).",
    )

    @model_validator(mode="after")
    def _secret_where_signed(self) -> Self:
        if self.kind == "wecom" and self.secret is not None:
            raise ValueError("a WeCom group robot has no signing secret: leave secret out")
        return self


class QuietHours(_Value):
    """When warnings wait (they go at the end); breaches and escalations never do."""

    start: ClockTime
    end: ClockTime
    timezone: TimeZone = "Asia/Shanghai"


class RecipientIn(_Value):
    name: NonEmpty
    department: PersonDepartment
    roles: list[Literal["manager"]] = Field(
        default_factory=list,
        max_length=5,
        description="manager: told of a breach that sla names the department's manager for.",
    )
    email: Mailbox | None = None
    chat: Chat | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    quiet_hours: QuietHours | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.email is None and self.chat is None:
            raise ValueError("give an email or a chat (or both): nothing could reach them")
        return self
