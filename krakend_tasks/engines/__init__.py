"""Engines: where a build command runs (a builder container, or the host toolchain).

The caller chooses the engine and passes it to core.build; engines import nothing of core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from krakend_tasks.engines.job import Engine, Log, log_to_stderr
from krakend_tasks.errors import ConfigError, DockerUnavailable

if TYPE_CHECKING:
    from krakend_tasks.core.settings import Settings

ENGINES = ("auto", "docker", "local")


def select_engine(kind: str = "auto", *, pull: str = "missing", network: str | None = None,
                  log: Log = log_to_stderr) -> Engine:
    """The engine named `kind`; `auto` takes docker when a daemon answers, else local (and says why)."""
    if kind not in ENGINES:
        raise ConfigError(f"unknown engine {kind!r}", hint=f"use one of: {', '.join(ENGINES)}")
    if kind in ("auto", "docker"):
        from krakend_tasks.engines.docker import DockerEngine, docker_client

        try:
            return DockerEngine(docker_client(), pull=pull, network=network)
        except DockerUnavailable as exc:
            if kind == "docker":
                raise
            log(f"engine auto: building on the host (local engine), {exc.message}")
    from krakend_tasks.engines.local import LocalEngine

    return LocalEngine()


def engine_for(settings: Settings, log: Log = log_to_stderr) -> Engine:
    """The engine the settings name (engine, pull, network)."""
    return select_engine(settings.engine, pull=settings.pull, network=settings.network, log=log)
