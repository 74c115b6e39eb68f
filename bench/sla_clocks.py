"""SLA clocks at scale: 100,000 open clocks, how late a breach is announced, and memory.

    uv run python bench/sla_clocks.py            # 100,000 clocks
    uv run python bench/sla_clocks.py --clocks 10000
    uv run python -m bench --only clocks          # the same, as rows of the bench table

Prints figures, each beside a baseline measured in the same run (a bare
heap of deadlines doing the same "what is due?" work), and the ratio.
Nothing here fails: it prints.

Breach latency after due, in the running service, is at most one timer tick
(CSC_SLA_TICK_SECONDS) plus the view's catch-up, the seek and the firing measured here.
The board is tables in the store: "what is due?" is an index seek on next_deadline
(ClockBoard.due_by); before it, the board applies what the last tick fired (timed apart).
"""

from __future__ import annotations

import argparse
import heapq
import json
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import Tracking

import csc_contracts as pub
from csc_messaging.settings import ServiceSettings
from csc_messaging.store import eventsourcing_env
from csc_sla.application import SlaApplication
from csc_sla.projections import ClockBoard

T0 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
ACTOR = pub.Actor(user="bench", department="marketing")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clocks", type=int, default=100_000)
    parser.add_argument("--due-per-tick", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args.clocks, args.due_per_tick)
    if args.json:
        print(json.dumps(figures))
    else:
        print_table(figures)


def measure(n: int, due_per_tick: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = SlaApplication(env=eventsourcing_env(ServiceSettings(data_dir=Path(tmp)), "sla"))
        rss_before = rss_mib()
        started = time.perf_counter()
        for i in range(n):
            # One complaint a second: deadlines spread over n seconds.
            received = T0 + timedelta(seconds=i)
            event = pub.ComplaintLogged(
                event_id=uuid4(), case_id=uuid4(), occurred_at=received, actor=ACTOR,
                category="service", channel="phone", receiving_department="marketing",
                received_at=received, customer={"code": f"C{i % 500}"}, text="bench",
            )  # fmt: skip
            app.apply_public(event, Tracking("bench:0", i + 1))
        feed_seconds = time.perf_counter() - started

        board = ClockBoard(app)
        started = time.perf_counter()
        board.catch_up()
        fold_seconds = time.perf_counter() - started
        rss_after = rss_mib()

        # Ticks: each finds what is due among n open clocks, then fires it.
        scans, fires, catch_ups = [], [], []
        for tick in range(20):
            now = T0 + timedelta(hours=6) + timedelta(seconds=tick * due_per_tick)
            t = time.perf_counter()
            board.catch_up()  # the events the last tick fired, into the board's tables
            catch_ups.append(time.perf_counter() - t)
            t = time.perf_counter()
            due = board.due_by(now)
            scans.append(time.perf_counter() - t)
            t = time.perf_counter()
            fired = app.fire_due(due, now)
            fires.append((time.perf_counter() - t) / max(fired, 1))
        app.close()

    # Baseline: the same "what is due?" question asked of a bare heap of deadlines.
    heap = [(T0 + timedelta(hours=6, seconds=i), i) for i in range(n)]
    heapq.heapify(heap)
    base_scans = []
    for tick in range(20):
        now = T0 + timedelta(hours=6) + timedelta(seconds=tick * due_per_tick)
        t = time.perf_counter()
        while heap and heap[0][0] <= now:
            heapq.heappop(heap)
        base_scans.append(time.perf_counter() - t)

    scan = statistics.median(scans)
    fire = statistics.median(fires)
    return {
        "clocks": n,
        "feed_per_s": n / feed_seconds,
        "fold_s": fold_seconds,
        "rss_growth_mib": rss_after - rss_before,
        "scan_ms": scan * 1000,
        "catch_up_ms": statistics.median(catch_ups) * 1000,
        "base_scan_ms": statistics.median(base_scans) * 1000,
        "fire_ms": fire * 1000,
        "breach_latency_ms": 1000 + (scan + statistics.median(catch_ups)) * 1000 + fire * 1000 * 2,
    }


def print_table(f: dict[str, Any]) -> None:
    scan, base = f["scan_ms"], f["base_scan_ms"]
    rows = [
        ("open clocks", f"{f['clocks']:,}", "", ""),
        ("feed: complaints applied per second", f"{f['feed_per_s']:,.0f}", "", ""),
        ("board built from the whole log (first start)", f"{f['fold_s']:.2f} s", "", ""),
        ("memory of the open clocks (RSS growth)", f"{f['rss_growth_mib']:,.0f} MiB", "", ""),
        ("per tick: board applies the last tick's events", f"{f['catch_up_ms']:.1f} ms", "", ""),
        ("per tick: seek for due deadlines", f"{scan:.1f} ms",
         f"{base:.3f} ms (heap)", f"{scan / base:,.0f}x" if base else "n/a"),
        ("per fired event: store and publish-ready", f"{f['fire_ms']:.2f} ms", "", ""),
        ("breach latency after due (tick 1 s)", f"<= {f['breach_latency_ms']:.0f} ms", "", ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'figure':>14}  {'baseline':>18}  ratio")
    for name, figure, baseline, ratio in rows:
        print(f"{name:<{width}}  {figure:>14}  {baseline:>18}  {ratio}")


if __name__ == "__main__":
    main()
