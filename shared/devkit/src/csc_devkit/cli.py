"""``csc``: run the whole system on this machine, and the chores around it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from csc_audit.cli import app as audit_app
from csc_contracts import PERSON_DEPARTMENTS, SERVICES, Department, Topics
from csc_devkit.catalog import app as catalog_app
from csc_devkit.mailcatcher import ChatCatcher, MailCatcher
from csc_devkit.processes import (
    CONSOLE_PORT,
    LOCAL_MANAGERS,
    LOCAL_USERS,
    SERVICE_PORTS,
    ServiceProcess,
    Supervisor,
    console_env,
    free_port,
)

app = typer.Typer(help="Customer Service Control, run locally.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(catalog_app, name="catalog")
app.add_typer(audit_app, name="audit")

DataDir = Annotated[
    Path, typer.Option(help="Where Kafka's logs and the services' stores are kept.")
]


@app.command()
def up(
    data_dir: DataDir = Path(".csc"),
    kafka_port: Annotated[int, typer.Option(help="Port of the local Kafka broker.")] = 9092,
    base_port: Annotated[
        int,
        typer.Option(help="intake listens here, returns, capa, sla and notify on the next ports."),
    ] = SERVICE_PORTS["intake"],
    fresh: Annotated[
        bool, typer.Option(help="Delete Kafka's data and every store first: start empty.")
    ] = False,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            help="Port of the local SMTP server notify sends through (its mails are kept "
            "under DATA_DIR/mail): 8025 by default, the next free one when that is taken."
        ),
    ] = None,
    chat_port: Annotated[
        int | None,
        typer.Option(
            help="Port of the local chat robots (WeCom, DingTalk, Feishu) notify posts to (each "
            "message kept under DATA_DIR/chat): 8026 by default, the next free one when taken."
        ),
    ] = None,
    console_port: Annotated[
        int | None,
        typer.Option(
            help=f"The console's port: {CONSOLE_PORT} by default (the port before intake's), "
            "the next free one when that is taken."
        ),
    ] = None,
) -> None:
    """Start Kafka, the five services and the console on embedded defaults; Ctrl-C stops them.

    A service that exits is reported and started again, after 1 s, then twice as
    long after each exit in a row (at most 30 s); the other services go on.

    Kafka is a real Apache Kafka broker from Maven Central's jars (cached after the
    first start), unless KAFKA_BOOTSTRAP_SERVERS names one already running.
    Kafka's data and the stores live together under DATA_DIR and are kept between
    runs, so they always match; --fresh starts both anew.

    notify sends its mails to a local SMTP server that keeps each under DATA_DIR/mail
    and prints its subject, and its chat messages to local robots that keep each under
    DATA_DIR/chat; every local user is in notify's directory, with a mailbox and their
    department's group robot.
    """
    from csc_devkit.localkafka import LocalKafka
    from csc_messaging.topology import ensure_topics

    data_dir = data_dir.resolve()
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    kafka: LocalKafka | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    processes: list[ServiceProcess] = []
    supervisor: Supervisor | None = None
    catcher: MailCatcher | None = None
    robots: ChatCatcher | None = None
    try:
        if bootstrap is None:
            typer.echo(f"Starting Apache Kafka on 127.0.0.1:{kafka_port} ...")
            kafka = LocalKafka(data_dir / "kafka", port=kafka_port)
            bootstrap = kafka.start()
        prefix = os.environ.get("CSC_TOPIC_PREFIX", "")
        created = asyncio.run(ensure_topics(bootstrap, Topics(prefix=prefix)))
        if created:
            typer.echo(f"Created topics: {', '.join(sorted(created))}")
        env = {
            "CSC_AUTH_HS256_SECRET": local_secret(data_dir),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CSC_DATA_DIR": str(data_dir / "stores"),
            "CSC_LOG_FORMAT": os.environ.get("CSC_LOG_FORMAT", "console"),
        }
        catcher = MailCatcher(data_dir / "mail", _free_or(smtp_port, 8025), typer.echo).start()
        robots = ChatCatcher(data_dir / "chat", _free_or(chat_port, 8026), typer.echo).start()
        console_at = _console_port(console_port, base_port)
        for service in SERVICES:
            process = ServiceProcess(
                service=service,
                port=base_port + SERVICE_PORTS[service] - SERVICE_PORTS["intake"],
                env=env
                if service != "notify"
                else {
                    **env,
                    "CSC_NOTIFY_SMTP_HOST": catcher.host,
                    "CSC_NOTIFY_SMTP_PORT": str(catcher.port),
                    "CSC_CONSOLE_URL": f"http://127.0.0.1:{console_at}",
                },
                log_path=data_dir / "logs" / f"{service}.log",
            )
            processes.append(process.start())
        console = ServiceProcess(
            service="console",
            port=console_at,
            env={**env, **console_env({p.service: p.url for p in processes})},
            log_path=data_dir / "logs" / "console.log",
        )
        processes.append(console.start())
        for process in processes:
            process.wait_ready()
        notify = next(p for p in processes if p.service == "notify")
        _local_directory(notify.url, env["CSC_AUTH_HS256_SECRET"], robots)
        typer.echo("")
        typer.echo("Customer Service Control is up.")
        typer.echo(f"  console      {console.url}/  (sign in as one of the users below)")
        typer.echo(f"               metrics {console.url}/metrics")
        typer.echo(f"  Kafka        {bootstrap}")
        for process in processes:
            if process is not console:
                typer.echo(
                    f"  {process.service:<12} {process.url}/docs  metrics {process.url}/metrics"
                )
        typer.echo(
            "  users        "
            + ", ".join(
                f"{u} ({d}{' manager' if u in LOCAL_MANAGERS else ''})"
                for u, d in LOCAL_USERS.items()
            )
        )
        typer.echo(f"  logs         {data_dir / 'logs'}")
        typer.echo(f"  stores       {data_dir / 'stores'}")
        typer.echo(
            f"  mail         smtp://{catcher.host}:{catcher.port}, kept in {catcher.directory}"
        )
        typer.echo(
            f"  chat         http://{robots.host}:{robots.port}/<robot>/<department>, "
            f"kept in {robots.directory}"
        )
        typer.echo("A token for curl: csc token --department marketing --user li.wei")
        typer.echo("Press Ctrl-C to stop.")
        # A service that dies is restarted with back-off and reported; the others and
        # Kafka go on.
        supervisor = Supervisor(processes, typer.echo)
        kafka_reported = False
        while not stop.wait(1):
            supervisor.poll()
            if kafka is not None and not kafka.is_running() and not kafka_reported:
                kafka_reported = True
                typer.echo(
                    f"Kafka exited (see {kafka.log_path}); the services wait for it: "
                    "press Ctrl-C and run csc up again",
                    err=True,
                )
    finally:
        typer.echo("Stopping ...")
        for process in reversed(supervisor.processes if supervisor else processes):
            process.stop()
        if kafka is not None:
            kafka.stop()
        if catcher is not None:
            catcher.stop()
        if robots is not None:
            robots.stop()
        typer.echo("Stopped.")


def _console_port(asked: int | None, base_port: int) -> int:
    if asked is not None:
        return asked
    return _free_or(None, base_port - (SERVICE_PORTS["intake"] - CONSOLE_PORT))


def _free_or(asked: int | None, default: int) -> int:
    """``asked``; else ``default`` when it is free, else any free port."""
    if asked is not None:
        return asked
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", default))
        except OSError:
            return free_port()
    return default


# Each department's group uses one of the robots Chinese plants use, so all three are seen.
_LOCAL_ROBOTS = {"marketing": "wecom", "after_sales": "dingtalk", "quality": "feishu"}


def _local_directory(notify_url: str, secret: str, robots: ChatCatcher) -> None:
    """Every local user in notify's directory, reached at <user>@csc.local (the mail
    catcher) and in their department's group (a local robot)."""
    import httpx

    from csc_messaging.auth import issue_token

    token = issue_token(secret, "csc-up", Department.MARKETING)
    with httpx.Client(base_url=notify_url, headers={"Authorization": f"Bearer {token}"}) as c:
        for user, department in LOCAL_USERS.items():
            if department == Department.AUDITOR.value:
                continue  # auditors read every history; nobody asks them to act
            body = {
                "name": user,
                "department": department,
                "email": f"{user}@csc.local",
                "chat": {
                    "kind": (kind := _LOCAL_ROBOTS.get(department, "wecom")),
                    "url": robots.url(kind, department),
                },
                "language": "zh-CN",
            }
            response = c.put(f"/recipients/{user}", json=body)
            response.raise_for_status()


def local_secret(data_dir: Path) -> str:
    """The HS256 secret of this data dir's tokens: CSC_AUTH_HS256_SECRET, or one made once."""
    given = os.environ.get("CSC_AUTH_HS256_SECRET")
    if given:
        return given
    path = data_dir / "auth-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _person_department(value: str) -> Department:
    from csc_messaging.auth import check_person_department

    try:
        return check_person_department(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def token(
    department: Annotated[
        Department,
        typer.Option(
            help="The department the user acts for: "
            + ", ".join(d.value for d in PERSON_DEPARTMENTS),
            # A person's department: `system` is the services' own, never a token's (clause 3).
            parser=_person_department,
            metavar="DEPARTMENT",
        ),
    ],
    user: Annotated[
        str, typer.Option(help="The user id (sub): letters, digits and . _ - @ + | :")
    ] = "local.user",
    manager: Annotated[
        bool,
        typer.Option(
            help="The user is their department's manager (the roles claim names `manager`): "
            "Marketing's and QC's managers set the SLA calendars and policy (clause 3)."
        ),
    ] = False,
    data_dir: DataDir = Path(".csc"),
    hours: Annotated[
        float,
        typer.Option(
            help="How long the token is valid; at most CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS."
        ),
    ] = 12,
) -> None:
    """Print a bearer token for the services started by `csc up` (local use)."""
    from datetime import timedelta

    from csc_messaging.auth import check_user_id, issue_token
    from csc_messaging.settings import ServiceSettings

    # The services refuse a token valid longer than their limit: do not issue one.
    limit = ServiceSettings().auth_max_token_lifetime_hours
    if not 0 < hours <= limit:
        raise typer.BadParameter(
            f"{hours:g} h: a token is valid for more than 0 and at most {limit:g} h "
            "(CSC_AUTH_MAX_TOKEN_LIFETIME_HOURS)",
            param_hint="--hours",
        )
    try:
        check_user_id(user)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--user") from exc
    secret = local_secret(data_dir.resolve())
    typer.echo(issue_token(secret, user, department, timedelta(hours=hours), manager=manager))


@topics_app.command("create")
def topics_create(
    bootstrap: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
    ] = "127.0.0.1:9092",
    prefix: Annotated[str, typer.Option(envvar="CSC_TOPIC_PREFIX")] = "",
    partitions: int = 3,
    replication_factor: int = 1,
) -> None:
    """Create every topic the system needs that does not exist yet."""
    from csc_messaging.topology import ensure_topics

    created = asyncio.run(
        ensure_topics(bootstrap, Topics(prefix=prefix), partitions, replication_factor)
    )
    typer.echo("\n".join(created) if created else "All topics exist.")


@app.command()
def replay(
    service: Annotated[str, typer.Argument(help="returns, capa or sla.")],
    wipe: Annotated[bool, typer.Option(help="Delete the service's store first.")] = False,
) -> None:
    """Rebuild a consuming service's store from offset 0 (settings from the environment)."""
    if service not in ("returns", "capa", "sla"):
        raise typer.BadParameter("only returns, capa and sla consume topics", param_hint="SERVICE")
    command = [sys.executable, "-m", f"csc_{service}", "replay"] + (["--wipe"] if wipe else [])
    with contextlib.suppress(KeyboardInterrupt):
        raise typer.Exit(subprocess.call(command))


if __name__ == "__main__":
    app()
