"""``csc audit timeline | as-of | export | forms | verify-bundle``: replay for auditors.

They read Kafka only (``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL`` ...
and ``CSC_TOPIC_PREFIX``, as the services do), from offset 0 to the end as it
stands when the read begins, never a service's database. One exception, asked for by
name: ``timeline --sla URL`` also reads each of the case's clocks' SLA timeline from
sla's HTTP API (``GET /clocks/{id}/timeline``, with the auditor's token), the
segments with the rule that counted each, as sla computes them from the clock's
own events. Long reads show
progress bars on the terminal (stderr); ``--json`` prints what a program reads.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from csc_audit.app import app
from csc_audit.chain_commands import check_bundle
from csc_audit.export import (
    case_timeline,
    export_case,
    export_month,
    field_service_document,
    register_document,
)
from csc_audit.history import KafkaHistory, NoProgress, ReadProgress, parse_time
from csc_audit.register_forms import Period, Selection
from csc_audit.timeline import ServiceState, TimelineEntry, as_of, clocks_as_of
from csc_messaging.settings import ServiceSettings

T = TypeVar("T")

forms_app = typer.Typer(
    help="The register's forms from csc.intake.v1: att. 3 (register) and att. 2 (field service).",
    no_args_is_help=True,
)
app.add_typer(forms_app, name="forms")

CaseArg = Annotated[str, typer.Argument(help="The case id (a UUID), as every event carries it.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ShowProgress = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress", help="Progress bars on stderr; by default when it is a tty."
    ),
]
Month = Annotated[str | None, typer.Option(help="A calendar month, YYYY-MM (UTC).")]
Since = Annotated[datetime | None, typer.Option("--from", help="First day (YYYY-MM-DD).")]
Until = Annotated[datetime | None, typer.Option("--to", help="Last day, included.")]
Day = Annotated[datetime | None, typer.Option("--date", help="One day (YYYY-MM-DD).")]
OutDir = Annotated[Path, typer.Option("--out", help="Directory the documents are written to.")]


# Reading, with progress ----------------------------------------------------------------------


class RichProgress:
    """One bar per topic, counting its offsets."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, topic: str, total: int) -> None:
        self._tasks[topic] = self._progress.add_task(f"reading {topic}", total=max(total, 1))

    def advance(self, topic: str, records: int) -> None:
        self._progress.advance(self._tasks[topic], records)

    def finish(self, topic: str) -> None:
        task = self._tasks[topic]
        total = self._progress.tasks[task].total
        self._progress.update(task, completed=total)


@contextmanager
def _reading(show: bool | None) -> Iterator[KafkaHistory]:
    settings = ServiceSettings()
    console = Console(stderr=True)
    if show is None:
        show = console.is_terminal
    progress: ReadProgress = NoProgress()
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    )
    with bars:
        if show:
            progress = RichProgress(bars)
        history = KafkaHistory(settings.kafka, settings.topics, progress)
        yield history
    for topic in history.missing:
        typer.echo(f"warning: topic {topic} does not exist; read as empty", err=True)


def _run(work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await work()

    return asyncio.run(main())


def _case(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise typer.BadParameter(f"not a case id: {value!r} (a UUID)") from None


def _moment(value: str) -> datetime:
    moment = parse_time(value)
    if moment is None:
        raise typer.BadParameter(
            f"{value!r}: an ISO 8601 time with its time zone, e.g. 2026-11-24T08:00:00Z"
        )
    return moment


def _period(month: str | None, since: datetime | None, until: datetime | None,
            day: datetime | None) -> Period:  # fmt: skip
    given = [x for x in (month, since or until, day) if x]
    if len(given) != 1:
        raise typer.BadParameter("give one of --month, --date, or --from with --to")
    try:
        if month:
            return Period.month(month)
        if day:
            return Period.day(day.date())
        if not (since and until):
            raise typer.BadParameter("--from and --to go together")
        return Period(since.date(), until.date())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds") if moment else ""


# Commands ------------------------------------------------------------------------------------


SlaUrl = Annotated[
    str | None,
    typer.Option(
        "--sla",
        envvar="CSC_SLA_URL",
        help="sla's base URL: also show each clock's SLA timeline (segments and the rule "
        "that counted each), read from sla's GET /clocks/{id}/timeline.",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="CSC_TOKEN", help="The bearer token sla is read with (with --sla)."
    ),
]


@app.command()
def timeline(
    case: CaseArg,
    as_json: AsJson = False,
    progress: ShowProgress = None,
    sla: SlaUrl = None,
    token: Token = None,
) -> None:
    """The whole story of one case across the four services, in order.

    Time, service, event, actor (user and department), the fields the event
    recorded and the reason given. The order: each service's own, interleaved by
    time, an effect never before its cause (see csc_audit.timeline). With ``--sla``,
    then each clock's SLA timeline: started, paused, resumed, out of working hours,
    warned, breached, met, each stretch of time with the rule that counted it.
    """
    case_id = _case(case)
    if sla and not sla.startswith(("http://", "https://")):
        raise typer.BadParameter(
            f"{sla!r}: sla's base URL, http:// or https://", param_hint="--sla"
        )
    if sla and not token:
        raise typer.BadParameter("sla is read with a token: give --token or CSC_TOKEN")
    with _reading(progress) as history:
        entries = _run(lambda: case_timeline(history, case_id))
    clocks = _sla_timelines(sla, token, entries) if sla and token else None
    if as_json:
        told: dict[str, Any] = {"case_id": case_id, "timeline": [e.to_json() for e in entries]}
        if clocks is not None:
            told["clocks"] = clocks
        _echo_json(told)
        return
    if not entries:
        typer.echo(f"no events of case {case_id}", err=True)
        raise typer.Exit(1)
    _print_timeline(case_id, entries)
    for clock_id, clock in (clocks or {}).items():
        _print_sla_timeline(clock_id, clock)


def _sla_timelines(sla: str, token: str, entries: list[TimelineEntry]) -> dict[str, dict[str, Any]]:
    """Each clock the case's ClockStarted names, its SLA timeline as sla tells it."""
    found: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.service == "sla" and e.event == "ClockStarted" and e.fields.get("clock_id"):
            clock_id = str(e.fields["clock_id"])
            url = f"{sla.rstrip('/')}/clocks/{clock_id}/timeline"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    told = json.load(answer)
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:500]
                typer.echo(f"sla answered {exc.code} for {url}: {detail}", err=True)
                raise typer.Exit(1) from None
            except (urllib.error.URLError, OSError) as exc:
                typer.echo(f"sla could not be read at {url}: {exc}", err=True)
                raise typer.Exit(1) from None
            found[clock_id] = {"clock": e.fields.get("clock"), **told}
    return found


def _print_sla_timeline(clock_id: str, clock: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 160))
    moments = Table(title=f"SLA timeline: {clock['clock']} clock {clock_id}", expand=True)
    moments.add_column("time (UTC)", no_wrap=True)
    moments.add_column("event", no_wrap=True)
    moments.add_column("rule", ratio=3, overflow="fold")
    for m in clock["moments"]:
        moments.add_row(_clock(parse_time(m["at"])), m["event"], m["rule"])
    console.print(moments)
    segments = Table(
        title=f"counted {clock['counted_hours']:g} h up to {clock['until']}", expand=True
    )
    segments.add_column("from (UTC)", no_wrap=True)
    segments.add_column("to (UTC)", no_wrap=True)
    segments.add_column("state", no_wrap=True)
    segments.add_column("hours", no_wrap=True, justify="right")
    segments.add_column("why", ratio=2, overflow="fold")
    segments.add_column("rule", ratio=2, overflow="fold")
    for s in clock["segments"]:
        segments.add_row(
            _clock(parse_time(s["start"])), _clock(parse_time(s["end"])), s["state"],
            f"{s['hours']:.2f}", "; ".join(s["why"]), s["rule"],
        )  # fmt: skip
    console.print(segments)


def _print_timeline(case_id: str, entries: list[TimelineEntry]) -> None:
    table = Table(title=f"Case {case_id}", show_lines=True, expand=True)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("service", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("actor", no_wrap=True)
    table.add_column("fields", ratio=3, overflow="fold")
    table.add_column("reason", ratio=1, overflow="fold")
    for e in entries:
        fields = "\n".join(
            f"{k}: {_cell(v)}" for k, v in e.fields.items() if v not in (None, "", [], {})
        )
        event = e.event + (f"\n! {e.problem}" if e.problem else "")
        table.add_row(_clock(e.at), e.service, event, e.actor, fields, e.reason or "")
    Console(width=max(Console().width, 160)).print(table)


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if moment else ""


@app.command("as-of")
def as_of_command(
    case: CaseArg,
    at: Annotated[str, typer.Option(help="The moment, ISO 8601 with zone: 2026-11-24T08:00Z.")],
    as_json: AsJson = False,
    progress: ShowProgress = None,
) -> None:
    """The state of the case in each service, and of each of its clocks, at a moment.

    In the time things happened (received, replied, arrived; a clock's start, pause,
    deadlines and meeting), not the time they were recorded: per service, and per
    clock, the fold of the events that happened by then: stage (the last event), the
    latest value of every field, how many events.
    """
    case_id, moment = _case(case), _moment(at)
    with _reading(progress) as history:
        entries = _run(lambda: case_timeline(history, case_id))
    states = as_of(entries, moment)
    clocks = clocks_as_of(entries, moment)
    if as_json:
        _echo_json(
            {
                "case_id": case_id,
                "at": _when(moment),
                "services": {s: state.to_json() for s, state in states.items()},
                "clocks": {kind: state.to_json() for kind, state in clocks.items()},
            }
        )
        return
    console = Console(width=max(Console().width, 120))
    console.print(f"Case {case_id} as of {_when(moment)} (the time things happened)")
    for state in states.values():
        if state.service == "sla" and clocks:
            continue  # told clock by clock below
        console.print(_state_table(f"{state.service}: {state.stage or 'nothing yet'}", state))
    for kind, state in clocks.items():
        clause = state.fields.get("clause", "")
        console.print(_state_table(f"sla clock {kind} ({clause}): {state.stage}", state))


def _state_table(title: str, state: ServiceState) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("events", str(state.events))
    table.add_row("last", f"{_clock(state.last_at)} {state.last_actor or ''}".strip())
    for key, value in state.fields.items():
        table.add_row(key, _cell(value))
    return table


@app.command()
def export(
    case: Annotated[str | None, typer.Argument(help="A case id; or --month.")] = None,
    month: Month = None,
    out: Annotated[
        Path | None, typer.Option(help="The zip to write (default: a name in the directory).")
    ] = None,
    as_json: AsJson = False,
    progress: ShowProgress = None,
) -> None:
    """A bundle (zip) of a case's or a month's events (JSON Lines), forms and manifest.

    Check it later on its own with `csc audit verify --bundle`, giving the manifest
    sha256 printed here (keep it with the audit's papers).
    """
    if (case is None) == (month is None):
        raise typer.BadParameter("give a case id or --month, not both")
    generated_at = datetime.now(UTC)
    with _reading(progress) as history:
        if case is not None:
            case_id = _case(case)
            path = out or Path(f"csc-audit-case-{case_id}.zip")
            summary = _run(lambda: export_case(history, case_id, path, generated_at))
        else:
            assert month is not None
            try:
                Period.month(month)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
            path = out or Path(f"csc-audit-{month}.zip")
            summary = _run(lambda: export_month(history, month, path, generated_at))
    if as_json:
        _echo_json(summary.to_json())
        return
    events = sum(f.get("records", 0) for f in summary.files)
    typer.echo(f"{summary.path}: {len(summary.files)} files, {events} events")
    typer.echo(f"manifest sha256 {summary.manifest_sha256}")


@app.command("verify-bundle")
def verify_bundle_command(
    bundle: Annotated[Path, typer.Argument(help="A zip made by `csc audit export`.")],
    expect: Annotated[
        str | None,
        typer.Option("--expect-manifest-sha256", help="The manifest sha256 noted at export."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The same as `csc audit verify --bundle BUNDLE`.

    Exits 1 when anything is wrong, naming each problem.
    """
    check_bundle(bundle, expect, as_json)


@forms_app.command("register")
def register_command(
    month: Month = None,
    since: Since = None,
    until: Until = None,
    day: Day = None,
    customer: Annotated[str | None, typer.Option(help="One customer's code.")] = None,
    out: OutDir = Path("."),
    progress: ShowProgress = None,
) -> None:
    """Customer Information Register (顾客信息登记表, att. 3) of a period: PDF, XLSX, JSON."""
    period = _period(month, since, until, day)
    with _reading(progress) as history:
        rendered = _run(lambda: register_document(history, period, datetime.now(UTC), customer))
    _write(out, rendered.documents())


@forms_app.command("field-service")
def field_service_command(
    engineer: Annotated[str | None, typer.Option(help="One engineer.")] = None,
    site: Annotated[str | None, typer.Option(help="One site, as recorded.")] = None,
    customer: Annotated[str | None, typer.Option(help="One customer's code.")] = None,
    month: Month = None,
    since: Since = None,
    until: Until = None,
    day: Day = None,
    out: OutDir = Path("."),
    progress: ShowProgress = None,
) -> None:
    """Field Service Work Record (现场服务工作记录表, att. 2): PDF, XLSX, JSON.

    For an engineer, a site, a customer (any of them), on a day or in a period.
    """
    selection = Selection(_period(month, since, until, day), engineer, site, customer)
    with _reading(progress) as history:
        rendered = _run(lambda: field_service_document(history, selection, datetime.now(UTC)))
    _write(out, rendered.documents())


def _write(out: Path, documents: dict[str, tuple[bytes, str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (content, _) in documents.items():
        (out / name).write_bytes(content)
        typer.echo(str(out / name))
