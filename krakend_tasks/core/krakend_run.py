"""Run KrakenD itself on some files: a binary on this host, or the one inside a KrakenD image.

`test` (test-plugin) and `configure` (check -c) both need it; the image case mounts each file's
folder read-only and runs KrakenD with no network, through engines.docker.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from krakend_tasks.errors import ConfigError


def run_krakend(args: Sequence[str | Path], *, krakend_bin: str | Path | None = None, image: str | None = None,
                platform: str = "linux/amd64", pull: str = "missing", command: str = "krakend") -> tuple[int, str]:
    """`krakend ARGS`: its exit status and output. A Path in `args` names a file of this host; in an
    image it is mounted, and the argument becomes its path in the container."""
    if krakend_bin:
        try:
            proc = subprocess.run([str(krakend_bin), *map(str, args)], capture_output=True, text=True,
                                  errors="replace")
        except OSError as exc:
            raise ConfigError(f"cannot run KrakenD binary {krakend_bin}: {exc.strerror or exc}",
                              hint="pass the path of an executable krakend (--krakend-bin)") from None
        return proc.returncode, proc.stdout + proc.stderr
    if not image:
        raise ConfigError("no KrakenD to run", hint="pass --krakend-bin PATH or --image IMAGE")
    from krakend_tasks.engines import docker

    mounts: list[Any] = []
    inside: list[str] = []
    for arg in args:
        if isinstance(arg, Path):
            folder = f"/krakend-tasks/{len(mounts)}"
            mounts.append(docker.bind(arg.resolve().parent, folder, read_only=True))
            inside.append(f"{folder}/{arg.name}")
        else:
            inside.append(arg)
    lines: list[str] = []
    code = docker.run(image, [command, *inside], label="krakend", mounts=mounts, platform=platform, network="none",
                      pull=pull, log=lines.append, entrypoint=[])
    return code, "\n".join(lines)
