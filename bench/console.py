"""Case 7, the console's pages at N cases: the server time of each page a department opens.

Intake, returns, capa and sla run as processes on one broker; N complaints are posted to
intake (not timed) and every consumer is left to catch up. Then the console is started
over them, a user of each department signs in, and each page is asked for ``REQUESTS``
times one after the other over one keep-alive connection: the time from the request to
the last byte of the page, as the browser would wait for it (the console asks the
services for what the page shows on every request). Beside it, the baseline: a bare
FastAPI page of 100 rows rendered by Jinja2 from memory (bench/baseline_page.py), the
floor of any server-rendered page on this machine.
"""

from __future__ import annotations

import asyncio
import http.client
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench import workload
from bench.context import Context, Server, poll, say
from bench.harness import Figure, Latencies
from csc_contracts import Department, Topics
from csc_devkit.processes import ServiceProcess, console_env, free_port
from csc_messaging.auth import issue_token
from csc_messaging.topology import ensure_topics

NAME = "console"
P95_TARGET_MS = 100.0  # issues 16 and 17: page server time p95 <= 100 ms at 10,000 cases
REQUESTS = 200
CONSUMERS = ("returns", "capa", "sla")
MARKETING_PAGES = ["/", "/queue/rows", "/customers", "/customers/OEM-001", "/cases/{case}"]
PAGES: dict[str, tuple[str, list[str]]] = {
    # (user, pages); "{case}" is a case of the run, chosen at random for each request.
    "marketing": ("li.wei", MARKETING_PAGES),
    "after_sales": ("zhang.min", ["/"]),
    "quality": ("wang.fang", ["/"]),
}


def _post_all(url: str, cases: int) -> list[str]:
    """Post ``cases`` complaints, 8 at a time; their case ids."""
    headers = workload.intake_headers()

    def post(n: int) -> str:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            response = client.post(
                "/complaints",
                json=workload.complaint_body(n),
                headers={"Idempotency-Key": f"bench-console-{n}"},
            )
            response.raise_for_status()
            return str(response.json()["case_id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, range(cases)))


def _caught_up(intake: str, consumer: str) -> bool:
    token = issue_token(workload.SECRET, "bench.auditor", Department.AUDITOR)
    headers = {"Authorization": f"Bearer {token}"}
    stored = httpx.get(f"{intake}/digest", headers=headers, timeout=10).json()["position"]
    if httpx.get(f"{intake}/relay", headers=headers, timeout=10).json()["position"] < stored:
        return False
    stats = httpx.get(f"{consumer}/ingest-stats", headers=headers, timeout=10).json()
    handled = sum(sum(c.values()) for topic, c in stats.items() if "intake" in topic)
    return bool(handled >= stored)


def _signed_in(url: str, user: str) -> http.client.HTTPConnection:
    """A keep-alive connection to the console with ``user``'s session cookie."""
    with httpx.Client(base_url=url, timeout=30) as client:
        page = client.get("/sign-in")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, "no CSRF token on the sign-in page"
        answer = client.post(
            "/sign-in", data={"csrf": match.group(1), "user": user, "tz": "Asia/Shanghai"}
        )
        assert answer.status_code == 303, answer.text
        cookie = client.cookies["csc_console"]
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.cookie = cookie  # type: ignore[attr-defined]
    return conn


def _time(conn: http.client.HTTPConnection, path: str, cookie: str | None) -> tuple[float, int]:
    headers = {"Cookie": f"csc_console={cookie}"} if cookie else {}
    began = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    took = time.perf_counter() - began
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    return took, len(body)


def run(ctx: Context) -> list[Figure]:
    cases = ctx.sizes.console_cases
    prefix = ctx.prefix(NAME)
    asyncio.run(ensure_topics(ctx.kafka(), Topics(prefix=prefix)))
    env = workload.intake_env()
    services: dict[str, ServiceProcess] = {}
    for service in ("intake", *CONSUMERS):
        services[service] = ctx.service(service, prefix, ctx.dir(NAME, service), **env)
    intake = services["intake"].url
    workload.prepare_intake(intake)

    say(f"console: posting {cases:,} complaints to intake (not timed)")
    began = time.perf_counter()
    ids = _post_all(intake, cases)
    ctx.notes.append(f"console: {cases:,} complaints posted in {time.perf_counter() - began:.0f} s")
    for consumer in CONSUMERS:
        say(f"console: waiting for {consumer} to read them")
        if not poll(lambda c=consumer: _caught_up(intake, services[c].url), 1800, 1.0):  # type: ignore[misc]
            ctx.notes.append(f"console: {consumer} had not read every complaint after 30 min")

    console = ServiceProcess(
        service="console",
        port=free_port(),
        env={
            "KAFKA_BOOTSTRAP_SERVERS": ctx.kafka(),
            "CSC_TOPIC_PREFIX": prefix,
            "CSC_LOG_FORMAT": "console",
            **env,
            **console_env({name: p.url for name, p in services.items()}),
        },
        log_path=ctx.dir(NAME, "console") / "console.log",
    ).start()
    ctx.stack.callback(console.stop)
    console.wait_ready(timeout=120)

    baseline_server = Server(
        "bench.baseline_page", ["--rows", "100"], ctx.dir(NAME, "baseline") / "page.log"
    ).wait_ready()
    ctx.stack.callback(baseline_server.stop)
    host, port = baseline_server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    baseline = Latencies()
    for _ in range(20):  # warm-up
        _time(conn, "/", None)
    for _ in range(REQUESTS):
        baseline.add(_time(conn, "/", None)[0])
    conn.close()
    base_p50, base_p95 = baseline.percentile_ms(50), baseline.percentile_ms(95)

    figures = [
        Figure(NAME, "bare page of 100 rows, p95", "ms", base_p95, note="the baseline"),
    ]
    rng = random.Random(7)
    for department, (user, pages) in PAGES.items():
        conn = _signed_in(console.url, user)
        cookie = conn.cookie  # type: ignore[attr-defined]
        for page in pages:
            label = page.replace("{case}", "{id}")
            say(f"console: {department} {label} x {REQUESTS}")
            samples = Latencies()
            size = 0
            for i in range(REQUESTS + 5):
                path = page.replace("{case}", rng.choice(ids))
                took, size = _time(conn, path, cookie)
                if i >= 5:  # the first few warm the console's connections to the services
                    samples.add(took)
            p50, p95 = samples.percentile_ms(50), samples.percentile_ms(95)
            figures.append(
                Figure(
                    NAME,
                    f"{department} {label}, p95",
                    "ms",
                    p95,
                    baseline=base_p95,
                    target=f"≤ {P95_TARGET_MS:.0f} ms",
                    met=p95 is not None and p95 <= P95_TARGET_MS,
                    note=f"p50 {p50:.1f} ms (bare {base_p50:.1f}); {size / 1024:,.0f} KiB; "
                    f"{cases:,} cases",
                )
            )
        conn.close()
    return figures
