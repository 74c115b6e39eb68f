"""``uv run python -m bench [--quick] [--only CASE ...]``: run the cases, print the table,
write it as JSON (bench/results/<timestamp>.json unless --out says otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import clocks, console, intake, observability, propagation, read, replay, store
from bench.context import Context, Shared, Sizes, say
from bench.harness import REPO, Figure, git_revision, machine, render_table, write_json

CASES: dict[str, Callable[[Context], list[Figure]]] = {
    store.NAME: store.run,
    clocks.NAME: clocks.run,
    intake.NAME: intake.run,
    observability.NAME: observability.run,
    propagation.NAME: propagation.run,
    replay.NAME: replay.run,
    read.NAME: read.run,
    console.NAME: console.run,
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of Customer Service Control. They print; they never fail.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes: 10 s loads, 50,000 replayed events, 50,000 return cases",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(CASES),
        metavar="CASE",
        help=f"run only this case (repeatable): {', '.join(CASES)}",
    )
    parser.add_argument("--replay-events", type=int, help="events on the replayed topic")
    parser.add_argument("--read-cases", type=int, help="return cases in the read case's store")
    parser.add_argument("--rate", type=float, help="offered load, requests (events) per second")
    parser.add_argument("--duration", type=float, help="seconds of each fixed-load phase")
    parser.add_argument("--concurrency", type=int, help="clients of the saturation phase")
    parser.add_argument("--out", type=Path, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (stores, logs)")
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = Sizes.quick() if args.quick else Sizes()
    overrides: dict[str, Any] = {}
    if args.replay_events is not None:
        overrides["replay_events"] = args.replay_events
    if args.read_cases is not None:
        overrides["read_cases"] = args.read_cases
    if args.rate is not None:
        overrides["rate"] = args.rate
    if args.duration is not None:
        overrides["load_s"] = args.duration
    if args.concurrency is not None:
        overrides["concurrency"] = args.concurrency
    return dataclasses.replace(sizes, **overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    sizes = sizes_from(args)
    started = datetime.now(UTC)
    out = args.out or REPO / "bench" / "results" / f"{started:%Y%m%dT%H%M%SZ}.json"
    selected = args.only or list(CASES)
    workdir = Path(tempfile.mkdtemp(prefix="csc-bench-"))
    figures: list[Figure] = []
    failures: dict[str, str] = {}
    durations: dict[str, float] = {}
    with contextlib.ExitStack() as resources:
        if not args.keep:
            resources.callback(shutil.rmtree, workdir, True)
        shared = Shared(resources=resources)
        for name in selected:
            say(f"case {name}")
            began = time.monotonic()
            # A case's processes stop when it ends; the broker and database when the run does.
            with contextlib.ExitStack() as case_stack:
                ctx = Context(sizes=sizes, workdir=workdir, shared=shared, stack=case_stack)
                try:
                    figures.extend(CASES[name](ctx))
                except Exception:
                    # Benchmarks never fail the build: a broken case is reported, not raised.
                    failures[name] = traceback.format_exc()
                    say(f"case {name} failed:\n{failures[name]}")
            durations[name] = time.monotonic() - began
        table = render_table(figures)
        print()
        print(table)
        if shared.notes:
            print()
            for note in shared.notes:
                print(f"- {note}")
        for name in failures:
            print(f"- case {name} did not finish (traceback above and in the JSON)")
        document = {
            "started_at": started.isoformat(),
            "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "machine": machine(),
            "revision": git_revision(),
            "sizes": dataclasses.asdict(sizes),
            "case_seconds": durations,
            "figures": [f.as_json() for f in figures],
            "notes": shared.notes,
            "failures": failures,
            "table": table,
        }
        write_json(out, document)
        print(f"\nwritten to {out}" + (f"; work dir kept at {workdir}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
