"""Request bodies from an operation's JSON schema, biased towards the largest a route takes.

schemathesis draws a body the schema accepts; ``grow`` then makes it larger where the
schema lets it: free text at (or just under) its ``maxLength`` in characters that cost
the most once the CloudEvents JSON encoder escapes them (an emoji is 4 bytes in the
request and 12 in the record), lists at ``maxItems``, optional texts filled in. Fields
whose value depends on the case (a customer's code, a date after the report) are often
set to a value that the service accepts (``Known``), so that most bodies get past the
rules to the store. ``largest`` is the one deterministic "everything at its maximum"
body, cut down to fit the service's body limit (CSC_HTTP_MAX_BODY_BYTES).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st
from schemathesis.core import NotSet

Schema = dict[str, Any]
Known = Mapping[str, Callable[[], Any]]
"""Field name -> what to put there (called per request): a value the service accepts."""

OMIT = object()
"""A ``Known`` value that leaves the field out (the service's default, e.g. now)."""

EMOJI = "😀🧪🔩🏭\U0001f9d1‍🔧"  # the last one with a zero-width joiner
CJK = "裂缝壳体注塑模具温度偏低质量问题客户投诉"
ESCAPED = '"\\\n\t\r\x00\x01\x1f\x7f\u2028/'
TWO_BYTES = "éßЖΩñ"  # 2 bytes in UTF-8, 6 once escaped (\\u00e9)
ALPHABETS = {"emoji": EMOJI, "cjk": CJK, "escaped": ESCAPED, "two-bytes": TWO_BYTES}
ALL = EMOJI + CJK + ESCAPED + TWO_BYTES


def encoded(body: Any) -> bytes:
    """The body as the test sends it: UTF-8 as is (an emoji is 4 bytes, not a 12-byte escape)."""
    return json.dumps(body, ensure_ascii=False).encode()


def resolve(schema: Schema, components: Schema) -> Schema:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**components[name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def branch(schema: Schema, value: Any, components: Schema) -> Schema:
    """The branch of an ``anyOf`` a value is of (the service's schemas: X or null)."""
    schema = resolve(schema, components)
    options = [resolve(s, components) for s in schema.get("anyOf", [])]
    if not options:
        return schema
    if value is None:
        return next((s for s in options if s.get("type") == "null"), options[0])
    kinds = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array"}
    kind = kinds.get(type(value), "object")
    matching = [s for s in options if s.get("type") == kind]
    if kind == "integer":
        matching += [s for s in options if s.get("type") == "number"]
    return next(iter(matching), next((s for s in options if s.get("type") != "null"), options[0]))


def non_null(schema: Schema, components: Schema) -> Schema | None:
    schema = resolve(schema, components)
    if "anyOf" in schema:
        options = [resolve(s, components) for s in schema["anyOf"] if s.get("type") != "null"]
        return options[0] if len(options) == 1 else None
    return schema


def free_text(schema: Schema) -> bool:
    """A string of any characters, bounded only in length."""
    return (
        schema.get("type") == "string"
        and "maxLength" in schema
        and not {"pattern", "format", "enum", "const"} & schema.keys()
    )


def text_of(unit: str, length: int) -> str:
    """``length`` characters repeating ``unit`` (never a lone half of a joined emoji)."""
    return (unit * (length // len(unit) + 1))[:length]


@st.composite
def texts(draw: st.DrawFn, schema: Schema) -> str:
    """A free text biased to its longest, of the costliest characters once escaped."""
    low, high = schema.get("minLength", 0), schema["maxLength"]
    length = draw(
        st.sampled_from([high, high, high, max(low, high - 1), max(low, high // 2), low])
        | st.integers(low, high)
    )
    alphabet = draw(st.sampled_from([*ALPHABETS.values(), ALL]))
    unit = draw(st.text(alphabet=alphabet, min_size=1, max_size=8))
    return text_of(unit, length)


@st.composite
def grow(
    draw: st.DrawFn, schema: Schema, value: Any, components: Schema, known: Known, name: str = ""
) -> Any:
    """``value`` (valid for ``schema``) made larger where the schema allows."""
    if name in known and draw(st.integers(0, 9)) < 8:
        return known[name]()
    if value is None:
        option = non_null(schema, components)
        if option is not None and free_text(option) and draw(st.booleans()):
            return draw(texts(option))
        return None
    schema = branch(schema, value, components)
    if isinstance(value, str) and free_text(schema):
        return draw(texts(schema)) if draw(st.integers(0, 4)) else value
    if isinstance(value, list):
        items = schema.get("items", {})
        most = schema.get("maxItems")
        drawn = [draw(grow(items, v, components, known)) for v in value]
        if drawn and most is not None and draw(st.booleans()):
            # Full, of the items drawn (each drawn once: a thousand draws would take long).
            drawn = [drawn[i % len(drawn)] for i in range(most)]
        return drawn
    if isinstance(value, dict) and "properties" in schema:
        properties: dict[str, Schema] = schema["properties"]
        out = {}
        for prop, sub in properties.items():
            if prop in value:
                grown = draw(grow(sub, value[prop], components, known, prop))
            elif prop in known and draw(st.booleans()):
                grown = known[prop]()
            else:
                option = non_null(sub, components)
                if option is None or not free_text(option) or not draw(st.booleans()):
                    continue
                grown = draw(texts(option))
            if grown is not OMIT:
                out[prop] = grown
        return out
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        # A map (question -> score): at its most entries, each key at its longest.
        most, keys = schema.get("maxProperties"), schema.get("propertyNames", {})
        if (
            value
            and most is not None
            and free_text({"type": "string", **keys})
            and draw(st.booleans())
        ):
            unit = draw(st.text(alphabet=ALL, min_size=1, max_size=4))
            width = keys["maxLength"] - len(str(most))
            first = next(iter(value.values()))
            return {f"{i}{text_of(unit, width)}": first for i in range(most)}
        return value
    return value


def largest_value(schema: Schema, components: Schema, known: Known, name: str = "") -> Any:
    """Everything at its maximum: every field present, texts of emoji, lists full."""
    if name in known:
        return known[name]()
    schema = resolve(schema, components)
    option = non_null(schema, components) if "anyOf" in schema else schema
    if option is None:
        return None
    schema = option
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "string":
        if free_text(schema):
            return text_of(EMOJI, schema["maxLength"])
        return schema.get("default")
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "array":
        count: int = schema.get("maxItems") or schema.get("minItems") or 1
        return [largest_value(schema.get("items", {}), components, known) for _ in range(count)]
    if kind == "object" and "properties" in schema:
        out = {}
        for prop, sub in schema["properties"].items():
            value = largest_value(sub, components, known, prop)
            if value is not None and value is not OMIT:
                out[prop] = value
        return out
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        most = schema.get("maxProperties", 1)
        width = schema.get("propertyNames", {}).get("maxLength", 20) - len(str(most))
        item = largest_value(schema["additionalProperties"], components, known)
        return {f"{i}{text_of(EMOJI, width)}": item for i in range(most)}
    return schema.get("default")


def shrink(schema: Schema, value: Any, components: Schema, factor: float, known: Known) -> Any:
    """Every free text of ``value`` cut to ``factor`` of its length (not under its minimum),
    but for the fields ``known`` sets."""
    schema = branch(schema, value, components)
    if isinstance(value, str) and free_text(schema):
        keep = max(schema.get("minLength", 0), math.floor(len(value) * factor))
        return value[:keep]
    if isinstance(value, list):
        return [shrink(schema.get("items", {}), v, components, factor, known) for v in value]
    if isinstance(value, dict) and "properties" in schema:
        return {
            k: v if k in known else shrink(schema["properties"][k], v, components, factor, known)
            for k, v in value.items()
        }
    return value


def fit(schema: Schema, value: Any, components: Schema, limit: int, known: Known) -> Any:
    """``value`` with its free texts cut evenly until the body is at most ``limit`` bytes."""
    if len(encoded(value)) <= limit:
        return value
    low, high = 0.0, 1.0
    for _ in range(20):
        middle = (low + high) / 2
        if len(encoded(shrink(schema, value, components, middle, known))) <= limit:
            low = middle
        else:
            high = middle
    return shrink(schema, value, components, low, known)


@st.composite
def bodies(
    draw: st.DrawFn,
    base: st.SearchStrategy[Any],
    schema: Schema,
    components: Schema,
    known: Known,
    limit: int,
) -> Any:
    """A body drawn from ``base`` (schemathesis), grown, and often cut to fit ``limit``."""
    body = draw(base)
    if isinstance(body, NotSet):  # an optional body left out
        return body
    body = draw(grow(schema, body, components, known))
    if draw(st.integers(0, 3)):
        body = fit(schema, body, components, limit, known)
    return body


def largest(schema: Schema, components: Schema, known: Known, limit: int) -> Any:
    return fit(schema, largest_value(schema, components, known), components, limit, known)
