"""The README's first command: `csc up` starts a real Kafka and the five services.

A service that dies is restarted with back-off and reported, and the rest go on.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from csc_devkit.processes import free_port
from e2e.support import CUSTOMER, complaint, wait_until

pytestmark = pytest.mark.integration


def test_csc_up_runs_the_whole_system_and_stops_cleanly(tmp_path: Path) -> None:
    base = _quiet_base()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "CSC_AUTH_HS256_SECRET")
    }
    log = (tmp_path / "up.log").open("w+")
    up = subprocess.Popen(
        [sys.executable, "-m", "csc_devkit.cli", "up", "--data-dir", str(tmp_path / "csc"),
         "--kafka-port", str(free_port()), "--base-port", str(base),
         "--smtp-port", str(free_port()), "--chat-port", str(free_port())],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: "Press Ctrl-C" in _read(tmp_path / "up.log") or up.poll(), 180)
        assert up.poll() is None, _read(tmp_path / "up.log")
        printed = _read(tmp_path / "up.log")
        for port in range(base, base + 5):
            assert f"http://127.0.0.1:{port}/docs" in printed
            metrics = f"http://127.0.0.1:{port}/metrics"
            assert metrics in printed
            assert "csc_http_request_duration_seconds" in httpx.get(metrics).text

        token = subprocess.run(
            [sys.executable, "-m", "csc_devkit.cli", "token", "--department", "marketing",
             "--data-dir", str(tmp_path / "csc")],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        marketing = httpx.Client(
            base_url=f"http://127.0.0.1:{base}", headers={"Authorization": f"Bearer {token}"}
        )
        assert marketing.post("/customers", json=CUSTOMER).status_code == 201
        case = marketing.post("/complaints", json=complaint(1)).json()

        # 4.2.1: the reply clock runs. A quality complaint also starts QC's contact clock
        # (4.4.3), from another topic: either may be the first sla shows.
        def reply_clocks() -> list[dict[str, Any]] | None:
            r = marketing.get(f"http://127.0.0.1:{base + 3}/cases/{case['case_id']}/clocks")
            return [c for c in r.json() if c["clock"] == "reply"] if r.is_success else None

        clocks = wait_until(reply_clocks, what="the reply clock")
        assert clocks[0]["status"] == "running"
        # 4.1.2: Engineering is told of the entry, by a mail the local SMTP server keeps.
        wait_until(lambda: "mail to chen.jie@csc.local: [CSC 4.1.2]" in _read(tmp_path / "up.log"))
        (kept,) = (tmp_path / "csc" / "mail").glob("*chen.jie@csc.local.eml")
        mail = message_from_bytes(kept.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        text = mail.get_body(preferencelist=("plain",))
        assert text is not None and f"/cases/{case['case_id']}" in text.get_content()
        # ... and in Engineering's group, by a message the local WeCom robot keeps.
        wait_until(lambda: "chat wecom/engineering: " in _read(tmp_path / "up.log"))
        (posted,) = (tmp_path / "csc" / "chat").glob("*-wecom-engineering.json")
        robot = json.loads(posted.read_text())
        assert robot["msgtype"] == "markdown"
        assert f"/cases/{case['case_id']}" in robot["markdown"]["content"]

        # capa dies: it is reported and started again with back-off; the others go on.
        capa = base + 2
        for exits, delay in ((1, "1s"), (2, "2s")):
            os.kill(_service_pid("capa", capa), signal.SIGKILL)
            wait_until(partial(_printed, tmp_path / "up.log", "capa exited", exits), 30)
            assert (
                f"capa exited with code -9; restarting it in {delay} (restart {exits} in a row)"
                in _read(tmp_path / "up.log")
            )
            assert marketing.post("/complaints", json=complaint(1 + exits)).status_code == 201
            assert marketing.get(f"http://127.0.0.1:{base + 3}/readyz").status_code == 200
            wait_until(partial(_printed, tmp_path / "up.log", "capa is up again", exits), 60)
            assert up.poll() is None
        assert marketing.get(f"http://127.0.0.1:{capa}/readyz").status_code == 200
        printed = _read(tmp_path / "up.log")
        assert "Stopping" not in printed and printed.count("capa restarted (pid ") == 2
        for service in ("intake", "returns", "sla"):
            assert f"{service} exited" not in printed
    finally:
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=90) == 0, _read(tmp_path / "up.log")
    assert "Stopped." in _read(tmp_path / "up.log")
    time.sleep(0.5)
    for port in range(base, base + 5):
        assert _free(port), f"port {port} still in use after csc up stopped"


def _service_pid(service: str, port: int) -> int:
    """The process serving ``service`` on ``port``, found by its command line."""
    wanted = [sys.executable, "-m", f"csc_{service}", "serve", "--port", str(port)]
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")[:-1]
        except (OSError, ValueError):
            continue
        if argv == wanted:
            return int(proc.name)
    raise AssertionError(f"no process serves {service} on port {port}")


def _printed(path: Path, text: str, times: int) -> bool:
    return _read(path).count(text) == times


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


def _quiet_base() -> int:
    """The first of the ports csc up takes (the console's below it, notify's after): under
    the kernel's ephemeral range, where neither another test's free_port() nor an outgoing
    connection takes one of them between this check and csc up's bind."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    while True:
        base = random.randrange(10_000, low - 10)
        if all(_free(base + i) for i in range(-1, 5)):
            return base


def _free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        # A port a stopped server leaves in TIME_WAIT is free; one still listening is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
