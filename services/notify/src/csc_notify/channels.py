"""The providers: e-mail over SMTP, and the chat robots Chinese manufacturers use.

Each payload follows its provider's documentation:

- WeCom (企业微信) group robot: POST JSON ``{"msgtype": "markdown", "markdown":
  {"content": ...}}`` to the robot's ``.../cgi-bin/webhook/send?key=...``; it
  answers ``{"errcode": 0, "errmsg": "ok"}``.
- DingTalk (钉钉) custom robot: ``{"msgtype": "markdown", "markdown": {"title",
  "text"}}``; with a signing secret (``SEC...``) the URL also carries ``timestamp``
  (milliseconds) and ``sign`` = urlencode(base64(HMAC-SHA256(key=secret,
  msg=timestamp + "\\n" + secret))); answers ``errcode`` 0.
- Feishu / Lark (飞书) custom bot: ``{"msg_type": "text", "content": {"text"}}``;
  with a signature secret the body also carries ``timestamp`` (seconds) and
  ``sign`` = base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg="")); answers
  ``code`` 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib
import httpx

from csc_notify.messages import Message


class DeliveryFailed(Exception):
    """The provider did not take the message; ``permanent`` when another try cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool | None = None  # None: STARTTLS when the server offers it
    use_tls: bool = False
    timeout: float = 30.0


def email_message(
    message: Message, *, sender: str, to_name: str, to: str, message_id: str, at: datetime
) -> EmailMessage:
    """A multipart/alternative mail: plain text first, then HTML (RFC 2046: the last is
    the richest)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = formataddr((to_name, to))
    mail["Subject"] = message.subject
    mail["Message-ID"] = message_id
    mail["Date"] = format_datetime(at)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


async def send_email(settings: SmtpSettings, mail: EmailMessage) -> None:
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            start_tls=settings.starttls,
            use_tls=settings.use_tls,
            timeout=settings.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise DeliveryFailed(
            f"SMTP refused the recipient: {reason}", permanent=all(c >= 500 for c in codes)
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP {exc.code} {exc.message}", permanent=exc.code >= 500) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}") from exc


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, not yet URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.extend(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def chat_request(
    kind: str, url: str, secret: str | None, message: Message, now: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of one chat message, as the provider documents them."""
    now = time.time() if now is None else now
    if kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": message.markdown}}
    if kind == "dingtalk":
        if secret:
            ms = int(now * 1000)
            url = _with_query(url, timestamp=str(ms), sign=dingtalk_sign(secret, ms))
        return url, {
            "msgtype": "markdown",
            "markdown": {"title": message.subject, "text": message.markdown},
        }
    if kind == "feishu":
        body: dict[str, Any] = {
            "msg_type": "text",
            "content": {"text": f"{message.subject}\n{message.text}"},
        }
        if secret:
            seconds = int(now)
            body.update(timestamp=str(seconds), sign=feishu_sign(secret, seconds))
        return url, body
    raise ValueError(f"unknown chat kind {kind!r}")


async def send_chat(client: httpx.AsyncClient, kind: str, url: str, body: dict[str, Any]) -> None:
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{kind} webhook: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 300:
        raise DeliveryFailed(
            f"{kind} webhook answered HTTP {response.status_code}: {response.text[:300]}",
            permanent=response.status_code in (400, 401, 403, 404, 410),
        )
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    # WeCom and DingTalk answer errcode, Feishu code: 0 when the message was taken.
    code = answer.get("errcode", answer.get("code", 0)) if isinstance(answer, dict) else 0
    if code not in (0, None):
        raise DeliveryFailed(f"{kind} webhook refused it: {response.text[:300]}")
