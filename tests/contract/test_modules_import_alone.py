"""Every module of every package imports alone, as the first of its package in a fresh
interpreter (``python -c "import csc_audit.chain_commands"``): no import circle that only
some other module's having been imported first hides.

The packages are the import contracts' (``[tool.importlinter] root_packages``). One
interpreter, started clean, first loads the third-party libraries the packages use, then
imports each module in a child forked from it, whose ``sys.modules`` holds none of the
packages: the import the module would get on its own, without starting Python, FastAPI and
pydantic anew some two hundred times.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run with ``python -c``; argv: the packages. Prints one JSON object: the modules it
# imported, and each failure's traceback.
_IMPORT_EACH_ALONE = r"""
import importlib, importlib.util, json, os, pkgutil, sys, traceback

packages = sys.argv[1:]

def ours(name):
    return name.split(".")[0] in packages

def modules():
    found = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        found.append(package)
        for info in pkgutil.walk_packages(spec.submodule_search_locations, package + "."):
            # A __main__ runs its command line: it is run, not imported.
            if info.name.rsplit(".", 1)[-1] != "__main__":
                found.append(info.name)
    return found

def in_child(work):
    # work() runs in a forked child; its output comes back through a pipe.
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

def survey():
    # walk_packages imports the packages it walks: done in a child, as everything of ours.
    names = modules()
    for name in names:
        importlib.import_module(name)
    libraries = sorted(n for n in sys.modules if not ours(n))
    return json.dumps({"modules": names, "libraries": libraries})

# The modules, and the libraries they use, found by a child; the libraries loaded here
# once. One that fails to load here is simply loaded by each child that needs it.
code, out = in_child(survey)
if code != 0:
    sys.exit("importing every module together failed:\n" + out)
found = json.loads(out)
names = found["modules"]
for library in found["libraries"]:
    try:
        importlib.import_module(library)
    except BaseException:
        pass
assert not any(ours(n) for n in sys.modules), "a library imported one of the packages"

def importer(name):
    def work():
        importlib.import_module(name)
        return ""
    return work

failures = {}
for name in names:
    code, out = in_child(importer(name))
    if code != 0:
        failures[name] = out or f"exit code {code}"
print(json.dumps({"modules": names, "failures": failures}))
"""


def _packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages: list[str] = config["tool"]["importlinter"]["root_packages"]
    return packages


def test_every_module_of_every_package_imports_alone() -> None:
    packages = _packages()
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE, *packages],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
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
