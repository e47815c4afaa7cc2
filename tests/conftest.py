"""Shared fixtures. Tests use real Go, real cross compilers, qemu and a real Docker engine.

Where a component is absent, its tests skip, unless KT_REQUIRE names it (CI sets
KT_REQUIRE=docker,cross so that a missing component fails instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "hello-plugin"
VERSION = "2.13.8"
REQUIRED = set(filter(None, os.environ.get("KT_REQUIRE", "").split(",")))


def need(component: str, present: bool, why: str) -> None:
    if present:
        return
    if component in REQUIRED:
        pytest.fail(f"{component} is required here (KT_REQUIRE) but missing: {why}")
    pytest.skip(why)


def copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("dist*"))
    return dest


EXPECTED = {  # target -> (ELF architecture, libc) of its plugin
    "amd64-alpine": ("amd64", "musl"), "amd64-generic": ("amd64", "glibc"),
    "arm64-alpine": ("arm64", "musl"), "arm64-generic": ("arm64", "glibc"),
}


def build_example(tmp_path_factory, **settings):
    """Build a fresh copy of the example for every target: (settings, artifacts, log lines)."""
    from krakend_tasks.core.build import build
    from krakend_tasks.core.settings import load_settings

    project = copy_example(tmp_path_factory.mktemp(settings.get("engine", "auto")) / "hello")
    loaded = load_settings(project, **settings)
    lines: list[str] = []
    return loaded, build(loaded, log=lines.append), lines


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A fresh copy of the bundled example plugin."""
    return copy_example(tmp_path / "hello")


@pytest.fixture(scope="session")
def cross() -> None:
    tools = ["go", "gcc", "musl-gcc", "aarch64-linux-gnu-gcc", "aarch64-linux-musl-gcc", "qemu-aarch64"]
    missing = [t for t in tools if not shutil.which(t)]
    need("cross", not missing, f"missing host tools: {missing} (run .ci/setup-host.sh)")


@pytest.fixture(scope="session")
def docker_client():
    """A Docker client with the local builder images (.ci/builder-images.sh) present."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        need("docker", False, f"no Docker daemon: {exc}")
    for suffix in ("", "-linux-generic"):
        try:
            client.images.get(f"{builder_repo()}:{VERSION}{suffix}")
        except docker.errors.ImageNotFound:
            need("docker", False, f"builder image {builder_repo()}:{VERSION}{suffix} missing")
    return client


def builder_repo() -> str:
    return os.environ.get("KT_TEST_BUILDER", "local/krakend-builder")


def docker_settings() -> dict[str, str]:
    return {"engine": "docker", "builder": builder_repo(), "pull": "never", "version": VERSION}


def our_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "krakend-tasks"})


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600,
        ) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("KRAKEND_TASKS_VERSION", None)
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


PYTHON = sys.executable
