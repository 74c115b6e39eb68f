"""Lists over HTTP: a page of rows in a stable order, and the link to the next page.

The body is the page's rows as a JSON array; the next page, when there is one, is
named by the ``Link`` header (RFC 8288, ``rel="next"``), as GitHub's API does, so a
list's answer keeps its shape and a client that reads one page reads the first.
The cursor is opaque: the place in the order where the page ended.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from csc_messaging.views import Page

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description=f"How many rows a page holds (at most {MAX_LIMIT:,}).",
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=2000,
        pattern=r"^[A-Za-z0-9_-]+$",
        description='Where the page starts: the cursor of the `Link: <...>; rel="next"` '
        "header of the page before.",
    ),
]


NEXT_PAGE_HEADERS: dict[str, Any] = {
    "Link": {
        "description": 'The next page, when there is one: `<path?query&cursor=...>; rel="next"` '
        "(RFC 8288). Absent on the last page.",
        "schema": {"type": "string"},
    },
    "X-Next-Cursor": {
        "description": "The cursor of the next page, when there is one: the `cursor` "
        "to send for it.",
        "schema": {"type": "string"},
    },
}


def document_pages(schema: dict[str, Any]) -> None:
    """Each paged list of ``schema`` (a GET taking ``cursor``) documents the headers that name
    its next page, so a client generated from the OpenAPI can follow them."""
    for operations in schema.get("paths", {}).values():
        operation = operations.get("get")
        if not isinstance(operation, dict):
            continue
        params = operation.get("parameters", [])
        if not any(p.get("in") == "query" and p.get("name") == "cursor" for p in params):
            continue
        ok = operation.setdefault("responses", {}).setdefault("200", {"description": "OK"})
        ok.setdefault("headers", {}).update(NEXT_PAGE_HEADERS)


def paged(page: Page, request: Request, response: Response) -> list[dict[str, Any]]:
    """The page's rows; ``Link`` (and ``X-Next-Cursor``) name the next page if any."""
    if page.next_cursor is not None:
        url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
        response.headers["X-Next-Cursor"] = page.next_cursor
    return page.rows
