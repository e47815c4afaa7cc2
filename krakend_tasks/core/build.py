"""Build a plugin for targets of the builder matrix, recording each artifact in a manifest."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from krakend_tasks.core import fingerprints, semver
from krakend_tasks.core.fidelity import refuse_unloadable
from krakend_tasks.core.files import locked, sha256, write_atomic
from krakend_tasks.core.gomod import GoMod, read_go_mod
from krakend_tasks.core.releases import Release
from krakend_tasks.core.settings import Settings
from krakend_tasks.core.targets import Recipe
from krakend_tasks.errors import ConfigError

Log = Callable[[str], None]
Progress = Callable[[str, str], None]  # (target name, "running" | "done" | "failed")
MANIFEST = "manifest.json"


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BuildJob:
    """One `go build -buildmode=plugin` to run: what, for which target, into which file."""

    recipe: Recipe
    release: Release
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


@dataclass(frozen=True)
class Artifact:
    """A built plugin and its record in dist/manifest.json."""

    path: str  # file name inside dist/
    target: str
    krakend: str
    go: str
    sha256: str
    size: int
    engine: str
    duration: float


def build(settings: Settings, engine: Engine | None = None, log: Log = log_to_stderr,
          progress: Progress = lambda target, state: None) -> list[Artifact]:
    """Build every selected target; return the artifacts, also written to dist/manifest.json.

    `progress` hears each target start and end (the live display on a terminal).
    """
    from krakend_tasks.engines import select_engine

    project = settings.project.resolve()
    gomod = read_go_mod(project / "go.mod")
    release = settings.release
    targets = settings.selected_targets()
    problem = go_line_problem(gomod, release.go)
    if problem:
        raise ConfigError(problem, hint=f"set `go {release.go}` (or lower) in go.mod, or pick a newer KrakenD")
    for target in targets:
        if not release.has_builder(target):
            raise ConfigError(f"KrakenD {release.version} has no {target.libc.value} builder",
                              hint="generic (glibc) builders exist from 2.1.3 on; pick alpine or a newer version")
    engine = engine or select_engine(settings)
    name = settings.name or plugin_name(gomod)
    dist = settings.dist_dir.resolve()
    jobs = [BuildJob(settings.recipe(target), release, project, dist / f"{name}-{release.version}-{target.name}.so",
                     modcache=settings.modcache) for target in targets]
    for job in jobs:  # refuse before building anything
        known = fingerprints.for_krakend(release.version, job.recipe.target.arch.value)
        for warning in refuse_unloadable(engine.go_environment(job), project, gomod,
                                         set(known.modules) if known else None):
            log(f"[{job.recipe.target.name}] warning: {warning}")
    dist.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for target, job in zip(targets, jobs, strict=True):
        log(f"[{target.name}] building with {engine.name} engine, Go {release.go}, KrakenD {release.version}")
        started = time.monotonic()
        progress(target.name, "running")
        try:
            engine.build(job, log)
        except BaseException:
            progress(target.name, "failed")
            raise
        artifact = Artifact(
            path=job.output.name, target=target.name, krakend=release.version, go=release.go,
            sha256=sha256(job.output), size=job.output.stat().st_size, engine=engine.name,
            duration=round(time.monotonic() - started, 3),
        )
        record(dist, artifact)
        log(f"[{target.name}] wrote {job.output} ({artifact.size} bytes, {artifact.duration:.1f} s)")
        progress(target.name, "done")
        artifacts.append(artifact)
    return artifacts


def plugin_name(gomod: GoMod) -> str:
    return gomod.module.rstrip("/").rsplit("/", 1)[-1]


def go_line_problem(gomod: GoMod, go: str) -> str | None:
    """Why go.mod's `go` line cannot build with KrakenD's Go version `go`, or None."""
    if gomod.go and semver.compare(f"v{gomod.go}", f"v{go}") > 0:
        return (f"{gomod.path} requires go {gomod.go}, but KrakenD is built with Go {go}: "
                "a plugin must use exactly that Go")
    return None


def read_manifest(dist: Path) -> list[Artifact]:
    path = dist / MANIFEST
    if not path.is_file():
        return []
    try:
        return [Artifact(**entry) for entry in json.loads(path.read_text())["artifacts"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint="delete it and build again") from None


def record(dist: Path, artifact: Artifact) -> None:
    """Add or replace the artifact's entry in dist/manifest.json: atomically, under a lock, so that
    builds running at once into one dist/ all keep their entry."""
    with locked(dist / MANIFEST):
        entries = [a for a in read_manifest(dist) if a.path != artifact.path] + [artifact]
        entries.sort(key=lambda a: a.path)
        write_atomic(dist / MANIFEST, json.dumps({"artifacts": [asdict(a) for a in entries]}, indent=2) + "\n")
