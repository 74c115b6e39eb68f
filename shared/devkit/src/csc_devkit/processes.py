"""Running the services as real processes, for ``csc up`` and the end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICE_PORTS = {"intake": 8001, "returns": 8002, "capa": 8003, "sla": 8004, "notify": 8005}
CONSOLE_PORT = 8000
"""The console (services/console): the web pages over the four services."""

LOCAL_USERS = {
    "li.wei": "marketing",
    "zhang.min": "after_sales",
    "wang.fang": "quality",
    "chen.jie": "engineering",
    "liu.yang": "development",
    "zhao.lei": "production",
    "sun.li": "warehouse",
    "zhou.qiang": "chief_engineer",
    "wu.hua": "auditor",
    "huang.li": "marketing",
    "xu.gang": "quality",
}
"""One local user per department, and a manager for Marketing and QC (``LOCAL_MANAGERS``),
offered by the console's local sign-in (``csc up``, tests)."""
LOCAL_MANAGERS = ("huang.li", "xu.gang")
"""The local users who sign in as their department's manager: Marketing's and QC's, who set
the SLA calendars and policy (clause 3)."""


def console_env(
    service_urls: dict[str, str], users: dict[str, str] | None = None
) -> dict[str, str]:
    """What the console needs beside the services' own settings: where they are, who signs in."""

    env = {f"CSC_{service.upper()}_URL": url for service, url in service_urls.items()}
    env["CSC_CONSOLE_LOCAL_USERS"] = json.dumps(users if users is not None else LOCAL_USERS)
    env["CSC_CONSOLE_LOCAL_MANAGERS"] = json.dumps(list(LOCAL_MANAGERS))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    service: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"csc_{self.service}", "serve", "--port", str(self.port)],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 60) -> ServiceProcess:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited early:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200:
                    return self
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.service} not ready after {timeout}s ({last}):\n{self.log_tail()}"
        )

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as when a node dies."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class _Watched:
    process: ServiceProcess
    started_at: float
    failures: int = 0
    """Exits in a row, each within STABLE_AFTER of its start: what the back-off grows with."""
    restart_at: float | None = None
    ready: bool = True


class Supervisor:
    """Keeps services running: one that exits is started again after a back-off, the others go on.

    ``poll`` is called about once a second. A service that exits is reported
    with its exit code and log, and started again on the same port, store and
    log after BACKOFF seconds, doubling with each exit in a row up to
    MAX_BACKOFF; one that stayed up for STABLE_AFTER starts again from the
    first. It is reported again once it is ready.
    """

    BACKOFF = 1.0
    MAX_BACKOFF = 30.0
    STABLE_AFTER = 60.0

    def __init__(
        self,
        processes: list[ServiceProcess],
        report: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.report, self.clock = report, clock
        self.watched = [_Watched(p, clock()) for p in processes]

    @property
    def processes(self) -> list[ServiceProcess]:
        return [w.process for w in self.watched]

    def poll(self) -> None:
        now = self.clock()
        for w in self.watched:
            proc = w.process.proc
            if w.restart_at is None and proc is not None and proc.poll() is not None:
                w.failures = 1 if now - w.started_at >= self.STABLE_AFTER else w.failures + 1
                delay = min(self.MAX_BACKOFF, self.BACKOFF * 2 ** (w.failures - 1))
                self.report(
                    f"{w.process.service} exited with code {proc.returncode}; restarting it "
                    f"in {delay:g}s (restart {w.failures} in a row); see {w.process.log_path}"
                )
                w.restart_at = now + delay
            elif w.restart_at is not None and now >= w.restart_at:
                w.process = ServiceProcess(
                    service=w.process.service,
                    port=w.process.port,
                    env=w.process.env,
                    log_path=w.process.log_path,
                ).start()
                w.restart_at, w.started_at, w.ready = None, now, False
                self.report(f"{w.process.service} restarted (pid {w.process.pid})")
            elif not w.ready and w.restart_at is None and self._answers(w.process):
                w.ready = True
                self.report(f"{w.process.service} is up again at {w.process.url}")

    @staticmethod
    def _answers(process: ServiceProcess) -> bool:
        try:
            return httpx.get(f"{process.url}/readyz", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for w in reversed(self.watched):
            w.process.stop()
