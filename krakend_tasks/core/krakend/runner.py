"""Run KrakenD itself: a binary on this host (arm64 under qemu), or the one inside a KrakenD image.

`run_krakend` runs a command to completion on some files (`test` uses test-plugin, `configure`
check -c); the image case mounts copies of the files (readable by the image's user) read-only and
runs KrakenD with no network.
`serve` starts `krakend run` and stops it on every path out (an error, Ctrl-C, SIGTERM): the
smoke run's gateway.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import krakend_tasks.engines.process as process
from krakend_tasks.core.targets import Arch, Libc, Target
from krakend_tasks.errors import ConfigError, ToolchainMissing

CONFIG_IN_IMAGE = "/etc/krakend/krakend.json"


def emulator(target: Target) -> list[str]:
    """The command prefix that runs this target's programs here (qemu for arm64 on amd64)."""
    if target.arch is Arch.AMD64 or platform.machine() in ("aarch64", "arm64"):
        return []
    qemu = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
    if not qemu:
        raise ToolchainMissing("qemu-aarch64 is needed to run arm64 programs on this amd64 host",
                               hint="apt-get install qemu-user")
    return [qemu, "-L", "/usr/aarch64-linux-gnu"] if target.libc is Libc.GENERIC else [qemu]


def binary_command(krakend_bin: str | Path) -> list[str]:
    """How to run a KrakenD binary here: itself, or under qemu when it is an arm64 build."""
    from krakend_tasks.core.golang.elf import program_target

    target = program_target(krakend_bin)
    return [*(emulator(target) if target else []), str(krakend_bin)]


def run_krakend(args: Sequence[str | Path], *, krakend_bin: str | Path | None = None, image: str | None = None,
                platform: str = "linux/amd64", pull: str = "missing", command: str = "krakend",
                timeout: float | None = None) -> tuple[int, str]:
    """`krakend ARGS`: its exit status and output. A Path in `args` names a file of this host; in an
    image it is mounted, and the argument becomes its path in the container. Past `timeout` seconds
    KrakenD is killed (ProcessTimedOut)."""
    if krakend_bin:
        try:
            done = process.run([*binary_command(krakend_bin), *map(str, args)], timeout=timeout)
        except OSError as exc:
            raise ConfigError(f"cannot run KrakenD binary {krakend_bin}: {exc.strerror or exc}",
                              hint="pass the path of an executable krakend (--krakend-bin)") from exc
        return done.status, done.output
    if not image:
        raise ConfigError("no KrakenD to run", hint="pass --krakend-bin PATH or --image IMAGE")
    from krakend_tasks.engines import containers

    # KrakenD's image runs as uid 1000: it reads copies any user can read, not the user's own folders
    with tempfile.TemporaryDirectory(prefix="krakend-tasks-files-") as tmp:
        Path(tmp).chmod(0o755)
        inside: list[str] = []
        for arg in args:
            if isinstance(arg, Path):
                copy = Path(tmp) / str(len(inside)) / arg.name
                copy.parent.mkdir(mode=0o755)
                shutil.copyfile(arg, copy)
                copy.chmod(0o644)
                inside.append(f"/krakend-tasks/{copy.relative_to(tmp)}")
            else:
                inside.append(arg)
        lines: list[str] = []
        code = containers.run(image, [command, *inside], label="krakend",
                              mounts=[containers.bind(Path(tmp), "/krakend-tasks", read_only=True)],
                              platform=platform, network="none", pull=pull, log=lines.append, entrypoint=[],
                              timeout=timeout)
    return code, "\n".join(lines)


class Running(NamedTuple):
    """A KrakenD started by `serve`: what it is, its log so far, and its exit status once it stopped."""

    what: str  # "binary /usr/bin/krakend", "image krakend:2.13.8"
    lines: list[str]  # filled as KrakenD writes them
    exit_status: Callable[[], int | None]  # None while it runs
    pid: Callable[[], int | None]  # KrakenD's process on this host (qemu's for an emulated one): its CPU, memory


@contextmanager
def serve(config: Path, *, krakend_bin: str | Path | None = None, image: str | None = None,
          mounts: Sequence[tuple[Path, str]] = (), platform: str = "linux/amd64", pull: str = "missing",
          ) -> Iterator[Running]:
    """`krakend run -c CONFIG`, as a binary or in an image (host network, `mounts` of host folders
    read-only, CONFIG at /etc/krakend/krakend.json); stopped and removed when the block ends."""
    if krakend_bin:
        with _serve_binary(config, krakend_bin) as running:
            yield running
    elif image:
        with _serve_image(config, image, mounts, platform, pull) as running:
            yield running
    else:
        raise ConfigError("no KrakenD to run", hint="pass --krakend-bin PATH or --image IMAGE")


@contextmanager
def _serve_binary(config: Path, krakend_bin: str | Path) -> Iterator[Running]:
    try:
        with process.started([*binary_command(krakend_bin), "run", "-c", str(config)]) as child:
            yield Running(f"binary {krakend_bin}", child.lines, child.poll, lambda: child.proc.pid)
    except OSError as exc:
        raise ConfigError(f"cannot run KrakenD binary {krakend_bin}: {exc.strerror or exc}",
                          hint="pass the path of an executable krakend (--krakend-bin)") from exc


@contextmanager
def _serve_image(config: Path, image: str, mounts: Sequence[tuple[Path, str]], platform: str,
                 pull: str) -> Iterator[Running]:
    from krakend_tasks.engines import containers

    binds = [containers.bind(config, CONFIG_IN_IMAGE, read_only=True),
             *(containers.bind(host, inside, read_only=True) for host, inside in mounts)]
    lines: list[str] = []
    with containers.started(image, ["run", "-c", CONFIG_IN_IMAGE], label="smoke", lines=lines, mounts=binds,
                        platform=platform, pull=pull, network="host") as (exit_status, pid):
        yield Running(f"image {image}", lines, exit_status, pid)
