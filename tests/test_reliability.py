"""Nothing lost under concurrency and signals: runs at once on one krakend.json or one dist/,
symlinked and read-only configs, and SIGTERM in the middle of builds on both engines."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import (
    PYTHON,
    ROOT,
    VERSION,
    docker_settings,
    interrupt_when,
    our_containers,
    run,
    running_build_container,
)

CONFIGS = ROOT / "tests" / "data" / "configs"
SERVER = "plugin/http-server"


def configure(cwd: Path, name: str, config: str = "krakend.json") -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "krakend_tasks", "configure", "--config", config, "--type", "server", "--name", name],
               cwd)


def test_ten_configure_runs_at_once_keep_every_name(tmp_path):
    shutil.copy(CONFIGS / "gateway.json", tmp_path / "krakend.json")
    names = [f"plugin-{i}" for i in range(10)]
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda n: configure(tmp_path, n), names))
    assert [r.returncode for r in results] == [0] * 10, [r.stderr for r in results]
    config = json.loads((tmp_path / "krakend.json").read_text())
    assert set(names) <= set(config["extra_config"][SERVER]["name"])
    backup = json.loads((tmp_path / "krakend.json.bak").read_text())  # whole JSON, one step behind
    assert len(set(names) & set(backup["extra_config"].get(SERVER, {}).get("name", []))) == 9
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries, no lock files


def test_a_symlinked_config_stays_a_link_and_its_file_is_updated(tmp_path):
    real = tmp_path / "configs" / "gateway.json"
    real.parent.mkdir()
    shutil.copy(CONFIGS / "gateway.json", real)
    (tmp_path / "krakend.json").symlink_to(Path("configs") / "gateway.json")
    assert configure(tmp_path, "geo").returncode == 0
    assert (tmp_path / "krakend.json").is_symlink()
    assert "geo" in json.loads(real.read_text())["extra_config"][SERVER]["name"]
    assert (real.parent / "gateway.json.bak").read_text() == (CONFIGS / "gateway.json").read_text()


def test_a_read_only_config_is_refused_untouched(tmp_path):
    path = tmp_path / "krakend.json"
    shutil.copy(CONFIGS / "gateway.json", path)
    path.chmod(0o444)
    out = configure(tmp_path, "geo")
    assert out.returncode == 10 and "is read-only" in out.stderr and "Traceback" not in out.stderr
    assert path.read_text() == (CONFIGS / "gateway.json").read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o444 and not (tmp_path / "krakend.json.bak").exists()


def cli_build(project: Path, targets: str) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION, "--target",
                targets, "--json"], project)


def test_parallel_builds_into_one_dist_keep_every_entry(example, cross):
    assert cli_build(example, "all").returncode == 0  # warm: the four then finish close together
    for artifact in (example / "dist").iterdir():
        artifact.unlink()
    targets = ["amd64-alpine", "amd64-generic", "arm64-alpine", "arm64-generic"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: cli_build(example, t), targets))
    assert [r.returncode for r in results] == [0] * 4, [r.stderr[-500:] for r in results]
    manifest = json.loads((example / "dist" / "manifest.json").read_text())["artifacts"]
    assert sorted(a["target"] for a in manifest) == targets


def test_the_same_target_twice_at_once_ends_with_one_valid_artifact(example, cross):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: cli_build(example, "amd64-generic"), range(2)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-800:] for r in results]
    [entry] = json.loads((example / "dist" / "manifest.json").read_text())["artifacts"]
    from krakend_tasks.core.files import sha256

    assert sha256(example / "dist" / entry["path"]) == entry["sha256"]
    assert sorted(p.name for p in (example / "dist").iterdir()) == sorted(["manifest.json", entry["path"]])


def start_build(example: Path, env: dict[str, str]) -> subprocess.Popen:
    """The build command line, with Ctrl-C handled as a terminal's (also when this suite runs in the
    background, which ignores SIGINT)."""
    return subprocess.Popen([PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64-generic"], cwd=example,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def forced_rebuild(example: Path) -> None:
    """A slow build (everything recompiled), so that the signal arrives while it runs."""
    (example / "krakend-tasks.toml").write_text('[target.amd64-generic]\nenv = { GOFLAGS = "-a -buildvcs=false" }\n')


SIGNALS = [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_mid_docker_build_removes_the_container(example, docker_client, sig):
    forced_rebuild(example)
    env = {f"KRAKEND_TASKS_{k.upper()}": v for k, v in docker_settings().items()}
    proc = start_build(example, env)
    output = interrupt_when(proc, lambda: running_build_container(docker_client), sig, "the container")
    assert proc.returncode == 128 + sig, output
    assert "Traceback" not in output and "interrupted" in output
    assert our_containers(docker_client) == []
    assert list((example / "dist").iterdir()) == []


@pytest.mark.parametrize("sig", [*SIGNALS, pytest.param(signal.SIGHUP, id="SIGHUP")])
def test_a_signal_mid_local_build_stops_go_and_leaves_nothing(example, cross, sig):
    forced_rebuild(example)
    proc = start_build(example, {"KRAKEND_TASKS_ENGINE": "local", "KRAKEND_TASKS_VERSION": VERSION})
    output = interrupt_when(proc, lambda: bool(go_builds_of(example)), sig, "go build")
    assert proc.returncode == 128 + sig, output
    assert "Traceback" not in output
    time.sleep(0.5)
    assert go_builds_of(example) == []  # go and the compilers it started are gone
    assert list((example / "dist").iterdir()) == []


def killed_mid_build(example: Path, settings: dict[str, str], started, still_there, wait: float) -> None:
    """Start a build in a process group of its own, SIGKILL the group once `started()` holds, then
    wait up to `wait` seconds for `still_there()` to be empty: SIGKILL cannot be handled."""
    env = {**os.environ, **settings}
    proc = subprocess.Popen([PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64-generic"], cwd=example,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not started():
        assert time.monotonic() < deadline and proc.poll() is None, "the build did not start"
        time.sleep(0.1)
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + wait
    while still_there() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert still_there() == []


def test_sigkill_of_the_group_leaves_no_go_behind_and_the_next_run_cleans_up(example, cross):
    """A watchdog stops what the build started, and the temporaries of killed runs are removed by
    the next run that writes there."""
    forced_rebuild(example)
    killed_mid_build(example, {"KRAKEND_TASKS_ENGINE": "local", "KRAKEND_TASKS_VERSION": VERSION},
                     lambda: go_builds_of(example), lambda: go_builds_of(example), wait=10)

    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid no process has now: that of a killed run
    partial = example / "dist" / f".hello-{VERSION}-amd64-generic.so.{gone.pid}.partial"
    partial.write_bytes(b"half")
    leftover = example / f".krakend.json.{gone.pid}.abcd1234"
    leftover.write_text("{")
    (example / "krakend-tasks.toml").unlink()
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--target", "amd64-generic"], example,
              {"KRAKEND_TASKS_ENGINE": "local", "KRAKEND_TASKS_VERSION": VERSION})
    assert out.returncode == 0, out.stderr
    assert not partial.exists()
    out = run([PYTHON, "-m", "krakend_tasks", "configure", "--type", "server", "--name", "other"], example)
    assert out.returncode == 0 and not leftover.exists(), out.stderr


def test_sigkill_mid_docker_build_leaves_no_container(example, docker_client):
    forced_rebuild(example)
    killed_mid_build(example, {f"KRAKEND_TASKS_{k.upper()}": v for k, v in docker_settings().items()},
                     lambda: running_build_container(docker_client), lambda: our_containers(docker_client), wait=30)


def go_builds_of(project: Path) -> list[str]:
    """Processes (go, compile, link...) working in `project`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if cwd == str(project) and "python" not in cmdline:
            found.append(cmdline)
    return found


def _record_one(dist: str, index: int, barrier) -> None:
    from krakend_tasks.core.building.build import Artifact, record

    barrier.wait()
    record(Path(dist), Artifact(f"p{index}.so", "amd64-generic", VERSION, "1.25.12", "0" * 64, 1, "local", 0.0))


def test_manifest_writers_at_once_keep_every_entry(tmp_path):
    """Sixteen processes record an artifact at the same instant: the lock keeps every entry (without
    it, read-modify-write at once loses most of them)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(16)
    workers = [context.Process(target=_record_one, args=(str(tmp_path), i, barrier)) for i in range(16)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 16
    manifest = json.loads((tmp_path / "manifest.json").read_text())["artifacts"]
    assert sorted(a["path"] for a in manifest) == sorted(f"p{i}.so" for i in range(16))


@pytest.mark.parametrize(("args", "env", "toml", "message"), [
    (["--target", ""], {}, "", "arguments: targets = '': an empty value"),
    (["--version", ""], {}, "", "arguments: version = '': an empty value"),
    ([], {"KRAKEND_TASKS_PULL": "sometimes"}, "", "environment: pull = 'sometimes': not one of the choices"),
    ([], {}, 'name = "../../evil"\n', "krakend-tasks.toml: name = '../../evil': not allowed"),
    ([], {}, 'name = "/abs/evil"\n', "krakend-tasks.toml: name = '/abs/evil': not allowed"),
])
def test_settings_that_would_widen_or_escape_are_refused(example, args, env, toml, message):
    if toml:
        (example / "krakend-tasks.toml").write_text(toml)
    out = run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", *args], example, env=env)
    assert (out.returncode, out.stdout) == (2, "") and message in out.stderr and "Traceback" not in out.stderr
    assert not (example / "dist").exists() and not (example.parent.parent / "evil").exists()


def test_a_go_sum_with_a_byte_order_mark_keeps_its_first_module(tmp_path):
    (tmp_path / "go.sum").write_text("\ufeffgithub.com/google/uuid v1.5.0 h1:AAAA=\n"
                                     "github.com/google/uuid v1.5.0/go.mod h1:BBBB=\n")
    out = run([PYTHON, "-m", "krakend_tasks", "check-plugin", "--version", VERSION, "-l", "MUSL-1.2.5_(alpine-3.23)"],
              tmp_path)
    assert out.stderr == "github.com/google/uuid\n\thave: v1.5.0\n\twant: v1.6.0\n1 incompatibilities found\n"


def test_a_krakend_that_says_nothing_is_not_a_pass(example, tmp_path, cross):
    silent = tmp_path / "krakend"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    assert run([PYTHON, "-m", "krakend_tasks", "build", "--engine", "local", "--version", VERSION, "--target",
                "amd64-generic"], example).returncode == 0
    out = run([PYTHON, "-m", "krakend_tasks", "test-load", "--version", VERSION, "--krakend-bin", str(silent),
               "--json"], example)
    [row] = json.loads(out.stdout)["plugins"]
    assert out.returncode == 1 and row["ok"] is False and "printed no [OK]/[KO] line" in row["fatal"]
