"""SLA clocks at scale: 100,000 open clocks, how late a breach is announced, and memory.

    uv run python bench/sla_clocks.py            # 100,000 clocks
    uv run python bench/sla_clocks.py --clocks 10000

Prints figures, each beside a baseline measured in the same run (a bare
heap of deadlines doing the same "what is due?" work), and the ratio.
Nothing here fails: it prints.

Breach latency after due, in the running service, is at most one timer tick
(CSC_SLA_TICK_SECONDS) plus the scan and the firing measured here.
"""

from __future__ import annotations

import argparse
import heapq
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    args = parser.parse_args()
    n = args.clocks

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
        scans, fires = [], []
        for tick in range(20):
            now = T0 + timedelta(hours=6) + timedelta(seconds=tick * args.due_per_tick)
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
        now = T0 + timedelta(hours=6) + timedelta(seconds=tick * args.due_per_tick)
        t = time.perf_counter()
        while heap and heap[0][0] <= now:
            heapq.heappop(heap)
        base_scans.append(time.perf_counter() - t)

    scan = statistics.median(scans)
    base = statistics.median(base_scans)
    rows = [
        ("open clocks", f"{n:,}", "", ""),
        ("feed: complaints applied per second", f"{n / feed_seconds:,.0f}", "", ""),
        ("read model fold on start-up", f"{fold_seconds:.2f} s", "", ""),
        ("memory of the open clocks (RSS growth)", f"{rss_after - rss_before:,.0f} MiB", "", ""),
        ("per tick: scan for due deadlines", f"{scan * 1000:.1f} ms",
         f"{base * 1000:.3f} ms (heap)", f"{scan / base:,.0f}x" if base else "n/a"),
        ("per fired event: store and publish-ready", f"{statistics.median(fires) * 1000:.2f} ms",
         "", ""),
        ("breach latency after due (tick 1 s)",
         f"<= {1000 + scan * 1000 + statistics.median(fires) * 1000 * 2:.0f} ms", "", ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'figure':>14}  {'baseline':>18}  ratio")
    for name, figure, baseline, ratio in rows:
        print(f"{name:<{width}}  {figure:>14}  {baseline:>18}  {ratio}")


if __name__ == "__main__":
    main()
