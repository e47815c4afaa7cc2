"""Build a plugin for the selected targets with the engine the caller chose; record the artifacts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from krakend_tasks import logs
from krakend_tasks.core.building.fidelity import refuse_unloadable
from krakend_tasks.core.files import identity
from krakend_tasks.core.golang import fingerprints
from krakend_tasks.core.golang.elf import registerers
from krakend_tasks.core.golang.fingerprints import Fingerprints
from krakend_tasks.core.golang.gomod import go_line_problem, read_go_mod
from krakend_tasks.core.krakend.editions import fingerprints_for
from krakend_tasks.core.plugin_types import enterprise_only
from krakend_tasks.core.project.manifest import Artifact, forget, prepare_dist, record
from krakend_tasks.core.project.settings import Settings
from krakend_tasks.core.targets import Target
from krakend_tasks.engines.job import BuildJob, Engine, Log
from krakend_tasks.errors import ConfigError, KrakendTasksError, UnloadableBuild

Progress = Callable[[str, str], None]  # (target name, "running" | "done" | "failed")


def build(settings: Settings, engine: Engine, log: Log = logs.to_stderr,
          progress: Progress = lambda target, state: None, keep_unloadable: bool = False) -> list[Artifact]:
    """Build every selected target with `engine` (engines.engine_for(settings) chooses the one the
    settings name); return the artifacts, also written to dist/manifest.json.

    Each artifact's packages are compared with KrakenD's: one that would not load is removed and
    UnloadableBuild raised, unless `keep_unloadable` (then it is kept with a warning).
    `progress` hears each target start and end (the live display on a terminal).
    """
    project = settings.project.resolve()
    gomod = read_go_mod(project / "go.mod")
    release = settings.release
    targets = list(settings.targets)
    problem = go_line_problem(gomod, release.go)
    if problem:
        raise ConfigError(problem, hint=f"set `go {release.go}` (or lower) in go.mod, or pick a newer KrakenD")
    for target in targets:
        if not release.has_builder(target):
            raise ConfigError(f"{release.name} has no {target.libc.value} builder",
                              hint="generic (glibc) builders exist from 2.1.3 on; pick alpine or a newer version")
    name = settings.plugin_name(gomod)
    dist = settings.dist_dir.resolve()
    jobs = [BuildJob(settings.recipe(target), release.go, project, dist / f"{name}-{release.version}-{target.name}.so",
                     modcache=settings.modcache) for target in targets]
    known = {t.arch.value: fingerprints_for(release, t.arch.value) for t in targets}
    for job in jobs:  # refuse before building anything
        table = known[job.recipe.target.arch.value]
        for said in refuse_unloadable(engine.go_environment(job), project, gomod,
                                         set(table.modules) if table else None, job.recipe.build_flags):
            log(logs.warning(f"[{job.recipe.target.name}] warning: {said}"))
    prepare_dist(dist)
    artifacts = []
    for target, job in zip(targets, jobs, strict=True):
        log(logs.progress(f"[{target.name}] building with {engine.name} engine, Go {release.go}, "
                          f"{release.name}"))
        started = time.monotonic()
        progress(target.name, "running")
        try:
            engine.build(job, log)
            judge_build(settings, target, job.output, known[target.arch.value], log, keep_unloadable)
        except BaseException:
            progress(target.name, "failed")
            raise
        artifact = Artifact(
            path=job.output.name, target=target.name, krakend=release.version, go=release.go,
            sha256=identity(job.output), size=job.output.stat().st_size, engine=engine.name,
            duration=round(time.monotonic() - started, 3),
        )
        record(dist, artifact)
        log(f"[{target.name}] wrote {job.output} ({artifact.size} bytes, {artifact.duration:.1f} s)")
        if release.edition == "ce" and (only := enterprise_only(registerers(job.output))):
            log(logs.warning(f"[{target.name}] warning: {job.output.name} exports {', '.join(only)} only, which "
                             f"KrakenD CE never looks up: built with KrakenD CE {release.version}'s data, it loads "
                             "in KrakenD Enterprise alone (edition = \"ee\", docs/editions.md)"))
        progress(target.name, "done")
        artifacts.append(artifact)
    return artifacts


def judge_build(settings: Settings, target: Target, output: Path, known: Fingerprints | None, log: Log,
                keep: bool) -> None:
    """Compare a new build's packages with KrakenD's (fingerprints where known, else the release's
    module versions); one that would not load is removed and refused, or kept with a warning."""
    krakend = known
    if krakend is None:
        from krakend_tasks.core.krakend.deps import for_release

        try:
            deps = for_release(settings.release, settings.release.libc(target))
        except KrakendTasksError as exc:
            log(logs.warning(f"[{target.name}] warning: not compared with KrakenD's modules: {exc.message}"))
            return
        krakend = Fingerprints({}, deps.source, deps.go, target.arch.value, deps.deps)
    result = fingerprints.compare(fingerprints.plugin_fingerprints(output), krakend, settings.modcache)
    if result.ok:
        return
    first = result.findings[0]
    said = f"{output.name} will not load in {settings.release.name}: {first.message}"
    if keep:
        log(logs.warning(f"[{target.name}] warning: {said} (kept: --keep-unloadable)"))
        return
    output.unlink(missing_ok=True)
    forget(output.parent, output.name)
    raise UnloadableBuild(f"[{target.name}] {said}; the build was removed",
                          hint=f"{first.fix}, then build again (--keep-unloadable keeps such a build)")
