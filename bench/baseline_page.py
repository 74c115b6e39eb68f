"""The console's baseline: a bare FastAPI page, a Jinja2 table of the rows it already holds.

``python -m bench.baseline_page --port N --rows R``. One uvicorn process as the console
runs, an HTML page of ``R`` rows (the size of a queue section) rendered by Jinja2 from a
list in memory on every request: what a page costs with no session, no service to ask
and no clock to show.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment

PAGE = Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Queue</title></head>
<body><main><h1>Queue</h1><table><thead><tr><th>Case</th><th>Customer</th><th>Received</th>
<th>Category</th><th>What the customer says</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="/cases/{{ r.case_id }}">{{ r.case_id }}</a></td>
<td><a href="/customers/{{ r.code }}">{{ r.name }}</a> <span>{{ r.code }}</span></td>
<td>{{ r.received }}</td><td>{{ r.category }}</td><td>{{ r.text }}</td></tr>
{% endfor %}</tbody></table></main></body></html>"""
)


def create_app(rows: int) -> FastAPI:
    data = [
        {
            "case_id": f"{n:08x}-0000-4000-8000-000000000000",
            "code": f"OEM-{n % 8 + 1:03d}",
            "name": f"Bench OEM {n % 8 + 1}",
            "received": "2026-12-03 10:00",
            "category": "quality",
            "text": f"Housings cracked at the customer's line 3 (report {n}).",
        }
        for n in range(rows)
    ]
    app = FastAPI(title="bench baseline: a bare page")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE.render(rows=data))

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.rows), host="127.0.0.1", port=args.port, log_level="warning",
        access_log=False,
    )  # fmt: skip


if __name__ == "__main__":
    main()
