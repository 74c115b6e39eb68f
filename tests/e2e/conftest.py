"""Cross-service fixtures: the real broker, a real store, the services as processes.

Each test gets its own topic prefix and stores, so tests share one broker
without seeing each other's events. ``CSC_TEST_STORE=postgres`` runs every
service on PostgreSQL (one schema per service and test) instead of SQLite.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from csc_contracts import Topics
from csc_devkit.processes import ServiceProcess, console_env, free_port
from csc_messaging.topology import ensure_topics
from e2e.browser import CHROMIUM
from e2e.support import SECRET, auth

T = TypeVar("T")
STORE = os.environ.get("CSC_TEST_STORE", "sqlite")


@dataclass
class Stack:
    """The services of one test, on the shared broker, under the test's own topic prefix."""

    bootstrap: str
    prefix: str
    data_dir: Path
    store_env: dict[str, str]
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.prefix)

    def env(self, service: str, **extra: str) -> dict[str, str]:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "CSC_TOPIC_PREFIX": self.prefix,
            "CSC_DATA_DIR": str(self.data_dir),
            "CSC_LOG_FORMAT": "console",
            "CSC_AUTH_HS256_SECRET": SECRET,
            **self.store_env,
            **extra,
        }
        if self.store_env.get("CSC_STORE") == "postgres":
            env["CSC_POSTGRES_SCHEMA"] = re.sub(r"\W", "_", f"{self.prefix}{service}").lower()
        return env

    def auth(
        self, department: str, user: str | None = None, *, manager: bool = False
    ) -> dict[str, str]:
        return auth(department, user, manager=manager)

    def start(self, service: str, *, ready: bool = True, **extra_env: str) -> ServiceProcess:
        process = ServiceProcess(
            service=service,
            port=free_port(),
            env=self.env(service, **extra_env),
            log_path=self.data_dir / "logs" / f"{service}.log",
        ).start()
        self.processes.append(process)
        return process.wait_ready() if ready else process

    def start_console(self, *services: ServiceProcess, **extra_env: str) -> ServiceProcess:
        """The console, over ``services`` (the ones this test started), with the local users."""
        env = console_env({p.service: p.url for p in services}) | extra_env
        process = ServiceProcess(
            service="console",
            port=free_port(),
            env=self.env("console", **env),
            log_path=self.data_dir / "logs" / "console.log",
        ).start()
        self.processes.append(process)
        return process.wait_ready()

    def restart(self, process: ServiceProcess, **extra_env: str) -> ServiceProcess:
        """The same service, port and store, as a new process."""
        fresh = ServiceProcess(
            service=process.service,
            port=process.port,
            env=self.env(process.service, **extra_env),
            log_path=process.log_path,
        ).start()
        self.processes.append(fresh)
        return fresh.wait_ready()


@pytest.fixture(scope="session")
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if STORE == "sqlite":
        return {"CSC_STORE": "sqlite"}
    params: dict[str, Any] = request.getfixturevalue("postgres_params")
    return {
        "CSC_STORE": "postgres",
        "POSTGRES_HOST": str(params["host"]),
        "POSTGRES_PORT": str(params["port"]),
        "POSTGRES_USER": str(params["user"]),
        "POSTGRES_PASSWORD": str(params["password"]),
        "POSTGRES_DB": str(params["dbname"]),
    }


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also where a loop already runs (Playwright's sync API keeps one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@contextlib.contextmanager
def new_stack(bootstrap: str, store_env: dict[str, str], data_dir: Path) -> Iterator[Stack]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    run_async(ensure_topics(bootstrap, Topics(prefix=prefix)))
    the_stack = Stack(bootstrap=bootstrap, prefix=prefix, data_dir=data_dir, store_env=store_env)
    try:
        yield the_stack
    finally:
        for process in reversed(the_stack.processes):
            process.stop()


@pytest.fixture
def stack(kafka_bootstrap: str, store_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    """Services of one test."""
    with new_stack(kafka_bootstrap, store_env, tmp_path) as the_stack:
        yield the_stack


@pytest.fixture(scope="module")
def module_stack(
    kafka_bootstrap: str, store_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Services shared by the tests of one module (each test keeps to its own cases)."""
    with new_stack(kafka_bootstrap, store_env, tmp_path_factory.mktemp("stack")) as the_stack:
        yield the_stack


# ---- the console in a real browser (the tests marked browser) ----


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./dev test installs Debian's chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="module")
def console(module_stack: Stack) -> Iterator[tuple[ServiceProcess, dict[str, ServiceProcess]]]:
    services = {s: module_stack.start(s) for s in ("intake", "returns", "capa", "sla")}
    yield module_stack.start_console(*services.values()), services
