"""Engines: where a build command runs (a builder container, or the host toolchain)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from krakend_tasks.errors import ConfigError

if TYPE_CHECKING:
    from krakend_tasks.core.build import Engine
    from krakend_tasks.core.settings import Settings

ENGINES = ("auto", "docker", "local")


def select_engine(settings: Settings) -> Engine:
    """Return the engine the settings name; `auto` takes docker if a daemon answers, else local."""
    kind = settings.engine
    if kind not in ENGINES:
        raise ConfigError(f"unknown engine {kind!r}", hint=f"use one of: {', '.join(ENGINES)}")
    if kind in ("auto", "docker"):
        from krakend_tasks.engines.docker import DockerEngine, docker_client

        if kind == "docker":
            return DockerEngine(docker_client(), settings)
        try:
            return DockerEngine(docker_client(), settings)
        except Exception:
            pass
    from krakend_tasks.engines.local import LocalEngine

    return LocalEngine(settings)
