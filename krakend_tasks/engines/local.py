"""The local engine: the host's Go (pinned to the release's version) and C cross compilers.

Modules compile from KrakenD's module cache path (/go/pkg/mod, created when it can be), so the
packages a plugin shares with KrakenD get KrakenD's fingerprints.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import krakend_tasks.engines.process as process
from krakend_tasks.engines.job import BuildJob, Log, OutputTail, build_failure_hint
from krakend_tasks.errors import BuildFailed, ConfigError, ToolchainMissing, UnloadableBuild, require_go

APT_HINTS = {
    "musl-gcc": "apt-get install musl-tools",
    "aarch64-linux-gnu-gcc": "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
    "aarch64-linux-musl-gcc": "install musl:arm64 musl-dev:arm64 and the aarch64-linux-musl-gcc wrapper of "
                              "docs/recipes.md",
    "gcc": "apt-get install gcc",
}


class LocalEngine:
    """Runs `go build` on the host with GOTOOLCHAIN=go<release Go>, so Go matches KrakenD exactly."""

    name = "local"

    def __init__(self) -> None:
        self._warned = False

    def go_environment(self, job: BuildJob) -> dict[str, str]:
        """The host's environment, with the release's Go and KrakenD's module cache path (GOMODCACHE),
        which is created here: UnloadableBuild when this user cannot have it."""
        prepare_modcache(job.modcache)
        env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS") or "-buildvcs=false",
               **job.recipe.environment(on_host=True)}
        return {**env, "GOTOOLCHAIN": f"go{job.go}", "GOMODCACHE": job.modcache}

    def build(self, job: BuildJob, log: Log) -> None:
        require_go("to build on this host, or use --engine docker")
        full_env = self.go_environment(job)
        words = full_env.get("CC", "").split()
        if not words:
            raise ConfigError(f"CC is empty for {job.recipe.target}: Go needs a C compiler to build a plugin",
                              hint="unset CC, or set it (or the target's `cc` setting) to a compiler, e.g. gcc")
        cc = words[0]
        if not shutil.which(cc):
            raise ToolchainMissing(f"C compiler {cc!r} for {job.recipe.target} is not on PATH",
                                   hint=APT_HINTS.get(cc, f"install {cc}") + ", or use --engine docker")
        if not self._warned:
            log("local engine: Go is pinned to the release's; this host's libc may differ from the "
                "builder image's (build in Docker for a byte-exact match)")
            self._warned = True
        tmp = job.output.with_name(f".{job.output.name}.{os.getpid()}.partial")
        command = job.go_args(job.recipe.linker_flags(on_host=True), str(tmp))
        output = OutputTail(log)
        try:
            if job.recipe.before_build:
                code = run_streaming(["sh", "-c", job.recipe.before_build], job.project, full_env, output)
                if code != 0:
                    raise BuildFailed(f"before_build failed for {job.recipe.target} (exit {code}): "
                                      f"{job.recipe.before_build}", hint=build_failure_hint(output.lines),
                                      lines=output.lines)
            tmp.unlink(missing_ok=True)  # never written through a link planted at its name
            before = seed(job.output, tmp)
            code = run_streaming(command, job.project, full_env, output)
            if code != 0:
                raise BuildFailed(f"go build failed for {job.recipe.target} (exit {code})",
                                  hint=build_failure_hint(output.lines), lines=output.lines)
            if before is not None and tmp.stat().st_ino == before.st_ino:  # Go found it up to date and only
                os.utime(job.output, ns=(before.st_atime_ns, before.st_mtime_ns))  # touched it: it stays as it was
            else:
                os.replace(tmp, job.output)
        finally:
            tmp.unlink(missing_ok=True)


def seed(output: Path, tmp: Path) -> os.stat_result | None:
    """Show Go the previous artifact at `tmp`, as a hard link, so that Go can find it up to date and
    skip the link; the artifact's stat, or None when it cannot be linked (none yet, or links refused).
    Go never writes into the file at its output path: it renames its new file over it, or removes it
    first, so the artifact itself is never written through the link."""
    try:
        os.link(output, tmp)
    except OSError:
        return None
    return output.stat()


def prepare_modcache(modcache: str) -> None:
    """Create KrakenD's module cache path on this host, or say how to."""
    path = Path(modcache)
    with contextlib.suppress(OSError):  # not allowed: said below, with the fix
        path.mkdir(parents=True, exist_ok=True)
    if not (path.is_dir() and os.access(path, os.W_OK | os.X_OK)):
        raise UnloadableBuild(
            f"the module cache {modcache} cannot be created or written by this user: KrakenD compiled its modules "
            f"from {modcache}, and a plugin compiled from another module cache does not load",
            hint=f"sudo mkdir -p {modcache} && sudo chown $(id -u):$(id -g) {modcache}; or use --engine docker",
        )


def run_streaming(command: list[str], cwd: Path, env: dict[str, str], log: Log) -> int:
    """Run a command, passing each output line to `log` as it comes; return the exit status (the
    command and every process it started stopped on every way out: engines/process)."""
    return process.run(command, cwd=cwd, env=env, log=log).status
