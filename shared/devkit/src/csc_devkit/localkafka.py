"""A real single-node Apache Kafka (KRaft, broker+controller) from Maven Central jars.

Used where no Docker engine is available: the jars are fetched once with Maven into a
per-version cache and the broker runs as a plain JVM subprocess bound to loopback.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAlreadyExistsError

__all__ = [
    "KAFKA_VERSION",
    "LocalKafka",
    "LocalKafkaError",
    "ToolchainError",
    "cache_dir",
    "ensure_jars",
    "free_port",
    "java_executable",
]

KAFKA_VERSION = "4.1.1"
MIN_JAVA_MAJOR = 17

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Written into the libs dir last, so a libs dir without it (or with another pom's
# digest) is never trusted.
_STAMP_FILE = ".csc-pom.sha256"
_PR_SET_PDEATHSIG = 1
_TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno

_LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:csc.log.level:-info}
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = warn
"""


class LocalKafkaError(RuntimeError):
    """The local broker could not be provisioned, started or reached."""


class ToolchainError(LocalKafkaError):
    """Java or Maven is missing or too old."""


def cache_dir() -> Path:
    """Root of the devkit cache: ``$CSC_CACHE_DIR``, else ``$XDG_CACHE_HOME/csc``, else
    ``~/.cache/csc``."""
    override = os.environ.get("CSC_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "csc"


def _java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise ToolchainError(
            f"java not found (JAVA_HOME unset or invalid, none on PATH); Kafka needs "
            f"Java {MIN_JAVA_MAJOR}+ (Debian: apt-get install openjdk-17-jre-headless)"
        )
    return found


def _parse_java_major(version_output: str) -> int | None:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report themselves as "1.x".
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


@functools.cache
def _checked_java(java: str) -> str:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolchainError(f"could not run {java} -version: {exc}") from exc
    major = _parse_java_major(out.stderr + out.stdout)
    if major is None:
        raise ToolchainError(f"could not parse the output of {java} -version: {out.stderr!r}")
    if major < MIN_JAVA_MAJOR:
        raise ToolchainError(
            f"{java} is Java {major}; Kafka needs Java {MIN_JAVA_MAJOR}+ "
            f"(set JAVA_HOME or put a newer java first on PATH)"
        )
    return java


def java_executable() -> str:
    """Path of a ``java`` that is at least Java 17 (``$JAVA_HOME`` first, then ``PATH``)."""
    return _checked_java(_java_executable())


def _pom_resource() -> Traversable:
    return resources.files("csc_devkit").joinpath("kafka").joinpath("pom.xml")


def _jars_ready(libs: Path, version: str, stamp: str) -> bool:
    try:
        return (libs / _STAMP_FILE).read_text().strip() == stamp and (
            libs / f"kafka_2.13-{version}.jar"
        ).is_file()
    except OSError:
        return False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_jars(version: str = KAFKA_VERSION) -> Path:
    """Return the directory holding every runtime jar of Kafka ``version``.

    The first call per version runs Maven against the bundled pom; later calls return the
    cached directory at once. The download lands in a temp dir that is renamed into place
    only when complete, and a file lock serialises concurrent callers (pytest-xdist).
    """
    version_dir = cache_dir() / "kafka" / version
    libs = version_dir / "libs"
    pom = _pom_resource().read_bytes()
    stamp = hashlib.sha256(pom + version.encode()).hexdigest()
    if _jars_ready(libs, version, stamp):
        return libs

    version_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(version_dir / ".lock"):
        if _jars_ready(libs, version, stamp):
            return libs
        java_executable()
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ToolchainError(
                "mvn not found on PATH; it is needed once to fetch the Kafka jars from "
                "Maven Central (Debian: apt-get install maven)"
            )
        # Under the lock nobody else is downloading, so leftovers are from killed runs.
        for stale in version_dir.glob(".libs-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in version_dir.glob(".old-*"):
            shutil.rmtree(stale, ignore_errors=True)

        tmp = version_dir / f".libs-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            started = time.monotonic()
            log.info("fetching Kafka %s jars with Maven into %s", version, libs)
            with resources.as_file(_pom_resource()) as pom_path:
                result = subprocess.run(
                    [
                        mvn,
                        "-B",
                        "-q",
                        "-Dstyle.color=never",
                        "dependency:copy-dependencies",
                        "-DincludeScope=runtime",
                        f"-DoutputDirectory={tmp}",
                        f"-Dkafka.version={version}",
                        "-f",
                        str(pom_path),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                    check=False,
                    preexec_fn=_child_watchdog(os.getpid()),
                )
            if result.returncode != 0:
                output = (result.stdout + result.stderr).strip()
                raise LocalKafkaError(
                    f"mvn failed to fetch Kafka {version} (exit {result.returncode}):\n"
                    f"{_tail_text(output, 40)}"
                )
            if not (tmp / f"kafka_2.13-{version}.jar").is_file():
                raise LocalKafkaError(f"mvn finished but kafka_2.13-{version}.jar is missing")
            (tmp / _STAMP_FILE).write_text(stamp + "\n")
            if libs.exists():
                retired = version_dir / f".old-{uuid.uuid4().hex}"
                libs.rename(retired)
                shutil.rmtree(retired, ignore_errors=True)
            tmp.rename(libs)
            log.info("fetched Kafka %s jars in %.1fs", version, time.monotonic() - started)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return libs


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    # All sockets stay open until every port is chosen, so the ports are distinct.
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _random_cluster_id() -> str:
    # Kafka's Uuid.randomUuid() rules: 22 url-safe base64 chars, never a leading "-"
    # (the CLI would read it as an option), never the all-zero id.
    while True:
        raw = uuid.uuid4().bytes
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if not text.startswith("-") and any(raw):
            return text


def _tail_text(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _read_tail(path: Path, offset: int, lines: int = 60) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return f"(no log at {path})"
    return _tail_text(data.decode(errors="replace"), lines)


_BIND_ERROR = b"java.net.BindException"


def _scan_for_bind_error(path: Path, position: int) -> tuple[int, bool]:
    """Look for a bind failure in the log past ``position``; returns the new position."""
    try:
        with path.open("rb") as handle:
            handle.seek(position)
            chunk = handle.read()
    except OSError:
        return position, False
    if _BIND_ERROR in chunk:
        return position + len(chunk), True
    # Re-read a little next time in case the marker straddles two reads.
    return max(position, position + len(chunk) - len(_BIND_ERROR)), False


def _run_in_own_loop(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    # A private thread keeps asyncio.run from replacing or closing whatever event loop
    # the caller's thread has (pytest-asyncio keeps a session loop there).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csc-kafka-probe") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def _probe(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=2000, client_id="csc-devkit-probe"
    )
    try:
        await admin.start()
        await admin.list_topics()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()


def _child_watchdog(parent_pid: int) -> Callable[[], None] | None:
    # PDEATHSIG fires when the *thread* that forked the child exits, so it is only
    # safe from the main thread; elsewhere we rely on stop()/atexit.
    prctl = _PRCTL
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent may have died between fork and prctl; then nobody would signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return setup


_running: weakref.WeakSet[LocalKafka] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for broker in list(_running):
        with contextlib.suppress(Exception):
            broker.stop()


class LocalKafka:
    """One KRaft node acting as broker and controller, bound to 127.0.0.1.

    ``data_dir`` holds server.properties, kafka.log and the log dirs; reusing a dir keeps
    topics and offsets across restarts. ``port`` and ``controller_port`` default to free
    ports picked at start(). ``config`` overrides or extends server.properties.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        *,
        version: str = KAFKA_VERSION,
        heap_max: str = "768m",
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.version = version
        self.heap_max = heap_max
        self._requested_port = port
        self._requested_controller_port = controller_port
        self._extra_config = dict(config or {})
        self._port: int | None = port
        self._controller_port: int | None = controller_port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise LocalKafkaError("port is chosen at start(); the broker has not started")
        return self._port

    @property
    def controller_port(self) -> int:
        if self._controller_port is None:
            raise LocalKafkaError("port is chosen at start(); the broker has not started")
        return self._controller_port

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def server_properties(self) -> dict[str, str]:
        """The broker configuration start() writes (ports must be known)."""
        port, ctrl = self.port, self.controller_port
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{ctrl}",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            # The default of 50 partitions per internal topic makes the first consumer
            # group and the first transaction noticeably slower on a laptop.
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.num.partitions": "10",
        }
        if _major(self.version) >= 4:
            props |= {
                "share.coordinator.state.topic.replication.factor": "1",
                "share.coordinator.state.topic.min.isr": "1",
                "share.coordinator.state.topic.num.partitions": "10",
            }
        props |= self._extra_config
        return props

    def start(self, timeout: float = 90) -> str:
        """Start the broker (fetching jars if needed) and return its bootstrap address.

        Blocks until an admin client can list topics, for at most ``timeout`` seconds
        after the JVM is launched.
        """
        if self.is_running():
            return self.bootstrap_servers
        libs = ensure_jars(self.version)
        java = java_executable()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Only ports we picked ourselves can be swapped for others after losing a race.
        auto_ports = self._requested_port is None and self._requested_controller_port is None
        attempts = 3 if auto_ports else 1
        for attempt in range(1, attempts + 1):
            self._choose_ports()
            try:
                return self._start_once(java, libs, timeout)
            except _PortClash as clash:
                if attempt == attempts:
                    raise LocalKafkaError(
                        f"port {self._port} or {self._controller_port} is taken; tail of "
                        f"{self.log_path}:\n{clash}"
                    ) from None
                log.info("port clash on attempt %d, retrying with new ports", attempt)
        raise AssertionError("unreachable")

    def _choose_ports(self) -> None:
        wanted = [self._requested_port, self._requested_controller_port]
        fresh = iter(_free_ports(sum(p is None for p in wanted)))
        self._port = self._requested_port or next(fresh)
        self._controller_port = self._requested_controller_port or next(fresh)

    def _java_base(self, java: str, libs: Path, log4j_config: Path) -> list[str]:
        return [
            java,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j_config}",
            "-cp",
            f"{libs}{os.sep}*",
        ]

    def _start_once(self, java: str, libs: Path, timeout: float) -> str:
        props_path = self.data_dir / "server.properties"
        props_path.write_text(
            "".join(f"{key}={value}\n" for key, value in self.server_properties().items())
        )
        log4j_config = self.data_dir / "log4j2.properties"
        log4j_config.write_text(_LOG4J2_PROPERTIES)
        base = self._java_base(java, libs, log4j_config)

        if self._formatted_cluster_id() is None:
            self._format_storage(base, props_path)

        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [
            *base[:1],
            "-Xms256m",
            f"-Xmx{self.heap_max}",
            "-XX:+ExitOnOutOfMemoryError",
            *base[1:],
            "kafka.Kafka",
            str(props_path),
        ]
        with self.log_path.open("ab") as log_file:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=_child_watchdog(os.getpid()),
            )
        _running.add(self)
        try:
            self._wait_ready(timeout, log_offset)
        except _PortClash:
            self.stop(timeout=1)
            raise
        except BaseException:
            self.stop()
            raise
        return self.bootstrap_servers

    def _formatted_cluster_id(self) -> str | None:
        # Formatting again would need the original cluster id, and a restart on the same
        # data_dir should keep topics and offsets, so a formatted dir is left as is.
        try:
            text = (self.data_dir / "logs" / "meta.properties").read_text()
        except OSError:
            return None
        match = re.search(r"^cluster\.id=(\S+)", text, re.MULTILINE)
        return match.group(1) if match else None

    def _format_storage(self, base: list[str], props_path: Path) -> None:
        fmt = subprocess.run(
            [
                *base[:1],
                "-Xmx256m",
                "-Dcsc.log.level=warn",
                *base[1:],
                "kafka.tools.StorageTool",
                "format",
                "-t",
                _random_cluster_id(),
                "-c",
                str(props_path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if fmt.returncode != 0:
            raise LocalKafkaError(
                f"kafka-storage format failed (exit {fmt.returncode}):\n"
                f"{_tail_text((fmt.stdout + fmt.stderr).strip(), 40)}"
            )

    def _wait_ready(self, timeout: float, log_offset: int) -> None:
        proc = self._proc
        assert proc is not None
        bootstrap = self.bootstrap_servers
        deadline = time.monotonic() + timeout
        scanned = log_offset
        while True:
            # A bind failure is fatal, but the JVM then spends ~10s in an orderly
            # shutdown; spotting it in the log lets start() move on at once.
            scanned, clash = _scan_for_bind_error(self.log_path, scanned)
            code = proc.poll()
            if clash or code is not None:
                tail = _read_tail(self.log_path, log_offset)
                if clash:
                    raise _PortClash(tail)
                raise LocalKafkaError(
                    f"Kafka exited with code {code} during start-up; tail of "
                    f"{self.log_path}:\n{tail}"
                )
            # A bare connect first: aiokafka logs every refused connection at ERROR.
            if _accepts_connections(self.port) and _run_in_own_loop(lambda: _probe(bootstrap)):
                return
            if time.monotonic() > deadline:
                raise LocalKafkaError(
                    f"Kafka did not become ready within {timeout:.0f}s; tail of "
                    f"{self.log_path}:\n{_read_tail(self.log_path, log_offset)}"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the broker's process group, SIGKILL it after ``timeout`` seconds."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kafka did not stop within %.0fs; killing it", timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._proc = None
        _running.discard(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.is_running() else "stopped"
        return f"LocalKafka({str(self.data_dir)!r}, port={self._port}, {state})"


class _PortClash(Exception):
    pass


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0
