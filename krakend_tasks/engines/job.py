"""What every engine shares: the build job, the engine protocol and the log callback.

Core builds jobs and hands them to an engine; engines import nothing of core at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from krakend_tasks.core.targets import Recipe

Log = Callable[[str], None]  # a line, perhaps of a kind (krakend_tasks.logs)


class BuildJob(NamedTuple):
    """One `go build -buildmode=plugin` to run: what, for which target, into which file."""

    recipe: Recipe
    go: str  # the Go version KrakenD is built with: the build uses exactly it
    project: Path  # absolute source folder (holds go.mod)
    output: Path  # absolute path of the .so to write (atomically)
    modcache: str = "/go/pkg/mod"  # the module cache KrakenD compiled its modules from: ours must be it

    def go_args(self, ldflags: str, output: str) -> list[str]:
        """`go build -buildmode=plugin` with the recipe's tags, flags and package."""
        recipe = self.recipe
        args = ["go", "build", "-buildmode=plugin", "-buildvcs=false"]
        if recipe.tags:
            args.append(f"-tags={','.join(recipe.tags)}")
        args += recipe.build_flags
        if ldflags:
            args.append(f"-ldflags={ldflags}")
        return [*args, "-o", output, recipe.package]


class Engine(Protocol):
    """Where a build runs. `build` writes `job.output` or raises a KrakendTasksError."""

    name: str

    def go_environment(self, job: BuildJob) -> dict[str, str]:
        """The Go environment the build runs with (GOFLAGS, GOMODCACHE...), checked before it runs;
        UnloadableBuild when the engine cannot compile modules from KrakenD's module cache path."""
        ...

    def build(self, job: BuildJob, log: Log) -> None: ...


class OutputTail:
    """A Log that passes lines on and keeps the last ones, to explain a failure."""

    def __init__(self, log: Log, keep: int = 200) -> None:
        self.log, self.keep = log, keep
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.log(line)
        self.lines = [*self.lines[-self.keep + 1:], line]


PASSED_ENV = ("GOPRIVATE", "GOPROXY", "GONOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOINSECURE")  # private modules
PRIVATE = ("401 Unauthorized", "403 Forbidden", "terminal prompts disabled", "could not read Username",
           "Permission denied (publickey)", "Host key verification failed")


def build_failure_hint(lines: list[str]) -> str:
    """What to do about a failed build, from its last output lines."""
    if any(mark in line for line in lines for mark in PRIVATE):
        return ("a module needs credentials: set netrc = true (your ~/.netrc, or $NETRC, is mounted read-only) or "
                f"ssh_agent = true; {', '.join(PASSED_ENV)} are passed from this environment, more with "
                "pass_env (docs/recipes.md, private modules)")
    return "read the compiler output above; fix the code or go.mod, then build again"
