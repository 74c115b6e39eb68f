"""Case 1, the intake write path: POST /complaints -> stored -> 201, against a bare endpoint.

Both servers are measured the same way, one after the other: a warm-up, then a
fixed open-loop load (the latency target), then closed-loop saturation (the
throughput target). The load generator is a process of its own; on two cores it
competes with the server for CPU, and that is part of every figure, the
baseline's included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from bench import workload
from bench.context import Context, Server, run_worker, say
from bench.harness import Figure, ProcessWatch
from csc_contracts import Topics
from csc_messaging.topology import ensure_topics

NAME = "intake"
P99_TARGET_MS = 50.0
SATURATION_TARGET = 0.7


@dataclass
class Target:
    name: str
    url: str
    pids: list[int]
    headers: dict[str, str]


def load(
    ctx: Context, target: Target, spec: dict[str, Any], *, timeout: float
) -> tuple[dict[str, Any], ProcessWatch]:
    host_port = target.url.removeprefix("http://")
    host, port = host_port.split(":")
    full = {"host": host, "port": int(port), "path": "/complaints", "headers": target.headers}
    full.update(spec)
    with ProcessWatch(target.pids) as watch:
        report, _ = run_worker("bench.loadgen", full, timeout=timeout)
    if report["errors"] or set(report["statuses"]) - {"200", "201"}:
        ctx.notes.append(
            f"{target.name}: {report['errors'] or ''} statuses {report['statuses']} "
            f"in a {report['mode']}-loop phase"
        )
    return report, watch


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    prefix = ctx.prefix(NAME)
    asyncio.run(ensure_topics(ctx.kafka(), Topics(prefix=prefix)))
    say("intake: starting intake and the baseline endpoint")
    intake_process = ctx.service("intake", prefix, ctx.dir(NAME, "intake"), **workload.intake_env())
    workload.prepare_intake(intake_process.url)
    baseline_server = Server(
        "bench.baseline_http",
        ["--db", str(ctx.dir(NAME, "baseline") / "baseline.sqlite")],
        ctx.dir(NAME, "baseline") / "baseline.log",
    )
    ctx.stack.callback(baseline_server.stop)
    baseline_server.wait_ready()
    assert intake_process.proc is not None
    targets = [
        Target("baseline", baseline_server.url, [baseline_server.pid], {}),
        Target("intake", intake_process.url, [intake_process.proc.pid], workload.intake_headers()),
    ]

    fixed: dict[str, tuple[dict[str, Any], ProcessWatch]] = {}
    saturated: dict[str, tuple[dict[str, Any], ProcessWatch]] = {}
    budget = 120 + 3 * max(s.load_s, s.saturation_s)
    first = 0
    for target in targets:
        say(f"intake: warm-up of {target.name} ({s.warmup_s:.0f}s at 100/s)")
        load(ctx, target, {"mode": "open", "rate": 100, "duration": s.warmup_s, "first": first},
             timeout=budget)  # fmt: skip
        first += 1_000_000
        say(f"intake: {target.name} at {s.rate:.0f} req/s for {s.load_s:.0f}s (open loop)")
        fixed[target.name] = load(
            ctx,
            target,
            {"mode": "open", "rate": s.rate, "duration": s.load_s, "first": first},
            timeout=budget,
        )
        first += 1_000_000
    for target in targets:
        say(f"intake: {target.name} saturated by {s.concurrency} clients for {s.saturation_s:.0f}s")
        saturated[target.name] = load(
            ctx,
            target,
            {"mode": "closed", "concurrency": s.concurrency, "duration": s.saturation_s,
             "first": first},
            timeout=budget,
        )  # fmt: skip
        first += 10_000_000
    relay = httpx.get(f"{intake_process.url}/relay", headers=target.headers, timeout=10)
    if relay.is_success:
        ctx.notes.append(f"intake's outbox relay at the end of the case: {relay.json()}")
    return [
        *_figures(
            f"intake POST @{s.rate:.0f}/s, open loop",
            fixed,
            p99_target=True,
        ),
        *_figures(
            f"intake POST saturated, {s.concurrency} clients",
            saturated,
            throughput_target=True,
        ),
    ]


def _figures(
    case: str,
    results: dict[str, tuple[dict[str, Any], ProcessWatch]],
    *,
    p99_target: bool = False,
    throughput_target: bool = False,
) -> list[Figure]:
    (intake, intake_watch), (base, base_watch) = results["intake"], results["baseline"]
    ratio = (
        intake["throughput"] / base["throughput"]
        if intake["throughput"] and base["throughput"]
        else None
    )
    intake_pid, base_pid = intake_watch.pids[0], base_watch.pids[0]
    figures = [
        Figure(
            case,
            "throughput",
            "req/s",
            intake["throughput"],
            base["throughput"],
            target=f"≥ {SATURATION_TARGET}× baseline" if throughput_target else None,
            met=(ratio is not None and ratio >= SATURATION_TARGET) if throughput_target else None,
        ),
        Figure(case, "p50", "ms", intake["latency_ms"]["p50"], base["latency_ms"]["p50"]),
        Figure(
            case,
            "p99",
            "ms",
            intake["latency_ms"]["p99"],
            base["latency_ms"]["p99"],
            target=f"≤ {P99_TARGET_MS:.0f} ms" if p99_target else None,
            met=(
                intake["latency_ms"]["p99"] is not None
                and intake["latency_ms"]["p99"] <= P99_TARGET_MS
            )
            if p99_target
            else None,
        ),
        Figure(
            case,
            "peak RSS",
            "MiB",
            intake_watch.peak_rss_mib[intake_pid],
            base_watch.peak_rss_mib[base_pid],
        ),
        Figure(
            case,
            "server CPU",
            "cores",
            intake_watch.cpu_share(intake_pid),
            base_watch.cpu_share(base_pid),
        ),
        Figure(
            case,
            "client CPU",
            "cores",
            intake["client_cpu_s"] / intake_watch.elapsed,
            base["client_cpu_s"] / base_watch.elapsed,
            note="the load generator's share of the two cores",
        ),
    ]
    return figures
