"""What metrics cost on intake's write path: the same intake with metrics on and off.

Two intake processes, one with ``CSC_METRICS_ENABLED=false`` (no request histogram, no
timed commits, no /metrics), each on its own store and topics, are loaded in turns
(off, on, off, on) so that a slow moment of the machine falls on both; each turn is a
fixed open-loop load, then saturation. While the "on" intake is loaded, /metrics is
scraped every second, as Prometheus would (more often than a PodMonitor's 30 s).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from bench import workload
from bench.context import Context, run_worker, say
from bench.harness import Figure
from csc_contracts import Topics
from csc_messaging.topology import ensure_topics

NAME = "observability"
ROUNDS = 2


def _scraper(url: str, stop: threading.Event) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.wait(1.0):
            client.get(f"{url}/metrics")


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    intakes = {}
    for name, enabled in (("off", "false"), ("on", "true")):
        prefix = ctx.prefix(f"{NAME}-{name}")
        asyncio.run(ensure_topics(ctx.kafka(), Topics(prefix=prefix)))
        process = ctx.service(
            "intake",
            prefix,
            ctx.dir(NAME, name),
            **workload.intake_env(),
            CSC_METRICS_ENABLED=enabled,
        )
        workload.prepare_intake(process.url)
        intakes[name] = process
    scraped = httpx.get(f"{intakes['on'].url}/metrics", timeout=10)
    off = httpx.get(f"{intakes['off'].url}/metrics", timeout=10)
    if scraped.status_code != 200 or off.status_code != 404:
        ctx.notes.append(
            f"{NAME}: /metrics answered {scraped.status_code} on, {off.status_code} off"
        )
    headers = workload.intake_headers()
    fixed: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    saturated: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    first = 0
    budget = 120 + 3 * max(s.load_s, s.saturation_s)
    for turn in range(ROUNDS):
        for name, process in intakes.items():
            host, port = process.url.removeprefix("http://").split(":")
            base = {"host": host, "port": int(port), "path": "/complaints", "headers": headers}
            stop = threading.Event()
            scraper = threading.Thread(target=_scraper, args=(process.url, stop), daemon=True)
            if name == "on":
                scraper.start()
            try:
                if turn == 0:
                    say(f"{NAME}: warm-up of metrics {name}")
                    run_worker("bench.loadgen", {**base, "mode": "open", "rate": 100,
                               "duration": s.warmup_s, "first": first}, timeout=budget)  # fmt: skip
                    first += 1_000_000
                say(f"{NAME}: metrics {name}, {s.rate:.0f} req/s for {s.load_s / ROUNDS:.0f}s")
                report, _ = run_worker("bench.loadgen", {**base, "mode": "open", "rate": s.rate,
                                       "duration": s.load_s / ROUNDS, "first": first},
                                       timeout=budget)  # fmt: skip
                fixed[name].append(report)
                first += 1_000_000
                say(f"{NAME}: metrics {name}, saturated by {s.concurrency} clients")
                report, _ = run_worker("bench.loadgen", {**base, "mode": "closed",
                                       "concurrency": s.concurrency,
                                       "duration": s.saturation_s / ROUNDS, "first": first},
                                       timeout=budget)  # fmt: skip
                saturated[name].append(report)
                first += 10_000_000
            finally:
                stop.set()
                if scraper.is_alive():
                    scraper.join(timeout=15)
    for phase in (fixed, saturated):
        for name, reports in phase.items():
            for report in reports:
                if report["errors"] or set(report["statuses"]) - {"200", "201"}:
                    ctx.notes.append(
                        f"{NAME} {name}: {report['errors'] or ''} {report['statuses']}"
                    )
    case_fixed = f"metrics on vs off, intake POST @{s.rate:.0f}/s"
    case_saturated = f"metrics on vs off, intake POST saturated, {s.concurrency} clients"
    return [
        Figure(case_fixed, "p50", "ms", *_mean(fixed, lambda r: r["latency_ms"]["p50"])),
        Figure(case_fixed, "p99", "ms", *_mean(fixed, lambda r: r["latency_ms"]["p99"])),
        Figure(case_saturated, "throughput", "req/s", *_mean(saturated, lambda r: r["throughput"])),
        Figure(case_saturated, "p50", "ms", *_mean(saturated, lambda r: r["latency_ms"]["p50"])),
    ]


def _mean(phase: dict[str, list[dict[str, Any]]], figure: Any) -> tuple[float | None, float | None]:
    """The mean over the rounds of the "on" intake (the value) and the "off" one (baseline)."""

    def mean(reports: list[dict[str, Any]]) -> float | None:
        values = [figure(r) for r in reports if figure(r) is not None]
        return sum(values) / len(values) if values else None

    return mean(phase["on"]), mean(phase["off"])
