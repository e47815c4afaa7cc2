"""Real builds in builder containers on a real Docker engine.

No registry can be reached here, so the builder images are local stand-ins made by
.ci/builder-images.sh (Debian 12, the release's Go, the cross compilers) and set with the
`builder` setting, as a project with a private mirror would.
"""

import os
import signal
import subprocess
import sys

import pytest

from krakend_tasks import logs
from krakend_tasks.core.building.build import build
from krakend_tasks.core.golang.elf import read_elf
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.targets import parse_target
from krakend_tasks.core.verifying.testload import load_local
from krakend_tasks.engines.builder import DockerEngine
from krakend_tasks.engines.containers import docker_client
from krakend_tasks.errors import BuildFailed, DockerUnavailable, ImageMissing

from .conftest import (
    EXPECTED,
    VERSION,
    build_example,
    build_in,
    builder_repo,
    docker_settings,
    interrupt_when,
    our_containers,
    running_build_container,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory, docker_client):
    return build_example(tmp_path_factory, **docker_settings())


def test_all_targets_build_in_containers(built, docker_client):
    settings, artifacts, lines = built
    assert [a.target for a in artifacts] == list(EXPECTED)
    for a in artifacts:
        path = settings.dist_dir / a.path
        elf = read_elf(path)
        assert (elf.arch, elf.libc) == EXPECTED[a.target]
        assert elf.build_info.go == "1.25.12" and a.engine == "docker"
        stat = path.stat()
        assert (stat.st_uid, stat.st_gid) == (os.getuid(), os.getgid())
    # the compiler's own output streamed through (go build -x is not used; the banner is ours)
    assert any(line.startswith("[arm64-alpine] building with docker engine") for line in lines)
    assert our_containers(docker_client) == []


def test_cache_volumes_hold_the_go_caches(built, docker_client):
    """Modules in one volume mounted at /go/pkg/mod (KrakenD's path), the build cache per Go and target."""
    settings, artifacts, _ = built
    volumes = {v.name for v in docker_client.volumes.list()}
    assert {f"krakend-tasks-gocache-1.25.12-{t}" for t in EXPECTED} | {"krakend-tasks-gomod"} <= volumes
    listing = docker_client.containers.run(
        settings.recipe(parse_target("amd64-generic")).image,
        ["sh", "-c", "ls /cache/build | wc -l; ls /go/pkg/mod/github.com/google"],
        volumes={"krakend-tasks-gocache-1.25.12-amd64-generic": {"bind": "/cache", "mode": "ro"},
                 "krakend-tasks-gomod": {"bind": "/go/pkg/mod", "mode": "ro"}}, remove=True,
    ).decode().split()
    assert int(listing[0]) > 200  # a populated GOCACHE (256 shards + README, trim.txt)
    assert "uuid@v1.6.0" in listing  # the example's shared module, compiled from /go/pkg/mod
    again = build_in(load_settings(settings.project, **docker_settings(), targets="amd64-generic"))
    assert again[0].sha256 == next(a.sha256 for a in artifacts if a.target == "amd64-generic")


def test_docker_built_plugin_loads(built):
    settings, _, _ = built
    for target in ("amd64-generic", "arm64-alpine"):
        plugin = settings.dist_dir / f"hello-{VERSION}-{target}.so"
        result = load_local([plugin], ["server"], settings.recipe(parse_target(target)), settings.release)
        assert result.ok, result.output


def test_compile_error_leaves_no_container(example, docker_client):
    (example / "broken.go").write_text("package main\n\nfunc broken() { undefined_name() }\n")
    settings = load_settings(example, **docker_settings(), targets="amd64-alpine")
    lines: list[str] = []
    with pytest.raises(BuildFailed) as err:
        build_in(settings, log=lines.append)
    assert f"go build failed for amd64-alpine in {builder_repo()}:{VERSION}" in str(err.value)
    assert any("undefined: undefined_name" in line for line in lines)
    assert our_containers(docker_client) == []
    assert not list(settings.dist_dir.glob("*"))


def test_a_failed_builds_container_is_kept_when_asked_and_removed_by_the_next_build(example, docker_client):
    (example / "broken.go").write_text("package main\n\nfunc broken() { undefined_name() }\n")
    settings = load_settings(example, **docker_settings(), targets="amd64-alpine", keep_failed_container=True)
    lines: list[str] = []
    with pytest.raises(BuildFailed):
        build_in(settings, log=lines.append)
    [kept] = our_containers(docker_client)
    assert kept.status == "exited" and kept.labels["krakend-tasks"] == "build"
    assert kept.name == f"krakend-tasks-kept-{kept.id[:12]}"
    [said] = [line for line in lines if f"kept the failed container {kept.id[:12]} for a look" in line]
    assert logs.kind_of(said) == "warning"
    # another run's build that has just ended, its container not yet collected by that run
    other = docker_client.containers.run(f"{docker_settings()['builder']}:{VERSION}", ["true"],
                                         labels={"krakend-tasks": "build"}, detach=True)
    try:
        other.wait()
        (example / "broken.go").unlink()
        build_in(settings)
        assert [c.id for c in our_containers(docker_client)] == [other.id]  # the kept one only is gone
    finally:
        other.remove(force=True)


def test_a_container_that_cannot_be_removed_is_a_warning_never_the_error(capsys):
    """The SDK's own container object, its daemon gone (a real socket path nothing listens on)."""
    import docker

    from krakend_tasks.engines.containers import removed

    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.43")
    container = client.containers.prepare_model({"Id": "0123456789abcdef"})
    assert removed(container) is False
    err = capsys.readouterr().err
    assert err.startswith("warning: could not remove container 0123456789ab (label krakend-tasks): ")
    assert "docker rm -f 0123456789ab" in err


def test_missing_image(example, docker_client):
    settings = load_settings(example, **{**docker_settings(), "builder": "local/no-such-builder"},
                             targets="amd64-generic")
    with pytest.raises(ImageMissing) as err:
        build(settings, DockerEngine(docker_client, pull="never", network="host"), log=lambda _: None)
    assert "image local/no-such-builder:2.13.8-linux-generic is not present" in str(err.value)
    assert err.value.exit_code == 5
    assert our_containers(docker_client) == []


def test_no_daemon(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailable) as err:
        docker_client()
    assert "no Docker daemon answers at unix:///nonexistent/docker.sock" in str(err.value)
    assert "--engine local" in err.value.hint and err.value.exit_code == 4


def test_ctrl_c_removes_the_container(example, docker_client):
    """SIGINT to a running build: the process stops and its container is removed."""
    (example / "krakend-tasks.toml").write_text('[target.amd64-generic]\nenv = { GOFLAGS = "-a -buildvcs=false" }\n')
    # Ctrl-C as a terminal sends it, also when this suite runs in the background (which ignores SIGINT)
    code = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from krakend_tasks.core.building.build import build; "
            "from krakend_tasks.core.project.settings import load_settings; "
            "from krakend_tasks.engines import engine_for; "
            f"s = load_settings({str(example)!r}, targets='amd64-generic', **{docker_settings()!r}); "
            "build(s, engine_for(s))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = interrupt_when(proc, lambda: running_build_container(docker_client), signal.SIGINT, "the build container")
    assert proc.returncode != 0 and "KeyboardInterrupt" in output
    assert our_containers(docker_client) == []
    assert not list((example / "dist").glob("*.so"))
