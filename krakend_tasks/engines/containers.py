"""Containers and images on a Docker engine, through the Docker SDK (engines/sdk.py): the client,
pulls, image builds, pushes, a file copied out of an image, containers run (logs streamed live,
removed on success, failure and Ctrl-C, or kept for a look). The docker build engine over them is
engines/builder.py.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from krakend_tasks import logs
from krakend_tasks.engines.job import Log
from krakend_tasks.engines.process import ProcessTimedOut, watchdog
from krakend_tasks.errors import BuildFailed, ConfigError, DockerUnavailable, ImageMissing, RegistryError

if TYPE_CHECKING:
    import docker

LABEL = "krakend-tasks"
KEPT = "krakend-tasks-kept-"  # the name a failed build's container is given when it is kept for a look


PING_TIMEOUT = 10  # seconds a daemon has to answer its first request
API_TIMEOUT = 60  # then, for each request (the SDK's default; log streams are not bound by it)


def _ssh_errors() -> tuple[type[Exception], ...]:
    """paramiko's errors, for DOCKER_HOST=ssh://... (an SSH server that refuses us, a bad key); only
    an ssh:// host has the SDK import paramiko (engines/sdk.py), and only then are they needed."""
    paramiko = sys.modules.get("paramiko")
    return (paramiko.SSHException,) if paramiko else ()


def docker_client() -> docker.DockerClient:
    """A client from the environment (DOCKER_HOST, podman's socket...) that answered: making it asks
    the daemon for its API version, which is all a ping would add."""
    from krakend_tasks.engines.sdk import docker, ssh_transport

    ssh_transport()
    where = os.environ.get("DOCKER_HOST", "the default socket")
    unreachable: tuple[type[Exception], ...] = (docker.errors.DockerException, OSError, *_ssh_errors())
    try:
        client = docker.from_env(timeout=PING_TIMEOUT)  # a daemon that accepts but never answers: seconds
    except unreachable as exc:
        raise DockerUnavailable(
            f"no Docker daemon answers at {where}: {exc}",
            hint="start Docker (or podman's socket), set DOCKER_HOST, or build on the host with --engine local",
        ) from exc
    except ValueError as exc:  # the SDK's own parse of DOCKER_HOST
        raise DockerUnavailable(f"DOCKER_HOST={where} is not a Docker address: {exc}",
                                hint="e.g. unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host") from exc
    client.api.timeout = API_TIMEOUT
    return client


def ensure_image(client: docker.DockerClient, image: str, pull: str, log: Log, platform: str = "linux/amd64") -> None:
    """Make sure `image` is present, pulling it per the pull policy (missing|always|never)."""
    from krakend_tasks.engines.sdk import docker

    present = True
    try:
        local = client.images.get(image)
    except docker.errors.ImageNotFound:
        present = False
    except docker.errors.APIError as exc:
        raise ConfigError(f"invalid image name {image!r}: {exc.explanation or exc}",
                          hint="image names look like repository[:tag], e.g. krakend/builder:2.13.8") from exc
    arch = platform.rpartition("/")[2]
    other = present and local.attrs.get("Architecture") not in (arch, None)  # one architecture per local tag
    if pull == "never" and (other or not present):
        held = f" (here it is linux/{local.attrs.get('Architecture')}, not {platform})" if other else ""
        raise ImageMissing(f"image {image} is not present for {platform} and pulling is off (pull=never){held}",
                           hint=f"`docker pull --platform {platform} {image}`, or set the image with `builder` / "
                                "`target.<name>.image`")
    if pull == "always" or other or not present:
        repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
        log(logs.progress(f"pulling {image} ({platform})"))
        try:
            client.images.pull(repo, tag=tag, platform=platform)
        except docker.errors.APIError as exc:
            if present and not other:
                log(logs.warning(f"warning: pull of {image} failed, using the local image: {exc.explanation or exc}"))
                return
            raise ImageMissing(f"image {image} is not present and could not be pulled: {exc.explanation or exc}",
                               hint="check the version and your registry access, or build/tag a local image and "
                                    "point `builder` (or `target.<name>.image`) at it") from exc


def copy_from_image(image: str, path: str, dest: Path, platform: str = "linux/amd64", pull: str = "missing") -> Path:
    """Copy one file out of an image for a platform (a container is created, never started)."""
    import io
    import tarfile

    from krakend_tasks.engines.sdk import docker

    client = docker_client()
    ensure_image(client, image, pull, lambda _: None, platform=platform)
    try:
        container = client.containers.create(image, command=["true"], labels={LABEL: "read"}, platform=platform)
    except docker.errors.APIError as exc:
        raise ImageMissing(f"cannot use image {image} for {platform}: {exc.explanation or exc}",
                           hint=f"`docker pull --platform {platform} {image}`, or allow pulling (--pull missing)",
                           ) from exc
    try:
        stream, _ = container.get_archive(path)
        data = b"".join(stream)
    except docker.errors.NotFound as exc:
        raise ImageMissing(f"image {image} has no {path}",
                           hint="pass a KrakenD image, or the binary itself (--krakend-bin)") from exc
    finally:
        removed(container)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.getmembers()[0]
        tar.extract(member, dest, filter="data")
    return dest / member.name


def bind(host: Path, target: str, read_only: bool = False) -> docker.types.Mount:
    """A bind mount (any host path, ':' included, unlike the `volumes` shorthand)."""
    from krakend_tasks.engines.sdk import docker

    return docker.types.Mount(target, str(host), type="bind", read_only=read_only)


def volume(name: str, target: str) -> docker.types.Mount:
    from krakend_tasks.engines.sdk import docker

    return docker.types.Mount(target, name, type="volume")


def run(image: str, command: list[str], *, label: str, mounts: list[Any] | None = None, platform: str | None = None,
        network: str | None = None, pull: str = "missing", log: Log = lambda _: None,
        client: docker.DockerClient | None = None, labels: dict[str, str] | None = None, timeout: float | None = None,
        keep_failed: bool = False, **options: Any) -> int:
    """Run `command` in `image` to completion (the image pulled per `pull`), streaming its output to
    `log`; the container, labelled krakend-tasks=`label`, is removed whatever happens (killed past
    `timeout` seconds: ProcessTimedOut)."""
    client = client or docker_client()
    ensure_image(client, image, pull, log, platform=platform or "linux/amd64")
    spec = dict(image=image, command=command, mounts=mounts or [], labels={LABEL: label, **(labels or {})},
                **options)
    if platform:
        spec["platform"] = platform
    if network:
        spec["network_mode"] = network
    return run_container(client, spec, log, timeout, keep_failed)


def build_image(client: docker.DockerClient, context: Path, dockerfile: str, tag: str, *, platform: str,
                buildargs: dict[str, str], label: str, log: Log, files: Sequence[str]) -> str:
    """`docker build` through the SDK: the image id, or BuildFailed with the build's own output.
    The build context holds only `files` (relative to `context`, the Dockerfile among them), links
    followed, never the whole folder."""
    import tarfile
    import tempfile

    from krakend_tasks.engines.sdk import docker

    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode="w", dereference=True) as tar:
            for name in files:
                tar.add(context / name, arcname=name, recursive=False)
        archive.seek(0)
        try:
            image, chunks = client.images.build(fileobj=archive, custom_context=True, dockerfile=dockerfile, tag=tag,
                                                rm=True, forcerm=True, buildargs=buildargs, platform=platform,
                                                labels={LABEL: label})
        except docker.errors.BuildError as exc:
            detail = "".join(str(chunk.get("stream") or chunk.get("error") or "") for chunk in exc.build_log)
            raise BuildFailed(f"docker build of {tag} failed: {exc.msg}\n{detail.strip()}",
                              hint="read the build log above; check the artifacts in dist/ and the config path"
                              ) from exc
    for chunk in chunks:
        stream = chunk.get("stream") if isinstance(chunk, dict) else None
        if isinstance(stream, str) and stream.strip():
            log(logs.output(stream.rstrip()))
    return str(image.id)


def push_image(client: docker.DockerClient, name: str, tag: str, log: Log) -> None:
    """`docker push name:tag` through the SDK, with the credentials of Docker's own config; a
    refusal or an unreachable registry is a RegistryError naming the registry."""
    from krakend_tasks.engines.sdk import docker

    host = name.split("/")[0] if "/" in name else "docker.io"
    log(logs.progress(f"pushing {name}:{tag}"))
    try:
        for chunk in client.images.push(name, tag=tag, stream=True, decode=True):
            if isinstance(chunk, dict) and chunk.get("error"):
                raise _push_refused(host, name, tag, str(chunk["error"]))
            if isinstance(chunk, dict) and chunk.get("status") and not chunk.get("progressDetail"):
                log(logs.detail(" ".join(str(chunk[k]) for k in ("id", "status") if chunk.get(k))))
    except docker.errors.APIError as exc:
        raise _push_refused(host, name, tag, str(exc.explanation or exc)) from exc


def credentials_for(registry: str) -> dict[str, str]:
    """What `docker login` left for `registry` (config.json's auths, credsStore, credHelpers), read
    through the SDK's auth helpers; {} when there is none."""
    from krakend_tasks.engines.sdk import docker

    index = "https://index.docker.io/v1/" if registry == "docker.io" else registry
    found = docker.auth.resolve_authconfig(docker.auth.load_config(), index)  # type: ignore[attr-defined]
    return dict(found or {})


def _push_refused(host: str, name: str, tag: str, detail: str) -> RegistryError:
    login = "unauthorized" in detail or "authentication required" in detail or "denied" in detail
    return RegistryError(f"registry {host} refused the push of {name}:{tag}: {detail}",
                         hint=f"`docker login {host}` as a user that may push to {name}" if login else
                         f"check that {host} is a registry that runs and that this Docker engine may reach")


def run_container(client: docker.DockerClient, options: dict[str, Any], log: Log, timeout: float | None = None,
                  keep_failed: bool = False) -> int:
    """Run a container to completion streaming its logs live; always remove it. A container the
    daemon refuses to create (an unknown network, a bad mount) is a ConfigError; one still running
    after `timeout` seconds is killed (ProcessTimedOut)."""
    import threading

    command = options.get("command")
    log(logs.detail(f"$ docker run {options['image']} {shlex.join(command) if isinstance(command, list) else ''}"))

    import requests

    from krakend_tasks.engines.sdk import docker

    def refused(exc: docker.errors.APIError) -> ConfigError:
        return ConfigError(f"Docker refused the {options['labels'].get(LABEL, '')} container of {options['image']}: "
                           f"{exc.explanation or exc}",
                           hint="check what it names: the network, the image (does it have that command?), paths")

    try:
        container = client.containers.create(**options)
    except docker.errors.APIError as exc:
        raise refused(exc) from exc
    disarm = removed_if_we_die(str(container.id))
    kept = False
    try:
        try:
            container.start()
        except docker.errors.APIError as exc:
            raise refused(exc) from exc
        streamer = threading.Thread(target=_stream_logs, args=(container, log), daemon=True)
        streamer.start()
        try:
            status = int((container.wait(timeout=timeout) if timeout else container.wait())["StatusCode"])
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
            if not timeout:
                raise
            container.kill()
            raise ProcessTimedOut([options["image"]], timeout, "") from exc
        streamer.join(timeout=5)
        if status != 0 and keep_failed:
            short = str(container.id)[:12]
            try:
                container.rename(f"{KEPT}{short}")  # what the next build removes: never another run's container
                until = "the next build removes it"
            except docker.errors.APIError:
                until = f"remove it with `docker rm {short}`"
            disarm()
            log(logs.warning(f"kept the failed container {short} for a look (keep_failed_container): docker commit "
                             f"{short} krakend-tasks-debug && docker run --rm -it --entrypoint sh krakend-tasks-debug; "
                             + until))
            kept = True
        return status
    finally:
        if not kept and removed(container):
            disarm()  # else the watchdog tries again when we exit


def remove_kept(client: docker.DockerClient) -> None:
    """Remove the build containers failed builds kept (keep_failed_container): those renamed when kept,
    never the container of another run's build, running or just ended and not yet collected."""
    for kept in client.containers.list(all=True, filters={"label": f"{LABEL}=build", "name": KEPT}):
        if (kept.name or "").startswith(KEPT):  # the filter matches the name anywhere
            removed(kept)


def removed(container: Any) -> bool:
    """Remove a container of ours. A failure (the daemon gone, a 409) is a warning on stderr: it never
    replaces the error in flight, if any."""
    try:
        container.remove(force=True)
        return True
    except Exception as exc:  # the SDK's errors, or requests' when the daemon is gone
        logs.to_stderr(logs.warning(f"warning: could not remove container {str(container.id)[:12]} (label {LABEL}): "
                                    f"{exc}; remove it with `docker rm -f {str(container.id)[:12]}`"))
        return False


def _stream_logs(container: Any, log: Log) -> None:
    pending = b""
    for chunk in container.logs(stream=True, follow=True):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            log(logs.output(line.decode(errors="replace")))
    if pending:
        log(logs.output(pending.decode(errors="replace")))


@contextmanager
def started(image: str, command: list[str], *, label: str, lines: list[str], mounts: list[Any] | None = None,
            platform: str = "linux/amd64", pull: str = "missing", network: str | None = None,
            ) -> Iterator[tuple[Callable[[], int | None], Callable[[], int | None]]]:
    """Start a container of `image` and keep it running while the block runs, its log lines appended
    to `lines`; yields its exit status (None while it runs) and its main process's pid on this host
    (None when it has none). It is removed whatever happens."""
    import threading

    from krakend_tasks.engines.sdk import docker

    client = docker_client()
    ensure_image(client, image, pull, lambda _: None, platform=platform)
    try:
        container = client.containers.create(image, command=command, mounts=mounts or [], platform=platform,
                                             labels={LABEL: label}, network_mode=network)
    except docker.errors.APIError as exc:
        raise ConfigError(f"Docker refused to create a container of {image}: {exc.explanation or exc}",
                          hint="check the image and the mounted paths") from exc

    def exit_status() -> int | None:
        try:
            container.reload()
        except docker.errors.APIError:
            return -1
        return int(container.attrs["State"]["ExitCode"]) if container.status in ("exited", "dead") else None

    def pid() -> int | None:
        try:
            container.reload()
        except docker.errors.APIError:
            return None
        return int(container.attrs["State"].get("Pid") or 0) or None

    disarm = removed_if_we_die(str(container.id))
    try:
        container.start()
        stream = container.logs(stream=True, follow=True)
        threading.Thread(target=_append_lines, args=(stream, lines), daemon=True).start()
        yield exit_status, pid
    finally:
        if removed(container):
            disarm()  # else the watchdog tries again when we exit


REMOVE = ("import sys, docker\ntry:\n    docker.from_env().api.remove_container(sys.argv[1], force=True)\n"
          "except Exception:\n    pass\n")


def removed_if_we_die(container: str) -> Callable[[], None]:
    """A container of ours is removed even if we are killed with SIGKILL (no orphan left running);
    Python starts only then. Returns `disarm`, for once we removed it ourselves."""
    return watchdog(f"exec {shlex.quote(sys.executable)} -c {shlex.quote(REMOVE)} {shlex.quote(container)}")


def _append_lines(stream: Any, lines: list[str]) -> None:
    pending = b""
    try:
        for chunk in stream:
            pending += chunk
            *done, pending = pending.split(b"\n")
            lines.extend(line.decode(errors="replace") for line in done)
    except Exception:  # the container was removed under the stream
        pass
    if pending:
        lines.append(pending.decode(errors="replace"))
