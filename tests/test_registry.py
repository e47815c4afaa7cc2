"""A real registry (Debian's docker-registry, started by .ci/registry.sh): pull policies, and `ship
--push` of every architecture with one manifest list, judged by pulling each platform back and
loading its plugin in the real KrakenD of that architecture."""

import contextlib
import io
import ipaddress
import json
import os
import signal
import socket
import subprocess
import tarfile
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from krakend_tasks.core.serving.gateway import free_port
from krakend_tasks.engines.containers import ensure_image
from krakend_tasks.errors import ImageMissing

from .conftest import PYTHON, VERSION, krakend, our_containers, run
from .test_ship import shipped_project  # noqa: F401  (the fixture)


def scratch_image(client, tmp_path, tag, content):
    """A tiny image FROM scratch holding `content` in /v (built on this engine: linux/amd64)."""
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    (folder / "v").write_text(content)
    (folder / "Dockerfile").write_text("FROM scratch\nCOPY v /v\n")
    image, _ = client.images.build(path=str(folder), tag=tag)
    return image.id


def test_pull_policies_against_a_real_registry(registry, docker_client, tmp_path):
    """`always` gets the image changed in the registry since the last pull, `missing` keeps the
    local one, `never` refuses an absent image with a clear message."""
    name = f"{registry}/kt-pull-{uuid.uuid4().hex[:8]}"
    first = scratch_image(docker_client, tmp_path, f"{name}:1", "first")
    docker_client.images.push(name, tag="1")
    second = scratch_image(docker_client, tmp_path, f"{name}:1", "second")  # the registry changes...
    docker_client.images.push(name, tag="1")
    docker_client.images.get(first).tag(name, "1")  # ...while the local tag is still the first
    try:
        ensure_image(docker_client, f"{name}:1", "missing", lambda _: None)
        assert docker_client.images.get(f"{name}:1").id == first
        pulls = []
        ensure_image(docker_client, f"{name}:1", "always", pulls.append)
        assert docker_client.images.get(f"{name}:1").id == second and pulls == [f"pulling {name}:1 (linux/amd64)"]
        with pytest.raises(ImageMissing, match=rf"image {name}:2 is not present for linux/amd64 and pulling is off"):
            ensure_image(docker_client, f"{name}:2", "never", lambda _: None)
    finally:
        for image in (first, second):
            docker_client.images.remove(image, force=True)


def ship(project, *args, env=None):
    return run([PYTHON, "-m", "krakend_tasks", "ship", *args], project,
               {"KRAKEND_TASKS_PULL": "missing", **(env or {})})


def manifest(registry, repository, tag, auth=None):
    request = urllib.request.Request(f"http://{registry}/v2/{repository}/manifests/{tag}", headers={
        "Accept": "application/vnd.docker.distribution.manifest.list.v2+json, "
                  "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def plugin_of(client, image, platform, tmp_path):
    """The plugin file of `image` for `platform`, pulled back from the registry."""
    client.images.pull(image, platform=platform)
    assert client.images.get(image).attrs["Architecture"] == platform.split("/")[1]
    container = client.containers.create(image, platform=platform, labels={"krakend-tasks": "read"})
    try:
        stream, _ = container.get_archive("/opt/krakend/plugins/geo.so")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            tar.extract("geo.so", tmp_path / platform.split("/")[1], filter="data")
    finally:
        container.remove(force=True)
    return tmp_path / platform.split("/")[1] / "geo.so"


def test_ship_pushes_every_architecture_under_one_list(registry, shipped_project, docker_client, krakend_bins,  # noqa: F811
                                                        tmp_path):
    repository = f"geo-{uuid.uuid4().hex[:8]}"
    reference = f"{registry}/{repository}:1.0"
    out = ship(shipped_project, "--krakend-image", f"{registry}/krakend", "--arch", "all", "--tag", reference, "--push")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].startswith("krakend.json: krakend check -n -c: OK (image ")  # the image it ships in
    lines = [lines[0], *lines[2:]]
    assert lines[1].startswith(f"pushed {reference}-amd64 (linux/amd64, sha256:")
    assert lines[2].startswith(f"pushed {reference}-arm64 (linux/arm64, sha256:")
    assert lines[3].startswith(f"pushed {reference}@sha256:") and lines[3].endswith("linux/amd64, linux/arm64")
    listed = manifest(registry, repository, "1.0")
    assert listed["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert sorted(m["platform"]["architecture"] for m in listed["manifests"]) == ["amd64", "arm64"]
    for platform, target in (("linux/arm64", "arm64-alpine"), ("linux/amd64", "amd64-alpine")):
        plugin = plugin_of(docker_client, reference, platform, tmp_path)
        loaded = krakend(krakend_bins, target, "test-plugin", "-s", str(plugin))
        said = loaded.stdout + loaded.stderr
        assert "[OK] SERVER\tgeo.so" in said and loaded.returncode == 0, said
    served = run([PYTHON, "-m", "krakend_tasks", "smoke", "--shipped", "--tag", reference], shipped_project,
                 {"KRAKEND_TASKS_PULL": "missing"})  # the amd64 image, pulled last, serves the plugin
    assert served.returncode == 0, served.stdout + served.stderr
    again = ship(shipped_project, "--krakend-image", f"{registry}/krakend", "--arch", "all", "--tag", reference,
                 "--push")  # nothing changed: the same list
    assert again.returncode == 0 and again.stdout.splitlines()[4] == lines[3], again.stderr
    assert our_containers(docker_client) == []


def test_one_architecture_is_pushed_without_a_list(registry, shipped_project):  # noqa: F811
    reference = f"{registry}/geo-{uuid.uuid4().hex[:8]}:1"
    out = ship(shipped_project, "--krakend-image", f"{registry}/krakend", "--arch", "arm64", "--tag", reference,
               "--push")
    assert out.returncode == 0, out.stderr
    assert "one architecture: no manifest list needed" in out.stderr
    assert out.stdout.splitlines()[2].startswith(f"pushed {reference} (linux/arm64, sha256:")
    one = manifest(registry, reference.split("/")[1].split(":")[0], "1")
    assert one["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"


def test_without_push_each_architecture_has_its_own_tag(registry, shipped_project, docker_client):  # noqa: F811
    reference = f"geo-local-{uuid.uuid4().hex[:8]}:1"
    out = ship(shipped_project, "--krakend-image", f"{registry}/krakend", "--arch", "amd64,arm64", "--tag", reference)
    assert out.returncode == 0, out.stderr
    assert "no single local image" in out.stderr and "one architecture per tag" in out.stderr
    try:
        for arch in ("amd64", "arm64"):
            assert docker_client.images.get(f"{reference}-{arch}").attrs["Architecture"] == arch
    finally:
        for arch in ("amd64", "arm64"):
            docker_client.images.remove(f"{reference}-{arch}", force=True)


def docker_config(tmp_path, config):
    folder = tmp_path / "docker-config"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(folder)}


@pytest.fixture
def auth_registry(registry):
    host = os.environ.get("KT_AUTH_REGISTRY", "")
    if not host:
        pytest.fail("KT_REGISTRY is set but KT_AUTH_REGISTRY is not: .ci/registry.sh starts both")
    return host, os.environ["KT_AUTH_REGISTRY_USER"], os.environ["KT_AUTH_REGISTRY_PASSWORD"]


def test_a_registry_that_needs_a_login(auth_registry, shipped_project, tmp_path):  # noqa: F811
    """No login: exit 16 before anything is built. `docker login`'s entry in config.json, and a
    credential helper (the helper protocol, spoken by a script standing in for pass/secretservice,
    which need a desktop keyring): pushed. The password is never printed."""
    import base64

    host, user, password = auth_registry
    reference = f"{host}/geo-{uuid.uuid4().hex[:8]}:1"
    args = ["--krakend-image", f"{os.environ['KT_REGISTRY']}/krakend", "--arch", "amd64,arm64", "--tag", reference,
            "--push"]
    refused = ship(shipped_project, *args, env=docker_config(tmp_path, {}))
    assert refused.returncode == 16, refused.stderr
    assert f"registry {host} refused access without a login (HTTP 401)" in refused.stderr
    assert f"docker login {host}" in refused.stderr and "Traceback" not in refused.stderr
    assert "Successfully built" not in refused.stderr  # nothing was built
    login = {"auths": {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}
    pushed = ship(shipped_project, *args, env=docker_config(tmp_path, login))
    assert pushed.returncode == 0, pushed.stderr
    assert password not in pushed.stdout + pushed.stderr
    helper = tmp_path / "bin" / "docker-credential-kt"
    helper.parent.mkdir()
    helper.write_text(f"#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n"
                      f"printf '{{\"ServerURL\": \"%s\", \"Username\": \"{user}\", \"Secret\": \"{password}\"}}' "
                      f"\"$server\"\n")
    helper.chmod(0o755)
    env = {**docker_config(tmp_path, {"credHelpers": {host: "kt"}}), "PATH": f"{helper.parent}:{os.environ['PATH']}"}
    helped = ship(shipped_project, *args[:-3], "--tag", reference.replace(":1", ":2"), "--push", env=env)
    assert helped.returncode == 0, helped.stderr
    assert password not in helped.stdout + helped.stderr


def test_registries_that_do_not_answer_or_are_not_registries(registry, shipped_project):  # noqa: F811
    nobody = f"127.0.0.1:{free_port()}"
    out = ship(shipped_project, "--arch", "amd64", "--tag", f"{nobody}/geo:1", "--push",
               "--krakend-image", f"{registry}/krakend")
    assert out.returncode == 16 and f"registry {nobody} does not answer" in out.stderr, out.stderr

    class NotARegistry(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotARegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        web = f"127.0.0.1:{server.server_address[1]}"
        out = ship(shipped_project, "--arch", "amd64", "--tag", f"{web}/geo:1", "--push",
                   "--krakend-image", f"{registry}/krakend")
        assert out.returncode == 16 and "not as a registry does" in out.stderr, out.stderr
    finally:
        server.shutdown()


@pytest.mark.parametrize("reference", ["Geo:1", "geo:1@sha256:abc", "geo:-1", "reg.example.com//geo:1"])
def test_a_reference_that_is_not_one_is_refused_before_anything(shipped_project, reference):  # noqa: F811
    out = ship(shipped_project, "--tag", reference, "--push")
    assert out.returncode == 2 and "is not an image reference" in out.stderr, out.stderr
    assert not (shipped_project / "Dockerfile").exists()


def test_a_missing_architecture_names_the_session_that_builds_it(shipped_project):  # noqa: F811
    for path in (shipped_project / "dist").glob(f"*-{VERSION}-arm64-alpine.so"):
        path.unlink()
    manifest_file = shipped_project / "dist" / "manifest.json"
    data = json.loads(manifest_file.read_text())
    data["artifacts"] = [a for a in data["artifacts"] if "arm64" not in a["path"]]
    manifest_file.write_text(json.dumps(data))
    out = ship(shipped_project, "--arch", "all", "--no-build")
    assert out.returncode == 2 and "no arm64-alpine build" in out.stderr, out.stderr
    assert "nox -s build_arm64_alpine" in out.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_push_leaves_nothing_tagged_as_the_reference(registry, shipped_project, docker_client, sig):  # noqa: F811
    """Stopped while the architectures' images go up (the list is not written yet): the reference
    does not exist in the registry, the exit status says why, nothing of ours runs."""
    repository = f"geo-{uuid.uuid4().hex[:8]}"
    reference = f"{registry}/{repository}:1"
    proc = subprocess.Popen([PYTHON, "-m", "krakend_tasks", "ship", "--krakend-image", f"{registry}/krakend",
                             "--arch", "all", "--tag", reference, "--push"], cwd=shipped_project,
                            env={**os.environ, "KRAKEND_TASKS_PULL": "missing"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    said = []
    try:
        for line in proc.stderr:
            said.append(line)
            if line.startswith(f"pushing {reference}-arm64"):  # amd64's image is up, arm64's is going
                proc.send_signal(sig)
                break
        said += proc.stderr.readlines()
        assert proc.wait(timeout=60) == (143 if sig == signal.SIGTERM else -signal.SIGKILL), "".join(said)
    finally:
        proc.kill()
    assert any(line.startswith(f"pushing {reference}-arm64") for line in said), "".join(said)
    assert "Traceback" not in "".join(said)
    with pytest.raises(urllib.error.HTTPError) as absent:
        manifest(registry, repository, "1")
    assert absent.value.code == 404
    assert our_containers(docker_client) == []


def test_a_loopback_registry_with_an_engine_elsewhere_is_refused(registry, shipped_project):  # noqa: F811
    """The engine pushes and we write the list: with DOCKER_HOST on another machine's address, a
    127.0.0.1 registry would be two registries. The engine here is this machine's, reached through
    a forwarder on this machine's non-loopback address (no second machine exists here)."""
    socket_path = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # a UDP connect picks the address; it sends nothing
        address = probe.getsockname()[0]
    if ipaddress.ip_address(address).is_loopback:
        pytest.fail("this machine has no address but loopback: the test needs one")
    server = socket.create_server((address, 0))
    threading.Thread(target=forward, args=(server, socket_path), daemon=True).start()
    try:
        out = ship(shipped_project, "--krakend-image", f"{registry}/krakend", "--arch", "amd64", "--tag",
                   f"{registry}/geo:1", "--push", env={"DOCKER_HOST": f"tcp://{address}:{server.getsockname()[1]}"})
    finally:
        server.close()
    assert out.returncode == 16, out.stderr
    assert f"registry {registry} is this machine's loopback, but the Docker engine that pushes is on {address}" \
        in out.stderr and "Traceback" not in out.stderr
    assert "Successfully built" not in out.stderr  # refused before anything was built


def forward(server, socket_path):
    """Each connection to `server`, passed on to the Docker engine's unix socket."""
    def pump(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    with contextlib.suppress(OSError):
        while True:
            client, _ = server.accept()
            engine = socket.socket(socket.AF_UNIX)
            engine.connect(socket_path)
            threading.Thread(target=pump, args=(client, engine), daemon=True).start()
            threading.Thread(target=pump, args=(engine, client), daemon=True).start()
