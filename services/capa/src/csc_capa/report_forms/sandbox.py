"""Jinja2's immutable sandbox, with a customer's template's work bounded (see the package)."""

from __future__ import annotations

import functools
import re
import string
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from csc_capa.report_forms.language import _PROTECT, TemplateProblem
from csc_forms import EMPTY_CELL, department, moment

MAX_LOOP_DEPTH = 2  # a loop inside a loop
MAX_STEPS = 50_000  # loop iterations, calls and filters one render may take
MAX_OUTPUT = 1_000_000  # characters a template may render
MAX_VALUE = 100_000  # characters or items one value may have
MAX_REPEAT = MAX_VALUE  # items or characters one "*" may make
MAX_NUMBER_ARGUMENT = 10_000  # a width, a count, a length given to a call or filter
MAX_POWER_BITS = 10_000
_SOURCE = "<template>"


class NotRecorded(ChainableUndefined):
    """What is read from something not recorded yet: prints as a dash, has nothing in it."""

    __slots__ = ()

    def __str__(self) -> str:
        return EMPTY_CELL


class TooMuchWork(SecurityError):
    """A render past one of the bounds on a template's work (the module's docstring)."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's sandbox, with nothing recorded yet read as such and its work bounded.

    One environment renders one template once: ``steps`` counts what it did.
    Loops are counted through ``_Counted`` (the template's loops iterate
    through it), calls through ``call``, filters through their wrappers, and
    every operation that can make a long value from short ones ("*", "**",
    "+", "%", "~", str.format, replace, any number given as a width or count)
    is checked before it runs.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.steps = 0

    def spend(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise TooMuchWork(
                f"rendering takes more than {MAX_STEPS:,} steps (loop iterations, calls and "
                "filters); loop over fewer items or do less in each"
            )

    def getattr(self, obj: Any, attribute: str) -> Any:
        return _not_recorded(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        return _not_recorded(obj, argument, super().getitem(obj, argument))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.spend()
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and right > 0 and left.bit_length() * right > MAX_POWER_BITS:
            raise SecurityError("the power is too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_REPEAT:
                    raise SecurityError("the repetition is too long")
        if operator == "+" and _sized(left) and _sized(right):
            _check_size(len(left) + len(right))
        if operator == "%" and isinstance(left, str):
            _check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.spend()
        _check_arguments(args, kwargs)
        target = getattr(__obj, "__wrapped__", __obj)
        owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
        if isinstance(owner, str) and name in ("format", "format_map"):
            _check_brace_format(owner)
        if isinstance(owner, str) and name == "replace":
            _check_replace(owner, *args)
        result = super().call(__context, __obj, *args, **kwargs)
        if _sized(result):
            _check_size(len(result))
        return result

    def counted(self, items: Any) -> Iterator[Any]:
        for item in items:
            self.spend()
            yield item

    def sized(self, value: Any) -> Any:
        if _sized(value):
            _check_size(len(value))
        return value


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _check_size(size: int) -> None:
    if size > MAX_VALUE:
        raise TooMuchWork(f"a value of more than {MAX_VALUE:,} characters or items")


def _check_number(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER_ARGUMENT:
        raise TooMuchWork(
            f"a width, count or length of {value:,}; at most {MAX_NUMBER_ARGUMENT:,} is allowed"
        )


def _check_arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _check_number(value)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(text: str, values: Any) -> None:
    """``"%9999999d" % 1`` would make a value of that width before any size is seen."""
    for width, precision in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*":
                raise TooMuchWork("a width given as '*' in a % format")
            if number:
                _check_number(int(number))


def _check_brace_format(text: str) -> None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format will say what is wrong with it
    for _, _, spec, _ in parsed:
        for number in re.findall(r"\d+", spec or ""):
            _check_number(int(number))


def _check_replace(text: str, old: Any = None, new: Any = None, *_: Any) -> None:
    if isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        _check_size(len(text) + count * max(0, len(new) - len(old)))


def _filter(env: _Sandbox, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and whose numbers and result are in bounds."""

    @functools.wraps(function)  # keeps Jinja2's pass_context / pass_environment mark
    def bounded(*args: Any, **kwargs: Any) -> Any:
        env.spend()
        values = [a for a in args if not isinstance(a, Context | EvalContext | _Sandbox)]
        _check_arguments(values[1:], kwargs)
        if name == "format" and values and isinstance(values[0], str):
            _check_percent_format(values[0], values[1:])
        if name == "replace" and values and isinstance(values[0], str):
            _check_replace(*values[:3])
        result = function(*args, **kwargs)
        return env.sized(result)

    return bounded


class _Bounded(NodeTransformer):
    """Loops iterate through the environment's counter; a concatenation is size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        assert isinstance(node.iter, nodes.Expr)
        node.iter = _through(node.iter, "csc_counted")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _through(node, "csc_sized")


def _through(node: nodes.Expr, name: str) -> nodes.Expr:
    wrapped = nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)
    if node.environment is not None:
        wrapped.set_environment(node.environment)
    return wrapped


def _check_shape(template: nodes.Template) -> None:
    """Loops nest at most MAX_LOOP_DEPTH deep; a recursive loop has no depth bound at all."""

    def walk(node: nodes.Node, depth: int) -> None:
        for child in node.iter_child_nodes():
            inner = depth
            if isinstance(child, nodes.For):
                inner += 1
                if child.recursive:
                    raise TemplateProblem(
                        f"line {child.lineno}: a recursive loop is not allowed (its depth has "
                        "no bound); loop over the items themselves"
                    )
                if inner > MAX_LOOP_DEPTH:
                    raise TemplateProblem(
                        f"line {child.lineno}: loops nest {inner} deep; a template may nest "
                        f"them at most {MAX_LOOP_DEPTH} deep (a loop inside a loop)"
                    )
            walk(child, inner)

    walk(template, 0)


def _not_recorded(obj: Any, name: Any, value: Any) -> Any:
    missing = isinstance(value, Undefined) and not isinstance(value, NotRecorded)
    # Only a plain miss, never the sandbox's refusal, which must still fail.
    if missing and getattr(value, "_undefined_exception", None) is UndefinedError:
        empty_list = isinstance(obj, list) and isinstance(name, int)
        if obj is None or empty_list:
            return NotRecorded(obj=obj, name=name)
    return value


def _finalize(value: Any) -> str:
    if value is None or isinstance(value, NotRecorded):
        return EMPTY_CELL
    # str() of any other Undefined raises: an unknown name is an error, not a blank.
    return str(value).replace("\r\n", "\n").translate(_PROTECT)


def _first(items: Iterable[Any]) -> Any:
    return next(iter(items), NotRecorded(name="first"))


def _last(items: Sequence[Any]) -> Any:
    return items[-1] if items else NotRecorded(name="last")


def _moment_filter(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return moment(str(value)) or EMPTY_CELL if value else EMPTY_CELL


def _day(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)[:10] if value else EMPTY_CELL


def _department_filter(value: Any) -> str:
    return department(str(value)) if value else EMPTY_CELL


def _environment() -> _Sandbox:
    env = _Sandbox(
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., Any]] = {
        "department": _department_filter,
        "moment": _moment_filter,
        "day": _day,
        "first": _first,
        "last": _last,
    }
    env.filters.update(filters)
    for name, function in list(env.filters.items()):
        env.filters[name] = _filter(env, name, function)
    env.filters["csc_counted"] = env.counted
    env.filters["csc_sized"] = env.sized
    # lipsum(n) writes n paragraphs of filler: nothing a report needs, and a way around
    # the size bounds.
    env.globals.pop("lipsum", None)
    return env


def _render(template: str, capa: Mapping[str, Any], now: datetime) -> str:
    env = _environment()
    try:
        parsed = env.parse(template)
        _check_shape(parsed)
        compiled = env.from_string(_Bounded().visit(parsed))
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"line {error.lineno}: {error.message}") from error
    try:
        out: list[str] = []
        size = 0
        for chunk in compiled.generate(capa=capa, now=now):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateProblem(f"the report is longer than {MAX_OUTPUT} characters")
            out.append(chunk)
    except TemplateProblem:
        raise
    except Exception as error:  # anything a user's template can raise is its problem
        where = _template_line(error)
        if isinstance(error, TooMuchWork):
            what = "too much work"
        elif isinstance(error, SecurityError):
            what = "not allowed"
        else:
            what = type(error).__name__
        raise TemplateProblem(f"{where}{what}: {error}") from error
    return "".join(out)


def _template_line(error: BaseException) -> str:
    """Jinja2 rewrites the traceback so the template's own lines appear in it."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == _SOURCE]
    return f"line {lines[-1]}: " if lines else ""
