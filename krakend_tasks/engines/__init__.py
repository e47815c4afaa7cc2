"""Engines: where a build command runs (a builder container, or the host toolchain).

The caller chooses the engine and passes it to core.build; engines import nothing of core.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from krakend_tasks.engines.job import Engine, Log
from krakend_tasks.errors import ConfigError, DockerUnavailable
from krakend_tasks.logs import to_stderr

if TYPE_CHECKING:
    from krakend_tasks.core.project.settings import Settings

ENGINES = ("auto", "docker", "local")


def select_engine(kind: str = "auto", *, pull: str = "missing", network: str | None = None,
                  pass_env: tuple[str, ...] = (), netrc: Path | None = None, ssh_agent: str | None = None,
                  keep_failed_container: bool = False, log: Log = to_stderr) -> Engine:
    """The engine named `kind`; `auto` takes docker when a daemon answers, else local (and says why).
    `pass_env`, `netrc` and `ssh_agent` reach private modules from the builder container."""
    if kind not in ENGINES:
        raise ConfigError(f"unknown engine {kind!r}", hint=f"use one of: {', '.join(ENGINES)}")
    if kind in ("auto", "docker"):
        from krakend_tasks.engines.builder import DockerEngine
        from krakend_tasks.engines.containers import docker_client

        try:
            return DockerEngine(docker_client(), pull=pull, network=network, pass_env=pass_env, netrc=netrc,
                                ssh_agent=ssh_agent, keep_failed_container=keep_failed_container)
        except DockerUnavailable as exc:
            if kind == "docker":
                raise
            log(f"engine auto: building on the host (local engine), {exc.message}")
    from krakend_tasks.engines.local import LocalEngine

    return LocalEngine()


def engine_for(settings: Settings, log: Log = to_stderr) -> Engine:
    """The engine the settings name (engine, pull, network, pass_env, netrc, ssh_agent)."""
    return select_engine(settings.engine, pull=settings.pull, network=settings.network, pass_env=settings.pass_env,
                         netrc=netrc_file() if settings.netrc else None,
                         ssh_agent=agent_socket() if settings.ssh_agent else None,
                         keep_failed_container=settings.keep_failed_container, log=log)


def netrc_file() -> Path:
    """$NETRC, else ~/.netrc: the credentials file `netrc = true` mounts."""
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        raise ConfigError(f"netrc = true, but {path} is not a file",
                          hint="write it (machine HOST login USER password TOKEN), set NETRC, or set netrc = false")
    return path


def agent_socket() -> str:
    """$SSH_AUTH_SOCK: the agent `ssh_agent = true` forwards."""
    socket = os.environ.get("SSH_AUTH_SOCK", "")
    if not socket or not Path(socket).is_socket():
        raise ConfigError("ssh_agent = true, but SSH_AUTH_SOCK names no agent socket",
                          hint="start an agent (eval $(ssh-agent); ssh-add), or set ssh_agent = false")
    return socket
