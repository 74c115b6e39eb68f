"""A paged list names its next page in its headers, and its OpenAPI says so."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from csc_messaging.paging import NEXT_PAGE_HEADERS, Cursor, Limit, paged
from csc_messaging.problems import HttpLimits, install_problems
from csc_messaging.views import Page


def _app() -> FastAPI:
    app = FastAPI()
    numbers = list(range(5))

    @app.get("/numbers")
    async def listed(
        request: Request, response: Response, cursor: Cursor = None, limit: Limit = 2
    ) -> list[dict[str, Any]]:
        start = 0 if cursor is None else int(cursor.removeprefix("n")) + 1
        rows = [{"n": n} for n in numbers[start : start + limit]]
        more = start + limit < len(numbers)
        return paged(Page(rows, f"n{rows[-1]['n']}" if more else None), request, response)

    @app.get("/one")
    async def one() -> dict[str, int]:
        return {"n": 1}

    install_problems(app, HttpLimits())
    return app


def test_each_page_names_the_next_until_the_last() -> None:
    client = TestClient(_app())
    seen: list[int] = []
    url: str | None = "/numbers?limit=2"
    while url is not None:
        answer = client.get(url)
        assert answer.status_code == 200
        seen += [row["n"] for row in answer.json()]
        link = answer.headers.get("Link")
        url = link.split(">")[0].lstrip("<") if link else None
        if link:
            assert link.endswith('; rel="next"')
            assert f"cursor={answer.headers['X-Next-Cursor']}" in link
    assert seen == [0, 1, 2, 3, 4]


def test_the_openapi_documents_the_next_page_headers_of_every_paged_list() -> None:
    schema = _app().openapi()
    listed = schema["paths"]["/numbers"]["get"]["responses"]["200"]
    assert listed["headers"] == NEXT_PAGE_HEADERS
    assert "headers" not in schema["paths"]["/one"]["get"]["responses"]["200"]
