"""``csc up``'s local SMTP server and chat robots: notify's mails and chat messages land here.

A real SMTP server (aiosmtpd), so what a newcomer reads is what notify really
sent: headers, the text and HTML parts, the Message-ID.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Keep:
    def __init__(self, directory: Path, report: Callable[[str], None]) -> None:
        self.directory, self.report = directory, report
        existing = len(list(directory.glob("*.eml")))
        self.numbers = itertools.count(existing + 1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        to = ",".join(envelope.rcpt_tos)
        with self.lock:
            name = f"{next(self.numbers):05d}-{re.sub(r'[^A-Za-z0-9@._-]', '_', to)[:80]}.eml"
        path = self.directory / name
        path.write_bytes(data)
        subject = message_from_bytes(data, policy=policy.default).get("Subject", "")
        self.report(f"  mail to {to}: {subject}  ({path})")
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(
        self, directory: Path, port: int, report: Callable[[str], None], host: str = "127.0.0.1"
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.host, self.port = directory, host, port
        self.controller = Controller(_Keep(directory, report), hostname=host, port=port)

    def start(self) -> MailCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


# The chat robots' answers when they take a message (each provider's documented shape).
_TAKEN: dict[str, dict[str, object]] = {
    "wecom": {"errcode": 0, "errmsg": "ok"},
    "dingtalk": {"errcode": 0, "errmsg": "ok"},
    "feishu": {"code": 0, "msg": "success"},
}


def chat_text(kind: str, body: dict[str, object]) -> str:
    """What a chat group would show of one robot message, on one line."""
    if kind == "feishu":
        content = body.get("content")
        text = content.get("text", "") if isinstance(content, dict) else ""
    else:
        markdown = body.get("markdown")
        text = ""
        if isinstance(markdown, dict):  # WeCom's content, DingTalk's text
            text = markdown.get("content", markdown.get("text", ""))
    return " ".join(str(text).split())[:160]


class ChatCatcher:
    """``csc up``'s local chat robots: notify's WeCom, DingTalk and Feishu messages land here.

    A real HTTP server, posted to at ``/<kind>/<group>`` (kind: wecom, dingtalk or
    feishu), answering as that provider does when it takes a message; each body is
    kept as one ``.json`` file and its text printed.
    """

    def __init__(
        self, directory: Path, port: int, report: Callable[[str], None], host: str = "127.0.0.1"
    ) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.host, self.port = directory, host, port
        numbers = itertools.count(len(list(directory.glob("*.json"))) + 1)
        lock = threading.Lock()

        class Robot(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                kind, _, group = self.path.lstrip("/").partition("/")
                group = group.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                if kind not in _TAKEN or not isinstance(body, dict):
                    self._answer(404 if kind not in _TAKEN else 400, {"error": "not a robot"})
                    return
                with lock:
                    number = next(numbers)
                safe = re.sub(r"[^A-Za-z0-9._-]", "_", group)[:60] or "group"
                path = directory / f"{number:05d}-{kind}-{safe}.json"
                path.write_text(json.dumps(body, ensure_ascii=False, indent=2))
                report(f"  chat {kind}/{group}: {chat_text(kind, body)}  ({path})")
                self._answer(200, _TAKEN[kind])

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # each message is reported above

        self.server = ThreadingHTTPServer((host, port), Robot)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, kind: str, group: str) -> str:
        return f"http://{self.host}:{self.port}/{kind}/{group}"

    def start(self) -> ChatCatcher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
