"""Case 6, the read side at scale: returns' cases as tables, at N cases (bench/read_worker.py).

A store of N return cases is filled by returns' own application (not timed), and
its view built from that log (timed: events/s, beside the rate the store wrote
them at). Then the returns service is started as a process on that store, with the
view already built: spawn to the first 200 of ``/readyz``, beside the same start on
an empty store. Its memory after start and after paging through the lists, beside
the same on the empty store. The lists' latency with filters and cursors over HTTP,
beside ``view.page`` in the client's process and the bare indexed SELECT of the same
page on the same table.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench import workload
from bench.context import Context, run_worker, say
from bench.harness import Figure, cpu_seconds, peak_rss_mib, rss_mib
from csc_contracts import Department, Topics
from csc_devkit.processes import ServiceProcess, free_port
from csc_messaging.auth import issue_token
from csc_messaging.topology import ensure_topics

NAME = "read"
READY_TARGET_S = 3.0
RSS_TARGET_MIB = 300.0
P95_TARGET_MS = 50.0
STARTS = 3  # restarts of each store; the figure is their median
QUERIES = 500


def _ready(url: str) -> dict[str, Any] | None:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/readyz")
        response = conn.getresponse()
        body = response.read()
        return json.loads(body) if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def start(
    ctx: Context, prefix: str, data_dir: Path
) -> tuple[ServiceProcess, float, dict[str, Any]]:
    """Returns as a process on ``data_dir``'s store: spawn to the first 200 of /readyz."""
    process = ServiceProcess(
        service="returns",
        port=free_port(),
        env={
            "KAFKA_BOOTSTRAP_SERVERS": ctx.kafka(),
            "CSC_TOPIC_PREFIX": prefix,
            "CSC_DATA_DIR": str(data_dir),
            "CSC_STORE": "sqlite",
            "CSC_LOG_FORMAT": "console",
            "CSC_AUTH_HS256_SECRET": workload.SECRET,
            # Every stored case would be published again first, as if never published:
            # the relay's position lives on Kafka, and this broker has never seen it.
            "CSC_RELAY_ENABLED": "false",
        },
        log_path=data_dir / "logs" / "returns.log",
    )
    began = time.perf_counter()
    process.start()
    ctx.stack.callback(process.stop)
    deadline = began + 300
    while time.perf_counter() < deadline:
        assert process.proc is not None
        if process.proc.poll() is not None:
            raise RuntimeError(f"returns exited early:\n{process.log_tail()}")
        body = _ready(process.url)
        if body is not None:
            took = time.perf_counter() - began
            # CPU time too: on shared cores the wall time is mostly the wait for a core.
            body["cpu_s"] = cpu_seconds(process.proc.pid)
            return process, took, body
        time.sleep(0.01)
    raise TimeoutError(f"returns not ready after 300 s:\n{process.log_tail()}")


def memory(pid: int) -> tuple[float | None, float | None]:
    """(VmRSS, VmHWM) in MiB."""
    return rss_mib(pid), peak_rss_mib(pid)


def run(ctx: Context) -> list[Figure]:
    cases = ctx.sizes.read_cases
    bootstrap = ctx.kafka()
    loaded, empty = ctx.dir(NAME, "loaded"), ctx.dir(NAME, "empty")
    # A prefix (so a consumer group) for each store: the two services never share partitions.
    prefixes = {"empty": ctx.prefix(NAME), "loaded": ctx.prefix(NAME)}
    for prefix in prefixes.values():
        asyncio.run(ensure_topics(bootstrap, Topics(prefix=prefix)))
    budget = 600 + cases / 50

    say(f"read: filling returns' store with {cases:,} cases (not timed)")
    filled, _ = run_worker(
        "bench.read_worker",
        {"what": "fill", "cases": cases, "data_dir": str(loaded)},
        timeout=budget,
    )
    events = filled["events"]
    ctx.notes.append(
        f"read: {cases:,} cases ({events:,} events) saved in {filled['elapsed_s']:.0f} s, "
        f"{filled['save_s']:.0f} s of it in app.save, {1000:,} cases a save (not a figure)"
    )

    say(f"read: building the view from {events:,} events")
    built, build_rss = run_worker(
        "bench.read_worker", {"what": "build", "data_dir": str(loaded)}, timeout=budget * 3
    )
    if built["applied"] != events or built["cases"] != cases:
        ctx.notes.append(f"read: the view applied {built['applied']} of {events} events")
    store_mib = sum(
        p.stat().st_size for p in loaded.iterdir() if p.name.startswith("returns.sqlite")
    ) / (1 << 20)
    ctx.notes.append(f"read: the store with its view is {store_mib:,.0f} MiB on disk")

    say(f"read: restarts, {STARTS} on the empty store and {STARTS} on the built one")
    times: dict[str, list[float]] = {"empty": [], "loaded": []}
    cpu: dict[str, list[float]] = {"empty": [], "loaded": []}
    kept: dict[str, ServiceProcess] = {}
    after_start: dict[str, tuple[float | None, float | None]] = {}
    for i in range(STARTS):
        for which, data_dir in (("empty", empty), ("loaded", loaded)):
            process, seconds, body = start(ctx, prefixes[which], data_dir)
            times[which].append(seconds)
            if body.get("cpu_s") is not None:
                cpu[which].append(body["cpu_s"])
            applied = body.get("view", {}).get("applied")
            if applied:
                ctx.notes.append(f"read: a restart on the {which} store applied {applied} events")
            if i < STARTS - 1:
                process.stop()
            else:
                kept[which] = process
                assert process.pid is not None
                time.sleep(1.0)  # the consumer settles (group join) before memory is read
                after_start[which] = memory(process.pid)

    token = issue_token(workload.SECRET, "bench.auditor", Department.AUDITOR)
    state = built["tables"]
    results: dict[str, dict[str, Any]] = {}
    after_queries: dict[str, tuple[float | None, float | None]] = {}
    for which, data_dir in (("empty", empty), ("loaded", loaded)):
        say(f"read: {QUERIES} list queries on the {which} store")
        process = kept[which]
        results[which], _ = run_worker(
            "bench.read_worker",
            {
                "what": "query",
                "url": process.url,
                "token": token,
                "requests": QUERIES,
                "data_dir": str(data_dir),
                "db": str(data_dir / "returns.sqlite"),
                "tables": state,
                "http_only": which == "empty",
            },
            timeout=budget,
        )
        assert process.pid is not None
        after_queries[which] = memory(process.pid)
        process.stop()
    q = results["loaded"]
    bad = {k: v for k, v in q["statuses"].items() if k != "200"}
    if bad:
        ctx.notes.append(f"read: list queries answered {q['statuses']}")
    worst = max(q["http_by_kind"].items(), key=lambda kv: kv[1]["p95"] or 0)
    ctx.notes.append(
        "read: p95 over HTTP by kind of list (ms): "
        + ", ".join(f"{k} {v['p95']:.1f}" for k, v in q["http_by_kind"].items())
        + f"; slowest {worst[0]}"
    )
    ctx.notes.append(
        "read: p95 of the bare SELECT by kind (ms): "
        + ", ".join(f"{k} {v['p95']:.1f}" for k, v in q["bare_by_kind"].items())
    )

    case = f"read, returns at {cases:,} cases"
    ready = statistics.median(times["loaded"])
    base_ready = statistics.median(times["empty"])
    rss_loaded = after_queries["loaded"][0]
    hwm_loaded = after_queries["loaded"][1]
    rate = built["applied"] / built["elapsed_s"] if built["elapsed_s"] else None
    p95 = q["http"]["p95"]
    return [
        Figure(
            case,
            "view build",
            "events/s",
            rate,
            events / filled["save_s"] if filled["save_s"] else None,
            note=f"{built['applied']:,} events in {built['elapsed_s']:.0f} s; "
            "baseline: the store's own write rate (app.save, 1,000 cases a save)",
        ),
        Figure(case, "view build peak RSS", "MiB", build_rss),
        Figure(
            case,
            f"restart to ready ({events / 1e6:.1f} M events)",
            "s",
            ready,
            base_ready,
            target=f"≤ {READY_TARGET_S:.0f} s",
            met=ready <= READY_TARGET_S,
            note="median of restarts; baseline: the same start on an empty store",
        ),
        Figure(
            case,
            "restart: CPU to ready",
            "s",
            statistics.median(cpu["loaded"]) if cpu["loaded"] else None,
            statistics.median(cpu["empty"]) if cpu["empty"] else None,
            note="user + system time of the process at its first 200",
        ),
        Figure(case, "RSS after start", "MiB", after_start["loaded"][0], after_start["empty"][0]),
        Figure(
            case,
            f"RSS after {QUERIES} list pages",
            "MiB",
            after_queries["loaded"][0],
            after_queries["empty"][0],
            target=f"≤ {RSS_TARGET_MIB:.0f} MB",
            met=rss_loaded is not None and rss_loaded <= RSS_TARGET_MIB * 1e6 / (1 << 20),
        ),
        Figure(
            case,
            "peak RSS (VmHWM)",
            "MiB",
            hwm_loaded,
            after_queries["empty"][1],
            target=f"≤ {RSS_TARGET_MIB:.0f} MB",
            met=hwm_loaded is not None and hwm_loaded <= RSS_TARGET_MIB * 1e6 / (1 << 20),
        ),
        Figure(case, "list p50, HTTP", "ms", q["http"]["p50"], q["bare"]["p50"]),
        Figure(
            case,
            "list p95, HTTP",
            "ms",
            p95,
            q["bare"]["p95"],
            target=f"≤ {P95_TARGET_MS:.0f} ms",
            met=p95 is not None and p95 <= P95_TARGET_MS,
            note="baseline: the bare indexed SELECT of the same page",
        ),
        Figure(case, "list p50, view.page", "ms", q["page"]["p50"], q["bare"]["p50"]),
        Figure(case, "list p95, view.page", "ms", q["page"]["p95"], q["bare"]["p95"]),
        Figure(case, "list max, HTTP", "ms", q["http"]["max"], q["bare"]["max"]),
    ]
