"""Every 4xx of every service in one shape: RFC 9457 problem details.

``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and
``instance``; ``errors`` lists the fields at fault (``loc`` as FastAPI has it:
``["body", "sites", 0, "name"]``), ``clause`` the procedure's rule that refused.

Before a request reaches a route, ``BodyGuard`` reads its body within a size
limit and a time limit, and refuses a JSON body that is not UTF-8, not JSON, or
holds text that is not Unicode (a lone surrogate), saying where. Nothing is
recorded for a refused request: the route never runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csc_messaging.paging import document_pages
from csc_messaging.permissions import Forbidden
from csc_messaging.refusals import BadCursor, NotFound, RuleViolation

log = structlog.get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_BODY_EXTENSION = "x-max-body-bytes"
"""An operation's own body limit in its OpenAPI, where not the service's default."""
_TYPE = "urn:csc:problem:"
VALIDATION = _TYPE + "validation"
RULE = _TYPE + "rule"
FORBIDDEN = _TYPE + "forbidden"
BODY_TOO_LARGE = _TYPE + "body-too-large"
BODY_TIMEOUT = _TYPE + "body-timeout"
BODY_UNREADABLE = _TYPE + "body-unreadable"
BODY_MEDIA_TYPE = _TYPE + "body-media-type"


class FieldError(BaseModel):
    """One field at fault."""

    loc: list[str | int] = Field(
        description="Where: the part of the request (body, query, path, header), then the "
        "field's path in it."
    )
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="A short code of the kind of error (e.g. string_too_long).")
    code: str | None = Field(
        default=None,
        description="Where a rule of the procedure refuses the field: the refusal's code, as "
        "the problem's own ``code``.",
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="The values the error names (pydantic's context, e.g. max_length; or the "
        "rule's params), for saying it in another language.",
    )


class Problem(BaseModel):
    """RFC 9457 problem details: what every refused request answers."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(
        default="about:blank",
        description="A URI naming the kind of problem; about:blank when the status says it all.",
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(ge=100, le=599, description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for a person.")
    instance: str | None = Field(default=None, description="The request's path.")
    clause: str | None = Field(
        default=None, description="The procedure's clause whose rule refused the request."
    )
    errors: list[FieldError] | None = Field(
        default=None, description="The fields at fault, each with where and why."
    )
    code: str | None = Field(
        default=None,
        description="A stable name of this refusal (e.g. ``capa.root_cause.before_d2``, "
        "``forbidden``): one code, one sentence, whatever its values. A client that knows the "
        "code may say it in its reader's language from ``params``; one that does not shows "
        "``detail``.",
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="The values the refusal's sentence names, by name (e.g. ``status``, "
        "``due``); for 403 the ``action``, the departments ``allowed``, the ``user`` and "
        "their ``department``.",
    )


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        # A message may quote the request; text that is not Unicode (a lone surrogate)
        # is escaped rather than failing the answer.
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "backslashreplace"
        )


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    type_: str = "about:blank",
    title: str | None = None,
    clause: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> ProblemResponse:
    body = Problem(
        type=type_,
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        clause=clause,
        errors=list(errors) if errors is not None else None,
        code=code,
        params=params,
    )
    return ProblemResponse(
        body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers
    )


def _where(loc: Iterable[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _summary(errors: Sequence[FieldError]) -> str:
    shown = "; ".join(f"{_where(e.loc)}: {e.msg}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    count = "1 field is" if len(errors) == 1 else f"{len(errors)} fields are"
    return f"{count} invalid: {shown}{more}"


def _context(ctx: object) -> dict[str, Any] | None:
    """pydantic's context of an error (``max_length``, ``expected``...), where it is plain data."""
    if not isinstance(ctx, dict):
        return None
    plain = {
        str(k): v for k, v in ctx.items() if isinstance(v, str | int | float | bool) or v is None
    }
    return plain or None


def validation_problem(exc: RequestValidationError, instance: str) -> ProblemResponse:
    errors = []
    for error in exc.errors():
        loc = [p if isinstance(p, int) else str(p) for p in error.get("loc", ())]
        msg = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            # FastAPI's own JSON check (the guard's comes first): say what the parser said.
            msg = f"the body is not valid JSON: {error.get('ctx', {}).get('error', msg)}"
            loc = loc[:1]
        errors.append(
            FieldError(
                loc=loc,
                msg=msg,
                type=str(error.get("type", "invalid")),
                params=_context(error.get("ctx")),
            )
        )
    # The input is not echoed back: it may be large, and it is the caller's own.
    return problem(
        422,
        _summary(errors),
        instance=instance,
        type_=VALIDATION,
        title="The request is not valid",
        errors=errors,
    )


def _rule_location(request: Request, field: str) -> list[str | int]:
    if field in request.path_params:
        return ["path", field]
    if field in request.query_params:
        return ["query", field]
    if field in request.headers:
        return ["header", field]
    return ["body", field]


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal answers a ``Problem``; a failure of ours a 500 problem, logged."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> ProblemResponse:
        return validation_problem(exc, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 404:  # no route raises one: a path this service does not answer
            return problem(
                404,
                detail,
                instance=request.url.path,
                headers=headers,
                code="path.not_found",
                params={"path": request.url.path},
            )
        return problem(exc.status_code, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(RuleViolation)
    async def rule_violation(request: Request, exc: RuleViolation) -> ProblemResponse:
        invalid_input = exc.kind == "invalid"
        errors = None
        if exc.field is not None:
            loc = _rule_location(request, exc.field)
            errors = [
                FieldError(
                    loc=loc,
                    msg=exc.message,
                    type=f"rule {exc.clause}",
                    code=exc.code,
                    params=exc.params or None,
                )
            ]
        return problem(
            422 if invalid_input else 409,
            str(exc),
            instance=request.url.path,
            type_=RULE,
            title="A rule of the procedure refuses this request",
            clause=exc.clause,
            errors=errors,
            code=exc.code,
            params=exc.params or None,
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> ProblemResponse:
        return problem(
            403,
            str(exc),
            instance=request.url.path,
            type_=FORBIDDEN,
            title="Not for the caller's department",
            clause=exc.clause,
            code=exc.code,
            params=exc.params,
        )

    @app.exception_handler(BadCursor)
    async def bad_cursor(request: Request, exc: BadCursor) -> ProblemResponse:
        error = FieldError(loc=["query", "cursor"], msg=str(exc), type="cursor_invalid")
        return problem(
            422, f"query.cursor {exc}", instance=request.url.path, type_=VALIDATION,
            errors=[error],
        )  # fmt: skip

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> ProblemResponse:
        return problem(
            404, str(exc), instance=request.url.path, code=exc.code, params=exc.params or None
        )

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> ProblemResponse:
        log.error("http.failed", path=request.url.path, exc_info=exc)
        return problem(500, "the service failed to answer; it is logged", instance=request.url.path)


# Reading the body ------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, response: ProblemResponse) -> None:
        self.response = response


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _not_unicode(data: Any) -> tuple[list[str | int], str] | None:
    """The first string (key or value) holding a lone surrogate: its place and a description."""
    stack: list[tuple[list[str | int], Any]] = [([], data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            texts: list[tuple[list[str | int], str]] = [(loc, value)]
        elif isinstance(value, dict):
            texts = [(loc, key) for key in value]
            stack.extend(([*loc, key], item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            texts = []
            stack.extend(([*loc, i], item) for i, item in reversed(list(enumerate(value))))
        else:
            texts = []
        for where, text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = text[exc.start]
                return (
                    where,
                    f"is not Unicode text: a lone surrogate \\u{ord(bad):04x} at {exc.start}",
                )
    return None


def check_json_body(body: bytes) -> FieldError | None:
    """What makes ``body`` no JSON a service can read (RFC 8259: UTF-8 text), or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FieldError(
            loc=["body"],
            msg=f"the body is not UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start} "
            "cannot be decoded (JSON bodies must be UTF-8)",
            type="utf8_invalid",
        )
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        return FieldError(
            loc=["body"],
            msg=f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            type="json_invalid",
        )
    except RecursionError:
        return FieldError(loc=["body"], msg="the body is nested too deeply", type="json_invalid")
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        return FieldError(
            loc=["body"], msg=f"the body is not usable JSON: {exc}", type="json_invalid"
        )
    found = _not_unicode(data)
    if found is not None:
        loc, msg = found
        return FieldError(loc=["body", *loc], msg=msg, type="string_unicode")
    return None


@dataclass(frozen=True)
class _Takes:
    """What one operation takes as its request body."""

    json: bool
    max_bytes: int | None

    @classmethod
    def of(cls, operation: dict[str, Any]) -> _Takes:
        content = operation.get("requestBody", {}).get("content", {})
        limit = operation.get(MAX_BODY_EXTENSION)
        return cls(
            json=any(_is_json(media) for media in content),
            max_bytes=limit if isinstance(limit, int) else None,
        )


class BodyGuard:
    """Reads each request's body before the route does, bounded in size and in time.

    413 when Content-Length says the body is too large (before reading any of it) or
    once more than the limit has arrived; 408 when the body stops arriving (a client
    announcing more than it sends holds nothing for long); 415 when a route that takes
    JSON gets another type; 422 when a JSON body cannot be read. Each refusal closes
    the connection, since the rest of the body may still be on its way.

    What each route takes is read from the service's own OpenAPI: the media types of its
    request body, and ``x-max-body-bytes`` where it takes more (or less) than the default.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        openapi: Callable[[], dict[str, Any]],
        max_bytes: int,
        idle_seconds: float,
        total_seconds: float,
    ) -> None:
        self.app = app
        self.openapi = openapi
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds
        self._operations: list[tuple[Any, str, _Takes]] | None = None

    def _takes(self, scope: Scope) -> _Takes:
        if self._operations is None:
            self._operations = [
                (compile_path(path)[0], method.upper(), _Takes.of(operation))
                for path, operations in self.openapi().get("paths", {}).items()
                for method, operation in operations.items()
                if isinstance(operation, dict)
            ]
        path, method = scope.get("path", ""), scope.get("method", "")
        for regex, op_method, takes in self._operations:
            if op_method == method and regex.match(path):
                return takes
        return _Takes(json=False, max_bytes=None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read(scope, receive)
        except _Refused as refused:
            await refused.response(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        headers = Headers(scope=scope)
        path = scope.get("path", "")
        takes = self._takes(scope)
        limit = takes.max_bytes if takes.max_bytes is not None else self.max_bytes
        close = {"Connection": "close"}

        def too_large(size: str) -> _Refused:
            return _Refused(
                problem(
                    413,
                    f"the request body is {size}; this route takes at most {limit:,} bytes",
                    instance=path,
                    type_=BODY_TOO_LARGE,
                    title="The request body is too large",
                    headers=close,
                )
            )

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large(f"{int(declared):,} bytes")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total_seconds
        chunks: list[bytes] = []
        size = 0
        while True:
            wait = min(self.idle_seconds, deadline - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0)):
                    message = await receive()
            except TimeoutError:
                raise _Refused(
                    problem(
                        408,
                        f"the request body stopped arriving: {size:,} bytes came"
                        + (f" of the {int(declared):,} announced" if declared else "")
                        + f"; a body must come within {self.idle_seconds:g} s between parts "
                        f"and {self.total_seconds:g} s in all",
                        instance=path,
                        type_=BODY_TIMEOUT,
                        title="The request body did not arrive in time",
                        headers=close,
                    )
                ) from None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large(f"more than {limit:,} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and takes.json:
            # A route that takes a JSON document (the upload routes read their own type).
            content_type = headers.get("content-type")
            if not _is_json(content_type):
                raise _Refused(
                    problem(
                        415,
                        "this route takes application/json, not "
                        + (content_type or "a body of no type"),
                        instance=path,
                        type_=BODY_MEDIA_TYPE,
                        title="The request body's type is not accepted",
                    )
                )
            error = check_json_body(body)
            if error is not None:
                raise _Refused(
                    problem(
                        422,
                        error.msg,
                        instance=path,
                        type_=BODY_UNREADABLE,
                        title="The request body cannot be read",
                        errors=[error],
                    )
                )
        return body


# Documenting them --------------------------------------------------------------------------

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_WHY = {
    401: "No valid bearer token.",
    403: "The caller's department may not do this (names the clause and who may).",
    404: "The case or record named does not exist.",
    408: "The request body did not arrive in time.",
    409: "The case's state does not allow this now (names the clause).",
    413: "The request body is larger than this route takes.",
    415: "The request body is not of a type this route takes.",
    422: "The request is not valid: each field at fault, or the rule that refuses it.",
}


_WRITES = {"post", "put", "patch", "delete"}


def _codes(method: str, operation: dict[str, Any]) -> set[int]:
    parameters = operation.get("parameters", [])
    in_path = any(p.get("in") == "path" for p in parameters)
    writes = method in _WRITES
    codes: set[int] = set()
    if operation.get("security"):
        codes.add(401)
        if writes:
            codes.add(403)
    if in_path:
        codes |= {404, 409}
    if writes:
        codes |= {408, 409, 413}
    if "requestBody" in operation:
        codes.add(415)
    if writes or parameters:
        codes.add(422)
    return codes


def add_problems(schema: dict[str, Any]) -> None:
    """Each operation of ``schema`` lists the problems it may answer, each a ``Problem``."""
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for code in sorted(_codes(method, operation)):
                responses[str(code)] = {
                    "description": _WHY[code],
                    "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
                }
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    # Every 422 is a Problem: FastAPI's own shape is no longer answered.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def document_problems(app: FastAPI) -> None:
    """The service's OpenAPI documents its problems (``add_problems``) and the headers that
    name a list's next page (``document_pages``)."""
    generate = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until the routes change
        if done != [id(schema)]:
            add_problems(schema)
            document_pages(schema)
            done[:] = [id(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class HttpLimits(BaseModel):
    max_body_bytes: int = 256 * 1024
    body_idle_seconds: float = 10.0
    body_total_seconds: float = 60.0


def install_problems(app: FastAPI, limits: HttpLimits) -> None:
    """One call per service, once every route is in place."""
    install_error_handlers(app)
    app.add_middleware(
        BodyGuard,
        openapi=lambda: app.openapi(),
        max_bytes=limits.max_body_bytes,
        idle_seconds=limits.body_idle_seconds,
        total_seconds=limits.body_total_seconds,
    )
    document_problems(app)
