"""dev: the real command (a subprocess, --json) on scaffolded plugins, their files edited for real,
the new behaviour served by the real KrakenD (binary and image); failures keep the old gateway."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from krakend_tasks.core.krakend.releases import resolve
from krakend_tasks.core.serving.gateway import free_port
from krakend_tasks.core.workflows.scaffold import new

from .conftest import PYTHON, VERSION, command_lines, our_containers

EDITS = {  # plugin type -> (the line of main.go that makes its answer, the same line changed)
    "server": ('fmt.Fprintf(w, "hello from %s\\n", pluginName)', 'fmt.Fprintf(w, "howdy from %s\\n", pluginName)'),
    "client": ("req.Header.Set(header, pluginName)", 'req.Header.Set(header, pluginName+"-v2")'),
    "modifier": ("req.Headers()[header] = []string{pluginName}",
                 'req.Headers()[header] = []string{pluginName + "-v2"}'),
}


class Loop:
    """`krakend-tasks dev --json` running in a project, its events read as they come."""

    def __init__(self, project: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("KRAKEND_TASKS_VERSION", None)
        self.proc = subprocess.Popen([PYTHON, "-m", "krakend_tasks", "dev", "--json", *args], cwd=project, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def until(self, kind: str, timeout: float = 120) -> dict:
        """The next event of `kind` (those before it kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kind} event; seen: {self.seen[-6:]}; stderr: {self.stderr()}") from None
            self.seen.append(event)
            assert event["version"] == 1
            if event["kind"] == kind:
                return event

    def stderr(self) -> str:
        return self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return answer.read().decode()


def answer_of(kind: str, port: int, name: str) -> str:
    if kind == "server":
        return get(port, f"/__{name}").strip()
    return json.loads(get(port, "/hello"))["headers"]["X-Krakend-Plugin"]


def dev_krakends() -> list[str]:
    return command_lines("krakend-tasks-dev-")


@pytest.fixture
def scaffold(tmp_path, cross):
    def make(kind: str) -> Path:
        project = tmp_path / f"dev-{kind}"
        new(project, kind, release=resolve(VERSION))
        return project
    return make


@pytest.mark.parametrize("kind", ["server", "client", "modifier"])
def test_each_save_is_built_and_served_and_failures_keep_the_old_gateway(scaffold, krakend_bins, kind):
    project = scaffold(kind)
    name, port = project.name, free_port()
    loop = Loop(project, "--krakend-bin", str(krakend_bins["amd64-generic"]), "--engine", "local", "--port",
                str(port), "--debounce", "50")
    try:
        assert loop.until("build")["ok"]
        assert loop.until("krakend")["ok"]
        checks = loop.until("checks")
        assert checks["ok"] and checks["message"] == "2 passed, 0 failed", checks
        first = answer_of(kind, port, name)
        assert first in (f"hello from {name}", name)

        main = project / "main.go"
        old, changed = EDITS[kind]
        main.write_text(main.read_text().replace(old, changed))
        assert loop.until("change")["message"] == "sources changed"
        assert loop.until("build")["ok"]
        assert loop.until("krakend")["ok"]
        assert not loop.until("checks")["ok"]  # the scaffold's own checks want the old answer
        second = answer_of(kind, port, name)
        assert second in (f"howdy from {name}", f"{name}-v2")

        (project / "broken.go").write_text("package main\n\nfunc broken() { undefined_name() }\n")
        build = loop.until("build")
        assert not build["ok"] and build["details"] == ["./broken.go:3:17: undefined: undefined_name"], build
        assert answer_of(kind, port, name) == second  # the old gateway answers
        (project / "broken.go").unlink()
        assert loop.until("build")["ok"]

        gomod = project / "go.mod"  # a version of a package KrakenD links that it does not: unloadable
        gomod.write_text(gomod.read_text().replace("uuid v1.6.0", "uuid v1.5.0"))
        (project / "go.sum").write_text(
            "github.com/google/uuid v1.5.0 h1:1p67kYwdtXjb0gL0BPiP1Av9wiZPo5A8z2cWkTZ+eyU=\n"
            "github.com/google/uuid v1.5.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n")
        unloadable = loop.until("build")
        assert not unloadable["ok"] and "will not load in KrakenD 2.13.8" in unloadable["message"], unloadable
        assert answer_of(kind, port, name) == second

        config = json.loads((project / "krakend.json").read_text())
        config["endpoints"][0]["timeout"] = 5  # only KrakenD's schema refuses it (`check -c` and `run` take it)
        (project / "krakend.json").write_text(json.dumps(config))
        linted = loop.until("config")
        assert not linted["ok"] and "krakend check -n -c" in linted["message"], linted
        assert any("'/endpoints/0/timeout': got number, want string" in line for line in linted["details"]), linted
        assert answer_of(kind, port, name) == second
        del config["endpoints"][0]["timeout"]
        config["endpoints"][0]["backend"] = []  # KrakenD refuses an endpoint without backends
        (project / "krakend.json").write_text(json.dumps(config))
        refused = loop.until("config")
        assert not refused["ok"] and any("0 backends defined" in line for line in refused["details"]), refused
        assert answer_of(kind, port, name) == second
    finally:
        status = loop.stop(signal.SIGTERM)
    assert status == 0, loop.stderr()
    assert loop.until("stop")["ok"]
    assert dev_krakends() == []


def test_with_krakends_image_and_ctrl_c_leaves_no_container(scaffold, krakend_image, docker_client, krakend_bins):
    project = scaffold("server")
    port = free_port()
    loop = Loop(project, "--engine", "local", "--port", str(port), "--krakend-image", krakend_image.split(":")[0],
                "--pull", "never")
    try:
        assert loop.until("krakend", timeout=180)["ok"], loop.seen
        assert "image local/krakend:2.13.8" in loop.seen[-1]["message"]
        assert get(port, "/__dev-server").strip() == "hello from dev-server"
        main = project / "main.go"
        main.write_text(main.read_text().replace(*EDITS["server"]))
        assert loop.until("krakend", timeout=180)["ok"]
        assert get(port, "/__dev-server").strip() == "howdy from dev-server"
    finally:
        status = loop.stop(signal.SIGINT)
    assert status == 0
    assert our_containers(docker_client) == []


def test_a_port_in_use_is_named_with_who_holds_it(scaffold, krakend_bins):
    project = scaffold("server")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        out = subprocess.run([PYTHON, "-m", "krakend_tasks", "dev", "--krakend-bin", str(krakend_bins["amd64-generic"]),
                              "--engine", "local", "--port", str(port)], cwd=project, capture_output=True, text=True,
                             timeout=60)
    assert out.returncode == 2, out.stderr
    assert f"port {port} is in use by python" in out.stderr and f"(pid {os.getpid()})" in out.stderr


def test_sigkill_of_the_loop_leaves_no_krakend_and_the_next_loop_removes_its_copies(scaffold, krakend_bins):
    import tempfile

    project = scaffold("server")
    port = free_port()
    args = ("--krakend-bin", str(krakend_bins["amd64-generic"]), "--engine", "local", "--port", str(port))
    loop = Loop(project, *args)
    assert loop.until("checks")["ok"]
    assert dev_krakends()
    stale = list(Path(tempfile.gettempdir()).glob(f"krakend-tasks-dev-{loop.proc.pid}-*"))
    assert stale
    loop.proc.kill()
    loop.proc.wait()
    deadline = time.monotonic() + 10
    while dev_krakends() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dev_krakends() == []
    again = Loop(project, *args)
    try:
        assert again.until("checks")["ok"]
        assert not any(path.exists() for path in stale)
    finally:
        assert again.stop(signal.SIGINT) == 0
