"""The services, over their public HTTP APIs, with the signed-in user's own token.

The console keeps nothing of the procedure's data: every page reads it from
the services, every form writes it to them. A list is read whole by following
its ``Link: <...>; rel="next"`` headers.

Within one request to the console (``reading_once``), the same read of the same service
is asked once: two sections of a page that show the same list share its answer, and a
write forgets what was read before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qs, urlsplit

import httpx

from csc_console.settings import ConsoleSettings, ServiceName

MAX_PAGES = 100
"""A list longer than this many pages is cut (and says so): a page must come back."""
DOWNLOAD_SECONDS = 120.0
"""A document, a bundle or a chain check may read whole topics: longer than a page's read."""
PASSED_ON = ("content-disposition", "x-manifest-sha256")
"""The headers of a service's download a browser is given too."""


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]
    msg: str
    type: str
    code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def field(self) -> str:
        """The form field at fault: the body's top-level name (``body.customer_code``)."""
        parts = [p for p in self.loc if p not in ("body", "query", "path", "header")]
        return str(parts[0]) if parts else ""


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 answer of a service that refused a request."""

    status: int
    title: str
    detail: str
    clause: str | None = None
    errors: tuple[FieldProblem, ...] = ()
    code: str | None = None
    """The refusal's name (``capa.d4.before_d2``): the console says it in its reader's words."""
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, response: httpx.Response) -> Problem:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(response.status_code, response.reason_phrase, response.text[:500])
        errors = tuple(
            FieldProblem(
                tuple(e.get("loc") or ()),
                str(e.get("msg", "")),
                str(e.get("type", "")),
                _text(e.get("code")),
                _mapping(e.get("params")),
            )
            for e in body.get("errors") or ()
            if isinstance(e, dict)
        )
        return cls(
            status=response.status_code,
            title=str(body.get("title", response.reason_phrase)),
            detail=str(body.get("detail", "")),
            clause=body.get("clause"),
            errors=errors,
            code=_text(body.get("code")),
            params=_mapping(body.get("params")),
        )

    def for_field(self, name: str) -> list[FieldProblem]:
        return [e for e in self.errors if e.field == name]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


class Refused(Exception):
    """A service answered 4xx: the request is not recorded; ``problem`` says why."""

    def __init__(self, service: ServiceName, problem: Problem) -> None:
        super().__init__(f"{service}: {problem.status} {problem.detail}")
        self.service, self.problem = service, problem


class Unavailable(Exception):
    """A service did not answer, or answered 5xx: nothing is known to be recorded."""

    def __init__(self, service: ServiceName, reason: str, request: str = "") -> None:
        super().__init__(f"{service}: {reason}")
        self.service, self.reason = service, reason
        self.request = request
        """What was asked (method and URL), for the log: not shown on a page."""


class SignedOut(Exception):
    """A service refused the user's token (401): the user must sign in again."""


_Read = tuple[str, str, str, str]
"""A read as asked: the URL, its query (sorted), the token, what it accepts."""
_reads: contextvars.ContextVar[dict[_Read, asyncio.Task[httpx.Response]] | None] = (
    contextvars.ContextVar("console_reads", default=None)
)


class _Asked(TypedDict, total=False):
    """What a request carries beyond its method and URL (``Services._send_once``'s)."""

    params: dict[str, Any] | None
    json: Any
    idempotency_key: str | None
    accept: str
    content: bytes | None
    content_type: str | None
    slow: bool


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Within this block (one request to the console), a read asked again is answered
    from the first asking, even while that is still on its way."""
    token = _reads.set({})
    try:
        yield
    finally:
        _reads.reset(token)


@dataclass
class Services:
    settings: ConsoleSettings
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.service_timeout_seconds, transport=self.transport
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _send(
        self, service: ServiceName, method: str, url: str, token: str, **asked: Unpack[_Asked]
    ) -> httpx.Response:
        reads = _reads.get()
        if reads is not None and method == "GET":
            query = sorted(httpx.QueryParams(asked.get("params") or {}).multi_items())
            key = (url, str(query), token, asked.get("accept", "application/json"))
            if key not in reads:
                reads[key] = asyncio.ensure_future(
                    self._send_once(service, method, url, token, **asked)
                )
            # Shielded: one asker's cancellation does not cancel the read for the others.
            return await asyncio.shield(reads[key])
        if reads is not None:
            reads.clear()  # a write: what was read before it may have changed
        return await self._send_once(service, method, url, token, **asked)

    async def _send_once(
        self,
        service: ServiceName,
        method: str,
        url: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
        content: bytes | None = None,
        content_type: str | None = None,
        slow: bool = False,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = await self.client.request(
                method,
                url,
                params=params,
                json=json,
                content=content,
                headers=headers,
                timeout=DOWNLOAD_SECONDS if slow else self.settings.service_timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                service, f"no answer ({type(exc).__name__})", f"{method} {url}"
            ) from exc
        if response.status_code == 401:
            raise SignedOut(Problem.of(response).detail)
        if response.status_code >= 500:
            raise Unavailable(
                service, f"{response.status_code} {Problem.of(response).detail}", f"{method} {url}"
            )
        if response.status_code >= 400:
            raise Refused(service, Problem.of(response))
        return response

    async def get(
        self, service: ServiceName, path: str, token: str, params: dict[str, Any] | None = None
    ) -> Any:
        url = self.settings.service_url(service) + path
        return (await self._send(service, "GET", url, token, params=params)).json()

    async def get_all(
        self, service: ServiceName, path: str, token: str, params: dict[str, Any] | None = None
    ) -> list[Any]:
        """Every item of a list, page after page (``Link: rel="next"``)."""
        url: str | None = self.settings.service_url(service) + path
        items: list[Any] = []
        pages = 0
        while url is not None and pages < MAX_PAGES:
            response = await self._send(service, "GET", url, token, params=params)
            body = response.json()
            items.extend(body if isinstance(body, list) else [])
            following = response.links.get("next", {}).get("url")
            # The next link carries the query: do not add the first page's parameters again.
            url = str(response.url.join(following)) if following else None
            params, pages = None, pages + 1
        return items

    async def get_page(
        self, service: ServiceName, path: str, token: str, params: dict[str, Any] | None = None
    ) -> tuple[list[Any], str | None]:
        """One page of a list, and the cursor of the next (None on the last page)."""
        url = self.settings.service_url(service) + path
        response = await self._send(service, "GET", url, token, params=params)
        body = response.json()
        following = response.links.get("next", {}).get("url")
        cursor = None
        if following:
            query = parse_qs(urlsplit(following).query)
            cursor = next(iter(query.get("cursor") or []), None)
        return (body if isinstance(body, list) else []), cursor

    async def post(
        self,
        service: ServiceName,
        path: str,
        token: str,
        body: dict[str, Any],
        idempotency_key: str | None,
    ) -> Any:
        return await self._write("POST", service, path, token, body, idempotency_key)

    async def put(
        self,
        service: ServiceName,
        path: str,
        token: str,
        body: dict[str, Any],
        idempotency_key: str | None,
    ) -> Any:
        """A record set as a whole (capa's customer report format)."""
        return await self._write("PUT", service, path, token, body, idempotency_key)

    async def _write(
        self,
        method: str,
        service: ServiceName,
        path: str,
        token: str,
        body: dict[str, Any],
        idempotency_key: str | None,
    ) -> Any:
        url = self.settings.service_url(service) + path
        response = await self._send(
            service, method, url, token, json=body, idempotency_key=idempotency_key
        )
        return response.json() if response.content else None

    async def post_bytes(
        self,
        service: ServiceName,
        path: str,
        token: str,
        content: bytes,
        content_type: str,
        params: dict[str, Any],
        idempotency_key: str | None,
    ) -> Any:
        """A file's bytes as the body (capa's evidence), its type as Content-Type."""
        url = self.settings.service_url(service) + path
        response = await self._send(
            service,
            "POST",
            url,
            token,
            params=params,
            content=content,
            content_type=content_type,
            idempotency_key=idempotency_key,
        )
        return response.json() if response.content else None

    async def get_bytes(
        self, service: ServiceName, path: str, token: str, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """A file a service answers (evidence, a PDF, a spreadsheet): its bytes and headers."""
        url = self.settings.service_url(service) + path
        return await self._send(service, "GET", url, token, params=params, accept="*/*")

    async def download(
        self,
        service: ServiceName,
        path: str,
        token: str,
        params: dict[str, Any] | None = None,
    ) -> Download:
        """A document or bundle a service makes (PDF, XLSX, zip): its bytes and headers.

        Longer than a page's read: a bundle or a chain check reads whole topics."""
        url = self.settings.service_url(service) + path
        response = await self._send(service, "GET", url, token, params=params, slow=True)
        return Download(
            response.content,
            response.headers.get("content-type", "application/octet-stream"),
            {k: v for k, v in response.headers.items() if k.lower() in PASSED_ON},
        )

    async def get_slow(
        self, service: ServiceName, path: str, token: str, params: dict[str, Any] | None = None
    ) -> Any:
        """A read that takes long (a chain check, an as-of read from Kafka)."""
        url = self.settings.service_url(service) + path
        response = await self._send(service, "GET", url, token, params=params, slow=True)
        return response.json()


@dataclass(frozen=True)
class Download:
    content: bytes
    media_type: str
    headers: dict[str, str]
