"""The Dockerfile, one for every image (``--build-arg SERVICE=<service>``), read with
dockerfile-parse for each service it builds (no image builder can fetch base images here)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from csc_contracts import SERVICES
from deploy.deploy_tools import DEPLOY, REPO

OCI_LABELS = {
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.version",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.vendor",
    "org.opencontainers.image.licenses",
}
CJK_FONT = "/usr/share/fonts/truetype/arphic/uming.ttc"
# Every image: the four services and the console.
IMAGES = (*SERVICES, "console")
BUILD_TOOLS = re.compile(r"\b(uv|pip|gcc|cc|make|build-essential|apt-get|git)\b")


DOCKERFILE = REPO / "Dockerfile"


def parsed(service: str) -> DockerfileParser:
    """The Dockerfile as the build of ``service``'s image reads it."""
    return DockerfileParser(path=str(DOCKERFILE), build_args={"SERVICE": service})


def stages(service: str) -> list[list[dict[str, Any]]]:
    parser = parsed(service)
    result: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result:
            result[-1].append(dict(instruction))
    return result


def arg_defaults(service: str) -> dict[str, str]:
    parser = parsed(service)
    defaults = {}
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            break
        if instruction["instruction"] == "ARG" and "=" in instruction["value"]:
            name, value = instruction["value"].split("=", 1)
            defaults[name] = value
    return defaults


def base_image(stage: list[dict[str, Any]], defaults: dict[str, str]) -> str:
    image = stage[0]["value"].split()[0]
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)


def deployment(service: str) -> dict[str, Any]:
    text = (DEPLOY / "base" / service / "deployment.yaml").read_text()
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@pytest.mark.parametrize("service", IMAGES)
def test_image_is_built_in_stages_from_the_lock(service: str) -> None:
    found = stages(service)
    assert len(found) >= 3, "uv, build and runtime stages"
    build = [i for i in found[-2] if i["instruction"] == "RUN"]
    syncs = [shlex.split(i["value"]) for i in build if i["value"].startswith("uv sync")]
    assert syncs, "the build stage installs with uv sync"
    for sync in syncs:
        assert "--frozen" in sync and "--no-dev" in sync
        assert sync[sync.index("--package") + 1] == "csc-${SERVICE}"
    assert f"csc-{service}" in package_scripts(service)


def package_scripts(service: str) -> dict[str, str]:
    project = tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())
    scripts: dict[str, str] = project["project"]["scripts"]
    return scripts


def test_the_image_needs_its_service_named() -> None:
    """No default service: a build without ``SERVICE`` stops and says what to pass."""
    build = stages("")[-2]
    args = [i["value"] for i in build if i["instruction"] == "ARG"]
    assert args == ["SERVICE"]
    checks = [i["value"] for i in build if i["instruction"] == "RUN"]
    assert checks[0].startswith('test -n "${SERVICE}"'), checks[0]


@pytest.mark.parametrize("service", IMAGES)
def test_runtime_stage_is_slim_non_root_and_without_build_tools(service: str) -> None:
    defaults = arg_defaults(service)
    runtime = stages(service)[-1]
    assert "-slim" in base_image(runtime, defaults)
    assert base_image(runtime, defaults) == base_image(stages(service)[-2], defaults), (
        "the venv's interpreter links need the same base in both stages"
    )
    for instruction in runtime:
        if instruction["instruction"] == "RUN":
            assert not BUILD_TOOLS.search(instruction["value"]), instruction["value"]
        if instruction["instruction"] == "COPY" and "--from=" in instruction["value"]:
            assert instruction["value"].split() in (
                ["--from=build", "/app/.venv", "/app/.venv"],
                ["--from=fonts", CJK_FONT, CJK_FONT],  # what the printed forms embed
            ), instruction["value"]
    # Every service prints a form with Chinese in it (att. 2-4, the PNPR, 8D / CPAR, the
    # Register): the font is embedded, not left to a reader's substitute.
    copies = [i["value"].split() for i in runtime if i["instruction"] == "COPY"]
    assert ["--from=fonts", CJK_FONT, CJK_FONT] in copies
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users, "the runtime stage sets a user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    pod = deployment(service)["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (int(uid), int(gid))


@pytest.mark.parametrize("service", IMAGES)
def test_image_has_no_healthcheck_and_carries_oci_labels(service: str) -> None:
    instructions = [i for stage in stages(service) for i in stage]
    assert not [i for i in instructions if i["instruction"] == "HEALTHCHECK"]
    labels = parsed(service).labels
    assert set(labels) >= OCI_LABELS
    assert labels["org.opencontainers.image.title"] == f"csc-{service}"


@pytest.mark.parametrize("service", IMAGES)
def test_image_runs_the_service_on_the_port_the_deployment_probes(service: str) -> None:
    runtime = stages(service)[-1]
    entrypoint = [i["value"] for i in runtime if i["instruction"] == "ENTRYPOINT"][-1]
    command = [i["value"] for i in runtime if i["instruction"] == "CMD"][-1]
    assert yaml.safe_load(entrypoint) == ["csc-service"]
    # The build links the image's command to the service's own script.
    build = [i["value"] for i in stages(service)[-2] if i["instruction"] == "RUN"]
    assert "ln -s csc-${SERVICE} /app/.venv/bin/csc-service" in build
    assert f"csc-{service}" in package_scripts(service)
    assert yaml.safe_load(command) == ["serve"]
    env = " ".join(i["value"] for i in runtime if i["instruction"] == "ENV")
    port = int(re.search(r"CSC_HTTP_PORT=(\d+)", env).group(1))  # type: ignore[union-attr]
    assert "CSC_HTTP_HOST=0.0.0.0" in env
    container = deployment(service)["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == port
    assert [i["value"] for i in runtime if i["instruction"] == "EXPOSE"] == [str(port)]


def test_build_context_is_only_what_the_images_need() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "allow-list: nothing enters the context unless named"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "shared/*/src/", "services/*/src/"} <= allowed
    assert not any(Path(p).parts[0] in {"tests", "deploy", "docs", ".csc"} for p in allowed)


def test_the_dependency_layer_copies_every_workspace_member() -> None:
    """Each member's pyproject must be there when uv resolves the workspace."""
    members = sorted(
        str(p.parent.relative_to(REPO))
        for p in REPO.glob("*/*/pyproject.toml")
        if "tests" not in p.parts
    )
    dockerfile = DOCKERFILE.read_text()
    for member in members:
        assert f"COPY {member}/pyproject.toml {member}/" in dockerfile, member
