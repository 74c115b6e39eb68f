"""Every refusal a service raises names its code, one code says one sentence, and the console
has that sentence in its reader's language.

The services' code is read, not imported (the console never imports a service): every call
of ``RuleViolation`` (and ``ClockRuleViolation``, and a subclass's ``super().__init__``) in
``services/*/src`` and ``shared/*/src``. A helper that passes its own ``code`` parameter on
(``_require(..., code=...)``) is followed to its callers, which must name the code.
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


def _message(call: ast.Call, skip: int) -> str:
    """The English sentence's shape: the f-string as written, its values as expressions."""
    args = call.args[skip:]
    return ast.unparse(args[0]) if args else ast.unparse(_keyword(call, "message") or call)


def _is_refusal(node: ast.Call, classes: set[str]) -> bool:
    if _name(node.func) in REFUSALS:
        return True
    # super().__init__(...) inside a subclass of RuleViolation
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "__init__"
        and isinstance(node.func.value, ast.Call)
        and _name(node.func.value.func) == "super"
        and bool(classes & REFUSALS)
    )


def _walk(found: Found, path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(ROOT))
    forwarders: dict[str, tuple[int, set[str]]] = {}
    """helper name -> (position of its ``code`` parameter, the params it adds itself)"""

    def visit(node: ast.AST, func: ast.FunctionDef | None, bases: set[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, None, {_name(b) for b in child.bases})
                continue
            if isinstance(child, ast.FunctionDef):
                visit(child, child, bases)
                continue
            if isinstance(child, ast.Call) and _is_refusal(child, bases):
                at = f"{where}:{child.lineno}"
                code = _keyword(child, "code")
                skip = 1 if _name(child.func) == "RuleViolation" else 0
                params = _keys(_keyword(child, "params"))
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found.sites[code.value].append(Site(at, _message(child, skip), params))
                elif isinstance(code, ast.Name) and func is not None:
                    names = [a.arg for a in func.args.args + func.args.kwonlyargs]
                    assert code.id in names, f"{at}: code {code.id} is not a parameter"
                    forwarders[func.name] = (names.index(code.id), params)
                elif isinstance(code, ast.Attribute) and code.attr == "code":
                    pass  # another refusal's code, passed on (sla's clock rules)
                else:
                    found.missing.append(at)
            visit(child, func, bases)

    visit(tree, None, set())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in forwarders:
            _, added = forwarders[_name(node.func)]
            code = _keyword(node, "code")
            at = f"{where}:{node.lineno}"
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                why = node.args[2] if len(node.args) > 2 else node.args[-1]
                found.sites[code.value].append(Site(at, ast.unparse(why), added))
            else:
                found.missing.append(at)


def refusals_in_services() -> Found:
    found = Found()
    for pattern in ("services/*/src/**/*.py", "shared/*/src/**/*.py"):
        for path in sorted(ROOT.glob(pattern)):
            _walk(found, path)
    return found


FOUND = refusals_in_services()


def test_every_refusal_names_its_code() -> None:
    assert FOUND.missing == []
    # the walk sees the refusals of every service that refuses (a broken walk finds none)
    services = {code.split(".")[0] for code in FOUND.sites}
    assert {"intake", "returns", "capa", "sla", "notify", "input", "request"} <= services
    assert len(FOUND.sites) > 80


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
