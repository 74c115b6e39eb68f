"""A real SMTP server (aiosmtpd) and a real HTTP receiver for chat robots, in the test process."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from csc_devkit.processes import free_port


@dataclass
class Mail:
    to: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass
class _Handler:
    mails: list[Mail] = field(default_factory=list)
    refuse: str | None = None
    """While set, every message is answered with this (e.g. 451 ...) and not kept."""
    refused: int = 0
    delay: float = 0.0
    """Seconds a message takes to be taken, as a busy server's would."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse is not None:
                self.refused += 1
                return self.refuse
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.mails.append(Mail(to=list(envelope.rcpt_tos), message=parsed))
            return "250 Message accepted for delivery"


class MailServer:
    """aiosmtpd on a free port: every mail it accepts, parsed; ``refuse`` makes it say no."""

    def __init__(self, delay: float = 0.0) -> None:
        self.handler = _Handler(delay=delay)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()

    @property
    def mails(self) -> list[Mail]:
        with self.handler.lock:
            return list(self.handler.mails)

    def refuse(self, answer: str | None) -> None:
        with self.handler.lock:
            self.handler.refuse = answer

    @property
    def refused(self) -> int:
        with self.handler.lock:
            return self.handler.refused

    def env(self) -> dict[str, str]:
        return {"CSC_NOTIFY_SMTP_HOST": "127.0.0.1", "CSC_NOTIFY_SMTP_PORT": str(self.port)}


@dataclass
class Post:
    path: str
    query: dict[str, str]
    body: dict[str, Any]


class ChatReceiver:
    """A local HTTP server standing where the robots' webhooks are; answers as each does."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                with receiver.lock:
                    receiver.posts.append(
                        Post(parts.path, dict(urllib.parse.parse_qsl(parts.query)), body)
                    )
                # WeCom and DingTalk answer errcode 0, Feishu code 0.
                answer = (
                    {"code": 0, "msg": "success"}
                    if "feishu" in parts.path
                    else {
                        "errcode": 0,
                        "errmsg": "ok",
                    }
                )
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ChatReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def at(self, path: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.path == path]
