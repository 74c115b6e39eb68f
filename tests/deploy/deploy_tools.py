"""Tools the deploy tests need, installed on first use into ~/.cache/csc/tools.

kustomize comes from the Go module proxy (`go install`), the AsyncAPI JSON
schemas from the npm registry (`npm pack @asyncapi/specs`); both are pinned.
Without Go or npm the tests that need them skip, unless CSC_REQUIRE_DEPLOY_TOOLS=1
(CI) makes a missing tool a failure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("dev", "prod")

KUSTOMIZE_VERSION = "v5.8.0"  # v5.8.1+ needs Go 1.27
ASYNCAPI_SPECS_VERSION = "6.11.1"
ASYNCAPI_3_SCHEMA = "3.0.0-without-$id.json"
ASYNCAPI_3_SHA256 = "abe96881dbfaad495ccbb6bd8d3fb43ca18a13b9d7564849ccb66f39d5e5b20f"
# The Kubernetes minor whose schemas the manifests are checked against (the oldest we
# support: the preStop sleep action is GA from 1.30 on).
KUBERNETES_VERSION = "1.31.0"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "csc" / "tools"


def missing_tool(reason: str) -> NoReturn:
    if os.environ.get("CSC_REQUIRE_DEPLOY_TOOLS") == "1":
        pytest.fail(f"{reason} (CSC_REQUIRE_DEPLOY_TOOLS=1)")
    pytest.skip(reason)


def kustomize() -> Path:
    target = cache_dir() / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        missing_tool("kustomize is not cached and Go is not installed to build it")
    env = {**os.environ, "GOBIN": str(target.parent), "GOFLAGS": "-buildvcs=false"}
    subprocess.run(
        [go, "install", f"sigs.k8s.io/kustomize/kustomize/v5@{KUSTOMIZE_VERSION}"],
        env=env,
        check=True,
        timeout=600,
    )
    return target


def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay as `kustomize build` renders it: every resource, in order."""
    result = subprocess.run(
        [str(kustomize()), "build", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"kustomize build {overlay} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def asyncapi_3_schema() -> Path:
    target = cache_dir() / f"asyncapi-specs-{ASYNCAPI_SPECS_VERSION}" / ASYNCAPI_3_SCHEMA
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            missing_tool("the AsyncAPI 3.0 JSON schema is not cached and npm is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [npm, "pack", f"@asyncapi/specs@{ASYNCAPI_SPECS_VERSION}", "--silent"],
                cwd=tmp,
                check=True,
                timeout=300,
                capture_output=True,
            )
            (tarball,) = Path(tmp).glob("*.tgz")
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(f"package/schemas/{ASYNCAPI_3_SCHEMA}")
                assert member is not None
                data = member.read()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert digest == ASYNCAPI_3_SHA256, f"{target} is not the pinned schema ({digest})"
    return target
