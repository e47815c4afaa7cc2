"""smoke: the built plugins in the real KrakenD CE 2.13.8 (binary and image, .ci/krakend.sh),
answering the declared requests; failures explained by KrakenD's own words; nothing left running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.project.settings import load_settings
from krakend_tasks.core.workflows.scaffold import new

from .conftest import PYTHON, VERSION, build_in, command_lines, copy_example, interrupt_when, our_containers, run


def smoke(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "krakend_tasks", "smoke", *args], project, env=env)


def krakends_running() -> list[str]:
    """`krakend run` processes of a smoke run (their config is in a krakend-tasks-smoke folder)."""
    return [c for c in command_lines("krakend-tasks-smoke-") if " run -c " in c]


def image_env(krakend_image: str) -> dict[str, str]:
    return {"KRAKEND_TASKS_KRAKEND_IMAGE": krakend_image.split(":")[0], "KRAKEND_TASKS_PULL": "never"}


@pytest.mark.parametrize("kind", ["server", "client", "modifier"])
def test_each_scaffold_passes_its_smoke_run_with_the_binary_and_in_the_shipped_image(
        tmp_path, kind, krakend_bins, krakend_image, docker_client):
    project = tmp_path / f"my-{kind}"
    new(project, kind, release=resolve(VERSION))
    build_in(load_settings(project, engine="local", targets="amd64-generic,amd64-alpine"))
    out = smoke(project, "--krakend-bin", str(krakend_bins["amd64-generic"]), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    # the [[smoke]] request and the spec of specs/, both written by `new`
    assert [(s["name"], s["ok"], s["status"]) for s in report["specs"]] == [("smoke-1", True, 200), (kind, True, 200)]
    assert report["target"] == "amd64-generic"
    assert report["ready_seconds"] < 5

    shipped = run([PYTHON, "-m", "krakend_tasks", "ship", "--tag", f"my-{kind}-gw:test"], project,
                  image_env(krakend_image))
    assert shipped.returncode == 0, shipped.stderr
    try:
        out = smoke(project, "--shipped", "--tag", f"my-{kind}-gw:test", env=image_env(krakend_image))
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"in image my-{kind}-gw:test" in out.stdout and "\tOK\t" in out.stdout
    finally:
        docker_client.images.remove(f"my-{kind}-gw:test", force=True)
    assert our_containers(docker_client) == [] and krakends_running() == []


@pytest.fixture
def hello(tmp_path, cross) -> Path:
    """The example, built for amd64 glibc (the binary's target)."""
    project = copy_example(tmp_path / "hello")
    build_in(load_settings(project, engine="local", version=VERSION, targets="amd64-generic"))
    return project


def test_the_default_is_krakends_image_and_the_musl_build(hello, krakend_image, docker_client):
    build_in(load_settings(hello, engine="local", version=VERSION, targets="amd64-alpine"))
    out = smoke(hello, env=image_env(krakend_image))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"smoke: hello (amd64-alpine) in image {krakend_image}, ready in ")
    assert lines[2].startswith("smoke-1\tGET /__hello\tOK\t") and lines[3].startswith("server\tGET /__hello\tOK\t")
    assert our_containers(docker_client) == []


def test_with_no_request_declared_each_plugin_must_be_registered(hello, krakend_bins, tmp_path):
    (hello / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(no spec declared)\tplugins registered, /__health\tOK" in out.stdout
    foreign_build(hello, tmp_path)
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 1
    assert "KrakenD refused plugin 'hello': plugin.Open(" in out.stdout
    assert "plugin was built with a different version of package github.com/google/uuid" in out.stdout


def foreign_build(project: Path, tmp_path: Path) -> None:
    """The plugin built by hand from another module cache: KrakenD refuses it."""
    dist = project / "dist" / f"hello-{VERSION}-amd64-generic.so"
    env = {**os.environ, "GOTOOLCHAIN": "go1.25.12", "GOMODCACHE": str(tmp_path / "gopath" / "pkg" / "mod")}
    subprocess.run(["go", "build", "-buildmode=plugin", "-o", str(dist), "."], cwd=project, env=env, check=True,
                   capture_output=True)
    subprocess.run(["chmod", "-R", "u+w", str(tmp_path / "gopath")], check=True)


def test_a_wrong_expectation_fails_with_what_came_back(hello, krakend_bins):
    with (hello / "krakend-tasks.toml").open("a") as f:
        f.write('\n[[smoke]]\npath = "/__hello"\ncontains = "goodbye"\n\n[[smoke]]\npath = "/nowhere"\nstatus = 201\n')
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]), "--json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert [(r["ok"], r["problems"]) for r in report["specs"]] == [
        (True, []), (False, ["the body does not contain 'goodbye'"]),
        (False, ["unexpected status code. have: 404, want: 201"]), (True, [])]
    assert report["specs"][1]["excerpt"] == "hello from hello"
    assert krakends_running() == []


def test_a_plugin_that_panics_in_its_handler_fails_with_krakends_log(hello, krakend_bins):
    main = hello / "main.go"
    main.write_text(main.read_text().replace('fmt.Fprintf(w, "hello from %s\\n", pluginName)',
                                             'panic("hello broke")'))
    build_in(load_settings(hello, engine="local", version=VERSION, targets="amd64-generic"))
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 1
    # a server plugin wraps KrakenD's router: Go's HTTP server recovers the panic and drops the connection
    assert 'smoke-1 ([[smoke]] #1): Get "http://localhost:8080/__hello": EOF' in out.stdout
    log = out.stdout.split("KrakenD's log")[1]
    assert "panic" in log and "hello broke" in log, out.stdout


def test_a_config_krakend_refuses_fails_with_krakends_message(hello, krakend_bins):
    config = json.loads((hello / "krakend.json").read_text())
    config["endpoints"][0]["backend"] = []  # KrakenD refuses an endpoint without backends
    (hello / "krakend.json").write_text(json.dumps(config))
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 1, out.stdout
    said = ("KrakenD exited with status 255 before answering /__health: ERROR parsing the configuration file: "
            "'krakend.json': ignoring the ' /hello' endpoint, since it has 0 backends defined!\n")
    assert said in out.stdout, out.stdout  # KrakenD's words, about the user's file (the path as given)
    assert "smoke-1\tGET /__hello\tKO\t\tnot sent" in out.stdout
    (hello / "krakend.json").write_text("{ not json")
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 10 and "is not valid JSON" in out.stderr and "Traceback" not in out.stderr


def test_a_plugin_krakend_refuses_fails_with_gos_message(hello, krakend_bins, tmp_path):
    """Built by hand from another module cache: KrakenD refuses it at start and says why."""
    foreign_build(hello, tmp_path)
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 1
    assert "smoke-1 ([[smoke]] #1): unexpected status code. have: 404, want: 200" in out.stdout
    assert "plugin was built with a different version of package github.com/google/uuid" in out.stdout


def test_arm64_krakend_runs_under_qemu_with_the_arm64_build(tmp_path, krakend_bins):
    project = copy_example(tmp_path / "hello")
    build_in(load_settings(project, engine="local", version=VERSION, targets="arm64-generic"))
    out = smoke(project, "--krakend-bin", str(krakend_bins["arm64-generic"]))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(arm64-generic)" in out.stdout


def test_bad_input_is_one_clear_message(hello, tmp_path, krakend_bins):
    out = smoke(hello, "--krakend-bin", "/etc/hostname")
    assert out.returncode == 2 and "is not a KrakenD binary" in out.stderr
    (hello / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n[[smoke]]\nmethod = "GET"\n')
    out = smoke(hello, "--krakend-bin", str(krakend_bins["amd64-generic"]))
    assert out.returncode == 2 and "smoke[0]" in out.stderr and "required field `path`" in out.stderr
    (hello / "krakend-tasks.toml").write_text(f'version = "{VERSION}"\n')
    out = smoke(hello, "--krakend-bin", str(krakend_bins["arm64-alpine"]))  # built only for amd64
    assert out.returncode == 2 and "no arm64-alpine build of hello" in out.stderr
    for out in (smoke(hello, "--krakend-bin", "/nonexistent"),):
        assert "Traceback" not in out.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_stops_krakend_and_leaves_nothing(hello, krakend_bins, sig):
    """A request that hangs (a backend that never answers), then the signal: KrakenD is stopped."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    config = json.loads((hello / "krakend.json").read_text())
    config["endpoints"][0].update(timeout="60s", backend=[{"host": [f"http://127.0.0.1:{silent.getsockname()[1]}"],
                                                           "url_pattern": "/"}])
    (hello / "krakend.json").write_text(json.dumps(config))
    with (hello / "krakend-tasks.toml").open("a") as f:
        f.write('\n[[smoke]]\npath = "/hello"\n')
    proc = subprocess.Popen([PYTHON, "-m", "krakend_tasks", "smoke", "--keep-backends", "--krakend-bin",
                             str(krakend_bins["amd64-generic"])], cwd=hello, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        output = interrupt_when(proc, lambda: bool(krakends_running()), sig, "krakend run")
    finally:
        silent.close()
    assert proc.returncode == 128 + sig and "Traceback" not in output, output
    time.sleep(0.3)
    assert krakends_running() == []
    assert not list(Path(tempfile.gettempdir()).glob("krakend-tasks-smoke-*"))
