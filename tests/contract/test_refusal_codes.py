"""Every refusal a service raises names its code, one code says one sentence, and the console
has that sentence in its reader's language.

The services' code is read, not imported (the console never imports a service): every call
of ``RuleViolation`` (and ``ClockRuleViolation``, and a subclass's ``super().__init__``) in
``services/*/src`` and ``shared/*/src``. A helper that passes its own ``code`` parameter on
(``_require(..., code=...)``) is followed to its callers, which must name the code.

The same for every 404 and 403: each ``NotFound`` (and ``found(...)``, which raises it) names
its code, as ``Forbidden`` does; an ``HTTPException`` of 403 or 404, which can name none, and
a problem of 403 or 404 written without one, fail the walk.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from csc_console import refusals
from csc_console.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
REFUSALS = {"RuleViolation", "ClockRuleViolation"}
MISSING = {"NotFound"}
"""Refusals whose English names the missing record: one code, one sentence's shape (its words,
whatever the names of the values it quotes)."""
CODELESS = {"HTTPException"}
STATUSES = {"403", "404", "HTTP_403_FORBIDDEN", "HTTP_404_NOT_FOUND"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass
class Site:
    where: str
    message: str
    params: set[str] = field(default_factory=set)


@dataclass
class Found:
    sites: dict[str, list[Site]] = field(default_factory=lambda: defaultdict(list))
    missing: list[str] = field(default_factory=list)


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _keys(value: ast.expr | None) -> set[str]:
    if isinstance(value, ast.Dict):
        return {
            k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    return set()


def _shape(expr: ast.expr, values: dict[str, str] | None = None) -> str:
    """An f-string's words with ``{}`` for each value (``values`` for the names given)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if not isinstance(expr, ast.JoinedStr):
        return ast.unparse(expr)
    parts = []
    for part in expr.values:
        if isinstance(part, ast.FormattedValue):
            name = part.value.id if isinstance(part.value, ast.Name) else None
            parts.append((values or {}).get(name or "", "{}"))
        else:
            parts.append(_shape(part))
    return "".join(parts)


def _status(call: ast.Call) -> str:
    first = call.args[0] if call.args else _keyword(call, "status_code")
    if isinstance(first, ast.Constant):
        return str(first.value)
    return ast.unparse(first).split(".")[-1] if first is not None else ""


def _message(call: ast.Call, skip: int) -> str:
    """The English sentence's shape: the f-string as written, its values as expressions."""
    args = call.args[skip:]
    return ast.unparse(args[0]) if args else ast.unparse(_keyword(call, "message") or call)


def _is_refusal(node: ast.Call, classes: set[str]) -> bool:
    if _name(node.func) in REFUSALS | MISSING:
        return True
    if _name(node.func) == "problem" and _status(node) in STATUSES:
        return True
    # super().__init__(...) inside a subclass of RuleViolation
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "__init__"
        and isinstance(node.func.value, ast.Call)
        and _name(node.func.value.func) == "super"
        and bool(classes & REFUSALS)
    )


@dataclass
class Forwarder:
    """A helper that passes its ``code`` parameter on to the refusal it raises."""

    names: list[str]
    """its parameters, in order"""
    added: set[str]
    """the params it names itself"""
    missing: ast.expr | None = None
    """a ``NotFound``'s message, naming the helper's parameters"""


FORWARDERS: dict[str, Forwarder] = {}
"""The helpers every file may call (``csc_messaging.rules.found``), then each file's own."""


def _walk(
    found: Found, path: Path, shared: dict[str, Forwarder] | None = None, root: Path = ROOT
) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(root))
    forwarders: dict[str, Forwarder] = dict(shared or {})

    def visit(node: ast.AST, func: ast.FunctionDef | None, bases: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, None, {_name(b) for b in child.bases})
                continue
            if isinstance(child, ast.FunctionDef):
                visit(child, child, bases)
                continue
            if (
                isinstance(child, ast.Call)
                and _name(child.func) in CODELESS
                and _status(child) in STATUSES
            ):
                found.missing.append(f"{where}:{child.lineno}")
            if isinstance(child, ast.Call) and _is_refusal(child, bases):
                at = f"{where}:{child.lineno}"
                code = _keyword(child, "code")
                skip = 1 if _name(child.func) in {"RuleViolation", "problem"} else 0
                params = _keys(_keyword(child, "params"))
                missing = _name(child.func) in MISSING
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    message = (
                        _shape(child.args[0]) if missing and child.args
                        else _message(child, skip)
                    )  # fmt: skip
                    found.sites[code.value].append(Site(at, message, params))
                elif isinstance(code, ast.Name) and func is not None:
                    names = [a.arg for a in func.args.args + func.args.kwonlyargs]
                    assert code.id in names, f"{at}: code {code.id} is not a parameter"
                    said = child.args[0] if missing and child.args else None
                    forwarders[func.name] = Forwarder(names, params, said)
                elif isinstance(code, ast.Attribute) and code.attr == "code":
                    pass  # another refusal's code, passed on (sla's clock rules)
                else:
                    found.missing.append(at)
            visit(child, func, bases)

    visit(tree, None, set())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in forwarders:
            helper = forwarders[_name(node.func)]
            code = _keyword(node, "code")
            at = f"{where}:{node.lineno}"
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                added = helper.added | _keys(_keyword(node, "params"))
                if helper.missing is not None:
                    given = dict(zip(helper.names, node.args, strict=False))
                    given |= {k.arg: k.value for k in node.keywords if k.arg}
                    values = {name: _shape(value) for name, value in given.items()}
                    why = _shape(helper.missing, values)
                else:
                    arg = node.args[2] if len(node.args) > 2 else node.args[-1]
                    why = ast.unparse(arg)
                found.sites[code.value].append(Site(at, why, added))
            else:
                found.missing.append(at)
    if shared is None:  # the first pass: the shared helpers only
        FORWARDERS.update(forwarders)


def refusals_in_services() -> Found:
    paths = [
        path
        for pattern in ("services/*/src/**/*.py", "shared/*/src/**/*.py")
        for path in sorted(ROOT.glob(pattern))
    ]
    # csc_messaging's helpers are called from every service: read them first.
    for path in paths:
        if path.is_relative_to(ROOT / "shared/messaging"):
            _walk(Found(), path)
    found = Found()
    for path in paths:
        _walk(found, path, FORWARDERS)
    return found


FOUND = refusals_in_services()


def test_every_refusal_names_its_code() -> None:
    assert FOUND.missing == []
    # the walk sees the refusals of every service that refuses (a broken walk finds none)
    services = {code.split(".")[0] for code in FOUND.sites}
    assert {"intake", "returns", "capa", "sla", "notify", "input", "request"} <= services
    assert len(FOUND.sites) > 80
    # and every service's 404s, and the one of a path no service answers
    missing = {code for code in FOUND.sites if code.endswith("not_found")}
    assert {code.split(".")[0] for code in missing} >= {
        "intake",
        "returns",
        "capa",
        "sla",
        "notify",
        "path",
    }


def test_a_404_or_403_without_its_code_fails_the_walk(tmp_path: Path) -> None:
    source = tmp_path / "routes.py"
    source.write_text(
        "from fastapi import HTTPException, status\n"
        "def get(row):\n"
        "    if row is None:\n"
        "        raise HTTPException(status.HTTP_404_NOT_FOUND, 'no such row')\n"
        "    raise HTTPException(403, 'not yours')\n"
        "def missing(case_id):\n"
        "    raise NotFound(f'no case {case_id}')\n"
        "def shown(row):\n"
        "    return found(row, 'row')\n"
        "def fine(row):\n"
        "    return found(row, 'row', code='x.row.not_found')\n",
        encoding="utf-8",
    )
    walked = Found()
    _walk(walked, source, FORWARDERS, root=tmp_path)
    lines = sorted(int(at.rsplit(":", 1)[1]) for at in walked.missing)
    assert lines == [4, 5, 7, 9]
    assert [site.message for site in walked.sites["x.row.not_found"]] == ["no row"]


def test_one_code_says_one_sentence() -> None:
    shared = {
        code: sorted({site.message for site in sites})
        for code, sites in FOUND.sites.items()
        if len({site.message for site in sites}) > 1
    }
    assert shared == {}


def test_every_code_has_the_consoles_sentence_in_zh_cn() -> None:
    zh = translations("zh_CN")
    untranslated = []
    for code in sorted(FOUND.sites):
        sentence = refusals.SENTENCES.get(code)
        assert sentence is not None, f"{code} ({FOUND.sites[code][0].where}) has no sentence"
        if zh.ugettext(sentence) == sentence:
            untranslated.append(code)
    assert untranslated == []


def test_the_consoles_sentences_name_only_values_the_service_gives() -> None:
    for code, sites in FOUND.sites.items():
        sentence = refusals.SENTENCES[code]
        zh = translations("zh_CN").ugettext(sentence)
        for site in sites:
            assert set(PLACEHOLDER.findall(sentence)) <= site.params, (code, site.where)
            assert set(PLACEHOLDER.findall(zh)) == set(PLACEHOLDER.findall(sentence)), code


def test_the_console_knows_no_code_no_service_raises() -> None:
    # a code the services gave up would be a sentence no one reads; the 403s are Forbidden's
    # own (csc_messaging.permissions: a department's, and a department's manager's)
    assert set(refusals.SENTENCES) - set(FOUND.sites) == {"forbidden", "forbidden.manager"}
