"""The docker engine: builds in the KrakenD builder image through the Docker SDK.

Source is mounted read-only, Go module and build caches live in one volume per target, logs
stream live, the container is removed on success, failure and Ctrl-C, and the output is
installed with the calling user's uid/gid (never root-owned files on the host).
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

from krakend_tasks.core.build import BuildJob, Log
from krakend_tasks.core.settings import Settings
from krakend_tasks.errors import BuildFailed, DockerUnavailable, ImageMissing

if TYPE_CHECKING:
    import docker

LABEL = "krakend-tasks"


def docker_client() -> docker.DockerClient:
    """A client from the environment (DOCKER_HOST, podman's socket...) that answered a ping."""
    import docker

    where = os.environ.get("DOCKER_HOST", "the default socket")
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(
            f"no Docker daemon answers at {where}: {exc}",
            hint="start Docker (or podman's socket), set DOCKER_HOST, or build on the host with --engine local",
        ) from None
    return client


def ensure_image(client: docker.DockerClient, image: str, pull: str, log: Log, platform: str = "linux/amd64") -> None:
    """Make sure `image` is present, pulling it per the pull policy (missing|always|never)."""
    import docker

    present = True
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        present = False
    if pull == "never" and not present:
        raise ImageMissing(f"image {image} is not present and pulling is off (pull=never)",
                           hint=f"`docker pull {image}`, or set the image with `builder` / `target.<name>.image`")
    if pull == "always" or not present:
        repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
        log(f"pulling {image} ({platform})")
        try:
            client.images.pull(repo, tag=tag, platform=platform)
        except docker.errors.APIError as exc:
            if present:
                log(f"pull of {image} failed, using the local image: {exc.explanation or exc}")
                return
            raise ImageMissing(f"image {image} is not present and could not be pulled: {exc.explanation or exc}",
                               hint="check the version and your registry access, or build/tag a local image and "
                                    "point `builder` (or `target.<name>.image`) at it") from None


class DockerEngine:
    name = "docker"

    def __init__(self, client: docker.DockerClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def build(self, job: BuildJob, log: Log) -> None:
        recipe = job.recipe
        ensure_image(self.client, recipe.image, self.settings.pull, log)
        tmp_name = f".{job.output.name}.partial"
        go = job.go_args('"$KT_LDFLAGS"', "/tmp/kt/plugin.so")
        seed = shlex.quote(f"/out/{job.output.name}")  # an up-to-date output lets Go skip the link
        script = " && ".join([
            f"mkdir -p /tmp/kt && {{ [ ! -f {seed} ] || cp -p {seed} /tmp/kt/plugin.so; }}",
            " ".join(shlex.quote(a) if "$KT" not in a else a for a in go),
            f"install -m 0755 -o {os.getuid()} -g {os.getgid()} /tmp/kt/plugin.so /out/{shlex.quote(tmp_name)}",
        ])
        env = {"GOCACHE": "/cache/build", "GOMODCACHE": "/cache/mod", "GOFLAGS": "-buildvcs=false",
               **recipe.environment(on_host=False), "KT_LDFLAGS": recipe.linker_flags(on_host=False)}
        volume = f"krakend-tasks-cache-{job.release.go}-{recipe.target.name}"
        run = dict(
            image=recipe.image, command=["sh", "-c", script], environment=env, working_dir="/src",
            volumes={str(job.project): {"bind": "/src", "mode": "ro"},
                     str(job.output.parent): {"bind": "/out", "mode": "rw"},
                     volume: {"bind": "/cache", "mode": "rw"}},
            labels={LABEL: "build", f"{LABEL}.target": recipe.target.name},
        )
        if self.settings.network:
            run["network_mode"] = self.settings.network
        code = run_container(self.client, run, log)
        tmp = job.output.parent / tmp_name
        if code != 0:
            tmp.unlink(missing_ok=True)
            raise BuildFailed(f"go build failed for {recipe.target} in {recipe.image} (exit {code})",
                              hint="read the compiler output above; fix the code or go.mod, then build again")
        os.replace(tmp, job.output)


def run_container(client: docker.DockerClient, options: dict[str, Any], log: Log) -> int:
    """Run a container to completion streaming its logs live; always remove it."""
    container = client.containers.create(**options)
    try:
        container.start()
        pending = b""
        for chunk in container.logs(stream=True, follow=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                log(line.decode(errors="replace"))
        if pending:
            log(pending.decode(errors="replace"))
        return int(container.wait()["StatusCode"])
    finally:
        container.remove(force=True)
