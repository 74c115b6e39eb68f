"""A throwaway PostgreSQL server from the host's binaries, for machines without Docker."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from csc_devkit.localkafka import free_port

__all__ = [
    "LocalPostgres",
    "LocalPostgresError",
    "PgParams",
    "create_database",
    "find_pg_bindir",
    "pg_dsn",
]

log = logging.getLogger(__name__)

# Unix socket paths are limited to 107 bytes; ".s.PGSQL.65535" takes 14 of them.
_MAX_SOCKET_DIR = 90


class PgParams(TypedDict):
    """Connection parameters; ``psycopg.connect(**params)`` accepts them as they are."""

    host: str
    port: int
    user: str
    password: str
    dbname: str


class LocalPostgresError(RuntimeError):
    """The local PostgreSQL server could not be found, initialised or started."""


def _version_key(path: Path) -> tuple[int, ...]:
    # The parent of bin/ is the major version in Debian's layout (e.g. 15, 9.6).
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_pg_bindir() -> Path:
    """Directory with ``initdb`` and ``pg_ctl``: ``$CSC_PG_BINDIR``, else the highest
    ``/usr/lib/postgresql/*/bin``, else wherever ``pg_ctl`` is on ``PATH``."""
    override = os.environ.get("CSC_PG_BINDIR")
    candidates: list[Path] = [Path(override)] if override else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise LocalPostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin "
        "or on PATH; install Debian's postgresql package (apt-get install postgresql) "
        "or set CSC_PG_BINDIR"
    )


def pg_dsn(params: PgParams) -> str:
    """The parameters as a libpq connection string."""
    return make_conninfo(**params)


_running: weakref.WeakSet[LocalPostgres] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.stop()


class LocalPostgres:
    """initdb + pg_ctl on a loopback port, with a password-protected superuser.

    Without ``data_dir`` a temp dir is created and deleted by stop(). With one, the
    cluster lives in ``data_dir/pgdata`` and survives restarts. When running as root the
    server runs as the ``postgres`` OS user (initdb refuses root) and ``data_dir`` is
    chowned to it, so its parents must be traversable by that user.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        *,
        user: str = "csc",
        password: str = "csc",
        dbname: str = "csc",
        bindir: Path | None = None,
    ) -> None:
        self._owns_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._requested_port = port
        self.port: int | None = port
        self.user = user
        self.password = password
        self.dbname = dbname
        self._bindir = bindir
        self._started = False
        self._socket_dir: Path | None = None

    @property
    def pgdata(self) -> Path:
        return self._dir / "pgdata"

    @property
    def log_path(self) -> Path:
        return self._dir / "postgres.log"

    @property
    def params(self) -> PgParams:
        if self.port is None or not self._started:
            raise LocalPostgresError("the server has not been started")
        return PgParams(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
        )

    @property
    def _dir(self) -> Path:
        if self.data_dir is None:
            raise LocalPostgresError("the server has not been started")
        return self.data_dir

    def start(self, timeout: float = 60) -> PgParams:
        """initdb if needed, start the server, create the database; returns its params."""
        if self._started:
            return self.params
        bindir = self._bindir or find_pg_bindir()
        owner = self._server_owner()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="csc-pg-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._socket_dir = self._choose_socket_dir()
        if owner is not None:
            self._hand_over(owner)

        if not (self.pgdata / "PG_VERSION").is_file():
            self._initdb(bindir)
        self.port = self._requested_port or free_port()
        self._write_settings()
        result = self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 30,
        )
        if result.returncode != 0:
            raise LocalPostgresError(
                f"pg_ctl start failed (exit {result.returncode}): {result.stdout.strip()}\n"
                f"tail of {self.log_path}:\n{self._log_tail()}"
            )
        self._started = True
        _running.add(self)
        try:
            if self.dbname != "postgres":
                create_database({**self.params, "dbname": "postgres"}, self.dbname)
        except BaseException:
            self.stop()
            raise
        return self.params

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; deletes the data dir if start() created it."""
        if self._started and self.data_dir is not None:
            bindir = self._bindir or find_pg_bindir()
            result = self._run(
                [str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
                timeout=90,
            )
            if result.returncode != 0:
                log.warning("pg_ctl stop failed: %s", result.stdout.strip())
        self._started = False
        _running.discard(self)
        if self._owns_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
        if self._socket_dir is not None and self._socket_dir.name.startswith("csc-pgsock-"):
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        self._socket_dir = None

    def _server_owner(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        if _runuser() is None:
            raise LocalPostgresError(
                "running as root needs runuser (util-linux) to drop to postgres"
            )
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            raise LocalPostgresError(
                "running as root, but there is no 'postgres' OS user to run the server as "
                "(initdb refuses root); install Debian's postgresql package or run as non-root"
            ) from None

    def _hand_over(self, owner: pwd.struct_passwd) -> None:
        for path in (self._dir, *self._dir.rglob("*")):
            os.chown(path, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
        if self._socket_dir is not None and self._socket_dir != self._dir:
            os.chown(self._socket_dir, owner.pw_uid, owner.pw_gid)
        probe = subprocess.run(
            [_runuser() or "runuser", "-u", owner.pw_name, "--", "test", "-w", str(self._dir)],
            capture_output=True,
            check=False,
        )
        if probe.returncode != 0:
            raise LocalPostgresError(
                f"the postgres OS user cannot write {self._dir}: one of its parent directories "
                f"is not traversable by it (pick a data_dir under /tmp)"
            )

    def _choose_socket_dir(self) -> Path:
        preferred = self._dir / "run"
        if len(str(preferred)) <= _MAX_SOCKET_DIR:
            preferred.mkdir(exist_ok=True)
            return preferred
        return Path(tempfile.mkdtemp(prefix="csc-pgsock-"))

    def _initdb(self, bindir: Path) -> None:
        pwfile = self._dir / ".pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        owner = self._server_owner()
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        try:
            result = self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise LocalPostgresError(f"initdb failed (exit {result.returncode}):\n{result.stdout}")

    def _write_settings(self) -> None:
        # Rewritten on every start so a reused cluster follows the current port; kept in
        # its own file so postgresql.conf is only touched once.
        conf = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'csc.conf'"
        if include not in conf.read_text():
            with conf.open("a") as handle:
                handle.write(f"\n{include}\n")
        socket_dir = str(self._socket_dir).replace("'", "''")
        settings = self.pgdata / "csc.conf"
        settings.write_text(
            f"listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            # Durability buys nothing for a throwaway dev/test cluster and costs speed.
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
        )
        owner = self._server_owner()
        if owner is not None:
            os.chown(settings, owner.pw_uid, owner.pw_gid)

    def _run(self, command: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        owner = self._server_owner()
        argv = list(command)
        if owner is not None:
            argv = [_runuser() or "runuser", "-u", owner.pw_name, "--", *argv]
        try:
            return subprocess.run(
                argv,
                cwd=self._dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise LocalPostgresError(f"{argv[0]} timed out after {timeout:.0f}s") from exc

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

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
        return f"LocalPostgres({str(self.data_dir)!r}, port={self.port}, started={self._started})"


def create_database(params: PgParams, name: str) -> PgParams:
    """Create database ``name`` unless it exists; returns ``params`` pointing at it.

    Connects with ``params`` as given, so they must name an existing database.
    """
    with psycopg.connect(**params, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            # Another process may have won the race since the check.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return PgParams(
        host=params["host"],
        port=params["port"],
        user=params["user"],
        password=params["password"],
        dbname=name,
    )


def _runuser() -> str | None:
    """util-linux's runuser: in /usr/sbin, which a non-login root shell may not have on PATH."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which("runuser", path=path)
