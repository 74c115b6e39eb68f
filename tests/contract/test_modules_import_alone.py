"""Every module of every package imports alone, as the first of its package in a fresh
interpreter (``python -c "import csc_audit.chain_commands"``): no import circle that only
some other module's having been imported first hides.

The packages are the import contracts' (``[tool.importlinter] root_packages``). One
interpreter, started clean, loads the third-party libraries the packages use; for each
package a child forked from it loads the other packages' modules that package uses, and
imports each of the package's modules in a child of its own, whose ``sys.modules`` holds
nothing of that package: the import the module gets on its own, without starting Python,
FastAPI and pydantic anew some two hundred times. A circle between packages is what the
import contracts forbid (``lint-imports``); this finds those inside one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run with ``python -c``; argv: the packages. Prints one JSON object: the modules it
# imported, and each failure's traceback.
_IMPORT_EACH_ALONE = r"""
import importlib, importlib.util, json, os, pkgutil, sys, traceback

packages = sys.argv[1:]

def package_of(name):
    return name.split(".")[0]

def ours(name):
    return package_of(name) in packages

def modules_of(package):
    spec = importlib.util.find_spec(package)
    found = [package]
    for info in pkgutil.walk_packages(spec.submodule_search_locations, package + "."):
        # A __main__ runs its command line: it is run, not imported.
        if info.name.rsplit(".", 1)[-1] != "__main__":
            found.append(info.name)
    return found

def in_child(work):
    # work() runs in a forked child and returns a string, which comes back through a pipe.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            out, code = work(), 0
        except BaseException:
            out, code = traceback.format_exc(), 1
        with os.fdopen(write, "w") as pipe:
            pipe.write(out)
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out

def survey(package):
    # walk_packages imports what it walks: done in a child, as everything of ours.
    def work():
        names = modules_of(package)
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException:
                pass  # reported below, by the child that imports it alone
        loaded = sorted(n for n in sys.modules if package_of(n) != package)
        return json.dumps({"modules": names, "loaded": loaded})
    return work

def importer(name):
    def work():
        importlib.import_module(name)
        return ""
    return work

def each_alone(package, names, others):
    # The other packages' modules this package uses are loaded first, unless one of them
    # would load this package's; then each of its modules in a child of its own.
    def work():
        for other in others:
            importlib.import_module(other)
            if any(package_of(n) == package for n in sys.modules):
                os._exit(3)
        failures = {}
        for name in names:
            code, out = in_child(importer(name))
            if code != 0:
                failures[name] = out or f"exit code {code}"
        return json.dumps(failures)
    return work

surveys = {}
for package in packages:
    code, out = in_child(survey(package))
    if code != 0:
        sys.exit(f"finding the modules of {package} failed:\n{out}")
    surveys[package] = json.loads(out)

# The libraries, loaded once here; one that fails to load here is loaded by each child
# that needs it.
for library in sorted({n for s in surveys.values() for n in s["loaded"] if not ours(n)}):
    try:
        importlib.import_module(library)
    except BaseException:
        pass
assert not any(ours(n) for n in sys.modules), "a library imported one of the packages"

names, failures = [], {}
for package, found in surveys.items():
    names += found["modules"]
    others = [n for n in found["loaded"] if ours(n)]
    code, out = in_child(each_alone(package, found["modules"], others))
    if code == 3:  # the others load this package: its modules each from here, alone
        code, out = in_child(each_alone(package, found["modules"], []))
    if code != 0:
        failures[package] = out or f"exit code {code}"
    else:
        failures.update(json.loads(out))
print(json.dumps({"modules": names, "failures": failures}))
"""


def _packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages: list[str] = config["tool"]["importlinter"]["root_packages"]
    return packages


# Some two hundred imports, each of its package anew: about 40 s of one core.
@pytest.mark.timeout(900)
def test_every_module_of_every_package_imports_alone() -> None:
    packages = _packages()
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE, *packages],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=850,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    modules = result["modules"]
    # Every package and its modules were reached (the audit and devkit tools among them).
    assert {m.split(".")[0] for m in modules} == set(packages)
    assert {"csc_audit.chain_commands", "csc_audit.cli", "csc_devkit.catalog"} <= set(modules)
    failures = result["failures"]
    assert not failures, "modules that do not import alone:\n" + "\n".join(
        f"--- {name}\n{trace}" for name, trace in failures.items()
    )
