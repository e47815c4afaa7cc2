"""The docker engine: a build in KrakenD's builder image, through engines/containers.py.

As KrakenD's official build does, modules compile from /go/pkg/mod (GOPATH=/go): a named volume
mounted there holds the module cache, shared by every target; the build cache has a volume per
Go version and target. Source is mounted read-only, credentials are mounted (never copied), and
the output is installed with the calling user's uid/gid (never root-owned files on the host).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from krakend_tasks.engines.containers import LABEL, bind, remove_kept, run, volume
from krakend_tasks.engines.job import PASSED_ENV, BuildJob, Log, OutputTail, build_failure_hint
from krakend_tasks.errors import BuildFailed

if TYPE_CHECKING:
    import docker

SECRETS = "/run/krakend-tasks"  # where credentials are mounted, read-only, never copied
BEFORE_BUILD_FAILED = 97  # the build script's status when before_build fails
MODULE_VOLUME = "krakend-tasks-gomod"  # Go's module cache: sources only, the same for every Go and target


def build_cache_volume(job: BuildJob) -> str:
    return f"krakend-tasks-gocache-{job.go}-{job.recipe.target.name}"


class DockerEngine:
    name = "docker"

    def __init__(self, client: docker.DockerClient, pull: str = "missing", network: str | None = None,
                 pass_env: tuple[str, ...] = (), netrc: Path | None = None, ssh_agent: str | None = None,
                 keep_failed_container: bool = False) -> None:
        self.client = client
        self.keep_failed_container = keep_failed_container  # a failed build's container stays for a look
        self.pull = pull  # missing | always | never
        self.network = network  # the build containers' network mode (None: the daemon's default)
        self.pass_env = (*PASSED_ENV, *pass_env)  # host variables the build sees, when they are set
        self.netrc = netrc  # a .netrc mounted read-only (NETRC points at it)
        self.ssh_agent = ssh_agent  # an SSH agent's socket, forwarded (SSH_AUTH_SOCK points at it)

    def credentials(self) -> tuple[dict[str, str], list[Any]]:
        """The variables and mounts that reach private modules: nothing is copied into the container."""
        env = {name: os.environ[name] for name in self.pass_env if name in os.environ}
        mounts = []
        if self.netrc:
            mounts.append(bind(self.netrc, f"{SECRETS}/netrc", read_only=True))
            env["NETRC"] = f"{SECRETS}/netrc"
        ca = os.environ.get("SSL_CERT_FILE")
        if ca and Path(ca).is_file():  # a private proxy or git server signed by your own CA
            mounts.append(bind(Path(ca), f"{SECRETS}/ca.pem", read_only=True))
            env["SSL_CERT_FILE"] = f"{SECRETS}/ca.pem"
        if self.ssh_agent:
            mounts.append(bind(Path(self.ssh_agent), f"{SECRETS}/ssh-agent.sock"))
            env["SSH_AUTH_SOCK"] = f"{SECRETS}/ssh-agent.sock"
            env.setdefault("GIT_SSH_COMMAND", "ssh -o StrictHostKeyChecking=accept-new")
        return env, mounts

    def go_environment(self, job: BuildJob) -> dict[str, str]:
        passed, _ = self.credentials()
        env = {"GOCACHE": "/cache/build", "GOFLAGS": "-buildvcs=false", **passed,
               **job.recipe.environment(on_host=False), "GOMODCACHE": job.modcache}
        gopath = gopath_for(job.modcache)
        return {**env, "GOPATH": gopath} if gopath else env

    def build(self, job: BuildJob, log: Log) -> None:
        recipe = job.recipe
        tmp_name = f".{job.output.name}.{os.getpid()}-{os.urandom(6).hex()}.partial"
        go = job.go_args('"$KT_LDFLAGS"', "/tmp/kt/plugin.so")
        seed = shlex.quote(f"/out/{job.output.name}")  # an up-to-date output lets Go skip the link
        steps = [f"mkdir -p /tmp/kt && {{ [ ! -f {seed} ] || cp -p {seed} /tmp/kt/plugin.so; }}"]
        if recipe.before_build:  # it may write files: into a copy, never into the read-only source
            steps += ["cp -a /src/. /tmp/kt/src", "cd /tmp/kt/src",
                      f"{{ sh -c {shlex.quote(recipe.before_build)} || exit {BEFORE_BUILD_FAILED}; }}"]
        steps += [" ".join(shlex.quote(a) if "$KT" not in a else a for a in go),  # the artifact is written only
                  f"{{ cmp -s /tmp/kt/plugin.so {seed} || install -m 0755 -o {os.getuid()} -g {os.getgid()} "
                  f"/tmp/kt/plugin.so /out/{shlex.quote(tmp_name)}; }}"]  # when Go linked a new one
        env = {**self.go_environment(job), "KT_LDFLAGS": recipe.linker_flags(on_host=False)}
        _, secrets = self.credentials()
        mounts = [bind(job.project, "/src", read_only=True), bind(job.output.parent, "/out"),
                  volume(MODULE_VOLUME, job.modcache), volume(build_cache_volume(job), "/cache"), *secrets]
        tmp = job.output.parent / tmp_name
        output = OutputTail(log)
        remove_kept(self.client)
        try:
            code = run(recipe.image, ["sh", "-c", " && ".join(steps)], label="build", mounts=mounts,
                       network=self.network, pull=self.pull, log=output, client=self.client, environment=env,
                       working_dir="/src", labels={f"{LABEL}.target": recipe.target.name},
                       keep_failed=self.keep_failed_container)
        except BaseException:  # Ctrl-C, SIGTERM: the container is gone, so is its partial output
            tmp.unlink(missing_ok=True)
            raise
        if code == BEFORE_BUILD_FAILED:
            tmp.unlink(missing_ok=True)
            raise BuildFailed(f"before_build failed for {recipe.target} in {recipe.image}: {recipe.before_build}",
                              hint=build_failure_hint(output.lines), lines=output.lines)
        if code != 0:
            tmp.unlink(missing_ok=True)
            raise BuildFailed(f"go build failed for {recipe.target} in {recipe.image} (exit {code})",
                              hint=build_failure_hint(output.lines), lines=output.lines)
        if tmp.exists() or not job.output.exists():  # else the same bytes as the artifact: it stays as it was
            os.replace(tmp, job.output)


def gopath_for(modcache: str) -> str | None:
    """The GOPATH whose module cache is `modcache` (/go for /go/pkg/mod), if it has that shape."""
    suffix = "/pkg/mod"
    return modcache[: -len(suffix)] or "/" if modcache.endswith(suffix) else None
