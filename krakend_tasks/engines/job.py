"""What every engine shares: the build job, the engine protocol and the log callback.

Core builds jobs and hands them to an engine; engines import nothing of core at run time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from krakend_tasks.core.targets import Recipe

Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildJob:
    """One `go build -buildmode=plugin` to run: what, for which target, into which file."""

    recipe: Recipe
    go: str  # the Go version KrakenD is built with: the build uses exactly it
    project: Path  # absolute source folder (holds go.mod)
    output: Path  # absolute path of the .so to write (atomically)
    package: str = "."
    modcache: str = "/go/pkg/mod"  # the module cache KrakenD compiled its modules from: ours must be it

    def go_args(self, ldflags: str, output: str) -> list[str]:
        args = ["go", "build", "-buildmode=plugin", "-buildvcs=false"]
        if ldflags:
            args.append(f"-ldflags={ldflags}")
        return [*args, "-o", output, self.package]


class Engine(Protocol):
    """Where a build runs. `build` writes `job.output` or raises a KrakendTasksError."""

    name: str

    def go_environment(self, job: BuildJob) -> dict[str, str]:
        """The Go environment the build runs with (GOFLAGS, GOMODCACHE...), checked before it runs;
        UnloadableBuild when the engine cannot compile modules from KrakenD's module cache path."""
        ...

    def build(self, job: BuildJob, log: Log) -> None: ...


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
