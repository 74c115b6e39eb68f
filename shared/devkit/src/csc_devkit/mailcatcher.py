"""``csc up``'s local SMTP server: notify's mails land here, one ``.eml`` file each.

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
