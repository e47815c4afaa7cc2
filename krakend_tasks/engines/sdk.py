"""The Docker SDK, imported without what only ssh:// hosts need.

Importing `docker` imports its SSH transport, and with it paramiko: half a second, paid by every
command that talks to a daemon. Unless DOCKER_HOST is ssh://, the SDK is imported without it; an
ssh:// host that comes later in the same process gets the transport then (`ssh_transport`).
"""

from __future__ import annotations

import contextlib
import os
import sys


def _ssh_host() -> bool:
    return os.environ.get("DOCKER_HOST", "").startswith("ssh://")


if "docker" not in sys.modules and "paramiko" not in sys.modules and not _ssh_host():
    sys.modules["paramiko"] = None  # type: ignore[assignment]  # `import paramiko` fails, this once
    try:
        import docker
    finally:
        del sys.modules["paramiko"]

import docker  # noqa: E402


def ssh_transport() -> None:
    """Give the SDK its SSH transport when DOCKER_HOST is ssh:// and it was imported without it."""
    if _ssh_host() and not hasattr(docker.api.client, "SSHHTTPAdapter"):
        with contextlib.suppress(ImportError):  # no paramiko at all: the SDK says to install it
            from docker.transport.sshconn import SSHHTTPAdapter

            setattr(docker.api.client, "SSHHTTPAdapter", SSHHTTPAdapter)  # noqa: B010


__all__ = ["docker", "ssh_transport"]
