"""What a run provides its cases: sizes, a work dir, Kafka, PostgreSQL, processes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.harness import python_module
from csc_devkit import fixtures
from csc_devkit.localpg import PgParams
from csc_devkit.processes import ServiceProcess, free_port


@dataclass(frozen=True)
class Sizes:
    rate: float = 300.0
    warmup_s: float = 5.0
    load_s: float = 30.0
    saturation_s: float = 20.0
    concurrency: int = 16
    replay_events: int = 1_000_000
    store_saves: int = 3_000
    store_batches: int = 100
    batch_size: int = 100
    clocks: int = 100_000
    read_cases: int = 1_000_000
    console_cases: int = 10_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            warmup_s=2.0,
            load_s=10.0,
            saturation_s=8.0,
            replay_events=50_000,
            store_saves=1_000,
            store_batches=30,
            clocks=10_000,
            read_cases=50_000,
            console_cases=2_000,
        )


@dataclass
class Shared:
    """What outlives a case: the broker, the database, the notes."""

    resources: contextlib.ExitStack
    notes: list[str] = field(default_factory=list)
    bootstrap: str | None = None
    postgres: PgParams | None = None


@dataclass
class Context:
    sizes: Sizes
    workdir: Path
    shared: Shared
    stack: contextlib.ExitStack  # the case's own processes, stopped when the case ends

    @property
    def notes(self) -> list[str]:
        return self.shared.notes

    def kafka(self) -> str:
        """A broker for the run: $KAFKA_BOOTSTRAP_SERVERS, else the devkit's local Kafka."""
        if self.shared.bootstrap is None:
            say("starting Kafka")
            self.shared.bootstrap = self.shared.resources.enter_context(fixtures.kafka_bootstrap())
        return self.shared.bootstrap

    def postgres(self) -> PgParams:
        """A server for the run: $POSTGRES_HOST, else the devkit's local PostgreSQL."""
        if self.shared.postgres is None:
            say("starting PostgreSQL")
            self.shared.postgres = self.shared.resources.enter_context(fixtures.postgres_params())
        return self.shared.postgres

    def prefix(self, case: str) -> str:
        """A topic prefix of the case's own, so runs on one broker never meet."""
        return f"bench{uuid.uuid4().hex[:8]}.{case}."

    def dir(self, *parts: str) -> Path:
        path = self.workdir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def service(self, service: str, prefix: str, data_dir: Path, **env: str) -> ServiceProcess:
        """One of the system's services as its own process, on SQLite under ``data_dir``."""
        process = ServiceProcess(
            service=service,
            port=free_port(),
            env={
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka(),
                "CSC_TOPIC_PREFIX": prefix,
                "CSC_DATA_DIR": str(data_dir),
                "CSC_STORE": "sqlite",
                "CSC_LOG_FORMAT": "console",
                **env,
            },
            log_path=data_dir / "logs" / f"{service}.log",
        ).start()
        self.stack.callback(process.stop)
        return process.wait_ready(timeout=120)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Server:
    """A process that answers HTTP on a port of its own (the bench's baselines)."""

    def __init__(self, module: str, args: list[str], log_path: Path) -> None:
        self.port = free_port()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                python_module(module, "--port", str(self.port), *args),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, path: str = "/healthz", timeout: float = 60) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log_path.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        raise TimeoutError(f"no answer from {self.url}{path} after {timeout}s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_worker(
    module: str,
    spec: dict[str, Any],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> tuple[dict[str, Any], float]:
    """Run ``python -m module '<spec>'`` (or with ``argv``); its last stdout line (JSON)
    and its peak RSS (MiB)."""
    proc = subprocess.Popen(
        python_module(module, *(argv if argv is not None else [json.dumps(spec)])),
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        output = proc.stdout.read()
    finally:
        proc.stdout.close()
        # wait4, not wait: it returns the child's own peak RSS (ru_maxrss, KiB).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        killer.cancel()
    if proc.returncode != 0:
        raise RuntimeError(f"{module} exited with {proc.returncode} (budget {timeout:.0f}s)")
    lines = [line for line in output.decode().splitlines() if line.strip()]
    report: dict[str, Any] = json.loads(lines[-1])
    return report, usage.ru_maxrss / 1024


def poll(probe: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(interval)
    return False
